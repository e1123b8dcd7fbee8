package lint

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// contractDoc returns a contract for com.acme/x/jsonschema/1-0-0 that lints
// clean, with extra top-level members (a JSON fragment ending in a comma)
// and the given properties.
func contractDoc(extra, properties string) string {
	return `{
"description": "An event.",
"self": {"vendor": "com.acme", "name": "x", "format": "jsonschema", "version": "1-0-0"},
` + extra + `
"type": "object",
"properties": {` + properties + `}
}`
}

const owner = `"x-accord": {"owner": "team@example.com"},`

func mustLinter(t *testing.T, sev Severity) *Linter {
	t.Helper()
	l, err := New(Options{RequireDescriptions: sev})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// ruleLines renders findings as "rule@line" in order.
func ruleLines(findings []Finding) []string {
	out := []string{}
	for _, f := range findings {
		out = append(out, fmt.Sprintf("%s@%d", f.Rule, f.Line))
	}
	sort.Strings(out)
	return out
}

func TestFile(t *testing.T) {
	tests := []struct {
		name string
		rel  string
		doc  string
		sev  Severity
		want []string // rule@line, sorted
	}{
		{"clean", "", contractDoc(owner, `"a": {"type": "string", "description": "A."}`), Warning, nil},
		{"not JSON", "", "{\n\"a\": 1,,\n}", Warning, []string{"json@2"}},
		{"not an object", "", "[1]", Warning, []string{"json@1"}},
		{"trailing value", "", "{} {}", Warning, []string{"json@1"}},
		{"outside the layout", "x.json", contractDoc(owner, ""), Warning, []string{"layout@1"}},
		{"path not a key", "com.acme/x/avro/1-0-0", contractDoc(owner, ""), Warning, []string{"layout@1"}},
		{"json suffix accepted", "com.acme/x/jsonschema/1-0-0.json", contractDoc(owner, ""), Warning, nil},
		{"no self", "", "{\n\"description\": \"d\",\n" + owner + "\n\"type\": \"object\"\n}", Warning, []string{"self-missing@1"}},
		{"self not an object", "", "{\n\"description\": \"d\",\n" + owner + "\n\"self\": 1\n}", Warning, []string{"self-missing@4"}},
		{"self not a key", "", strings.Replace(contractDoc(owner, ""), `"version": "1-0-0"`, `"version": "one"`, 1), Warning, []string{"self-invalid@3"}},
		{"self names another version", "com.acme/x/jsonschema/1-0-1", contractDoc(owner, ""), Warning, []string{"self-mismatch@3"}},
		{"self names another vendor and name", "com.other/y/jsonschema/1-0-0", contractDoc(owner, ""), Warning, []string{"self-mismatch@3", "self-mismatch@3"}},
		{"meta-schema", "", contractDoc(owner+"\n\"required\": \"a\",", ""), Warning, []string{"meta-schema@5"}},
		{"unresolvable $ref", "", contractDoc(owner, `
"a": {"$ref": "#/$defs/nope"}`), Warning, []string{"meta-schema@1"}},
		{"bad type", "", contractDoc(owner, `
"a": {"type": "strin", "description": "A."}`), Warning, []string{"meta-schema@7"}},
		{"no x-accord", "", contractDoc("", ""), Warning, []string{"x-accord-missing@1"}},
		{"x-accord not an object", "", contractDoc(`"x-accord": "team",`, ""), Warning, []string{"x-accord-invalid@4"}},
		{"x-accord without owner", "", contractDoc(`"x-accord": {"team": "t"},`, ""), Warning, []string{"x-accord-invalid@4"}},
		{"x-accord typo", "", contractDoc(`"x-accord": {"owner": "o",
"tgas": ["a"]},`, ""), Warning, []string{"x-accord-unknown-key@5"}},
		{"x-accord full vocabulary", "", contractDoc(`"x-accord": {"owner": "o", "team": "t", "description": "d", "tags": ["a", "b-2"],
"sla": {"freshness": "1h30m", "volume_per_day": 0}, "segment_events": ["Order Completed"], "destinations": ["warehouse"]},`, ""), Warning, nil},
		{"x-accord bad values", "", contractDoc(`"x-accord": {"owner": "",
"tags": ["A"],
"sla": {"freshness": "-5m", "volume_per_day": 1.5},
"destinations": ["w", "w"]},`, ""), Warning, []string{"x-accord-invalid@4", "x-accord-invalid@5", "x-accord-invalid@6", "x-accord-invalid@6", "x-accord-invalid@7"}},
		{"pii valid", "", contractDoc(owner, `
"e": {"type": "string", "description": "E.", "x-accord-pii": {"class": "restricted", "action": "mask", "keep_chars": 4}}`), Warning, nil},
		{"pii unknown value", "", contractDoc(owner, `
"e": {"type": "string", "description": "E.", "x-accord-pii": {"class": "restricted",
"action": "encrypt"}}`), Warning, []string{"pii-invalid@8"}},
		{"pii missing action", "", contractDoc(owner, `
"e": {"type": "string", "description": "E.", "x-accord-pii": {"class": "internal"}}`), Warning, []string{"pii-invalid@7"}},
		{"pii unknown key", "", contractDoc(owner, `
"e": {"type": "string", "description": "E.", "x-accord-pii": {"class": "internal", "action": "keep",
"clas": "x"}}`), Warning, []string{"pii-unknown-key@8"}},
		{"pii keep_chars with hmac", "", contractDoc(owner, `
"e": {"type": "string", "description": "E.", "x-accord-pii": {"class": "internal", "action": "hmac", "keep_chars": 1}}`), Warning, []string{"pii-keep-chars@7"}},
		{"pii keep_chars negative", "", contractDoc(owner, `
"e": {"type": "string", "description": "E.", "x-accord-pii": {"class": "internal", "action": "mask", "keep_chars": -1}}`), Warning, []string{"pii-invalid@7"}},
		{"pii restricted kept, nested", "", contractDoc(owner, `
"o": {"type": "object", "description": "O.", "properties": {
  "e": {"type": "string", "description": "E.", "x-accord-pii": {"class": "restricted", "action": "keep"}}}}`), Warning, []string{"pii-restricted-keep@8"}},
		{"pii public hashed, in $defs", "", contractDoc(owner+`
"$defs": {"c": {"x-accord-pii": {"class": "public", "action": "hash"}}},`, ""), Warning, []string{"pii-public-action@5"}},
		{"pii in items and anyOf", "", contractDoc(owner, `
"l": {"type": "array", "description": "L.", "items": {"anyOf": [{"type": "string", "x-accord-pii": {"class": "restricted", "action": "keep"}}]}}`), Warning, []string{"pii-restricted-keep@7"}},
		{"descriptions missing, warning", "", strings.Replace(contractDoc(owner, `
"a": {"type": "string"},
"r": {"$ref": "#/$defs/r"}`), `"description": "An event.",`, `"$defs": {"r": {"type": "string"}},`, 1), Warning, []string{"property-description@7", "schema-description@1"}},
		{"descriptions missing, error", "", contractDoc(owner, `
"a": {"type": "string", "description": " "}`), Error, []string{"property-description@7"}},
		{"descriptions missing, off", "", strings.Replace(contractDoc(owner, `"a": {"type": "string"}`), `"description": "An event.",`, "", 1), Off, nil},
		{"recursive anyOf, several ways back", "", contractDoc(owner+`
"definitions": {"leaf": {"type": "object", "properties": {"c": {"$ref": "#"}}}},`, `
"c": {"description": "C.",
  "anyOf": [{"$ref": "#"}, {"$ref": "#/definitions/leaf"}]}`), Warning, []string{"recursive-combinator@8"}},
		{"recursive, one way back", "", contractDoc(owner, `
"next": {"description": "N.", "anyOf": [{"type": "null"}, {"$ref": "#"}]}`), Warning, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rel := tc.rel
			if rel == "" {
				rel = "com.acme/x/jsonschema/1-0-0"
			}
			findings, _ := mustLinter(t, tc.sev).file("f", rel, []byte(tc.doc), nil)
			got := ruleLines(findings)
			want := tc.want
			if want == nil {
				want = []string{}
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("findings %v, want %v", findings, want)
			}
			for _, f := range findings {
				want := Error
				switch f.Rule {
				case RulePrivacyPublic, RuleRecursiveCombinator:
					want = Warning
				case RuleSchemaDescription, RulePropertyDescription:
					want = tc.sev
				}
				if f.Severity != want || f.File != "f" || f.Column < 1 || !strings.Contains(f.Message, ";") && !strings.Contains(f.Message, ":") {
					t.Errorf("finding %+v: want severity %s, file f, a column and a fix", f, want)
				}
			}
		})
	}
}

