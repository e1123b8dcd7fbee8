package webhook

import (
	"errors"
	"fmt"

	"github.com/accord-events/accord/internal/protocol"
)

// Sources are the configured webhook sources: the options of the webhook
// protocol, a list under protocols.webhooks.
type Sources []Source

// Validate reports every problem with every source, each naming its key
// relative to the list ([0].name, [1].signature.secret, ...), and sources
// sharing a name.
func (ss Sources) Validate() error {
	var errs []error
	names := map[string]int{}
	for i, s := range ss {
		if err := s.Validate(); err != nil {
			for _, e := range unjoin(err) {
				errs = append(errs, fmt.Errorf("[%d].%w", i, e))
			}
		}
		if j, dup := names[s.Name]; dup && s.Name != "" {
			errs = append(errs, fmt.Errorf("[%d].name: %q is also the name of the source at [%d]; each source needs its own name", i, s.Name, j))
		}
		names[s.Name] = i
	}
	return errors.Join(errs...)
}

// unjoin returns the errors err joins, or err alone.
func unjoin(err error) []error {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		return joined.Unwrap()
	}
	return []error{err}
}

// Type is the webhook protocol, registered under Name; its options are the
// list of sources under protocols.webhooks.
func Type() protocol.Type {
	return protocol.Type{
		Name:       Name,
		Key:        "webhooks",
		Doc:        "Webhook sources, each received at POST /webhooks/{name} (docs/protocols/webhooks.md).",
		NewOptions: func() protocol.Options { return &Sources{} },
		Endpoints: func(opts protocol.Options, _ protocol.Deps) []protocol.Endpoint {
			sources := *opts.(*Sources)
			if len(sources) == 0 {
				return nil
			}
			return []protocol.Endpoint{{Path: Path, Protocol: Name, Decode: NewDecoders(sources).Handle}}
		},
	}
}
