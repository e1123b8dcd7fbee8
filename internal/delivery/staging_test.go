package delivery

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
)

// stagingSink holds what it takes until Flush stores it, as the s3 sink
// holds records in files until their upload; down makes Flush fail, as a
// store that is away does. Close drops what is held, as a crash would.
type stagingSink struct {
	mu      sync.Mutex
	taken   uint64
	held    []*event.Envelope
	heldAt  time.Time
	heldSeq uint64 // the first Write in held
	stored  []*event.Envelope
	age     time.Duration
	down    bool
	flushes int
}

var _ sink.Staging = (*stagingSink)(nil)

func (s *stagingSink) Connect(context.Context) error { return nil }
func (s *stagingSink) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.held = nil
	return nil
}

func (s *stagingSink) Write(_ context.Context, batch []*event.Envelope) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.taken++
	if len(s.held) == 0 {
		s.heldAt, s.heldSeq = time.Now(), s.taken
	}
	s.held = append(s.held, batch...)
	return nil
}

func (s *stagingSink) Staged() (taken, stored uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.held) > 0 {
		return s.taken, s.heldSeq - 1
	}
	return s.taken, s.taken
}

func (s *stagingSink) Due() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.held) == 0 {
		return time.Time{}
	}
	return s.heldAt.Add(s.age)
}

func (s *stagingSink) Flush(_ context.Context, all bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flushes++
	if s.down {
		return errors.New("store away")
	}
	if len(s.held) > 0 && (all || !time.Now().Before(s.heldAt.Add(s.age))) {
		s.stored = append(s.stored, s.held...)
		s.held = nil
	}
	return nil
}

func (s *stagingSink) setDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

func (s *stagingSink) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return idsOf(s.stored, nil)
}

func lag(svc *Service) uint64 { return svc.Stats().Sinks[0].LagRecords }

// A staging sink's cursor moves only past records it stored: taken is not
// enough, and a crash (the process gone with the records held) delivers
// them again at the next start.
func TestStagingSinkCursorMovesOnlyPastStoredRecords(t *testing.T) {
	dir := t.TempDir()
	sp := testSpool(t, dir, 1<<30)
	held := &stagingSink{age: time.Hour, down: true}
	svc := start(t, Config{Spool: sp}, Target{Name: "s3", Records: sink.All, Sink: held, Options: fastOptions()})
	recs := records("st", 12)
	if err := svc.Deliver(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	check.Eventually(t, 10*time.Second, "the sink takes the records", func() bool {
		held.mu.Lock()
		defer held.mu.Unlock()
		return len(held.held) == 12
	})
	time.Sleep(50 * time.Millisecond) // give a wrong cursor move the chance to happen
	if got := lag(svc); got != 12 {
		t.Fatalf("lag = %d after the sink took the records but stored none; want 12", got)
	}
	// The store stays away through shutdown: the drain cannot finish, and
	// the records held are lost with the process.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	err := svc.Close(ctx)
	cancel()
	var left UndeliveredError
	if !errors.As(err, &left) || left.Records[0] != 12 {
		t.Fatalf("Close with the store away: %v; want 12 records left undelivered", err)
	}
	if len(held.stored) != 0 {
		t.Fatalf("stored %d records with the store away", len(held.stored))
	}
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}

	// Next start: every record is delivered again, and the drain stores
	// them without waiting for the sink's age.
	sp2 := testSpool(t, dir, 1<<30)
	fresh := &stagingSink{age: time.Hour}
	svc2 := start(t, Config{Spool: sp2}, Target{Name: "s3", Records: sink.All, Sink: fresh, Options: fastOptions()})
	if err := svc2.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got, want := fresh.ids(), idsOf(recs, nil); !equal(got, want) {
		t.Errorf("after the restart the sink stored %v; want %v", got, want)
	}
	if got := lag(svc2); got != 0 {
		t.Errorf("lag after the drain = %d; want 0", got)
	}
}

