package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/accord-events/accord/internal/admin"
	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/event/eventtest"
	"github.com/accord-events/accord/internal/pipeline"
	"github.com/accord-events/accord/internal/protocol"
	"github.com/accord-events/accord/internal/protocol/selfdesc"
	"github.com/accord-events/accord/internal/server"
	"github.com/accord-events/accord/internal/spool"
)

// recorder keeps what the server delivered, or fails when told to, standing
// in for the sinks so these tests see exactly what the HTTP layer hands on.
type recorder struct {
	mu      sync.Mutex
	records []*event.Envelope
	err     error
}

func (r *recorder) Deliver(_ context.Context, records []*event.Envelope) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.records = append(r.records, records...)
	return nil
}

const pageView = `{"schema":"iglu:com.example/page_view/jsonschema/1-0-0","data":{"url":"https://a.example/"}}`

func newServer(t *testing.T, mutate func(*server.Options), endpoints ...protocol.Endpoint) (*server.Server, *recorder) {
	t.Helper()
	cfg := server.DefaultOptions()
	if mutate != nil {
		mutate(&cfg)
	}
	rec := &recorder{}
	return serverOver(t, cfg, rec, endpoints...), rec
}

// serverOver is a server of cfg delivering to d, with the template's
// contracts, serving POST /events (self-describing) and the endpoints
// given.
func serverOver(t *testing.T, cfg server.Options, d server.Deliverer, endpoints ...protocol.Endpoint) *server.Server {
	t.Helper()
	contracts, problems, err := contract.LoadDir("../scaffold/template/contracts")
	if err != nil || len(problems) > 0 {
		t.Fatal(err, problems)
	}
	p := pipeline.New(contract.NewSet(contracts), event.Collector{Name: "accord", Version: "test", Env: "test", Host: "h"}, "default")
	eps := append([]protocol.Endpoint{{Path: "/events", Protocol: selfdesc.Name, Decode: protocol.Plain(selfdesc.Decode)}}, endpoints...)
	return server.New(cfg, p, d, eps, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func do(h http.Handler, method, path string, body []byte, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.RemoteAddr = "192.0.2.7:5555"
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func jsonBody(t *testing.T, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	var v map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, w.Body)
	}
	return v
}

func TestRequestIDs(t *testing.T) {
	srv, rec := newServer(t, nil)
	h := srv.Handler()
	w := do(h, http.MethodPost, "/events", []byte(pageView), "Content-Type", "application/json", "X-Request-Id", "client-id-1")
	if w.Code != 200 || w.Header().Get("X-Request-Id") != "client-id-1" || rec.records[0].RequestID != "client-id-1" {
		t.Fatalf("client id not kept: %d %q %q", w.Code, w.Header().Get("X-Request-Id"), rec.records[0].RequestID)
	}
	for _, bad := range []string{"", "has space", strings.Repeat("x", 129)} {
		w := do(h, http.MethodPost, "/events", []byte(pageView), "Content-Type", "application/json", "X-Request-Id", bad)
		got := w.Header().Get("X-Request-Id")
		if got == "" || got == bad || rec.records[len(rec.records)-1].RequestID != got {
			t.Errorf("X-Request-Id %q: answered %q, stamped %q", bad, got, rec.records[len(rec.records)-1].RequestID)
		}
	}
}

func TestSourceIP(t *testing.T) {
	for _, trust := range []bool{false, true} {
		srv, rec := newServer(t, func(c *server.Options) { c.TrustForwarded = trust })
		do(srv.Handler(), http.MethodPost, "/events", []byte(pageView), "Content-Type", "application/json", "X-Forwarded-For", "203.0.113.9, 10.0.0.1")
		want := "192.0.2.7"
		if trust {
			want = "203.0.113.9"
		}
		if got := rec.records[0].Source.IP; got != want {
			t.Errorf("trust_forwarded %v: ip %q, want %q", trust, got, want)
		}
	}
}

func TestBodyLimits(t *testing.T) {
	srv, rec := newServer(t, func(c *server.Options) { c.MaxBodyBytes = 2048 })
	h := srv.Handler()

	// Over the limit by Content-Length: refused, first KiB kept.
	big := append([]byte(`{"schema":`), bytes.Repeat([]byte("a"), 5000)...)
	w := do(h, http.MethodPost, "/events", big, "Content-Type", "application/json")
	if w.Code != http.StatusRequestEntityTooLarge || jsonBody(t, w)["failure"].(map[string]any)["type"] != "size_violation" {
		t.Fatalf("oversized: %d %s", w.Code, w.Body)
	}
	last := rec.records[len(rec.records)-1]
	if last.Raw != string(big[:1024]) || last.Failure.Type != event.SizeViolation {
		t.Errorf("size violation keeps %d bytes, want the first 1024", len(last.Raw))
	}
	eventtest.Check(t, last)

	// A gzip bomb: small on the wire, over the limit once decompressed.
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	_, _ = zw.Write(bytes.Repeat([]byte(" "), 1<<20))
	_ = zw.Close()
	w = do(h, http.MethodPost, "/events", zb.Bytes(), "Content-Type", "application/json", "Content-Encoding", "gzip")
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("gzip bomb: %d %s", w.Code, w.Body)
	}

	// Exactly at the limit is fine.
	exact := []byte(pageView + strings.Repeat(" ", 2048-len(pageView)))
	if w := do(h, http.MethodPost, "/events", exact, "Content-Type", "application/json"); w.Code != 200 {
		t.Errorf("body of exactly max_body_bytes: %d %s", w.Code, w.Body)
	}

	// An unknown Content-Encoding is refused and stored.
	w = do(h, http.MethodPost, "/events", []byte(pageView), "Content-Type", "application/json", "Content-Encoding", "br")
	if w.Code != http.StatusUnsupportedMediaType || !strings.Contains(w.Body.String(), `Content-Encoding \"br\" is not supported`) {
		t.Errorf("brotli: %d %s", w.Code, w.Body)
	}
}

