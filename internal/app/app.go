// Package app builds Accord from its configuration: the contracts
// (contracts.dir, the built-in contracts, then contracts.backends through the
// cache), the pipeline with its collector stamp, the sinks, the spool and
// delivery, and for serve the collector and admin servers. Every command
// (serve, replay, validate) builds its parts here, so they cannot judge
// events differently, and the order in which the parts start and stop is
// declared once, in Build.
package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/accord-events/accord/internal/admin"
	"github.com/accord-events/accord/internal/alert"
	"github.com/accord-events/accord/internal/catalog"
	"github.com/accord-events/accord/internal/config"
	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/delivery"
	"github.com/accord-events/accord/internal/enrich"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/inspect"
	"github.com/accord-events/accord/internal/metrics"
	"github.com/accord-events/accord/internal/pipeline"
	"github.com/accord-events/accord/internal/privacy"
	"github.com/accord-events/accord/internal/protocol"
	"github.com/accord-events/accord/internal/protocol/cloudevents"
	"github.com/accord-events/accord/internal/protocol/pixel"
	"github.com/accord-events/accord/internal/protocol/segment"
	"github.com/accord-events/accord/internal/protocol/selfdesc"
	"github.com/accord-events/accord/internal/protocol/snowplow"
	"github.com/accord-events/accord/internal/protocol/webhook"
	"github.com/accord-events/accord/internal/redact"
	"github.com/accord-events/accord/internal/registry"
	"github.com/accord-events/accord/internal/server"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/file"
	"github.com/accord-events/accord/internal/sink/httpsink"
	"github.com/accord-events/accord/internal/sink/kafka"
	"github.com/accord-events/accord/internal/sink/mqtt"
	"github.com/accord-events/accord/internal/sink/mysql"
	natssink "github.com/accord-events/accord/internal/sink/nats"
	"github.com/accord-events/accord/internal/sink/postgres"
	"github.com/accord-events/accord/internal/sink/rabbitmq"
	"github.com/accord-events/accord/internal/sink/redis"
	s3sink "github.com/accord-events/accord/internal/sink/s3"
	"github.com/accord-events/accord/internal/sink/sqlite"
	"github.com/accord-events/accord/internal/sink/stdout"
	"github.com/accord-events/accord/internal/spool"
	"github.com/accord-events/accord/internal/spool/jetstreamlog"
	"github.com/accord-events/accord/internal/spool/kafkalog"
	"github.com/accord-events/accord/internal/ui"
)

// SinkTypes is every sink type Accord ships. A new sink is one line here.
func SinkTypes() *sink.Types {
	return sink.NewTypes(sqlite.Type(), postgres.Type(), mysql.Type(), file.Type(), stdout.Type(), httpsink.Type(), kafka.Type(), mqtt.Type(), natssink.Type(), rabbitmq.Type(), redis.Type(), s3sink.Type())
}

// ProtocolTypes is every input protocol Accord ships, in the order of their
// routes and of their sections in the configuration reference. A new
// protocol is one line here.
func ProtocolTypes() *protocol.Types {
	return protocol.NewTypes(selfdesc.Type(), cloudevents.Type(), snowplow.Type(), segment.Type(), webhook.Type(), pixel.Type())
}

// Options says which parts a command needs.
type Options struct {
	// Version is the collector stamp's version (the build's).
	Version string
	// Watch keeps contracts.dir in step while the application runs
	// (contracts.reload_interval); without it the directory is read once.
	Watch bool
	// Deliver builds the sinks and delivery.
	Deliver bool
	// Sinks decodes the configured sinks (App.Sinks) without delivering to
	// them: replay --dry-run reads failed records from one. Deliver implies
	// it; without either, the sinks section is not looked at, so accord
	// validate runs whatever the sinks need.
	Sinks bool
	// Direct delivers to the sinks without the spool: replay runs beside
	// a collector that holds the spool, and writes each sink itself.
	Direct bool
	// Serve listens on server.addr (and admin.addr): the collector.
	Serve bool
	// Load runs the sinks on the shared log of spool.kind kafka (accord
	// load); it needs Deliver and a spool.kind other than local. Without
	// it, a collector on a shared log builds no sinks: loaders run them.
	Load bool
}

