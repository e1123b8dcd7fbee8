package pixel

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/protocol"
)

// Routes of the pixel.
const (
	PathArbitrary = "/px"
	PathTyped     = "/px/{vendor}/{name}/{version}"
)

// Options configures the pixel endpoints.
type Options struct {
	Enabled       bool     `yaml:"enabled" doc:"Serve the tracking pixel: GET /px (arbitrary events) and GET /px/{vendor}/{name}/{version} (events of that contract)."`
	RedirectAllow []string `yaml:"redirect_allow" doc:"Hosts the redirect parameter may send the browser to, such as shop.example.com or *.example.com for any subdomain; any other target is refused with 400, so the pixel is never an open redirect."`
}

// DefaultOptions returns the defaults: on, with no redirect target allowed.
func DefaultOptions() Options { return Options{Enabled: true} }

// Validate reports every problem, keys relative to protocols.pixel.
func (o Options) Validate() error {
	var errs []error
	for i, h := range o.RedirectAllow {
		if h == "" || strings.Contains(h, "/") || strings.Contains(h, ":") {
			errs = append(errs, fmt.Errorf("redirect_allow[%d]: %q is not a host; write a host such as shop.example.com, or *.example.com", i, h))
		}
	}
	return errors.Join(errs...)
}

// Decoders answers pixel requests. Its methods are protocol.Decoder
// functions.
type Decoders struct {
	opts     Options
	resolver protocol.Resolver
	// coercers caches one Coercer per contract key: building one reads the
	// contract's schema, which costs more than a hit. An entry is rebuilt
	// when its contract was replaced (hot reload), so the cache holds at
	// most one entry per contract key the pixel was asked for, all of which
	// resolved.
	coercers sync.Map // contract URI -> *cachedCoercer
}

type cachedCoercer struct {
	contract *contract.Contract
	coercer  *Coercer
}

// NewDecoders returns the pixel decoders, which find contracts in resolver.
func NewDecoders(opts Options, resolver protocol.Resolver) *Decoders {
	return &Decoders{opts: opts, resolver: resolver}
}

// Arbitrary reads GET /px.
func (c *Decoders) Arbitrary(req *protocol.Request) ([]event.Input, *protocol.Reply, error) {
	return c.answer(req, DecodeArbitrary(req.Values()))
}

// Typed reads GET /px/{vendor}/{name}/{version}: the query converted to the
// contract's types. An unknown contract leaves the values as text and the
// pipeline records the event as schema_not_found.
func (c *Decoders) Typed(req *protocol.Request) ([]event.Input, *protocol.Reply, error) {
	key := "iglu:" + req.PathValue("vendor") + "/" + req.PathValue("name") + "/jsonschema/" + req.PathValue("version")
	ct, err := c.resolver.Resolve(key)
	if err != nil {
		in := DecodeArbitrary(req.Values())
		in.Arbitrary, in.SchemaKey = false, key
		return c.answer(req, in)
	}
	var co *Coercer
	if v, ok := c.coercers.Load(ct.URI); ok && v.(*cachedCoercer).contract == ct {
		co = v.(*cachedCoercer).coercer
	} else {
		co = NewCoercer(ct)
		c.coercers.Store(ct.URI, &cachedCoercer{contract: ct, coercer: co})
	}
	return c.answer(req, co.Decode(req.Values()))
}

// answer is the GIF, or a redirect when one was asked for and is allowed.
func (c *Decoders) answer(req *protocol.Request, in event.Input) ([]event.Input, *protocol.Reply, error) {
	reply := &protocol.Reply{Header: http.Header{}, Body: protocol.GIF, ContentType: "image/gif"}
	reply.Header.Set("Cache-Control", "no-store")
	if target := req.Values().Get(ParamRedirect); target != "" {
		to, err := protocol.RedirectAllowed(target, c.opts.RedirectAllow)
		if err != nil {
			return nil, nil, protocol.Errorf(http.StatusBadRequest, event.ProtocolViolation, "%v; the hosts the pixel may redirect to are set in protocols.pixel.redirect_allow", err)
		}
		reply.Status = http.StatusFound
		reply.Header.Set("Location", to.String())
		reply.Body, reply.ContentType = []byte{}, "text/plain; charset=utf-8"
	}
	return req.OneInput(in), reply, nil
}
