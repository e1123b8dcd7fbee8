package cloudevents

import "github.com/accord-events/accord/internal/protocol"

// Path is the route of CloudEvents.
const Path = "/cloudevents"

// Options configures the CloudEvents endpoint.
type Options struct {
	Enabled bool `yaml:"enabled" doc:"Serve CloudEvents over HTTP, structured, batched or binary: POST /cloudevents."`
}

// DefaultOptions returns the defaults: on.
func DefaultOptions() Options { return Options{Enabled: true} }

// Validate reports every problem; a switch has none.
func (o Options) Validate() error { return nil }

// Type is the CloudEvents protocol, registered under Name.
func Type() protocol.Type {
	return protocol.Type{
		Name:       Name,
		Doc:        "CloudEvents 1.0 over HTTP: structured, batched or binary (docs/api.md).",
		NewOptions: func() protocol.Options { o := DefaultOptions(); return &o },
		Endpoints: func(opts protocol.Options, _ protocol.Deps) []protocol.Endpoint {
			if !opts.(*Options).Enabled {
				return nil
			}
			return []protocol.Endpoint{{Path: Path, Protocol: Name, Decode: protocol.Plain(Decode)}}
		},
	}
}
