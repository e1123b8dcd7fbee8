package contract

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
)

// repositoryContracts returns the contract documents in the repository (every
// file of at most 256 KiB that is a JSON object with a "self" member),
// by path.
func repositoryContracts(t testing.TB) map[string][]byte {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string][]byte{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if info, err := d.Info(); err != nil || !info.Mode().IsRegular() || info.Size() > 256<<10 {
			return nil
		}
		doc, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var head map[string]json.RawMessage
		if json.Unmarshal(doc, &head) == nil && head["self"] != nil {
			docs[path] = doc
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

// lateAsAtLoad checks that compileLoaded, which accord serve's load of a
// contracts directory uses, refuses doc exactly as CompileWith does (the
// same words), and that a contract it leaves to be compiled late does
// compile, to the verdicts of the one compiled at once. It reports
// whether the contract was left to be compiled late.
func lateAsAtLoad(t *testing.T, name string, doc []byte, want Key) bool {
	t.Helper()
	atOnce, errAtOnce := CompileWith(doc, want, "test", nil)
	loaded, errLoaded := compileLoaded(doc, want, "test", nil)
	if (errAtOnce == nil) != (errLoaded == nil) || (errAtOnce != nil && errAtOnce.Error() != errLoaded.Error()) {
		t.Fatalf("%s: loaded, the contract gives error %v; compiled at once, %v", name, errLoaded, errAtOnce)
	}
	if errLoaded != nil {
		return false
	}
	late := loaded.late != nil
	if v := loaded.validators(); v.err != nil || v.schema == nil {
		t.Fatalf("%s: loaded late, the contract does not compile: %v", name, v.err)
	}
	for _, data := range []string{`{}`, `{"id": "x"}`, `{"n": -1}`, `null`, `"s"`, `[1, "a"]`, `{"a": {"b": [1.5, true]}}`} {
		want, errWant := atOnce.Valid([]byte(data))
		got, errGot := loaded.Valid([]byte(data))
		if want != got || (errWant == nil) != (errGot == nil) {
			t.Fatalf("%s: %s is valid %v (%v) loaded, %v (%v) compiled at once", name, data, got, errGot, want, errWant)
		}
	}
	return late
}

// TestLateCompileAsAtLoad holds the contracts a load compiles late to what
// compiling them at once gives: the same refusals, word for word, for
// every contract of the repository, for the refusals of
// TestCompileErrorsWordedAsBefore under each $schema a contract may be
// compiled late under, and for broken versions of the generated contracts
// of BenchmarkLoadDir10000; and every contract left to compile late
// compiles.
func TestLateCompileAsAtLoad(t *testing.T) {
	acmeA := Key{Vendor: "com.acme", Name: "a", Format: "jsonschema", Version: SchemaVer{Model: 1}}
	lateCount := 0
	docs := repositoryContracts(t)
	if len(docs) < 50 {
		t.Fatalf("found %d contracts in the repository, want at least 50", len(docs))
	}
	for path, doc := range docs {
		if lateAsAtLoad(t, path, doc, Key{}) {
			lateCount++
		}
	}
	t.Logf("%d of the repository's %d contracts compiled late", lateCount, len(docs))
	if lateCount < 20 {
		t.Fatalf("%d of the repository's %d contracts are compiled late, want at least 20", lateCount, len(docs))
	}
	for _, tc := range compileErrCases {
		for schema := range lateDrafts {
			doc := strings.ReplaceAll(tc.doc, "SELF", compileErrSelf)
			if !strings.Contains(doc, `"$schema"`) && strings.HasPrefix(doc, "{") {
				doc = `{"$schema": "` + schema + `", ` + doc[1:]
			}
			if lateAsAtLoad(t, tc.name+" under "+schema, []byte(doc), acmeA) {
				t.Errorf("%s under %s: loaded late; it must be refused", tc.name, schema)
			}
		}
	}
	good := string(manyContractsDoc("com.acme", "a", "1-0-0", 64))
	if !lateAsAtLoad(t, "generated", []byte(good), acmeA) {
		t.Fatal("the generated contract is not compiled late")
	}
	for _, broken := range []struct{ from, to string }{
		{`"maxLength": 64`, `"maxLength": -1`},
		{`"maxLength": 64`, `"maxLength": 1.5`},
		{`"maxLength": 64`, `"maxLength": 1e400`},
		{`"minimum": 0`, `"minimum": "0"`},
		{`"type": "object"`, `"type": "record"`},
		{`"type": "object"`, `"type": ["object", "object"]`},
		{`"required": ["id"]`, `"required": []`},
		{`"required": ["id"]`, `"required": ["id", "id"]`},
		{`"additionalProperties": false`, `"additionalProperties": 0`},
		{`"additionalProperties": false`, `"additionalProperties": false, "additionalProperties": 1`},
		{`"type": "string"`, `"type": "string", "pattern": "(["`},
		{`"type": "string"`, `"type": "string", "format": 7`},
		{`"type": "string"`, `"type": "string", "enum": []`},
		{`"type": "string"`, `"type": "string", "$ref": "#/definitions/x"}, "definitions": {"x": {"type": "string"}`},
		{`"type": "string"`, `"type": "string", "patternProperties": {"(": {}}`},
		{`"type": "string"`, `"type": "string", "$schema": "http://example.com/meta#"`},
		{`"type": "string"`, `"type": "string", "id": "#frag"`},
		{`"type": "string"`, `"type": "string", "id": "http://[::1"`},
		{`"type": "string"`, `"type": "string", "$r\u0065f": "#/definitions/x"`},
		{`"type": "string"`, `"type": "string", "p\u0061tternProperties": {"(": {}}`},
		{`"type": "string"`, `"typ\u0065": 5`},
		{`"type": "string"`, `"type": "string", "enum": [{"$ref": "#/nowhere"}]`},
		{`"type": "string"`, `"type": "string", "items": {"$schema": "http://example.com/meta#"}`},
	} {
		doc := strings.Replace(good, broken.from, broken.to, 1)
		lateAsAtLoad(t, broken.to, []byte(doc), acmeA)
	}
}

// FuzzLateCompile holds a load's late compiling to compiling at once on
// arbitrary documents: the same refusals, word for word, and every
// contract left to compile late compiles.
func FuzzLateCompile(f *testing.F) {
	f.Add(manyContractsDoc("com.acme", "a", "1-0-0", 64))
	f.Add([]byte(`{"$schema": "http://json-schema.org/draft-07/schema#", "self": ` + compileErrSelf + `, "type": "object", "properties": {"a": {"type": "string", "pattern": "^a+$", "format": "date"}, "b": {"items": {"enum": [1, "x"]}}, "c": {"if": {"minimum": 1}, "then": {"multipleOf": 2}}}}`))
	f.Add([]byte(`{"$schema": "http://json-schema.org/draft-04/schema#", "self": ` + compileErrSelf + `, "properties": {"n": {"type": "number", "minimum": 0, "exclusiveMinimum": true}, "o": {"dependencies": {"a": ["b"]}}}}`))
	for _, tc := range compileErrCases {
		f.Add([]byte(strings.ReplaceAll(tc.doc, "SELF", compileErrSelf)))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		lateAsAtLoad(t, "fuzzed", doc, Key{})
	})
}

// TestLateCompileConcurrent: the first events of a contract loaded late
// arrive at once; they all wait for its one compile, and each gets its
// verdict (run with -race).
func TestLateCompileConcurrent(t *testing.T) {
	c, err := compileLoaded(manyContractsDoc("com.acme", "a", "1-0-0", 4), Key{}, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.late == nil || c.ready.Load() != nil {
		t.Fatal("the contract is not left to compile late")
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			data := `{"id": "abc"}`
			if i%2 == 1 {
				data = `{"id": "abcdef"}`
			}
			msgs, err := c.ValidateJSON([]byte(data), "/data")
			if err != nil || (len(msgs) == 0) != (i%2 == 0) {
				t.Errorf("%s: %v, %v", data, msgs, err)
			}
		})
	}
	wg.Wait()
}

