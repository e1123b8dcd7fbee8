package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/accord-events/accord/internal/admin"
	"github.com/accord-events/accord/internal/config"
	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/pipeline"
	"github.com/accord-events/accord/internal/protocol"
	"github.com/accord-events/accord/internal/server"
	"github.com/google/uuid"
	"github.com/spf13/cobra"
)

func newServeCmd() *cobra.Command {
	var configPath, addr string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the collector",
		Long: `Run the collector.

With no configuration file it runs on the embedded default: port 8080,
contracts from ./contracts, good and failed events in SQLite at
./accord-data/accord.db. With accord.yml in the working directory, or a file
named by --config or $ACCORD_CONFIG, it runs on that. See docs/configuration.md.

A request is answered once its records are durably in the spool; each sink
then reads them at its own pace (docs/reliability.md). On SIGTERM or SIGINT
it stops taking requests, lets those in flight finish within
server.shutdown_timeout, gives the sinks spool.drain_timeout to deliver what
the spool holds, and closes them; what is left is delivered after the next
start.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(configPath)
			if err != nil {
				return err
			}
			if addr != "" {
				cfg.Server.Addr = addr
			}
			return serve(cmd.Context(), cfg)
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "configuration file (default: $ACCORD_CONFIG, else ./accord.yml if it exists)")
	cmd.Flags().StringVar(&addr, "addr", "", "listen address host:port, overriding server.addr")
	return cmd
}

func loadConfig(path string) (config.Config, error) {
	if path == "" {
		path = os.Getenv(config.EnvConfigFile)
	}
	cfg, err := config.Load(path, os.Environ(), protocolTypes())
	if err != nil {
		return config.Config{}, fmt.Errorf("configuration: %w", err)
	}
	return cfg, nil
}

func serve(ctx context.Context, cfg config.Config) error {
	log, err := newLogger(cfg.Log)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// Event ids are generated per event: draw their randomness in bulk
	// rather than with a system call each.
	uuid.EnableRandPool()

	plans, err := planSinks(cfg.Sinks, sinkTypes())
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	local := contract.NewRegistryWithBase(builtinContracts(), nil)
	watcher := contract.NewWatcher(ctx, cfg.Contracts.Dir, local, cfg.Contracts.ReloadInterval, log)
	defer watcher.Close()
	contracts, closeBackends, err := openContractBackends(ctx, cfg.Contracts, local)
	if err != nil {
		return err
	}
	defer closeBackends()
	sinks, err := newSinks(plans, contracts, log)
	if err != nil {
		return err
	}
	deliverer, stopDelivery, err := startDelivery(cfg.Spool, sinks, log)
	if err != nil {
		return err
	}
	drain := func() error {
		drainCtx, cancel := context.WithTimeout(context.Background(), cfg.Spool.DrainTimeout)
		defer cancel()
		return stopDelivery(drainCtx)
	}
	host, _ := os.Hostname()
	p := pipeline.New(contracts, event.Collector{Name: cfg.Collector.Name, Version: buildVersion(), Env: cfg.Collector.Env, Host: host}, cfg.Collector.Namespace)
	counters := &protocol.Counters{}
	adm := admin.New(cfg.Admin, admin.Deps{
		Logger:        log.With("component", "admin"),
		Registry:      contracts,
		Reloader:      reloadAll{watcher, contracts},
		ContractsDir:  cfg.Contracts.Dir,
		APIKeys:       cfg.Contracts.APIKeys,
		MaxBodyBytes:  cfg.Server.MaxBodyBytes,
		Stats:         func() any { return deliverer.Stats() },
		Counters:      counters,
		CollectorAddr: cfg.Server.Addr,
		Timeouts:      admin.Timeouts{ReadHeader: cfg.Server.ReadHeaderTimeout, Read: cfg.Server.ReadTimeout, Write: cfg.Server.WriteTimeout, Idle: cfg.Server.IdleTimeout},
	})
	opts := []server.Option{server.WithCounters(counters), server.WithReady(deliverer.Ready)}
	if !adm.OwnAddr() {
		opts = append(opts, server.WithAdmin(adm))
	}
	eps := endpoints(cfg.Protocols, protocol.Deps{Logger: log, Contracts: contracts, Local: local, Counters: counters})
	srv := server.New(cfg.Server, p, deliverer, eps, log, opts...)

	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		_ = drain()
		return fmt.Errorf("listen on %s (server.addr): %w", cfg.Server.Addr, err)
	}
	// served gets one result per server: the collector's, and the admin's
	// when it has its own address.
	served := make(chan error, 2)
	running := 1
	if adm.OwnAddr() {
		aln, err := net.Listen("tcp", cfg.Admin.Addr)
		if err != nil {
			_ = ln.Close()
			_ = drain()
			return fmt.Errorf("listen on %s (admin.addr): %w", cfg.Admin.Addr, err)
		}
		running++
		go func() { served <- adm.Serve(aln) }()
	}
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		// One server stopped on its own: stop the other, then drain.
		running--
		shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
		defer cancel()
		err = errors.Join(err, srv.Shutdown(shutdownCtx), adm.Shutdown(shutdownCtx))
		for ; running > 0; running-- {
			err = errors.Join(err, <-served)
		}
		return errors.Join(err, drain())
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.Server.ShutdownTimeout.String(), "drain_timeout", cfg.Spool.DrainTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
	defer cancel()
	// First finish the requests in flight (their records reach the
	// spool), then give the sinks what the spool holds.
	shutdownErr := errors.Join(srv.Shutdown(shutdownCtx), adm.Shutdown(shutdownCtx))
	for ; running > 0; running-- {
		if err := <-served; err != nil && shutdownErr == nil {
			shutdownErr = err
		}
	}
	if err := drain(); err != nil {
		shutdownErr = errors.Join(shutdownErr, err)
	}
	if shutdownErr != nil {
		return shutdownErr
	}
	log.Info("stopped")
	return nil
}
