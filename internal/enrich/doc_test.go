package enrich

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the list of sources in docs/enrichment.md")

// TestEnrichmentDocListsSources: docs/enrichment.md lists the built-in
// sources as BuiltinSources has them (go test ./internal/enrich -run
// TestEnrichmentDocListsSources -update rewrites it).
func TestEnrichmentDocListsSources(t *testing.T) {
	const path = "../../docs/enrichment.md"
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const open, end = "<!-- sources: generated from enrich.BuiltinSources, checked by TestEnrichmentDocListsSources -->\n", "<!-- end sources -->"
	before, rest, ok := strings.Cut(string(doc), open)
	_, after, ok2 := strings.Cut(rest, end)
	if !ok || !ok2 {
		t.Fatalf("%s has no sources block", path)
	}
	var b strings.Builder
	b.WriteString("| Name | Medium | Domains | Search terms in |\n|---|---|---|---|\n")
	for _, s := range BuiltinSources() {
		params := "-"
		if len(s.Params) > 0 {
			params = "`" + strings.Join(s.Params, "`, `") + "`"
		}
		b.WriteString("| " + s.Name + " | " + s.Medium + " | `" + strings.Join(s.Domains, "`, `") + "` | " + params + " |\n")
	}
	want := before + open + b.String() + end + after
	if want == string(doc) {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s does not list the built-in sources as BuiltinSources has them; run go test ./internal/enrich -run TestEnrichmentDocListsSources -update", path)
}
