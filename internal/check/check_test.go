package check

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"weak"
)

// recorder is a testing.TB that records failures instead of failing, so
// the checks themselves can be tested.
type recorder struct {
	testing.TB
	failed atomic.Bool
	msg    string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.failed.Store(true)
	r.msg = fmt.Sprintf(format, args...)
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	panic(r) // stands in for runtime.Goexit
}

// run calls f with a recorder and reports whether f failed it.
func run(f func(tb testing.TB)) (failed bool, msg string) {
	r := &recorder{}
	func() {
		defer func() {
			if p := recover(); p != nil && p != r {
				panic(p)
			}
		}()
		f(r)
	}()
	return r.failed.Load(), r.msg
}

func TestEventually(t *testing.T) {
	var n atomic.Int32
	if failed, msg := run(func(tb testing.TB) {
		Eventually(tb, time.Second, "three calls", func() bool { return n.Add(1) >= 3 })
	}); failed {
		t.Errorf("Eventually failed on a condition that became true: %s", msg)
	}
	failed, msg := run(func(tb testing.TB) {
		Eventually(tb, 20*time.Millisecond, "never", func() bool { return false })
	})
	if !failed || msg != "timed out after 20ms waiting until never" {
		t.Errorf("Eventually on a false condition: failed %v, %q", failed, msg)
	}
}

func TestErrorSays(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		parts  []string
		failed bool
	}{
		{"nil wanted", nil, nil, false},
		{"error where none wanted", errors.New("x"), nil, true},
		{"no error where one wanted", nil, []string{"x"}, true},
		{"says every part", errors.New("path: empty; set path"), []string{"path:", "set path"}, false},
		{"misses a part", errors.New("path: empty"), []string{"path:", "mode:"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			failed, msg := run(func(tb testing.TB) { ErrorSays(tb, tc.err, tc.parts...) })
			if failed != tc.failed {
				t.Errorf("failed = %v (%q), want %v", failed, msg, tc.failed)
			}
		})
	}
}

func TestBufferConcurrentWrites(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				fmt.Fprint(&b, "x")
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	if got := len(b.String()); got != 800 {
		t.Errorf("buffer holds %d bytes, want 800", got)
	}
}

func TestCollected(t *testing.T) {
	freed := weak.Make(new([64]byte))
	if !Collected(freed) {
		t.Error("memory nothing points to was not reported collected")
	}
	held := new([64]byte)
	if collectedWithin(weak.Make(held), 50*time.Millisecond) {
		t.Error("memory still in use was reported collected")
	}
	runtime.KeepAlive(held)
}