// The runner calls Flush when the sink says it is due, retrying while it
// fails, and passes the records once they are stored.
func TestStagingSinkIsFlushedWhenDue(t *testing.T) {
	sp := testSpool(t, t.TempDir(), 1<<30)
	sk := &stagingSink{age: 100 * time.Millisecond, down: true}
	svc := start(t, Config{Spool: sp}, Target{Name: "s3", Records: sink.All, Sink: sk, Options: fastOptions()})
	recs := records("due", 9)
	if err := svc.Deliver(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	check.Eventually(t, 10*time.Second, "flushes retried while the store is away", func() bool {
		sk.mu.Lock()
		defer sk.mu.Unlock()
		return sk.flushes >= 3
	})
	if got := lag(svc); got != 9 {
		t.Fatalf("lag = %d while every flush fails; want 9", got)
	}
	sk.setDown(false)
	check.Eventually(t, 10*time.Second, "the records passed once stored", func() bool { return lag(svc) == 0 })
	if got, want := sk.ids(), idsOf(recs, nil); !equal(got, want) {
		t.Errorf("stored %v; want %v", got, want)
	}
}

// Without a spool nothing but the sink would hold the records: a direct
// delivery returns once they are stored.
func TestDirectDeliveryFlushesAStagingSink(t *testing.T) {
	sk := &stagingSink{age: time.Hour}
	svc := start(t, Config{}, Target{Name: "s3", Records: sink.All, Sink: sk, Options: fastOptions()})
	recs := records("direct", 5)
	if err := svc.Deliver(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	if got, want := sk.ids(), idsOf(recs, nil); !equal(got, want) {
		t.Errorf("stored %v when Deliver returned; want %v", got, want)
	}
}

// syncingSink is a recordingSink whose writes are durable only once Sync
// returns nil (a sink.Syncer, as the sqlite sink with synchronous:
// normal); it notes how many records each Sync covered.
type syncingSink struct {
	*recordingSink
	syncErr error
	synced  []int
}

func (s *syncingSink) Sync(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.syncErr != nil {
		return s.syncErr
	}
	s.synced = append(s.synced, len(s.got))
	return nil
}

// A Syncer's cursor moves only past records it synced: when Sync fails,
// the records are delivered again at the next start, as after a power
// loss that took what the sink had not synced.
func TestCursorMovesOnlyPastRecordsTheSinkSynced(t *testing.T) {
	for _, tc := range []struct {
		name        string
		syncErr     error
		redelivered int
	}{
		{"synced", nil, 0},
		{"sync fails", errors.New("disk gone"), 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			sp := testSpool(t, dir, 1<<30)
			sk := &syncingSink{recordingSink: &recordingSink{}, syncErr: tc.syncErr}
			svc := start(t, Config{Spool: sp}, Target{Name: "s", Records: sink.All, Sink: sk, Options: fastOptions()})
			if err := svc.Deliver(context.Background(), records("y", 12)); err != nil {
				t.Fatal(err)
			}
			check.Eventually(t, 10*time.Second, "the sink takes the records", func() bool { return len(sk.ids()) == 12 })
			_ = svc.Close(context.Background())
			if err := sp.Close(); err != nil {
				t.Fatal(err)
			}
			if tc.syncErr == nil {
				sk.mu.Lock()
				synced := sk.synced
				sk.mu.Unlock()
				if len(synced) == 0 || synced[len(synced)-1] != 12 {
					t.Errorf("Sync covered %v records as the cursor moved; want the last to cover 12", synced)
				}
			}

			sp2 := testSpool(t, dir, 1<<30)
			fresh := &recordingSink{}
			svc2 := start(t, Config{Spool: sp2}, Target{Name: "s", Records: sink.All, Sink: fresh, Options: fastOptions()})
			if err := svc2.Close(context.Background()); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if got := len(fresh.ids()); got != tc.redelivered {
				t.Errorf("the next start delivered %d records again; want %d", got, tc.redelivered)
			}
		})
	}
}