// brokerLog is a shared log on a broker (spool.kind kafka) as the
// application holds it: delivery appends to and reads from it, and the
// application closes it.
type brokerLog interface {
	delivery.Log
	Close() error
}

// kafkaLog adapts the kafka log's concrete Reader to delivery.Log.
type kafkaLog struct{ *kafkalog.Log }

func (l kafkaLog) Reader(name string) (delivery.Reader, error) { return l.Log.Reader(name) }

// jetStreamLog adapts the jetstream log's concrete Reader to delivery.Log.
type jetStreamLog struct{ *jetstreamlog.Log }

func (l jetStreamLog) Reader(name string) (delivery.Reader, error) { return l.Log.Reader(name) }

var (
	_ brokerLog = kafkaLog{}
	_ brokerLog = jetStreamLog{}
)

// App is the built application. Its fields are set once Start returns.
type App struct {
	Config config.Config
	Log    *slog.Logger
	// Local holds contracts.dir and the built-in contracts; Contracts
	// resolves through it, then through contracts.backends.
	Local     *contract.Set
	Contracts *registry.Resolver
	Pipeline  *pipeline.Pipeline
	// Delivery is nil unless Options.Deliver.
	Delivery *delivery.Service
	// Sinks are the configured sinks, their options decoded and validated.
	Sinks []SinkSpec

	opts      Options
	lifecycle Lifecycle
	watcher   *contract.Watcher
	backends  []registry.Backend
	enrich    *enrich.Stage
	spool     *spool.Spool
	shared    brokerLog
	srv       *server.Server
	adm       *admin.Admin
	// tap is the live inspector's: the servers' deliverer publishes to it.
	tap *inspect.Tap
	// alerts evaluates alerts.rules; nil unless serving.
	alerts *alert.Evaluator
	// served receives the result of each server's Serve; servers counts
	// those still serving.
	served  chan error
	servers int
	// lameDuck is how long the servers serve on before stopping: Run sets
	// it to server.lame_duck when asked to stop, not when a server failed.
	lameDuck time.Duration
}

// Build checks the configuration (every sink's options) and declares the
// parts the options ask for, in the order they start; it does no I/O.
func Build(cfg config.Config, log *slog.Logger, opts Options) (*App, error) {
	var specs []SinkSpec
	if opts.Deliver || opts.Sinks {
		var err error
		if specs, err = DecodeSinks(cfg.Sinks, SinkTypes()); err != nil {
			return nil, fmt.Errorf("configuration: %w", err)
		}
	}
	if opts.Load && cfg.Spool.Kind == config.SpoolLocal {
		return nil, errors.New("configuration: spool.kind: accord load reads a shared log; set spool.kind to kafka or jetstream (the local spool is read by accord serve itself)")
	}
	a := &App{Config: cfg, Log: log, Sinks: specs, opts: opts, served: make(chan error, 2)}
	a.Local = contract.NewSetWithBase(builtinContracts(), nil)
	// Each part uses those declared before it and is stopped before them.
	a.lifecycle.Add(Component{Name: "contracts", Start: a.startContracts, Stop: a.stopContracts})
	a.lifecycle.Add(Component{Name: "contract backends", Start: a.startBackends, Stop: a.stopBackends})
	if opts.Deliver {
		if !opts.Direct {
			a.lifecycle.Add(Component{Name: "spool", Start: a.startSpool, Stop: a.stopSpool})
		}
		a.lifecycle.Add(Component{Name: "delivery", Start: a.startDelivery, Stop: a.stopDelivery})
	}
	if opts.Serve && opts.Deliver {
		a.lifecycle.Add(Component{Name: "alerts", Start: a.startAlerts, Stop: a.stopAlerts})
	}
	if opts.Serve {
		a.lifecycle.Add(Component{Name: "servers", Start: a.startServers, Stop: a.stopServers})
	} else if opts.Load {
		a.lifecycle.Add(Component{Name: "servers", Start: a.startLoadServer, Stop: a.stopServers})
	}
	if opts.Watch {
		// Last: watching contracts.dir (20,000 directories at 10,000
		// contracts, and a walk of the tree) does not take the CPU from
		// the rest of the start. The contracts stop watching with the
		// contracts' Stop.
		a.lifecycle.Add(Component{Name: "contracts watch", Start: a.startWatching})
	}
	return a, nil
}

