package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/protocol"
	"github.com/accord-events/accord/internal/protocol/selfdesc"
	"github.com/accord-events/accord/internal/server"
)

// TestCheckAnswersAsCollectStoringNothing: Check gives the answer the
// collection route gives (status and body, request id aside) for good,
// violating, unreadable and oversized bodies, and delivers nothing.
func TestCheckAnswersAsCollectStoringNothing(t *testing.T) {
	srv, rec := newServer(t, func(c *server.Options) { c.MaxBodyBytes = 4096 })
	check := srv.Check(protocol.Endpoint{Path: "/events", Protocol: selfdesc.Name, Decode: protocol.Plain(selfdesc.Decode)})
	tests := []struct {
		name   string
		body   string
		status int
		failed bool
	}{
		{"good", pageView, http.StatusOK, false},
		{"violation", `{"schema":"iglu:com.example/page_view/jsonschema/1-0-0","data":{"url":"not a url","title":42}}`, http.StatusOK, true},
		{"unknown contract", `{"schema":"iglu:com.example/nope/jsonschema/1-0-0","data":{}}`, http.StatusOK, true},
		{"not json", `{"schema":`, http.StatusBadRequest, true},
		{"oversized", `{"schema":"iglu:com.example/page_view/jsonschema/1-0-0","data":{"url":"` + strings.Repeat("a", 5000) + `"}}`, http.StatusRequestEntityTooLarge, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdr := []string{"Content-Type", "application/json", "X-Request-Id", "same-id"}
			dry := do(check, http.MethodPost, "/ui/api/check", []byte(tc.body), hdr...)
			before := len(rec.records)
			real := do(srv.Handler(), http.MethodPost, "/events", []byte(tc.body), hdr...)
			if real.Code != tc.status || dry.Code != tc.status {
				t.Fatalf("status: collect %d, check %d, want %d\n%s\n%s", real.Code, dry.Code, tc.status, real.Body, dry.Body)
			}
			if len(rec.records) == before {
				t.Fatalf("the collection route stored nothing")
			}
			if got, want := normalise(t, dry.Body.Bytes()), normalise(t, real.Body.Bytes()); got != want {
				t.Errorf("check answered\n%s\nthe collector\n%s", got, want)
			}
			if tc.failed && !bytes.Contains(dry.Body.Bytes(), []byte(`"messages"`)) && !bytes.Contains(dry.Body.Bytes(), []byte(`"error"`)) {
				t.Errorf("check gave no failure: %s", dry.Body)
			}
		})
	}
	// Only the collection route's requests were stored.
	if len(rec.records) != len(tests) {
		t.Errorf("%d records stored, want %d (one per collection request, none per check)", len(rec.records), len(tests))
	}
}

// normalise drops what differs on every request (event ids) and the request
// id, which the server's wrapping stamps (Check is mounted behind the
// admin surface's).
func normalise(t *testing.T, b []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			delete(v, "event_id")
			delete(v, "request_id")
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	out, _ := json.Marshal(v)
	return string(out)
}
