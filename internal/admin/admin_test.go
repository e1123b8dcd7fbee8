package admin_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/admin"
	"github.com/accord-events/accord/internal/contract"
)

// adminReq sends method path to h with the given headers (name, value, ...).
func adminReq(h http.Handler, method, path string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// reloads counts purges, reloading nothing.
type reloads struct{ n int }

func (r *reloads) Reload() (contract.ReloadReport, error) {
	r.n++
	return contract.ReloadReport{}, nil
}

func newAdmin(t *testing.T, cfg admin.Config, keys ...string) (*admin.Admin, *reloads) {
	t.Helper()
	rl := &reloads{}
	a := admin.New(cfg, admin.Deps{
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		Registry:      contract.NewSet(nil),
		Reloader:      rl,
		ContractsDir:  t.TempDir(),
		APIKeys:       keys,
		MaxBodyBytes:  1 << 20,
		Stats:         func() any { return map[string]any{"sinks": map[string]any{}} },
		Alerts:        func() any { return map[string]any{"rules": []any{}} },
		CollectorAddr: "127.0.0.1:8080",
	})
	a.Handle("/metrics", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "accord_up 1\n") }))
	return a, rl
}

func TestAdminAuth(t *testing.T) {
	token := admin.Config{Auth: admin.Auth{Token: "s3cret-token"}}
	both := admin.Config{Auth: admin.Auth{Token: "s3cret-token", Username: "ops", Password: "pa55word"}}
	basicOnly := admin.Config{Auth: admin.Auth{Username: "ops", Password: "pa55word"}}
	tests := []struct {
		name    string
		cfg     admin.Config
		keys    []string
		method  string
		path    string
		headers []string
		want    int
	}{
		{"no auth: stats open", admin.Config{}, nil, "GET", "/stats", nil, 200},
		{"no auth: registry open", admin.Config{}, nil, "GET", "/api/schemas", nil, 200},
		{"no auth, no keys: purge open", admin.Config{}, nil, "POST", "/api/cache/purge", nil, 200},
		{"no auth, keys: purge needs one", admin.Config{}, []string{"k1"}, "POST", "/api/cache/purge", nil, 401},
		{"no auth, keys: purge with a wrong key", admin.Config{}, []string{"k1"}, "DELETE", "/api/cache/purge", []string{"apikey", "k2-longer-than-k1"}, 401},
		{"no auth, keys: purge with a key", admin.Config{}, []string{"k1"}, "DELETE", "/api/cache/purge", []string{"apikey", "k1"}, 200},
		{"no auth, keys: reads stay open", admin.Config{}, []string{"k1"}, "GET", "/api/schemas", nil, 200},
		{"token: stats without credentials", token, nil, "GET", "/stats", nil, 401},
		{"token: stats with a wrong token", token, nil, "GET", "/stats", []string{"Authorization", "Bearer s3cret"}, 401},
		{"token: stats with the token", token, nil, "GET", "/stats", []string{"Authorization", "Bearer s3cret-token"}, 200},
		{"token: bearer is case-insensitive", token, nil, "GET", "/stats", []string{"Authorization", "bearer s3cret-token"}, 200},
		{"token: basic is not the token", token, nil, "GET", "/stats", []string{"Authorization", basic("ops", "s3cret-token")}, 401},
		{"token: mounted route without credentials", token, nil, "GET", "/metrics", nil, 401},
		{"token: mounted route with the token", token, nil, "GET", "/metrics", []string{"Authorization", "Bearer s3cret-token"}, 200},
		{"token: unknown route without credentials", token, nil, "GET", "/secret-route", nil, 401},
		{"token: unknown route with the token", token, nil, "GET", "/secret-route", []string{"Authorization", "Bearer s3cret-token"}, 404},
		{"token: registry read without credentials", token, []string{"k1"}, "GET", "/api/schemas", nil, 401},
		{"token: registry read with an API key", token, []string{"k1"}, "GET", "/api/schemas", []string{"apikey", "k1"}, 200},
		{"token: registry read with an API key as bearer", token, []string{"k1"}, "GET", "/api/schemas", []string{"Authorization", "Bearer k1"}, 200},
		{"token: an API key is not admin beyond the registry", token, []string{"k1"}, "GET", "/stats", []string{"apikey", "k1"}, 401},
		{"token: alerts without credentials", token, nil, "GET", "/stats/alerts", nil, 401},
		{"token: alerts with an API key", token, []string{"k1"}, "GET", "/stats/alerts", []string{"apikey", "k1"}, 401},
		{"token: alerts with the token", token, nil, "GET", "/stats/alerts", []string{"Authorization", "Bearer s3cret-token"}, 200},
		{"no auth: alerts refuse a POST", admin.Config{}, nil, "POST", "/stats/alerts", nil, 405},
		{"token: purge without credentials", token, nil, "POST", "/api/cache/purge", nil, 401},
		{"token: purge with the token", token, nil, "POST", "/api/cache/purge", []string{"Authorization", "Bearer s3cret-token"}, 200},
		{"token: purge with an API key", token, []string{"k1"}, "POST", "/api/cache/purge", []string{"apikey", "k1"}, 200},
		{"basic: wrong password", basicOnly, nil, "GET", "/stats", []string{"Authorization", basic("ops", "nope")}, 401},
		{"basic: wrong user", basicOnly, nil, "GET", "/stats", []string{"Authorization", basic("root", "pa55word")}, 401},
		{"basic: right", basicOnly, nil, "GET", "/stats", []string{"Authorization", basic("ops", "pa55word")}, 200},
		{"both: basic", both, nil, "GET", "/stats", []string{"Authorization", basic("ops", "pa55word")}, 200},
		{"both: token", both, nil, "GET", "/stats", []string{"Authorization", "Bearer s3cret-token"}, 200},
		{"both: neither", both, nil, "GET", "/stats", nil, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, rl := newAdmin(t, tc.cfg, tc.keys...)
			w := adminReq(a, tc.method, tc.path, tc.headers...)
			if w.Code != tc.want {
				t.Fatalf("%s %s: %d, want %d: %s", tc.method, tc.path, w.Code, tc.want, w.Body)
			}
			if tc.want == 401 {
				if w.Header().Get("WWW-Authenticate") == "" || !strings.Contains(w.Body.String(), `"error":`) {
					t.Errorf("401 without a challenge or an error body: %v %s", w.Header(), w.Body)
				}
				if strings.Contains(w.Body.String(), "s3cret") || strings.Contains(w.Body.String(), "pa55word") {
					t.Errorf("the 401 tells a secret: %s", w.Body)
				}
				if rl.n != 0 {
					t.Errorf("a refused purge reloaded")
				}
			}
			if strings.HasSuffix(tc.path, "/purge") && tc.want == 200 && rl.n != 1 {
				t.Errorf("purge answered 200 but reloaded %d times", rl.n)
			}
			for k := range w.Header() {
				if strings.HasPrefix(k, "Access-Control-") {
					t.Errorf("admin answer carries %s", k)
				}
			}
		})
	}
}

