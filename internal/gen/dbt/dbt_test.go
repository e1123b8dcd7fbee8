package dbt

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/sink/columns"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixtures are the contracts of internal/gen's tests (see
// internal/gen/ddl): versions of one MODEL, a MODEL bump, a non-object
// contract, and a hostile one.
const fixtures = "../testdata/contracts"

func loadFixtures(t testing.TB) []*contract.Contract {
	t.Helper()
	cs, problems, err := contract.LoadDir(fixtures)
	if err != nil || len(problems) > 0 {
		t.Fatalf("fixtures: %v %v", err, problems)
	}
	return cs
}

func generate(t testing.TB, o Options, cs []*contract.Contract) []File {
	t.Helper()
	files, err := Generate(cs, o)
	if err != nil {
		t.Fatalf("%s: %v", o.Dialect, err)
	}
	return files
}

func TestGolden(t *testing.T) {
	cs := loadFixtures(t)
	for _, d := range Dialects {
		t.Run(d, func(t *testing.T) {
			dir := filepath.Join("testdata", "golden", d)
			files := generate(t, DefaultOptions(d), cs)
			if *update {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				if err := Write(dir, files); err != nil {
					t.Fatal(err)
				}
				return
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatalf("%v (go test ./internal/gen/dbt -update writes it)", err)
			}
			if len(entries) != len(files) {
				t.Errorf("%d golden files, %d generated", len(entries), len(files))
			}
			for _, f := range files {
				want, err := os.ReadFile(filepath.Join(dir, f.Name))
				if err != nil || !bytes.Equal(want, f.Data) {
					t.Errorf("%s/%s differs from the golden file (go test ./internal/gen/dbt -update rewrites it after review): %v\n%s", dir, f.Name, err, f.Data)
				}
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	cs := loadFixtures(t)
	for _, d := range Dialects {
		first := generate(t, DefaultOptions(d), cs)
		rev := slices.Clone(cs)
		slices.Reverse(rev)
		for i := 0; i < 3; i++ {
			again := generate(t, DefaultOptions(d), rev)
			if !slices.EqualFunc(first, again, func(a, b File) bool { return a.Name == b.Name && bytes.Equal(a.Data, b.Data) }) {
				t.Fatalf("%s: a second run gave other files", d)
			}
		}
	}
}

// dbtSchema compiles dbt's published schema for property files
// (testdata/dbt-jsonschema/README.md names its source).
func dbtSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("testdata/dbt-jsonschema/dbt_yml_files-latest.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.UseRegexpEngine(ecmaRegexp)
	const url = "https://raw.githubusercontent.com/dbt-labs/dbt-jsonschema/main/schemas/latest/dbt_yml_files-latest.json"
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(url)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ecmaRegexp compiles the schema's patterns, which are ECMAScript
// regular expressions: Go's regexp reads all but a leading negative
// lookahead, (?!X)R, which dbt's schema uses for metric names ("no __
// anywhere"). That one is matched as "X does not match at the start, and
// R matches", which is what it means when, as there, R is anchored at the
// start. Any other pattern Go cannot read fails the compile.
func ecmaRegexp(pattern string) (jsonschema.Regexp, error) {
	if re, err := regexp.Compile(pattern); err == nil {
		return re, nil
	}
	rest, ok := strings.CutPrefix(pattern, "(?!")
	if !ok {
		return nil, fmt.Errorf("pattern %q: not a Go regexp nor a leading negative lookahead", pattern)
	}
	depth, end := 1, -1
	for i := 0; i < len(rest) && end < 0; i++ {
		switch rest[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				end = i
			}
		}
	}
	if end < 0 {
		return nil, fmt.Errorf("pattern %q: unbalanced lookahead", pattern)
	}
	not, err := regexp.Compile("^(?:" + rest[:end] + ")")
	if err != nil {
		return nil, err
	}
	then, err := regexp.Compile(rest[end+1:])
	if err != nil {
		return nil, err
	}
	return lookahead{pattern, not, then}, nil
}

type lookahead struct {
	pattern   string
	not, then *regexp.Regexp
}

func (l lookahead) MatchString(s string) bool { return !l.not.MatchString(s) && l.then.MatchString(s) }
func (l lookahead) String() string            { return l.pattern }

func TestECMALookahead(t *testing.T) {
	re, err := ecmaRegexp(`(?!.*__).*^[a-z][a-z0-9_]*[a-z0-9]$`)
	if err != nil {
		t.Fatal(err)
	}
	for s, want := range map[string]bool{"revenue": true, "net_revenue": true, "net__revenue": false, "Revenue": false, "rev_": false} {
		if re.MatchString(s) != want {
			t.Errorf("%q: %v, want %v", s, !want, want)
		}
	}
	if _, err := ecmaRegexp(`(?<=a)b`); err == nil {
		t.Error("a lookbehind was accepted")
	}
}

// asJSON reads a YAML document as the JSON value the schema validates.
func asJSON(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatalf("not YAML: %v\n%s", err, data)
	}
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestValidAgainstDbtSchema: every YAML file gen dbt writes is valid
// against dbt's published schema for sources.yml and properties.yml; and
// the schema is strict enough to refuse a misspelt key there.
func TestValidAgainstDbtSchema(t *testing.T) {
	schema := dbtSchema(t)
	cs := loadFixtures(t)
	for _, d := range Dialects {
		n := 0
		for _, f := range generate(t, DefaultOptions(d), cs) {
			if !strings.HasSuffix(f.Name, ".yml") {
				continue
			}
			n++
			if err := schema.Validate(asJSON(t, f.Data)); err != nil {
				t.Errorf("%s %s is not valid against dbt's schema: %v", d, f.Name, err)
			}
		}
		if n != 2 {
			t.Errorf("%s: %d YAML files, want sources.yml and %s", d, n, ModelsFile)
		}
	}
	bad := []byte("version: 2\nsources:\n  - name: accord\n    tables:\n      - name: t\n        colums: []\n")
	if err := schema.Validate(asJSON(t, bad)); err == nil {
		t.Error("dbt's schema accepted a misspelt key: it would not catch a mistake of ours either")
	}
}

type parsed struct {
	Sources []struct {
		Name, Schema string
		Tables       []struct {
			Name, Description string
			LoadedAtField     string `yaml:"loaded_at_field"`
			Freshness         *struct {
				ErrorAfter struct {
					Count  int
					Period string
				} `yaml:"error_after"`
			}
			Columns []struct {
				Name, Description string
				Tests             []any `yaml:"data_tests"`
			}
		}
	}
}

func parseSources(t *testing.T, files []File) parsed {
	t.Helper()
	for _, f := range files {
		if f.Name == SourcesFile {
			var p parsed
			if err := yaml.Unmarshal(f.Data, &p); err != nil {
				t.Fatal(err)
			}
			return p
		}
	}
	t.Fatal("no sources.yml")
	return parsed{}
}

// TestSourcesSayWhatTheContractsSay: every column has a description; the
// tests are unique and not_null on event_id, not_null on required
// properties (only while every version requires them), accepted_values on
// enums (the union of the versions'), freshness from sla.freshness.
func TestSourcesSayWhatTheContractsSay(t *testing.T) {
	p := parseSources(t, generate(t, DefaultOptions("postgres"), loadFixtures(t)))
	if len(p.Sources) != 1 || p.Sources[0].Name != "accord" || p.Sources[0].Schema != "public" {
		t.Fatalf("sources: %+v", p.Sources)
	}
	tests := map[string]string{}
	fresh := map[string]string{}
	var tableNames []string
	for _, tb := range p.Sources[0].Tables {
		tableNames = append(tableNames, tb.Name)
		if tb.Description == "" || tb.LoadedAtField != "collected_at" {
			t.Errorf("table %s: description %q, loaded_at_field %q", tb.Name, tb.Description, tb.LoadedAtField)
		}
		if tb.Freshness != nil {
			fresh[tb.Name] = jsonOf(tb.Freshness.ErrorAfter)
		}
		for _, c := range tb.Columns {
			if c.Description == "" {
				t.Errorf("%s.%s has no description", tb.Name, c.Name)
			}
			tests[tb.Name+"."+c.Name] = jsonOf(c.Tests)
		}
	}
	if want := []string{"accord_events", "com_acme_checkout_completed_1", "com_acme_page_view_1", "com_acme_page_view_2", "select_from_1"}; !slices.Equal(tableNames, want) {
		t.Errorf("tables %v, want %v", tableNames, want)
	}
	for col, want := range map[string]string{
		"accord_events.event_id":                        `["unique"]`,
		"accord_events.request_id":                      `["not_null"]`,
		"accord_events.failure":                         `null`,
		"com_acme_checkout_completed_1.event_id":        `["unique","not_null"]`,
		"com_acme_checkout_completed_1.order_id":        `["not_null"]`,
		"com_acme_checkout_completed_1.total":           `null`, // optional since 1-1-0
		"com_acme_checkout_completed_1.address_city":    `["not_null"]`,
		"com_acme_checkout_completed_1.address_zip":     `null`,
		"com_acme_checkout_completed_1.currency":        `["not_null",{"accepted_values":{"values":["EUR","USD","GBP"]}}]`,
		"com_acme_checkout_completed_1.status":          `[{"accepted_values":{"quote":false,"values":["1","2","3"]}}]`,
		"com_acme_checkout_completed_1.items":           `null`,
		"com_acme_checkout_completed_1.items_double":    `null`,
		"com_acme_page_view_2.duration_ms":              `["not_null"]`,
		"select_from_1.kind":                            `["not_null",{"accepted_values":{"values":["a''b","{% raw %}{{ x }}{% endraw %}","c: d","- e","null"]}}]`,
		"select_from_1.select__d44eeb0f":                `["not_null"]`,
		"select_from_1.___run_query__drop_table_x_____": `null`,
	} {
		if got, ok := tests[col]; !ok || got != want {
			t.Errorf("tests of %s: %s, want %s", col, got, want)
		}
	}
	for table, want := range map[string]string{
		"com_acme_checkout_completed_1": `{"Count":15,"Period":"minute"}`,
		"com_acme_page_view_1":          `{"Count":2,"Period":"hour"}`,
		"com_acme_page_view_2":          `{"Count":2,"Period":"minute"}`, // 90s, rounded up
	} {
		if fresh[table] != want {
			t.Errorf("freshness of %s: %s, want %s", table, fresh[table], want)
		}
	}
	if _, ok := fresh["select_from_1"]; ok {
		t.Error("freshness for a contract without sla.freshness")
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestHostileTextStaysText: descriptions and enum values that carry YAML,
// SQL or Jinja read back from the YAML as the same text, and none of them
// can run as a template: every "{{", "{%" or "{#" dbt would render is a
// raw block Accord wrote around an enum value.
func TestHostileTextStaysText(t *testing.T) {
	for _, d := range Dialects {
		files := generate(t, DefaultOptions(d), loadFixtures(t))
		for _, f := range files {
			text := string(f.Data)
			if strings.HasSuffix(f.Name, ".sql") {
				// A staging model's only template is its source() call.
				if strings.Count(text, "{{") != 1 || !strings.Contains(text, "{{ source('accord', '") || strings.Contains(text, "{%") || strings.Contains(text, "{#") {
					t.Errorf("%s %s: templates other than source():\n%s", d, f.Name, text)
				}
				continue
			}
			stripped := strings.ReplaceAll(text, "{% raw %}{{ x }}{% endraw %}", "")
			for _, delim := range []string{"{{", "{%", "{#"} {
				if strings.Contains(stripped, delim) {
					t.Errorf("%s %s: Jinja delimiter %s outside a raw block", d, f.Name, delim)
				}
			}
		}
		p := parseSources(t, files)
		found := 0
		for _, tb := range p.Sources[0].Tables {
			for _, c := range tb.Columns {
				switch c.Name {
				case "kind":
					found++
					if c.Description != "multi\nline\r\ndescription: with: colons\n- and a list\n# and a comment" {
						t.Errorf("%s: description of kind read back as %q", d, c.Description)
					}
				case "x___drop_table_users____":
					found++
					if !strings.HasPrefix(c.Description, "'); DROP TABLE gen_injected; -- and \\'") || !strings.HasSuffix(c.Description, "trailing backslash \\") {
						t.Errorf("%s: description read back as %q", d, c.Description)
					}
				case "___run_query__drop_table_x_____":
					found++
					if c.Description != "{ { run_query('drop table x') }} { % endraw %} { # c #} ${ { github.token }}" {
						t.Errorf("%s: Jinja description read back as %q", d, c.Description)
					}
				}
			}
		}
		if found != 3 {
			t.Errorf("%s: found %d of the 3 hostile columns", d, found)
		}
	}
}

// TestMySQLValuesEscapeBackslash: dbt-mysql's sessions read a backslash
// in a literal as an escape, so MySQL's accepted values double it.
func TestMySQLValuesEscapeBackslash(t *testing.T) {
	c := Column{Enum: []any{`a\b`, "it's"}}
	for d, want := range map[string][]string{"postgres": {`a\b`, "it''s"}, "mysql": {`a\\b`, "it''s"}} {
		o := DefaultOptions(d)
		if got := o.accepted(c); got == nil || !slices.Equal(got.Values, want) {
			t.Errorf("%s: %+v, want %v", d, got, want)
		}
	}
	if got := DefaultOptions("postgres").accepted(Column{Enum: []any{"{% endraw %}{{ evil }}"}}); got != nil {
		t.Errorf("a value that would close the raw block got a test: %+v", got)
	}
}

func TestEveryEnvelopeColumnDescribed(t *testing.T) {
	for _, c := range columns.Failed() {
		if _, ok := envelopeDescriptions[c.Name]; !ok {
			t.Errorf("envelope column %s has no description for dbt", c.Name)
		}
	}
}

func TestBadOptions(t *testing.T) {
	cs := loadFixtures(t)
	for name, o := range map[string]Options{
		"dialect":   {Dialect: "bigquery", Source: "accord", Schema: "x", RawTable: "r", GoodTable: "g", FailedTable: "f"},
		"schema":    func() Options { o := DefaultOptions("postgres"); o.Schema = "public'; drop"; return o }(),
		"source":    func() Options { o := DefaultOptions("postgres"); o.Source = "{{ x }}"; return o }(),
		"raw table": func() Options { o := DefaultOptions("mysql"); o.RawTable = "../x"; return o }(),
	} {
		if _, err := Generate(cs, o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestWriteStaysInDir: a name that is not a plain file name is refused
// before anything is written; a second run removes the staging model of a
// contract that is gone, and leaves files it did not write alone.
func TestWriteStaysInDir(t *testing.T) {
	root := t.TempDir()
	out := filepath.Join(root, "out")
	for _, name := range []string{"../escape.sql", "/abs.sql", "a/b.sql", "..", ""} {
		if err := Write(out, []File{{Name: "ok.sql", Data: []byte("x")}, {Name: name, Data: []byte("x")}}); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("something was written for a refused set of files: %v", err)
	}
	cs := loadFixtures(t)
	if err := Write(out, generate(t, DefaultOptions("postgres"), cs)); err != nil {
		t.Fatal(err)
	}
	mine := filepath.Join(out, "stg_by_hand.sql")
	if err := os.WriteFile(mine, []byte("select 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var fewer []*contract.Contract
	for _, c := range cs {
		if c.Key.Name != "page_view" {
			fewer = append(fewer, c)
		}
	}
	if err := Write(out, generate(t, DefaultOptions("postgres"), fewer)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "stg_com_acme_page_view_1.sql")); !os.IsNotExist(err) {
		t.Errorf("the staging model of a removed contract stayed: %v", err)
	}
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("a file gen dbt did not write was removed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "stg_com_acme_checkout_completed_1.sql")); err != nil {
		t.Error(err)
	}
}