// BenchmarkCompileLoaded is what a contract of a contracts directory
// costs: compiled at once (CompileWith, as before), checked at load to be
// compiled late (compileLoaded), and that with its first event, which
// compiles it.
func BenchmarkCompileLoaded(b *testing.B) {
	doc := manyContractsDoc("com.acme", "a", "1-0-0", 64)
	event := []byte(`{"id": "abc", "n": 3}`)
	for _, bc := range []struct {
		name  string
		first bool
		load  func([]byte, Key, string, Documents) (*Contract, error)
	}{{"at-once", false, CompileWith}, {"late", false, compileLoaded}, {"late+first-event", true, compileLoaded}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c, err := bc.load(doc, Key{}, "bench", nil)
				if err != nil {
					b.Fatal(err)
				}
				if bc.first {
					if ok, err := c.Valid(event); !ok || err != nil {
						b.Fatal(ok, err)
					}
				}
			}
		})
	}
}

// TestLoadFSCompilesLate holds the contracts that ship in the binary
// (LoadFS) to the load of a contracts directory: one the library could
// refuse only for its meta-schema is compiled on its first event, to the
// same verdicts; one with a $ref is compiled at once; one that breaks its
// meta-schema is refused at load, naming its path.
func TestLoadFSCompilesLate(t *testing.T) {
	self := func(name string) string {
		return `"$schema": "` + IgluMetaSchemaURI + `",
			"self": {"vendor": "com.acme", "name": "` + name + `", "format": "jsonschema", "version": "1-0-0"}`
	}
	plain := `{` + self("plain") + `, "type": "object", "properties": {"n": {"type": "integer", "minimum": 0}}, "required": ["n"]}`
	withRef := `{` + self("ref") + `, "definitions": {"n": {"type": "integer"}}, "type": "object", "properties": {"n": {"$ref": "#/definitions/n"}}}`
	fsys := fstest.MapFS{
		"com.acme/plain/jsonschema/1-0-0": {Data: []byte(plain)},
		"com.acme/ref/jsonschema/1-0-0":   {Data: []byte(withRef)},
	}
	cs, err := LoadFS(fsys, "shipped")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*Contract{}
	for _, c := range cs {
		byName[c.Key.Name] = c
	}
	if c := byName["plain"]; c == nil || c.late == nil || c.ready.Load() != nil {
		t.Fatalf("the plain contract was compiled at load (or not loaded): %+v", c)
	}
	if c := byName["ref"]; c == nil || c.late != nil || c.ready.Load() == nil {
		t.Fatalf("the contract with a $ref was not compiled at load: %+v", c)
	}
	if src := byName["plain"].Source; src != "shipped:com.acme/plain/jsonschema/1-0-0" {
		t.Errorf("Source = %q", src)
	}
	for data, want := range map[string]bool{`{"n": 1}`: true, `{"n": -1}`: false, `{}`: false, `{"n": "1"}`: false} {
		if got, err := byName["plain"].Valid([]byte(data)); err != nil || got != want {
			t.Errorf("%s: valid %v (%v), want %v", data, got, err, want)
		}
	}
	if byName["plain"].ready.Load() == nil {
		t.Error("the plain contract's validators were not built on its first event")
	}

	fsys["com.acme/broken/jsonschema/1-0-0"] = &fstest.MapFile{Data: []byte(`{` + self("broken") + `, "type": "object", "maxLength": -1}`)}
	if _, err := LoadFS(fsys, "shipped"); err == nil || !strings.Contains(err.Error(), "com.acme/broken/jsonschema/1-0-0") || !errors.Is(err, ErrInvalidContract) {
		t.Fatalf("a contract breaking its meta-schema: LoadFS error %v", err)
	}
}
