package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/loadgen"
	"github.com/accord-events/accord/internal/testenv"
)

// TestMeasureServeScript keeps scripts/measure-serve, which docs/performance-log.md
// gives as the command behind its issue-15 before/after tables, working
// against the real binary: one short round of single events, of 100-event
// batches with the collector's ids and with tracker ids, and of Snowplow
// tracker POSTs (drain included), each reported as a JSON line whose
// figures come from the run, with every event valid. It asserts nothing
// about speed.
func TestMeasureServeScript(t *testing.T) {
	lines, out := runScript(t, "measure-serve", accordBin, "now="+accordBin, "--rounds", "1", "--modes", "single,batch,batch-ids,snowplow", "--duration", "1")
	runs := runsBy(lines, "mode")
	for _, mode := range []string{"single", "batch", "batch-ids", "snowplow"} {
		r, ok := runs[mode]
		if !ok {
			t.Fatalf("no %s run reported:\n%s", mode, out)
		}
		if r["name"] != "now" || r["requests"].(float64) < 1 || r["errors"].(float64) != 0 || r["failed_events"].(float64) != 0 || r["cpu_us_per_req"].(float64) <= 0 || r["vmhwm_mib"].(float64) <= 0 {
			t.Errorf("%s run: %v", mode, r)
		}
	}
	for _, mode := range []string{"batch", "batch-ids", "snowplow"} {
		if _, ok := runs[mode]["drain_s"]; !ok {
			t.Errorf("the %s run did not report its drain: %v", mode, runs[mode])
		}
	}
	if !strings.Contains(out, "single now ") || !strings.Contains(out, "batch  now ") {
		t.Errorf("no summary lines:\n%s", out)
	}
}

// TestMeasureServeReportsRefusedRequests: a run whose requests the
// collector refused reports them beside its rate, in its JSON line and in
// the summary, so that a binary answering fewer requests 200 (a spool at
// max_bytes answering 503) is not read as merely slower; a run without
// any adds nothing to its summary line. The collector here accepts no
// body over 1 KiB, so every 100-event request is refused (413).
func TestMeasureServeReportsRefusedRequests(t *testing.T) {
	t.Setenv("ACCORD_SERVER_MAX_BODY_BYTES", "1024")
	lines, out := runScript(t, "measure-serve", accordBin, "now="+accordBin, "--rounds", "1", "--modes", "batch,single", "--duration", "1")
	runs := runsBy(lines, "mode")
	batch, single := runs["batch"], runs["single"]
	if batch == nil || single == nil {
		t.Fatalf("runs missing:\n%s", out)
	}
	refused := batch["errors"].(float64)
	if refused < 1 || refused != batch["requests"].(float64) || batch["events"].(float64) != 0 || batch["statuses"] != "map[413:"+strconv.Itoa(int(refused))+"]" {
		t.Errorf("batch run: %v", batch)
	}
	if single["errors"].(float64) != 0 {
		t.Errorf("single run: %v", single)
	}
	var batchLine, singleLine string
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "batch  now "):
			batchLine = line
		case strings.HasPrefix(line, "single now "):
			singleLine = line
		}
	}
	if !strings.Contains(batchLine, " errors="+strconv.Itoa(int(refused))+" ") {
		t.Errorf("the batch summary does not report the %d refused requests: %q", int(refused), batchLine)
	}
	if singleLine == "" || strings.Contains(singleLine, "errors=") {
		t.Errorf("the single summary, whose run had no refused request: %q", singleLine)
	}
}

