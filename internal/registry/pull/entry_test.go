package pull

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestParseEntry(t *testing.T) {
	for _, tc := range []struct {
		in      string
		wantKey string // "" when the entry has no key (another format) or fails
		wantErr string
	}{
		{in: "iglu:com.acme/ad_click/jsonschema/1-0-0", wantKey: "iglu:com.acme/ad_click/jsonschema/1-0-0"},
		{in: "com.acme/ad_click/jsonschema/1-0-1.json", wantKey: "iglu:com.acme/ad_click/jsonschema/1-0-1"},
		{in: "com.acme/ad_click/avro/1-0-0"},
		{in: "iglu:../x/jsonschema/1-0-0", wantErr: `vendor ".." is not a safe path segment`},
		{in: "iglu:com.acme/.x/jsonschema/1-0-0", wantErr: `name ".x" is not a safe path segment`},
		{in: "iglu:com.acme/x/../1-0-0", wantErr: `format ".." is not a safe path segment`},
		{in: "iglu:com acme/x/jsonschema/1-0-0", wantErr: "not a safe path segment"},
		{in: "iglu:com.acme/x/jsonschema/1-0", wantErr: "is not SchemaVer"},
		{in: "iglu:com.acme/x/jsonschema/0-1-0", wantErr: "MODEL starts at 1"},
		{in: "README.md", wantErr: "is not at {vendor}/{name}/{format}/{version}"},
		{in: "a/b/c/d/e", wantErr: "is not at {vendor}/{name}/{format}/{version}"},
		{in: strings.Repeat("a", 2000), wantErr: "longer than 1024 bytes"},
	} {
		t.Run(tc.in[:min(len(tc.in), 40)], func(t *testing.T) {
			e, err := parseEntry(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v; want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if e.format == "jsonschema" {
				got = e.key.String()
			}
			if got != tc.wantKey {
				t.Errorf("key %q; want %q", got, tc.wantKey)
			}
		})
	}
}

// FuzzParseEntry holds parseEntry to its promise: whatever a repository
// lists, an entry it accepts names a path that stays inside the contracts
// directory, in plain characters, and a JSON Schema entry's key names the
// same path.
func FuzzParseEntry(f *testing.F) {
	for _, s := range []string{
		"iglu:com.acme/ad_click/jsonschema/1-0-0", "com.acme/ad_click/jsonschema/1-0-1.json",
		"com.acme/ad_click/avro/1-0-0", "iglu:../x/jsonschema/1-0-0", "iglu:a/./jsonschema/1-0-0",
		"iglu:a/b/jsonschema/1-0-0/", "iglu:a//jsonschema/1-0-0", "iglu:a/b/jsonschema/1-0-0.json.json",
		"iglu:a/b\\..\\c/jsonschema/1-0-0", "iglu:a/b/jsonschema/10-0-0", "iglu:iglu:a/b/jsonschema/1-0-0",
	} {
		f.Add(s)
	}
	const dir = "/contracts"
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseEntry(s)
		if err != nil {
			return
		}
		for _, part := range []string{e.vendor, e.name, e.format, e.version} {
			if !safePart(part) {
				t.Fatalf("%q: part %q is not safe", s, part)
			}
		}
		path := filepath.Join(dir, e.vendor, e.name, e.format, e.version)
		if !strings.HasPrefix(path, dir+"/") || strings.Count(strings.TrimPrefix(path, dir+"/"), "/") != 3 {
			t.Fatalf("%q becomes %s, outside the layout of %s", s, path, dir)
		}
		if e.format == "jsonschema" {
			if got := e.key.Path(); got != e.vendor+"/"+e.name+"/"+e.format+"/"+e.version {
				t.Fatalf("%q: key path %s differs from the entry's", s, got)
			}
			if err := e.key.CheckFilePath(); err != nil {
				t.Fatalf("%q: %v", s, err)
			}
		}
	})
}
