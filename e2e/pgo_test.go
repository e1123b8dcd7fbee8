package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestShippedPGOProfile holds docs/performance.md's promise that `go build
// ./cmd/accord` optimises with the checked-in profile: the binary TestMain
// built names cmd/accord/default.pgo in its build settings, and that file
// is a CPU profile of the collector's own work, scripts/make-pgo's four
// loads (the Snowplow one included).
func TestShippedPGOProfile(t *testing.T) {
	out, err := exec.Command("go", "version", "-m", accordBin).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v\n%s", err, out)
	}
	want, err := filepath.Abs("../cmd/accord/default.pgo")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "-pgo="+want+"\n") {
		t.Errorf("accord was not built with %s:\n%s", want, out)
	}
	assertCollectorProfile(t, want, "internal/pipeline.", "internal/server.", "internal/protocol/snowplow.", "internal/spool.", "internal/sink/sqlite.", "internal/sink/file.")
}

// TestMakePGOScript keeps scripts/make-pgo, which makes the profile above,
// working: one-second runs of each of its four loads, each server writing
// a profile with `accord serve --cpu-profile`, merged into the file named.
// It asserts nothing about speed.
func TestMakePGOScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds accord and runs four loads")
	}
	out := filepath.Join(t.TempDir(), "made.pgo")
	_, log := runScript(t, "make-pgo", "--duration", "1", "--out", out)
	if !strings.Contains(log, "make-pgo: wrote "+out) {
		t.Errorf("no report of the profile written:\n%s", log)
	}
	// A second of each load gives a few hundred samples: enough to be sure
	// of the request path on every stack, not of each sink's share.
	assertCollectorProfile(t, out, "internal/pipeline.", "internal/server.")
	if _, err := os.Stat(out + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("the temporary copy is left beside the profile: %v", err)
	}
}

// TestServeCPUProfile holds docs/operations.md#profiling: accord serve
// --cpu-profile writes a CPU profile of the run, readable only by its
// owner, when the collector stops on SIGTERM or on SIGINT.
func TestServeCPUProfile(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := newProject(t)
			path := filepath.Join(dir, "cpu.pprof")
			c := startCollectorFlags(t, dir, []string{"--cpu-profile", path})
			if out, err := exec.Command(accordBin, "loadgen", "--url", c.URL+"/events", "--batch", "10", "--concurrency", "4", "--requests", "3000").CombinedOutput(); err != nil {
				t.Fatalf("loadgen: %v\n%s", err, out)
			}
			if err := c.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-c.done:
				if code := c.cmd.ProcessState.ExitCode(); code != 0 {
					t.Fatalf("accord serve exited %d after %v\n%s", code, sig, c.logs)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("accord serve did not stop within 30s of %v", sig)
			}
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode().Perm() != 0o600 {
				t.Errorf("profile mode %v, want 0600", info.Mode().Perm())
			}
			assertCollectorProfile(t, path, "internal/server.")
		})
	}
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