// TestMeasureServeSettingsPerBinary: --set NAME:VAR=VALUE reaches the
// servers of that binary only, and its JSON lines name the setting
// (docs/performance.md measures tables: off against the default this
// way). One binary under two names: the one whose body limit is set below
// a 100-event request is refused every request, the other none.
func TestMeasureServeSettingsPerBinary(t *testing.T) {
	lines, out := runScript(t, "measure-serve", accordBin, "dflt="+accordBin, "small="+accordBin,
		"--set", "small:ACCORD_SERVER_MAX_BODY_BYTES=1024", "--rounds", "1", "--modes", "batch", "--duration", "1")
	runs := runsBy(lines, "name")
	small, dflt := runs["small"], runs["dflt"]
	if small == nil || dflt == nil {
		t.Fatalf("runs missing:\n%s", out)
	}
	if small["errors"].(float64) < 1 || small["errors"] != small["requests"] || !reflect.DeepEqual(small["settings"], map[string]any{"ACCORD_SERVER_MAX_BODY_BYTES": "1024"}) {
		t.Errorf("the run with the setting: %v", small)
	}
	if dflt["errors"].(float64) != 0 || dflt["requests"].(float64) < 1 || dflt["settings"] != nil {
		t.Errorf("the run without it: %v", dflt)
	}
	for _, bad := range []string{"nobody:ACCORD_SERVER_MAX_BODY_BYTES=1024", "dflt:ACCORD_SERVER_MAX_BODY_BYTES", "dflt:=1"} {
		got, err := scriptCommand(t, "measure-serve", accordBin, "dflt="+accordBin, "--set", bad, "--modes", "single", "--duration", "1", "--rounds", "1").CombinedOutput()
		if err == nil || !strings.Contains(string(got), "--set") || strings.Contains(string(got), "{") {
			t.Errorf("--set %s: err %v, want a refusal naming --set before any run\n%s", bad, err, got)
		}
	}
}

// TestMeasureServeBatchPaced: the paced batch loads send 100-event
// requests at --batch-rate requests/s (docs/performance.md's sustained
// rates), with tracker ids in batch-ids-paced, and report the backlog at
// the end and its drain as batch does. Paced at 25 requests/s for 2 s,
// a run sends about 50 requests, far fewer than the same collector
// answers unpaced.
func TestMeasureServeBatchPaced(t *testing.T) {
	lines, out := runScript(t, "measure-serve", accordBin, "now="+accordBin, "--rounds", "1", "--modes", "batch-paced,batch-ids-paced", "--batch-rate", "25", "--duration", "2")
	if len(lines) != 2 {
		t.Fatalf("want two runs:\n%s", out)
	}
	for _, r := range lines {
		requests := r["requests"].(float64)
		if requests < 30 || requests > 60 || r["events"].(float64) != 100*requests || r["errors"].(float64) != 0 || r["failed_events"].(float64) != 0 {
			t.Errorf("%s run, paced at 25 requests/s for 2 s: %v", r["mode"], r)
		}
		if _, ok := r["lag_at_end"]; !ok {
			t.Errorf("%s run reports no backlog at its end: %v", r["mode"], r)
		}
		if _, ok := r["drain_s"]; !ok {
			t.Errorf("%s run reports no drain: %v", r["mode"], r)
		}
	}
}

// TestMeasureServeAlternatesOrder: the second round runs the binaries in
// reverse order, so that each runs first in as many pairs
// (docs/performance-log.md: the first run of a pair was ahead in the Snowplow
// load whichever binary it was).
func TestMeasureServeAlternatesOrder(t *testing.T) {
	lines, out := runScript(t, "measure-serve", accordBin, "a="+accordBin, "b="+accordBin, "--rounds", "2", "--modes", "single", "--duration", "1")
	var order []string
	for _, r := range lines {
		order = append(order, r["name"].(string))
	}
	if strings.Join(order, ",") != "a,b,b,a" {
		t.Errorf("runs in the order %v, want a,b,b,a:\n%s", order, out)
	}
}