func TestDirVersionGaps(t *testing.T) {
	tests := []struct {
		name     string
		versions []string
		want     []string // rule file
	}{
		{"consecutive", []string{"1-0-0", "1-0-1", "1-1-0", "2-0-0"}, nil},
		{"addition skipped", []string{"1-0-0", "1-0-2"}, []string{"version-gap 1-0-2"}},
		{"revision skipped", []string{"1-0-0", "1-2-0"}, []string{"version-gap 1-2-0"}},
		{"model skipped", []string{"1-0-0", "3-0-0"}, []string{"version-gap 3-0-0"}},
		{"starts at 2-0-0", []string{"2-0-0"}, []string{"version-first 2-0-0"}},
		{"starts at 1-0-1", []string{"1-0-1", "1-0-2"}, []string{"version-first 1-0-1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, v := range tc.versions {
				path := filepath.Join(dir, "com.acme", "x", "jsonschema", v)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				doc := strings.Replace(contractDoc(owner, ""), "1-0-0", v, 1)
				if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			r, err := mustLinter(t, Warning).Dir(dir)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, f := range r.Findings {
				got = append(got, f.Rule+" "+filepath.Base(f.File))
				if f.Line != 3 {
					t.Errorf("%s at line %d, want 3 (self.version)", f.Rule, f.Line)
				}
			}
			want := tc.want
			if want == nil {
				want = []string{}
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("findings %v, want %v", got, want)
			}
			if r.Files != len(tc.versions) {
				t.Errorf("files %d, want %d", r.Files, len(tc.versions))
			}
		})
	}
}

