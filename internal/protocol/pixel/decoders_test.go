package pixel

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/protocol"
)

const emailOpenedKey = "iglu:com.acme/email_opened/jsonschema/1-0-0"

// pxRequest is a GET of path with query; vendor, name and version are the
// wildcards of the typed route (empty for /px).
func pxRequest(t *testing.T, query, vendor, name, version string) *protocol.Request {
	t.Helper()
	vals := map[string]string{"vendor": vendor, "name": name, "version": version}
	path := PathArbitrary
	if vendor != "" {
		path += "/" + vendor + "/" + name + "/" + version
	}
	return &protocol.Request{
		Method: http.MethodGet, Path: path, Header: http.Header{}, Query: parseQuery(t, query),
		PathValue: func(n string) string { return vals[n] },
	}
}

// pxCoercers counts the Coercers a collector has cached.
func pxCoercers(c *Decoders) int {
	n := 0
	c.coercers.Range(func(_, _ any) bool { n++; return true })
	return n
}

// checkGIF checks a reply is the pixel's GIF, not to be cached.
func checkGIF(t *testing.T, reply *protocol.Reply) {
	t.Helper()
	if reply == nil {
		t.Fatal("no reply")
	}
	if reply.Status != 0 && reply.Status != http.StatusOK {
		t.Errorf("status %d, want 200", reply.Status)
	}
	if !bytes.Equal(reply.Body, protocol.GIF) || reply.ContentType != "image/gif" {
		t.Errorf("body of %d bytes as %q, want the GIF as image/gif", len(reply.Body), reply.ContentType)
	}
	if cc := reply.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	if loc := reply.Header.Get("Location"); loc != "" {
		t.Errorf("Location %q on a GIF answer", loc)
	}
}

func TestCollectorArbitrary(t *testing.T) {
	c := NewDecoders(DefaultOptions(), contract.NewSet(nil))
	tests := []struct {
		name    string
		query   string
		data    string
		eventID string
	}{
		{name: "one parameter", query: "campaign=x", data: `{"campaign":"x"}`},
		{name: "numbers stay text", query: "n=10&campaign=x&eid=e-1", data: `{"campaign":"x","n":"10"}`, eventID: "e-1"},
		{name: "no parameters", query: "", data: `{}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inputs, reply, err := c.Arbitrary(pxRequest(t, tc.query, "", "", ""))
			if err != nil {
				t.Fatalf("Arbitrary: %v", err)
			}
			checkGIF(t, reply)
			if len(inputs) != 1 {
				t.Fatalf("%d inputs, want 1", len(inputs))
			}
			in := inputs[0]
			if !in.Arbitrary || in.SchemaKey != "" || in.Failure != nil || string(in.Data) != tc.data || in.EventID != tc.eventID {
				t.Errorf("input arbitrary %v schema %q failure %+v data %s id %q, want arbitrary %s id %q",
					in.Arbitrary, in.SchemaKey, in.Failure, in.Data, in.EventID, tc.data, tc.eventID)
			}
		})
	}
}

func TestCollectorTyped(t *testing.T) {
	reg := contract.NewSet([]*contract.Contract{compile(t, emailOpened)})
	tests := []struct {
		name                  string
		vendor, cname, versn  string
		query                 string
		schema, data          string
		coercersAfterTheCalls int
	}{
		{name: "known contract converts", vendor: "com.acme", cname: "email_opened", versn: "1-0-0",
			query: "campaign=spring&recipients=10&first_open=true&score=0.5", schema: emailOpenedKey,
			data: `{"campaign":"spring","first_open":true,"recipients":10,"score":0.5}`, coercersAfterTheCalls: 1},
		{name: "a value that does not convert stays text", vendor: "com.acme", cname: "email_opened", versn: "1-0-0",
			query: "campaign=spring&recipients=ten", schema: emailOpenedKey, data: `{"campaign":"spring","recipients":"ten"}`, coercersAfterTheCalls: 1},
		{name: "unknown contract: text, for schema_not_found", vendor: "com.acme", cname: "nope", versn: "1-0-0",
			query: "recipients=10", schema: "iglu:com.acme/nope/jsonschema/1-0-0", data: `{"recipients":"10"}`},
		{name: "unknown version", vendor: "com.acme", cname: "email_opened", versn: "2-0-0",
			query: "recipients=10", schema: "iglu:com.acme/email_opened/jsonschema/2-0-0", data: `{"recipients":"10"}`},
		{name: "malformed version", vendor: "com.acme", cname: "email_opened", versn: "1.0.0",
			query: "recipients=10", schema: "iglu:com.acme/email_opened/jsonschema/1.0.0", data: `{"recipients":"10"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewDecoders(DefaultOptions(), reg)
			var first []byte
			for i := range 2 {
				inputs, reply, err := c.Typed(pxRequest(t, tc.query, tc.vendor, tc.cname, tc.versn))
				if err != nil {
					t.Fatalf("Typed: %v", err)
				}
				checkGIF(t, reply)
				if len(inputs) != 1 {
					t.Fatalf("%d inputs, want 1", len(inputs))
				}
				in := inputs[0]
				if in.Arbitrary || in.SchemaKey != tc.schema || in.Failure != nil || string(in.Data) != tc.data {
					t.Errorf("call %d: arbitrary %v schema %q failure %+v data %s, want %q %s", i, in.Arbitrary, in.SchemaKey, in.Failure, in.Data, tc.schema, tc.data)
				}
				if i == 0 {
					first = in.Data
				} else if !bytes.Equal(first, in.Data) {
					t.Errorf("second call gave %s, the first %s", in.Data, first)
				}
			}
			if n := pxCoercers(c); n != tc.coercersAfterTheCalls {
				t.Errorf("%d coercers cached, want %d", n, tc.coercersAfterTheCalls)
			}
		})
	}
}

