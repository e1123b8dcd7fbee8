package snowplow

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/jsonscan"
	"github.com/accord-events/accord/internal/protocol"
	"github.com/google/uuid"
)

// Routes Snowplow trackers use.
const (
	PathPixel    = "/i"
	PathPost     = "/com.snowplowanalytics.snowplow/tp2"
	PathRedirect = "/r/tp2"
)

// SchemaURIRedirect is the contract of a redirect that carried no event.
const SchemaURIRedirect = "iglu:com.snowplowanalytics.snowplow/uri_redirect/jsonschema/1-0-0"

// Options configures the Snowplow endpoints.
type Options struct {
	Enabled       bool     `yaml:"enabled" doc:"Serve the Snowplow tracker protocol: GET /i, POST /com.snowplowanalytics.snowplow/tp2 and GET /r/tp2."`
	Paths         []string `yaml:"paths" doc:"Extra paths that take tp2 events as POST (payload_data) and GET (query string), for trackers configured with a custom path, such as /com.acme/track."`
	RedirectAllow []string `yaml:"redirect_allow" doc:"Hosts GET /r/tp2 may redirect to (u parameter), such as shop.example.com or *.example.com for any subdomain; any other target is refused with 400, so the collector is never an open redirect."`
	Cookie        Cookie   `yaml:"cookie" doc:"The network user id cookie, as Snowplow's collector sets it."`
}

// Cookie configures the network user id cookie.
type Cookie struct {
	Enabled  bool          `yaml:"enabled" doc:"Set and read the network user id cookie; off, events carry only the ids trackers send."`
	Name     string        `yaml:"name" doc:"Cookie name (Snowplow's collector uses sp)."`
	Domain   string        `yaml:"domain" doc:"Cookie domain, such as .example.com to share it across subdomains; empty for the collector's host only."`
	Path     string        `yaml:"path" doc:"Cookie path."`
	TTL      time.Duration `yaml:"ttl" doc:"How long the cookie lives; every request renews it."`
	SameSite string        `yaml:"same_site" doc:"SameSite attribute: none (needed when the site and the collector are on different sites; requires secure), lax or strict."`
	Secure   bool          `yaml:"secure" doc:"Send the cookie over HTTPS only."`
	HTTPOnly bool          `yaml:"http_only" doc:"Hide the cookie from scripts on the page."`
}

// DefaultOptions returns Snowplow's collector defaults: the endpoints on,
// a one-year sp cookie, SameSite=None; Secure; HttpOnly.
func DefaultOptions() Options {
	return Options{
		Enabled: true,
		Cookie:  Cookie{Enabled: true, Name: "sp", Path: "/", TTL: 365 * 24 * time.Hour, SameSite: "none", Secure: true, HTTPOnly: true},
	}
}

// Validate reports every problem, keys relative to protocols.snowplow.
func (o Options) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	for i, p := range o.Paths {
		if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "{} ") {
			bad(fmt.Sprintf("paths[%d]", i), "%q is not a plain absolute path; write it like /com.acme/track", p)
		}
	}
	for i, h := range o.RedirectAllow {
		if h == "" || strings.Contains(h, "/") || strings.Contains(h, ":") {
			bad(fmt.Sprintf("redirect_allow[%d]", i), "%q is not a host; write a host such as shop.example.com, or *.example.com", h)
		}
	}
	c := o.Cookie
	if c.Enabled {
		if c.Name == "" || strings.ContainsAny(c.Name, "=;, \t") {
			bad("cookie.name", "%q is not a cookie name; use a token such as sp", c.Name)
		}
		if c.TTL <= 0 {
			bad("cookie.ttl", "%s must be positive, such as 8760h (a year)", c.TTL)
		}
		switch strings.ToLower(c.SameSite) {
		case "none":
			if !c.Secure {
				bad("cookie.same_site", "none requires cookie.secure: true (browsers drop SameSite=None cookies that are not Secure)")
			}
		case "lax", "strict":
		default:
			bad("cookie.same_site", "%q is not a SameSite value; use none, lax or strict", c.SameSite)
		}
	}
	return errors.Join(errs...)
}

// Decoders answers Snowplow trackers: it reads their events and handles
// what lies around them, the network user id cookie, SP-Anonymous and
// redirects. Its methods are protocol.Decoder functions.
type Decoders struct {
	opts Options
}

// NewDecoders returns the decoders for validated options.
func NewDecoders(opts Options) *Decoders { return &Decoders{opts: opts} }

// Post reads a POST of tp2 events (payload_data).
func (c *Decoders) Post(req *protocol.Request) ([]event.Input, *protocol.Reply, error) {
	inputs, err := DecodeBody(req)
	if err != nil {
		return nil, nil, err
	}
	reply := c.identify(req, inputs)
	return inputs, reply, nil
}