func TestPositions(t *testing.T) {
	doc := "{\n  \"a\": [1, {\"b~/c\": true}],\n  \"é\": {\"x\": null}\n}"
	p := newPositions([]byte(doc))
	tests := []struct {
		pointer   string
		line, col int
	}{
		{"", 1, 1},
		{"/a", 2, 3},
		{"/a/0", 2, 9},
		{"/a/1", 2, 12},
		{"/a/1/b~0~1c", 2, 13},
		{"/é/x", 3, 9},
		{"/é/missing", 3, 3},
		{"/nowhere/deep", 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.pointer, func(t *testing.T) {
			if got := p.of(tc.pointer); got != (position{tc.line, tc.col}) {
				t.Errorf("of(%q) = %+v, want %d:%d", tc.pointer, got, tc.line, tc.col)
			}
		})
	}
}

func TestWrite(t *testing.T) {
	r := &Report{Files: 2, Findings: []Finding{
		{Rule: "self-mismatch", Severity: Error, File: "c/a,b", Line: 3, Column: 5, Message: "50% off:\nnext"},
		{Rule: "pii-public-action", Severity: Warning, File: "c/d", Line: 1, Column: 1, Message: "m"},
	}}
	tests := []struct {
		format, want string
	}{
		{"text", "c/a,b:3:5: error self-mismatch: 50% off:\nnext\nc/d:1:1: warning pii-public-action: m\nlinted 2 files: 1 error, 1 warning\n"},
		{"github", "::error file=c/a%2Cb,line=3,col=5,title=self-mismatch::50%25 off:%0Anext\n::warning file=c/d,line=1,col=1,title=pii-public-action::m\n"},
		{"json", `"rule": "self-mismatch",`},
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, tc.format, r); err != nil {
				t.Fatal(err)
			}
			if tc.format == "json" {
				if !strings.HasPrefix(b.String(), "[") || !strings.Contains(b.String(), tc.want) {
					t.Errorf("output %s", b.String())
				}
				return
			}
			if b.String() != tc.want {
				t.Errorf("output %q, want %q", b.String(), tc.want)
			}
		})
	}
	if err := Write(&bytes.Buffer{}, "xml", r); err == nil {
		t.Error("format xml: want an error")
	}
}

func TestNewRefusesUnknownSeverity(t *testing.T) {
	if _, err := New(Options{RequireDescriptions: "loud"}); err == nil {
		t.Fatal("want an error")
	}
}

// TestImportedVendors: a schema of an imported vendor (pulled from Iglu,
// without x-accord or descriptions) passes the metadata and description
// rules, and nothing else; another vendor's same schema does not.
func TestImportedVendors(t *testing.T) {
	l, err := New(Options{RequireDescriptions: Error, ImportedVendors: []string{"com.snowplowanalytics.snowplow"}})
	if err != nil {
		t.Fatal(err)
	}
	pulled := strings.Replace(contractDoc("", `"id": {"type": "string"}`), `"description": "An event.",`, "", 1)
	for _, tc := range []struct {
		name, rel, doc string
		want           []string
	}{
		{"imported vendor", "com.snowplowanalytics.snowplow/x/jsonschema/1-0-0", pulled, []string{"self-mismatch@3"}},
		{"imported vendor, other checks stay", "com.snowplowanalytics.snowplow/x/jsonschema/1-0-0",
			strings.Replace(pulled, `"type": "string"`, `"type": "strin"`, 1), []string{"meta-schema@6", "self-mismatch@3"}},
		{"own vendor", "com.acme/x/jsonschema/1-0-0", pulled, []string{"property-description@6", "schema-description@1", "x-accord-missing@1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			findings, _ := l.file("f", tc.rel, []byte(tc.doc), nil)
			if got := strings.Join(ruleLines(findings), " "); got != strings.Join(tc.want, " ") {
				t.Errorf("findings %v, want %v", findings, tc.want)
			}
		})
	}
}

// TestDirSkipsOtherFormats: avro, thrift and protobuf files beside the
// contracts are counted and noted, never findings.
func TestDirSkipsOtherFormats(t *testing.T) {
	dir := t.TempDir()
	for rel, body := range map[string]string{
		"com.acme/x/jsonschema/1-0-0": contractDoc(owner, ""),
		"com.acme/x/avro/1-0-0":       `{"type": "record"}`,
		"com.acme/y/thrift/1-0-0":     `struct Y {}`,
		"com.acme/z/protobuf/1-0-0":   `syntax = "proto3";`,
	} {
		path := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err := mustLinter(t, Warning).Dir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Files != 1 || r.Count(Error) != 0 || r.Skipped.Total() != 3 {
		t.Fatalf("files %d, errors %d, skipped %v: %+v", r.Files, r.Count(Error), r.Skipped, r.Findings)
	}
	var buf strings.Builder
	if err := Write(&buf, "text", r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "note: skipped 3 files in formats other than jsonschema (avro 1, thrift 1, protobuf 1)") {
		t.Errorf("text output has no note:\n%s", buf.String())
	}
}
