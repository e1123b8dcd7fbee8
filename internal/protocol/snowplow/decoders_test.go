package snowplow

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/protocol"
	"github.com/google/uuid"
)

// cookieUUID is a network user id a browser sends back in the sp cookie.
const cookieUUID = "0b4f5a8e-9c1d-4e2f-8a3b-6c7d8e9f0a1b"

// spRequest builds a request to the collector: query for a GET, body for a
// POST of payload_data, and cookie, when set, as the sp cookie.
func spRequest(method string, query url.Values, body string, header http.Header) *protocol.Request {
	if header == nil {
		header = http.Header{}
	}
	if query == nil {
		query = url.Values{}
	}
	// The raw query, as the server passes it: Pixel reads only that.
	req := &protocol.Request{Method: method, Path: PathPost, Header: header, RawQuery: query.Encode()}
	if method == http.MethodPost {
		req.MediaType, req.Body = MediaJSON, []byte(body)
	}
	return req
}

// withCookie returns headers carrying the cookie name=value.
func withCookie(name, value string) http.Header {
	h := http.Header{}
	h.Add("Cookie", (&http.Cookie{Name: name, Value: value}).String())
	return h
}

// setCookies parses the Set-Cookie headers of a reply.
func setCookies(t *testing.T, reply *protocol.Reply) []*http.Cookie {
	t.Helper()
	var out []*http.Cookie
	for _, line := range reply.Header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("Set-Cookie %q does not parse: %v", line, err)
		}
		out = append(out, c)
	}
	return out
}

func TestCollectorCookie(t *testing.T) {
	opts := DefaultOptions()
	opts.Cookie.Domain = ".example.com"
	opts.Cookie.TTL = 30 * 24 * time.Hour
	tests := []struct {
		name   string
		header http.Header
		// reuse is true when the cookie sent must be the one set again.
		reuse bool
		sent  string
	}{
		{name: "no cookie: a new one is issued"},
		{name: "a valid cookie is reused", header: withCookie("sp", cookieUUID), reuse: true, sent: cookieUUID},
		{name: "an upper-case uuid is a valid cookie", header: withCookie("sp", strings.ToUpper(cookieUUID)), reuse: true, sent: strings.ToUpper(cookieUUID)},
		{name: "a junk cookie is replaced", header: withCookie("sp", "not-a-uuid"), sent: "not-a-uuid"},
		{name: "an empty cookie is replaced", header: withCookie("sp", ""), sent: ""},
		{name: "another cookie name is not read", header: withCookie("other", cookieUUID), sent: cookieUUID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewDecoders(opts)
			before := time.Now()
			inputs, reply, err := c.Post(spRequest(http.MethodPost, nil, payloadBody("1-0-4", ev("pv", "url", "https://a.example/").json()), tc.header))
			if err != nil {
				t.Fatalf("Post: %v", err)
			}
			if reply == nil || reply.OmitIP {
				t.Fatalf("reply %+v, want one that keeps the IP", reply)
			}
			cookies := setCookies(t, reply)
			if len(cookies) != 1 {
				t.Fatalf("%d Set-Cookie headers, want 1: %v", len(cookies), reply.Header.Values("Set-Cookie"))
			}
			ck := cookies[0]
			if _, err := uuid.Parse(ck.Value); err != nil {
				t.Errorf("cookie value %q is not a UUID", ck.Value)
			}
			if tc.reuse && ck.Value != tc.sent {
				t.Errorf("cookie %q set, want the one sent, %q", ck.Value, tc.sent)
			}
			if !tc.reuse && ck.Value == tc.sent {
				t.Errorf("cookie %q sent back unchanged, want a new id", ck.Value)
			}
			if ck.Name != "sp" || ck.Path != "/" || ck.Domain != "example.com" || ck.MaxAge != 30*24*3600 ||
				!ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteNoneMode {
				t.Errorf("cookie attributes %+v, want sp; Domain=example.com; Path=/; Max-Age=2592000; Secure; HttpOnly; SameSite=None", ck)
			}
			if want := before.Add(opts.Cookie.TTL); ck.Expires.Before(want.Add(-2*time.Second)) || ck.Expires.After(want.Add(2*time.Second)) {
				t.Errorf("cookie expires %s, want about %s", ck.Expires, want)
			}
			if len(inputs) != 1 || inputs[0].Identity.NetworkUserID != ck.Value {
				t.Fatalf("event network user id %q, want the cookie's %q", inputs[0].Identity.NetworkUserID, ck.Value)
			}
		})
	}
}

