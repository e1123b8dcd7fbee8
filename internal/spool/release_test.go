package spool

import (
	"bytes"
	"context"
	"errors"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// gatedSync is a segment file whose Sync, while the test holds it,
// waits until the test lets it go, after saying it was called, and then
// fails when told to.
type gatedSync struct {
	*os.File
	held    atomic.Bool
	entered chan struct{}
	proceed chan error
}

func (f *gatedSync) Sync() error {
	if f.held.Load() {
		f.entered <- struct{}{}
		if err := <-f.proceed; err != nil {
			return err
		}
	}
	return f.File.Sync()
}

// gate holds the fsyncs of s's segment until the test ends.
func gate(t *testing.T, s *Spool) *gatedSync {
	g := &gatedSync{entered: make(chan struct{}), proceed: make(chan error)}
	g.held.Store(true)
	swapFile(s, func(f *os.File) segmentFile { g.File = f; return g })
	t.Cleanup(func() { g.held.Store(false) })
	return g
}

// swapFile replaces the writer's segment file between two groups: the
// channel hand-offs order it with the writer goroutine.
func swapFile(s *Spool, f func(*os.File) segmentFile) {
	done := make(chan struct{})
	s.reqs <- &appendReq{done: done}
	<-done
	s.w = f(s.w.(dataFile).File)
}

// framesOf lays records out as frames.
func framesOf(records ...[]byte) *Frames {
	f := new(Frames)
	for _, r := range records {
		f.End(append(f.Begin(), r...))
	}
	return f
}

// TestAppendFramesReleasedBeforeFsync: with a release func, the frames are
// handed back once written and before the fsync, AppendFrames still
// returns only after the fsync, and what the caller then writes into the
// released buffer (the next request's records) does not change what was
// stored; a failed fsync fails the append, frames released all the same.
func TestAppendFramesReleasedBeforeFsync(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int // record size: a large batch is written from its own buffer, a small one copied
	}{
		{"written from its buffer", coalesceFrames + 1000},
		{"copied into the group's", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions(t.TempDir())
			o.SegmentBytes = 1 << 20
			s := openSpool(t, o, nil)
			gate := gate(t, s)

			want := [][]byte{record("a", 0, tc.size), record("a", 1, tc.size)}
			var released atomic.Int32
			var got *Frames
			f := framesOf(want...)
			type result struct {
				off uint64
				err error
			}
			res := make(chan result, 1)
			go func() {
				off, err := s.AppendFrames(context.Background(), f, func(r *Frames) {
					got = r
					released.Add(1)
				})
				res <- result{off, err}
			}()
			<-gate.entered
			if n := released.Load(); n != 1 {
				t.Fatalf("frames released %d times before the fsync, want 1", n)
			}
			if got != f {
				t.Fatalf("release was handed %p, want the frames appended (%p)", got, f)
			}
			select {
			case r := <-res:
				t.Fatalf("AppendFrames returned (%d, %v) before the fsync", r.off, r.err)
			default:
			}
			// The caller reuses the buffer at once, as Deliver's pool does.
			for i := range f.buf {
				f.buf[i] = 'x'
			}
			gate.proceed <- nil
			if r := <-res; r.err != nil || r.off != 1 {
				t.Fatalf("AppendFrames = %d, %v; want 1, nil", r.off, r.err)
			}
			es := readN(t, mustReader(t, s, "sink"), 2, 10, 0)
			for i, e := range es {
				if !bytes.Equal(e.Data, want[i]) {
					t.Fatalf("record %d reads back %.40q..., want %.40q...", i, e.Data, want[i])
				}
			}

			// A failed fsync: the frames are released, the append fails.
			released.Store(0)
			go func() {
				off, err := s.AppendFrames(context.Background(), framesOf(record("b", 0, tc.size)), func(*Frames) { released.Add(1) })
				res <- result{off, err}
			}()
			<-gate.entered
			gate.proceed <- syscall.EIO
			if r := <-res; r.err == nil {
				t.Fatalf("AppendFrames after a failed fsync = %d, nil; want an error", r.off)
			}
			if n := released.Load(); n != 1 {
				t.Fatalf("frames released %d times after a failed fsync, want 1", n)
			}
			// The page cache is no longer trusted: every later append
			// fails until the spool is opened again.
			gate.held.Store(false)
			if off, err := s.Append(context.Background(), [][]byte{record("c", 0, 10)}); err == nil {
				t.Fatalf("Append after a failed fsync = %d, nil; want an error until reopened", off)
			}
		})
	}
}

