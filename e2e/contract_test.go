package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The fixture trees under testdata/contracts: honest has every bump right;
// dishonest adds a maxLength to cart's items[].sku in 1-0-2 (a REVISION
// declared as an ADDITION); gap jumps from 1-0-0 to 1-0-2.
const contractFixtures = "testdata/contracts"

func fixtureDir(t *testing.T, tree string) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join(contractFixtures, tree))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestContractCheck(t *testing.T) {
	tests := []struct {
		name     string
		tree     string
		format   string
		wantCode int
		wantOut  []string
		wantErr  string
	}{
		{"honest tree passes", "honest", "text", 0, []string{"checked 4 version steps in 2 contracts: 0 dishonest bumps, 0 gaps"}, ""},
		{"dishonest 1-0-2 fails naming the change", "dishonest", "text", 1, []string{
			"com.example/cart/jsonschema: 1-0-1 -> 1-0-2 declares ADDITION but its changes need REVISION:",
			"REVISION  max_length_added  items[].sku at /definitions/item/properties/sku/maxLength: property items[].sku now has a maxLength of 12",
			"1 dishonest bump",
		}, "1 version bump is smaller than its changes need"},
		{"gap is reported but passes", "gap", "text", 0, []string{"warning: com.example/page_view/jsonschema: 1-0-0 is followed by 1-0-2: 1-0-1 is missing", "1 gap"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runAccord(t, t.TempDir(), nil, "contract", "check", fixtureDir(t, tc.tree), "--format", tc.format)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.wantCode, out, errOut)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if tc.wantErr != "" && !strings.Contains(errOut, tc.wantErr) {
				t.Errorf("stderr lacks %q: %s", tc.wantErr, errOut)
			}
		})
	}
}

func TestContractCheckJSON(t *testing.T) {
	out, errOut, code := runAccord(t, t.TempDir(), nil, "contract", "check", "--format", "json", fixtureDir(t, "dishonest"))
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, errOut)
	}
	var report struct {
		OK       bool `json:"ok"`
		Failures []struct {
			Contract, From, To, Declared, Needed string
			Changes                              []struct{ Kind, Property, Pointer, Bump string }
		} `json:"failures"`
		Steps []json.RawMessage `json:"steps"`
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if report.OK || len(report.Failures) != 1 || len(report.Steps) != 5 {
		t.Fatalf("report: %s", out)
	}
	f := report.Failures[0]
	if f.Contract != "com.example/cart/jsonschema" || f.From != "1-0-1" || f.To != "1-0-2" || f.Declared != "ADDITION" || f.Needed != "REVISION" {
		t.Errorf("failure: %+v", f)
	}
	if len(f.Changes) != 1 || f.Changes[0].Kind != "max_length_added" || f.Changes[0].Property != "items[].sku" || f.Changes[0].Bump != "REVISION" {
		t.Errorf("changes: %+v", f.Changes)
	}
}

