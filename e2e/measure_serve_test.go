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
// 100-event batches, with the collector's ids and with tracker ids (drain
// included), each reported as a JSON line whose figures come from the run.
// It asserts nothing about speed.
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
	cmd := exec.Command(python, script, accordBin, "now="+accordBin, "--rounds", "1", "--modes", "single,batch,batch-ids", "--duration", "1")
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
	for _, mode := range []string{"single", "batch", "batch-ids"} {
		r, ok := runs[mode]
		if !ok {
			t.Fatalf("no %s run reported:\n%s", mode, out)
		}
		if r["name"] != "now" || r["requests"].(float64) < 1 || r["errors"].(float64) != 0 || r["cpu_us_per_req"].(float64) <= 0 || r["vmhwm_mib"].(float64) <= 0 {
			t.Errorf("%s run: %v", mode, r)
		}
	}
	for _, mode := range []string{"batch", "batch-ids"} {
		if _, ok := runs[mode]["drain_s"]; !ok {
			t.Errorf("the %s run did not report its drain: %v", mode, runs[mode])
		}
	}
	if !strings.Contains(string(out), "single now ") || !strings.Contains(string(out), "batch  now ") {
		t.Errorf("no summary lines:\n%s", out)
	}
}

// TestMeasureGrowthScript keeps scripts/measure-growth, behind
// docs/performance.md's table of a growing database, working against the
// real binary: two one-second bursts with tracker ids into one database,
// each cycle a JSON line, the second starting from the rows the first
// stored. It asserts nothing about speed.
func TestMeasureGrowthScript(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 is not installed")
		}
		t.Skip("python3 is not installed")
	}
	script, err := filepath.Abs("../scripts/measure-growth")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, script, accordBin, "2", "--duration", "1", "--client-ids")
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("measure-growth: %v\n%s", err, out)
	}
	var cycles []map[string]any
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var c map[string]any
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("a cycle's line is not JSON: %v\n%s", err, line)
		}
		cycles = append(cycles, c)
	}
	if len(cycles) != 2 {
		t.Fatalf("%d cycles reported, want 2:\n%s", len(cycles), out)
	}
	for i, c := range cycles {
		if c["cycle"].(float64) != float64(i) || c["acknowledged_s"].(float64) <= 0 || c["database_gb"].(float64) <= 0 || c["vmhwm_mib"].(float64) <= 0 {
			t.Errorf("cycle %d: %v", i, c)
		}
	}
	if cycles[0]["rows_before"].(float64) != 0 || cycles[1]["rows_before"].(float64) <= 0 {
		t.Errorf("the second cycle does not start from the first's rows: %v", cycles)
	}
}
