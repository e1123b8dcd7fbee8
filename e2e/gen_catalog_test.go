package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// catalogProject is a project with the catalog package's test contracts,
// one whose texts are hostile HTML, and sinks whose names the catalog
// must show.
func catalogProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src, err := filepath.Abs("../internal/catalog/testdata/contracts")
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		writeContract(t, dir, filepath.ToSlash(rel), string(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	writeContract(t, dir, "com.evil/x_script/jsonschema/1-0-0", `{
	"self": {"vendor": "com.evil", "name": "x_script", "format": "jsonschema", "version": "1-0-0"},
	"description": "<script>alert('schema')</script>",
	"x-accord": {"owner": "<img src=x onerror=alert('owner')>", "description": "</td></tr></table><script>alert('desc')</script>", "tags": ["evil"]},
	"type": "object",
	"properties": {"<b>name</b>": {"type": "string", "description": "<a href=\"javascript:alert('field')\">click</a>", "enum": ["<script>alert('enum')</script>"]}},
	"required": ["<b>name</b>"]
}`)
	cfg := `sinks:
  - name: warehouse
    type: postgres
    options:
      dsn: postgres://accord@127.0.0.1:5432/test
      schema: analytics
  - name: stream
    type: kafka
    records: good
    options:
      brokers: [127.0.0.1:9092]
      topic_per_contract: true
`
	if err := os.WriteFile(filepath.Join(dir, "accord.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// readTree returns every file under dir by relative path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[rel], err = os.ReadFile(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestGenCatalogInBrowser: accord gen catalog writes catalog.json and a
// site that headless Chromium opens from disk, offline: every contract
// page renders with its versions, fields and example, every link
// resolves, nothing logs an error, nothing is fetched, and the HTML in a
// contract's texts is shown as text, never run. Generating twice gives
// the same bytes.
func TestGenCatalogInBrowser(t *testing.T) {
	chromium := chromiumBinary(t)
	node := nodeBinary(t)
	dir := catalogProject(t)
	site := filepath.Join(dir, "site")
	out, stderr, code := runAccord(t, dir, nil, "gen", "catalog", "--out", site, "--builtin")
	if code != 0 {
		t.Fatalf("gen catalog: exit %d: %s %s", code, out, stderr)
	}
	first := readTree(t, site)
	// A stale page of a removed contract goes; another file stays.
	stale := filepath.Join(site, "contracts", "c-com.gone.x-00000000.html")
	mine := filepath.Join(site, "contracts", "notes.txt")
	for _, p := range []string{stale, mine} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, stderr, code := runAccord(t, dir, nil, "gen", "catalog", "--out", site, "--builtin"); code != 0 {
		t.Fatalf("gen catalog again: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the stale page is still there: %v", err)
	}
	if err := os.Remove(mine); err != nil {
		t.Errorf("a file that is not a page was touched: %v", err)
	}
	second := readTree(t, site)
	if len(first) != len(second) {
		t.Fatalf("%d files, then %d", len(first), len(second))
	}
	for name, b := range first {
		if !bytes.Equal(b, second[name]) {
			t.Errorf("%s differs between two runs", name)
		}
	}

	var cat struct {
		Contracts []struct {
			ID       string
			Versions []struct {
				Version string
				Places  []struct{ Sink, Kind, Name string }
				Example json.RawMessage
			}
		}
	}
	if err := json.Unmarshal(first["catalog.json"], &cat); err != nil {
		t.Fatal(err)
	}
	if len(cat.Contracts) < 90 {
		t.Fatalf("catalog.json holds %d contracts, want the 3 of the project and the built-in ones", len(cat.Contracts))
	}
	var cart []string
	for _, c := range cat.Contracts {
		if c.ID == "com.acme/cart_viewed/jsonschema" {
			for _, p := range c.Versions[0].Places {
				cart = append(cart, p.Sink+" "+p.Kind+" "+p.Name)
			}
		}
	}
	want := "warehouse table analytics.accord_events|warehouse table analytics.com_acme_cart_viewed_1|stream topic accord.good.com.acme.cart_viewed.v1"
	if strings.Join(cart, "|") != want {
		t.Errorf("cart_viewed 1-0-0 lands in %q, want %q", cart, want)
	}

	var topics []struct {
		Name, Service string
		MessageSchema struct{ SchemaType string }
	}
	if err := json.Unmarshal(first[filepath.Join("openmetadata", "topics.json")], &topics); err != nil || len(topics) < len(cat.Contracts) {
		t.Fatalf("openmetadata/topics.json: %d topics, %v", len(topics), err)
	}
	if tp := topics[0]; tp.Service != "accord" || tp.MessageSchema.SchemaType != "JSON" {
		t.Errorf("first topic %+v", tp)
	}

	stdout, stderr, err := nodeExecIn(t, browserDir, node, "catalog.mjs", "SITE="+site, "CHROMIUM="+chromium)
	if err != nil {
		t.Fatalf("catalog.mjs: %v\n%s\n%s", err, stdout, stderr)
	}
	var s struct {
		Pages []struct {
			URL, Title, H1, Text string
			Contracts, Versions  int
			Fields, Scripts      int
			Examples             []string
		}
		Console, PageErrors, Dialogs, External, BrokenLinks []string
	}
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("catalog.mjs printed no summary: %v\n%s\n%s", err, stdout, stderr)
	}
	for what, list := range map[string][]string{"console errors": s.Console, "page errors": s.PageErrors, "dialogs": s.Dialogs,
		"requests off the disk": s.External, "broken links": s.BrokenLinks} {
		if len(list) > 0 {
			t.Errorf("%s: %q", what, list)
		}
	}
	if len(s.Pages) != 1+len(cat.Contracts) {
		t.Errorf("visited %d pages, want the index and %d contract pages", len(s.Pages), len(cat.Contracts))
	}
	t.Logf("Chromium visited %d pages from disk", len(s.Pages))
	for i, p := range s.Pages {
		if p.Scripts != 0 {
			t.Errorf("%s has %d script elements", p.URL, p.Scripts)
		}
		if i == 0 {
			if p.Contracts != len(cat.Contracts) {
				t.Errorf("the index lists %d contracts, want %d", p.Contracts, len(cat.Contracts))
			}
			if !strings.Contains(p.Text, "</td></tr></table><script>alert('desc')</script>") {
				t.Error("the index does not show the hostile description as text")
			}
			continue
		}
		if p.H1 == "" || p.Versions == 0 || len(p.Examples) != p.Versions {
			t.Errorf("%s: h1 %q, %d versions, %d examples", p.URL, p.H1, p.Versions, len(p.Examples))
		}
		for _, ex := range p.Examples {
			if !json.Valid([]byte(ex)) {
				t.Errorf("%s: example is not JSON: %s", p.URL, ex)
			}
		}
		if p.H1 == "com.evil/x_script" {
			for _, text := range []string{"<img src=x onerror=alert('owner')>", "<a href=\"javascript:alert('field')\">click</a>", "<b>name</b>"} {
				if !strings.Contains(p.Text, text) {
					t.Errorf("the hostile contract's page does not show %q as text", text)
				}
			}
		}
	}
}

// TestGenCatalogRefuses: no --out, and a contracts directory with a file
// that does not load, write nothing.
func TestGenCatalogRefuses(t *testing.T) {
	dir := catalogProject(t)
	if _, stderr, code := runAccord(t, dir, nil, "gen", "catalog"); code != 2 || !strings.Contains(stderr, "--out") {
		t.Errorf("without --out: exit %d: %s", code, stderr)
	}
	writeContract(t, dir, "com.acme/broken/jsonschema/1-0-0", "{not json")
	site := filepath.Join(dir, "site")
	if _, stderr, code := runAccord(t, dir, nil, "gen", "catalog", "--out", site); code != 1 || !strings.Contains(stderr, "broken") {
		t.Errorf("with a broken contract: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(site); !os.IsNotExist(err) {
		t.Errorf("something was written: %v", err)
	}
}
