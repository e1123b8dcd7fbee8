package contract

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadDirSkipsOtherFormats: a tree copied from an Iglu repository
// holds avro, thrift and protobuf schemas beside the JSON Schemas; they are
// skipped and counted, not load errors, and a format that is not Iglu's
// still is one.
func TestLoadDirSkipsOtherFormats(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"com.acme/a/jsonschema/1-0-0": `{"self": {"vendor": "com.acme", "name": "a", "format": "jsonschema", "version": "1-0-0"}, "type": "object"}`,
		"com.acme/a/avro/1-0-0":       `{"type": "record", "name": "a", "fields": []}`,
		"com.acme/b/avro/1-0-1":       `{"type": "record", "name": "b", "fields": []}`,
		"com.acme/c/thrift/1-0-0":     `struct C { 1: string id }`,
		"com.acme/d/protobuf/1-0-0":   `syntax = "proto3"; message D {}`,
		"com.acme/e/xml/1-0-0":        `<schema/>`,
	}
	for rel, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cs, problems, skipped, err := LoadDirSkipping(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Key.Name != "a" {
		t.Errorf("loaded %d contracts", len(cs))
	}
	if len(problems) != 1 || !strings.Contains(problems[0].Path, "xml") {
		t.Errorf("problems = %v, want the xml file only", problems)
	}
	for _, tc := range []struct {
		format string
		n      int
	}{{"avro", 2}, {"thrift", 1}, {"protobuf", 1}} {
		if skipped[tc.format] != tc.n {
			t.Errorf("skipped[%s] = %d, want %d", tc.format, skipped[tc.format], tc.n)
		}
	}
	want := "skipped 4 files in formats other than jsonschema (avro 2, thrift 1, protobuf 1): Accord reads JSON Schema only"
	if got := skipped.Note(); got != want {
		t.Errorf("note = %q, want %q", got, want)
	}
	if (Skipped{}).Note() != "" {
		t.Error("an empty Skipped has a note")
	}
}

func TestOtherFormat(t *testing.T) {
	for _, tc := range []struct {
		rel, format string
		ok          bool
	}{
		{"v/n/avro/1-0-0", "avro", true},
		{"v/n/thrift/1-0-0", "thrift", true},
		{"v/n/protobuf/1-0-0.json", "protobuf", true},
		{"v/n/jsonschema/1-0-0", "", false},
		{"avro/1-0-0", "", false},
		{"x/v/n/avro/1-0-0", "", false},
	} {
		f, ok := OtherFormat(tc.rel)
		if f != tc.format || ok != tc.ok {
			t.Errorf("OtherFormat(%q) = %q, %v", tc.rel, f, ok)
		}
	}
}
