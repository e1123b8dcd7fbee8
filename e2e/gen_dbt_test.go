package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGenDbtCommand: the binary writes, for each dialect, the files the
// generator's golden files hold (validated against dbt's schema and run on
// the real servers in internal/gen/dbt), twice to the same bytes; and
// refuses an unknown dialect and an option that is no identifier.
func TestGenDbtCommand(t *testing.T) {
	contracts := genFixtures(t)
	dir := t.TempDir()
	for _, d := range []string{"postgres", "mysql", "sqlite"} {
		golden := "../internal/gen/dbt/testdata/golden/" + d
		entries, err := os.ReadDir(golden)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, d, "models")
		for run := 0; run < 2; run++ {
			stdout, stderr, code := runAccord(t, dir, nil, "gen", "dbt", "--dialect", d, "--contracts", contracts, "--out", out)
			if code != 0 || strings.Count(stdout, "wrote ") != len(entries) {
				t.Fatalf("gen dbt --dialect %s: exit %d: %s%s", d, code, stdout, stderr)
			}
			for _, e := range entries {
				want, _ := os.ReadFile(filepath.Join(golden, e.Name()))
				got, err := os.ReadFile(filepath.Join(out, e.Name()))
				if err != nil || string(got) != string(want) {
					t.Errorf("%s %s (run %d) differs from the golden file: %v", d, e.Name(), run+1, err)
				}
			}
		}
	}
	for _, args := range [][]string{
		{"--dialect", "bigquery"},
		{"--dialect", "postgres", "--schema", "public; drop"},
		{"--dialect", "postgres", "--source", "{{ x }}"},
	} {
		args = append([]string{"gen", "dbt", "--contracts", contracts, "--out", filepath.Join(dir, "bad")}, args...)
		if _, stderr, code := runAccord(t, dir, nil, args...); code != 2 {
			t.Errorf("%v: exit %d: %s", args, code, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "bad")); !os.IsNotExist(err) {
		t.Errorf("a refused run wrote files: %v", err)
	}
}
