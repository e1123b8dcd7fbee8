package snowplow

import (
	"net/http"

	"github.com/accord-events/accord/internal/protocol"
)

// Type is Snowplow's tracker protocol, registered under Name.
func Type() protocol.Type {
	return protocol.Type{
		Name:       Name,
		Doc:        "Snowplow's tracker protocol (docs/protocols/snowplow.md).",
		NewOptions: func() protocol.Options { o := DefaultOptions(); return &o },
		Endpoints: func(opts protocol.Options, _ protocol.Deps) []protocol.Endpoint {
			o := opts.(*Options)
			if !o.Enabled {
				return nil
			}
			c := NewDecoders(*o)
			get := []string{http.MethodGet}
			eps := []protocol.Endpoint{
				{Path: PathPixel, Methods: get, Protocol: Name, Decode: c.Pixel, ChecksQuery: true},
				{Path: PathPost, Protocol: Name, Decode: c.Post},
				{Path: PathRedirect, Methods: get, Protocol: Name, Decode: c.Redirect},
			}
			for _, p := range o.Paths {
				eps = append(eps, protocol.Endpoint{Path: p, Methods: []string{http.MethodPost, http.MethodGet}, Protocol: Name, Decode: c.Any, ChecksQuery: true})
			}
			return eps
		},
	}
}
