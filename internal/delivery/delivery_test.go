package delivery

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/racedetector"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/spool"
)

// recordingSink is a sink whose behaviour a test scripts: it stores the
// records it takes, and fail decides, per write, whether to refuse it.
type recordingSink struct {
	mu     sync.Mutex
	got    []*event.Envelope
	writes int
	fail   func(batch []*event.Envelope) error
	closed bool
	// connect, when set, is what Connect does; connects counts its calls
	// and connectedAt notes when each was made.
	connect     func(ctx context.Context) error
	connects    int
	connectedAt []time.Time
	connected   bool
}

func (s *recordingSink) Connect(ctx context.Context) error {
	s.mu.Lock()
	s.connects++
	s.connectedAt = append(s.connectedAt, time.Now())
	connect := s.connect
	s.mu.Unlock()
	if connect != nil {
		if err := connect(ctx); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.connected = true
	s.mu.Unlock()
	return nil
}

func (s *recordingSink) Write(ctx context.Context, batch []*event.Envelope) error {
	s.mu.Lock()
	fail, connected := s.fail, s.connected
	s.writes++
	s.mu.Unlock()
	if !connected {
		return errors.New("write before connect")
	}
	if fail != nil {
		if err := fail(batch); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	s.got = append(s.got, batch...)
	s.mu.Unlock()
	return nil
}

func (s *recordingSink) Close(context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}

func (s *recordingSink) setFail(f func([]*event.Envelope) error) {
	s.mu.Lock()
	s.fail = f
	s.mu.Unlock()
}

// ids returns the event ids the sink holds, sorted.
func (s *recordingSink) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.got))
	for i, r := range s.got {
		out[i] = r.EventID
	}
	sort.Strings(out)
	return out
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func testSpool(t *testing.T, dir string, maxBytes int64) *spool.Spool {
	t.Helper()
	o := spool.DefaultOptions()
	o.Dir, o.SegmentBytes, o.MaxBytes = dir, 4<<10, maxBytes
	sp, err := spool.Open(o, quietLogger())
	if err != nil {
		t.Fatalf("open spool: %v", err)
	}
	t.Cleanup(func() { sp.Close() })
	return sp
}

func fastOptions() Options {
	o := DefaultOptions()
	o.BackoffMin, o.BackoffMax = time.Millisecond, 5*time.Millisecond
	return o
}

func start(t *testing.T, cfg Config, sinks ...Target) *Service {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	if cfg.DeadLetterDir == "" {
		cfg.DeadLetterDir = filepath.Join(t.TempDir(), "dead-letter")
	}
	svc, err := Start(cfg, sinks)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		// Sinks a test left down would hold a drain forever.
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		svc.Close(ctx)
	})
	return svc
}

// records returns n envelopes with ids prefix-0 ... ; every third is failed.
func records(prefix string, n int) []*event.Envelope {
	out := make([]*event.Envelope, n)
	for i := range out {
		valid := i%3 != 2
		r := &event.Envelope{
			EventID: fmt.Sprintf("%s-%03d", prefix, i), RequestID: "req", Protocol: "selfdesc",
			Schema: "iglu:com.acme/checkout/jsonschema/1-0-0", Vendor: "com.acme", Name: "checkout", Version: "1-0-0",
			Valid: valid, Payload: json.RawMessage(`{"n":` + fmt.Sprint(i) + `}`), Contexts: []event.Context{},
		}
		if !valid {
			r.Failure = event.NewFailure(event.SchemaViolation, "n is wrong")
			r.SetRaw([]byte(`{"n":"x"}`))
		}
		out[i] = r
	}
	return out
}

