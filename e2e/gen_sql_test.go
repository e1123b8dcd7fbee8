package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// genFixtures is the contracts internal/gen's tests generate from.
func genFixtures(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../internal/gen/testdata/contracts")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestGenSQLCommand: the binary prints, for every dialect, the bytes the
// generator's golden files hold (which the real servers run in
// internal/gen/ddl), to standard output or to --out; and refuses an
// unknown dialect and a contracts directory with a broken file.
func TestGenSQLCommand(t *testing.T) {
	contracts := genFixtures(t)
	dir := t.TempDir()
	for _, d := range []string{"postgres", "mysql", "sqlite", "bigquery", "snowflake", "clickhouse"} {
		want, err := os.ReadFile("../internal/gen/ddl/testdata/" + d + ".sql")
		if err != nil {
			t.Fatal(err)
		}
		out, stderr, code := runAccord(t, dir, nil, "gen", "sql", "--dialect", d, "--contracts", contracts)
		if code != 0 || out != string(want) {
			t.Errorf("gen sql --dialect %s: exit %d, %s\n%s", d, code, stderr, out)
		}
		file := filepath.Join(dir, d+".sql")
		if _, stderr, code := runAccord(t, dir, nil, "gen", "sql", "--dialect", d, "--contracts", contracts, "--out", file); code != 0 {
			t.Fatalf("gen sql --out: exit %d: %s", code, stderr)
		}
		if got, err := os.ReadFile(file); err != nil || string(got) != string(want) {
			t.Errorf("--out %s: %v\n%s", file, err, got)
		}
	}
	if _, stderr, code := runAccord(t, dir, nil, "gen", "sql", "--dialect", "oracle", "--contracts", contracts); code != 2 || !strings.Contains(stderr, "use one of postgres, mysql, sqlite, bigquery, snowflake, clickhouse") {
		t.Errorf("unknown dialect: exit %d: %s", code, stderr)
	}
	broken := t.TempDir()
	p := filepath.Join(broken, "com.acme", "x", "jsonschema", "1-0-0")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, stderr, code := runAccord(t, dir, nil, "gen", "sql", "--dialect", "postgres", "--contracts", broken); code != 1 || out != "" || !strings.Contains(stderr, "1 contract file did not load; nothing was generated") {
		t.Errorf("broken contract: exit %d, out %q: %s", code, out, stderr)
	}
}
