package spool

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// queued waits until n appends wait in s's queue for a leader.
func queued(t *testing.T, s *Spool, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.qmu.Lock()
		got := len(s.queue)
		s.qmu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d appends queued after 10s, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestWaitingAppendsCommittedBeforeClose: Close refuses new appends, but
// the appends already waiting for a group commit are committed (fsynced)
// before it closes the files, and read back after a restart.
func TestWaitingAppendsCommittedBeforeClose(t *testing.T) {
	o := testOptions(t.TempDir())
	s, err := Open(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	gate := gate(t, s)
	offsets := make(chan uint64, 3)
	errs := make(chan error, 3)
	appendOne := func(tag string) {
		off, err := s.Append(context.Background(), [][]byte{record(tag, 0, 100)})
		offsets <- off
		errs <- err
	}
	go appendOne("a")
	<-gate.entered // a leads, in its group's fsync
	go appendOne("b")
	go appendOne("c")
	queued(t, s, 2)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) with appends waiting for their commit", err)
	case <-time.After(50 * time.Millisecond):
	}
	if _, err := s.Append(context.Background(), [][]byte{[]byte("late")}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close began: %v, want ErrClosed", err)
	}
	gate.held.Store(false)
	gate.proceed <- nil
	seen := map[uint64]bool{}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatalf("a waiting append failed: %v", err)
		}
		seen[<-offsets] = true
	}
	if !seen[1] || !seen[2] || !seen[3] {
		t.Fatalf("offsets %v, want 1, 2 and 3", seen)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	s = openSpool(t, o, nil)
	es := readN(t, mustReader(t, s, "sink"), 3, 10, 0)
	var tags []string
	for _, e := range es {
		tags = append(tags, string(e.Data[:1]))
	}
	if got := strings.Join(tags, ""); got != "abc" && got != "acb" {
		t.Fatalf("read back %q after the restart, want a then b and c", got)
	}
}

// TestEveryCallerAnsweredWhileOthersGiveUp: many callers append at once
// while others' contexts end at random moments, before they queue, while
// they wait, or after they were chosen to lead the next group. Every call
// returns, every append that succeeded is stored at its offset, and the
// lead is given up at the end: no caller is left waiting without a leader.
func TestEveryCallerAnsweredWhileOthersGiveUp(t *testing.T) {
	o := testOptions(t.TempDir())
	o.SegmentBytes = 64 << 10
	s := openSpool(t, o, nil)
	const callers, each = 32, 40
	type stored struct {
		off  uint64
		data []byte
	}
	var mu sync.Mutex
	var ok []stored
	var gaveUp int
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), 1))
			for i := range each {
				data := record("c", c*each+i, 50+rng.IntN(300))
				ctx, cancel := context.Background(), context.CancelFunc(func() {})
				if c%2 == 1 {
					ctx, cancel = context.WithTimeout(context.Background(), time.Duration(rng.IntN(400))*time.Microsecond)
				}
				off, err := s.Append(ctx, [][]byte{data})
				cancel()
				mu.Lock()
				switch {
				case err == nil:
					ok = append(ok, stored{off, data})
				case errors.Is(err, context.DeadlineExceeded):
					gaveUp++
				default:
					t.Errorf("Append: %v", err)
				}
				mu.Unlock()
			}
		})
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(60 * time.Second):
		t.Fatal("appends still waiting after 60s: a caller was left without a leader")
	}
	t.Logf("%d appends stored, %d gave up", len(ok), gaveUp)
	if len(ok) < callers*each/2 {
		t.Fatalf("%d appends stored, want at least the %d without a deadline", len(ok), callers*each/2)
	}
	s.qmu.Lock()
	leading, waiting := s.leading, len(s.queue)
	s.qmu.Unlock()
	if leading || waiting != 0 {
		t.Fatalf("after every call returned: leading %v, %d queued", leading, waiting)
	}
	// Appends that gave up may be stored too (at least once); every
	// one that succeeded is where its offset says.
	next := s.NextOffset()
	es := readN(t, mustReader(t, s, "sink"), int(next-1), 1000, 0)
	for _, st := range ok {
		if e := es[st.off-1]; e.Offset != st.off || !bytes.Equal(e.Data, st.data) {
			t.Fatalf("offset %d holds %.20q, want %.20q", st.off, e.Data, st.data)
		}
	}
}

// panickyFile is a segment file whose next write, once armed, waits for
// the test and then panics, as a bug in the commit would.
type panickyFile struct {
	*os.File
	entered chan struct{}
	proceed chan struct{}
}

func (f *panickyFile) WriteAt(b []byte, off int64) (int, error) {
	f.entered <- struct{}{}
	<-f.proceed
	panic("a bug in the commit")
}

