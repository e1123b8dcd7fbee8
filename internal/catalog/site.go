package catalog

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"html/template"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/accord-events/accord/internal/atomicfile"
)

//go:embed site.html.tmpl
var siteTemplate string

// Site files, relative to the output directory.
const (
	JSONFile  = "catalog.json"
	IndexFile = "index.html"
	// PagesDir holds one page per contract.
	PagesDir = "contracts"
)

// PageName is the file name (under PagesDir) of a contract's page:
// "c-" vendor "." name, then a hash of the id so that no two contracts
// share a page, even on a case-insensitive file system. Vendor and name
// hold only letters, digits, '-', '_' and '.', and the "c-" keeps the
// name from ever being "." or ".."; PageName checks anyway.
func PageName(id string) string {
	h := fnv.New32a()
	h.Write([]byte(id))
	var b strings.Builder
	b.WriteString("c-")
	for _, r := range strings.ReplaceAll(strings.TrimSuffix(id, "/jsonschema"), "/", ".") {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
		if b.Len() > 150 {
			break
		}
	}
	fmt.Fprintf(&b, "-%08x.html", h.Sum32())
	return b.String()
}

// JSON marshals the catalog as catalog.json holds it: indented, keys in a
// fixed order, and the same bytes for the same catalog.
func (c *Catalog) JSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("encode catalog: %w", err)
	}
	return buf.Bytes(), nil
}

// Site renders the catalog as a static site: catalog.json, index.html and
// a page per contract under contracts/, by path relative to the output
// directory (slash-separated, each one local: no "..", not absolute). The
// pages load nothing from anywhere (a Content-Security-Policy forbids it
// and every script), so they work offline and opened from disk, and every
// text from a contract is escaped by html/template.
func Site(c *Catalog) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := Render(c, func(name string, data []byte) error {
		if _, dup := files[name]; dup {
			return fmt.Errorf("two files of the site would be %s", name)
		}
		files[name] = append([]byte(nil), data...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return files, nil
}

// Render is Site one file at a time: emit gets each file's path and bytes,
// which are only valid during the call, so a large catalog is written
// without holding the whole site in memory.
func Render(c *Catalog, emit func(name string, data []byte) error) error {
	js, err := c.JSON()
	if err != nil {
		return err
	}
	if err := emit(JSONFile, js); err != nil {
		return err
	}
	js = nil
	t, err := template.New("site").Funcs(template.FuncMap{
		"page":   PageName,
		"json":   prettyJSON,
		"newest": newestFirst,
		"join":   strings.Join,
		"latest": func(vs []Version) Version {
			if len(vs) == 0 {
				return Version{}
			}
			return vs[len(vs)-1]
		},
	}).Parse(siteTemplate)
	if err != nil {
		return fmt.Errorf("parse site template: %w", err)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "index", c); err != nil {
		return fmt.Errorf("render index: %w", err)
	}
	if err := emit(IndexFile, buf.Bytes()); err != nil {
		return err
	}
	seen := make(map[string]bool, len(c.Contracts))
	for i := range c.Contracts {
		cc := &c.Contracts[i]
		buf.Reset()
		if err := t.ExecuteTemplate(&buf, "contract", cc); err != nil {
			return fmt.Errorf("render %s: %w", cc.ID, err)
		}
		name := path.Join(PagesDir, PageName(cc.ID))
		if seen[name] {
			return fmt.Errorf("two contracts would share the page %s", name)
		}
		seen[name] = true
		if err := emit(name, buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// SortedNames returns the site's paths in order.
func SortedNames(files map[string][]byte) []string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func prettyJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return string(raw)
	}
	return buf.String()
}

// newestFirst returns the versions, newest first.
func newestFirst(vs []Version) []Version {
	out := make([]Version, len(vs))
	for i, v := range vs {
		out[len(vs)-1-i] = v
	}
	return out
}

// SiteWriter writes a site's files under a directory, each atomically (a
// reader sees an old page or a new one, never half of one); Prune then
// removes the pages of contracts no longer in the catalog from
// dir/contracts (files named as PageName names them; nothing else there is
// touched). A path that is not local to the directory is refused,
// whatever made it.
type SiteWriter struct {
	Dir  string
	keep map[string]bool
}

// Write writes one file of the site; its signature is Render's emit.
func (w *SiteWriter) Write(name string, data []byte) error {
	if w.keep == nil {
		w.keep = map[string]bool{}
	}
	if !filepath.IsLocal(filepath.FromSlash(name)) {
		return fmt.Errorf("write catalog: %q is not a path inside the output directory", name)
	}
	p := filepath.Join(w.Dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("write catalog: %w", err)
	}
	if err := atomicfile.Write(p, data, 0o644); err != nil {
		return fmt.Errorf("write catalog %s: %w", name, err)
	}
	w.keep[p] = true
	return nil
}

// Prune removes the stale pages.
func (w *SiteWriter) Prune() error {
	pages := filepath.Join(w.Dir, PagesDir)
	entries, err := os.ReadDir(pages)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("write catalog: %w", err)
	}
	for _, e := range entries {
		p := filepath.Join(pages, e.Name())
		if e.Type().IsRegular() && strings.HasPrefix(e.Name(), "c-") && strings.HasSuffix(e.Name(), ".html") && !w.keep[p] {
			if err := os.Remove(p); err != nil {
				return fmt.Errorf("write catalog: remove the page of a removed contract: %w", err)
			}
		}
	}
	return nil
}

// WriteSite writes files under dir with a SiteWriter and prunes.
func WriteSite(dir string, files map[string][]byte) error {
	w := &SiteWriter{Dir: dir}
	for _, name := range SortedNames(files) {
		if err := w.Write(name, files[name]); err != nil {
			return err
		}
	}
	return w.Prune()
}