// TestMeasureServeFloor: with --floor, each round also runs the load
// against a bare net/http handler built by the script (the machine's
// floor, which docs/performance.md gives beside the collector's figures),
// reported like a binary's run but without the sinks' figures.
func TestMeasureServeFloor(t *testing.T) {
	lines, out := runScript(t, "measure-serve", accordBin, "now="+accordBin, "--rounds", "1", "--modes", "single", "--duration", "1", "--floor")
	var floor map[string]any
	for _, r := range lines {
		if r["name"] == "floor" {
			floor = r
		}
	}
	if floor == nil {
		t.Fatalf("no floor run reported:\n%s", out)
	}
	if floor["requests"].(float64) < 1 || floor["errors"].(float64) != 0 || floor["statuses"] != "map[200:"+strconv.Itoa(int(floor["requests"].(float64)))+"]" || floor["cpu_us_per_req"].(float64) <= 0 {
		t.Errorf("floor run: %v", floor)
	}
	if _, ok := floor["stored_during_run_s"]; ok {
		t.Errorf("the floor, which has no sinks, reported a stored rate: %v", floor)
	}
	if !strings.Contains(out, "single floor ") || !strings.Contains(out, "single now ") {
		t.Errorf("no summary lines for the floor and the binary:\n%s", out)
	}

	// The floor answers what the collector answers for the load
	// generator's one good event, byte for byte.
	script, err := os.ReadFile("../scripts/measure-serve")
	if err != nil {
		t.Fatal(err)
	}
	// The script's Python source spells Go's "\n" with its backslash
	// escaped.
	_, rest, found := strings.Cut(string(script), "answer := []byte(`")
	answer, _, closed := strings.Cut(rest, "` + \"\\\\n\")")
	if !found || !closed {
		t.Fatal("the floor's answer is not found in scripts/measure-serve")
	}
	c := startCollector(t, newProject(t))
	status, _, body := c.post("/events", "application/json", loadgen.CheckoutBatch(1))
	if want := answer + "\n"; status != http.StatusOK || string(body) != want {
		t.Errorf("the collector answered %d %q to one good event; the floor answers 200 %q", status, body, want)
	}
}

// TestMeasureGrowthScript keeps scripts/measure-growth, behind
// docs/performance-log.md's table of a growing database, working against the
// real binary: two one-second bursts with tracker ids into one database,
// each cycle a JSON line, the second starting from the rows the first
// stored. It asserts nothing about speed.
func TestMeasureGrowthScript(t *testing.T) {
	cycles, out := runScript(t, "measure-growth", accordBin, "2", "--duration", "1", "--client-ids")
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

// runScript runs scripts/NAME (scriptCommand) and returns the JSON objects
// it printed, one a line, and all it printed; a non-zero exit fails the test.
func runScript(t *testing.T, name string, args ...string) ([]map[string]any, string) {
	t.Helper()
	cmd := scriptCommand(t, name, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
	var lines []map[string]any
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("%s: a line is not JSON: %v\n%s", name, err, line)
		}
		lines = append(lines, v)
	}
	return lines, string(out)
}

// scriptCommand is scripts/NAME with args, run by python3 in a directory
// of its own. Without python3 the test is skipped, but for CI, where it
// fails.
func scriptCommand(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		testenv.Missing(t, "python3 is not installed")
	}
	script, err := filepath.Abs("../scripts/" + name)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, append([]string{script}, args...)...)
	cmd.Dir = t.TempDir()
	return cmd
}

// runsBy keys a script's JSON lines by one of their string fields (mode,
// name), each key holding the last line that had it.
func runsBy(lines []map[string]any, field string) map[string]map[string]any {
	runs := map[string]map[string]any{}
	for _, r := range lines {
		runs[r[field].(string)] = r
	}
	return runs
}

// TestMeasureDrainScript keeps scripts/measure-drain, behind
// docs/performance-log.md's drains of one backlog by two binaries, working
// against the real binary: a one-second burst left in the spool by a kill,
// then two binaries (the same one twice) each draining a copy of it, every
// drain a JSON line of the same records. It asserts nothing about speed.
func TestMeasureDrainScript(t *testing.T) {
	lines, out := runScript(t, "measure-drain", accordBin, "a="+accordBin, "b="+accordBin, "--rounds", "1", "--duration", "1")
	if len(lines) != 3 {
		t.Fatalf("%d lines reported, want the backlog and two drains:\n%s", len(lines), out)
	}
	if lines[0]["backlog_by"] != "a" || lines[0]["lag_at_kill"].(float64) < 0 {
		t.Errorf("backlog line: %v", lines[0])
	}
	for i, name := range []string{"a", "b"} {
		d := lines[1+i]
		if d["name"] != name || d["records"].(float64) <= 0 || d["lag_left"].(float64) != 0 || d["records_s"].(float64) <= 0 {
			t.Errorf("drain %s: %v", name, d)
		}
	}
	if lines[1]["records"] != lines[2]["records"] {
		t.Errorf("the two drains had different backlogs: %v, %v", lines[1], lines[2])
	}
	if !strings.Contains(out, "drain a ") || !strings.Contains(out, "drain b ") {
		t.Errorf("no summary lines:\n%s", out)
	}
}

