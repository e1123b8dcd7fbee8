// Package server is Accord's HTTP front door: it reads requests (size limits,
// gzip, content types, methods), hands bodies to the protocol that owns the
// route, runs the events through the pipeline, delivers the records, and
// answers with what happened to each event. It knows protocols and the
// pipeline, never a sink.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/pipeline"
	"github.com/accord-events/accord/internal/protocol"
	"github.com/accord-events/accord/internal/web"
)

// Deliverer takes records once they are processed. Deliver returns only
// when the records are stored (or an error says they are not): the request
// is acknowledged after it. The records' payloads are the request body's
// bytes, which the server reuses once Deliver has returned; a Deliverer
// that says it keeps nothing of the records (KeepsNoRecords) has their
// own memory reused too.
type Deliverer interface {
	Deliver(ctx context.Context, records []*event.Envelope) error
}

// KeepsNoRecords is implemented by a Deliverer that may say it keeps
// nothing of a request's records once Deliver has returned (a spool keeps
// their encoding): the server then makes the next requests' records in the
// same memory (pipeline.ProcessInto) instead of allocating them anew.
type KeepsNoRecords interface {
	KeepsNoRecords() bool
}

// ReleasesRecords is implemented by a Deliverer that is done reading a
// request's records before it has stored them: a spool encodes them, then
// waits for its group commit, which at full batched load is most of a
// request's time. DeliverReleasing is Deliver that calls release as soon
// as it no longer reads the records (their payloads, the body's bytes,
// included), and the server gives their memory and the body's to the next
// requests while this one waits. It calls release exactly once before it
// returns, except when it refuses the records as too large (an error with
// a TooLarge method): then never, since the server answers that refusal
// with the body's first bytes. Only a Deliverer that keeps no records
// (KeepsNoRecords) is asked.
type ReleasesRecords interface {
	DeliverReleasing(ctx context.Context, records []*event.Envelope, release func()) error
}

// keepsNoRecords reports whether d keeps nothing of the records it is
// handed once Deliver has returned.
func keepsNoRecords(d Deliverer) bool {
	k, ok := d.(KeepsNoRecords)
	return ok && k.KeepsNoRecords()
}

// Option configures a Server beyond what New requires.
type Option func(*Server)

// Admin is the admin surface (package admin) when it shares the
// collector's port: requests that no collection route takes and that it
// Serves go to it, outside CORS.
type Admin interface {
	http.Handler
	Serves(r *http.Request) bool
}

// WithAdmin mounts the admin surface on the collector's port.
func WithAdmin(a Admin) Option {
	return func(s *Server) { s.admin = a }
}

// WithReady makes /readyz answer 503 while ready returns an error (a full
// spool, say).
func WithReady(ready func() error) Option {
	return func(s *Server) { s.ready = ready }
}

// WithCounters makes the server count into c, which decoders may share.
func WithCounters(c *protocol.Counters) Option {
	return func(s *Server) { s.counters = c }
}

// Observer takes one request's duration in seconds; a Prometheus
// histogram is one.
type Observer interface {
	Observe(seconds float64)
}

// WithRouteLatency times every request to a route: routeObserver is asked
// once per route pattern, when the server is built, for the Observer that
// takes that route's durations, so that timing a request looks nothing up.
// Requests no route takes go to the pattern "/"; the admin routes sharing
// the port are the admin surface's to time.
func WithRouteLatency(routeObserver func(pattern string) Observer) Option {
	return func(s *Server) { s.routeObserver = routeObserver }
}

// Server is the collector's HTTP server.
type Server struct {
	cfg       Options
	pipeline  *pipeline.Pipeline
	deliverer Deliverer
	log       *slog.Logger
	http      *http.Server
	handler   http.Handler
	draining  atomic.Bool
	// admin, when set, takes the requests for its routes (the admin
	// surface sharing the collector's port).
	admin Admin
	// ready says whether records can be taken.
	ready func() error
	// counters count what protocols refused or dropped, for /stats.
	counters *protocol.Counters
	// routeObserver, when set, times the requests of each route.
	routeObserver func(pattern string) Observer
	// fullLoggedAt throttles the warning logged when the spool is full to
	// one every fullLogEvery (unix nanoseconds).
	fullLoggedAt atomic.Int64
	// inFlight counts the requests being handled, for the log of a
	// shutdown that cut them off.
	inFlight atomic.Int64
	// bodies bounds the bytes of request bodies handled at once
	// (server.max_bytes_in_flight), requests the requests with a body
	// (server.max_requests_in_flight).
	bodies   *bodyRoom
	requests *requestSlots
	// busyLoggedAt throttles the warning logged when a request finds no
	// room among the bodies in flight, the same way.
	busyLoggedAt atomic.Int64
	// ackLoggedAt throttles the warning logged when spool.ack_timeout
	// passes, the same way.
	ackLoggedAt atomic.Int64
	// corsLoggedAt throttles the warning logged when a request's origin is
	// refused, the same way.
	corsLoggedAt atomic.Int64
}

