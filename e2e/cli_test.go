package e2e

import (
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite docs/configuration.md from the config structs")

func TestInitWritesProjectAndKeepsExistingFiles(t *testing.T) {
	dir := t.TempDir()
	out, _, code := runAccord(t, dir, nil, "init", "proj")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, f := range []string{"accord.yml", "contracts/com.example/checkout_completed/jsonschema/1-0-0", "contracts/com.example/page_view/jsonschema/1-0-0", "contracts/com.example/user/jsonschema/1-0-0"} {
		if _, err := os.Stat(filepath.Join(dir, "proj", f)); err != nil {
			t.Errorf("init did not write %s: %v", f, err)
		}
	}
	if !contains(out, "wrote proj/accord.yml") {
		t.Errorf("output: %s", out)
	}
	// The written accord.yml is valid, as serve would load it.
	if out, errOut, code := runAccord(t, filepath.Join(dir, "proj"), nil, "config", "check"); code != 0 || !contains(out, "configuration is valid") {
		t.Errorf("config check of the written accord.yml: exit %d: %s %s", code, out, errOut)
	}
	// A second init changes nothing a user may have edited.
	custom := []byte("server:\n  addr: 127.0.0.1:9999\n")
	if err := os.WriteFile(filepath.Join(dir, "proj", "accord.yml"), custom, 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, _ = runAccord(t, dir, nil, "init", "proj")
	if got, _ := os.ReadFile(filepath.Join(dir, "proj", "accord.yml")); string(got) != string(custom) || !contains(out, "kept existing proj/accord.yml") {
		t.Errorf("second init overwrote accord.yml or did not say so: %s", out)
	}
}

func TestValidateCommand(t *testing.T) {
	dir := newProject(t)
	write := func(name, content string) string {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return name
	}
	good := write("good.json", `{"order_id": "ord-1", "total": 5, "currency": "EUR", "items": [{"sku": "a", "quantity": 1}]}`)
	bad := write("bad.json", `{"order_id": "ord-1", "total": -5}`)
	notJSON := write("broken.json", `{"order_id": `)

	tests := []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		wantOut  []string
	}{
		{"valid", []string{"validate", "--schema", checkoutKey, good}, "", 0, []string{"valid: " + checkoutKey}},
		{"invalid lists every problem", []string{"validate", "--schema", checkoutKey, bad}, "", 1, []string{
			"invalid: " + checkoutKey + ": schema_violation",
			`/data is missing the required properties "currency", "items" (instance /data, schema /required)`,
			"/data/total must be at least 0, but is -5 (instance /data/total, schema /properties/total/minimum)"}},
		{"standard input", []string{"validate", "--schema", checkoutKey, "-"}, `{"order_id": 1}`, 1, []string{"/data/order_id must be string, but is number"}},
		{"json output", []string{"validate", "--schema", checkoutKey, "--format", "json", bad}, "", 1, []string{`"valid": false`, `"keyword": "minimum"`}},
		{"not JSON", []string{"validate", "--schema", checkoutKey, notJSON}, "", 1, []string{"payload_format_violation", "not valid JSON"}},
		{"unknown contract", []string{"validate", "--schema", "iglu:com.example/nope/jsonschema/1-0-0", good}, "", 1, []string{"schema_not_found"}},
		{"missing --schema", []string{"validate", good}, "", 2, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runAccord(t, dir, strings.NewReader(tc.stdin), tc.args...)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.wantCode, out, errOut)
			}
			for _, w := range tc.wantOut {
				if !contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if tc.name == "json output" {
				var v map[string]any
				if err := json.Unmarshal([]byte(out), &v); err != nil {
					t.Errorf("--format json is not JSON: %v", err)
				}
			}
		})
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"init", "--help"}, {"serve", "--help"}, {"validate", "--help"}, {"version", "--help"}, {"config", "--help"}, {"config", "reference", "--help"}, {"config", "check", "--help"}, {"loadgen", "--help"}} {
		out, _, code := runAccord(t, t.TempDir(), nil, args...)
		if code != 0 || !contains(out, "Usage:") {
			t.Errorf("accord %v: exit %d:\n%s", args, code, out)
		}
	}
	if out, _, code := runAccord(t, t.TempDir(), nil, "version"); code != 0 || !strings.HasPrefix(out, "accord ") {
		t.Errorf("version: %d %q", code, out)
	}
}

