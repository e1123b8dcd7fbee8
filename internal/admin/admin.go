// Package admin is Accord's admin surface, apart from ingestion: the
// registry API (/api/...), the statistics (/stats), and the place where
// /metrics and the web UI are mounted (Handle). It serves on its own
// address (admin.addr) or, by default, on the collector's port, mounted
// there by package server; either way its routes carry no CORS headers
// (browsers on other origins cannot read them) and, once admin.auth is
// set, answer only requests holding its credentials.
package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/inspect"
	"github.com/accord-events/accord/internal/protocol"
	"github.com/accord-events/accord/internal/web"
)

// Registry is what the registry API reads: the contracts served and how a
// key resolves. *contract.Set is one.
type Registry interface {
	Contracts() []*contract.Contract
	Resolve(key string) (*contract.Contract, error)
}

// Reloader reloads the contracts from where they are stored, now, and says
// what it loaded. *contract.Watcher is one.
type Reloader interface {
	Reload() (contract.ReloadReport, error)
}

// Deps is what the admin surface serves and needs.
type Deps struct {
	Logger *slog.Logger
	// Registry, when set, is served by the registry API under /api/ (see
	// docs/api.md). POST /api/cache/purge, and every accepted schema write,
	// calls Reloader, which may be nil to refuse purges.
	Registry Registry
	Reloader Reloader
	// ContractsDir is where accepted schema writes are stored
	// (contracts.dir); APIKeys are the keys that may write
	// (contracts.api_keys). With no keys every write is refused.
	ContractsDir string
	APIKeys      []string
	// MaxBodyBytes bounds registry API request bodies (server.max_body_bytes).
	MaxBodyBytes int64
	// Stats, when set, serves GET /stats with what it returns (a JSON
	// object), to which "protocols" adds Counters: what protocols refused
	// or dropped.
	Stats    func() any
	Counters *protocol.Counters
	// Alerts, when set, serves GET /stats/alerts with what it returns: the
	// state of the alert rules and receivers (see docs/api.md).
	Alerts func() any
	// CollectorAddr is server.addr: where the admin routes are served
	// when admin.addr is empty.
	CollectorAddr string
	// Timeouts are those of the admin's own HTTP server, when it has one.
	Timeouts Timeouts
	// RouteLatency, when set, is asked once per route pattern for what
	// takes the durations of its requests (seconds), as the collector's
	// server.WithRouteLatency.
	RouteLatency func(pattern string) Observer
	// Inspector, when set, is the live inspector's tap, served as
	// server-sent events at GET /inspector/stream; Heartbeat is how often
	// an idle stream sends a comment (DefaultHeartbeat when zero).
	Inspector *inspect.Tap
	Heartbeat time.Duration
	// Failed, when set, serves the failed-events API: GET /failed/records
	// and POST /failed/replay.
	Failed FailedStore
}

// Observer takes one request's duration in seconds; a Prometheus
// histogram is one.
type Observer interface {
	Observe(seconds float64)
}

// Timeouts bound the admin server's connections, as the server.*_timeout
// keys bound the collector's.
type Timeouts struct {
	ReadHeader, Read, Write, Idle time.Duration
}

// Admin is the admin surface: an http.Handler for its routes, and its own
// HTTP server when admin.addr names one.
type Admin struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	mux  *http.ServeMux
	// routes lists the patterns served, for the 404 answer.
	routes []string
	creds  credentials
	// writeMu serialises schema writes, so that each one is judged
	// against the versions the one before it left.
	writeMu sync.Mutex
	http    *http.Server
}