func TestCollectorCookieAttributes(t *testing.T) {
	tests := []struct {
		name     string
		cookie   Cookie
		sameSite http.SameSite
	}{
		{name: "lax, not secure, visible to scripts", cookie: Cookie{Enabled: true, Name: "nuid", Path: "/t", TTL: time.Hour, SameSite: "lax"}, sameSite: http.SameSiteLaxMode},
		{name: "strict, upper-case", cookie: Cookie{Enabled: true, Name: "sp", Path: "/", TTL: 90 * time.Minute, SameSite: "Strict", Secure: true, HTTPOnly: true}, sameSite: http.SameSiteStrictMode},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := DefaultOptions()
			opts.Cookie = tc.cookie
			if err := opts.Validate(); err != nil {
				t.Fatalf("options invalid: %v", err)
			}
			_, reply, err := NewDecoders(opts).Pixel(spRequest(http.MethodGet, ev("pv").query(), "", nil))
			if err != nil {
				t.Fatalf("Pixel: %v", err)
			}
			cookies := setCookies(t, reply)
			if len(cookies) != 1 {
				t.Fatalf("Set-Cookie %v", reply.Header.Values("Set-Cookie"))
			}
			ck := cookies[0]
			if ck.Name != tc.cookie.Name || ck.Path != tc.cookie.Path || ck.Domain != "" || ck.MaxAge != int(tc.cookie.TTL/time.Second) ||
				ck.Secure != tc.cookie.Secure || ck.HttpOnly != tc.cookie.HTTPOnly || ck.SameSite != tc.sameSite {
				t.Errorf("cookie %+v, want the attributes of %+v", ck, tc.cookie)
			}
		})
	}
}

func TestCollectorNetworkUserID(t *testing.T) {
	const tnuid = "tracker-set-id"
	const nuid = "a6e7c8d9-0000-4000-8000-000000000001"
	body := payloadBody("1-0-4",
		ev("pv", "url", "https://a.example/").json(),
		ev("pv", "url", "https://a.example/", "tnuid", tnuid).json(),
		ev("pv", "url", "https://a.example/", "nuid", nuid).json(),
		ev("pv", "url", "https://a.example/", "nuid", nuid, "tnuid", tnuid).json(),
		`{"p":"web","tv":"t"}`, // no e: fails, and is given nothing
	)
	tests := []struct {
		name   string
		opts   func(*Options)
		header http.Header
		// want is the network user id of each event; "cookie" stands for
		// the cookie's value.
		want      []string
		setCookie bool
		omitIP    bool
	}{
		{name: "cookie on", header: withCookie("sp", cookieUUID),
			want: []string{"cookie", tnuid, nuid, tnuid, ""}, setCookie: true},
		// SP-Anonymous clears every network user id, even one the tracker sent.
		{name: "SP-Anonymous", header: func() http.Header { h := withCookie("sp", cookieUUID); h.Set("SP-Anonymous", "*"); return h }(),
			want: []string{"", "", "", "", ""}, omitIP: true},
		{name: "cookie disabled", opts: func(o *Options) { o.Cookie.Enabled = false }, header: withCookie("sp", cookieUUID),
			want: []string{"", tnuid, nuid, tnuid, ""}},
		{name: "cookie disabled and SP-Anonymous", opts: func(o *Options) { o.Cookie.Enabled = false }, header: http.Header{"Sp-Anonymous": {"*"}},
			want: []string{"", "", "", "", ""}, omitIP: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := DefaultOptions()
			if tc.opts != nil {
				tc.opts(&opts)
			}
			inputs, reply, err := NewDecoders(opts).Post(spRequest(http.MethodPost, nil, body, tc.header))
			if err != nil {
				t.Fatalf("Post: %v", err)
			}
			cookies := setCookies(t, reply)
			if got := len(cookies) == 1; got != tc.setCookie || len(cookies) > 1 {
				t.Errorf("Set-Cookie %v, want a cookie: %v", reply.Header.Values("Set-Cookie"), tc.setCookie)
			}
			if reply.OmitIP != tc.omitIP {
				t.Errorf("OmitIP %v, want %v", reply.OmitIP, tc.omitIP)
			}
			if len(inputs) != len(tc.want) {
				t.Fatalf("%d events, want %d", len(inputs), len(tc.want))
			}
			if inputs[len(inputs)-1].Failure == nil {
				t.Fatalf("the event without e did not fail")
			}
			for i, w := range tc.want {
				if w == "cookie" {
					w = cookies[0].Value
				}
				if got := inputs[i].Identity.NetworkUserID; got != w {
					t.Errorf("event %d: network user id %q, want %q", i, got, w)
				}
			}
		})
	}
}

