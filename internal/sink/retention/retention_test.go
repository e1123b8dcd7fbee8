package retention

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/check"
)

// timesStore is a store of receive times, removing the oldest first as the
// SQL stores do.
type timesStore struct {
	mu      sync.Mutex
	times   []time.Time
	batches []int
	fail    error
}

func (s *timesStore) DeleteBefore(_ context.Context, cutoff time.Time, limit int) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return 0, s.fail
	}
	var n int
	s.times = slices.DeleteFunc(s.times, func(t time.Time) bool {
		if n < limit && t.Before(cutoff) {
			n++
			return true
		}
		return false
	})
	s.batches = append(s.batches, n)
	return int64(n), nil
}

func TestRunRemovesInBatchesUpToTheCutoff(t *testing.T) {
	now := time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)
	store := &timesStore{}
	for i := range 25 {
		store.times = append(store.times, now.Add(-time.Duration(i)*24*time.Hour))
	}
	var after int
	l, err := New(Config{Period: 10 * 24 * time.Hour, Unit: "rows", Limit: 4, Pause: time.Millisecond, Now: func() time.Time { return now },
		After: func(context.Context) error { after++; return nil }}, store)
	if err != nil {
		t.Fatal(err)
	}
	n, err := l.Run(context.Background())
	// Days 11 to 24 are older than the period; day 10 is exactly at it and kept.
	if err != nil || n != 14 {
		t.Fatalf("Run = %d, %v; want 14", n, err)
	}
	if !slices.Equal(store.batches, []int{4, 4, 4, 2}) || len(store.times) != 11 || after != 1 {
		t.Errorf("batches %v, %d left, After ran %d times; want [4 4 4 2], 11, 1", store.batches, len(store.times), after)
	}
	if n, _ := l.Run(context.Background()); n != 0 || after != 1 {
		t.Errorf("second Run = %d, After ran %d times; want 0 and After not again", n, after)
	}
	st := l.Stats()
	if st.Removed != 14 || st.Period != "240h0m0s" || st.Unit != "rows" || !st.LastRunAt.Equal(now) || !st.LastRunStartedAt.Equal(now) || st.LastError != "" {
		t.Errorf("stats = %+v", st)
	}
}

func TestRunRecordsTheLastError(t *testing.T) {
	store := &timesStore{fail: errors.New("disk I/O error")}
	l, err := New(Config{Period: time.Hour}, store)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Run(context.Background()); err == nil {
		t.Fatal("Run succeeded")
	}
	if st := l.Stats(); st.LastError != "disk I/O error" || st.LastErrorAt == nil {
		t.Errorf("stats = %+v", st)
	}
}

// GET /stats shows the last error: a store's error that quotes a
// connection URL shows it without its password, as delivery's last_error
// does.
func TestLastErrorCarriesNoCredential(t *testing.T) {
	store := &timesStore{fail: errors.New("connect postgres://accord:hunter2@db.example:5432/events: refused")}
	l, err := New(Config{Period: time.Hour}, store)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Run(context.Background()); err == nil {
		t.Fatal("Run succeeded")
	}
	if st := l.Stats(); strings.Contains(st.LastError, "hunter2") || !strings.Contains(st.LastError, "db.example") {
		t.Errorf("last_error = %q; want the host without the password", st.LastError)
	}
}

func TestStartRunsAtOnceAndStopWaits(t *testing.T) {
	store := &timesStore{times: []time.Time{time.Now().Add(-2 * time.Hour)}}
	l, err := New(Config{Period: time.Hour, Every: time.Hour}, store)
	if err != nil {
		t.Fatal(err)
	}
	l.Start()
	check.Eventually(t, 10*time.Second, "the first run", func() bool { return l.Stats().LastRunAt != nil })
	l.Stop()
	if st := l.Stats(); st.Removed != 1 {
		t.Errorf("stats = %+v, want 1 removed", st)
	}
}

func TestNewRejectsAPeriodThatIsNotPositive(t *testing.T) {
	if _, err := New(Config{}, &timesStore{}); err == nil {
		t.Error("New with no period succeeded")
	}
}

func TestByContractNeedsAScopedStore(t *testing.T) {
	_, err := New(Config{Period: time.Hour, ByContract: map[string]time.Duration{"iglu:com.acme/": time.Hour}}, &timesStore{})
	if err == nil || !strings.Contains(err.Error(), "cannot remove the records of some contracts only") {
		t.Errorf("New = %v", err)
	}
}

func TestScopesExceptLongerPrefixes(t *testing.T) {
	l, err := New(Config{Period: time.Hour}, &timesStore{})
	if err != nil {
		t.Fatal(err)
	}
	l.cfg.ByContract = map[string]time.Duration{"iglu:a/": 2 * time.Hour, "iglu:a/b/": 0, "iglu:c/": 3 * time.Hour}
	got := fmt.Sprint(l.scopes())
	want := "[{{iglu:a/ [iglu:a/b/]} 7200000000000} {{iglu:a/b/ []} 0} {{iglu:c/ []} 10800000000000} {{ [iglu:a/ iglu:a/b/ iglu:c/]} 3600000000000}]"
	if got != want {
		t.Errorf("scopes = %s\nwant %s", got, want)
	}
}