// TestCollectorTypedFollowsRegistry checks a contract replaced in the
// registry is read with its new properties, not with a stale Coercer.
func TestCollectorTypedFollowsRegistry(t *testing.T) {
	reg := contract.NewSet([]*contract.Contract{compile(t, emailOpened)})
	c := NewDecoders(DefaultOptions(), reg)
	typed := func() string {
		t.Helper()
		inputs, _, err := c.Typed(pxRequest(t, "campaign=spring&recipients=10", "com.acme", "email_opened", "1-0-0"))
		if err != nil || len(inputs) != 1 {
			t.Fatalf("Typed: %v", err)
		}
		return string(inputs[0].Data)
	}
	if got, want := typed(), `{"campaign":"spring","recipients":10}`; got != want {
		t.Fatalf("data %s, want %s", got, want)
	}
	// recipients becomes a string property.
	edited := strings.Replace(emailOpened, `"recipients": {"type": "integer", "minimum": 0}`, `"recipients": {"type": "string"}`, 1)
	if edited == emailOpened {
		t.Fatal("the test's edit of the contract did not apply")
	}
	reg.Replace([]*contract.Contract{compile(t, edited)})
	if got, want := typed(), `{"campaign":"spring","recipients":"10"}`; got != want {
		t.Errorf("after the contract changed: data %s, want %s", got, want)
	}
	// The replaced contract's coercer is dropped, not kept beside the new one.
	if n := pxCoercers(c); n != 1 {
		t.Errorf("%d coercers cached after the contract was replaced, want 1", n)
	}
}