// New returns a server for the given endpoints.
func New(cfg Options, p *pipeline.Pipeline, d Deliverer, endpoints []protocol.Endpoint, log *slog.Logger, opts ...Option) *Server {
	s := &Server{cfg: cfg, pipeline: p, deliverer: d, log: log, counters: &protocol.Counters{},
		bodies: newBodyRoom(cfg.MaxBytesInFlight, cfg.MaxBodyBytes), requests: newRequestSlots(cfg.MaxRequestsInFlight)}
	for _, o := range opts {
		o(s)
	}
	mux := http.NewServeMux()
	for _, ep := range endpoints {
		// CORS is for the collection routes only: a page on another
		// origin may send events, never read an admin route.
		mux.Handle(ep.Path, s.timed(ep.Path, s.withCORS(ep.Protocol, s.collect(ep))))
	}
	mux.Handle("/healthz", s.timed("/healthz", http.HandlerFunc(s.healthz)))
	mux.Handle("/readyz", s.timed("/readyz", http.HandlerFunc(s.readyz)))
	var routes []string
	for _, ep := range endpoints {
		routes = append(routes, strings.Join(ep.AllowedMethods(), "|")+" "+ep.Path)
	}
	notFound := s.timed("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, http.StatusNotFound, errorBody{Error: fmt.Sprintf("no route %s; events go to %s", r.URL.Path, strings.Join(routes, ", "))})
	}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if s.admin != nil && s.admin.Serves(r) {
			s.admin.ServeHTTP(w, r)
			return
		}
		notFound.ServeHTTP(w, r)
	})
	wrapped := web.Wrap(log, mux)
	s.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() {
			// In the lame-duck period each answer closes its connection,
			// so that a client's next request dials again (and a load
			// balancer picks another collector) instead of reusing a
			// connection that Shutdown will close under it.
			w.Header().Set("Connection", "close")
		}
		s.inFlight.Add(1)
		defer s.inFlight.Add(-1)
		wrapped.ServeHTTP(w, r)
	})
	s.http = &http.Server{
		Addr:              cfg.Addr,
		Handler:           s.handler,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return s
}

// timed wraps h to time its requests when WithRouteLatency asks.
func (s *Server) timed(pattern string, h http.Handler) http.Handler {
	if s.routeObserver == nil {
		return h
	}
	obs := s.routeObserver(pattern)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h.ServeHTTP(w, r)
		obs.Observe(time.Since(start).Seconds())
	})
}

// Handler returns the server's HTTP handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve accepts connections on ln until Shutdown. It returns nil after a
// graceful shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.log.Info("collector listening", "addr", ln.Addr().String())
	if err := s.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve http: %w", err)
	}
	return nil
}

// BeginShutdown starts the lame-duck period: /readyz answers 503 so that a
// load balancer stops sending events here, while every route, collection
// included, keeps serving; each answer closes its connection. Shutdown ends
// the period.
func (s *Server) BeginShutdown() { s.draining.Store(true) }

// Shutdown stops accepting connections and waits for in-flight requests to
// finish (and so for their records to be delivered) until ctx ends. When
// ctx ends first, the connections still open are closed, so that no request
// runs on after the server is gone, and the error matches
// context.DeadlineExceeded.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	if err := s.http.Shutdown(ctx); err != nil {
		n := s.inFlight.Load()
		_ = s.http.Close()
		return fmt.Errorf("shut down http server: %d requests in flight were cut off unanswered: %w", n, err)
	}
	return nil
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, r, "GET, HEAD")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 while the server takes events. The server is built
// only after contracts are loaded and delivery started, so it is ready from
// its first request until shutdown begins (the lame-duck period), except while the ready check
// (delivery's: a full spool, or without a spool a sink not connected) fails.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, r, "GET, HEAD")
		return
	}
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "shutting down"})
		return
	}
	if s.ready != nil {
		if err := s.ready(); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// now is the collection time; a method so the handler reads one clock.
func now() time.Time { return time.Now().UTC() }