// Components returns the names of the parts in start order (they stop in
// reverse).
func (a *App) Components() []string { return a.lifecycle.Names() }

// Start starts every part in order; on error those started are stopped.
func (a *App) Start(ctx context.Context) error { return a.lifecycle.Start(ctx) }

// Stop stops the started parts in reverse order: the servers finish the
// requests in flight (server.shutdown_timeout), delivery drains the spool
// (spool.drain_timeout) and closes the sinks, then the spool, the contract
// backends and the contracts directory's watcher close.
func (a *App) Stop(ctx context.Context) error { return a.lifecycle.Stop(ctx) }

// Run starts the application, runs until ctx ends or a server fails, and
// stops it.
func (a *App) Run(ctx context.Context) error {
	if err := a.Start(ctx); err != nil {
		return err
	}
	// What starting touched in the binary and is not used again stops
	// counting in the RSS (issue 15 point 6; docs/performance-log.md).
	a.Log.Debug("released start-up pages", "bytes", ReleaseStartupPages())
	var serveErr error
	select {
	case serveErr = <-a.served:
		a.servers--
	case <-ctx.Done():
		if a.opts.Serve {
			// A loader takes no traffic a load balancer could move
			// away: it has no lame duck.
			a.lameDuck = a.Config.Server.LameDuck
		}
		a.Log.Info("shutting down", "lame_duck", a.Config.Server.LameDuck.String(), "timeout", a.Config.Server.ShutdownTimeout.String(), "drain_timeout", a.Config.Spool.DrainTimeout.String())
	}
	if err := errors.Join(serveErr, a.Stop(context.WithoutCancel(ctx))); err != nil {
		return err
	}
	a.Log.Info("stopped")
	return nil
}

func (a *App) startContracts(ctx context.Context) error {
	interval := a.Config.Contracts.ReloadInterval
	if !a.opts.Watch {
		interval = 0
	}
	a.watcher = contract.LoadWatcher(ctx, a.Config.Contracts.Dir, a.Local, interval, a.Log)
	return nil
}

func (a *App) startWatching(context.Context) error {
	a.watcher.Watch()
	return nil
}

func (a *App) stopContracts(context.Context) error {
	a.watcher.Close()
	return nil
}

// startBackends opens contracts.backends and builds the resolver (local
// first, then the backends, with the cache) and the pipeline on it.
func (a *App) startBackends(ctx context.Context) error {
	for i, bc := range a.Config.Contracts.Backends {
		b, err := bc.Open(ctx)
		if err != nil {
			_ = a.stopBackends(ctx)
			return fmt.Errorf("contracts.backends[%d] (%s): %w", i, bc.Type, err)
		}
		a.backends = append(a.backends, b)
	}
	a.Contracts = registry.NewResolver(a.Local, a.backends, a.Config.Contracts.Cache)
	host, _ := os.Hostname()
	stamp := event.Collector{Name: a.Config.Collector.Name, Version: a.opts.Version, Env: a.Config.Collector.Env, Host: host}
	pii, err := a.privacyStage()
	if err != nil {
		_ = a.stopBackends(ctx)
		return err
	}
	// The contracts' rules, then the collector-wide policy; enrichment
	// comes after both, on what they left. With no enrichment on there is
	// no enrichment stage at all, and the hot path is what it was.
	policy := privacy.NewPolicy(a.Config.Privacy.PolicyOptions)
	stages := []pipeline.Stage{pii, policy}
	if a.Config.Enrich.Any() {
		if a.enrich, err = enrich.New(a.Config.Enrich, enrich.Policy{DropsUserAgent: a.Config.Privacy.UserAgent == privacy.ActionDrop}, a.Log.With("component", "enrich")); err != nil {
			_ = a.stopBackends(ctx)
			return fmt.Errorf("configuration: %w", err)
		}
		stages = append(stages, a.enrich)
	}
	a.Pipeline = pipeline.NewWithPolicy(a.Contracts, a.Config.Contracts.UnknownContexts, stamp, a.Config.Collector.Namespace, stages...)
	return nil
}

