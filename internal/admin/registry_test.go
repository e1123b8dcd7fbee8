package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/admin"
	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/pipeline"
	"github.com/accord-events/accord/internal/protocol"
	"github.com/accord-events/accord/internal/protocol/selfdesc"
	"github.com/accord-events/accord/internal/server"
)

// newRegistryServer serves a copy of the scaffold's contracts with the
// registry API, the admin surface mounted on a collector's port as accord
// serve mounts it by default, returning the server and the copy's
// directory. Polling is off, so only a purge or a write's own reload changes
// what is served; extra may configure the admin surface (writes, auth).
func newRegistryServer(t *testing.T, extra ...func(dir string, cfg *admin.Config, deps *admin.Deps)) (*httptest.Server, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../scaffold/template/contracts")); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := contract.NewSet(nil)
	w := contract.NewWatcher(context.Background(), dir, reg, 0, log)
	t.Cleanup(w.Close)
	p := pipeline.New(reg, event.Collector{Name: "accord", Version: "test", Env: "test", Host: "h"}, "default")
	var cfg admin.Config
	deps := admin.Deps{Logger: log, Registry: reg, Reloader: w, ContractsDir: dir, MaxBodyBytes: 1 << 20, CollectorAddr: "127.0.0.1:8080",
		Stats: func() any { return map[string]any{} }}
	for _, e := range extra {
		e(dir, &cfg, &deps)
	}
	srv := server.New(server.DefaultOptions(), p, recorder{}, []protocol.Endpoint{{Path: "/events", Protocol: selfdesc.Name, Decode: protocol.Plain(selfdesc.Decode)}},
		log, server.WithAdmin(admin.New(cfg, deps)))
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts, dir
}

// recorder takes the collector's records, standing in for delivery.
type recorder struct{}

func (recorder) Deliver(context.Context, []*event.Envelope) error { return nil }

const (
	pageViewURI = "iglu:com.example/page_view/jsonschema/1-0-0"
	userURI     = "iglu:com.example/user/jsonschema/1-0-0"
	checkoutURI = "iglu:com.example/checkout_completed/jsonschema/1-0-0"
)

func doAPI(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", method, url, ct)
	}
	if !json.Valid(b) {
		t.Errorf("%s %s: body is not JSON: %s", method, url, b)
	}
	return resp.StatusCode, string(b)
}

