package segment

import "github.com/accord-events/accord/internal/protocol"

// Type is Segment's HTTP tracking API, registered under Name. Its tracking
// plan is read from the team's own contracts (Deps.Local).
func Type() protocol.Type {
	return protocol.Type{
		Name:       Name,
		Doc:        "Segment's HTTP tracking API (docs/protocols/segment.md).",
		NewOptions: func() protocol.Options { o := DefaultOptions(); return &o },
		Endpoints: func(opts protocol.Options, deps protocol.Deps) []protocol.Endpoint {
			o := opts.(*Options)
			if !o.Enabled {
				return nil
			}
			c := NewDecoders(*o, deps.Local, deps.Counters)
			if log := deps.Logger; log != nil {
				c.PlanProblems = func(err error) { log.Warn("segment tracking plan", "err", err) }
			}
			return []protocol.Endpoint{{Path: Path, Protocol: Name, Decode: c.Handle}}
		},
	}
}
