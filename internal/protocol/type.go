package protocol

import (
	"log/slog"
	"net/http"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
)

// Decoder reads a request's events, and says how to answer once they are
// stored (a nil Reply: the JSON report of what happened to each event).
type Decoder func(req *Request) ([]event.Input, *Reply, error)

// Plain adapts a decoder that needs no particular answer.
func Plain(decode func(req *Request) ([]event.Input, error)) Decoder {
	return func(req *Request) ([]event.Input, *Reply, error) {
		inputs, err := decode(req)
		return inputs, nil, err
	}
}

// Endpoint routes requests on Path (an http.ServeMux path pattern, which may
// hold wildcards such as {source}) to a protocol's decoder.
type Endpoint struct {
	Path string
	// Methods are those the endpoint takes; others get 405. Empty: POST.
	Methods []string
	// Protocol is the protocol's name, written on every record.
	Protocol string
	Decode   Decoder
	// ChecksQuery is set when Decode returns QueryError for a GET or
	// HEAD whose query url.ParseQuery refuses, reading the query once
	// instead of after the server's CheckQuery (Snowplow's GET /i).
	// Otherwise the server refuses such a request before decoding it.
	ChecksQuery bool
}

// AllowedMethods returns the methods the endpoint takes.
func (ep Endpoint) AllowedMethods() []string {
	if len(ep.Methods) == 0 {
		return []string{http.MethodPost}
	}
	return ep.Methods
}

// Options is a protocol type's configuration. Validate returns every
// problem, each naming its key relative to the type's section of the
// configuration (protocols.<key>) and the fix.
type Options interface {
	Validate() error
}

// Resolver finds a contract by key, through every contract backend;
// *contract.Set and *registry.Resolver are ones.
type Resolver interface {
	Resolve(key string) (*contract.Contract, error)
}

// ContractSet is the contracts a team keeps in its own directory, with a
// generation that changes whenever they are reloaded (Segment's tracking
// plan is rebuilt then); *contract.Set is one.
type ContractSet interface {
	Contracts() []*contract.Contract
	Generation() uint64
}

// Deps is what the wiring hands every protocol type's constructor.
type Deps struct {
	// Logger logs what a protocol notices while serving; nil discards it.
	Logger *slog.Logger
	// Contracts resolves contract keys (the pixel coerces query values
	// to the types its contract declares).
	Contracts Resolver
	// Local is the team's own contracts (Segment's tracking plan is read
	// from the contracts that list its events).
	Local ContractSet
	// Counters count what protocols refuse or drop, for GET /stats.
	Counters *Counters
}

// Type describes one input protocol.
type Type struct {
	// Name is the protocol's name on records and in GET /stats.
	Name string
	// Key is the protocol's section under protocols in the configuration;
	// Name when empty (webhook's sources are a list under webhooks).
	Key string
	// Doc is one sentence for the configuration reference.
	Doc string
	// NewOptions returns a pointer to the type's options, filled with their
	// defaults. Their fields carry yaml and doc tags: the configuration,
	// its ACCORD_PROTOCOLS_* environment variables and its reference are
	// all read from them.
	NewOptions func() Options
	// Endpoints returns the routes the protocol serves with validated
	// options: none when the options turn it off.
	Endpoints func(opts Options, deps Deps) []Endpoint
}

// ConfigKey returns the key of the type's section under protocols.
func (t Type) ConfigKey() string {
	if t.Key != "" {
		return t.Key
	}
	return t.Name
}

// Types is the protocol types Accord knows, by name, in the order they were
// registered: the order of their sections in the configuration reference and
// of their routes.
type Types struct {
	list []Type
}

// NewTypes returns the given types, by name.
func NewTypes(types ...Type) *Types {
	return &Types{list: types}
}

// All returns the registered types in registration order.
func (t *Types) All() []Type {
	if t == nil {
		return nil
	}
	return t.list
}

// Lookup returns the type called name.
func (t *Types) Lookup(name string) (Type, bool) {
	for _, typ := range t.All() {
		if typ.Name == name {
			return typ, true
		}
	}
	return Type{}, false
}
