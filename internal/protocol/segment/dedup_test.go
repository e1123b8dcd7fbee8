package segment

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestDedup(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	type step struct {
		id    string
		after time.Duration // since t0
		seen  bool
	}
	tests := []struct {
		name       string
		window     time.Duration
		maxEntries int
		steps      []step
		len        int // ids remembered at the end
	}{
		{
			name: "seen within the window", window: time.Minute, maxEntries: 10,
			steps: []step{{"a", 0, false}, {"a", 59 * time.Second, true}, {"b", time.Second, false}, {"b", 2 * time.Second, true}},
			len:   2,
		},
		{
			name: "forgotten once the window has passed", window: time.Minute, maxEntries: 10,
			steps: []step{{"a", 0, false}, {"b", 30 * time.Second, false}, {"a", time.Minute, false}, {"a", time.Minute + time.Second, true}, {"b", 89 * time.Second, true}},
			len:   2,
		},
		{
			name: "a repeat does not extend the window", window: time.Minute, maxEntries: 10,
			steps: []step{{"a", 0, false}, {"a", 50 * time.Second, true}, {"a", 61 * time.Second, false}},
			len:   1,
		},
		{
			name: "the oldest is forgotten beyond the bound", window: time.Hour, maxEntries: 3,
			steps: []step{{"a", 0, false}, {"b", 1, false}, {"c", 2, false}, {"d", 3, false}, {"b", 4, true}, {"c", 5, true}, {"d", 6, true}, {"a", 7, false}, {"b", 8, false}},
			len:   3,
		},
		{
			name: "an id seen again after its window and a stale copy", window: time.Minute, maxEntries: 2,
			// a's first entry is behind b's, which is newer: a expires
			// by the map check, and forgetting its stale copy later
			// must not forget its new one.
			steps: []step{{"b", 30 * time.Second, false}, {"a", 0, false}, {"a", 70 * time.Second, false}, {"c", 71 * time.Second, false}, {"a", 72 * time.Second, true}},
			len:   2,
		},
		{
			name: "empty ids are never seen", window: time.Minute, maxEntries: 10,
			steps: []step{{"", 0, false}, {"", 1, false}},
		},
		{
			name: "disabled", window: 0, maxEntries: 10,
			steps: []step{{"a", 0, false}, {"a", 1, false}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDedup(tc.window, tc.maxEntries)
			for i, s := range tc.steps {
				if got := d.Seen("src", s.id, t0.Add(s.after)); got != s.seen {
					t.Fatalf("step %d: Seen(%q, +%s) = %v, want %v", i, s.id, s.after, got, s.seen)
				}
			}
			if got := d.Len(); got != tc.len {
				t.Errorf("remembers %d ids, want %d", got, tc.len)
			}
		})
	}
}

func TestDedupBoundUnderLoad(t *testing.T) {
	const max = 1000
	d := NewDedup(time.Hour, max)
	now := time.Now()
	for i := 0; i < 10*max; i++ {
		if d.Seen("src", fmt.Sprint(i), now) {
			t.Fatalf("id %d seen before it was sent", i)
		}
		if n := d.Len(); n > max {
			t.Fatalf("remembers %d ids, over the bound of %d", n, max)
		}
	}
	if len(d.order) > max {
		t.Errorf("ring of %d entries, over the bound of %d", len(d.order), max)
	}
	// The newest max ids are remembered, the older forgotten.
	if !d.Seen("src", fmt.Sprint(10*max-1), now) || d.Seen("src", fmt.Sprint(0), now) {
		t.Errorf("the newest ids are not the ones remembered")
	}
}

func TestDedupConcurrent(t *testing.T) {
	d := NewDedup(time.Minute, 1<<16)
	now := time.Now()
	var fresh atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				if !d.Seen("src", fmt.Sprint(i), now) {
					fresh.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	// Every id is new exactly once, however the goroutines interleave.
	if got := fresh.Load(); got != 2000 {
		t.Errorf("%d ids were new, want 2000", got)
	}
}

// The docs promise about 100 bytes an id, however long the ids clients
// send: ids are kept as digests, never as sent.
func TestDedupMemoryPerID(t *testing.T) {
	measure := func(n, idLen int) float64 {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		d := NewDedup(time.Hour, n)
		now := time.Now()
		buf := make([]byte, idLen)
		for i := range buf {
			buf[i] = 'x'
		}
		for i := range n {
			copy(buf, fmt.Sprintf("%08d", i))
			d.Add("web", string(buf), now)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if d.Len() != n {
			t.Fatalf("remembered %d ids, want %d", d.Len(), n)
		}
		runtime.KeepAlive(d)
		return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
	}
	for _, tc := range []struct{ n, idLen int }{{100_000, 36}, {2_000, 30 << 10}} {
		per := measure(tc.n, tc.idLen)
		t.Logf("%d ids of %d bytes: %.0f bytes an id", tc.n, tc.idLen, per)
		if per > 120 {
			t.Errorf("%d ids of %d bytes: %.0f bytes an id, want about 100", tc.n, tc.idLen, per)
		}
	}
}
