// Package sinktest is the conformance suite every sink type runs: what
// delivery relies on of a sink, checked the same way for each, instead of
// each sink re-testing it its own way.
//
// The suite checks that a sink
//
//   - keeps good and failed records apart, each stored as it was written,
//     whether the records are decoded or carry only their encoding (as
//     delivery hands them to a sink.JSONOnly sink);
//   - stores a batch written twice once per record when it can deduplicate
//     on event_id, and otherwise twice: append-only sinks (file, stdout,
//     http) are at least once, and consumers deduplicate on event_id;
//   - loses and mixes nothing under concurrent writes;
//   - survives Close while writes are in flight: every write returns, every
//     acknowledged record is stored, and writes after Close fail;
//   - classes its failures as delivery needs (permanent, transient,
//     retry-after), where its destination can be made to fail so (an HTTP
//     endpoint answering 400, 500 or 429; a database another program
//     holds locked);
//   - reads back the failed records it stored, where its type has
//     ReadFailed.
//
// # Adding a sink
//
// A new sink type's package adds one test that calls Run with a Harness:
// New builds the sink on a destination of the test's own (a temporary file
// or database, an httptest server, a table named after the test) and says
// how to read back what the destination holds. Set Dedupes when the sink
// skips event_ids it already stored; give Fail when a test can make the
// destination refuse writes; set Type when the type reads failed records
// back. Then delete the sink's own tests that the suite makes redundant
// and keep those about what only that sink does (rotation, SQL types, HTTP
// formats). Copy internal/sink/file/conformance_test.go to start.
package sinktest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
)

// Harness describes a sink type to the suite.
type Harness struct {
	// New returns an instance of the sink writing to a destination of its
	// own, built as Type.New builds it: not yet connected. The suite
	// connects and closes it.
	New func(t *testing.T) Instance
	// Dedupes says the sink stores a record whose event_id it already holds
	// only once; without it, the suite holds the sink to storing a batch
	// written twice twice (at least once delivery, honestly stated).
	Dedupes bool
	// Type is the sink's type; the suite uses its ReadFailed, when set.
	Type sink.Type
}

// Instance is one sink and its destination.
type Instance struct {
	Sink sink.Sink
	// Options are the sink's options, for Type.ReadFailed.
	Options sink.Options
	// Stored returns what the destination holds, good and failed records
	// apart, as decoded envelopes; the suite calls it once the sink is
	// closed.
	Stored func(t *testing.T) (good, failed []*event.Envelope)
	// Fail makes the destination answer every write with the failure f
	// until it is called with None, and reports whether it can fail that
	// way; nil when it cannot be made to fail at all.
	Fail func(f Failure) bool
}

// Failure is a class of failed write, as delivery treats it.
type Failure int

// Failures a destination can be made to answer with.
const (
	// None lets writes succeed again.
	None Failure = iota
	// Permanent is a refusal of the records as such (an HTTP 400): the
	// sink returns a *sink.PermanentError.
	Permanent
	// Transient is a failure that may pass (an HTTP 500): neither
	// permanent nor retry-after.
	Transient
	// RetryAfter is a transient failure whose destination says when to
	// try again (an HTTP 429 with Retry-After): the sink returns a
	// *sink.RetryAfterError of RetryAfterDelay.
	RetryAfter
)

// RetryAfterDelay is the delay a destination made to fail with RetryAfter
// asks for.
const RetryAfterDelay = 3 * time.Second

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	t.Run("Lifecycle", func(t *testing.T) { testLifecycle(t, h) })
	t.Run("KeepsGoodAndFailedApart", func(t *testing.T) { testSelection(t, h) })
	t.Run("EmptyBatch", func(t *testing.T) { testEmptyBatch(t, h) })
	t.Run("WrittenTwice", func(t *testing.T) { testWrittenTwice(t, h) })
	t.Run("ConcurrentWrites", func(t *testing.T) { testConcurrentWrites(t, h) })
	t.Run("CloseDuringWrites", func(t *testing.T) { testCloseDuringWrites(t, h) })
	t.Run("FailureClasses", func(t *testing.T) { testFailureClasses(t, h) })
	t.Run("ReadFailed", func(t *testing.T) { testReadFailed(t, h) })
}

