package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeCPUProfile holds docs/operations.md#profiling: accord serve
// --cpu-profile writes a CPU profile of the run, readable only by its
// owner, when the collector stops on SIGTERM.
func TestServeCPUProfile(t *testing.T) {
	dir := newProject(t)
	path := filepath.Join(dir, "cpu.pprof")
	c := startCollectorFlags(t, dir, []string{"--cpu-profile", path})
	if out, err := exec.Command(accordBin, "loadgen", "--url", c.URL+"/events", "--batch", "10", "--concurrency", "4", "--requests", "3000").CombinedOutput(); err != nil {
		t.Fatalf("loadgen: %v\n%s", err, out)
	}
	c.stop()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("profile mode %v, want 0600", info.Mode().Perm())
	}
	assertCollectorProfile(t, path, "internal/server.")
}

// TestServeCPUProfileUnwritable: a --cpu-profile path that cannot be
// written stops accord serve before it listens, naming the flag, rather
// than at the end of a long run.
func TestServeCPUProfileUnwritable(t *testing.T) {
	dir := newProject(t)
	bad := filepath.Join(dir, "no-such-dir", "cpu.pprof")
	_, stderr, code := runAccord(t, dir, nil, "serve", "--addr", "127.0.0.1:0", "--cpu-profile", bad)
	if code == 0 || !strings.Contains(stderr, "cpu profile:") || !strings.Contains(stderr, "no-such-dir") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if strings.Contains(stderr, "collector listening") {
		t.Errorf("accord serve listened before failing:\n%s", stderr)
	}
}

// assertCollectorProfile checks that path is a CPU profile `go tool pprof`
// reads, with samples in each of the packages named (prefixes of function
// names, as pprof prints them).
func assertCollectorProfile(t *testing.T, path string, packages ...string) {
	t.Helper()
	out, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount", "100000", path).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool pprof %s: %v\n%s", path, err, out)
	}
	top := string(out)
	if !strings.Contains(top, "Type: cpu") {
		t.Errorf("%s is not a CPU profile:\n%.2000s", path, top)
	}
	for _, fn := range packages {
		if !strings.Contains(top, fn) {
			t.Errorf("%s has no samples in %s", path, fn)
		}
	}
}
