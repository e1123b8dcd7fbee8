package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"github.com/accord-events/accord/internal/config"
	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/delivery"
	"github.com/accord-events/accord/internal/protocol"
	"github.com/accord-events/accord/internal/protocol/cloudevents"
	"github.com/accord-events/accord/internal/protocol/pixel"
	"github.com/accord-events/accord/internal/protocol/segment"
	"github.com/accord-events/accord/internal/protocol/selfdesc"
	"github.com/accord-events/accord/internal/protocol/snowplow"
	"github.com/accord-events/accord/internal/protocol/webhook"
	"github.com/accord-events/accord/internal/redact"
	"github.com/accord-events/accord/internal/registry"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/file"
	"github.com/accord-events/accord/internal/sink/httpsink"
	"github.com/accord-events/accord/internal/sink/sqlite"
	"github.com/accord-events/accord/internal/sink/stdout"
	"github.com/accord-events/accord/internal/spool"
)

// sinkTypes is every sink type Accord ships. A new sink is one line here.
func sinkTypes() *sink.Types {
	return sink.NewTypes(sqlite.Type(), file.Type(), stdout.Type(), httpsink.Type())
}

// protocolTypes is every input protocol Accord ships, in the order of their
// routes and of their sections in the configuration reference. A new
// protocol is one line here.
func protocolTypes() *protocol.Types {
	return protocol.NewTypes(selfdesc.Type(), cloudevents.Type(), snowplow.Type(), segment.Type(), webhook.Type(), pixel.Type())
}

// endpoints returns the routes of every configured protocol.
func endpoints(cfg config.Protocols, deps protocol.Deps) []protocol.Endpoint {
	var eps []protocol.Endpoint
	for _, p := range cfg.All() {
		eps = append(eps, p.Type.Endpoints(p.Options, deps)...)
	}
	return eps
}

// openContractBackends opens contracts.backends and returns the resolver
// that looks keys up in local first, then in them, with the cache; close
// releases the backends.
func openContractBackends(ctx context.Context, cfg config.Contracts, local *contract.Registry) (*registry.Resolver, func(), error) {
	var backends []registry.Backend
	closeAll := func() {
		for _, b := range backends {
			if c, ok := b.(interface{ Close() }); ok {
				c.Close()
			}
		}
	}
	for i, bc := range cfg.Backends {
		b, err := bc.Open(ctx)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("contracts.backends[%d] (%s): %w", i, bc.Type, err)
		}
		backends = append(backends, b)
	}
	return registry.NewResolver(local, backends, cfg.Cache), closeAll, nil
}

// reloadAll is what POST /api/cache/purge does: reload contracts.dir and
// empty the cache of contracts fetched from backends.
type reloadAll struct {
	watcher  *contract.Watcher
	resolver *registry.Resolver
}

func (r reloadAll) Reload() (contract.ReloadReport, error) {
	r.resolver.Purge()
	return r.watcher.Reload()
}

// builtinContracts are the contracts that ship with Accord: those of the
// Snowplow event types. They are in every registry, under the user's.
func builtinContracts() []*contract.Contract {
	sub, err := fs.Sub(snowplow.Contracts, "contracts")
	if err == nil {
		var cs []*contract.Contract
		if cs, err = contract.LoadFS(sub, "snowplow"); err == nil {
			return cs
		}
	}
	// The embedded files are tested; this is a broken build.
	panic(fmt.Sprintf("built-in contracts: %v", err))
}

// referenceSinkTypes describes the sink types for the generated docs.
func referenceSinkTypes(types *sink.Types) []config.SinkType {
	var out []config.SinkType
	for _, name := range types.Names() {
		t, _ := types.Lookup(name)
		out = append(out, config.SinkType{Name: t.Name, Doc: t.Doc, Options: t.NewOptions()})
	}
	return out
}

// sinkPlan is one configured sink, its options decoded and validated.
type sinkPlan struct {
	cfg  config.Sink
	typ  sink.Type
	opts sink.Options
}

// planSinks decodes and validates every configured sink's options, so that
// accord config check and accord serve report the same problems, naming the
// key, before anything is opened.
func planSinks(cfg []config.Sink, types *sink.Types) ([]sinkPlan, error) {
	var plans []sinkPlan
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
		plans = append(plans, sinkPlan{cfg: sc, typ: t, opts: opts})
	}
	return plans, errors.Join(errs...)
}

// newSinks builds every planned sink, without I/O: delivery connects them,
// retrying those whose store is down. contracts may be nil (no sink sees
// contracts then).
func newSinks(plans []sinkPlan, contracts sink.Contracts, log *slog.Logger) ([]delivery.Sink, error) {
	var built []delivery.Sink
	for _, p := range plans {
		s, err := p.typ.New(p.opts, sink.Deps{Logger: log.With("sink", p.cfg.Name), Contracts: contracts})
		if err != nil {
			for _, n := range built {
				_ = n.Sink.Close(context.Background())
			}
			return nil, fmt.Errorf("build sink %s: %w", p.cfg.Name, err)
		}
		built = append(built, delivery.Sink{Name: p.cfg.Name, Records: sink.Selection(p.cfg.Records), Sink: s, Options: p.cfg.Delivery})
	}
	return built, nil
}

// startDelivery opens the spool (when enabled) and starts delivering to
// sinks. The returned stop closes delivery within ctx's deadline and then
// the spool. On error the sinks are closed.
func startDelivery(cfg config.Spool, sinks []delivery.Sink, log *slog.Logger) (*delivery.Service, func(ctx context.Context) error, error) {
	closeSinks := func() {
		for _, n := range sinks {
			_ = n.Sink.Close(context.Background())
		}
	}
	dcfg := delivery.Config{WaitForSinks: cfg.Ack == config.AckSinks, DeadLetterDir: cfg.DeadLetterDir, Logger: log}
	var sp *spool.Spool
	if cfg.Enabled {
		var err error
		sp, err = spool.Open(cfg.Options, log.With("component", "spool"))
		if err != nil {
			closeSinks()
			return nil, nil, fmt.Errorf("open spool (spool.dir %s): %w", cfg.Dir, err)
		}
		dcfg.Spool = sp
	}
	svc, err := delivery.Start(dcfg, sinks)
	if err != nil {
		closeSinks()
		if sp != nil {
			_ = sp.Close()
		}
		return nil, nil, err
	}
	stop := func(ctx context.Context) error {
		err := svc.Close(ctx)
		if sp != nil {
			if cerr := sp.Close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("close spool: %w", cerr))
			}
		}
		return err
	}
	return svc, stop, nil
}

// newLogger builds the process logger from the configuration.
func newLogger(cfg config.Log) (*slog.Logger, error) {
	level, err := cfg.SlogLevel()
	if err != nil {
		return nil, errors.New("log.level: " + err.Error())
	}
	opts := &slog.HandlerOptions{Level: level}
	// Every log line goes through redact: errors quote sink and backend
	// URLs, which may carry passwords and tokens.
	if cfg.Format == "json" {
		return slog.New(redact.Handler(slog.NewJSONHandler(os.Stderr, opts))), nil
	}
	return slog.New(redact.Handler(slog.NewTextHandler(os.Stderr, opts))), nil
}