func TestRegistryAPI(t *testing.T) {
	ts, _ := newRegistryServer(t)
	pageView, err := os.ReadFile("../scaffold/template/contracts/com.example/page_view/jsonschema/1-0-0")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path, body string
		status                   int
		// want is the exact body (compared as JSON) or, with contains, a
		// fragment of it.
		want     string
		contains bool
	}{
		{name: "list all", method: "GET", path: "/api/schemas", status: 200,
			want: `["` + checkoutURI + `","` + pageViewURI + `","` + userURI + `"]`},
		{name: "list vendor", method: "GET", path: "/api/schemas/com.example", status: 200,
			want: `["` + checkoutURI + `","` + pageViewURI + `","` + userURI + `"]`},
		{name: "list name", method: "GET", path: "/api/schemas/com.example/user", status: 200, want: `["` + userURI + `"]`},
		{name: "unknown vendor", method: "GET", path: "/api/schemas/com.nobody", status: 404, want: `no schemas for vendor com.nobody`, contains: true},
		{name: "unknown name", method: "GET", path: "/api/schemas/com.example/nope", status: 404, want: `no schemas for contract com.example/nope`, contains: true},
		{name: "canonical by default", method: "GET", path: "/api/schemas/com.example/page_view/jsonschema/1-0-0", status: 200, want: string(pageView)},
		{name: "canonical", method: "GET", path: "/api/schemas/com.example/page_view/jsonschema/1-0-0?repr=canonical", status: 200, want: string(pageView)},
		{name: "uri", method: "GET", path: "/api/schemas/com.example/page_view/jsonschema/1-0-0?repr=uri", status: 200, want: `"` + pageViewURI + `"`},
		{name: "meta", method: "GET", path: "/api/schemas/com.example/page_view/jsonschema/1-0-0?repr=meta", status: 200,
			want: `"self":{"vendor":"com.example","name":"page_view","format":"jsonschema","version":"1-0-0"},"metadata":{"uri":"` + pageViewURI + `","location":`, contains: true},
		{name: "bad repr", method: "GET", path: "/api/schemas/com.example/page_view/jsonschema/1-0-0?repr=yaml", status: 400, want: `repr \"yaml\" is not a representation`, contains: true},
		{name: "unknown version", method: "GET", path: "/api/schemas/com.example/page_view/jsonschema/9-0-0", status: 404,
			want: `no schema iglu:com.example/page_view/jsonschema/9-0-0`, contains: true},
		{name: "malformed version", method: "GET", path: "/api/schemas/com.example/page_view/jsonschema/one", status: 400, want: `is not a schema key`, contains: true},
		{name: "post on schemas, writes off", method: "POST", path: "/api/schemas", status: 403, want: `schema writes are turned off on this server`, contains: true},
		{name: "put on schema, writes off", method: "PUT", path: "/api/schemas/com.example/page_view/jsonschema/1-0-0", status: 403, want: `contracts.api_keys`, contains: true},
		{name: "delete on schemas", method: "DELETE", path: "/api/schemas", status: 405, want: `method DELETE is not allowed on /api/schemas; use GET, HEAD, POST`, contains: true},
		{name: "delete on schema", method: "DELETE", path: "/api/schemas/com.example/page_view/jsonschema/1-0-0", status: 405, want: `use GET, HEAD, PUT`, contains: true},
		{name: "post on vendor", method: "POST", path: "/api/schemas/com.example", status: 405, want: `use GET, HEAD"`, contains: true},
		{name: "unknown api route", method: "GET", path: "/api/schemas/com.example/page_view/jsonschema", status: 404, want: `no route /api/schemas/com.example/page_view/jsonschema`, contains: true},

		{name: "valid instance, key in path", method: "POST", path: "/api/validation/validate/instance/com.example/page_view/jsonschema/1-0-0",
			body: `{"url": "https://shop.example/"}`, status: 200, want: `{"valid":true,"schema":"` + pageViewURI + `"}`},
		{name: "valid instance, self-describing", method: "POST", path: "/api/validation/validate/instance",
			body: `{"schema":"` + pageViewURI + `","data":{"url": "https://shop.example/"}}`, status: 200, want: `{"valid":true,"schema":"` + pageViewURI + `"}`},
		{name: "invalid instance", method: "POST", path: "/api/validation/validate/instance/com.example/page_view/jsonschema/1-0-0",
			body: `{"title": "Home"}`, status: 200,
			want: `{"valid":false,"schema":"` + pageViewURI + `","failure":{"type":"schema_violation","messages":[{"schema":"` + pageViewURI +
				`","instance_path":"/data","schema_path":"/required","keyword":"required","message":"/data is missing the required property \"url\""}]}}`},
		{name: "instance of unknown schema", method: "POST", path: "/api/validation/validate/instance",
			body: `{"schema":"iglu:com.example/nope/jsonschema/1-0-0","data":{}}`, status: 404, want: `no schema iglu:com.example/nope/jsonschema/1-0-0`, contains: true},
		{name: "instance not self-describing", method: "POST", path: "/api/validation/validate/instance", body: `{"url": "x"}`, status: 400,
			want: `not a self-describing instance`, contains: true},
		{name: "instance not JSON", method: "POST", path: "/api/validation/validate/instance/com.example/page_view/jsonschema/1-0-0", body: `{`, status: 400,
			want: `the instance is not valid JSON`, contains: true},
		{name: "get on validate", method: "GET", path: "/api/validation/validate/instance", status: 405, want: `use POST`, contains: true},

		{name: "purge", method: "POST", path: "/api/cache/purge", status: 200, want: `{"loaded":3,"failed":[]}`},
		{name: "purge with delete", method: "DELETE", path: "/api/cache/purge", status: 200, want: `{"loaded":3,"failed":[]}`},
		{name: "get on purge", method: "GET", path: "/api/cache/purge", status: 405, want: `use POST, DELETE`, contains: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := doAPI(t, tc.method, ts.URL+tc.path, tc.body)
			if status != tc.status {
				t.Errorf("status %d, want %d; body %s", status, tc.status, body)
			}
			if tc.contains {
				if !strings.Contains(body, tc.want) {
					t.Errorf("body %s\ndoes not contain %s", body, tc.want)
				}
				return
			}
			var got, want any
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tc.want), &want); err != nil {
				t.Fatalf("the test's want is not JSON: %v", err)
			}
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			if string(g) != string(w) {
				t.Errorf("body\n%s\nwant\n%s", g, w)
			}
		})
	}
}

