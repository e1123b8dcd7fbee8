package contract

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"
	"weak"

	"github.com/accord-events/accord/internal/check"
)

func loadTestdata(t *testing.T) (*Set, map[string]string) {
	t.Helper()
	contracts, problems, err := LoadDir("testdata/contracts")
	if err != nil {
		t.Fatal(err)
	}
	byFile := map[string]string{}
	for _, p := range problems {
		rel, _ := filepath.Rel("testdata/contracts", p.Path)
		byFile[filepath.ToSlash(rel)] = p.Err.Error()
	}
	return NewSet(contracts), byFile
}

func TestLoadDirReportsEachBadFileAndLoadsTheRest(t *testing.T) {
	reg, problems := loadTestdata(t)
	if reg.Len() != 5 {
		var keys []string
		for _, c := range reg.Contracts() {
			keys = append(keys, c.URI)
		}
		t.Errorf("loaded %d contracts %v, want the 5 good ones", reg.Len(), keys)
	}
	wantProblems := map[string]string{
		"com.acme/broken/jsonschema/1-0-0":   "does not conform to its meta-schema",
		"com.acme/mismatch/jsonschema/1-0-0": "self block names com.acme/other/jsonschema/1-0-0 but the file's path says com.acme/mismatch/jsonschema/1-0-0",
		"com.acme/notjson/jsonschema/1-0-0":  "not a JSON object",
		"com.acme/badmeta/jsonschema/1-0-0":  "does not conform to its meta-schema",
		"misplaced/schema.json":              "not in the contracts layout",
	}
	for file, want := range wantProblems {
		got, ok := problems[file]
		if !ok {
			t.Errorf("%s: no problem reported, want %q", file, want)
			continue
		}
		if !strings.Contains(got, want) {
			t.Errorf("%s: problem %q, want it to contain %q", file, got, want)
		}
	}
	if len(problems) != len(wantProblems) {
		t.Errorf("problems %v, want exactly %d", problems, len(wantProblems))
	}
}

func TestLoadDirMissing(t *testing.T) {
	if _, _, err := LoadDir(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Fatal("want an error for a missing directory")
	}
}

func TestResolve(t *testing.T) {
	reg, _ := loadTestdata(t)
	tests := []struct {
		key     string
		wantURI string
		wantErr error
	}{
		{"iglu:com.acme/d4/jsonschema/1-0-0", "iglu:com.acme/d4/jsonschema/1-0-0", nil},
		{"com.acme/d4/jsonschema/1-0-0", "iglu:com.acme/d4/jsonschema/1-0-0", nil},
		{"iglu:com.acme/d7/jsonschema/1-0-0.json", "iglu:com.acme/d7/jsonschema/1-0-0", nil},
		{"iglu:com.acme/d4/jsonschema/1-0-9", "", ErrNotFound},
		{"iglu:com.acme/d4/jsonschema/1-0", "", ErrBadKey},
		{"iglu:com.acme/d4/avro/1-0-0", "", ErrBadKey},
		{"", "", ErrBadKey},
		{"iglu:com.acme/d 4/jsonschema/1-0-0", "", ErrBadKey},
		{"iglu:com.acme/d4/jsonschema/01-0-0", "", ErrBadKey},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			for range 2 { // the second lookup is served from the cache
				c, err := reg.Resolve(tc.key)
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("err %v, want %v", err, tc.wantErr)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if c.URI != tc.wantURI {
					t.Fatalf("resolved %s, want %s", c.URI, tc.wantURI)
				}
			}
		})
	}
}

func TestResolveCacheIsBounded(t *testing.T) {
	reg, _ := loadTestdata(t)
	for i := range maxCachedLookups * 3 {
		_, _ = reg.Resolve("iglu:com.acme/unknown/jsonschema/1-0-" + itoa(i))
	}
	n := 0
	reg.current.Load().lookups.Load().m.Range(func(_, _ any) bool { n++; return true })
	if n > maxCachedLookups {
		t.Fatalf("cache holds %d lookups, bound is %d", n, maxCachedLookups)
	}
}

// TestResolveCacheKeepsCopies: a key the cache remembers (a miss, or one
// not in canonical form) is a copy, so that a key sharing a larger buffer,
// as the strings of a record read from the spool do, does not keep it.
func TestResolveCacheKeepsCopies(t *testing.T) {
	reg, _ := loadTestdata(t)
	kept := func() weak.Pointer[byte] {
		buf := make([]byte, 64<<10)
		n := copy(buf, "iglu:com.acme/unknown/jsonschema/1-0-0")
		_, _ = reg.Resolve(unsafe.String(&buf[0], n))
		return weak.Make(&buf[0])
	}()
	if !check.Collected(kept) {
		t.Fatal("the lookup cache keeps the memory of the key it was asked")
	}
	if _, ok := reg.current.Load().lookups.Load().m.Load("iglu:com.acme/unknown/jsonschema/1-0-0"); !ok {
		t.Fatal("the miss was not cached: the test no longer exercises the cache")
	}
}

func itoa(i int) string { return SchemaVer{Model: 1, Addition: i}.String()[4:] }

