package privacy

import (
	"fmt"
	"strings"
	"testing"
)

// FuzzCompileWithoutRules holds Compile's shortcut to what decoding and
// walking the document give: a document the shortcut passes has no rule
// and no error.
func FuzzCompileWithoutRules(f *testing.F) {
	for _, seed := range []string{
		`{"type": "object", "properties": {"id": {"type": "string"}}, "additionalProperties": false}`,
		`{"properties": {"a": {"items": [{"type": "string"}, true]}}, "allOf": [{}, {"if": {}, "then": false}]}`,
		`{"properties": {"e": {"x-accord-pii": {"class": "restricted", "action": "hmac"}}}}`,
		`{"properties": {"e": {"x-accord-p\u0069i": {"class": "restricted", "action": "drop"}}}}`,
		`{"properties": {"e": {"$ref": "#/definitions/nowhere"}}}`,
		`{"properties": {"e": {"x-accord-pii": "hash"}}}`,
		`{"properties": `,
		`[{}, {}]`,
		`"x-accord-pii"`,
		`{"maximum": 1.5e3, "minimum": 1E-3}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		if !withoutRules(doc) {
			return
		}
		r, err := compileDoc(doc)
		if r != nil || err != nil {
			t.Fatalf("the shortcut finds no rules in %q, but its walk gives %v, %v", doc, r, err)
		}
	})
}

// TestCompileShortcutKeepsErrors: what the shortcut must not pass, it
// does not: rules, escaped names, local $refs (which can fail or loop
// back) and documents of more objects than the walk may visit, each of
// which gives rules or an error.
func TestCompileShortcutKeepsErrors(t *testing.T) {
	var many strings.Builder
	many.WriteString(`{"properties": {"p0": {}`)
	for i := 1; i < maxWalk; i++ {
		fmt.Fprintf(&many, `, "p%d": {}`, i)
	}
	many.WriteString(`}}`)
	for _, tc := range []struct {
		name, doc string
		rules     bool
		err       string
	}{
		{"a rule", `{"properties": {"e": {"x-accord-pii": {"class": "restricted", "action": "drop"}}}}`, true, ""},
		{"an escaped rule", `{"properties": {"e": {"x-accord-p\u0069i": {"class": "restricted", "action": "drop"}}}}`, true, ""},
		{"a $ref to nothing", `{"properties": {"e": {"$ref": "#/definitions/nowhere"}}}`, false, "names nothing"},
		{"not JSON", `{"properties": `, false, "read the contract's schema"},
		{"a number beyond float64", `{"properties": {"n": {"maximum": 1E700}}}`, false, "read the contract's schema"},
		{"a number of 309 digits", `{"maximum": ` + strings.Repeat("9", 309) + `}`, false, "read the contract's schema"},
		{"too many schemas", many.String(), false, "more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if withoutRules([]byte(tc.doc)) {
				t.Fatal("the shortcut passes it")
			}
			r, err := Compile([]byte(tc.doc))
			if (r != nil) != tc.rules || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("Compile = %v, %v; want rules %v, error with %q", r, err, tc.rules, tc.err)
			}
		})
	}
}

// BenchmarkCompileNoRules is reading the rules of a contract that has none,
// as accord serve does for every contract at start: Compile, and the
// decoding and walking its shortcut spares.
func BenchmarkCompileNoRules(b *testing.B) {
	doc := fmt.Appendf(nil, `{
	"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
	"self": {"vendor": "com.vendor1", "name": "event_1", "format": "jsonschema", "version": "1-0-0"},
	"type": "object",
	"properties": {"id": {"type": "string", "maxLength": 64}, "n": {"type": "integer", "minimum": 0}},
	"required": ["id"],
	"additionalProperties": false
}`)
	for _, bc := range []struct {
		name    string
		compile func([]byte) (*Rules, error)
	}{{"Compile", Compile}, {"decoded", compileDoc}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if r, err := bc.compile(doc); r != nil || err != nil {
					b.Fatal(r, err)
				}
			}
		})
	}
}
