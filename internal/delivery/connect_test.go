package delivery

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/sink"
)

// downUntil returns a Connect that fails with "connection refused" until
// up is closed.
func downUntil(up <-chan struct{}) func(context.Context) error {
	return func(context.Context) error {
		select {
		case <-up:
			return nil
		default:
			return errors.New("dial tcp 127.0.0.1:5432: connection refused")
		}
	}
}

// A sink that is down when delivery starts is retried while the spool
// takes the records; once it connects it receives every one of them, and
// until then Stats says why it is not connected.
func TestConnectIsRetriedWhileTheSpoolAbsorbs(t *testing.T) {
	up := make(chan struct{})
	store := &recordingSink{connect: downUntil(up)}
	sp := testSpool(t, t.TempDir(), 1<<20)
	svc := start(t, Config{Spool: sp}, Target{Name: "store", Records: sink.All, Sink: store, Options: fastOptions()})

	recs := records("a", 20)
	if err := svc.Deliver(context.Background(), recs); err != nil {
		t.Fatalf("Deliver while the sink is down: %v", err)
	}
	if err := svc.Ready(); err != nil {
		t.Errorf("Ready while the spool absorbs: %v", err)
	}
	check.Eventually(t, 10*time.Second, "the sink has been tried a few times", func() bool {
		store.mu.Lock()
		defer store.mu.Unlock()
		return store.connects >= 3
	})
	st := svc.Stats().Sinks[0]
	if st.State != StateConnecting || !strings.Contains(st.LastConnectError, "connection refused") || st.LastConnectErrorAt == nil {
		t.Errorf("stats of a sink that is down = %+v, want state connecting and the connect error", st)
	}
	if st.LagRecords != 20 || st.Delivered != 0 {
		t.Errorf("lag %d, delivered %d; want 20 and 0", st.LagRecords, st.Delivered)
	}
	store.mu.Lock()
	writes := store.writes
	store.mu.Unlock()
	if writes != 0 {
		t.Errorf("%d writes to a sink not connected", writes)
	}

	close(up)
	check.Eventually(t, 10*time.Second, "the records reach the sink once it is up", func() bool { return len(store.ids()) == len(recs) })
	if !equal(store.ids(), idsOf(recs, nil)) {
		t.Errorf("sink holds %v", store.ids())
	}
	if st := svc.Stats().Sinks[0]; st.State != StateConnected {
		t.Errorf("state after connecting = %q, want connected", st.State)
	}
}

// Attempts are spaced by the delivery backoff: growing from backoff_min,
// capped at backoff_max, each at least half its step (the jitter).
func TestConnectBacksOff(t *testing.T) {
	up := make(chan struct{})
	store := &recordingSink{connect: downUntil(up)}
	opts := fastOptions()
	opts.BackoffMin, opts.BackoffMax = 10*time.Millisecond, 40*time.Millisecond
	start(t, Config{Spool: testSpool(t, t.TempDir(), 1<<20)}, Target{Name: "store", Records: sink.All, Sink: store, Options: opts})
	check.Eventually(t, 10*time.Second, "six attempts", func() bool {
		store.mu.Lock()
		defer store.mu.Unlock()
		return store.connects >= 6
	})
	close(up)
	store.mu.Lock()
	at := append([]time.Time(nil), store.connectedAt...)
	store.mu.Unlock()
	for i := 1; i < 6; i++ {
		step := min(opts.BackoffMin<<(i-1), opts.BackoffMax)
		if gap := at[i].Sub(at[i-1]); gap < step/2 {
			t.Errorf("attempt %d came %s after the one before, want at least %s", i+1, gap, step/2)
		}
	}
}

// Close while a sink is still trying to connect ends the attempts at once
// (a Connect under way sees its context end), closes the sink, and leaves
// no goroutine behind.
func TestCloseWhileConnecting(t *testing.T) {
	sp := testSpool(t, t.TempDir(), 1<<20)
	before := runtime.NumGoroutine()
	hanging := &recordingSink{connect: func(ctx context.Context) error {
		<-ctx.Done() // a dial to a host that never answers
		return ctx.Err()
	}}
	down := &recordingSink{connect: downUntil(nil)}
	opts := fastOptions()
	opts.BackoffMin, opts.BackoffMax = time.Hour, time.Hour // the loop is asleep when Close comes
	cfg := Config{Spool: sp, Logger: quietLogger(), DeadLetterDir: filepath.Join(t.TempDir(), "dl")}
	svc, err := Start(cfg, []Target{{Name: "hanging", Records: sink.All, Sink: hanging, Options: opts}, {Name: "down", Records: sink.All, Sink: down, Options: opts}})
	if err != nil {
		t.Fatal(err)
	}
	check.Eventually(t, 10*time.Second, "both sinks tried", func() bool {
		hanging.mu.Lock()
		down.mu.Lock()
		defer hanging.mu.Unlock()
		defer down.mu.Unlock()
		return hanging.connects == 1 && down.connects == 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	began := time.Now()
	if err := svc.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("Close took %s", took)
	}
	for _, s := range []*recordingSink{hanging, down} {
		s.mu.Lock()
		if !s.closed {
			t.Error("a sink that never connected was not closed")
		}
		s.mu.Unlock()
	}
	check.Eventually(t, 10*time.Second, "the service's goroutines have ended", func() bool { return runtime.NumGoroutine() <= before })
}

// Without a spool nothing can hold records for a sink that is down, so
// Deliver refuses them (and Ready says why) until it connects.
func TestDirectDeliveryWaitsForConnectedSinks(t *testing.T) {
	up := make(chan struct{})
	store := &recordingSink{connect: downUntil(up)}
	svc := start(t, Config{}, Target{Name: "store", Records: sink.All, Sink: store, Options: fastOptions()})
	recs := records("d", 3)
	err := svc.Deliver(context.Background(), recs)
	if !errors.Is(err, ErrNotConnected) || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "store") {
		t.Errorf("Deliver to a sink that is down = %v, want ErrNotConnected naming the sink and the cause", err)
	}
	if err := svc.Ready(); !errors.Is(err, ErrNotConnected) {
		t.Errorf("Ready = %v, want ErrNotConnected", err)
	}
	close(up)
	check.Eventually(t, 10*time.Second, "ready once the sink connects", func() bool { return svc.Ready() == nil })
	if err := svc.Deliver(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	if !equal(store.ids(), idsOf(recs, nil)) {
		t.Errorf("sink holds %v", store.ids())
	}
}

// A sink that connects at once is connected before Start returns, so a
// collector without a spool takes requests from the first.
func TestDirectDeliveryConnectsBeforeStartReturns(t *testing.T) {
	store := &recordingSink{}
	svc := start(t, Config{}, Target{Name: "store", Records: sink.All, Sink: store, Options: fastOptions()})
	if err := svc.Ready(); err != nil {
		t.Fatalf("Ready right after Start: %v", err)
	}
	if err := svc.Deliver(context.Background(), records("s", 2)); err != nil {
		t.Fatal(err)
	}
}
