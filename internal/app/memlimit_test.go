package app

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestSetMemoryLimit(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })
	t.Setenv("GOMEMLIMIT", "")

	held := goMemoryHeld()
	limit := SetMemoryLimit(32 << 20)
	if got := debug.SetMemoryLimit(-1); got != limit {
		t.Fatalf("runtime limit %d, SetMemoryLimit returned %d", got, limit)
	}
	// The limit is what the process holds plus the headroom: never less
	// than the headroom, and not far from held (a GC ran in between, so it
	// can only have shrunk, by at most what was garbage).
	if limit < 32<<20+held/4 || limit > 32<<20+held+8<<20 {
		t.Fatalf("limit %d, want about %d held + 32 MiB", limit, held)
	}

	debug.SetMemoryLimit(math.MaxInt64)
	if got := SetMemoryLimit(0); got != 0 || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Fatalf("headroom 0 set a limit (%d)", got)
	}
	t.Setenv("GOMEMLIMIT", "1GiB")
	if got := SetMemoryLimit(32 << 20); got != 0 || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Fatalf("GOMEMLIMIT set, yet the key set a limit (%d)", got)
	}
}