// TestAppendFramesReleasedOnce: whatever becomes of an append, its frames
// are released exactly once, and by the time AppendFrames returns unless
// ctx ended while the commit still had them.
func TestAppendFramesReleasedOnce(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		setup   func(*Spool)
		records [][]byte
		wantErr error
	}{
		{"appended", context.Background(), nil, [][]byte{record("a", 0, 100)}, nil},
		{"empty", context.Background(), nil, nil, nil},
		{"too large for the spool", context.Background(), nil, [][]byte{record("a", 0, 40<<10)}, ErrTooLarge},
		{"ctx ended", canceled, nil, [][]byte{record("a", 0, 100)}, context.Canceled},
		{"spool closed", context.Background(), func(s *Spool) { s.Close() }, [][]byte{record("a", 0, 100)}, ErrClosed},
		{"spool full", context.Background(), func(s *Spool) {
			for {
				if _, err := s.Append(context.Background(), [][]byte{record("f", 0, 3000)}); err != nil {
					return
				}
			}
		}, [][]byte{record("a", 0, 3000)}, ErrFull},
		{"spool broken", context.Background(), func(s *Spool) {
			swapFile(s, func(f *os.File) segmentFile { return fullDisk{f} })
			s.Append(context.Background(), [][]byte{record("f", 0, 100)})
			s.broken = errors.New("broken")
		}, [][]byte{record("a", 0, 100)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions(t.TempDir())
			o.MaxBytes = 32 << 10
			s := openSpool(t, o, nil)
			mustReader(t, s, "sink") // holds the records, so the spool fills
			if tc.setup != nil {
				tc.setup(s)
			}
			var released atomic.Int32
			_, err := s.AppendFrames(tc.ctx, framesOf(tc.records...), func(*Frames) { released.Add(1) })
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("AppendFrames: %v, want %v", err, tc.wantErr)
			}
			if n := released.Load(); n != 1 {
				t.Fatalf("frames released %d times, want 1 (err %v)", n, err)
			}
		})
	}
}

// TestAppendFramesReleasedWhenCtxEndsWaiting: a caller whose ctx ends
// while the writer is busy with another group gets its frames back, once,
// and the other group's frames are released by the commit.
func TestAppendFramesReleasedWhenCtxEndsWaiting(t *testing.T) {
	s := openSpool(t, testOptions(t.TempDir()), nil)
	gate := gate(t, s)
	var first, second atomic.Int32
	res := make(chan error, 2)
	go func() {
		_, err := s.AppendFrames(context.Background(), framesOf(record("a", 0, 100)), func(*Frames) { first.Add(1) })
		res <- err
	}()
	<-gate.entered // the writer is in the first group's fsync
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := s.AppendFrames(ctx, framesOf(record("b", 0, 100)), func(*Frames) { second.Add(1) })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("AppendFrames while the writer is busy: %v, want context.DeadlineExceeded", err)
	}
	if n := second.Load(); n != 1 {
		t.Fatalf("the waiting append's frames released %d times, want 1", n)
	}
	gate.proceed <- nil
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	if n := first.Load(); n != 1 {
		t.Fatalf("the first append's frames released %d times, want 1", n)
	}
}

// TestFitsAsAppendFrames: Fits refuses exactly what AppendFrames refuses
// for its size, whatever the spool holds, so that a caller can ask before
// it lets go of what it answers such a refusal with.
func TestFitsAsAppendFrames(t *testing.T) {
	o := testOptions(t.TempDir())
	o.MaxBytes = 32 << 10
	s := openSpool(t, o, nil)
	limit := int(o.MaxBytes - o.SegmentBytes)
	for _, tc := range []struct {
		name    string
		records [][]byte
		fits    bool
	}{
		{"small", [][]byte{record("a", 0, 100)}, true},
		{"empty", nil, true},
		{"a batch just under max_bytes less one segment", [][]byte{record("a", 0, limit-FrameHeaderSize-64)}, true},
		{"a batch over max_bytes less one segment", [][]byte{record("a", 0, limit/2), record("b", 1, limit/2)}, false},
		{"a record over MaxRecordBytes", [][]byte{record("a", 0, MaxRecordBytes+1)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fits := s.Fits(framesOf(tc.records...))
			if (fits == nil) != tc.fits || (fits != nil && !errors.Is(fits, ErrTooLarge)) {
				t.Fatalf("Fits: %v; want fits %v, else ErrTooLarge", fits, tc.fits)
			}
			_, err := s.AppendFrames(context.Background(), framesOf(tc.records...), nil)
			if errors.Is(err, ErrTooLarge) == tc.fits {
				t.Fatalf("AppendFrames: %v, Fits: %v; want them to agree", err, fits)
			}
		})
	}
}
