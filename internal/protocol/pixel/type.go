package pixel

import (
	"net/http"

	"github.com/accord-events/accord/internal/protocol"
)

// Type is the tracking pixel, registered under Name. Its typed route finds
// contracts through Deps.Contracts.
func Type() protocol.Type {
	return protocol.Type{
		Name:       Name,
		Doc:        "The tracking pixel (docs/protocols/pixel.md).",
		NewOptions: func() protocol.Options { o := DefaultOptions(); return &o },
		Endpoints: func(opts protocol.Options, deps protocol.Deps) []protocol.Endpoint {
			o := opts.(*Options)
			if !o.Enabled {
				return nil
			}
			c := NewDecoders(*o, deps.Contracts)
			get := []string{http.MethodGet}
			return []protocol.Endpoint{
				{Path: PathArbitrary, Methods: get, Protocol: Name, Decode: c.Arbitrary},
				{Path: PathTyped, Methods: get, Protocol: Name, Decode: c.Typed},
			}
		},
	}
}