// Records returns n records with event ids prefix-000 ...: every third is
// failed, with the original input kept; they carry every part of an
// envelope, with timestamps in microseconds as every store keeps them.
func Records(prefix string, n int) []*event.Envelope {
	at := time.Date(2026, 12, 4, 10, 11, 12, 0, time.UTC)
	out := make([]*event.Envelope, n)
	for i := range out {
		ts := event.Time{Time: at.Add(time.Duration(i) * time.Millisecond).Add(123 * time.Microsecond)}
		r := &event.Envelope{
			EventID: fmt.Sprintf("%s-%03d", prefix, i), RequestID: prefix + "-req",
			CollectedAt: ts, SentAt: ts, CreatedAt: event.Time{Time: ts.Add(-time.Second)}, EventTime: ts,
			Protocol: "selfdesc", Schema: "iglu:com.acme/checkout/jsonschema/1-0-0",
			Vendor: "com.acme", Name: "checkout", Version: "1-0-0", Namespace: "default",
			Valid:    true,
			Payload:  json.RawMessage(fmt.Sprintf(`{"order_id":"o-%d","total":%d.5,"note":"line\nbreak \"quoted\" é"}`, i, i)),
			Contexts: []event.Context{{Schema: "iglu:com.acme/user/jsonschema/1-0-0", Data: json.RawMessage(`{"id":"u-1"}`)}},
			Source: event.Source{IP: "192.0.2.1", UserAgent: "sinktest/1.0 \"quoted\"", Referer: "https://shop.example/?a=1&b=2",
				Origin: "https://shop.example", Path: "/events"},
			Identity:    event.Identity{UserID: "user-1", AnonymousID: "anon-1"},
			Collector:   event.Collector{Name: "accord", Version: "test", Env: "ci", Host: "h"},
			Fingerprint: fmt.Sprintf("fp%d", i),
		}
		if i%4 == 3 {
			r.Attributes = json.RawMessage(`{"specversion":"1.0"}`)
			r.ReplayedAt = event.Time{Time: ts.Add(time.Hour)}
		}
		if i%3 == 2 {
			r.Valid = false
			r.Failure = event.NewFailure(event.SchemaViolation, fmt.Sprintf("/total must be a number (record %d)", i))
			r.Failure.Messages[0].InstancePath, r.Failure.Messages[0].Keyword = "/total", "type"
			if i%2 == 0 {
				r.SetRaw([]byte(`{"total":"x"}`))
			} else {
				r.Failure.Type = event.PayloadFormatViolation
				r.SetRaw([]byte("not \xff json"))
			}
		}
		out[i] = r
	}
	return out
}

// AsDelivered returns records as delivery hands them to s: each carrying
// its encoding, and, for a sink that reads JSON only, nothing else but
// valid.
func AsDelivered(s sink.Sink, records []*event.Envelope) []*event.Envelope {
	_, jsonOnly := s.(sink.JSONOnly)
	out := make([]*event.Envelope, len(records))
	for i, r := range records {
		encoded := r.AppendJSON(nil)
		if jsonOnly {
			out[i] = &event.Envelope{Valid: r.Valid, JSON: encoded}
			continue
		}
		c := *r
		c.JSON = encoded
		out[i] = &c
	}
	return out
}

// Encoded returns each record's JSON by event_id, as the records'
// encoder writes them: what a record read back must equal.
func Encoded(t *testing.T, records []*event.Envelope) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, r := range records {
		c := *r
		c.JSON = nil // the fields, not what they were once encoded as
		var id struct {
			EventID string `json:"event_id"`
		}
		b := c.AppendJSON(nil)
		if len(r.JSON) > 0 && r.EventID == "" {
			// A record carrying its encoding only: its id is in there.
			b = r.JSON
		}
		if err := json.Unmarshal(b, &id); err != nil {
			t.Fatalf("record is not JSON: %v\n%s", err, b)
		}
		out[id.EventID] = append(out[id.EventID], string(b))
	}
	return out
}

func open(t *testing.T, h Harness) Instance {
	t.Helper()
	in := h.New(t)
	connect(t, in.Sink)
	return in
}

// connect connects a sink built by Harness.New.
func connect(t *testing.T, s sink.Sink) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Connect(ctx); err != nil {
		t.Fatalf("Connect: %v", err)
	}
}