// privacyStage reads the privacy secrets and builds the stage applying the
// contracts' x-accord-pii rules (for accord serve and accord replay alike),
// refusing to start when a contract on disk has rules the configuration
// cannot apply (hmac without a key, hash without a salt): its values would
// otherwise be stored in clear.
func (a *App) privacyStage() (*privacy.Stage, error) {
	secrets, err := a.Config.Privacy.Load(os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	stage := privacy.NewStage(a.Contracts, secrets, a.Config.Privacy, a.Log.With("component", "privacy"))
	if err := stage.Check(a.Local.Contracts()); err != nil {
		return nil, fmt.Errorf("contracts: %w", err)
	}
	return stage, nil
}

func (a *App) stopBackends(context.Context) error {
	var err error
	if a.enrich != nil {
		// The servers and delivery, which run the pipeline, stopped first.
		err = a.enrich.Close()
		a.enrich = nil
	}
	for _, b := range a.backends {
		if c, ok := b.(interface{ Close() }); ok {
			c.Close()
		}
	}
	a.backends = nil
	return err
}

func (a *App) startSpool(context.Context) error {
	switch a.Config.Spool.Kind {
	case config.SpoolKafka:
		l, err := kafkalog.Open(a.Config.Spool.Kafka, a.Log.With("component", "kafka-log"))
		if err != nil {
			return fmt.Errorf("spool.kafka: %w", err)
		}
		a.shared = kafkaLog{l}
		return nil
	case config.SpoolJetStream:
		l, err := jetstreamlog.Open(a.Config.Spool.JetStream, a.Log.With("component", "jetstream-log"))
		if err != nil {
			return fmt.Errorf("spool.jetstream: %w", err)
		}
		a.shared = jetStreamLog{l}
		return nil
	}
	sp, err := spool.Open(a.Config.Spool.Options, a.Log.With("component", "spool"))
	if err != nil {
		return fmt.Errorf("open spool (spool.dir %s): %w", a.Config.Spool.Dir, err)
	}
	a.spool = sp
	return nil
}

func (a *App) stopSpool(context.Context) error {
	if a.shared != nil {
		if err := a.shared.Close(); err != nil {
			return fmt.Errorf("close the %s log: %w", a.Config.Spool.Kind, err)
		}
		return nil
	}
	if err := a.spool.Close(); err != nil {
		return fmt.Errorf("close spool: %w", err)
	}
	return nil
}

// startDelivery builds the sinks (without I/O; delivery connects them) and
// starts delivering, through the spool when one was started.
func (a *App) startDelivery(context.Context) error {
	var sinks []delivery.Target
	if a.shared == nil || a.opts.Load {
		var err error
		if sinks, err = NewSinks(a.Sinks, a.Contracts, a.Log); err != nil {
			return err
		}
	}
	dcfg := delivery.Config{Spool: a.spool, DeadLetterDir: a.Config.Spool.DeadLetterDir, DeadLetterRetention: a.Config.Spool.DeadLetterRetention, Logger: a.Log, MaxRequestBytes: MaxRequestBytes(a.Config.Server)}
	if a.shared != nil {
		dcfg.Log = a.shared
	}
	if a.spool != nil {
		dcfg.WaitForSinks = a.Config.Spool.Ack == config.AckSinks
		dcfg.AckTimeout = a.Config.Spool.AckTimeout
	}
	svc, err := delivery.Start(dcfg, sinks)
	if err != nil {
		for _, s := range sinks {
			_ = s.Sink.Close(context.Background())
		}
		return err
	}
	a.Delivery = svc
	return nil
}

// startAlerts reads the receivers' URLs from the environment (url_env)
// and starts evaluating alerts.rules on delivery's statistics.
func (a *App) startAlerts(ctx context.Context) error {
	cfg, err := a.Config.Alerts.ResolveURLs(os.Getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	e, err := alert.New(cfg, alert.Deps{
		Source:    a.Delivery,
		Contracts: a.Contracts,
		Logger:    a.Log.With("component", "alerts"),
		Collector: alert.Collector{Name: a.Config.Collector.Name, Env: a.Config.Collector.Env},
	})
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	// Stopped by stopAlerts, not by the signal that starts the shutdown.
	e.Start(context.WithoutCancel(ctx))
	a.alerts = e
	return nil
}

func (a *App) stopAlerts(context.Context) error {
	a.alerts.Close()
	return nil
}

// Alerts returns the state of the alert rules; nil unless serving.
func (a *App) Alerts() *alert.Evaluator { return a.alerts }

// stats is GET /stats: delivery's statistics and the alerts.
type stats struct {
	delivery.Stats
	Alerts *alert.Snapshot `json:"alerts,omitempty"`
}

// ErrShutdownIncomplete marks a stop that passed one of its deadlines:
// requests in flight were cut off at server.shutdown_timeout, or records
// were left in the spool at spool.drain_timeout (delivered after the next
// start). accord serve exits 3 on it.
var ErrShutdownIncomplete = errors.New("shutdown incomplete")

// stopDelivery gives the sinks spool.drain_timeout to deliver what the spool
// holds, then closes them.
func (a *App) stopDelivery(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, a.Config.Spool.DrainTimeout)
	defer cancel()
	err := a.Delivery.Close(ctx)
	var left delivery.UndeliveredError
	if errors.As(err, &left) {
		return fmt.Errorf("%w after spool.drain_timeout (%s): %w", ErrShutdownIncomplete, a.Config.Spool.DrainTimeout, err)
	}
	return err
}

// startServers listens on server.addr, and on admin.addr when the admin
// routes have their own; the component's stop shuts both down.
func (a *App) startServers(ctx context.Context) error {
	cfg := a.Config
	counters := &protocol.Counters{}
	sources := a.metricsSources(counters)
	var alerts func() any
	if a.alerts != nil {
		sources.Alerts = a.alerts.Snapshot
		alerts = func() any { return a.alerts.Snapshot() }
	}
	m := metrics.New(sources)
	// The live inspector sees each request's records once they are stored.
	tap := inspect.New()
	adm := admin.New(cfg.Admin, admin.Deps{
		Logger:       a.Log.With("component", "admin"),
		Registry:     a.Contracts,
		Reloader:     reloadAll{a.watcher, a.Contracts},
		ContractsDir: cfg.Contracts.Dir,
		APIKeys:      cfg.Contracts.APIKeys,
		MaxBodyBytes: cfg.Server.MaxBodyBytes,
		Stats: func() any {
			st := stats{Stats: a.Delivery.Stats()}
			if a.alerts != nil {
				snap := a.alerts.Snapshot()
				st.Alerts = &snap
			}
			return st
		},
		Alerts:        alerts,
		Counters:      counters,
		CollectorAddr: cfg.Server.Addr,
		Timeouts:      admin.Timeouts{ReadHeader: cfg.Server.ReadHeaderTimeout, Read: cfg.Server.ReadTimeout, Write: cfg.Server.WriteTimeout, Idle: cfg.Server.IdleTimeout},
		RouteLatency:  func(pattern string) admin.Observer { return m.RouteLatency(pattern) },
		Inspector:     tap,
		Failed:        failedStore{a},
	})
	adm.Handle("/metrics", m.Handler())
	var catalogSinks []catalog.Sink
	for _, sp := range a.Sinks {
		if cs, ok := catalog.SinkOf(sp.Config.Name, sp.Config.Type, sp.Config.Records, sp.Options); ok {
			catalogSinks = append(catalogSinks, cs)
		}
	}
	pages := ui.New(ui.Deps{
		Contracts: a.Contracts.Contracts,
		Sinks:     catalogSinks,
		Collect:   ui.Collect{SamePort: !adm.OwnAddr(), Addr: cfg.Server.Addr},
	})
	adm.Handle(strings.TrimSuffix(ui.Prefix, "/"), pages)
	adm.Handle(ui.Prefix, pages)
	sopts := []server.Option{
		server.WithCounters(counters), server.WithReady(a.Delivery.Ready),
		server.WithRouteLatency(func(pattern string) server.Observer { return m.RouteLatency(pattern) }),
	}
	if !adm.OwnAddr() {
		sopts = append(sopts, server.WithAdmin(adm))
	}
	var eps []protocol.Endpoint
	deps := protocol.Deps{Logger: a.Log, Contracts: a.Contracts, Local: a.Local, Counters: counters}
	for _, p := range cfg.Protocols.All() {
		eps = append(eps, p.Type.Endpoints(p.Options, deps)...)
	}
	srv := server.New(cfg.Server, a.Pipeline, tap.Deliverer(a.Delivery), eps, a.Log, sopts...)
	// The playground checks an event as the self-describing route takes
	// it, through the same server, storing nothing (and showing nothing
	// in the inspector: nothing was stored).
	for _, ep := range eps {
		if ep.Protocol == selfdesc.Name {
			pages.HandleCheck(ep.Path, srv.Check(ep))
			break
		}
	}

	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (server.addr): %w", cfg.Server.Addr, err)
	}
	if adm.OwnAddr() {
		aln, err := net.Listen("tcp", cfg.Admin.Addr)
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("listen on %s (admin.addr): %w", cfg.Admin.Addr, err)
		}
		a.servers++
		go func() { a.served <- adm.Serve(aln) }()
	}
	a.servers++
	go func() { a.served <- srv.Serve(ln) }()
	a.srv, a.adm, a.tap = srv, adm, tap
	return nil
}

