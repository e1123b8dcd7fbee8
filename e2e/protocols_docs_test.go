package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/protocol/snowplow"
)

// The markers around the generated tp2 mapping table in
// docs/protocols/snowplow.md.
const (
	mappingBegin = "<!-- BEGIN snowplow.Mapping(): generated; rewrite with go test ./e2e -run TestSnowplowMappingDoc -update -->"
	mappingEnd   = "<!-- END snowplow.Mapping() -->"
)

// snowplowMappingTable renders snowplow.Mapping() as the Markdown table the
// docs show: one row per tp2 parameter, in Mapping's order.
func snowplowMappingTable() string {
	var b strings.Builder
	b.WriteString("| Parameter | Lands in | Meaning |\n|---|---|---|\n")
	for _, f := range snowplow.Mapping() {
		var places []string
		for _, p := range strings.Split(f.Envelope, "; ") {
			// "payload.page_url (pv, pp)": the field in code, the event
			// types it applies to as text.
			field, types, ok := strings.Cut(p, " (")
			if ok {
				places = append(places, "`"+field+"` ("+types)
			} else {
				places = append(places, "`"+p+"`")
			}
		}
		doc := strings.ReplaceAll(f.Doc, "|", `\|`)
		b.WriteString("| `" + f.Param + "` | " + strings.Join(places, "; ") + " | " + doc + " |\n")
	}
	return b.String()
}

// docs/protocols/snowplow.md lists every tp2 parameter and where it lands,
// between markers; the table is generated from snowplow.Mapping(), which
// the snowplow package tests against its decoder, so the page cannot drift
// from what Accord does. Rewrite it with
// go test ./e2e -run TestSnowplowMappingDoc -update.
func TestSnowplowMappingDoc(t *testing.T) {
	path := filepath.Join("..", "docs", "protocols", "snowplow.md")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	head, rest, ok1 := strings.Cut(doc, mappingBegin+"\n")
	table, tail, ok2 := strings.Cut(rest, mappingEnd)
	if !ok1 || !ok2 {
		t.Fatalf("%s lacks the markers %q and %q around the tp2 mapping table", path, mappingBegin, mappingEnd)
	}
	want := snowplowMappingTable()
	if *update && table != want {
		if err := os.WriteFile(path, []byte(head+mappingBegin+"\n"+want+mappingEnd+tail), 0o644); err != nil {
			t.Fatal(err)
		}
		table = want
	}
	if table == want {
		return
	}
	// Say which rows differ, by parameter.
	rows := func(s string) map[string]string {
		m := map[string]string{}
		for _, line := range strings.Split(s, "\n") {
			if strings.HasPrefix(line, "| `") {
				param, _, _ := strings.Cut(strings.TrimPrefix(line, "| `"), "`")
				m[param] = line
			}
		}
		return m
	}
	got, exp := rows(table), rows(want)
	for p, line := range exp {
		switch g, ok := got[p]; {
		case !ok:
			t.Errorf("the table lacks %s: %s", p, line)
		case g != line:
			t.Errorf("the row of %s differs:\n got: %s\nwant: %s", p, g, line)
		}
	}
	for p := range got {
		if _, ok := exp[p]; !ok {
			t.Errorf("the table lists %s, which snowplow.Mapping() does not", p)
		}
	}
	t.Errorf("the tp2 mapping table in %s is not the one snowplow.Mapping() gives (rows out of order, or text around them); run: go test ./e2e -run TestSnowplowMappingDoc -update", path)
}