// TestMeasureScriptsPrintUsage holds docs/performance.md's "each prints
// its usage with --help" for every measuring script: --help prints the
// script's description and usage line and exits 0 without measuring
// anything; run without its required arguments, a script exits non-zero
// with the same text instead of a traceback. (make-pgo has no required
// argument: without any it makes the profile.)
func TestMeasureScriptsPrintUsage(t *testing.T) {
	for _, name := range []string{"measure-serve", "measure-drain", "measure-growth", "measure-fsync", "measure-contract-load", "make-pgo"} {
		usage := "usage: scripts/" + name
		cmd := scriptCommand(t, name, "--help")
		out, err := cmd.Output()
		if err != nil || !strings.Contains(string(out), usage) {
			t.Errorf("%s --help: %v\n%s", name, err, out)
		}
		if entries, _ := os.ReadDir(cmd.Dir); len(entries) != 0 {
			t.Errorf("%s --help left %d files in its directory: it ran instead of printing its usage", name, len(entries))
		}
		if name == "make-pgo" {
			continue
		}
		out, err = scriptCommand(t, name).CombinedOutput()
		if err == nil || !strings.Contains(string(out), usage) || strings.Contains(string(out), "Traceback") {
			t.Errorf("%s without arguments: err %v, want a non-zero exit with its usage\n%s", name, err, out)
		}
	}
}

// TestMeasureScriptsCleanUpWhenStopped: stopped with SIGTERM in the
// middle of a load (a timeout, make-pgo stopped), measure-serve,
// measure-drain and measure-growth stop the collector and the load
// generator they started and remove the run's directory, instead of
// leaving them running into a temporary directory nobody will clean.
func TestMeasureScriptsCleanUpWhenStopped(t *testing.T) {
	for name, args := range map[string][]string{
		"measure-serve":  {accordBin, "now=" + accordBin, "--rounds", "1", "--modes", "single", "--duration", "60"},
		"measure-drain":  {accordBin, "now=" + accordBin, "--rounds", "1", "--duration", "60"},
		"measure-growth": {accordBin, "1", "--duration", "60"},
	} {
		t.Run(name, func(t *testing.T) {
			cmd := scriptCommand(t, name, args...)
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			defer func() {
				if cmd.ProcessState == nil {
					_ = cmd.Process.Kill()
					<-done
				}
			}()
			// The collector is the script's child whose arguments are
			// "serve"; once the load generator runs beside it, the load is
			// under way.
			var server, loadgen int
			var dir string
			for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline) && (server == 0 || loadgen == 0); time.Sleep(100 * time.Millisecond) {
				for _, pid := range childrenOf(t, cmd.Process.Pid) {
					args, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
					switch fields := strings.Split(string(args), "\x00"); {
					case len(fields) > 1 && fields[1] == "serve":
						server = pid
						dir, _ = os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
					case len(fields) > 1 && fields[1] == "loadgen":
						loadgen = pid
					}
				}
			}
			if server == 0 || dir == "" || loadgen == 0 {
				t.Fatalf("no collector and load generator under the script (server %d, dir %q, load generator %d):\n%s", server, dir, loadgen, out.String())
			}
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatalf("%s did not exit within 30 s of SIGTERM:\n%s", name, out.String())
			}
			for what, pid := range map[string]int{"the collector": server, "the load generator": loadgen} {
				if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
					t.Errorf("%s (pid %d) still runs after %s exited", what, pid, name)
				}
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("the run's directory %s is still there (%v)", dir, err)
			}
		})
	}
}

// childrenOf lists the processes whose parent is pid, from /proc.
func childrenOf(t *testing.T, pid int) []int {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var kids []int
	for _, path := range stats {
		data, err := os.ReadFile(path)
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid ...: comm may hold spaces, so count from its ')'.
		fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			child, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
			kids = append(kids, child)
		}
	}
	return kids
}