func TestAdminChallenges(t *testing.T) {
	a, _ := newAdmin(t, admin.Config{Auth: admin.Auth{Token: "t", Username: "u", Password: "p"}})
	w := adminReq(a, "GET", "/stats")
	got := strings.Join(w.Header().Values("WWW-Authenticate"), " | ")
	if !strings.Contains(got, `Bearer realm="accord admin"`) || !strings.Contains(got, `Basic realm="accord admin"`) {
		t.Errorf("WWW-Authenticate %q, want a Bearer and a Basic challenge", got)
	}
}

// With its own address the admin surface serves its routes there, with the
// request ids and JSON errors the collector gives.
func TestAdminOwnAddress(t *testing.T) {
	rl := &reloads{}
	a := admin.New(admin.Config{Addr: "127.0.0.1:0", Auth: admin.Auth{Token: "tok"}}, admin.Deps{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registry: contract.NewSet(nil), Reloader: rl,
		Stats: func() any { return map[string]any{} }, CollectorAddr: "127.0.0.1:8080",
	})
	if !a.OwnAddr() || a.Addr() != "127.0.0.1:0" {
		t.Fatalf("OwnAddr %v Addr %q", a.OwnAddr(), a.Addr())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- a.Serve(ln) }()
	get := func(path string, headers ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+path, nil)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := get("/stats", "X-Request-Id", "adm-1"); resp.StatusCode != 401 || resp.Header.Get("X-Request-Id") != "adm-1" {
		t.Errorf("/stats without the token: %d, request id %q", resp.StatusCode, resp.Header.Get("X-Request-Id"))
	}
	if resp := get("/stats", "Authorization", "Bearer tok"); resp.StatusCode != 200 {
		t.Errorf("/stats with the token: %d", resp.StatusCode)
	}
	if resp := get("/events", "Authorization", "Bearer tok"); resp.StatusCode != 404 {
		t.Errorf("/events on the admin address: %d, want 404", resp.StatusCode)
	}
	if err := a.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve after Shutdown: %v", err)
	}
}