// metricsSources is what /metrics reports, for accord serve and accord load.
func (a *App) metricsSources(counters *protocol.Counters) metrics.Sources {
	sources := metrics.Sources{
		Delivery:  a.Delivery,
		Contracts: func() int { return len(a.Contracts.Contracts()) },
		Reloads:   a.watcher.Reloads,
		Cache:     a.Contracts.Stats,
		Protocols: counters,
	}
	if a.enrich != nil {
		sources.EnrichInvalid = a.enrich.Invalid
	}
	return sources
}

// startLoadServer serves accord load's HTTP routes on admin.addr, or on
// server.addr when that is empty: /healthz and /readyz open, as the
// collector serves them (/readyz answers 503 while the shared log's
// brokers are unreachable), and the admin routes /stats and /metrics
// behind admin.auth. It takes no events: a server with no protocol
// endpoints.
func (a *App) startLoadServer(context.Context) error {
	cfg := a.Config
	counters := &protocol.Counters{}
	m := metrics.New(a.metricsSources(counters))
	adm := admin.New(cfg.Admin, admin.Deps{
		Logger:        a.Log.With("component", "admin"),
		Stats:         func() any { return stats{Stats: a.Delivery.Stats()} },
		Counters:      counters,
		CollectorAddr: cfg.Server.Addr,
		Timeouts:      admin.Timeouts{ReadHeader: cfg.Server.ReadHeaderTimeout, Read: cfg.Server.ReadTimeout, Write: cfg.Server.WriteTimeout, Idle: cfg.Server.IdleTimeout},
		RouteLatency:  func(pattern string) admin.Observer { return m.RouteLatency(pattern) },
	})
	adm.Handle("/metrics", m.Handler())
	scfg := cfg.Server
	scfg.Addr = adm.Addr()
	srv := server.New(scfg, a.Pipeline, a.Delivery, nil, a.Log, server.WithCounters(counters), server.WithReady(a.Delivery.Ready),
		server.WithRouteLatency(func(pattern string) server.Observer { return m.RouteLatency(pattern) }), server.WithAdmin(adm))
	key := "server.addr"
	if adm.OwnAddr() {
		key = "admin.addr"
	}
	ln, err := net.Listen("tcp", scfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (%s): %w", scfg.Addr, key, err)
	}
	a.servers++
	go func() { a.served <- srv.Serve(ln) }()
	a.srv, a.adm = srv, adm
	return nil
}