func TestContractCheckDefaultDirAndLoadErrors(t *testing.T) {
	// Run in a fresh project: check reads ./contracts by default.
	dir := newProject(t)
	if out, errOut, code := runAccord(t, dir, nil, "contract", "check"); code != 0 || !contains(out, "0 dishonest bumps") {
		t.Fatalf("check of a fresh project: exit %d\n%s%s", code, out, errOut)
	}
	// A contract that does not load fails the check: it cannot be vouched for.
	bad := filepath.Join(dir, "contracts", "com.example", "user", "jsonschema", "1-0-1")
	if err := os.WriteFile(bad, []byte(`{"self": `), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runAccord(t, dir, nil, "contract", "check")
	if code != 1 || !contains(out, "error: "+filepath.Join("contracts", "com.example", "user", "jsonschema", "1-0-1")) || !contains(errOut, "1 contract file did not load") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
}

func TestContractDiff(t *testing.T) {
	dir := fixtureDir(t, "honest") + "/com.example/checkout_completed/jsonschema/"
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  []string
	}{
		{"optional property", []string{dir + "1-0-0", dir + "1-0-1"}, 0, []string{
			"ADDITION  property_added_optional  coupon at /properties/coupon: property coupon was added as optional",
			"needed: ADDITION (1 change)"}},
		{"type changed", []string{dir + "1-1-0.json", dir + "2-0-0"}, 0, []string{
			`MODEL     type_changed  total at /properties/total/type: property total changed type from "number" to "string": no old value is valid`,
			"ADDITION  minimum_removed  total at /properties/total/minimum",
			"needed: MODEL (2 changes)"}},
		{"no changes", []string{dir + "1-0-0", dir + "1-0-0"}, 0, []string{"no changes", "needed: ADDITION (0 changes)"}},
		{"missing file", []string{dir + "1-0-0", dir + "9-9-9"}, 2, nil},
		{"bad format", []string{"--format", "xml", dir + "1-0-0", dir + "1-0-1"}, 2, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runAccord(t, t.TempDir(), nil, append([]string{"contract", "diff"}, tc.args...)...)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.wantCode, out, errOut)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestContractDiffJSON(t *testing.T) {
	dir := fixtureDir(t, "dishonest") + "/com.example/cart/jsonschema/"
	out, errOut, code := runAccord(t, t.TempDir(), nil, "contract", "diff", "--format", "json", dir+"1-0-0", dir+"1-0-2")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	var got struct {
		Needed  string `json:"needed"`
		Changes []struct {
			Pointer, Property, Kind, Message, Bump string
		} `json:"changes"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if got.Needed != "REVISION" || len(got.Changes) != 2 {
		t.Fatalf("diff: %s", out)
	}
	want := map[string]string{
		"minimum_loosened": "ADDITION /definitions/item/properties/quantity/minimum items[].quantity",
		"max_length_added": "REVISION /definitions/item/properties/sku/maxLength items[].sku",
	}
	for _, c := range got.Changes {
		if w := want[c.Kind]; w != c.Bump+" "+c.Pointer+" "+c.Property || c.Message == "" {
			t.Errorf("change %+v, want %s", c, w)
		}
	}
}

func TestContractHelpHasExamples(t *testing.T) {
	for _, cmd := range [][]string{{"contract"}, {"contract", "diff"}, {"contract", "check"}} {
		out, _, code := runAccord(t, t.TempDir(), nil, append(cmd, "--help")...)
		if code != 0 || !contains(out, "Examples:") || !contains(out, "accord contract") {
			t.Errorf("accord %s --help: exit %d\n%s", strings.Join(cmd, " "), code, out)
		}
	}
}

// A property name holding a newline, an escape or a bidi override is
// printed quoted on one line, by diff and check alike: a contract (which a
// pull request writes) cannot forge a line in a terminal or a CI log.
func TestContractDiffQuotesHostileNames(t *testing.T) {
	dir := t.TempDir()
	old := `{"$schema": "http://json-schema.org/draft-07/schema#", "self": {"vendor": "com.example", "name": "x", "format": "jsonschema", "version": "1-0-0"}, "type": "object", "properties": {}}`
	hostile := `note\n::warning::forged\u001b[31m\u202eevil`
	newDoc := strings.Replace(strings.Replace(old, `"1-0-0"`, `"1-0-1"`, 1), `"properties": {}`, `"properties": {"`+hostile+`": {"type": "string"}}`, 1)
	for name, doc := range map[string]string{"1-0-0": old, "1-0-1": newDoc} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, errOut, code := runAccord(t, dir, nil, "contract", "diff", "1-0-0", "1-0-1")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	want := `  property_added_constrained  "note\n::warning::forged\x1b[31m\u202eevil" at "/properties/note\n::warning::forged\x1b[31m\u202eevil": property note\n::warning::forged\x1b[31m\u202eevil was added`
	if !strings.Contains(out, want) {
		t.Errorf("diff prints\n%q\nwant it to hold\n%q", out, want)
	}
	if strings.ContainsAny(out, "\x1b\u202e") || strings.Count(out, "\n") != 2 {
		t.Errorf("the name reaches the output raw:\n%q", out)
	}
}
