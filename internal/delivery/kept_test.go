package delivery

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"unsafe"
	"weak"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
)

// Once Deliver has encoded a request's records it keeps none of them while
// it waits (for the spool's group commit, or here for the sinks), so that a
// collector with many requests in flight holds only their encoded frames.
// Records are counted once stored, those of kinds seen before (counted in
// advance) as those of a kind seen for the first time (counted after).
func TestDeliverKeepsNoRecordsWhileItWaits(t *testing.T) {
	sp := testSpool(t, t.TempDir(), 1<<30)
	target := &recordingSink{}
	svc := start(t, Config{Spool: sp, WaitForSinks: true}, Target{Name: "s", Records: sink.All, Sink: target, Options: fastOptions()})
	if err := svc.Deliver(context.Background(), records("seen", 3)); err != nil {
		t.Fatal(err)
	}
	target.setFail(func([]*event.Envelope) error { return errors.New("down") })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kept := make(chan weak.Pointer[event.Envelope], 1)
	done := make(chan error)
	go func() {
		recs := records("wait", 3)
		kept <- weak.Make(recs[0])
		done <- svc.Deliver(ctx, recs)
	}()
	wp := <-kept
	if !check.Collected(wp) {
		t.Error("Deliver kept the records while it waited for the sinks")
	}
	target.setFail(nil)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var good, failed uint64
	for _, c := range svc.Stats().Contracts {
		good, failed = good+c.Good, failed+c.Failed
	}
	if good != 4 || failed != 2 {
		t.Errorf("counted %d good and %d failed records; want 4 and 2", good, failed)
	}
	byKind := map[string]uint64{}
	for _, k := range svc.EventCounts() {
		byKind[k.FailureType] += k.Records
	}
	if byKind[""] != 4 || byKind[string(event.SchemaViolation)] != 2 {
		t.Errorf("counted %v by failure type; want 4 good and 2 schema violations", byKind)
	}
}

// sharingSink keeps nothing of the records past a Write
// (sink.KeepsNoStrings): it notes, by event id, whether each record's
// strings shared the bytes it was spooled as.
type sharingSink struct {
	recordingSink
	mu2    sync.Mutex
	shared map[string]bool
}

func (*sharingSink) KeepsNoStrings() {}

func (s *sharingSink) Write(_ context.Context, batch []*event.Envelope) error {
	s.mu2.Lock()
	defer s.mu2.Unlock()
	if s.shared == nil {
		s.shared = map[string]bool{}
	}
	for _, r := range batch {
		s.shared[strings.Clone(r.EventID)] = sharesJSON(r)
	}
	return nil
}

// sharesJSON reports whether r's strings point into the bytes it was
// spooled as (Envelope.JSON).
func sharesJSON(r *event.Envelope) bool {
	within := func(s string, b []byte) bool {
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
		return p >= start && p < start+uintptr(len(b))
	}
	return len(r.JSON) > 0 && within(r.EventID, r.JSON) && within(r.Schema, r.JSON)
}

// TestSharedDecodingOnlyForSinksKeepingNoStrings: records read back from
// the spool for a sink that keeps none of their strings share the bytes
// read (Envelope.JSON) instead of copying each record; any other sink gets
// strings of their own, which it may keep.
func TestSharedDecodingOnlyForSinksKeepingNoStrings(t *testing.T) {
	sp := testSpool(t, t.TempDir(), 1<<30)
	sharing, copying := &sharingSink{}, &recordingSink{}
	svc := start(t, Config{Spool: sp, WaitForSinks: true},
		Target{Name: "sharing", Records: sink.All, Sink: sharing, Options: fastOptions()},
		Target{Name: "copying", Records: sink.All, Sink: copying, Options: fastOptions()})
	if err := svc.Deliver(context.Background(), records("r", 3)); err != nil {
		t.Fatal(err)
	}
	sharing.mu2.Lock()
	if len(sharing.shared) != 3 {
		t.Fatalf("sharing sink got %d records, want 3", len(sharing.shared))
	}
	for id, shared := range sharing.shared {
		if !shared {
			t.Errorf("sharing sink: record %s's strings do not share its spooled bytes", id)
		}
	}
	sharing.mu2.Unlock()
	copying.mu.Lock()
	got := copying.got
	copying.mu.Unlock()
	if len(got) != 3 {
		t.Fatalf("copying sink got %d records, want 3", len(got))
	}
	for _, r := range got {
		if len(r.JSON) == 0 {
			t.Fatalf("copying sink: record %s without its spooled bytes", r.EventID)
		}
		if sharesJSON(r) {
			t.Errorf("copying sink: record %s's strings share its spooled bytes", r.EventID)
		}
	}
}

