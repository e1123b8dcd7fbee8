package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMeasureServeScript keeps scripts/measure-serve, which docs/performance.md
// gives as the command behind its issue-15 before/after tables, working
// against the real binary: one short round of single events and of
// 100-event batches (drain included), each reported as a JSON line whose
// figures come from the run. It asserts nothing about speed.
func TestMeasureServeScript(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 is not installed")
		}
		t.Skip("python3 is not installed")
	}
	script, err := filepath.Abs("../scripts/measure-serve")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, script, accordBin, "now="+accordBin, "--rounds", "1", "--modes", "single,batch", "--duration", "1")
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("measure-serve: %v\n%s", err, out)
	}
	runs := map[string]map[string]any{}
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("a run's line is not JSON: %v\n%s", err, line)
		}
		runs[r["mode"].(string)] = r
	}
	for _, mode := range []string{"single", "batch"} {
		r, ok := runs[mode]
		if !ok {
			t.Fatalf("no %s run reported:\n%s", mode, out)
		}
		if r["name"] != "now" || r["requests"].(float64) < 1 || r["errors"].(float64) != 0 || r["cpu_us_per_req"].(float64) <= 0 || r["vmhwm_mib"].(float64) <= 0 {
			t.Errorf("%s run: %v", mode, r)
		}
	}
	if _, ok := runs["batch"]["drain_s"]; !ok {
		t.Errorf("the batch run did not report its drain: %v", runs["batch"])
	}
	if !strings.Contains(string(out), "single now ") || !strings.Contains(string(out), "batch  now ") {
		t.Errorf("no summary lines:\n%s", out)
	}
}
