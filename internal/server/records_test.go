package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
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

// waitingEncoder encodes the records it is handed, gives their memory back
// (server.ReleasesRecords) and then waits until proceed is closed, as a
// spool encodes a request's records and then waits for its group commit.
type waitingEncoder struct {
	mu       sync.Mutex
	firsts   map[uintptr]bool
	bodies   map[uintptr]bool  // where each request's first payload was
	failedID map[string]string // request id -> the failed record's event id, as encoded
	released chan struct{}
	proceed  chan struct{}
}

func (e *waitingEncoder) KeepsNoRecords() bool { return true }

func (e *waitingEncoder) Deliver(context.Context, []*event.Envelope) error {
	return errors.New("Deliver called; the server should have asked DeliverReleasing")
}

func (e *waitingEncoder) DeliverReleasing(_ context.Context, records []*event.Envelope, release func()) error {
	e.mu.Lock()
	e.firsts[uintptr(unsafe.Pointer(records[0]))] = true
	e.bodies[uintptr(unsafe.Pointer(unsafe.SliceData(records[0].Payload)))] = true
	for _, r := range records {
		if !r.Valid {
			e.failedID[r.RequestID] = eventID(string(r.AppendJSON(nil)))
		}
	}
	e.mu.Unlock()
	release()
	e.released <- struct{}{}
	<-e.proceed
	return nil
}

// A request's records and its body are given back as soon as the
// Deliverer has read them (server.ReleasesRecords), not when the request is
// answered: while requests wait to be stored (for the spool's group
// commit), the next ones are read and made in the same memory. The answer,
// written after the wait, still names each failed event by its own id,
// whether the server made it or the body held it.
func TestRecordsMemoryReusedWhileRequestsWait(t *testing.T) {
	// One P: what a goroutine gives back to a sync.Pool is what the next
	// one takes, whichever runs it.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	enc := &waitingEncoder{firsts: map[uintptr]bool{}, bodies: map[uintptr]bool{}, failedID: map[string]string{}, released: make(chan struct{}), proceed: make(chan struct{})}
	h := serverOver(t, server.DefaultOptions(), enc).Handler()

	const requests = 20
	answers := make([]*httptest.ResponseRecorder, requests)
	var wg sync.WaitGroup
	for i := range requests {
		// Two good events and a failed one, whose id the server makes
		// in every other request and the body gives in the others.
		id := ""
		if i%2 == 1 {
			id = fmt.Sprintf(`"event_id":"f-%d",`, i)
		}
		body := fmt.Sprintf(`{"schema":"iglu:com.example/page_view/jsonschema/1-0-0","data":{"url":"https://a.example/%d"}}
{"schema":"iglu:com.example/page_view/jsonschema/1-0-0","data":{"url":"https://b.example/%d"}}
{"schema":"iglu:com.example/page_view/jsonschema/1-0-0",%s"data":{"url":%d}}
`, i, i, id, i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = do(h, http.MethodPost, "/events", []byte(body), "Content-Type", "application/x-ndjson", "X-Request-Id", fmt.Sprintf("req-%d", i))
		}()
		<-enc.released // request i waits, its records given back
	}
	close(enc.proceed)
	wg.Wait()

	// Given back before each next request, the memory is made once (the
	// race detector's sync.Pool drops a quarter of what it is given, about
	// 5 of 19, rarely 13 or more); kept until answered, once a request.
	if len(enc.firsts) > requests*2/3 {
		t.Errorf("the records of %d requests, all waiting at once, were made in %d places; want their memory reused while they wait", requests, len(enc.firsts))
	}
	if len(enc.bodies) > requests*2/3 {
		t.Errorf("the bodies of %d requests, all waiting at once, were read into %d places; want their memory reused while they wait", requests, len(enc.bodies))
	}
	for i, w := range answers {
		var got struct {
			Failures []struct {
				EventID string `json:"event_id"`
			} `json:"failures"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || len(got.Failures) != 1 {
			t.Fatalf("request %d: %d %s", i, w.Code, w.Body)
		}
		want := enc.failedID[fmt.Sprintf("req-%d", i)]
		if i%2 == 1 && want != fmt.Sprintf("f-%d", i) {
			t.Errorf("request %d: the failed event was stored as %q; want the id it gave", i, want)
		}
		if got.Failures[0].EventID != want || want == "" {
			t.Errorf("request %d: the answer names the failed event %q; it was stored as %q", i, got.Failures[0].EventID, want)
		}
	}
}
