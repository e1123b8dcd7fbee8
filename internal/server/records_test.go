package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/server"
)

// encoder keeps nothing of the records it is handed (server.KeepsNoRecords),
// only their encoding, as a spool does, and where each request's first
// record was.
type encoder struct {
	mu      sync.Mutex
	encoded []string
	firsts  map[uintptr]bool
}

func (e *encoder) KeepsNoRecords() bool { return true }

func (e *encoder) Deliver(_ context.Context, records []*event.Envelope) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range records {
		e.encoded = append(e.encoded, string(r.AppendJSON(nil)))
	}
	e.firsts[uintptr(unsafe.Pointer(records[0]))] = true
	return nil
}

// A request's records are made in memory the next requests' are made in
// when what the server delivers to keeps none of them (a spool keeps their
// encoding), and in memory of their own otherwise: a Deliverer that keeps
// the records it is handed still holds each as it was delivered after many
// more requests (but for its payload, the request body's bytes, which the
// server reuses once Deliver has returned).
func TestRecordsMemoryReusedOnlyWhenNothingKeepsThem(t *testing.T) {
	enc, keeper := &encoder{firsts: map[uintptr]bool{}}, &recorder{}
	encoding := serverOver(t, server.DefaultOptions(), enc).Handler()
	keeping := serverOver(t, server.DefaultOptions(), keeper).Handler()

	const requests = 50
	var want []string
	for i := range requests {
		var body strings.Builder
		for j := range 3 {
			fmt.Fprintf(&body, `{"schema":"iglu:com.example/page_view/jsonschema/1-0-0","event_id":"e-%d-%d","data":{"url":"https://a.example/%d"}}`+"\n", i, j, i)
		}
		// One failed event in every other request.
		if i%2 == 1 {
			fmt.Fprintf(&body, `{"schema":"iglu:com.example/page_view/jsonschema/1-0-0","event_id":"f-%d","data":{"url":5}}`+"\n", i)
		}
		for _, h := range []http.Handler{encoding, keeping} {
			if w := do(h, http.MethodPost, "/events", []byte(body.String()), "Content-Type", "application/x-ndjson"); w.Code != http.StatusOK && w.Code != http.StatusBadRequest {
				t.Fatalf("request %d: %d %s", i, w.Code, w.Body)
			}
		}
		keeper.mu.Lock()
		for _, r := range keeper.records[len(want):] {
			want = append(want, summary(r))
		}
		keeper.mu.Unlock()
	}
	if len(enc.firsts) >= requests {
		t.Errorf("the records of %d requests were made in %d places; want the memory reused", requests, len(enc.firsts))
	}
	keeper.mu.Lock()
	defer keeper.mu.Unlock()
	if len(keeper.records) != len(want) || len(enc.encoded) != len(want) {
		t.Fatalf("delivered %d and %d records, want %d", len(keeper.records), len(enc.encoded), len(want))
	}
	for i, r := range keeper.records {
		if got := summary(r); got != want[i] {
			t.Fatalf("record %d changed after it was delivered to a Deliverer keeping it:\n%s\nwas\n%s", i, got, want[i])
		}
		// The same requests, delivered to the encoder: the same records
		// but for the request ids and times each request gets.
		if a, b := eventID(enc.encoded[i]), r.EventID; a != b {
			t.Fatalf("record %d: event %s encoded, %s kept", i, a, b)
		}
	}
}

// summary is what a record holds of its own, not of the request's body
// (its payload is the body's bytes, valid only until Deliver returns).
func summary(r *event.Envelope) string {
	return fmt.Sprint(r.EventID, r.RequestID, r.Fingerprint, r.Valid, r.Schema, r.CollectedAt, r.Failure != nil)
}

// eventID is the event_id member of an encoded record.
func eventID(rec string) string {
	_, after, _ := strings.Cut(rec, `"event_id":"`)
	id, _, _ := strings.Cut(after, `"`)
	return id
}
