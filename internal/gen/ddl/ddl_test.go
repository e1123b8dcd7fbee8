package ddl

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/sink/tables"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixtures is the contracts every generator test uses: several versions
// of one MODEL (an addition, then a property widened from integer to
// number), a MODEL bump, a contract that is not an object, and a hostile
// one whose vendor, name and properties are SQL keywords or carry SQL,
// YAML and Jinja.
const fixtures = "../testdata/contracts"

func loadFixtures(t testing.TB) []*contract.Contract {
	t.Helper()
	cs, problems, err := contract.LoadDir(fixtures)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Fatalf("fixtures did not load: %v", problems)
	}
	return cs
}

func generate(t testing.TB, dialect string, cs []*contract.Contract) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, dialect, cs, tables.DefaultOptions()); err != nil {
		t.Fatalf("%s: %v", dialect, err)
	}
	return b.Bytes()
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/gen/ddl -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./internal/gen/ddl -update rewrites it after review):\n%s", path, got)
	}
}

func TestGolden(t *testing.T) {
	cs := loadFixtures(t)
	for _, d := range Dialects {
		t.Run(d, func(t *testing.T) { golden(t, d+".sql", generate(t, d, cs)) })
	}
}

// TestDeterministic: the same contracts give the same bytes, whatever
// order they are given in and however often the generator runs.
func TestDeterministic(t *testing.T) {
	cs := loadFixtures(t)
	for _, d := range Dialects {
		first := generate(t, d, cs)
		rev := slices.Clone(cs)
		slices.Reverse(rev)
		for i := 0; i < 3; i++ {
			if again := generate(t, d, rev); !bytes.Equal(first, again) {
				t.Fatalf("%s: a second run gave other bytes:\n%s\n---\n%s", d, first, again)
			}
		}
	}
}

// TestPlanIsTheSinks: what gen sql prints for a sink's dialect is the
// plan tables.PlanSchema makes for that sink on an empty database, step
// for step (the servers' test checks the tables that result).
func TestPlanIsTheSinks(t *testing.T) {
	cs := loadFixtures(t)
	for _, name := range []string{"postgres", "mysql", "sqlite"} {
		d, _ := Dialect(name)
		m, err := tables.PlanSchema(tables.SchemaPlan{Dialect: d, Model: tables.DefaultOptions(), Live: map[string]*tables.Live{}}, tables.WantsOf(contract.NewSet(cs).Contracts()))
		if err != nil {
			t.Fatal(err)
		}
		out := string(generate(t, name, cs))
		at := 0
		for _, s := range m.Steps {
			i := strings.Index(out[at:], s.Statement+";\n")
			if i < 0 {
				t.Fatalf("%s: step %q missing from the output, or out of order", name, s.Statement)
			}
			at += i + len(s.Statement)
		}
	}
}

func TestUnknownDialect(t *testing.T) {
	err := Write(&bytes.Buffer{}, "oracle'; DROP", loadFixtures(t), tables.DefaultOptions())
	if err == nil || !strings.Contains(err.Error(), "use one of postgres, mysql") {
		t.Errorf("unknown dialect: %v", err)
	}
}

func TestNoTables(t *testing.T) {
	cs := loadFixtures(t)
	var bare []*contract.Contract
	for _, c := range cs {
		if c.Key.Name == "bare_string" {
			bare = append(bare, c)
		}
	}
	if err := Write(&bytes.Buffer{}, "postgres", bare, tables.DefaultOptions()); err != ErrNoTables {
		t.Errorf("only a non-object contract: %v, want ErrNoTables", err)
	}
}

// unescape reads a literal escapeBackslash wrote, as the warehouses' SQL
// reads it, and returns its value and the rest of the input after it.
func unescape(t *testing.T, s string, q byte) (string, string) {
	t.Helper()
	if s == "" || s[0] != q {
		t.Fatalf("literal %q does not start with %c", s, q)
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == q:
			return b.String(), s[i+1:]
		case c == '\n' || c == '\r':
			t.Fatalf("raw line break in literal %q", s)
		case c == '\\':
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'x':
				var v byte
				for _, h := range s[i+1 : i+3] {
					v = v*16 + byte(strings.IndexRune("0123456789abcdef", h))
				}
				b.WriteByte(v)
				i += 2
			default:
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	t.Fatalf("literal %q does not end", s)
	return "", ""
}

// TestWarehouseLiterals: a description that tries to end its literal (a
// quote, a backslash before a quote, a line break, a NUL) reads back
// whole in BigQuery's, Snowflake's and ClickHouse's literal syntax, and
// nothing follows the literal.
func TestWarehouseLiterals(t *testing.T) {
	for _, s := range []string{
		`plain`, `it's`, `say "hi"`, `back\slash`, `\'; DROP TABLE x; --`, `trailing \`, "line\nbreak\r\n", "nul\x00and\x1fbell\x07", "`tick`", "{{ jinja }} é",
	} {
		for _, q := range []byte{'\'', '"', '`'} {
			lit := escapeBackslash(s, q)
			got, rest := unescape(t, lit, q)
			if got != s || rest != "" {
				t.Errorf("literal %s reads back as %q then %q, want %q", lit, got, rest, s)
			}
		}
	}
}

// TestHostileNames: names that are keywords get a trailing '_' or are
// quoted, and none of the hostile property names survives as SQL.
func TestHostileNames(t *testing.T) {
	cs := loadFixtures(t)
	for _, d := range Dialects {
		out := string(generate(t, d, cs))
		for _, bad := range []string{"DROP TABLE users", "run_query('drop"} {
			for _, line := range strings.Split(out, "\n") {
				// Only inside a comment's literal may it appear.
				if i := strings.Index(line, bad); i >= 0 && !strings.Contains(line[:i], "COMMENT") && !strings.Contains(line[:i], "description=") {
					t.Errorf("%s: %q outside a literal: %s", d, bad, line)
				}
			}
		}
		dia, _ := Dialect(d)
		if !strings.Contains(out, "CREATE TABLE "+dia.Quote("select_from_1")) {
			t.Errorf("%s: no table select_from_1", d)
		}
		if dia.Reserved("select") && !strings.Contains(out, dia.Quote("select_")+" ") {
			t.Errorf("%s: the property select is not the column select_", d)
		}
	}
}
