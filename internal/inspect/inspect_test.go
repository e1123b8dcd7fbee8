package inspect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"weak"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/event"
)

func good(schema, protocol string) *event.Envelope {
	return &event.Envelope{EventID: "e", Schema: schema, Protocol: protocol, Valid: true, Payload: json.RawMessage(`{"a":1}`)}
}

func failed(schema, protocol string, t event.FailureType) *event.Envelope {
	return &event.Envelope{EventID: "f", Schema: schema, Protocol: protocol, Failure: event.NewFailure(t, "bad"), Payload: json.RawMessage(`{"a":1}`)}
}

// fixedNow pins the rate window, so a test's records share one.
func fixedNow(tp *Tap, at time.Time) { tp.now = func() time.Time { return at } }

// Nobody watching: Publish allocates nothing and encodes nothing (an
// encoding would allocate its buffer).
func TestPublishWithoutViewersDoesNoWork(t *testing.T) {
	tp := New()
	recs := []*event.Envelope{good("iglu:a/b/jsonschema/1-0-0", "selfdesc"), failed("iglu:a/b/jsonschema/1-0-0", "selfdesc", event.SchemaViolation)}
	if n := testing.AllocsPerRun(1000, func() { tp.Publish(recs) }); n != 0 {
		t.Fatalf("Publish with no viewer allocates %v times; want 0", n)
	}
	// After a viewer came and went, it is back to nothing.
	v, err := tp.Subscribe(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	tp.Unsubscribe(v)
	if tp.viewers.Load() != nil {
		t.Fatal("the last viewer left and the tap still has a viewer list")
	}
	if n := testing.AllocsPerRun(1000, func() { tp.Publish(recs) }); n != 0 {
		t.Fatalf("Publish after the last viewer left allocates %v times; want 0", n)
	}
}

// A viewer that never reads: publishing many records from many goroutines
// returns at once, and every record the viewer did not get is counted.
func TestSlowViewerNeverBlocksAndDropsAreCounted(t *testing.T) {
	tp := New()
	fixedNow(tp, time.Unix(100, 0))
	v, err := tp.Subscribe(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 5000
	done := make(chan struct{})
	go func() {
		var wg sync.WaitGroup
		for range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rec := []*event.Envelope{good("iglu:a/b/jsonschema/1-0-0", "selfdesc")}
				for range each {
					tp.Publish(rec)
				}
			}()
		}
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Publish blocked on a viewer that does not read")
	}
	got := uint64(len(v.Records()))
	if got == 0 || got > Rate/10+writers {
		t.Errorf("the viewer got %d records in one window; want between 1 and %d", got, Rate/10+writers)
	}
	if got+v.Dropped() != writers*each {
		t.Errorf("received %d + dropped %d = %d; want every one of %d records accounted for", got, v.Dropped(), got+v.Dropped(), writers*each)
	}
}