func TestCollectorPixel(t *testing.T) {
	inputs, reply, err := NewDecoders(DefaultOptions()).Pixel(spRequest(http.MethodGet, ev("pv", "url", "https://a.example/").query(), "", nil))
	if err != nil {
		t.Fatalf("Pixel: %v", err)
	}
	if len(inputs) != 1 || inputs[0].SchemaKey != SchemaPageView || inputs[0].Failure != nil {
		t.Fatalf("inputs %+v", inputs)
	}
	if reply.Status != 0 && reply.Status != http.StatusOK {
		t.Errorf("status %d, want 200", reply.Status)
	}
	if !bytes.Equal(reply.Body, protocol.GIF) || reply.ContentType != "image/gif" {
		t.Errorf("body %d bytes of %q, want the GIF", len(reply.Body), reply.ContentType)
	}
	cc := reply.Header.Get("Cache-Control")
	for _, d := range []string{"no-cache", "no-store", "must-revalidate"} {
		if !strings.Contains(cc, d) {
			t.Errorf("Cache-Control %q lacks %s", cc, d)
		}
	}
	if len(setCookies(t, reply)) != 1 {
		t.Errorf("no cookie set by the pixel")
	}

	_, _, err = NewDecoders(DefaultOptions()).Pixel(spRequest(http.MethodGet, nil, "", nil))
	var perr *protocol.Error
	if !errors.As(err, &perr) || perr.Status != http.StatusBadRequest {
		t.Errorf("a pixel without parameters: %v, want a 400 *protocol.Error", err)
	}
}

func TestCollectorRedirect(t *testing.T) {
	opts := DefaultOptions()
	opts.RedirectAllow = []string{"shop.example.com", "*.example.org"}
	tests := []struct {
		name  string
		query string
		// status is the error's status; 0 when the redirect is answered.
		status   int
		location string
		schema   string
		data     string
	}{
		{name: "no event: uri_redirect", query: "u=" + url.QueryEscape("https://shop.example.com/cart?x=1"),
			location: "https://shop.example.com/cart?x=1", schema: SchemaURIRedirect, data: `{"uri":"https://shop.example.com/cart?x=1"}`},
		{name: "target normalised", query: "u=" + url.QueryEscape("https://SHOP.Example.com./a"),
			location: "https://shop.example.com/a", schema: SchemaURIRedirect, data: `{"uri":"https://shop.example.com/a"}`},
		{name: "subdomain wildcard", query: "u=" + url.QueryEscape("http://a.b.example.org:8080/p"),
			location: "http://a.b.example.org:8080/p", schema: SchemaURIRedirect, data: `{"uri":"http://a.b.example.org:8080/p"}`},
		{name: "quote in the target is escaped in data", query: "u=" + url.QueryEscape(`https://shop.example.com/"q"`),
			location: "https://shop.example.com/%22q%22", schema: SchemaURIRedirect, data: `{"uri":"https://shop.example.com/%22q%22"}`},
		{name: "with an event: the tracker event", query: ev("pv", "url", "https://a.example/").query().Encode() + "&u=" + url.QueryEscape("https://shop.example.com/"),
			location: "https://shop.example.com/", schema: SchemaPageView, data: `{"page_url":"https://a.example/"}`},
		{name: "no target", query: ev("pv").query().Encode(), status: http.StatusBadRequest},
		{name: "host not allowed", query: "u=" + url.QueryEscape("https://evil.com/"), status: http.StatusBadRequest},
		{name: "wildcard does not allow the bare domain", query: "u=" + url.QueryEscape("https://example.org/"), status: http.StatusBadRequest},
		{name: "protocol-relative", query: "u=" + url.QueryEscape("//shop.example.com/"), status: http.StatusBadRequest},
		{name: "javascript scheme", query: "u=" + url.QueryEscape("javascript:alert(1)"), status: http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			inputs, reply, err := NewDecoders(opts).Redirect(spRequest(http.MethodGet, q, "", nil))
			if tc.status != 0 {
				var perr *protocol.Error
				if !errors.As(err, &perr) || perr.Status != tc.status || perr.Refused || perr.Failure == nil || perr.Failure.Type != event.ProtocolViolation {
					t.Fatalf("error %v, want a %d *protocol.Error of type protocol_violation", err, tc.status)
				}
				if inputs != nil || reply != nil {
					t.Errorf("refused redirect returned inputs %v and reply %v", inputs, reply)
				}
				return
			}
			if err != nil {
				t.Fatalf("Redirect: %v", err)
			}
			if reply.Status != http.StatusFound || reply.Header.Get("Location") != tc.location {
				t.Errorf("answer %d to %q, want 302 to %q", reply.Status, reply.Header.Get("Location"), tc.location)
			}
			if reply.Body == nil || len(reply.Body) != 0 {
				t.Errorf("body %q, want an empty one replacing the JSON report", reply.Body)
			}
			if len(setCookies(t, reply)) != 1 {
				t.Errorf("no cookie set by the redirect")
			}
			if len(inputs) != 1 {
				t.Fatalf("%d events, want 1", len(inputs))
			}
			in := inputs[0]
			if in.Failure != nil || in.SchemaKey != tc.schema || string(in.Data) != tc.data {
				t.Errorf("event %s %s (failure %+v), want %s %s", in.SchemaKey, in.Data, in.Failure, tc.schema, tc.data)
			}
			if in.Identity.NetworkUserID == "" {
				t.Errorf("redirect event has no network user id")
			}
			if tc.schema == SchemaURIRedirect && string(in.Raw) != q.Encode() {
				t.Errorf("raw %q, want the query %q", in.Raw, q.Encode())
			}
		})
	}
}

