package iouring

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/accord-events/accord/internal/testenv"
)

// openRing opens a ring, skipping where the kernel refuses one (the
// callers' fallback is tested in the spool).
func openRing(t testing.TB, onFail func(error)) *Ring {
	t.Helper()
	r, err := Open(onFail)
	if err != nil {
		testenv.Missing(t, "io_uring unavailable here: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func tempFile(t testing.TB) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestFdatasyncFlushesWrites(t *testing.T) {
	r := openRing(t, nil)
	f := tempFile(t)
	for i := range 200 {
		if _, err := f.Write([]byte("a record\n")); err != nil {
			t.Fatal(err)
		}
		if err := r.Fdatasync(int(f.Fd())); err != nil {
			t.Fatalf("fdatasync %d: %v", i, err)
		}
	}
	info, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() != 200*9 {
		t.Fatalf("size %d, want %d", info.Size(), 200*9)
	}
}

// The call's own failure is its errno, not the ring's, and leaves the ring
// working: a caller must not retry a failed fsync as a system call (the
// page cache can no longer be trusted) nor stop using the ring.
func TestFdatasyncReturnsTheCallsOwnError(t *testing.T) {
	failed := 0
	r := openRing(t, func(error) { failed++ })
	dir, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	bad := int(dir.Fd())
	dir.Close() // a closed descriptor: fdatasync answers EBADF
	err = r.Fdatasync(bad)
	if !errors.Is(err, syscall.EBADF) || errors.Is(err, ErrRing) {
		t.Fatalf("fdatasync of a closed descriptor: %v, want EBADF and not ErrRing", err)
	}
	if failed != 0 {
		t.Fatalf("onFail called %d times for the call's own error", failed)
	}
	f := tempFile(t)
	if err := r.Fdatasync(int(f.Fd())); err != nil {
		t.Fatalf("fdatasync after a failed one: %v", err)
	}
}

func TestFailedRingFailsEveryLaterCall(t *testing.T) {
	var reasons []error
	r := openRing(t, func(err error) { reasons = append(reasons, err) })
	// The ring's own descriptor gone: io_uring_enter fails.
	unix.Close(r.fd)
	r.fd = -1
	f := tempFile(t)
	for range 3 {
		if err := r.Fdatasync(int(f.Fd())); !errors.Is(err, ErrRing) || !errors.Is(err, syscall.EBADF) {
			t.Fatalf("fdatasync on a failed ring: %v, want ErrRing and the reason", err)
		}
	}
	if len(reasons) != 1 {
		t.Fatalf("onFail called %d times, want once: %v", len(reasons), reasons)
	}
}

// A ring that fails while the flush is under way cannot say how the flush
// went: the error must not invite the caller to flush again (a second
// fdatasync may succeed after the first one's failure was reported, unseen,
// to the ring), and later calls fail as the ring's.
func TestRingFailingDuringTheFlushReportsAnUnknownOutcome(t *testing.T) {
	var reasons []error
	r := openRing(t, func(err error) { reasons = append(reasons, err) })
	f := tempFile(t)
	// The completion's eventfd gone from under the ring: the kernel still
	// signals it, but the wait for it fails, unless the completion came
	// before the wait began.
	r.done.Close()
	var err error
	for range 100 {
		if _, werr := f.Write([]byte("a record\n")); werr != nil {
			t.Fatal(werr)
		}
		if err = r.Fdatasync(int(f.Fd())); err != nil {
			break
		}
	}
	if err == nil {
		t.Fatal("every flush completed before its wait: the test did not test that")
	}
	if errors.Is(err, ErrRing) || !errors.Is(err, os.ErrClosed) {
		t.Fatalf("fdatasync whose wait failed: %v, want an unknown outcome (not ErrRing) with the reason", err)
	}
	if err := r.Fdatasync(int(f.Fd())); !errors.Is(err, ErrRing) {
		t.Fatalf("fdatasync after the ring failed: %v, want ErrRing", err)
	}
	if len(reasons) != 1 {
		t.Fatalf("onFail called %d times, want once: %v", len(reasons), reasons)
	}
	r.done = nil // closed above; Close must not close it again
}

func TestClosedRing(t *testing.T) {
	r := openRing(t, nil)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	f := tempFile(t)
	if err := r.Fdatasync(int(f.Fd())); !errors.Is(err, ErrRing) || !errors.Is(err, os.ErrClosed) {
		t.Fatalf("fdatasync on a closed ring: %v", err)
	}
}

// Callers from several goroutines take turns: each gets its own answer.
func TestConcurrentFdatasync(t *testing.T) {
	r := openRing(t, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 8*50)
	for range 8 {
		f := tempFile(t)
		wg.Go(func() {
			for range 50 {
				if _, err := f.Write(make([]byte, 4096)); err != nil {
					errs <- err
					return
				}
				errs <- r.Fdatasync(int(f.Fd()))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkFdatasync: a 4 KiB write and its flush, through the ring and as
// a system call, alone and beside goroutines that keep every P busy as
// request handlers do. It reports the process's CPU time an operation
// (getrusage, every thread) besides the wall time: what the ring saves is
// the runtime's thread hand-offs around a blocking call.
func BenchmarkFdatasync(b *testing.B) {
	for _, busy := range []bool{false, true} {
		for _, way := range []string{"ring", "syscall"} {
			name := way
			if busy {
				name += "-busy"
			}
			b.Run(name, func(b *testing.B) {
				f := tempFile(b)
				flush := func() error { return unix.Fdatasync(int(f.Fd())) }
				if way == "ring" {
					r := openRing(b, nil)
					flush = func() error { return r.Fdatasync(int(f.Fd())) }
				}
				stop := make(chan struct{})
				var spinners sync.WaitGroup
				if busy {
					for range runtime.GOMAXPROCS(0) {
						spinners.Go(func() { spin(stop) })
					}
				}
				block := make([]byte, 4096)
				cpu0 := cpuTime(b)
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					if _, err := f.WriteAt(block, int64(i%256)*4096); err != nil {
						b.Fatal(err)
					}
					if err := flush(); err != nil {
						b.Fatal(err)
					}
				}
				if !busy {
					b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
				}
				close(stop)
				spinners.Wait()
			})
		}
	}
}

// spin keeps a P busy until stop, yielding often, as handlers between
// system calls do.
func spin(stop <-chan struct{}) {
	x := 0
	for {
		select {
		case <-stop:
			return
		default:
		}
		for i := range 10000 {
			x += i
		}
		runtime.Gosched()
	}
}

func cpuTime(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