// Any serves a custom tracker path (Options.Paths): a POST is read as Post
// reads it, a GET as Pixel does.
func (c *Decoders) Any(req *protocol.Request) ([]event.Input, *protocol.Reply, error) {
	if req.Method == http.MethodPost {
		return c.Post(req)
	}
	return c.Pixel(req)
}

// Pixel reads the one event of GET /i and answers a 1x1 GIF.
func (c *Decoders) Pixel(req *protocol.Request) ([]event.Input, *protocol.Reply, error) {
	// The query as sent, checked and read in one pass (the server neither
	// parses nor checks it: Endpoint.ChecksQuery).
	in, err := DecodeGETQuery(req.RawQuery)
	if err != nil {
		return nil, nil, err
	}
	inputs := req.OneInput(in)
	reply := c.identify(req, inputs)
	reply.Body, reply.ContentType = protocol.GIF, "image/gif"
	reply.Header.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	return inputs, reply, nil
}

// Redirect reads GET /r/tp2: it redirects to the u parameter, when its host
// is allowed, recording the tracker event the query carries or, with no
// event (no e parameter), a uri_redirect event.
func (c *Decoders) Redirect(req *protocol.Request) ([]event.Input, *protocol.Reply, error) {
	query := req.Values()
	target := query.Get("u")
	if target == "" {
		return nil, nil, protocol.Errorf(http.StatusBadRequest, event.ProtocolViolation, "the redirect has no target; send it in the u parameter, such as /r/tp2?u=https%%3A%%2F%%2Fshop.example.com%%2F")
	}
	to, err := protocol.RedirectAllowed(target, c.opts.RedirectAllow)
	if err != nil {
		return nil, nil, protocol.Errorf(http.StatusBadRequest, event.ProtocolViolation, "%v; the hosts redirects may go to are set in protocols.snowplow.redirect_allow", err)
	}
	var in event.Input
	if query.Get("e") != "" {
		q := make(map[string][]string, len(query))
		for k, v := range query {
			if k != "u" {
				q[k] = v
			}
		}
		if in, err = DecodeQuery(q); err != nil {
			return nil, nil, err
		}
	} else {
		data := jsonscan.AppendString([]byte(`{"uri":`), to.String())
		in = event.Input{SchemaKey: SchemaURIRedirect, Data: append(data, '}'), Raw: []byte(query.Encode())}
	}
	inputs := req.OneInput(in)
	reply := c.identify(req, inputs)
	reply.Status = http.StatusFound
	reply.Header.Set("Location", to.String())
	reply.Header.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	reply.Body, reply.ContentType = []byte{}, "text/plain; charset=utf-8"
	return inputs, reply, nil
}

// identify gives events without a network user id the cookie's (or a new
// one), and renews the cookie; with SP-Anonymous it does neither, clears
// the network user id and keeps the client's IP off the records, as
// Snowplow's collector does. (An ip the tracker itself sent stays in the
// attributes, as sent.)
func (c *Decoders) identify(req *protocol.Request, inputs []event.Input) *protocol.Reply {
	reply := &protocol.Reply{Header: http.Header{}}
	if req.Header.Get("SP-Anonymous") != "" {
		// Nothing that identifies the device: no cookie, no IP, and no
		// network user id, even one the tracker sent.
		reply.OmitIP = true
		for i := range inputs {
			inputs[i].Identity.NetworkUserID = ""
		}
		return reply
	}
	if !c.opts.Cookie.Enabled {
		return reply
	}
	nuid := req.Cookie(c.opts.Cookie.Name)
	if _, err := uuid.Parse(nuid); err != nil {
		nuid = uuid.NewString()
	}
	for i := range inputs {
		if inputs[i].Failure == nil && inputs[i].Identity.NetworkUserID == "" {
			inputs[i].Identity.NetworkUserID = nuid
		}
	}
	ck := c.opts.Cookie
	cookie := &http.Cookie{
		Name: ck.Name, Value: nuid, Domain: ck.Domain, Path: ck.Path,
		MaxAge: int(ck.TTL / time.Second), Expires: time.Now().Add(ck.TTL).UTC(),
		Secure: ck.Secure, HttpOnly: ck.HTTPOnly,
	}
	switch strings.ToLower(ck.SameSite) {
	case "none":
		cookie.SameSite = http.SameSiteNoneMode
	case "lax":
		cookie.SameSite = http.SameSiteLaxMode
	case "strict":
		cookie.SameSite = http.SameSiteStrictMode
	}
	reply.Header.Add("Set-Cookie", cookie.String())
	return reply
}