func TestCollectorAny(t *testing.T) {
	c := NewDecoders(DefaultOptions())
	pv := ev("pv", "url", "https://a.example/")
	tests := []struct {
		name   string
		req    *protocol.Request
		events int
		gif    bool
	}{
		{name: "POST reads payload_data", req: spRequest(http.MethodPost, nil, payloadBody("1-0-4", pv.json(), pv.json()), nil), events: 2},
		{name: "GET reads the query", req: spRequest(http.MethodGet, pv.query(), "", nil), events: 1, gif: true},
		{name: "HEAD reads the query", req: spRequest(http.MethodHead, pv.query(), "", nil), events: 1, gif: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inputs, reply, err := c.Any(tc.req)
			if err != nil {
				t.Fatalf("Any: %v", err)
			}
			if len(inputs) != tc.events {
				t.Fatalf("%d events, want %d", len(inputs), tc.events)
			}
			for i, in := range inputs {
				if in.SchemaKey != SchemaPageView || in.Failure != nil {
					t.Errorf("event %d: %s %+v", i, in.SchemaKey, in.Failure)
				}
			}
			if gif := bytes.Equal(reply.Body, protocol.GIF); gif != tc.gif {
				t.Errorf("answered with the GIF: %v, want %v", gif, tc.gif)
			}
			if !tc.gif && reply.Body != nil {
				t.Errorf("POST answer body %q, want the JSON report (nil body)", reply.Body)
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Options)
		// errs are the keys the error must name; none for valid options.
		errs []string
	}{
		{name: "defaults"},
		{name: "paths and hosts", modify: func(o *Options) {
			o.Paths = []string{"/com.acme/track"}
			o.RedirectAllow = []string{"shop.example.com", "*.example.com"}
		}},
		{name: "cookie off ignores its fields", modify: func(o *Options) { o.Cookie = Cookie{} }},
		{name: "lax without secure", modify: func(o *Options) { o.Cookie.SameSite, o.Cookie.Secure = "lax", false }},
		{name: "relative path", modify: func(o *Options) { o.Paths = []string{"/ok", "track"} }, errs: []string{"paths[1]"}},
		{name: "path with a wildcard", modify: func(o *Options) { o.Paths = []string{"/t/{x}"} }, errs: []string{"paths[0]"}},
		{name: "redirect host with a scheme", modify: func(o *Options) { o.RedirectAllow = []string{"https://shop.example.com"} }, errs: []string{"redirect_allow[0]"}},
		{name: "empty redirect host", modify: func(o *Options) { o.RedirectAllow = []string{"a.example", ""} }, errs: []string{"redirect_allow[1]"}},
		{name: "redirect host with a port", modify: func(o *Options) { o.RedirectAllow = []string{"a.example:443"} }, errs: []string{"redirect_allow[0]"}},
		{name: "bad cookie name", modify: func(o *Options) { o.Cookie.Name = "s p" }, errs: []string{"cookie.name"}},
		{name: "empty cookie name", modify: func(o *Options) { o.Cookie.Name = "" }, errs: []string{"cookie.name"}},
		{name: "zero ttl", modify: func(o *Options) { o.Cookie.TTL = 0 }, errs: []string{"cookie.ttl"}},
		{name: "none without secure", modify: func(o *Options) { o.Cookie.Secure = false }, errs: []string{"cookie.same_site", "secure"}},
		{name: "unknown same_site", modify: func(o *Options) { o.Cookie.SameSite = "sometimes" }, errs: []string{"cookie.same_site"}},
		{name: "every problem at once", modify: func(o *Options) {
			o.Paths = []string{"x"}
			o.Cookie.Name, o.Cookie.TTL = "", -time.Hour
		}, errs: []string{"paths[0]", "cookie.name", "cookie.ttl"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			if tc.modify != nil {
				tc.modify(&o)
			}
			err := o.Validate()
			check.ErrorSays(t, err, tc.errs...)
		})
	}
}
