package app

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// SetMemoryLimit sets the Go runtime's soft memory limit to the memory the
// process holds now plus headroom bytes (server.memory_headroom), and
// returns the limit set. Under load the garbage collector then runs before
// the heap doubles its live data (GOGC's pacing), which is what held most of
// the peak RSS at full batched load. It does nothing and returns 0 when
// headroom is 0 or the GOMEMLIMIT environment variable is set (the
// operator's own limit wins). Call it once the contracts are loaded, so
// that what they keep counts as held, not as headroom.
func SetMemoryLimit(headroom int64) int64 {
	if headroom <= 0 || os.Getenv("GOMEMLIMIT") != "" {
		return 0
	}
	runtime.GC()
	limit := goMemoryHeld() + headroom
	debug.SetMemoryLimit(limit)
	return limit
}

// goMemoryHeld is the memory the Go runtime holds, as its memory limit
// counts it: everything mapped, less what it returned to the system.
func goMemoryHeld() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64() - s[1].Value.Uint64())
}