// docs/configuration.md is generated from the config structs and the sink
// types' options; this fails when it drifts. Rewrite it with
// go test ./e2e -run TestConfigurationReference -update.
func TestConfigurationReference(t *testing.T) {
	out, _, code := runAccord(t, t.TempDir(), nil, "config", "reference")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	path := filepath.Join("..", "docs", "configuration.md")
	if *update {
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != out {
		t.Fatalf("docs/configuration.md is out of date; run: go test ./e2e -run TestConfigurationReference -update")
	}
	for _, key := range []string{"`server.addr`", "`ACCORD_SERVER_MAX_BODY_BYTES`", "`sinks[i].options.path`", "`sinks[i].options.good_path`", "`sinks[i].options.failed_to_stderr`"} {
		if !contains(out, key) {
			t.Errorf("reference lacks %s", key)
		}
	}
}

func TestServeRefusesBadConfigurationNamingTheKey(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  []string
		want []string
	}{
		{"bad value", "server:\n  max_body_bytes: 10\n", nil, []string{"server.max_body_bytes: 10 is too small"}},
		{"unknown key", "server:\n  adress: :80\n", nil, []string{"line 2: server.adress: unknown key; the keys here are addr, "}},
		{"bad sink option", "sinks:\n  - {name: store, type: sqlite, options: {synchronous: sometimes}}\n", nil, []string{"sinks[0] (store).options.synchronous"}},
		{"unknown sink option", "sinks:\n  - {name: store, type: sqlite, options: {pth: x.db}}\n", nil, []string{"sinks[0] (store).options", "pth"}},
		{"unknown sink type", "sinks:\n  - {name: store, type: oracle}\n", nil, []string{`sinks[0] (store).type: "oracle" is not a sink type`}},
		{"bad environment", "", []string{"ACCORD_SERVER_READ_TIMEOUT=soon"}, []string{"ACCORD_SERVER_READ_TIMEOUT", "such as 10s"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "accord.yml"), []byte(tc.file), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"serve", "--addr", "127.0.0.1:0"}, {"config", "check"}} {
				cmd := exec.Command(accordBin, args...)
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), tc.env...)
				done := make(chan struct{})
				var out []byte
				var err error
				go func() { out, err = cmd.CombinedOutput(); close(done) }()
				select {
				case <-done:
				case <-time.After(20 * time.Second):
					_ = cmd.Process.Kill()
					t.Fatalf("accord %v with a bad configuration did not exit", args)
				}
				if err == nil {
					t.Fatalf("accord %v accepted a bad configuration:\n%s", args, out)
				}
				for _, w := range tc.want {
					if !contains(string(out), w) {
						t.Errorf("accord %v: output lacks %q:\n%s", args, w, out)
					}
				}
			}
		})
	}
}

func TestServeReportsBrokenContractAndLoadsTheRest(t *testing.T) {
	dir := newProject(t)
	broken := filepath.Join(dir, "contracts", "com.example", "broken", "jsonschema")
	if err := os.MkdirAll(broken, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(broken, "1-0-0"), []byte(`{"self": {"vendor": "com.example", "name": "broken", "format": "jsonschema", "version": "1-0-0"}, "type": "nope"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c := startCollector(t, dir)
	status, _, body := c.post("/events", "application/json", []byte(`{"schema":"`+pageViewKey+`","data":{"url":"https://a.example/"}}`))
	if r := decodeInto[collectResponse](t, body); status != 200 || r.Good != 1 {
		t.Errorf("the good contracts did not load: %d %s", status, body)
	}
	c.stop()
	logs := c.logs.String()
	if !contains(logs, `msg="contract not loaded"`) || !contains(logs, filepath.Join("broken", "jsonschema", "1-0-0")) || !contains(logs, "does not conform to its meta-schema") {
		t.Errorf("the broken contract was not reported with its file and reason:\n%s", logs)
	}
	if !contains(logs, "loaded=3 failed=1") {
		t.Errorf("load summary missing:\n%s", logs)
	}
}
