package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/app"
	"github.com/accord-events/accord/internal/config"
)

// sinkOptionsMarkers are the markers around the generated options table
// of docs/sinks/TYPE.md.
func sinkOptionsMarkers(typ string) (begin, end string) {
	return "<!-- BEGIN " + typ + " options: generated; rewrite with go test ./e2e -run TestSinkPagesOptions -update -->",
		"<!-- END " + typ + " options -->"
}

// Each page docs/sinks/TYPE.md of a sink type Accord ships carries the
// table of that type's options between markers, generated from the same
// doc tags as docs/configuration.md (config.SinkOptionsTable), so a page
// cannot drift from the options. A page lacking the markers fails: add
// them where the table belongs and run
// go test ./e2e -run TestSinkPagesOptions -update.
func TestSinkPagesOptions(t *testing.T) {
	pages, err := filepath.Glob(filepath.Join("..", "docs", "sinks", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]config.SinkType{}
	for _, st := range app.ReferenceSinkTypes(app.SinkTypes()) {
		types[st.Name] = st
	}
	checked := 0
	for _, path := range pages {
		typ := strings.TrimSuffix(filepath.Base(path), ".md")
		st, ok := types[typ]
		if !ok {
			// A page that is no sink type's (an overview, say) has no
			// options to show.
			continue
		}
		checked++
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		begin, end := sinkOptionsMarkers(typ)
		head, rest, ok1 := strings.Cut(string(data), begin+"\n")
		table, tail, ok2 := strings.Cut(rest, end)
		if !ok1 || !ok2 {
			t.Errorf("%s is the page of sink type %s but lacks its generated options table: add the lines\n%s\n%s\nwhere the table belongs, then run go test ./e2e -run TestSinkPagesOptions -update", path, typ, begin, end)
			continue
		}
		want := config.SinkOptionsTable(st)
		if table == want {
			continue
		}
		if *update {
			if err := os.WriteFile(path, []byte(head+begin+"\n"+want+end+tail), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		t.Errorf("%s: the options table is out of date; run go test ./e2e -run TestSinkPagesOptions -update\nhave:\n%s\nwant:\n%s", path, table, want)
	}
	if checked == 0 {
		t.Fatalf("no page in docs/sinks is a sink type's")
	}
}