// The validation endpoint gives the messages the collector gives for the
// same data in an event.
func TestRegistryValidateMatchesCollector(t *testing.T) {
	ts, _ := newRegistryServer(t)
	data := `{"order_id":"o","total":-5,"currency":"euro","items":[]}`
	_, collected := doAPI(t, "POST", ts.URL+"/events", `{"schema":"`+checkoutURI+`","data":`+data+`}`)
	_, validated := doAPI(t, "POST", ts.URL+"/api/validation/validate/instance/com.example/checkout_completed/jsonschema/1-0-0", data)
	var c struct {
		Failures []struct {
			Messages []event.Message `json:"messages"`
		} `json:"failures"`
	}
	var v struct {
		Valid   bool          `json:"valid"`
		Failure event.Failure `json:"failure"`
	}
	if err := json.Unmarshal([]byte(collected), &c); err != nil || len(c.Failures) != 1 {
		t.Fatalf("collector answered %s", collected)
	}
	if err := json.Unmarshal([]byte(validated), &v); err != nil {
		t.Fatal(err)
	}
	cm, _ := json.Marshal(c.Failures[0].Messages)
	vm, _ := json.Marshal(v.Failure.Messages)
	if v.Valid || string(cm) != string(vm) || len(v.Failure.Messages) < 2 {
		t.Errorf("validation messages\n%s\ndiffer from the collector's\n%s", vm, cm)
	}
}

// A purge reloads from disk at once, without waiting for a poll.
func TestRegistryPurgeReloads(t *testing.T) {
	ts, dir := newRegistryServer(t)
	src := filepath.Join(dir, "com.example", "user", "jsonschema", "1-0-0")
	doc, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "com.example", "user", "jsonschema", "1-0-1")
	if err := os.WriteFile(dst, []byte(strings.Replace(string(doc), `"version": "1-0-0"`, `"version": "1-0-1"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if status, _ := doAPI(t, "GET", ts.URL+"/api/schemas/com.example/user/jsonschema/1-0-1", ""); status != 404 {
		t.Fatalf("1-0-1 served before the purge: %d", status)
	}
	if status, body := doAPI(t, "POST", ts.URL+"/api/cache/purge", ""); status != 200 || !strings.Contains(body, `"loaded":4`) {
		t.Fatalf("purge: %d %s", status, body)
	}
	if status, body := doAPI(t, "GET", ts.URL+"/api/schemas/com.example/user?repr=uri", ""); status != 200 || !strings.Contains(body, "1-0-1") {
		t.Fatalf("after the purge: %d %s", status, body)
	}
	if err := os.WriteFile(dst, []byte(`{`), 0o644); err != nil {
		t.Fatal(err)
	}
	status, body := doAPI(t, "POST", ts.URL+"/api/cache/purge", "")
	if status != 200 || !strings.Contains(body, `"loaded":4`) || !strings.Contains(body, `"kept":"iglu:com.example/user/jsonschema/1-0-1"`) {
		t.Fatalf("purge with a broken file: %d %s", status, body)
	}
}
