package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// TestHostileRepeatedMemberNames sends events whose data or contexts repeat a
// member name. Readers disagree on such JSON ({"total":-5,"total":5} validated
// as 5 while a store's JSON functions read -5), so each such event fails alone
// as a payload_format_violation, on every JSON protocol, and nothing of it
// reaches the good events.
func TestHostileRepeatedMemberNames(t *testing.T) {
	dir := newProject(t)
	c := startCollector(t, dir)

	good := `{"schema":"` + checkoutKey + `","data":{"order_id":"o-1","total":5,"currency":"EUR","items":[{"sku":"s","quantity":1}]}}`
	tests := []struct {
		name, event string
	}{
		{"repeated total", `{"schema":"` + checkoutKey + `","data":{"order_id":"o-2","total":-5,"total":5,"currency":"EUR","items":[{"sku":"s","quantity":1}]}}`},
		{"repeated name spelt with an escape", `{"schema":"` + checkoutKey + `","data":{"order_id":"o-3","total":-5,"t\u006ftal":5,"currency":"EUR","items":[{"sku":"s","quantity":1}]}}`},
		{"repeated name deep in an item", `{"schema":"` + checkoutKey + `","data":{"order_id":"o-4","total":5,"currency":"EUR","items":[{"sku":"s","quantity":0,"quantity":1}]}}`},
		{"repeated name in a context", `{"schema":"` + checkoutKey + `","data":{"order_id":"o-5","total":5,"currency":"EUR","items":[{"sku":"s","quantity":1}]},"contexts":[{"schema":"` + userKey + `","data":{"id":"u1","id":"u2"}}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Among good events in one batch, the event fails alone.
			status, _, body := c.post("/events", "application/json", []byte("["+good+","+tc.event+","+good+"]"))
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, body)
			}
			resp := decodeInto[collectResponse](t, body)
			if resp.Received != 3 || resp.Good != 2 || resp.Failed != 1 || len(resp.Failures) != 1 || resp.Failures[0].Index != 1 {
				t.Fatalf("got %+v, want the second event failed alone", resp)
			}
			f := resp.Failures[0]
			if f.Type != "payload_format_violation" || len(f.Messages) == 0 || !strings.Contains(f.Messages[0].Message, "appears twice") {
				t.Fatalf("failure %+v, want a payload_format_violation saying the name appears twice", f)
			}
			// One event alone, and on an NDJSON line: the same rule.
			status, _, body = c.post("/events", "application/json", []byte(tc.event))
			if status != http.StatusBadRequest || !strings.Contains(string(body), "appears twice") {
				t.Errorf("single event: status %d %s, want 400 saying the name appears twice", status, body)
			}
			status, _, body = c.post("/events", "application/x-ndjson", []byte(good+"\n"+tc.event+"\n"))
			resp = decodeInto[collectResponse](t, body)
			if status != http.StatusOK || resp.Good != 1 || resp.Failed != 1 || resp.Failures[0].Type != "payload_format_violation" {
				t.Errorf("NDJSON: status %d %+v, want the second line failed as payload_format_violation", status, resp)
			}
		})
	}
	c.stop()

	// The store never holds a good record with a repeated name: every good
	// checkout has total 5, whichever value a reader takes.
	db := openStore(t, dir)
	if n := spCount(t, db, "events", "json_extract(payload, '$.total') != 5"); n != 0 {
		t.Errorf("%d good events read back with a total other than 5", n)
	}
	if n := spCount(t, db, "failed_events", "failure_type = 'payload_format_violation'"); n != 3*len(tests) {
		t.Errorf("%d payload_format_violation records, want %d", n, 3*len(tests))
	}
}
