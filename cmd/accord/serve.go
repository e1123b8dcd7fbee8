package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/accord-events/accord/internal/app"
	"github.com/accord-events/accord/internal/config"
	"github.com/google/uuid"
	"github.com/spf13/cobra"
)

func newServeCmd() *cobra.Command {
	var configPath, addr, cpuProfile string
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
it answers /readyz with 503 while it serves on for server.lame_duck, so a
load balancer stops sending it events; then it stops taking requests, lets
those in flight finish within
server.shutdown_timeout, gives the sinks spool.drain_timeout to deliver what
the spool holds, and closes them; what is left is delivered after the next
start. It then exits 0, or 3 when a deadline passed (requests cut off, or
records left in the spool). A second signal ends it at once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(configPath)
			if err != nil {
				return err
			}
			if addr != "" {
				cfg.Server.Addr = addr
			}
			if cpuProfile != "" {
				stop, err := startCPUProfile(cpuProfile)
				if err != nil {
					return err
				}
				defer stop()
			}
			return serve(cmd.Context(), cfg)
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "configuration file (default: $ACCORD_CONFIG, else ./accord.yml if it exists)")
	cmd.Flags().StringVar(&addr, "addr", "", "listen address host:port, overriding server.addr")
	cmd.Flags().StringVar(&cpuProfile, "cpu-profile", "", "write a CPU profile of the whole run to this file when it stops (docs/operations.md#profiling)")
	return cmd
}

// startCPUProfile profiles the process until the returned function is
// called, writing the profile to path: the input scripts/make-pgo merges
// into the build's profile, and what an operator sends with a report of a
// slow collector. The file is made before the collector starts, so a path
// that cannot be written fails the command at once rather than at the end
// of a long run.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "cpu profile: %v\n", err)
		}
	}, nil
}

// loadConfig reads the configuration, validating only the named sections
// (every one when none is named): what the command uses.
func loadConfig(path string, sections ...string) (config.Config, error) {
	if path == "" {
		path = os.Getenv(config.EnvConfigFile)
	}
	cfg, err := config.Load(path, os.Environ(), app.ProtocolTypes(), sections...)
	if err != nil {
		return config.Config{}, fmt.Errorf("configuration: %w", err)
	}
	return cfg, nil
}

func serve(ctx context.Context, cfg config.Config) error {
	return runApp(ctx, cfg, app.Options{Version: buildVersion(), Watch: true, Deliver: true, Serve: true})
}

// runApp runs the application the options describe until SIGTERM or
// SIGINT, as accord serve and accord load do.
func runApp(ctx context.Context, cfg config.Config, opts app.Options) error {
	log, err := app.NewLogger(cfg.Log)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The first signal starts the shutdown; a second one ends the process
	// at once, by that signal's default action: what was acknowledged is
	// in the spool, and is delivered after the next start. Both signals
	// are taken from one buffered channel, so a second signal that comes
	// while the shutdown is starting is never lost, however late this
	// goroutine runs.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	go func() {
		select {
		case <-sigs:
		case <-ctx.Done():
			return
		}
		cancel()
		s := (<-sigs).(syscall.Signal)
		signal.Reset(syscall.SIGTERM, syscall.SIGINT)
		_ = syscall.Kill(os.Getpid(), s)
	}()
	// Event ids are generated per event: draw their randomness in bulk
	// rather than with a system call each.
	uuid.EnableRandPool()
	a, err := app.Build(cfg, log, opts)
	if err != nil {
		return err
	}
	if limit := app.SetMemoryLimit(cfg.Server.MemoryHeadroom); limit > 0 {
		log.Debug("go memory limit set", "bytes", limit, "headroom", cfg.Server.MemoryHeadroom)
	}
	if err := a.Run(ctx); err != nil {
		if errors.Is(err, app.ErrShutdownIncomplete) {
			// Stopped, but a deadline passed: a documented status of its
			// own, so that a supervisor can tell it from a failure to run.
			return &exitError{code: exitShutdownIncomplete, err: err}
		}
		return err
	}
	return nil
}

// exitShutdownIncomplete is accord serve's exit status when a shutdown
// deadline passed (docs/operations.md#exit-codes).
const exitShutdownIncomplete = 3
