package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// analytics.js (@segment/analytics-next) sends each call to the one-letter
// path of its type (/v1/t, /v1/i, /v1/p, ...) and, when batching, to /v1/b
// with the write key in a text/plain body. Each short path must store what
// its long path stores.
func TestSegmentShortPaths(t *testing.T) {
	dir := newProject(t)
	writeContract(t, dir, segOrderKey, segOrderContract)
	c := startCollector(t, dir, segEnv()...)
	db := openStore(t, dir)

	// Each message is sent twice, once to each path, with its own
	// messageId (%s) so deduplication keeps both.
	tests := []struct {
		short, long, body string
		table             string
	}{
		{"t", "track", `{"type":"track","messageId":"%s","userId":"user-1","event":"Order Completed","properties":{"order_id":"ord-1","total":5,"currency":"EUR"},"timestamp":"2026-05-01T12:30:00.000Z","context":{"library":{"name":"analytics.js","version":"next-1.84.3"}}}`, "events"},
		{"i", "identify", `{"type":"identify","messageId":"%s","userId":"user-1","traits":{"plan":"pro"}}`, "events"},
		{"p", "page", `{"type":"page","messageId":"%s","anonymousId":"anon-1","name":"Home","properties":{"path":"/","url":"https://shop.example/"}}`, "events"},
		{"s", "screen", `{"type":"screen","messageId":"%s","anonymousId":"anon-1","name":"Cart"}`, "events"},
		{"g", "group", `{"type":"group","messageId":"%s","userId":"user-1","groupId":"acme","traits":{"size":3}}`, "events"},
		{"a", "alias", `{"type":"alias","messageId":"%s","userId":"user-1","previousId":"anon-1"}`, "events"},
		// A planned event that breaks its contract fails alike on both.
		{"t", "track", `{"type":"track","messageId":"%s","userId":"user-1","event":"Order Completed","properties":{"order_id":"ord-2","total":-1,"currency":"EUR"}}`, "failed_events"},
	}
	for i, tc := range tests {
		for _, path := range []string{tc.short, tc.long} {
			id := fmt.Sprintf("seg-short-%d-%s", i, path)
			status, _, body := c.post("/v1/"+path, "application/json", []byte(fmt.Sprintf(tc.body, id)), "Authorization", segBasic(segWebKey))
			if status != http.StatusOK {
				t.Fatalf("POST /v1/%s: %d %s", path, status, body)
			}
		}
	}
	// /v1/b as analytics-next's batching dispatcher sends it.
	batch := func(id string) []byte {
		return []byte(`{"writeKey":"` + segWebKey + `","sentAt":"2026-05-01T12:30:01.000Z","batch":[` +
			`{"type":"track","messageId":"` + id + `-0","anonymousId":"anon-2","event":"Order Completed","properties":{"order_id":"ord-3","total":7,"currency":"USD"}},` +
			`{"type":"page","messageId":"` + id + `-1","anonymousId":"anon-2","name":"Checkout"}]}`)
	}
	for _, path := range []string{"b", "batch"} {
		if status, _, body := c.post("/v1/"+path, "text/plain", batch("seg-short-batch-"+path)); status != http.StatusOK {
			t.Fatalf("POST /v1/%s: %d %s", path, status, body)
		}
	}
	waitDelivered(t, c, 30*time.Second)

	same := func(t *testing.T, table, shortID, longID string) {
		t.Helper()
		s, l := spOne(t, db, table, shortID), spOne(t, db, table, longID)
		if s.Protocol != "segment" || s.Schema != l.Schema || s.Valid != l.Valid || s.FailureType != l.FailureType {
			t.Errorf("%s: protocol %q schema %q valid %v failure %q; the long path stored schema %q valid %v failure %q",
				shortID, s.Protocol, s.Schema, s.Valid, s.FailureType, l.Schema, l.Valid, l.FailureType)
		}
		// What the long path stored, as decoded JSON, is what the short
		// path must have stored.
		decoded := func(v any) any {
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			return spJSON(t, string(b))
		}
		spEqualJSON(t, shortID+" payload", s.Payload, decoded(l.Payload))
		spEqualJSON(t, shortID+" attributes", s.Attributes, decoded(l.Attributes))
		spEqualJSON(t, shortID+" identity", s.Identity, decoded(l.Identity))
		if table == "failed_events" {
			spEqualJSON(t, shortID+" failure", s.Failure, decoded(l.Failure))
		}
	}
	for i, tc := range tests {
		t.Run("/v1/"+tc.short+" as /v1/"+tc.long, func(t *testing.T) {
			shortID, longID := fmt.Sprintf("seg-short-%d-%s", i, tc.short), fmt.Sprintf("seg-short-%d-%s", i, tc.long)
			same(t, tc.table, shortID, longID)
			if r := spOne(t, db, tc.table, shortID); r.Attributes["type"] != tc.long {
				t.Errorf("%s: attributes.type %v, want %s", shortID, r.Attributes["type"], tc.long)
			}
		})
	}
	t.Run("/v1/b as /v1/batch", func(t *testing.T) {
		for _, n := range []string{"-0", "-1"} {
			same(t, "events", "seg-short-batch-b"+n, "seg-short-batch-batch"+n)
		}
		if r := spOne(t, db, "events", "seg-short-batch-b-0"); r.Schema != segOrderKey {
			t.Errorf("the batched order: schema %q, want %s", r.Schema, segOrderKey)
		}
	})
	t.Run("other letters stay unknown calls", func(t *testing.T) {
		status, _, body := c.post("/v1/x", "application/json", []byte(`{"userId":"u1","event":"E"}`), "Authorization", segBasic(segWebKey))
		if status != http.StatusNotFound || !strings.Contains(string(body), "not a Segment call") {
			t.Errorf("/v1/x: %d %s, want 404 naming the unknown call", status, body)
		}
	})
	c.stop()
}