func TestCollectorTypedConcurrent(t *testing.T) {
	reg := contract.NewSet([]*contract.Contract{compile(t, emailOpened)})
	c := NewDecoders(DefaultOptions(), reg)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				inputs, _, err := c.Typed(pxRequest(t, "campaign=a&recipients=3", "com.acme", "email_opened", "1-0-0"))
				if err != nil || string(inputs[0].Data) != `{"campaign":"a","recipients":3}` {
					t.Errorf("Typed: %v %s", err, inputs[0].Data)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := pxCoercers(c); n != 1 {
		t.Errorf("%d coercers cached, want 1", n)
	}
}

func TestCollectorRedirect(t *testing.T) {
	opts := Options{Enabled: true, RedirectAllow: []string{"shop.example.com", "*.example.org"}}
	reg := contract.NewSet([]*contract.Contract{compile(t, emailOpened)})
	tests := []struct {
		name  string
		typed bool
		query string
		// location is where the answer redirects; "" for a 400.
		location string
		data     string
	}{
		{name: "allowed host", query: "campaign=x&redirect=" + url.QueryEscape("https://shop.example.com/sale?a=1"),
			location: "https://shop.example.com/sale?a=1", data: `{"campaign":"x"}`},
		{name: "host normalised", query: "redirect=" + url.QueryEscape("https://SHOP.example.com./"),
			location: "https://shop.example.com/", data: `{}`},
		{name: "wildcard subdomain", query: "redirect=" + url.QueryEscape("https://www.example.org/"),
			location: "https://www.example.org/", data: `{}`},
		{name: "typed pixel redirects too", typed: true, query: "campaign=x&recipients=2&redirect=" + url.QueryEscape("https://shop.example.com/"),
			location: "https://shop.example.com/", data: `{"campaign":"x","recipients":2}`},
		{name: "host not allowed", query: "redirect=" + url.QueryEscape("https://evil.com/")},
		{name: "allowed host as a suffix of another", query: "redirect=" + url.QueryEscape("https://shop.example.com.evil.com/")},
		{name: "userinfo trick", query: "redirect=" + url.QueryEscape("https://shop.example.com@evil.com/")},
		{name: "protocol-relative", query: "redirect=" + url.QueryEscape("//shop.example.com/")},
		{name: "backslash", query: "redirect=" + url.QueryEscape(`https://evil.com\@shop.example.com/`)},
		{name: "not http", query: "redirect=" + url.QueryEscape("javascript://shop.example.com/%0aalert(1)")},
		{name: "typed pixel refuses too", typed: true, query: "recipients=2&redirect=" + url.QueryEscape("https://evil.com/")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewDecoders(opts, reg)
			var inputs []event.Input
			var reply *protocol.Reply
			var err error
			if tc.typed {
				inputs, reply, err = c.Typed(pxRequest(t, tc.query, "com.acme", "email_opened", "1-0-0"))
			} else {
				inputs, reply, err = c.Arbitrary(pxRequest(t, tc.query, "", "", ""))
			}
			if tc.location == "" {
				var perr *protocol.Error
				if !errors.As(err, &perr) || perr.Status != http.StatusBadRequest || perr.Refused || perr.Failure == nil ||
					perr.Failure.Type != event.ProtocolViolation || !strings.Contains(err.Error(), "protocols.pixel.redirect_allow") {
					t.Fatalf("error %v, want a 400 *protocol.Error naming protocols.pixel.redirect_allow", err)
				}
				if inputs != nil || reply != nil {
					t.Errorf("refused redirect returned inputs %v, reply %v", inputs, reply)
				}
				return
			}
			if err != nil {
				t.Fatalf("redirect: %v", err)
			}
			if reply.Status != http.StatusFound || reply.Header.Get("Location") != tc.location {
				t.Errorf("answer %d to %q, want 302 to %q", reply.Status, reply.Header.Get("Location"), tc.location)
			}
			if reply.Body == nil || len(reply.Body) != 0 || reply.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("body %q, Cache-Control %q; want an empty body, no-store", reply.Body, reply.Header.Get("Cache-Control"))
			}
			if len(inputs) != 1 || string(inputs[0].Data) != tc.data {
				t.Fatalf("inputs %+v, want one with data %s (the redirect is not data)", inputs, tc.data)
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name  string
		allow []string
		errs  []string
	}{
		{name: "none"},
		{name: "hosts and wildcards", allow: []string{"shop.example.com", "*.example.com"}},
		{name: "url", allow: []string{"shop.example.com", "https://a.example"}, errs: []string{"redirect_allow[1]"}},
		{name: "empty", allow: []string{""}, errs: []string{"redirect_allow[0]"}},
		{name: "port", allow: []string{"a.example:8443"}, errs: []string{"redirect_allow[0]"}},
		{name: "several", allow: []string{"a/b", "", "ok.example"}, errs: []string{"redirect_allow[0]", "redirect_allow[1]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Options{Enabled: true, RedirectAllow: tc.allow}.Validate()
			check.ErrorSays(t, err, tc.errs...)
		})
	}
}
