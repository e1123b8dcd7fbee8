package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/contract/lint"
)

// lintFinding is one finding as accord contract lint --format json prints it.
type lintFinding struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Message  string `json:"message"`
}

// runLint runs accord contract lint in dir with extra environment.
func runLint(t *testing.T, dir string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(accordBin, append([]string{"contract", "lint"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run accord contract lint %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

func lintJSON(t *testing.T, dir string, env []string, args ...string) ([]lintFinding, int) {
	t.Helper()
	out, stderr, code := runLint(t, dir, env, append(args, "--format", "json")...)
	var findings []lintFinding
	if err := json.Unmarshal([]byte(out), &findings); err != nil {
		t.Fatalf("output is not a JSON array of findings: %v\n%s\n%s", err, out, stderr)
	}
	return findings, code
}

// badFindings is every finding the bad fixture tree holds: rule, file (under
// testdata/lint/bad) and line.
var badFindings = []struct {
	rule, severity, file string
	line                 int
}{
	{"json", "error", "com.acme/notjson/jsonschema/1-0-0", 3},
	{"layout", "error", "misplaced.json", 1},
	{"self-missing", "error", "com.acme/noself/jsonschema/1-0-0", 1},
	{"self-invalid", "error", "com.acme/badself/jsonschema/1-0-0", 4},
	{"self-mismatch", "error", "com.acme/mismatch/jsonschema/1-0-0", 6},
	{"meta-schema", "error", "com.acme/badmeta/jsonschema/1-0-0", 7},
	{"version-first", "error", "com.acme/late/jsonschema/2-0-0", 4},
	{"version-gap", "error", "com.acme/gappy/jsonschema/1-0-2", 8},
	{"x-accord-missing", "error", "com.acme/nometa/jsonschema/1-0-0", 1},
	{"x-accord-invalid", "error", "com.acme/meta/jsonschema/1-0-0", 4},      // owner missing
	{"x-accord-unknown-key", "error", "com.acme/meta/jsonschema/1-0-0", 5},  // ownr
	{"x-accord-invalid", "error", "com.acme/meta/jsonschema/1-0-0", 6},      // duplicate tags
	{"x-accord-invalid", "error", "com.acme/meta/jsonschema/1-0-0", 6},      // upper-case tag
	{"x-accord-invalid", "error", "com.acme/meta/jsonschema/1-0-0", 8},      // freshness
	{"x-accord-invalid", "error", "com.acme/meta/jsonschema/1-0-0", 9},      // volume_per_day
	{"x-accord-unknown-key", "error", "com.acme/meta/jsonschema/1-0-0", 10}, // sla.latency
	{"x-accord-invalid", "error", "com.acme/meta/jsonschema/1-0-0", 12},     // segment_events
	{"pii-invalid", "error", "com.acme/pii/jsonschema/1-0-0", 7},
	{"pii-unknown-key", "error", "com.acme/pii/jsonschema/1-0-0", 8},
	{"pii-keep-chars", "error", "com.acme/pii/jsonschema/1-0-0", 9},
	{"pii-restricted-keep", "error", "com.acme/pii/jsonschema/1-0-0", 16},
	{"pii-public-action", "warning", "com.acme/pii/jsonschema/1-0-0", 23},
	{"schema-description", "warning", "com.acme/nodesc/jsonschema/1-0-0", 1},
	{"property-description", "warning", "com.acme/nodesc/jsonschema/1-0-0", 7},
	{"placeholder", "warning", "com.acme/todo/jsonschema/1-0-0", 4},
	{"placeholder", "warning", "com.acme/todo/jsonschema/1-0-0", 7},
	{"recursive-combinator", "warning", "com.acme/tree/jsonschema/1-0-0", 11},
}

func lintKey(rule, severity, file string, line int) string {
	return fmt.Sprintf("%s %s %s:%d", rule, severity, file, line)
}

// The bad tree holds every error and warning lint reports; each is reported
// with its rule, severity, file and line, and nothing else is.
func TestContractLintReportsEveryRule(t *testing.T) {
	findings, code := lintJSON(t, "testdata/lint", nil, "bad")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	var got, want []string
	for _, f := range findings {
		rel, err := filepath.Rel("bad", f.File)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, lintKey(f.Rule, f.Severity, filepath.ToSlash(rel), f.Line))
		if f.Column < 1 || f.Message == "" {
			t.Errorf("%s: column %d, message %q", f.Rule, f.Column, f.Message)
		}
	}
	covered := map[string]bool{}
	for _, w := range badFindings {
		want = append(want, lintKey(w.rule, w.severity, w.file, w.line))
		covered[w.rule] = true
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, r := range lint.Rules {
		if !covered[r.ID] {
			t.Errorf("rule %s has no case in the bad fixture tree", r.ID)
		}
	}
}

var textFindingRE = regexp.MustCompile(`^(.+):(\d+):(\d+): (error|warning) ([a-z-]+): (.+)$`)

func TestContractLintText(t *testing.T) {
	out, stderr, code := runLint(t, "testdata/lint", nil, "bad")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if summary := lines[len(lines)-1]; summary != "linted 15 files: 21 errors, 6 warnings" {
		t.Errorf("summary %q", summary)
	}
	for _, l := range lines[:len(lines)-1] {
		if !textFindingRE.MatchString(l) {
			t.Errorf("line %q is not file:line:col: severity rule: message", l)
		}
	}
	for _, want := range []string{
		"bad/com.acme/gappy/jsonschema/1-0-2:8:3: error version-gap: com.acme/gappy/jsonschema: 1-0-2 follows 1-0-0, so 1-0-1 is missing; add 1-0-1",
		`bad/com.acme/meta/jsonschema/1-0-0:5:3: error x-accord-unknown-key: x-accord has the unknown key "ownr"`,
		"bad/com.acme/pii/jsonschema/1-0-0:16:111: error pii-restricted-keep:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q\n%s", want, out)
		}
	}
	if !strings.Contains(stderr, "21 lint errors") {
		t.Errorf("stderr %q", stderr)
	}
}

func TestContractLintGitHub(t *testing.T) {
	out, _, code := runLint(t, "testdata/lint", nil, "bad", "--format", "github")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(badFindings) {
		t.Errorf("%d lines, want one per finding (%d)\n%s", len(lines), len(badFindings), out)
	}
	re := regexp.MustCompile(`^::(error|warning) file=[^,]+,line=\d+,col=\d+,title=[a-z-]+::.+$`)
	for _, l := range lines {
		if !re.MatchString(l) {
			t.Errorf("line %q is not a workflow command", l)
		}
	}
	for _, want := range []string{
		"::warning file=bad/com.acme/pii/jsonschema/1-0-0,line=23,col=106,title=pii-public-action::",
		"::error file=bad/com.acme/mismatch/jsonschema/1-0-0,line=6,col=3,title=self-mismatch::",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q\n%s", want, out)
		}
	}
}

// A tree with only warnings passes.
func TestContractLintWarningsDoNotFail(t *testing.T) {
	dir := t.TempDir()
	copyLintTree(t, "testdata/lint/bad/com.acme/nodesc", filepath.Join(dir, "contracts/com.acme/nodesc"))
	out, _, code := runLint(t, dir, nil)
	if code != 0 {
		t.Fatalf("exit %d, want 0\n%s", code, out)
	}
	if !strings.Contains(out, "linted 1 file: 0 errors, 2 warnings") {
		t.Errorf("output %q", out)
	}
}

func TestContractLintClean(t *testing.T) {
	out, stderr, code := runLint(t, "testdata/lint", nil, "clean")
	if code != 0 || strings.TrimSpace(out) != "linted 3 files: 0 errors, 0 warnings" {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	findings, code := lintJSON(t, "testdata/lint", nil, "clean")
	if code != 0 || len(findings) != 0 {
		t.Fatalf("exit %d, findings %v", code, findings)
	}
}

// What accord init writes lints clean, from the configured directory.
func TestContractLintInitProject(t *testing.T) {
	dir := newProject(t)
	out, stderr, code := runLint(t, dir, nil)
	if code != 0 || strings.TrimSpace(out) != "linted 3 files: 0 errors, 0 warnings" {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
}

// contracts.lint.require_descriptions sets the severity of the description
// rules, from the file or the environment; --contracts and --config are
// honoured.
func TestContractLintDescriptionSeverity(t *testing.T) {
	dir := t.TempDir()
	copyLintTree(t, "testdata/lint/bad/com.acme/nodesc", filepath.Join(dir, "schemas/com.acme/nodesc"))
	writeLintFile(t, filepath.Join(dir, "strict.yml"), "contracts:\n  dir: schemas\n  lint:\n    require_descriptions: error\n")
	writeLintFile(t, filepath.Join(dir, "accord.yml"), "contracts:\n  dir: schemas\n")
	tests := []struct {
		name     string
		env      []string
		args     []string
		wantCode int
		wantSev  string // "" when no description finding is wanted
	}{
		{"default is warning", nil, nil, 0, "warning"},
		{"config file", nil, []string{"--config", "strict.yml"}, 1, "error"},
		{"environment", []string{"ACCORD_CONTRACTS_LINT_REQUIRE_DESCRIPTIONS=error"}, nil, 1, "error"},
		{"environment off", []string{"ACCORD_CONTRACTS_LINT_REQUIRE_DESCRIPTIONS=off"}, nil, 0, ""},
		{"environment over file", []string{"ACCORD_CONTRACTS_LINT_REQUIRE_DESCRIPTIONS=warning"}, []string{"--config", "strict.yml"}, 0, "warning"},
		{"ACCORD_CONFIG", []string{"ACCORD_CONFIG=strict.yml"}, nil, 1, "error"},
		{"--contracts", []string{"ACCORD_CONTRACTS_DIR=nowhere"}, []string{"--contracts", "schemas"}, 0, "warning"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			findings, code := lintJSON(t, dir, tc.env, tc.args...)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d", code, tc.wantCode)
			}
			var sevs []string
			for _, f := range findings {
				if f.Rule == "schema-description" || f.Rule == "property-description" {
					sevs = append(sevs, f.Severity)
				}
			}
			switch {
			case tc.wantSev == "" && len(sevs) != 0:
				t.Errorf("description findings %v, want none", sevs)
			case tc.wantSev != "" && (len(sevs) != 2 || sevs[0] != tc.wantSev || sevs[1] != tc.wantSev):
				t.Errorf("description severities %v, want two %s", sevs, tc.wantSev)
			}
		})
	}
	_, stderr, code := runLint(t, dir, []string{"ACCORD_CONTRACTS_LINT_REQUIRE_DESCRIPTIONS=loud"})
	if code != 2 || !strings.Contains(stderr, "contracts.lint.require_descriptions") {
		t.Errorf("bad severity: exit %d, stderr %q; want 2 naming the key", code, stderr)
	}
}

func TestContractLintUsageErrors(t *testing.T) {
	if _, stderr, code := runLint(t, t.TempDir(), nil, "--format", "xml"); code != 2 || !strings.Contains(stderr, "text, json, github") {
		t.Errorf("bad format: exit %d, stderr %q", code, stderr)
	}
	if _, stderr, code := runLint(t, t.TempDir(), nil, "missing"); code != 2 || !strings.Contains(stderr, "missing") {
		t.Errorf("missing dir: exit %d, stderr %q", code, stderr)
	}
}

func copyLintTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dst := filepath.Join(to, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func writeLintFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