func TestValidateAcrossDrafts(t *testing.T) {
	reg, _ := loadTestdata(t)
	tests := []struct {
		name         string
		key          string
		data         string
		wantKeywords []string
		wantPaths    []string
		wantSentence string
	}{
		{"draft 4 valid", "iglu:com.acme/d4/jsonschema/1-0-0", `{"n": 1}`, nil, nil, ""},
		{"draft 4 boolean exclusiveMinimum", "iglu:com.acme/d4/jsonschema/1-0-0", `{"n": 0}`, []string{"exclusiveMinimum"}, []string{"/data/n"}, "/data/n must be greater than 0, but is 0"},
		{"draft 7 valid", "iglu:com.acme/d7/jsonschema/1-0-0", `{"n": 3}`, nil, nil, ""},
		{"draft 7 if/then", "iglu:com.acme/d7/jsonschema/1-0-0", `{"n": 7}`, []string{"required"}, []string{"/data"}, `/data is missing the required property "when"`},
		{"draft 7 format asserted", "iglu:com.acme/d7/jsonschema/1-0-0", `{"n": 1, "when": "yesterday"}`, []string{"format"}, []string{"/data/when"}, "must be a valid date-time"},
		{"2020-12 valid", "iglu:com.acme/d2020/jsonschema/1-0-0", `{"n": 2, "tags": ["a"]}`, nil, nil, ""},
		{"2020-12 $ref and prefixItems", "iglu:com.acme/d2020/jsonschema/1-0-0", `{"n": -2, "tags": ["a", "b"]}`, []string{"exclusiveMinimum", "items"}, []string{"/data/n", "/data/tags/1"}, "/data/tags/1 is not allowed by the contract"},
		{"2020-12 unevaluatedProperties", "iglu:com.acme/d2020/jsonschema/1-0-0", `{"n": 2, "x": 1}`, []string{"unevaluatedProperties"}, []string{"/data/x"}, ""},
		{"iglu meta valid", "iglu:com.acme/iglu/jsonschema/1-0-0", `{"n": 10, "email": "a@b.co"}`, nil, nil, ""},
		{"iglu type", "iglu:com.acme/iglu/jsonschema/1-0-0", `{"n": "ten"}`, []string{"type"}, []string{"/data/n"}, "/data/n must be integer, but is string"},
		{"iglu several problems", "iglu:com.acme/iglu/jsonschema/1-0-0", `{"n": 11, "email": "nope", "z": true}`, []string{"additionalProperties", "format", "maximum"}, []string{"/data", "/data/email", "/data/n"}, `/data has the property "z", which the contract does not allow`},
		{"big integer stays an integer", "iglu:com.acme/iglu/jsonschema/1-0-0", `{"n": -123456789012345678901234567890}`, nil, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := reg.Resolve(tc.key)
			if err != nil {
				t.Fatal(err)
			}
			v, err := DecodeValue([]byte(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			msgs := c.Validate(v, "/data")
			if len(msgs) != len(tc.wantKeywords) {
				t.Fatalf("messages %+v, want keywords %v", msgs, tc.wantKeywords)
			}
			var sentences []string
			for i, m := range msgs {
				if m.Keyword != tc.wantKeywords[i] || m.InstancePath != tc.wantPaths[i] {
					t.Errorf("message %d: keyword %q at %q, want %q at %q", i, m.Keyword, m.InstancePath, tc.wantKeywords[i], tc.wantPaths[i])
				}
				if m.Schema != c.URI || !strings.HasSuffix(m.SchemaPath, m.Keyword) {
					t.Errorf("message %d: schema %q path %q", i, m.Schema, m.SchemaPath)
				}
				sentences = append(sentences, m.Message)
			}
			if tc.wantSentence != "" && !strings.Contains(strings.Join(sentences, "\n"), tc.wantSentence) {
				t.Errorf("sentences %q, want one containing %q", sentences, tc.wantSentence)
			}
		})
	}
}

func TestParseKey(t *testing.T) {
	k, err := ParseKey("iglu:com.acme/x_y/jsonschema/2-10-3")
	if err != nil {
		t.Fatal(err)
	}
	if k.Vendor != "com.acme" || k.Name != "x_y" || k.Version != (SchemaVer{2, 10, 3}) || k.String() != "iglu:com.acme/x_y/jsonschema/2-10-3" {
		t.Fatalf("parsed %+v", k)
	}
	for _, bad := range []string{"iglu:a/b/jsonschema/0-0-1", "a/b/jsonschema/1-0-0/x", "iglu:a/b/jsonschema/1-a-0", "iglu:/b/jsonschema/1-0-0"} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("%q parsed, want an error", bad)
		}
	}
}

func TestRegistryBaseContractsSurviveReplace(t *testing.T) {
	doc := []byte(`{"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
 "self": {"vendor": "com.builtin", "name": "ping", "format": "jsonschema", "version": "1-0-0"}, "type": "object"}`)
	builtin, err := Compile(doc, Key{}, "builtin")
	if err != nil {
		t.Fatal(err)
	}
	r := NewSetWithBase([]*Contract{builtin}, nil)
	g := r.Generation()
	r.Replace(nil)
	if r.Generation() == g {
		t.Error("Replace did not change the generation")
	}
	if _, err := r.Resolve("iglu:com.builtin/ping/jsonschema/1-0-0"); err != nil {
		t.Errorf("base contract lost after Replace: %v", err)
	}
}

// TestAdditionalPropertiesSorted: the validator lists unknown properties in
// map order; the sentence lists them sorted, so the same event always gets
// the same stored failure.
func TestAdditionalPropertiesSorted(t *testing.T) {
	reg, _ := loadTestdata(t)
	c, err := reg.Resolve("iglu:com.acme/iglu/jsonschema/1-0-0")
	if err != nil {
		t.Fatal(err)
	}
	want := `/data has the properties "aa", "bb", "mm", "yy", "zz", which the contract does not allow`
	for range 50 {
		v, err := DecodeValue([]byte(`{"n": 1, "zz": 1, "aa": 1, "mm": 1, "bb": 1, "yy": 1}`))
		if err != nil {
			t.Fatal(err)
		}
		msgs := c.Validate(v, "/data")
		if len(msgs) != 1 || msgs[0].Message != want {
			t.Fatalf("messages %+v, want one saying %s", msgs, want)
		}
	}
}
