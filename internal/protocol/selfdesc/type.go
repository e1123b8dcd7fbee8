package selfdesc

import (
	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/protocol"
)

// Path is the route of self-describing events.
const Path = "/events"

// Options configures Accord's own protocol.
type Options struct {
	Enabled bool `yaml:"enabled" doc:"Serve Accord's own protocol of self-describing events: POST /events."`
}

// DefaultOptions returns the defaults: on.
func DefaultOptions() Options { return Options{Enabled: true} }

// Validate reports every problem; a switch has none.
func (o Options) Validate() error { return nil }

// Type is Accord's own protocol, registered under Name.
func Type() protocol.Type {
	return protocol.Type{
		Name:       Name,
		Doc:        "Accord's own protocol: self-describing JSON events that name their contract (docs/api.md).",
		NewOptions: func() protocol.Options { o := DefaultOptions(); return &o },
		Endpoints: func(opts protocol.Options, deps protocol.Deps) []protocol.Endpoint {
			if !opts.(*Options).Enabled {
				return nil
			}
			// The team's own contracts are what the pipeline resolves
			// first: an event naming one has its data read once.
			local, _ := deps.Local.(*contract.Set)
			return []protocol.Endpoint{{Path: Path, Protocol: Name, Decode: protocol.Plain(DecodeWith(local))}}
		},
	}
}