// The buffer bounds what waits for a viewer, whatever the rate.
func TestBufferBoundsAViewer(t *testing.T) {
	tp := New()
	v, err := tp.Subscribe(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	rec := []*event.Envelope{good("iglu:a/b/jsonschema/1-0-0", "selfdesc")}
	total := 0
	for w := range int64(3 * Buffer / (Rate / 10)) {
		fixedNow(tp, time.Unix(0, 0).Add(time.Duration(w)*100*time.Millisecond))
		for range Rate / 10 {
			tp.Publish(rec)
			total++
		}
	}
	if len(v.Records()) != Buffer {
		t.Errorf("%d records wait for the viewer; want the buffer, %d", len(v.Records()), Buffer)
	}
	if v.Dropped() != uint64(total-Buffer) {
		t.Errorf("dropped %d; want %d", v.Dropped(), total-Buffer)
	}
}

// The rate: in one tenth of a second a viewer is sent Rate/10 records,
// in the next as many again.
func TestRatePerViewer(t *testing.T) {
	tp := New()
	fixedNow(tp, time.Unix(50, 0))
	v, _ := tp.Subscribe(Filter{})
	rec := []*event.Envelope{good("iglu:a/b/jsonschema/1-0-0", "selfdesc")}
	for range 100 {
		tp.Publish(rec)
	}
	if len(v.Records()) != Rate/10 || v.Dropped() != 100-Rate/10 {
		t.Fatalf("got %d, dropped %d; want %d and %d", len(v.Records()), v.Dropped(), Rate/10, 100-Rate/10)
	}
	fixedNow(tp, time.Unix(50, 0).Add(100*time.Millisecond))
	tp.Publish(rec)
	if len(v.Records()) != Rate/10+1 {
		t.Fatalf("a new window let %d through; want one more", len(v.Records())-Rate/10)
	}
}

func TestFilter(t *testing.T) {
	key := "iglu:com.acme/checkout/jsonschema/1-0-0"
	cases := []struct {
		name string
		f    Filter
		rec  *event.Envelope
		want bool
	}{
		{"empty selects good", Filter{}, good(key, "selfdesc"), true},
		{"empty selects failed", Filter{}, failed(key, "segment", event.SchemaViolation), true},
		{"contract exact", Filter{Contract: key}, good(key, "selfdesc"), true},
		{"contract other", Filter{Contract: "iglu:com.acme/other/jsonschema/1-0-0"}, good(key, "selfdesc"), false},
		{"contract prefix /", Filter{Contract: "iglu:com.acme/"}, good(key, "selfdesc"), true},
		{"contract prefix -", Filter{Contract: "iglu:com.acme/checkout/jsonschema/1-"}, good(key, "selfdesc"), true},
		{"contract no partial match without / or -", Filter{Contract: "iglu:com.acme/check"}, good(key, "selfdesc"), false},
		{"protocol", Filter{Protocol: "segment"}, good(key, "selfdesc"), false},
		{"protocol match", Filter{Protocol: "selfdesc"}, good(key, "selfdesc"), true},
		{"good only", Filter{Valid: "good"}, failed(key, "selfdesc", event.SchemaViolation), false},
		{"failed only", Filter{Valid: "failed"}, good(key, "selfdesc"), false},
		{"failed only failed", Filter{Valid: "failed"}, failed(key, "selfdesc", event.SchemaViolation), true},
		{"failure type", Filter{FailureType: event.SchemaNotFound}, failed(key, "selfdesc", event.SchemaViolation), false},
		{"failure type match", Filter{FailureType: event.SchemaViolation}, failed(key, "selfdesc", event.SchemaViolation), true},
		{"failure type excludes good", Filter{FailureType: event.SchemaViolation}, good(key, "selfdesc"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.f.Match(tc.rec); got != tc.want {
				t.Errorf("Match = %v, want %v", got, tc.want)
			}
		})
	}
}

// Filtered out is not dropped: a viewer's counter counts only what it
// asked for and did not get.
func TestFilteredRecordsAreNotCountedAsDropped(t *testing.T) {
	tp := New()
	v, _ := tp.Subscribe(Filter{Valid: "failed"})
	tp.Publish([]*event.Envelope{good("iglu:a/b/jsonschema/1-0-0", "selfdesc"), failed("iglu:a/b/jsonschema/1-0-0", "selfdesc", event.SchemaViolation)})
	if len(v.Records()) != 1 || v.Dropped() != 0 {
		t.Fatalf("got %d records, %d dropped; want the failed one and none dropped", len(v.Records()), v.Dropped())
	}
	if got := string(<-v.Records()); !strings.Contains(got, `"event_id":"f"`) || !strings.Contains(got, `"schema_violation"`) {
		t.Errorf("the viewer got %s; want the failed record's envelope", got)
	}
}

func TestMaxViewersAndClose(t *testing.T) {
	tp := New()
	var vs []*Viewer
	for range MaxViewers {
		v, err := tp.Subscribe(Filter{})
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	if _, err := tp.Subscribe(Filter{}); !errors.Is(err, ErrTooManyViewers) {
		t.Fatalf("viewer %d: %v; want ErrTooManyViewers", MaxViewers+1, err)
	}
	tp.Unsubscribe(vs[0])
	if _, err := tp.Subscribe(Filter{}); err != nil {
		t.Fatalf("a place freed and Subscribe still refuses: %v", err)
	}
	tp.Close()
	select {
	case <-tp.Done():
	default:
		t.Fatal("Close did not close Done")
	}
	if _, err := tp.Subscribe(Filter{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Subscribe after Close: %v; want ErrClosed", err)
	}
	tp.Close() // twice is harmless
}

// One record too large to show is a stub naming it, not a quarter-MiB
// message in a browser.
func TestLargeRecordIsAStub(t *testing.T) {
	tp := New()
	v, _ := tp.Subscribe(Filter{})
	big := good("iglu:a/b/jsonschema/1-0-0", "selfdesc")
	big.Payload = json.RawMessage(`{"s":"` + strings.Repeat("x", MaxRecordBytes) + `"}`)
	tp.Publish([]*event.Envelope{big})
	got := <-v.Records()
	if len(got) > 4096 || !strings.Contains(string(got), "too large to show") || !strings.Contains(string(got), `"event_id":"e"`) {
		t.Fatalf("large record shown as %d bytes: %.200s", len(got), got)
	}
}

type fakeStore struct {
	err error
	got int
}

func (f *fakeStore) Deliver(_ context.Context, records []*event.Envelope) error {
	if f.err != nil {
		return f.err
	}
	f.got += len(records)
	return nil
}

// Only stored records are shown: a refused request's are not.
func TestDelivererPublishesOnlyStoredRecords(t *testing.T) {
	tp := New()
	v, _ := tp.Subscribe(Filter{})
	store := &fakeStore{err: errors.New("spool full")}
	d := tp.Deliverer(store)
	rec := []*event.Envelope{good("iglu:a/b/jsonschema/1-0-0", "selfdesc")}
	if err := d.Deliver(context.Background(), rec); err == nil || err.Error() != "spool full" {
		t.Fatalf("Deliver: %v; want the store's error as it is", err)
	}
	if len(v.Records()) != 0 {
		t.Fatal("a record the store refused was shown")
	}
	store.err = nil
	if err := d.Deliver(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	if len(v.Records()) != 1 || store.got != 1 {
		t.Fatalf("stored %d, shown %d; want 1 and 1", store.got, len(v.Records()))
	}
}

// A large failed record's stub keeps its messages, each cut: messages
// quote what the client sent, so 20 long ones would make the stub as
// large as the record it stands for.
func TestLargeFailedRecordStubIsSmall(t *testing.T) {
	tp := New()
	v, _ := tp.Subscribe(Filter{})
	rec := good("iglu:a/b/jsonschema/1-0-0", "selfdesc")
	rec.Valid = false
	long := strings.Repeat("é", 30_000)
	f := &event.Failure{Type: event.SchemaViolation}
	for range 25 {
		f.Messages = append(f.Messages, event.Message{InstancePath: "/data/" + long, Message: long})
	}
	rec.Failure = f
	tp.Publish([]*event.Envelope{rec})
	got := <-v.Records()
	if len(got) > 64<<10 || !strings.Contains(string(got), "too large to show") || !strings.Contains(string(got), "bytes cut") {
		t.Fatalf("failed record with 25 long messages shown as %d bytes: %.200s", len(got), got)
	}
}

// The bytes budgets: eight viewers that never read, each selecting its own
// records (so no encoding is shared), fed large records from several
// goroutines for many rate windows, hold at most ViewerBytes each and
// TotalBytes together; everything else is counted as dropped. Without the
// budgets the buffers alone would hold MaxViewers × Buffer × the record
// size (here 8 × 256 × 200 KiB, 400 MiB).
func TestBytesBudgetBoundsWhatViewersHold(t *testing.T) {
	tp := New()
	// Every Publish is a new rate window: the rate does not limit here,
	// only the budgets (and the buffer) do.
	var tick atomic.Int64
	tp.now = func() time.Time { return time.Unix(0, tick.Add(1)*int64(100*time.Millisecond)) }
	payload := json.RawMessage(`{"s":"` + strings.Repeat("x", 200<<10) + `"}`)
	var vs []*Viewer
	for i := range MaxViewers {
		v, err := tp.Subscribe(Filter{Contract: fmt.Sprintf("iglu:a/v%d/jsonschema/1-0-0", i)})
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	const perViewer = 60 // 60 × 200 KiB = 12 MiB a viewer, 96 MiB in all
	var wg sync.WaitGroup
	for i := range vs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := good(fmt.Sprintf("iglu:a/v%d/jsonschema/1-0-0", i), "selfdesc")
			rec.Payload = payload
			for range perViewer {
				tp.Publish([]*event.Envelope{rec})
			}
		}()
	}
	wg.Wait()
	seen := map[*byte]bool{}
	total, held0 := 0, 0
	for i, v := range vs {
		held, n := 0, len(v.Records())
		for range n {
			rec := <-v.Records()
			held += len(rec)
			if !seen[&rec[0]] {
				seen[&rec[0]] = true
				total += len(rec)
			}
		}
		if i == 0 {
			held0 = held
		}
		if held > ViewerBytes {
			t.Errorf("viewer %d holds %d bytes; want at most ViewerBytes, %d", i, held, ViewerBytes)
		}
		if uint64(n)+v.Dropped() != perViewer {
			t.Errorf("viewer %d: received %d + dropped %d; want every one of %d records accounted for", i, n, v.Dropped(), perViewer)
		}
	}
	if total == 0 || total > TotalBytes {
		t.Errorf("the viewers hold %d bytes together; want some, and at most TotalBytes, %d", total, TotalBytes)
	}
	// Once a viewer has released what it took, it is sent records again.
	vs[0].Release(held0)
	for _, v := range vs[1:] {
		tp.Unsubscribe(v)
	}
	rec := good("iglu:a/v0/jsonschema/1-0-0", "selfdesc")
	rec.Payload = payload
	tp.Publish([]*event.Envelope{rec})
	if len(vs[0].Records()) != 1 {
		t.Fatalf("after Release the viewer has %d records waiting; want the one published", len(vs[0].Records()))
	}
}

// slowStore stands in for a spool whose group commit takes a while: it
// keeps nothing of the records and returns once released.
type slowStore struct {
	got     chan weak.Pointer[event.Envelope]
	release chan struct{}
}

func (s *slowStore) Deliver(_ context.Context, records []*event.Envelope) error {
	s.got <- weak.Make(records[0])
	<-s.release
	return nil
}

// With nobody watching, the tap keeps nothing of a request's records while
// the store stores them, so their memory can go once they are encoded.
func TestDelivererWithoutViewersKeepsNoRecords(t *testing.T) {
	tp := New()
	store := &slowStore{got: make(chan weak.Pointer[event.Envelope]), release: make(chan struct{})}
	d := tp.Deliverer(store)
	done := make(chan error)
	go func() {
		done <- d.Deliver(context.Background(), []*event.Envelope{good("iglu:a/b/jsonschema/1-0-0", "selfdesc")})
	}()
	wp := <-store.got
	kept := !check.Collected(wp)
	close(store.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if kept {
		t.Fatal("the tap kept the records while the store stored them")
	}
}

// keepingNothing is a store that says it keeps nothing of the records once
// stored, as a spool does.
type keepingNothing struct{ fakeStore }

func (*keepingNothing) KeepsNoRecords() bool { return true }

// The tap says what the store it wraps says of keeping records: it keeps
// only the encoding of those it publishes.
func TestDelivererKeepsNoRecordsAsItsStore(t *testing.T) {
	tp := New()
	type keeps interface{ KeepsNoRecords() bool }
	if k, ok := tp.Deliverer(&keepingNothing{}).(keeps); !ok || !k.KeepsNoRecords() {
		t.Error("the tap over a store keeping no records does not say so")
	}
	if k, ok := tp.Deliverer(&fakeStore{}).(keeps); ok && k.KeepsNoRecords() {
		t.Error("the tap over a store that may keep its records says it keeps none")
	}
}

// releasingStore gives a request's records back before it returns, as a
// spool does once it has encoded them (server.ReleasesRecords).
type releasingStore struct {
	keepingNothing
	releasing int
}

func (s *releasingStore) DeliverReleasing(ctx context.Context, records []*event.Envelope, release func()) error {
	s.releasing++
	defer release()
	return s.Deliver(ctx, records)
}

// With nobody watching, the tap lets its store give the records back early;
// with a viewer, it gives them back itself once it has published them,
// never before, and exactly once either way.
func TestDeliverReleasing(t *testing.T) {
	store := &releasingStore{}
	tp := New()
	d := tp.Deliverer(store).(interface {
		DeliverReleasing(context.Context, []*event.Envelope, func()) error
	})
	recs := []*event.Envelope{good("iglu:a/b/jsonschema/1-0-0", "selfdesc")}
	calls := 0
	if err := d.DeliverReleasing(context.Background(), recs, func() { calls++ }); err != nil {
		t.Fatal(err)
	}
	if store.releasing != 1 || calls != 1 {
		t.Errorf("nobody watching: the store was asked to release %d times, release called %d times; want 1 and 1", store.releasing, calls)
	}

	v, err := tp.Subscribe(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Unsubscribe(v)
	calls = 0
	err = d.DeliverReleasing(context.Background(), recs, func() {
		calls++
		if len(v.Records()) != 1 {
			t.Error("released before the viewer was sent the record")
		}
		recs[0].EventID = "reused" // what the next request's records may do
	})
	if err != nil {
		t.Fatal(err)
	}
	if store.releasing != 1 || calls != 1 {
		t.Errorf("a viewer watching: the store was asked to release %d times, release called %d times; want 1 and 1", store.releasing, calls)
	}
	if got := string(<-v.Records()); !strings.Contains(got, `"event_id":"e"`) {
		t.Errorf("the viewer got %s; want the record as it was delivered", got)
	}
}

type tooLargeErr struct{}

func (tooLargeErr) Error() string  { return "records too large" }
func (tooLargeErr) TooLarge() bool { return true }

// Records the store refuses as too large are never released, whether the
// store or the tap would have released them: the caller answers that
// refusal with the request's first bytes, which it gives back with them.
func TestDeliverReleasingNotOnATooLargeRefusal(t *testing.T) {
	tp := New()
	d := tp.Deliverer(&fakeStore{err: fmt.Errorf("append: %w", tooLargeErr{})}).(interface {
		DeliverReleasing(context.Context, []*event.Envelope, func()) error
	})
	v, err := tp.Subscribe(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Unsubscribe(v)
	calls := 0
	err = d.DeliverReleasing(context.Background(), []*event.Envelope{good("iglu:a/b/jsonschema/1-0-0", "selfdesc")}, func() { calls++ })
	if !errors.As(err, new(tooLargeErr)) || calls != 0 {
		t.Errorf("refused as too large: release called %d times, err %v; want never, the refusal", calls, err)
	}
}