// closeSink closes s within a deadline, as delivery does.
func closeSink(s sink.Sink) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return s.Close(ctx)
}

func write(t *testing.T, s sink.Sink, records []*event.Envelope) {
	t.Helper()
	if err := s.Write(context.Background(), records); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func closeAndRead(t *testing.T, in Instance) (good, failed map[string][]string) {
	t.Helper()
	if err := closeSink(in.Sink); err != nil {
		t.Fatalf("Close: %v", err)
	}
	g, f := in.Stored(t)
	return Encoded(t, g), Encoded(t, f)
}

func split(recs []*event.Envelope) (good, failed []*event.Envelope) {
	for _, r := range recs {
		if r.Valid {
			good = append(good, r)
		} else {
			failed = append(failed, r)
		}
	}
	return good, failed
}

// times returns every record of recs n times over.
func times(t *testing.T, recs []*event.Envelope, n int) map[string][]string {
	t.Helper()
	out := Encoded(t, recs)
	for id, docs := range out {
		for range n - 1 {
			out[id] = append(out[id], docs[0])
		}
	}
	return out
}

func checkStored(t *testing.T, what string, got, want map[string][]string) {
	t.Helper()
	if maps.EqualFunc(got, want, slices.Equal) {
		return
	}
	ids := slices.Sorted(maps.Keys(want))
	for _, id := range ids {
		if !slices.Equal(got[id], want[id]) {
			t.Errorf("%s: record %q stored %d times as\n%s\nwant %d times as\n%s", what, id,
				len(got[id]), strings.Join(got[id], "\n"), len(want[id]), strings.Join(want[id], "\n"))
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("%s: record %q stored but never written: %s", what, id, got[id])
		}
	}
}

// testLifecycle holds a sink to what delivery does with it beside writing:
// Close a sink that never connected (the collector stopped while its store
// was down), Connect a connected one again, Close twice.
func testLifecycle(t *testing.T, h Harness) {
	t.Run("close without connect", func(t *testing.T) {
		in := h.New(t)
		if err := closeSink(in.Sink); err != nil {
			t.Errorf("Close of a sink that never connected: %v", err)
		}
		if err := in.Sink.Write(context.Background(), Records("never", 3)); err == nil {
			t.Error("Write after Close succeeded")
		}
	})
	t.Run("connect twice", func(t *testing.T) {
		in := open(t, h)
		connect(t, in.Sink)
		recs := Records("again", 6)
		write(t, in.Sink, recs)
		good, failed := closeAndRead(t, in)
		wantGood, wantFailed := split(recs)
		checkStored(t, "good records", good, Encoded(t, wantGood))
		checkStored(t, "failed records", failed, Encoded(t, wantFailed))
		if err := closeSink(in.Sink); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}

func testSelection(t *testing.T, h Harness) {
	for _, mode := range []string{"decoded", "as delivered"} {
		t.Run(mode, func(t *testing.T) {
			in := open(t, h)
			recs := Records("sel", 30)
			batch := recs
			if mode == "as delivered" {
				batch = AsDelivered(in.Sink, recs)
			}
			write(t, in.Sink, batch[:10])
			write(t, in.Sink, batch[10:])
			good, failed := closeAndRead(t, in)
			wantGood, wantFailed := split(recs)
			checkStored(t, "good records", good, Encoded(t, wantGood))
			checkStored(t, "failed records", failed, Encoded(t, wantFailed))
		})
	}
}

func testEmptyBatch(t *testing.T, h Harness) {
	in := open(t, h)
	write(t, in.Sink, nil)
	write(t, in.Sink, []*event.Envelope{})
	good, failed := closeAndRead(t, in)
	if len(good)+len(failed) != 0 {
		t.Errorf("empty batches stored %d good and %d failed records", len(good), len(failed))
	}
}

func testWrittenTwice(t *testing.T, h Harness) {
	in := open(t, h)
	recs := Records("twice", 12)
	write(t, in.Sink, recs)
	// Delivery retries a batch after a crash or a failed write: all of it
	// again, or part of it within a larger one.
	write(t, in.Sink, append(slices.Clone(recs), Records("more", 3)...))
	good, failed := closeAndRead(t, in)
	n := 2
	if h.Dedupes {
		n = 1
	}
	wantGood, wantFailed := split(recs)
	moreGood, moreFailed := split(Records("more", 3))
	want := func(first, more []*event.Envelope) map[string][]string {
		m := times(t, first, n)
		maps.Copy(m, Encoded(t, more))
		return m
	}
	checkStored(t, "good records", good, want(wantGood, moreGood))
	checkStored(t, "failed records", failed, want(wantFailed, moreFailed))
}

func testConcurrentWrites(t *testing.T, h Harness) {
	in := open(t, h)
	const writers, batches, perBatch = 4, 5, 20
	var all []*event.Envelope
	var wg sync.WaitGroup
	errs := make(chan error, writers*batches)
	for w := range writers {
		var mine [][]*event.Envelope
		for b := range batches {
			batch := Records(fmt.Sprintf("w%d-b%d", w, b), perBatch)
			all = append(all, batch...)
			mine = append(mine, batch)
		}
		wg.Go(func() {
			for _, batch := range mine {
				if err := in.Sink.Write(context.Background(), batch); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Write: %v", err)
	}
	good, failed := closeAndRead(t, in)
	wantGood, wantFailed := split(all)
	checkStored(t, "good records", good, Encoded(t, wantGood))
	checkStored(t, "failed records", failed, Encoded(t, wantFailed))
}

func testCloseDuringWrites(t *testing.T, h Harness) {
	in := open(t, h)
	const writers = 4
	var (
		mu        sync.Mutex
		acked     []*event.Envelope
		attempted []*event.Envelope
		started   sync.WaitGroup
		wg        sync.WaitGroup
	)
	started.Add(writers)
	for w := range writers {
		wg.Go(func() {
			for b := 0; ; b++ {
				batch := Records(fmt.Sprintf("c%d-b%d", w, b), 10)
				mu.Lock()
				attempted = append(attempted, batch...)
				mu.Unlock()
				err := in.Sink.Write(context.Background(), batch)
				if b == 0 {
					started.Done()
				}
				if err != nil {
					return // closed
				}
				mu.Lock()
				acked = append(acked, batch...)
				mu.Unlock()
				if b > 10000 {
					t.Error("writes still succeed long after Close")
					return
				}
			}
		})
	}
	started.Wait()
	closed := make(chan error, 1)
	go func() { closed <- closeSink(in.Sink) }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close during writes: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Close did not return while writes were in flight")
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("writes in flight did not return after Close")
	}
	if err := in.Sink.Write(context.Background(), Records("late", 2)); err == nil {
		t.Error("Write after Close succeeded")
	}
	if err := closeSink(in.Sink); err != nil {
		t.Errorf("second Close: %v", err)
	}
	g, f := in.Stored(t)
	stored := Encoded(t, append(g, f...))
	// Every acknowledged record is stored; whatever else is stored is a
	// record of a write that was in flight, whole.
	for id, docs := range Encoded(t, acked) {
		if len(stored[id]) == 0 {
			t.Errorf("acknowledged record %s is not stored", id)
		} else if stored[id][0] != docs[0] {
			t.Errorf("acknowledged record %s stored as\n%s\nwant\n%s", id, stored[id][0], docs[0])
		}
	}
	tried := Encoded(t, attempted)
	for id, docs := range stored {
		if want, ok := tried[id]; !ok || docs[0] != want[0] {
			t.Errorf("stored record %s was never written as\n%s", id, docs[0])
		}
	}
}

func testFailureClasses(t *testing.T, h Harness) {
	probe := h.New(t)
	if probe.Fail == nil {
		_ = closeSink(probe.Sink)
		t.Skip("the destination cannot be made to fail")
	}
	_ = closeSink(probe.Sink)
	for _, tc := range []struct {
		name    string
		failure Failure
	}{
		{"permanent", Permanent},
		{"transient", Transient},
		{"retry after", RetryAfter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := open(t, h)
			recs := Records("fail", 6)
			if !in.Fail(tc.failure) {
				_ = closeSink(in.Sink)
				t.Skipf("the destination cannot be made to fail with a %s error", tc.name)
			}
			err := in.Sink.Write(context.Background(), recs)
			if err == nil {
				t.Fatal("Write to a failing destination succeeded")
			}
			var permanent *sink.PermanentError
			var after *sink.RetryAfterError
			isPermanent, isAfter := errors.As(err, &permanent), errors.As(err, &after)
			switch tc.failure {
			case Permanent:
				if !isPermanent || isAfter {
					t.Errorf("error %v: want a *sink.PermanentError", err)
				}
			case Transient:
				if isPermanent || isAfter {
					t.Errorf("error %v: want a transient error (neither permanent nor retry-after)", err)
				}
			case RetryAfter:
				if isPermanent || !isAfter || after.After != RetryAfterDelay {
					t.Errorf("error %v: want a *sink.RetryAfterError of %v", err, RetryAfterDelay)
				}
			}
			// Once the destination recovers, the retried batch is stored.
			in.Fail(None)
			write(t, in.Sink, recs)
			good, failed := closeAndRead(t, in)
			wantGood, wantFailed := split(recs)
			if !h.Dedupes {
				// The refused write may have stored part of the batch.
				for id := range good {
					good[id] = good[id][len(good[id])-1:]
				}
				for id := range failed {
					failed[id] = failed[id][len(failed[id])-1:]
				}
			}
			checkStored(t, "good records", good, Encoded(t, wantGood))
			checkStored(t, "failed records", failed, Encoded(t, wantFailed))
		})
	}
}

func testReadFailed(t *testing.T, h Harness) {
	if h.Type.ReadFailed == nil {
		t.Skip("the type cannot read failed records back")
	}
	in := open(t, h)
	recs := Records("read", 30)
	write(t, in.Sink, recs)
	if err := closeSink(in.Sink); err != nil {
		t.Fatal(err)
	}
	_, failed := split(recs)
	collectedAt := func(r *event.Envelope) time.Time { return r.CollectedAt.Time }
	sort.SliceStable(failed, func(i, j int) bool { return collectedAt(failed[i]).Before(collectedAt(failed[j])) })
	mid := failed[len(failed)/2].CollectedAt.Time
	for _, tc := range []struct {
		name string
		q    sink.FailedQuery
	}{
		{"all", sink.FailedQuery{}},
		{"by type", sink.FailedQuery{Types: []event.FailureType{event.PayloadFormatViolation}}},
		{"by schema prefix", sink.FailedQuery{Schema: "iglu:com.acme/"}},
		{"by other schema", sink.FailedQuery{Schema: "iglu:com.other/checkout/jsonschema/1-0-0"}},
		{"since", sink.FailedQuery{Since: mid}},
		{"until", sink.FailedQuery{Until: mid}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got, want []string
			for _, r := range failed {
				if tc.q.Match(r) {
					want = append(want, string(r.AppendJSON(nil)))
				}
			}
			err := h.Type.ReadFailed(context.Background(), in.Options, tc.q, func(r *event.Envelope) error {
				got = append(got, string(r.AppendJSON(nil)))
				return nil
			})
			if err != nil {
				t.Fatalf("ReadFailed: %v", err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("ReadFailed returned, oldest first,\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// CompileContract compiles the self-describing contract key,
// for sink tests that need a contract (typed tables, columns), whose schema is
// body: the members of the JSON schema object after its "self".
func CompileContract(t testing.TB, key, body string) *contract.Contract {
	t.Helper()
	k, err := contract.ParseKey(key)
	if err != nil {
		t.Fatal(err)
	}
	doc := fmt.Sprintf(`{"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
		"self": {"vendor": %q, "name": %q, "format": "jsonschema", "version": %q}, %s}`, k.Vendor, k.Name, k.Version.String(), body)
	c, err := contract.Compile([]byte(doc), k, "test")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// DecodeNDJSON reads NDJSON as the append-only sinks write it: whole lines,
// each an envelope.
func DecodeNDJSON(t *testing.T, data []byte) []*event.Envelope {
	t.Helper()
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Fatalf("NDJSON does not end with a newline: ...%s", data[max(0, len(data)-200):])
	}
	var out []*event.Envelope
	for line := range strings.Lines(string(data)) {
		env := new(event.Envelope)
		if err := event.DecodeEnvelope([]byte(strings.TrimSuffix(line, "\n")), env); err != nil {
			t.Fatalf("line is not an envelope: %v\n%s", err, line)
		}
		out = append(out, env)
	}
	return out
}