func idsOf(recs []*event.Envelope, keep func(*event.Envelope) bool) []string {
	var out []string
	for _, r := range recs {
		if keep == nil || keep(r) {
			out = append(out, r.EventID)
		}
	}
	sort.Strings(out)
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDeliverReachesEverySinkBySelection(t *testing.T) {
	sp := testSpool(t, t.TempDir(), 1<<30)
	all, good, failed := &recordingSink{}, &recordingSink{}, &recordingSink{}
	svc := start(t, Config{Spool: sp},
		Target{Name: "all", Records: sink.All, Sink: all, Options: fastOptions()},
		Target{Name: "good", Records: sink.Good, Sink: good, Options: fastOptions()},
		Target{Name: "failed", Records: sink.Failed, Sink: failed, Options: fastOptions()},
	)
	recs := records("a", 30)
	if err := svc.Deliver(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	want := idsOf(recs, nil)
	check.Eventually(t, 10*time.Second, "every sink has its records", func() bool {
		return equal(all.ids(), want) &&
			equal(good.ids(), idsOf(recs, func(r *event.Envelope) bool { return r.Valid })) &&
			equal(failed.ids(), idsOf(recs, func(r *event.Envelope) bool { return !r.Valid }))
	})
	// What comes back out of the spool is the record that went in.
	all.mu.Lock()
	got := all.got[len(all.got)-1]
	all.mu.Unlock()
	last := recs[len(recs)-1]
	if string(got.AppendJSON(nil)) != string(last.AppendJSON(nil)) {
		t.Errorf("round trip through the spool changed the record:\n got %s\nwant %s", got.AppendJSON(nil), last.AppendJSON(nil))
	}
	check.Eventually(t, 10*time.Second, "lag is zero", func() bool {
		for _, s := range svc.Stats().Sinks {
			if s.LagRecords != 0 {
				return false
			}
		}
		return true
	})
	st := svc.Stats()
	if st.Sinks[0].Delivered != 30 || st.Sinks[1].Delivered != 20 || st.Sinks[2].Delivered != 10 {
		t.Errorf("delivered counts = %d, %d, %d; want 30, 20, 10", st.Sinks[0].Delivered, st.Sinks[1].Delivered, st.Sinks[2].Delivered)
	}
	if len(st.Contracts) != 1 || st.Contracts[0].Good != 20 || st.Contracts[0].Failed != 10 {
		t.Errorf("contract counts = %+v; want one contract with 20 good and 10 failed", st.Contracts)
	}
}

func TestTransientFailuresAreRetriedUntilTheSinkRecovers(t *testing.T) {
	sp := testSpool(t, t.TempDir(), 1<<30)
	target := &recordingSink{}
	down := errors.New("connection refused")
	target.setFail(func([]*event.Envelope) error { return down })
	svc := start(t, Config{Spool: sp}, Target{Name: "http", Records: sink.All, Sink: target, Options: fastOptions()})
	recs := records("t", 50)
	for i := 0; i < 50; i += 10 {
		if err := svc.Deliver(context.Background(), recs[i:i+10]); err != nil {
			t.Fatalf("Deliver while the sink is down: %v", err)
		}
	}
	check.Eventually(t, 10*time.Second, "several retries", func() bool { return svc.Stats().Sinks[0].Retried >= 3 })
	if st := svc.Stats().Sinks[0]; st.LastError != down.Error() || st.LagRecords != 50 {
		t.Errorf("while down: last error %q, lag %d; want %q and 50", st.LastError, st.LagRecords, down)
	}
	target.setFail(nil)
	check.Eventually(t, 10*time.Second, "everything delivered after recovery", func() bool { return equal(target.ids(), idsOf(recs, nil)) })
	if st := svc.Stats().Sinks[0]; st.DeadLettered != 0 {
		t.Errorf("dead-lettered %d records of a sink that recovered", st.DeadLettered)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	sp := testSpool(t, t.TempDir(), 1<<30)
	target := &recordingSink{}
	var mu sync.Mutex
	var attempts []time.Time
	target.setFail(func([]*event.Envelope) error {
		mu.Lock()
		defer mu.Unlock()
		attempts = append(attempts, time.Now())
		if len(attempts) == 1 {
			return &sink.RetryAfterError{Err: errors.New("429 too many requests"), After: 200 * time.Millisecond}
		}
		return nil
	})
	svc := start(t, Config{Spool: sp}, Target{Name: "http", Records: sink.All, Sink: target, Options: fastOptions()})
	if err := svc.Deliver(context.Background(), records("r", 3)); err != nil {
		t.Fatal(err)
	}
	check.Eventually(t, 10*time.Second, "delivered", func() bool { return len(target.ids()) == 3 })
	mu.Lock()
	defer mu.Unlock()
	if gap := attempts[1].Sub(attempts[0]); gap < 200*time.Millisecond {
		t.Errorf("retried %s after a Retry-After of 200ms", gap)
	}
}

// readDeadLetters reads a dead-letter file.
func readDeadLetters(t *testing.T, path string) []DeadLetter {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open dead letter: %v", err)
	}
	defer f.Close()
	var out []DeadLetter
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var dl DeadLetter
		if err := json.Unmarshal(sc.Bytes(), &dl); err != nil {
			t.Fatalf("dead letter line %q: %v", sc.Text(), err)
		}
		out = append(out, dl)
	}
	return out
}

func TestPoisonRecordGoesToTheDeadLetterAndTheRestFlows(t *testing.T) {
	sp := testSpool(t, t.TempDir(), 1<<30)
	target := &recordingSink{}
	target.setFail(func(batch []*event.Envelope) error {
		for _, r := range batch {
			if r.EventID == "p-007" {
				return &sink.PermanentError{Err: errors.New("400 Bad Request: field n too large")}
			}
		}
		return nil
	})
	dlDir := filepath.Join(t.TempDir(), "dl")
	svc := start(t, Config{Spool: sp, DeadLetterDir: dlDir}, Target{Name: "http", Records: sink.All, Sink: target, Options: fastOptions()})
	recs := records("p", 20)
	if err := svc.Deliver(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	want := idsOf(recs, func(r *event.Envelope) bool { return r.EventID != "p-007" })
	check.Eventually(t, 10*time.Second, "all but the poison record delivered", func() bool { return equal(target.ids(), want) })
	check.Eventually(t, 10*time.Second, "dead letter counted", func() bool { return svc.Stats().Sinks[0].DeadLettered == 1 })
	dls := readDeadLetters(t, DeadLetterPath(dlDir, "http"))
	if len(dls) != 1 {
		t.Fatalf("dead letters = %d; want 1", len(dls))
	}
	var rec event.Envelope
	if err := json.Unmarshal(dls[0].Record, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.EventID != "p-007" || dls[0].Sink != "http" || dls[0].Error != "400 Bad Request: field n too large" || dls[0].Attempts != 1 {
		t.Errorf("dead letter = %+v (record %s)", dls[0], rec.EventID)
	}
}

func TestMaxAttemptsSendsABatchToTheDeadLetter(t *testing.T) {
	sp := testSpool(t, t.TempDir(), 1<<30)
	target := &recordingSink{}
	target.setFail(func([]*event.Envelope) error { return errors.New("timeout") })
	opts := fastOptions()
	opts.MaxAttempts = 3
	dlDir := t.TempDir()
	svc := start(t, Config{Spool: sp, DeadLetterDir: dlDir}, Target{Name: "s", Records: sink.All, Sink: target, Options: opts})
	if err := svc.Deliver(context.Background(), records("m", 4)); err != nil {
		t.Fatal(err)
	}
	check.Eventually(t, 10*time.Second, "dead-lettered", func() bool { return svc.Stats().Sinks[0].DeadLettered == 4 })
	dls := readDeadLetters(t, DeadLetterPath(dlDir, "s"))
	if len(dls) != 4 || dls[0].Attempts != 3 || dls[0].Error != "gave up after 3 attempts: timeout" {
		t.Fatalf("dead letters = %+v", dls)
	}
	check.Eventually(t, 10*time.Second, "the cursor passes the dead-lettered batch", func() bool { return svc.Stats().Sinks[0].LagRecords == 0 })
	if st := svc.Stats().Sinks[0]; st.Retried != 2 {
		t.Errorf("retried %d; want 2", st.Retried)
	}
}

func TestADeadSinkBlocksNeitherTheOthersNorTheCollector(t *testing.T) {
	sp := testSpool(t, t.TempDir(), 1<<30)
	dead, alive := &recordingSink{}, &recordingSink{}
	dead.setFail(func([]*event.Envelope) error { return errors.New("down") })
	svc := start(t, Config{Spool: sp},
		Target{Name: "dead", Records: sink.All, Sink: dead, Options: fastOptions()},
		Target{Name: "alive", Records: sink.All, Sink: alive, Options: fastOptions()},
	)
	var all []*event.Envelope
	for i := 0; i < 20; i++ {
		recs := records(fmt.Sprintf("d%02d", i), 5)
		all = append(all, recs...)
		if err := svc.Deliver(context.Background(), recs); err != nil {
			t.Fatalf("Deliver %d: %v", i, err)
		}
	}
	check.Eventually(t, 10*time.Second, "the live sink has everything", func() bool { return equal(alive.ids(), idsOf(all, nil)) })
	if got := svc.Stats().Sinks[0].LagRecords; got != 100 {
		t.Errorf("dead sink lag = %d; want 100", got)
	}
}

func TestFullSpoolRefusesAppendsUntilSinksCatchUp(t *testing.T) {
	sp := testSpool(t, t.TempDir(), 16<<10) // four 4 KiB segments
	target := &recordingSink{}
	target.setFail(func([]*event.Envelope) error { return errors.New("down") })
	svc := start(t, Config{Spool: sp}, Target{Name: "s", Records: sink.All, Sink: target, Options: fastOptions()})
	var accepted []*event.Envelope
	var full error
	for i := 0; i < 1000 && full == nil; i++ {
		recs := records(fmt.Sprintf("f%03d", i), 3)
		if err := svc.Deliver(context.Background(), recs); err != nil {
			full = err
			break
		}
		accepted = append(accepted, recs...)
	}
	if !errors.Is(full, spool.ErrFull) {
		t.Fatalf("Deliver on a full spool: %v; want spool.ErrFull", full)
	}
	if err := svc.Ready(); err == nil {
		t.Error("Ready reports ready while the spool is full")
	}
	target.setFail(nil)
	check.Eventually(t, 10*time.Second, "every accepted record delivered", func() bool { return equal(target.ids(), idsOf(accepted, nil)) })
	check.Eventually(t, 10*time.Second, "ready again", func() bool { return svc.Ready() == nil })
	if err := svc.Deliver(context.Background(), records("after", 3)); err != nil {
		t.Errorf("Deliver after sinks caught up: %v", err)
	}
}

func TestWaitForSinks(t *testing.T) {
	sp := testSpool(t, t.TempDir(), 1<<30)
	target := &recordingSink{}
	svc := start(t, Config{Spool: sp, WaitForSinks: true}, Target{Name: "s", Records: sink.Good, Sink: target, Options: fastOptions()})
	recs := records("w", 9)
	if err := svc.Deliver(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	if got, want := target.ids(), idsOf(recs, func(r *event.Envelope) bool { return r.Valid }); !equal(got, want) {
		t.Errorf("after Deliver returned the sink holds %v; want %v", got, want)
	}
	// A sink that never recovers holds the request until its client gives up.
	target.setFail(func([]*event.Envelope) error { return errors.New("down") })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := svc.Deliver(ctx, records("w2", 3)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Deliver with a down sink: %v; want a deadline error", err)
	}
}

// With AckTimeout the wait for a down sink ends with an AckTimeoutError
// naming it, and the records stay in the spool: the sink gets them once it
// recovers, without the request being sent again.
func TestWaitForSinksEndsAtAckTimeout(t *testing.T) {
	sp := testSpool(t, t.TempDir(), 1<<30)
	down, up := &recordingSink{}, &recordingSink{}
	down.setFail(func([]*event.Envelope) error { return errors.New("down") })
	svc := start(t, Config{Spool: sp, WaitForSinks: true, AckTimeout: 100 * time.Millisecond},
		Target{Name: "down", Records: sink.All, Sink: down, Options: fastOptions()},
		Target{Name: "up", Records: sink.All, Sink: up, Options: fastOptions()})
	recs := records("t", 4)
	began := time.Now()
	err := svc.Deliver(context.Background(), recs)
	var ate AckTimeoutError
	if !errors.As(err, &ate) || len(ate.Pending) != 1 || ate.Pending[0] != "down" {
		t.Fatalf("Deliver with a down sink: %v; want an AckTimeoutError naming down", err)
	}
	if took := time.Since(began); took < 100*time.Millisecond || took > 5*time.Second {
		t.Errorf("Deliver returned after %s; spool.ack_timeout is 100ms", took)
	}
	down.setFail(nil)
	check.Eventually(t, 10*time.Second, "the down sink has the records once it recovers", func() bool { return equal(down.ids(), idsOf(recs, nil)) })
}

func TestCloseDrainsThenLeavesTheRestForTheNextStart(t *testing.T) {
	dir := t.TempDir()
	o := spool.DefaultOptions()
	o.Dir, o.SegmentBytes = dir, 4<<10
	sp, err := spool.Open(o, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	slow := &recordingSink{}
	slow.setFail(func([]*event.Envelope) error { return errors.New("down") })
	svc, err := Start(Config{Spool: sp, Logger: quietLogger(), DeadLetterDir: t.TempDir()}, []Target{{Name: "s", Records: sink.All, Sink: slow, Options: fastOptions()}})
	if err != nil {
		t.Fatal(err)
	}
	recs := records("c", 12)
	if err := svc.Deliver(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	began := time.Now()
	err = svc.Close(ctx)
	cancel()
	var left UndeliveredError
	if !errors.As(err, &left) || len(left.Sinks) != 1 || left.Sinks[0] != "s" || left.Records[0] != 12 {
		t.Fatalf("Close past its deadline: %v; want an UndeliveredError naming sink s with 12 records", err)
	}
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("Close took %s with a deadline of 100ms", took)
	}
	if !slow.closed {
		t.Error("Close did not close the sink")
	}
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	// Stopped: the counters and the lag are readable from disk.
	st, err := ReadStats(dir)
	if err != nil {
		t.Fatalf("ReadStats: %v", err)
	}
	if len(st.Sinks) != 1 || st.Sinks[0].LagRecords != 12 || st.Sinks[0].LastError != "down" || st.Sinks[0].Retried == 0 {
		t.Errorf("stats from disk = %+v", st.Sinks)
	}
	if len(st.Contracts) != 1 || st.Contracts[0].Good != 8 || st.Contracts[0].Failed != 4 {
		t.Errorf("contracts from disk = %+v", st.Contracts)
	}

	// The next start delivers what was left, and a drain that can finish
	// does before Close returns.
	sp2 := testSpool(t, dir, 1<<30)
	healthy := &recordingSink{}
	svc2, err := Start(Config{Spool: sp2, Logger: quietLogger(), DeadLetterDir: t.TempDir()}, []Target{{Name: "s", Records: sink.All, Sink: healthy, Options: fastOptions()}})
	if err != nil {
		t.Fatal(err)
	}
	more := records("c2", 6)
	if err := svc2.Deliver(context.Background(), more); err != nil {
		t.Fatal(err)
	}
	if err := svc2.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := healthy.ids(), idsOf(append(recs, more...), nil); !equal(got, want) {
		t.Errorf("after restart and drain the sink holds %d records; want %d", len(got), len(want))
	}
	if got := svc2.Stats().Contracts[0]; got.Good != 12 || got.Failed != 6 {
		t.Errorf("contract counts carried across restart = %+v; want 12 good, 6 failed", got)
	}
}

func TestRemovedSinkReleasesItsCursor(t *testing.T) {
	dir := t.TempDir()
	sp := testSpool(t, dir, 1<<30)
	gone := &recordingSink{}
	gone.setFail(func([]*event.Envelope) error { return errors.New("down") })
	svc, err := Start(Config{Spool: sp, Logger: quietLogger(), DeadLetterDir: t.TempDir()}, []Target{{Name: "gone", Records: sink.All, Sink: gone, Options: fastOptions()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Deliver(context.Background(), records("g", 5)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	svc.Close(ctx)
	svc2 := start(t, Config{Spool: sp}, Target{Name: "kept", Records: sink.All, Sink: &recordingSink{}, Options: fastOptions()})
	for _, r := range svc2.Stats().Spool.Readers {
		if r.Name == "gone" {
			t.Errorf("cursor of the removed sink is still registered: %+v", r)
		}
	}
}

func TestDirectDelivery(t *testing.T) {
	good, failing := &recordingSink{}, &recordingSink{}
	svc := start(t, Config{}, Target{Name: "good", Records: sink.Good, Sink: good}, Target{Name: "failing", Records: sink.Failed, Sink: failing})
	recs := records("x", 6)
	if err := svc.Deliver(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	if !equal(good.ids(), idsOf(recs, func(r *event.Envelope) bool { return r.Valid })) {
		t.Errorf("good sink holds %v", good.ids())
	}
	failing.setFail(func([]*event.Envelope) error { return errors.New("disk I/O error") })
	if err := svc.Deliver(context.Background(), recs); err == nil || err.Error() != "sink failing: disk I/O error" {
		t.Errorf("Deliver with a failing sink: %v", err)
	}
	if st := svc.Stats(); st.Spool != nil || st.Sinks[1].LastError != "disk I/O error" {
		t.Errorf("stats = %+v", st)
	}
}

func TestBackoffGrowsAndStaysWithinBounds(t *testing.T) {
	for attempt := 1; attempt <= 20; attempt++ {
		d := backoff(100*time.Millisecond, 30*time.Second, attempt)
		ceiling := min(100*time.Millisecond<<(attempt-1), 30*time.Second)
		if d > ceiling || d < ceiling/2 {
			t.Errorf("attempt %d: backoff %s outside [%s, %s]", attempt, d, ceiling/2, ceiling)
		}
	}
}

// A damaged sealed segment is skipped with an error, and the records in
// the segments after it are delivered.
func TestCorruptSegmentIsSkipped(t *testing.T) {
	dir := t.TempDir()
	sp := testSpool(t, dir, 1<<30)
	var recs []*event.Envelope
	for i := 0; i < 10; i++ {
		batch := records(fmt.Sprintf("s%d", i), 5)
		recs = append(recs, batch...)
		// Register the cursor first so no segment is deleted.
		if i == 0 {
			r, err := sp.Reader("s")
			if err != nil {
				t.Fatal(err)
			}
			r.Close()
		}
		if _, err := sp.Append(context.Background(), encodeAll(batch)); err != nil {
			t.Fatal(err)
		}
	}
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs) < 3 {
		t.Fatalf("want several segments, have %d", len(segs))
	}
	sort.Strings(segs)
	data, err := os.ReadFile(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(segs[0], data, 0o644); err != nil {
		t.Fatal(err)
	}

	sp2 := testSpool(t, dir, 1<<30)
	target := &recordingSink{}
	svc := start(t, Config{Spool: sp2}, Target{Name: "s", Records: sink.All, Sink: target, Options: fastOptions()})
	last := recs[len(recs)-1].EventID
	check.Eventually(t, 10*time.Second, "the records after the damage are delivered", func() bool {
		ids := target.ids()
		return len(ids) > 0 && ids[len(ids)-1] == last
	})
	if st := svc.Stats().Sinks[0]; !strings.Contains(st.LastError, "corrupt") {
		t.Errorf("last error %q does not report the corruption", st.LastError)
	}
	if n := len(target.ids()); n >= len(recs) {
		t.Errorf("delivered %d of %d records from a damaged spool", n, len(recs))
	}
}

func encodeAll(recs []*event.Envelope) [][]byte {
	out := make([][]byte, len(recs))
	for i, r := range recs {
		out[i] = r.AppendJSON(nil)
	}
	return out
}

// jsonSink is a recording sink that reads records as JSON only.
type jsonSink struct {
	recordingSink
	lines []string
}

func (s *jsonSink) Write(ctx context.Context, batch []*event.Envelope) error {
	s.mu.Lock()
	for _, r := range batch {
		s.lines = append(s.lines, string(r.JSON))
	}
	s.mu.Unlock()
	return s.recordingSink.Write(ctx, batch)
}

func (*jsonSink) ReadsJSONOnly() {}

func (s *jsonSink) jsonLines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.lines)
	sort.Strings(out)
	return out
}

func jsonLines(recs []*event.Envelope, keep func(*event.Envelope) bool) []string {
	var out []string
	for _, r := range recs {
		if keep == nil || keep(r) {
			out = append(out, string(r.AppendJSON(nil)))
		}
	}
	sort.Strings(out)
	return out
}

// A sink that writes JSON is handed the bytes each record was encoded as
// once, selected by valid, and no decoded field beyond it; a sink that reads
// fields gets them decoded, with the same bytes beside them.
func TestJSONOnlySinksGetTheEncodedRecords(t *testing.T) {
	isGood := func(r *event.Envelope) bool { return r.Valid }
	for _, spooled := range []bool{true, false} {
		t.Run(fmt.Sprintf("spool=%v", spooled), func(t *testing.T) {
			var cfg Config
			if spooled {
				cfg.Spool = testSpool(t, t.TempDir(), 1<<30)
			}
			all, good, fields := &jsonSink{}, &jsonSink{}, &recordingSink{}
			svc := start(t, cfg,
				Target{Name: "all", Records: sink.All, Sink: all, Options: fastOptions()},
				Target{Name: "good", Records: sink.Good, Sink: good, Options: fastOptions()},
				Target{Name: "fields", Records: sink.All, Sink: fields, Options: fastOptions()},
			)
			recs := records("j", 12)
			if err := svc.Deliver(context.Background(), recs); err != nil {
				t.Fatal(err)
			}
			check.Eventually(t, 10*time.Second, "every sink has its records", func() bool {
				return len(all.jsonLines()) == 12 && len(good.jsonLines()) == 8 && len(fields.ids()) == 12
			})
			if got, want := all.jsonLines(), jsonLines(recs, nil); !slices.Equal(got, want) {
				t.Errorf("json sink got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if got, want := good.jsonLines(), jsonLines(recs, isGood); !slices.Equal(got, want) {
				t.Errorf("good json sink got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if !equal(fields.ids(), idsOf(recs, nil)) {
				t.Errorf("fields sink holds %v", fields.ids())
			}
			if spooled {
				// Nothing but valid was decoded for the JSON sinks.
				all.mu.Lock()
				for _, r := range all.got {
					if r.EventID != "" || r.Payload != nil {
						t.Errorf("json sink got a decoded record: %+v", r)
					}
				}
				all.mu.Unlock()
			} else {
				// The encoding lent to the sinks is not left on the
				// caller's records, whose buffer is reused.
				for _, r := range recs {
					if r.JSON != nil {
						t.Fatalf("record %s kept its encoding after Deliver", r.EventID)
					}
				}
			}
		})
	}
}

// A request whose records pass Config.MaxRequestBytes is refused while it
// is encoded, with an error that says it is too large (never backpressure),
// and nothing of it reaches the spool. (Without a spool, records are
// encoded only for two or more JSON sinks, and the bound is checked there.)
func TestDeliverRefusesRecordsOverTheRequestBound(t *testing.T) {
	cfg := Config{MaxRequestBytes: 2000, Spool: testSpool(t, t.TempDir(), 1<<20)}
	a := &recordingSink{}
	svc := start(t, cfg, Target{Name: "a", Records: sink.All, Sink: a, Options: fastOptions()})
	err := svc.Deliver(context.Background(), records("big", 100))
	var tl interface{ TooLarge() bool }
	if !errors.As(err, &tl) || !tl.TooLarge() {
		t.Fatalf("Deliver of 100 records over 2000 bytes: %v; want a too-large error", err)
	}
	if !strings.Contains(err.Error(), "over the limit of 2000") {
		t.Errorf("error does not say the limit: %v", err)
	}
	var first, total, size int
	if _, scanErr := fmt.Sscanf(err.Error()[strings.Index(err.Error(), "the first "):], "the first %d of the request's %d records take %d bytes encoded", &first, &total, &size); scanErr != nil || total != 100 || size <= 2000 {
		t.Errorf("error does not say how many bytes the records took, over 2000: %v (%v)", err, scanErr)
	}
	if err := svc.Deliver(context.Background(), records("small", 3)); err != nil {
		t.Fatalf("Deliver of 3 small records: %v", err)
	}
	if st := cfg.Spool.Stats(); st.Records > 3 {
		t.Fatalf("the spool holds %d records; want only the 3 small ones", st.Records)
	}
	check.Eventually(t, 5*time.Second, "the small records delivered", func() bool { return len(a.ids()) == 3 })
	for _, id := range a.ids() {
		if strings.HasPrefix(id, "big") {
			t.Fatalf("a record of the refused request reached the sink: %v", a.ids())
		}
	}
}

// TestLagSecondsBoundsTheOldestRecordStillToPass: while a sink is down,
// lag_seconds is at least the age of the oldest record it has yet to pass,
// and grows; last_success_at says when it last took a write; once it has
// caught up, lag_seconds is 0.
func TestLagSecondsBoundsTheOldestRecordStillToPass(t *testing.T) {
	sp := testSpool(t, t.TempDir(), 1<<30)
	target := &recordingSink{}
	svc := start(t, Config{Spool: sp}, Target{Name: "http", Records: sink.All, Sink: target, Options: fastOptions()})
	recs := records("l", 20)
	if err := svc.Deliver(context.Background(), recs[:10]); err != nil {
		t.Fatal(err)
	}
	check.Eventually(t, 10*time.Second, "the first records passed", func() bool { return svc.Stats().Sinks[0].LagRecords == 0 })
	first := svc.Stats().Sinks[0]
	if first.LagSeconds != 0 || first.LastSuccessAt == nil || time.Since(*first.LastSuccessAt) > 10*time.Second {
		t.Fatalf("caught up: lag_seconds %v, last_success_at %v; want 0 and a moment ago", first.LagSeconds, first.LastSuccessAt)
	}

	target.setFail(func([]*event.Envelope) error { return errors.New("connection refused") })
	appended := time.Now()
	if err := svc.Deliver(context.Background(), recs[10:]); err != nil {
		t.Fatal(err)
	}
	check.Eventually(t, 10*time.Second, "a failed write", func() bool { return svc.Stats().Sinks[0].Retried > 0 })
	down := svc.Stats().Sinks[0]
	if age := time.Since(appended).Seconds(); down.LagRecords != 10 || down.LagSeconds < age {
		t.Errorf("down: lag %d records, %v s; want 10 records and at least the oldest one's age, %v s", down.LagRecords, down.LagSeconds, age)
	}
	if !down.LastSuccessAt.Equal(*first.LastSuccessAt) {
		t.Errorf("last_success_at moved to %v while every write failed", down.LastSuccessAt)
	}
	time.Sleep(20 * time.Millisecond)
	if later := svc.Stats().Sinks[0]; later.LagSeconds <= down.LagSeconds {
		t.Errorf("lag_seconds went from %v to %v while the sink stayed down; want it growing", down.LagSeconds, later.LagSeconds)
	}

	target.setFail(nil)
	check.Eventually(t, 10*time.Second, "caught up again", func() bool {
		st := svc.Stats().Sinks[0]
		return st.LagRecords == 0 && st.LagSeconds == 0 && st.LastSuccessAt.After(*first.LastSuccessAt)
	})
}

// A trickle of single records reaches a sink no request waits for in one
// write every readGap or so, not one a record, while the first record
// after a quiet spell is written at once; with WaitForSinks every record
// is written as soon as it is read, since a request waits for it.
func TestSmallBatchesArePacedUnlessARequestWaits(t *testing.T) {
	const appends = 60
	spacing := readGap / 10
	t.Run("spool ack", func(t *testing.T) {
		sp := testSpool(t, t.TempDir(), 1<<30)
		target := &recordingSink{}
		svc := start(t, Config{Spool: sp}, Target{Name: "s", Records: sink.All, Sink: target, Options: fastOptions()})
		// After a quiet spell a record is read at once: the median wait of
		// five, each after 3 gaps of silence, is well under a gap (a
		// paced read would wait out most of one).
		var waits []time.Duration
		for i := range 5 {
			time.Sleep(3 * readGap)
			if err := svc.Deliver(context.Background(), records(fmt.Sprintf("quiet%d", i), 1)); err != nil {
				t.Fatal(err)
			}
			appended := time.Now()
			check.Eventually(t, 10*time.Second, "the record written", func() bool { return len(target.ids()) == i+1 })
			waits = append(waits, time.Since(appended))
		}
		slices.Sort(waits)
		if waits[2] >= readGap*3/4 {
			t.Errorf("records after a quiet spell reached the sink after %v; want the median well under %s", waits, readGap)
		}
		target.mu.Lock()
		before := target.writes
		target.mu.Unlock()
		start := time.Now()
		var sent []*event.Envelope
		for i := range appends {
			recs := records(fmt.Sprintf("t%03d", i), 1)
			if err := svc.Deliver(context.Background(), recs); err != nil {
				t.Fatal(err)
			}
			sent = append(sent, recs...)
			time.Sleep(spacing)
		}
		elapsed := time.Since(start)
		check.Eventually(t, 10*time.Second, "every record delivered", func() bool { return len(target.ids()) == appends+5 })
		if got, want := target.ids()[5:], idsOf(sent, nil); !equal(got, want) {
			t.Errorf("the sink holds %v; want %v", got, want)
		}
		target.mu.Lock()
		writes := target.writes - before
		target.mu.Unlock()
		// One write every readGap, and one more at each end.
		if most := int(elapsed/readGap) + 3; writes > most {
			t.Errorf("%d records appended %s apart over %s took %d writes; want at most %d (one every %s)", appends, spacing, elapsed.Round(time.Millisecond), writes, most, readGap)
		}
	})
	t.Run("sinks ack", func(t *testing.T) {
		sp := testSpool(t, t.TempDir(), 1<<30)
		target := &recordingSink{}
		svc := start(t, Config{Spool: sp, WaitForSinks: true}, Target{Name: "s", Records: sink.All, Sink: target, Options: fastOptions()})
		const n = 20
		fastest := time.Hour
		for i := range n {
			began := time.Now()
			if err := svc.Deliver(context.Background(), records(fmt.Sprintf("w%03d", i), 1)); err != nil {
				t.Fatal(err)
			}
			fastest = min(fastest, time.Since(began))
		}
		// Paced, every Deliver after the first would wait out most of a
		// gap for its write: the fastest of them shows whether any did
		// not (a busy machine slows some, not all).
		if fastest >= readGap/2 {
			t.Errorf("the fastest of %d Deliver calls waiting for the sink took %s; want well under %s, as nothing is held back for a request that waits", n, fastest, readGap)
		}
		target.mu.Lock()
		writes := target.writes
		target.mu.Unlock()
		if writes != n {
			t.Errorf("%d Deliver calls, one at a time, took %d writes; want one each", n, writes)
		}
	})
}

// A request's frames are sized once: encoding 100 records into a fresh
// Frames (a pool miss) allocates its two slices and nothing more, where
// growing them as they filled took 29 allocations, copying the
// records encoded so far each time. A request past the bound is not given
// room for what will be refused.
func TestEncodeFramesSizesTheBufferOnce(t *testing.T) {
	recs := records("sized", 100)
	allocs := testing.AllocsPerRun(20, func() {
		var f spool.Frames
		if err := encodeFrames(&f, recs, 0); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 2 && !racedetector.Enabled { // the race detector's instrumentation allocates
		t.Errorf("encoding 100 records into fresh frames took %.0f allocations; want 2", allocs)
	}
	var f spool.Frames
	if err := encodeFrames(&f, recs, 1000); err == nil {
		t.Fatal("100 records under a 1,000-byte limit were encoded")
	}
	if c := f.Cap(); c > 4096 {
		t.Errorf("a refused request grew the frames to %d bytes", c)
	}
}