// TestPanickingCommitBreaksTheSpool: a group commit that panics answers
// every caller waiting behind it with an error, gives up the lead, lets
// the panic go on to the leader's caller (whose recovery, the HTTP
// server's, logs it), and leaves the spool refusing appends until a
// restart, as after a failed fsync.
func TestPanickingCommitBreaksTheSpool(t *testing.T) {
	s := openSpool(t, testOptions(t.TempDir()), nil)
	mustAppend(t, s, []byte("before"))
	f := &panickyFile{entered: make(chan struct{}), proceed: make(chan struct{})}
	swapFile(s, func(file *os.File) segmentFile { f.File = file; return f })
	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		_, _ = s.Append(context.Background(), [][]byte{[]byte("leader")})
	}()
	<-f.entered
	behind := make(chan error, 1)
	go func() {
		_, err := s.Append(context.Background(), [][]byte{[]byte("behind")})
		behind <- err
	}()
	queued(t, s, 1)
	close(f.proceed)
	if p := <-panicked; p != "a bug in the commit" {
		t.Fatalf("the leader's Append recovered %v, want the commit's panic", p)
	}
	if err := <-behind; err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Fatalf("the append waiting behind the panic: %v, want the spool broken", err)
	}
	if _, err := s.Append(context.Background(), [][]byte{[]byte("after")}); err == nil || !strings.Contains(err.Error(), "appends fail until restart") {
		t.Fatalf("Append after the panic: %v, want the spool broken", err)
	}
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if s.leading || len(s.queue) != 0 {
		t.Fatalf("after the panic: leading %v, %d queued", s.leading, len(s.queue))
	}
}

// TestChosenLeaderWhoseContextEnded: a caller whose context ends just as
// the leader before it hands it the lead still commits the next group, so
// that the callers queued behind it are answered; one whose context ends
// before it is chosen leaves the queue. The test holds the queue's lock
// while the context ends and the leader finishes, and lets them wait for
// it in one order or the other.
func TestChosenLeaderWhoseContextEnded(t *testing.T) {
	var led, left int
	for round := range 20 {
		s := openSpool(t, testOptions(t.TempDir()), nil)
		gate := gate(t, s)
		type result struct {
			off uint64
			err error
		}
		a, b, c := make(chan result, 1), make(chan result, 1), make(chan result, 1)
		appendTo := func(ctx context.Context, tag string, res chan<- result) {
			off, err := s.Append(ctx, [][]byte{record(tag, round, 100)})
			res <- result{off, err}
		}
		go appendTo(context.Background(), "a", a)
		<-gate.entered // a leads, in its fsync
		ctx, cancel := context.WithCancel(context.Background())
		go appendTo(ctx, "b", b)
		queued(t, s, 1)
		go appendTo(context.Background(), "c", c)
		queued(t, s, 2)

		// Whichever waits for the lock first takes it first (sync.Mutex
		// wakes its waiters in turn): b in even rounds, a in odd ones.
		s.qmu.Lock()
		finish := func() {
			gate.held.Store(false)
			gate.proceed <- nil
			time.Sleep(5 * time.Millisecond) // a, done, waits to hand over
		}
		if round%2 == 1 {
			finish()
		}
		cancel()
		time.Sleep(5 * time.Millisecond) // b, its context ended, waits
		if round%2 == 0 {
			finish()
		}
		s.qmu.Unlock()

		for name, res := range map[string]chan result{"a": a, "c": c} {
			select {
			case r := <-res:
				if r.err != nil {
					t.Fatalf("round %d: %s's append: %v", round, name, r.err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("round %d: %s's append unanswered after 10s: left without a leader", round, name)
			}
		}
		switch r := <-b; {
		case r.err == nil:
			led++ // chosen before it saw its context end
		case errors.Is(r.err, context.Canceled):
			left++
		default:
			t.Fatalf("round %d: b's append: %v", round, r.err)
		}
	}
	t.Logf("the caller whose context ended led the next group in %d rounds and left the queue in %d", led, left)
}

// TestNoWriterGoroutine: the callers commit their groups themselves; the
// spool starts a goroutine of its own only for spool.fsync interval's
// timer.
func TestNoWriterGoroutine(t *testing.T) {
	for policy, want := range map[string]int{FsyncBatch: 0, FsyncNever: 0, FsyncInterval: 1} {
		t.Run(policy, func(t *testing.T) {
			o := testOptions(t.TempDir())
			o.Fsync = policy
			s := openSpool(t, o, nil)
			mustAppend(t, s, []byte("x"))
			buf := make([]byte, 1<<20)
			stacks := string(buf[:runtime.Stack(buf, true)])
			got := 0
			for _, g := range strings.Split(stacks, "\n\n") {
				// Not yet started, a goroutine shows as Open's wrapper.
				if !strings.Contains(g, "TestNoWriterGoroutine") && strings.Contains(g, "internal/spool.") {
					got++
				}
			}
			if got != want {
				t.Fatalf("%d goroutines in the spool's methods after Open and an append, want %d:\n%s", got, want, stacks)
			}
		})
	}
}
