package app

import (
	"context"
	"github.com/accord-events/accord/internal/server"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/config"
	"github.com/accord-events/accord/internal/delivery"
)

func testConfig(t *testing.T) config.Config {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default(ProtocolTypes())
	cfg.Contracts.Dir = filepath.Join(dir, "contracts")
	cfg.Spool.Dir = filepath.Join(dir, "spool")
	cfg.Spool.DeadLetterDir = filepath.Join(dir, "dead-letter")
	cfg.Sinks[0].Options = map[string]any{"path": filepath.Join(dir, "accord.db")}
	cfg.Server.Addr = "127.0.0.1:0"
	// The lame-duck period is tested against the binary (e2e); here it
	// would only slow every stop down.
	cfg.Server.LameDuck = 0
	return cfg
}

// Every command's parts, in the order they start (they stop in reverse):
// whatever a command leaves out, the contracts and the backends come
// first, so serve, replay and validate resolve alike.
func TestBuildDeclaresTheOrderOnce(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		edit func(*config.Config)
		want []string
	}{
		{"serve", Options{Watch: true, Deliver: true, Serve: true}, nil, []string{"contracts", "contract backends", "spool", "delivery", "alerts", "servers", "contracts watch"}},
		{"replay", Options{Deliver: true, Direct: true}, nil, []string{"contracts", "contract backends", "delivery"}},
		{"replay --dry-run, validate", Options{}, nil, []string{"contracts", "contract backends"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			if tc.edit != nil {
				tc.edit(&cfg)
			}
			a, err := Build(cfg, slog.New(slog.DiscardHandler), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := a.Components(); !slices.Equal(got, tc.want) {
				t.Errorf("components %v, want %v", got, tc.want)
			}
		})
	}
}

// A sink option error is a configuration error, found by Build before
// anything starts.
func TestBuildRefusesBadSinkOptions(t *testing.T) {
	cfg := testConfig(t)
	cfg.Sinks[0].Options = map[string]any{"path": ""}
	_, err := Build(cfg, slog.New(slog.DiscardHandler), Options{Deliver: true})
	if err == nil || !strings.Contains(err.Error(), "sinks[0] (store).options") {
		t.Fatalf("Build = %v, want an error naming sinks[0] (store).options", err)
	}
}

// A served application whose sqlite sink cannot connect (a file where its
// directory should be) still starts and answers ready; stopping it ends
// every part in reverse order and releases the port.
func TestServeStartsWithASinkDownAndStops(t *testing.T) {
	cfg := testConfig(t)
	blocker := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Sinks[0].Options = map[string]any{"path": filepath.Join(blocker, "accord.db")}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Server.Addr = ln.Addr().String()
	ln.Close()
	a, err := Build(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{Watch: true, Deliver: true, Serve: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- a.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + cfg.Server.Addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("/readyz = %d with a sink connecting and the spool on", resp.StatusCode)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the collector never answered: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := a.Delivery.Stats().Sinks[0]; st.State != delivery.StateConnecting {
		t.Errorf("sink state = %q, want connecting", st.State)
	}
	cancel()
	select {
	case err := <-ran:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if ln, err := net.Listen("tcp", cfg.Server.Addr); err != nil {
		t.Errorf("the port is still held after Run returned: %v", err)
	} else {
		ln.Close()
	}
}

// docs/security.md gives the default bound on one request's encoded records
// as about 7 MiB.
func TestMaxRequestBytesDefault(t *testing.T) {
	got := MaxRequestBytes(server.DefaultOptions())
	if got < 6<<20+900<<10 || got > 7<<20 {
		t.Errorf("MaxRequestBytes(defaults) = %d; docs/security.md says 7 MiB", got)
	}
}
