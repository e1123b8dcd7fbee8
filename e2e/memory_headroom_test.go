package e2e

import (
	"regexp"
	"strconv"
	"testing"
)

var memoryLimitRE = regexp.MustCompile(`msg="go memory limit set" bytes=(\d+) headroom=(\d+)`)

// TestMemoryHeadroom: server.memory_headroom makes accord serve set Go's
// soft memory limit to what it holds once started plus the headroom; off by
// default, and GOMEMLIMIT wins over it (docs/configuration.md,
// docs/performance-log.md).
func TestMemoryHeadroom(t *testing.T) {
	dir := newProject(t)
	limit := func(env ...string) (int64, bool) {
		c := startCollector(t, dir, append([]string{"ACCORD_LOG_LEVEL=debug"}, env...)...)
		c.stop()
		m := memoryLimitRE.FindStringSubmatch(c.logs.String())
		if m == nil {
			return 0, false
		}
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		if m[2] != "33554432" {
			t.Errorf("headroom %s in the log, want 33554432", m[2])
		}
		return n, true
	}
	if n, ok := limit("ACCORD_SERVER_MEMORY_HEADROOM=33554432"); !ok {
		t.Error("with server.memory_headroom set, no memory limit was set")
	} else if n <= 32<<20 || n > 32<<20+512<<20 {
		t.Errorf("limit %d bytes: want the headroom (32 MiB) plus what the process holds", n)
	}
	if n, ok := limit(); ok {
		t.Errorf("by default a memory limit of %d was set", n)
	}
	if n, ok := limit("ACCORD_SERVER_MEMORY_HEADROOM=33554432", "GOMEMLIMIT=1GiB"); ok {
		t.Errorf("GOMEMLIMIT set, yet the key set a limit of %d", n)
	}
}