// With a spool the service keeps only the records' encoding once Deliver
// has returned, so the server may reuse their memory; handing records to
// the sinks directly, it does not say so, since a sink may keep them.
func TestKeepsNoRecordsWithASpool(t *testing.T) {
	sp := testSpool(t, t.TempDir(), 1<<30)
	if !start(t, Config{Spool: sp}, Target{Name: "s", Records: sink.All, Sink: &recordingSink{}, Options: fastOptions()}).KeepsNoRecords() {
		t.Error("a service with a spool says it may keep the records it is handed")
	}
	if start(t, Config{}, Target{Name: "s", Records: sink.All, Sink: &recordingSink{}, Options: fastOptions()}).KeepsNoRecords() {
		t.Error("a service handing records to its sinks says it keeps none")
	}
}

// DeliverReleasing gives the records back (calls release) as soon as a
// spool has them encoded, before the group commit is awaited, so that the
// caller can make other requests' records in their memory meanwhile; it
// calls release exactly once, after the append when it still needs the
// records (a kind never counted before is counted once stored), and never
// when it refuses them as too large.
func TestDeliverReleasing(t *testing.T) {
	sp := testSpool(t, t.TempDir(), 1<<30)
	svc := start(t, Config{Spool: sp}, Target{Name: "s", Records: sink.All, Sink: &recordingSink{}, Options: fastOptions()})
	ctx := context.Background()
	if err := svc.Deliver(ctx, records("seen", 3)); err != nil {
		t.Fatal(err)
	}
	// deliver returns how often release was called and the spool's next
	// offset when it was.
	deliver := func(svc *Service, recs []*event.Envelope) (calls int, at uint64, err error) {
		err = svc.DeliverReleasing(ctx, recs, func() {
			calls++
			if sp != nil {
				at = sp.Stats().NextOffset
			}
		})
		return calls, at, err
	}

	before := sp.Stats().NextOffset
	calls, at, err := deliver(svc, records("seen", 3))
	if err != nil || calls != 1 {
		t.Fatalf("a kind counted before: release called %d times, err %v; want once, no error", calls, err)
	}
	if at != before {
		t.Errorf("released at offset %d; want %d, before the records were appended", at, before)
	}
	if after := sp.Stats().NextOffset; after != before+3 {
		t.Errorf("next offset %d after delivery; want %d", after, before+3)
	}

	before = sp.Stats().NextOffset
	fresh := records("new", 2)
	for _, r := range fresh {
		r.Protocol = "a protocol not seen before"
	}
	calls, at, err = deliver(svc, fresh)
	if err != nil || calls != 1 || at != before+2 {
		t.Errorf("a kind never counted: release called %d times at offset %d, err %v; want once, after the append (at %d)", calls, at, err, before+2)
	}

	if calls, _, err = deliver(svc, nil); err != nil || calls != 1 {
		t.Errorf("no records: release called %d times, err %v; want once", calls, err)
	}

	// Refused as too large, the records are not released: the caller
	// answers with the request's first bytes, which it gives back with
	// them. Whether the limit is the request's or the spool's (which
	// takes at most max_bytes less one segment, here 4 KiB, at once).
	sp = testSpool(t, t.TempDir(), 1<<30)
	tight := start(t, Config{Spool: sp, MaxRequestBytes: 10}, Target{Name: "t", Records: sink.All, Sink: &recordingSink{}, Options: fastOptions()})
	if calls, _, err = deliver(tight, records("seen", 1)); !errors.As(err, new(TooLargeError)) || calls != 0 {
		t.Errorf("records over the request limit: release called %d times, err %v; want never, a TooLargeError", calls, err)
	}
	sp = testSpool(t, t.TempDir(), 8<<10)
	small := start(t, Config{Spool: sp}, Target{Name: "u", Records: sink.All, Sink: &recordingSink{}, Options: fastOptions()})
	if err := small.Deliver(ctx, records("seen", 3)); err != nil { // the kind counted, as above
		t.Fatal(err)
	}
	if calls, _, err = deliver(small, records("seen", 60)); !errors.As(err, new(TooLargeError)) || calls != 0 {
		t.Errorf("records too large for the spool: release called %d times, err %v; want never, a TooLargeError", calls, err)
	}

	sp = nil
	direct := start(t, Config{}, Target{Name: "d", Records: sink.All, Sink: &recordingSink{}, Options: fastOptions()})
	if calls, _, err = deliver(direct, records("seen", 2)); err != nil || calls != 1 {
		t.Errorf("without a spool: release called %d times, err %v; want once", calls, err)
	}
}