// stopServers first serves on for server.lame_duck with /readyz answering
// 503, so that a load balancer stops routing here while nothing is refused;
// then it stops taking requests and lets those in flight finish, within
// server.shutdown_timeout; their records reach the spool before delivery,
// stopped next, drains it.
func (a *App) stopServers(context.Context) error {
	if d := a.lameDuck; d > 0 {
		a.srv.BeginShutdown()
		a.Log.Info("lame duck: /readyz answers 503 while the collector serves on", "lame_duck", d.String())
		time.Sleep(d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.Config.Server.ShutdownTimeout)
	defer cancel()
	// Inspector streams never end by themselves: end them, or shutdown
	// would wait for them until its timeout.
	if a.tap != nil {
		a.tap.Close()
	}
	err := errors.Join(a.srv.Shutdown(ctx), a.adm.Shutdown(ctx))
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("%w after server.shutdown_timeout (%s): %w", ErrShutdownIncomplete, a.Config.Server.ShutdownTimeout, err)
	}
	for ; a.servers > 0; a.servers-- {
		if serr := <-a.served; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
	}
	return err
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
// Snowplow event types and standard contexts, and those of the contexts the
// enrichments attach. They are in every registry, under the user's.
func builtinContracts() []*contract.Contract {
	var all []*contract.Contract
	for _, shipped := range []struct {
		files  fs.FS
		source string
	}{{snowplow.Contracts, "snowplow"}, {enrich.Contracts, "enrich"}} {
		sub, err := fs.Sub(shipped.files, "contracts")
		if err == nil {
			var cs []*contract.Contract
			if cs, err = contract.LoadFS(sub, shipped.source); err == nil {
				all = append(all, cs...)
				continue
			}
		}
		// The embedded files are tested; this is a broken build.
		panic(fmt.Sprintf("built-in contracts (%s): %v", shipped.source, err))
	}
	return all
}

// NewLogger builds the process logger from the configuration.
func NewLogger(cfg config.Log) (*slog.Logger, error) {
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

// perRecordAllowance is what annotation may add to one event's record
// beyond the bytes the event came in: ids, times, the collector stamp, and
// the source fields (each capped at server.max_source_field_bytes).
const perRecordAllowance = 2048

// MaxRequestBytes is the most one request's records may take encoded: four
// times its largest body (a record keeps its data, and a failed one its raw
// input too, escaped) plus, for each event it may carry, the annotation and
// the four source fields. Delivery checks it while encoding, so a request
// that would pass it is refused (413) after encoding no more than this.
func MaxRequestBytes(o server.Options) int64 {
	return 4*o.MaxBodyBytes + int64(o.MaxEventsPerRequest)*(perRecordAllowance+4*int64(o.MaxSourceFieldBytes))
}