func TestAdminWithoutOwnAddressDoesNotServe(t *testing.T) {
	a, _ := newAdmin(t, admin.Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := a.Serve(ln); err == nil || !strings.Contains(err.Error(), "admin.addr") {
		t.Errorf("Serve without admin.addr: %v", err)
	}
	if err := a.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown without admin.addr: %v", err)
	}
}

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "127.1.2.3:1": true, "[::1]:9090": true, "localhost:8080": true, "LOCALHOST:1": true,
		":8080": false, "0.0.0.0:8080": false, "[::]:8080": false, "10.0.0.5:8080": false, "collector.internal:8080": false, "nonsense": false,
	} {
		if got := admin.Loopback(addr); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

// An admin surface reachable beyond this machine without auth is warned
// about at start, naming the key to change; one on loopback or behind auth
// is not.
func TestWarnsWhenExposedWithoutAuth(t *testing.T) {
	tests := []struct {
		name      string
		cfg       admin.Config
		collector string
		warn      string
	}{
		{"shared port on every interface", admin.Config{}, ":8080", "key=server.addr"},
		{"own address on every interface", admin.Config{Addr: "0.0.0.0:9090"}, "127.0.0.1:8080", "key=admin.addr"},
		{"own loopback address", admin.Config{Addr: "127.0.0.1:9090"}, ":8080", ""},
		{"shared loopback port", admin.Config{}, "localhost:8080", ""},
		{"exposed behind a token", admin.Config{Auth: admin.Auth{Token: "t"}}, ":8080", ""},
		{"exposed behind basic auth", admin.Config{Auth: admin.Auth{Username: "u", Password: "p"}}, ":8080", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			admin.New(tc.cfg, admin.Deps{Logger: slog.New(slog.NewTextHandler(&logs, nil)), CollectorAddr: tc.collector})
			got := logs.String()
			if tc.warn == "" {
				if got != "" {
					t.Errorf("logged %s", got)
				}
				return
			}
			if !strings.Contains(got, "level=WARN") || !strings.Contains(got, tc.warn) || !strings.Contains(got, "admin.auth") {
				t.Errorf("logged %q, want a warning with %s naming admin.auth", got, tc.warn)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  admin.Config
		want string
	}{
		{"defaults", admin.Config{}, ""},
		{"own address and both credentials", admin.Config{Addr: "127.0.0.1:9090", Auth: admin.Auth{Token: "abc", Username: "u", Password: "p"}}, ""},
		{"address without a port", admin.Config{Addr: "127.0.0.1"}, "addr: "},
		{"token with a space", admin.Config{Auth: admin.Auth{Token: "a b"}}, "auth.token: "},
		{"user without password", admin.Config{Auth: admin.Auth{Username: "u"}}, "auth.username: basic auth needs both"},
		{"password without user", admin.Config{Auth: admin.Auth{Password: "p"}}, "auth.username: basic auth needs both"},
		{"user with a colon", admin.Config{Auth: admin.Auth{Username: "a:b", Password: "p"}}, "auth.username: must not contain a colon"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == "" {
				if err != nil {
					t.Errorf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("Validate: %v, want an error starting %q", err, tc.want)
			}
		})
	}
	var joined interface{ Unwrap() []error }
	if err := (admin.Config{Addr: "x", Auth: admin.Auth{Token: "a b"}}).Validate(); !errors.As(err, &joined) || len(joined.Unwrap()) != 2 {
		t.Errorf("two problems: %v, want both reported", err)
	}
}

// An API key opens the registry API only: a path that starts with /api/
// but cleans to another admin route is not served with it.
func TestAPIKeyOpensNoOtherRouteThroughDotSegments(t *testing.T) {
	a, _ := newAdmin(t, admin.Config{Auth: admin.Auth{Token: "tok"}}, "k1")
	for _, path := range []string{"/api/../stats", "/api/%2e%2e/stats", "/api//../metrics"} {
		w := adminReq(a, "GET", path, "apikey", "k1")
		if w.Code == 200 || strings.Contains(w.Body.String(), "sinks") || strings.Contains(w.Body.String(), "accord_up") {
			t.Errorf("GET %s with an API key: %d %s", path, w.Code, w.Body)
		}
	}
}