func TestDeliveryFailureIsNotAcknowledged(t *testing.T) {
	srv, rec := newServer(t, nil)
	rec.err = errors.New("disk on fire")
	w := do(srv.Handler(), http.MethodPost, "/events", []byte(pageView), "Content-Type", "application/json")
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("%d %v", w.Code, w.Header())
	}
	if msg := jsonBody(t, w)["error"].(string); !strings.Contains(msg, "send them again") || strings.Contains(msg, "disk on fire") {
		t.Errorf("error %q should tell the client to retry and not leak internals", msg)
	}
}

// The spool's full error reaches the server wrapped by delivery; the server
// tells it from a fault by asking the error, without importing the spool.
func TestFullSpoolIsBackpressure(t *testing.T) {
	srv, rec := newServer(t, nil)
	rec.err = fmt.Errorf("append to spool: %w", spool.ErrFull)
	w := do(srv.Handler(), http.MethodPost, "/events", []byte(pageView), "Content-Type", "application/json")
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("%d %v", w.Code, w.Header())
	}
	if msg := jsonBody(t, w)["error"].(string); !strings.Contains(msg, "spool is full") {
		t.Errorf("error %q should say the spool is full", msg)
	}
}

func TestRoutesAndMethods(t *testing.T) {
	srv, _ := newServer(t, nil)
	h := srv.Handler()
	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{http.MethodGet, "/events", 405, "POST"},
		{http.MethodPut, "/events", 405, "POST"},
		{http.MethodPost, "/healthz", 405, "GET, HEAD"},
		{http.MethodGet, "/nope", 404, ""},
		{http.MethodGet, "/healthz", 200, ""},
		{http.MethodGet, "/readyz", 200, ""},
	}
	for _, tc := range tests {
		w := do(h, tc.method, tc.path, nil)
		body := jsonBody(t, w)
		if w.Code != tc.status || w.Header().Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d allow %q: %v", tc.method, tc.path, w.Code, w.Header().Get("Allow"), body)
		}
		if tc.status >= 400 && (body["error"] == "" || body["request_id"] == "") {
			t.Errorf("%s %s: error body %v", tc.method, tc.path, body)
		}
	}
}

