package sdk

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/contract"
)

// hostileNames are contract vendors and names a key allows that are
// dangerous as paths or identifiers: dots that climb, reserved words of Go,
// TypeScript and Python, names that collide once sanitised.
var hostileNames = [][2]string{
	{"..", ".."}, {"...", "class"}, {"com.x", "None"}, {"com.x", "import"}, {"com.x", "delete"},
	{"com.x", "-"}, {"com.x", "_"}, {"com.x", "0day"}, {"a.b", "c"}, {"a", "b.c"}, {"com.x", "Schema"},
	{"com.x", "default"}, {"com.x", "constructor"}, {"com.x", "func"}, {"com.x", "True"}, {"com.x", "CLASS"},
	{"com.x", strings.Repeat("long_name_", 30)},
}

// hostileProps are property names that are no identifier in some language.
var hostileProps = []string{
	"type", "class", "Schema", "Validate", "a/b", "~x", "with space", "123", "", "__proto__", `quo"te`,
	"back\\slash", "ünï", "order_id", "orderId", "constructor", "None", "self", "*/ evil(); /*", "\"\"\"",
	"import", "hasOwnProperty",
}

func hostileContracts(t testing.TB) []*contract.Contract {
	t.Helper()
	var props, required []string
	for i, p := range hostileProps {
		q := fmt.Sprintf("%q", p)
		props = append(props, fmt.Sprintf(`%s: {"type": "string", "maxLength": 5, "description": "*/ }; \"\"\" evil %d \\ end"}`, q, i))
		if i%2 == 0 {
			required = append(required, q)
		}
	}
	var out []*contract.Contract
	for _, vn := range hostileNames {
		doc := fmt.Sprintf(`{"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
			"description": "*/ hostile \"\"\" \\",
			"self": {"vendor": %q, "name": %q, "format": "jsonschema", "version": "1-0-0"},
			"type": "object", "properties": {%s, "nested": {"type": "object", "properties": {"class": {"type": "integer"}}}},
			"required": [%s]}`, vn[0], vn[1], strings.Join(props, ", "), strings.Join(required, ", "))
		c, err := contract.Compile([]byte(doc), contract.Key{}, "hostile")
		if err != nil {
			t.Fatalf("%s/%s: %v", vn[0], vn[1], err)
		}
		out = append(out, c)
	}
	return out
}

// TestHostileNamesStayInside generates from hostile contracts with every
// generator: every path is a plain file name in DIR, every file name is
// unique, and writing leaves nothing outside DIR.
func TestHostileNamesStayInside(t *testing.T) {
	cs := hostileContracts(t)
	for _, o := range generators {
		files, err := Generate(cs, o)
		if err != nil {
			t.Fatalf("%s: %v", optionsName(o), err)
		}
		seen := map[string]bool{}
		for _, f := range files {
			if checkPath(f.Path) != nil || strings.ContainsAny(f.Path, `\`) || strings.HasPrefix(f.Path, ".") {
				t.Errorf("%s: unsafe path %q", optionsName(o), f.Path)
			}
			if seen[strings.ToLower(f.Path)] {
				t.Errorf("%s: two files named %q", optionsName(o), f.Path)
			}
			seen[strings.ToLower(f.Path)] = true
		}
		root := t.TempDir()
		out := filepath.Join(root, "out")
		if err := Write(out, files); err != nil {
			t.Fatal(err)
		}
		entries, err := os.ReadDir(root)
		if err != nil || len(entries) != 1 {
			t.Errorf("%s: writing left %v beside the output directory (%v)", optionsName(o), entries, err)
		}
	}
}

// TestHostileGoBuilds builds and vets the Go generated from hostile names.
func TestHostileGoBuilds(t *testing.T) {
	files, err := Generate(hostileContracts(t), Options{Lang: "go"})
	if err != nil {
		t.Fatal(err)
	}
	dir := writeGoModule(t, files)
	goTool(t, dir, "vet", "./...")
}

// TestWriteIsIdempotent writes twice, then without one contract's file: the
// second run rewrites nothing, the third removes only the stale generated
// file, never a file the generator did not write.
func TestWriteIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	files := Files{{Path: "a.go", Data: []byte("a")}, {Path: "b.go", Data: []byte("b")}}
	if err := Write(dir, files); err != nil {
		t.Fatal(err)
	}
	mine := filepath.Join(dir, "mine.go")
	if err := os.WriteFile(mine, []byte("hand written"), 0o644); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(filepath.Join(dir, "a.go"))
	if err := Write(dir, files); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(filepath.Join(dir, "a.go"))
	if !before.ModTime().Equal(after.ModTime()) || !os.SameFile(before, after) {
		t.Error("a second run over the same files rewrote a.go")
	}
	if err := Write(dir, files[:1]); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "b.go")); !os.IsNotExist(err) {
		t.Errorf("b.go, no longer generated, is still there: %v", err)
	}
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("a file the generator did not write was removed: %v", err)
	}
	manifest, _ := os.ReadFile(filepath.Join(dir, ManifestName))
	if string(manifest) != "a.go\n" {
		t.Errorf("manifest = %q, want a.go", manifest)
	}
	// A manifest edited to name files outside DIR removes nothing there.
	outside := filepath.Join(filepath.Dir(dir), "outside-"+filepath.Base(dir))
	if err := os.WriteFile(outside, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(outside) })
	if err := os.WriteFile(filepath.Join(dir, ManifestName), []byte("../"+filepath.Base(outside)+"\n/etc/passwd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(dir, files[:1]); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("a manifest naming ../ made Write remove a file outside DIR: %v", err)
	}
}

func TestWriteRefusesPathsOutside(t *testing.T) {
	for _, p := range []string{"../x", "/etc/x", "a/../../x", "", ".accord-gen", `a\b`, "./a"} {
		if err := Write(t.TempDir(), Files{{Path: p, Data: []byte("x")}}); err == nil {
			t.Errorf("Write took the path %q", p)
		}
	}
}

// TestRecursiveRefsStayBounded: a contract whose properties $ref the root
// (twice, so following them naively doubles the work at every level)
// generates in bounded time and size, with every generator.
func TestRecursiveRefsStayBounded(t *testing.T) {
	doc := `{"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
		"self": {"vendor": "com.x", "name": "tree", "format": "jsonschema", "version": "1-0-0"},
		"type": "object", "properties": {"left": {"$ref": "#"}, "right": {"$ref": "#"}, "deep": {"$ref": "#/definitions/d"}},
		"definitions": {"d": {"type": "object", "properties": {"a": {"$ref": "#"}, "b": {"$ref": "#/definitions/d"}}}}}`
	c, err := contract.Compile([]byte(doc), contract.Key{}, "recursive")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range generators {
		start := time.Now()
		files, err := Generate([]*contract.Contract{c}, o)
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, f := range files {
			total += len(f.Data)
		}
		if d := time.Since(start); d > 10*time.Second || total > 1<<20 {
			t.Errorf("%s: %d bytes in %s from a 500-byte recursive contract", optionsName(o), total, d)
		}
	}
}
