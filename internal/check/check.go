// Package check holds the checks that tests in many packages share: waiting
// for something that happens asynchronously, an error that must name what
// is wrong (or be nil), and a buffer a test reads while the code under test
// writes to it from other goroutines, and whether memory was let go. Only
// tests import it.
package check

import (
	"bytes"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"weak"
)

// Eventually polls cond every few milliseconds until it holds, failing the
// test after timeout with "timed out after ... waiting until what".
// Delivery, reloads and caches work asynchronously; a test that observes
// them waits this way rather than sleeping a fixed time.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting until %s", timeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Collected runs the garbage collector until what p points to is freed,
// for up to 5 s, and reports whether it was: how tests hold code to
// keeping no pointer into memory it was lent or read from.
func Collected[T any](p weak.Pointer[T]) bool { return collectedWithin(p, 5*time.Second) }

func collectedWithin[T any](p weak.Pointer[T], timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for p.Value() != nil {
		if time.Now().After(deadline) {
			return false
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	return true
}

// ErrorSays fails the test unless err is nil when parts is empty, or else
// is an error whose text contains every one of parts: how tests hold a
// Validate to naming the key and the fix.
func ErrorSays(t testing.TB, err error, parts ...string) {
	t.Helper()
	if len(parts) == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error, want one saying %q", parts)
	}
	for _, part := range parts {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not say %q", err, part)
		}
	}
}

// Buffer is a bytes.Buffer safe for concurrent use: a logger's or a
// process's output that a test reads while it is being written.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