func TestNotReadyOnceShutdownBegins(t *testing.T) {
	srv, _ := newServer(t, nil)
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w := do(srv.Handler(), http.MethodGet, "/readyz", nil); w.Code != http.StatusServiceUnavailable {
		t.Errorf("readyz during shutdown: %d", w.Code)
	}
}

func TestPanicBecomesJSON500(t *testing.T) {
	boom := protocol.Endpoint{Path: "/boom", Protocol: "boom", Decode: protocol.Plain(func(*protocol.Request) ([]event.Input, error) { panic("decoder bug") })}
	srv, _ := newServer(t, nil, boom)
	w := do(srv.Handler(), http.MethodPost, "/boom", []byte("{}"))
	if w.Code != http.StatusInternalServerError || jsonBody(t, w)["error"] == "" {
		t.Errorf("%d %s", w.Code, w.Body)
	}
}

func TestAccessLogAtDebug(t *testing.T) {
	var logs bytes.Buffer
	contracts, _, _ := contract.LoadDir("../scaffold/template/contracts")
	p := pipeline.New(contract.NewSet(contracts), event.Collector{Name: "accord"}, "default")
	srv := server.New(server.DefaultOptions(), p, &recorder{}, []protocol.Endpoint{{Path: "/events", Protocol: selfdesc.Name, Decode: protocol.Plain(selfdesc.Decode)}},
		slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	do(srv.Handler(), http.MethodGet, "/events", nil, "X-Request-Id", "r-42")
	if line := logs.String(); !strings.Contains(line, "msg=request request_id=r-42 method=GET path=/events status=405") {
		t.Errorf("access log: %s", line)
	}
}

func TestCORS(t *testing.T) {
	preflight := func(origin string) []string {
		return []string{"Origin", origin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type"}
	}
	post := func(origin string) []string { return []string{"Origin", origin, "Content-Type", "application/json"} }
	tests := []struct {
		name        string
		origins     []string
		method      string
		headers     []string
		wantStatus  int
		wantAllowed string
		wantCreds   bool
	}{
		{"preflight, any origin: * without credentials", []string{"*"}, http.MethodOptions, preflight("https://shop.example"), 204, "*", false},
		{"preflight, null origin under *", []string{"*"}, http.MethodOptions, preflight("null"), 204, "*", false},
		{"post, any origin: * without credentials", []string{"*"}, http.MethodPost, post("https://evil.example"), 200, "*", false},
		{"post, null origin under *", []string{"*"}, http.MethodPost, post("null"), 200, "*", false},
		{"preflight, listed origin: echoed with credentials", []string{"https://shop.example"}, http.MethodOptions, preflight("https://shop.example"), 204, "https://shop.example", true},
		{"listed origin beside *: echoed with credentials", []string{"https://shop.example", "*"}, http.MethodPost, post("https://shop.example"), 200, "https://shop.example", true},
		{"other origin beside a listed one and *", []string{"https://shop.example", "*"}, http.MethodPost, post("https://evil.example"), 200, "*", false},
		{"preflight, unlisted origin", []string{"https://shop.example"}, http.MethodOptions, preflight("https://evil.example"), 403, "", false},
		{"preflight, null origin, not listed", []string{"https://shop.example"}, http.MethodOptions, preflight("null"), 403, "", false},
		{"post from a listed origin", []string{"https://shop.example"}, http.MethodPost, post("https://shop.example"), 200, "https://shop.example", true},
		{"post from an unlisted origin is refused", []string{"https://shop.example"}, http.MethodPost, post("https://evil.example"), 403, "", false},
		{"simple text/plain post from an unlisted origin is refused", []string{"https://shop.example"}, http.MethodPost, []string{"Origin", "https://evil.example", "Content-Type", "text/plain"}, 403, "", false},
		{"post from a null origin, not listed, is refused", []string{"https://shop.example"}, http.MethodPost, post("null"), 403, "", false},
		{"post without an origin passes the list", []string{"https://shop.example"}, http.MethodPost, []string{"Content-Type", "application/json"}, 200, "", false},
		{"CORS off", nil, http.MethodOptions, preflight("https://shop.example"), 405, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, rec := newServer(t, func(c *server.Options) { c.CORSOrigins = tc.origins })
			w := do(srv.Handler(), tc.method, "/events", []byte(pageView), tc.headers...)
			if stored := len(rec.records); (tc.wantStatus == 200) != (stored > 0) {
				t.Errorf("answered %d and stored %d records", w.Code, stored)
			}
			if w.Code != tc.wantStatus || w.Header().Get("Access-Control-Allow-Origin") != tc.wantAllowed {
				t.Fatalf("%d allow-origin %q, want %d %q: %s", w.Code, w.Header().Get("Access-Control-Allow-Origin"), tc.wantStatus, tc.wantAllowed, w.Body)
			}
			if tc.wantStatus == 204 && (w.Header().Get("Access-Control-Allow-Methods") == "" || w.Header().Get("Access-Control-Max-Age") == "") {
				t.Errorf("preflight answer lacks methods or max-age: %v", w.Header())
			}
			if creds := w.Header().Get("Access-Control-Allow-Credentials"); (creds == "true") != tc.wantCreds {
				t.Errorf("Access-Control-Allow-Credentials %q, want credentials %v", creds, tc.wantCreds)
			}
		})
	}
}

// Routes other than the collection routes carry no CORS headers, whatever
// the origin: health checks, unknown paths and the admin surface mounted on
// the collector's port.
func TestCORSOnlyOnCollectionRoutes(t *testing.T) {
	adm := admin.New(admin.Config{}, admin.Deps{
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		Stats:         func() any { return map[string]any{"spool": map[string]any{}} },
		CollectorAddr: "127.0.0.1:8080",
	})
	cfg := server.DefaultOptions()
	cfg.CORSOrigins = []string{"*", "https://shop.example"}
	contracts, _, _ := contract.LoadDir("../scaffold/template/contracts")
	p := pipeline.New(contract.NewSet(contracts), event.Collector{Name: "accord"}, "default")
	srv := server.New(cfg, p, &recorder{}, []protocol.Endpoint{{Path: "/events", Protocol: selfdesc.Name, Decode: protocol.Plain(selfdesc.Decode)}},
		slog.New(slog.NewTextHandler(io.Discard, nil)), server.WithAdmin(adm))
	for _, origin := range []string{"https://evil.example", "null", "https://shop.example"} {
		for _, tc := range []struct{ method, path string }{
			{http.MethodGet, "/stats"},
			{http.MethodOptions, "/stats"},
			{http.MethodGet, "/healthz"},
			{http.MethodGet, "/nope"},
		} {
			w := do(srv.Handler(), tc.method, tc.path, nil, "Origin", origin, "Access-Control-Request-Method", "GET")
			for k := range w.Header() {
				if strings.HasPrefix(k, "Access-Control-") {
					t.Errorf("%s %s from %s: %s: %s", tc.method, tc.path, origin, k, w.Header().Get(k))
				}
			}
		}
	}
	if w := do(srv.Handler(), http.MethodGet, "/stats", nil); w.Code != 200 || jsonBody(t, w)["protocols"] == nil {
		t.Errorf("/stats through the collector's port: %d %s", w.Code, w.Body)
	}
	if w := do(srv.Handler(), http.MethodPost, "/events", []byte(pageView), "Origin", "https://shop.example"); w.Code != 200 || w.Header().Get("Access-Control-Allow-Origin") != "https://shop.example" {
		t.Errorf("/events beside the admin routes: %d %v", w.Code, w.Header())
	}
}
