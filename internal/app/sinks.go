package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/accord-events/accord/internal/config"
	"github.com/accord-events/accord/internal/delivery"
	"github.com/accord-events/accord/internal/sink"
)

// SinkSpec is one configured sink, its options decoded and validated.
type SinkSpec struct {
	Config  config.SinkEntry
	Type    sink.Type
	Options sink.Options
}

// DecodeSinks decodes and validates every configured sink's options, so that
// accord config check and accord serve report the same problems, naming the
// key, before anything is built.
func DecodeSinks(cfg []config.SinkEntry, types *sink.Types) ([]SinkSpec, error) {
	var specs []SinkSpec
	var errs []error
	for i, sc := range cfg {
		key := fmt.Sprintf("sinks[%d] (%s)", i, sc.Name)
		t, ok := types.Lookup(sc.Type)
		if !ok {
			errs = append(errs, fmt.Errorf("%s.type: %q is not a sink type; use one of %v", key, sc.Type, types.Names()))
			continue
		}
		opts := t.NewOptions()
		if err := config.DecodeOptions(sc.Options, opts); err != nil {
			errs = append(errs, fmt.Errorf("%s.options: %w", key, err))
			continue
		}
		if err := opts.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s.options.%w", key, err))
			continue
		}
		specs = append(specs, SinkSpec{Config: sc, Type: t, Options: opts})
	}
	return specs, errors.Join(errs...)
}

// NewSinks builds every decoded sink, without I/O: delivery connects them,
// retrying those whose store is down. contracts may be nil (no sink sees
// contracts then).
func NewSinks(specs []SinkSpec, contracts sink.Contracts, log *slog.Logger) ([]delivery.Target, error) {
	var built []delivery.Target
	for _, p := range specs {
		s, err := p.Type.New(p.Options, sink.Deps{Logger: log.With("sink", p.Config.Name), Contracts: contracts})
		if err != nil {
			for _, n := range built {
				_ = n.Sink.Close(context.Background())
			}
			return nil, fmt.Errorf("build sink %s: %w", p.Config.Name, err)
		}
		built = append(built, delivery.Target{Name: p.Config.Name, Records: sink.Selection(p.Config.Records), Sink: s, Options: p.Config.Delivery})
	}
	return built, nil
}

// ReferenceSinkTypes describes the sink types for the generated docs.
func ReferenceSinkTypes(types *sink.Types) []config.SinkType {
	var out []config.SinkType
	for _, name := range types.Names() {
		t, _ := types.Lookup(name)
		out = append(out, config.SinkType{Name: t.Name, Doc: t.Doc, Options: t.NewOptions()})
	}
	return out
}