// New returns the admin surface configured by cfg, serving deps. It logs a
// warning when its routes are reachable beyond this machine without
// authentication.
func New(cfg Config, deps Deps) *Admin {
	if deps.Counters == nil {
		deps.Counters = &protocol.Counters{}
	}
	a := &Admin{cfg: cfg, deps: deps, log: deps.Logger, mux: http.NewServeMux(), creds: newCredentials(cfg.Auth, deps.APIKeys)}
	if deps.Registry != nil {
		a.routeRegistry()
	}
	if deps.Stats != nil {
		a.Handle("/stats", http.HandlerFunc(a.serveStats))
	}
	if deps.Inspector != nil {
		a.Handle("/inspector/stream", http.HandlerFunc(a.serveInspector))
	}
	if deps.Failed != nil {
		a.Handle("/failed/records", http.HandlerFunc(a.serveFailedRecords))
		a.Handle("/failed/replay", http.HandlerFunc(a.serveReplay))
	}
	if deps.Alerts != nil {
		a.Handle("/stats/alerts", http.HandlerFunc(a.serveAlerts))
	}
	addr := a.Addr()
	if !a.creds.adminAuth() && !Loopback(addr) {
		a.log.Warn("admin routes are open to anyone who can reach this address: the registry API, /stats and purges answer without credentials; set admin.auth (a token or a username and password), or serve them on a loopback address with admin.addr, such as 127.0.0.1:9090",
			"addr", addr, "key", a.addrKey())
	}
	if cfg.Addr != "" {
		a.http = &http.Server{
			Addr:              cfg.Addr,
			Handler:           web.Wrap(a.log, a),
			ReadHeaderTimeout: deps.Timeouts.ReadHeader,
			ReadTimeout:       deps.Timeouts.Read,
			WriteTimeout:      deps.Timeouts.Write,
			IdleTimeout:       deps.Timeouts.Idle,
			ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		}
	}
	return a
}

// Handle serves h at pattern (an http.ServeMux pattern) among the admin
// routes, behind admin.auth and without CORS: where /metrics and the web
// UI are mounted. Call it before the admin surface is served.
func (a *Admin) Handle(pattern string, h http.Handler) {
	a.route(pattern, h)
	a.routes = append(a.routes, pattern)
}

// route serves h at pattern, timed when Deps.RouteLatency asks.
func (a *Admin) route(pattern string, h http.Handler) {
	if a.deps.RouteLatency != nil {
		obs, inner := a.deps.RouteLatency(pattern), h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			inner.ServeHTTP(w, r)
			obs.Observe(time.Since(start).Seconds())
		})
	}
	a.mux.Handle(pattern, h)
}

// Addr is where the admin routes are served: admin.addr, or server.addr
// when that is empty.
func (a *Admin) Addr() string {
	if a.cfg.Addr != "" {
		return a.cfg.Addr
	}
	return a.deps.CollectorAddr
}

// OwnAddr reports whether the admin routes have an address of their own
// (admin.addr); otherwise the collector serves them on its port.
func (a *Admin) OwnAddr() bool { return a.cfg.Addr != "" }

func (a *Admin) addrKey() string {
	if a.cfg.Addr != "" {
		return "admin.addr"
	}
	return "server.addr"
}

// Serves reports whether r names an admin route, so that the collector,
// sharing its port, hands it the request.
func (a *Admin) Serves(r *http.Request) bool {
	_, pattern := a.mux.Handler(r)
	return pattern != ""
}

// ServeHTTP answers an admin request: 401 without the credentials
// admin.auth asks for, else the route's answer (or 404).
func (a *Admin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !a.authorize(w, r) {
		return
	}
	if !a.Serves(r) {
		routes := slices.Clone(a.routes)
		slices.Sort(routes)
		web.WriteError(w, r, http.StatusNotFound, web.ErrorBody{Error: fmt.Sprintf("no admin route %s; the admin routes are %s", r.URL.Path, strings.Join(routes, ", "))})
		return
	}
	a.mux.ServeHTTP(w, r)
}

// Serve accepts connections on ln (admin.addr) until Shutdown, and returns
// nil after a graceful shutdown. Only for an admin with its own address.
func (a *Admin) Serve(ln net.Listener) error {
	if a.http == nil {
		return errors.New("the admin routes have no address of their own (admin.addr is empty): the collector serves them")
	}
	a.log.Info("admin listening", "addr", ln.Addr().String())
	if err := a.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve admin http: %w", err)
	}
	return nil
}

// Shutdown stops the admin's own server, waiting for requests in flight
// until ctx ends. Without an own address it does nothing.
func (a *Admin) Shutdown(ctx context.Context) error {
	if a.http == nil {
		return nil
	}
	if err := a.http.Shutdown(ctx); err != nil {
		return fmt.Errorf("shut down admin http server: %w", err)
	}
	return nil
}

// Loopback reports whether addr (host:port) listens only on this machine:
// a loopback IP or localhost. An empty host, 0.0.0.0 or :: listen on every
// interface, and a host name other than localhost may resolve anywhere.
func Loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
