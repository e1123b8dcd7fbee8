package contract

import (
	"fmt"
	"strings"
	"testing"
)

// Drafts as contracts declare them: Iglu's meta-schema (draft 4), the
// JSON Schema drafts, and none (the loader's default, 2020-12).
const (
	iglu  = IgluMetaSchemaURI
	d4    = "http://json-schema.org/draft-04/schema#"
	d6    = "http://json-schema.org/draft-06/schema#"
	d7    = "http://json-schema.org/draft-07/schema#"
	d2019 = "https://json-schema.org/draft/2019-09/schema"
	d2020 = "https://json-schema.org/draft/2020-12/schema"
)

// compileKeyword compiles body (a schema's members, without braces) as a
// contract of the draft named by meta ("" for none).
func compileKeyword(t testing.TB, meta, body string) *Contract {
	t.Helper()
	doc := `{"self":{"vendor":"com.acme","name":"kw","format":"jsonschema","version":"1-0-0"}`
	if meta != "" {
		doc += `,"$schema":"` + meta + `"`
	}
	if body != "" {
		doc += "," + body
	}
	c, err := Compile([]byte(doc+"}"), Key{}, "kw")
	if err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return c
}

const (
	okV = fastValid
	okI = fastInvalid
	okU = fastUnsure
)

// fastKeywordCases: per keyword family, schemas and events with the verdict
// the fast path must give; each verdict is also held to the stock
// validator's.
var fastKeywordCases = []struct {
	name, meta, body string
	data             map[string]fastVerdict
}{
	{"allOf", iglu, `"allOf":[{"type":"object","required":["a"]},{"properties":{"a":{"type":"integer"}}}]`, map[string]fastVerdict{
		`{"a":1}`: okV, `{"a":"x"}`: okI, `{}`: okI, `[]`: okI}},
	{"anyOf nullable union", iglu, `"properties":{"a":{"anyOf":[{"type":"null"},{"type":"string","maxLength":3}]}}`, map[string]fastVerdict{
		`{"a":null}`: okV, `{"a":"abc"}`: okV, `{"a":"abcd"}`: okI, `{"a":1}`: okI, `{}`: okV}},
	{"type list nullable", iglu, `"properties":{"a":{"type":["string","null"],"format":"date"}}`, map[string]fastVerdict{
		`{"a":null}`: okV, `{"a":"2026-01-31"}`: okV, `{"a":"2026-02-31"}`: okI, `{"a":true}`: okI}},
	{"oneOf", iglu, `"oneOf":[{"type":"object","required":["a"]},{"type":"object","required":["b"]}]`, map[string]fastVerdict{
		`{"a":1}`: okV, `{"b":1}`: okV, `{"a":1,"b":1}`: okI, `{}`: okI, `1`: okI}},
	{"oneOf with unsure branch", d2020, `"oneOf":[{"type":"string"},{"unevaluatedProperties":false}]`, map[string]fastVerdict{
		`"x"`: okU, `{"a":1}`: okU, `1`: okU}},
	{"not", iglu, `"not":{"type":"string"}`, map[string]fastVerdict{`1`: okV, `"x"`: okI, `null`: okV}},
	{"if then else", d7, `"if":{"properties":{"kind":{"const":"a"}}},"then":{"required":["x"]},"else":{"required":["y"]}`, map[string]fastVerdict{
		`{"kind":"a","x":1}`: okV, `{"kind":"a","y":1}`: okI, `{"kind":"b","y":1}`: okV, `{"kind":"b","x":1}`: okI, `{"y":1}`: okI, `"s"`: okV}},
	{"if is ignored in draft 4", iglu, `"if":{"type":"string"},"then":false`, map[string]fastVerdict{`"x"`: okV}},
	{"patternProperties", iglu, `"patternProperties":{"^n_":{"type":"number"},"_s$":{"type":"string"}},"additionalProperties":false`, map[string]fastVerdict{
		`{"n_a":1,"b_s":"x"}`: okV, `{"n_a":"x"}`: okI, `{"other":1}`: okI, `{"n_s":1}`: okI, `{}`: okV, `{"n_\u0061":1}`: okV, `{"n_\u0061":"x"}`: okI}},
	{"additionalProperties schema", iglu, `"properties":{"a":{}},"additionalProperties":{"type":"integer"}`, map[string]fastVerdict{
		`{"a":"x","b":2}`: okV, `{"b":"x"}`: okI, `{"\u0061":"x"}`: okV}},
	{"dependencies", iglu, `"dependencies":{"card":["billing"],"vip":{"required":["level"]}}`, map[string]fastVerdict{
		`{"card":1,"billing":2}`: okV, `{"card":1}`: okI, `{"vip":true,"level":1}`: okV, `{"vip":true}`: okI, `{}`: okV}},
	{"dependentRequired and dependentSchemas", d2019, `"dependentRequired":{"card":["billing"]},"dependentSchemas":{"vip":{"properties":{"level":{"minimum":3}}}}`, map[string]fastVerdict{
		`{"card":1,"billing":2}`: okV, `{"card":1}`: okI, `{"vip":1,"level":3}`: okV, `{"vip":1,"level":2}`: okI, `{"level":2}`: okV}},
	{"dependentRequired is ignored in draft 7", d7, `"dependentRequired":{"card":["billing"]}`, map[string]fastVerdict{`{"card":1}`: okV}},
	{"propertyNames unsure beside a property", d2019, `"properties":{"a":{"type":"integer"}},"propertyNames":{"not":{"unevaluatedItems":false}}`, map[string]fastVerdict{
		`{"a":1}`: okU, `{"a":"x"}`: okI}},
	{"propertyNames", d7, `"propertyNames":{"pattern":"^[a-z]+$","maxLength":4}`, map[string]fastVerdict{
		`{"abc":1}`: okV, `{"ABC":1}`: okI, `{"abcde":1}`: okI, `{"\u0061b":1}`: okV, `1`: okV}},
	{"min and max properties", iglu, `"minProperties":1,"maxProperties":2`, map[string]fastVerdict{`{"a":1}`: okV, `{}`: okI, `{"a":1,"b":2,"c":3}`: okI}},
	{"uniqueItems", iglu, `"uniqueItems":true`, map[string]fastVerdict{
		`[1,2,3]`: okV, `[1,2,1]`: okI, `[1,1.0]`: okI, `[1,"1"]`: okV, `["a","\u0061"]`: okI, `[{"a":1},{"a":1}]`: okI, `[{"a":1},{"a":2}]`: okU,
		`[true,false,null]`: okV, `[null,null]`: okI, `[` + strings.Repeat("1,", maxUniqueItems) + `2]`: okU, `[]`: okV}},
	{"contains", d7, `"contains":{"type":"integer","minimum":5}`, map[string]fastVerdict{`[1,5]`: okV, `[1,2]`: okI, `[]`: okI, `"x"`: okV}},
	{"min and max contains", d2019, `"contains":{"const":1},"minContains":2,"maxContains":3`, map[string]fastVerdict{
		`[1,1]`: okV, `[1,2]`: okI, `[1,1,1,1]`: okI, `[1,1.0,1e0]`: okV}},
	{"items tuple and additionalItems", d7, `"items":[{"type":"string"},{"type":"integer"}],"additionalItems":false`, map[string]fastVerdict{
		`["a",1]`: okV, `["a"]`: okV, `[1]`: okI, `["a",1,2]`: okI}},
	{"items tuple and additionalItems schema", iglu, `"items":[{"type":"string"}],"additionalItems":{"type":"boolean"}`, map[string]fastVerdict{
		`["a",true,false]`: okV, `["a",1]`: okI}},
	{"prefixItems", d2020, `"prefixItems":[{"type":"string"}],"items":{"type":"integer"}`, map[string]fastVerdict{
		`["a",1,2]`: okV, `["a","b"]`: okI, `[1]`: okI}},
	{"min and max items", iglu, `"items":{"type":"integer"},"minItems":1,"maxItems":2`, map[string]fastVerdict{`[1]`: okV, `[]`: okI, `[1,2,3]`: okI}},
	{"multipleOf", iglu, `"multipleOf":0.01`, map[string]fastVerdict{
		`1.23`: okV, `1.234`: okI, `100`: okV, `0`: okV, `-0.05`: okV, `1e-3`: okI, `1.5e2`: okV, `12345678901234567890.5`: okU}},
	{"multipleOf integer", iglu, `"multipleOf":7`, map[string]fastVerdict{`14`: okV, `15`: okI, `1.4e1`: okV, `0.7`: okI, `7e20`: okV}},
	{"bounds", iglu, `"minimum":-1.5,"maximum":100,"exclusiveMaximum":true`, map[string]fastVerdict{
		`-1.5`: okV, `-1.50001`: okI, `99.999999999999999999`: okV, `100`: okI, `1e2`: okI, `0`: okV}},
	{"exclusive bounds draft 6", d6, `"exclusiveMinimum":0,"maximum":1e3`, map[string]fastVerdict{`0`: okI, `0.0000001`: okV, `1000`: okV, `1000.1`: okI}},
	// Integer bounds and fractions: decided by the fraction's floor.
	{"integer bounds, fractions", iglu, `"type":"number","minimum":-3,"maximum":5`, map[string]fastVerdict{
		`-3.0`: okV, `-3.000001`: okI, `-2.5`: okV, `-0.0`: okV, `4.999`: okV, `5.000`: okV, `5.0001`: okI, `89.95`: okI, `-123456789012345.5`: okI, `1234567890123456.5`: okI}},
	{"exclusive integer bounds, fractions", d6, `"type":["number","null"],"exclusiveMinimum":-3,"exclusiveMaximum":5`, map[string]fastVerdict{
		`-3.0`: okI, `-2.9999`: okV, `-3.5`: okI, `4.999`: okV, `5.0`: okI, `4.0`: okV, `0.5`: okV, `-0.5`: okV}},
	{"integer", iglu, `"type":"integer"`, map[string]fastVerdict{`1`: okV, `1.0`: okV, `1.5`: okI, `1e2`: okV, `1.55e1`: okI, `"1"`: okI, `-0.0`: okV}},
	{"enum of any value", iglu, `"enum":[1,"a",null,{"x":[1,2]},[true]]`, map[string]fastVerdict{
		`1`: okV, `1.0`: okV, `10e-1`: okV, `2`: okI, `"a"`: okV, `"\u0061"`: okV, `"b"`: okI, `null`: okV, `{"x":[1,2]}`: okV, `{"x":[1.0,2]}`: okV,
		`{"x":[2,1]}`: okI, `{"x":[1,2],"y":1}`: okI, `{}`: okI, `[true]`: okV, `[false]`: okI, `[true,true]`: okI, `false`: okI}},
	{"const object", d6, `"const":{"a":1,"b":"x"}`, map[string]fastVerdict{`{"b":"x","a":1}`: okV, `{"a":1}`: okI, `{"a":1,"b":"y"}`: okI, `1`: okI,
		// A repeated name: as many members as the constant, yet "b" never
		// comes; the stock validator keeps one "a" and refuses it.
		`{"a":1,"a":1}`: okU, `{"a":1,"a":1,"b":"x"}`: okU}},
	{"const is ignored in draft 4", iglu, `"const":1`, map[string]fastVerdict{`2`: okV}},
	{"$ref to definitions", iglu, `"definitions":{"pos":{"type":"integer","minimum":1}},"properties":{"n":{"$ref":"#/definitions/pos"},"m":{"$ref":"#/properties/n"}}`, map[string]fastVerdict{
		`{"n":1,"m":2}`: okV, `{"n":0}`: okI, `{"m":"x"}`: okI}},
	{"$ref hides its siblings in draft 4", iglu, `"definitions":{"s":{"type":"string"}},"properties":{"a":{"$ref":"#/definitions/s","maxLength":1}}`, map[string]fastVerdict{
		`{"a":"long"}`: okV, `{"a":1}`: okI}},
	{"$ref beside const in draft 7", d7, `"definitions":{"s":{"type":"string"}},"properties":{"a":{"$ref":"#/definitions/s","const":"x","maxLength":0}}`, map[string]fastVerdict{
		`{"a":"x"}`: okV, `{"a":"y"}`: okI}},
	{"$ref beside siblings in 2020-12", d2020, `"$defs":{"s":{"type":"string"}},"properties":{"a":{"$ref":"#/$defs/s","maxLength":1}}`, map[string]fastVerdict{
		`{"a":"x"}`: okV, `{"a":"long"}`: okI, `{"a":1}`: okI}},
	{"recursive $ref", iglu, `"type":"object","properties":{"name":{"type":"string"},"children":{"type":"array","items":{"$ref":"#"}}},"required":["name"]`, map[string]fastVerdict{
		`{"name":"a","children":[{"name":"b","children":[]}]}`: okV, `{"name":"a","children":[{"children":[]}]}`: okI}},
	{"$ref cycle in place", iglu, `"definitions":{"a":{"anyOf":[{"type":"string"},{"$ref":"#/definitions/a"}]}},"properties":{"x":{"$ref":"#/definitions/a"}}`, map[string]fastVerdict{
		`{"x":"s"}`: okV, `{"x":1}`: okU}},
	{"unevaluatedProperties leaves only its subschema", d2020, `"properties":{"a":{"type":"string"},"b":{"unevaluatedProperties":false}}`, map[string]fastVerdict{
		`{"a":"x"}`: okV, `{"a":1}`: okI, `{"a":"x","b":{}}`: okU}},
	{"strings", iglu, `"type":"string","minLength":2,"maxLength":3,"pattern":"^[a-z]+$"`, map[string]fastVerdict{
		`"ab"`: okV, `"a"`: okI, `"abcd"`: okI, `"AB"`: okI, `"\u0061b"`: okV, `"\u0041b"`: okI, `"é"`: okI, "\"a\xff\"": okU}},
	{"format", iglu, `"format":"email"`, map[string]fastVerdict{`"a@b.co"`: okV, `"nope"`: okI, `1`: okV, `"\u0061@b.co"`: okV}},
	{"false and true schemas", d7, `"properties":{"no":false,"yes":true}`, map[string]fastVerdict{`{"yes":1}`: okV, `{"no":1}`: okI}},
	{"nested arrays of objects", iglu, `"type":"object","properties":{"items":{"type":"array","items":{"type":"object","properties":{"sku":{"type":"string"},"qty":{"type":"integer","minimum":1}},"required":["sku"],"additionalProperties":false}}}`, map[string]fastVerdict{
		`{"items":[{"sku":"a","qty":1},{"sku":"b"}]}`: okV, `{"items":[{"sku":"a","qty":0}]}`: okI, `{"items":[{"qty":1}]}`: okI, `{"items":[{"sku":"a","x":1}]}`: okI}},
}

func TestFastPathKeywords(t *testing.T) {
	for _, tc := range fastKeywordCases {
		t.Run(tc.name, func(t *testing.T) {
			c := compileKeyword(t, tc.meta, tc.body)
			for data, want := range tc.data {
				if got := c.validators().fast.verdict([]byte(data)); got != want {
					t.Errorf("%s: %s, want %s", data, got, want)
				}
				checkFastAgrees(t, c, []byte(data))
			}
		})
	}
}

// A oneOf of oneOfs, recursive through $ref, reads each value once per
// branch at every level: exponential in the event's nesting. The walk's
// budget cuts it at a small multiple of the event's size, and says unsure.
func TestFastPathBoundsRereading(t *testing.T) {
	c := compileKeyword(t, iglu, `"oneOf":[{"type":"array","items":{"$ref":"#"}},{"type":"array","items":{"$ref":"#"},"maxItems":5},{"type":"integer"}]`)
	for _, depth := range []int{1, 3, 30, 3000} {
		data := []byte(strings.Repeat("[", depth) + "1" + strings.Repeat("]", depth))
		w := fastWalk{budget: len(data)*fastBudgetPerByte + fastBudgetBase}
		_, v := c.validators().fast.check(&w, data, 0)
		spent := len(data)*fastBudgetPerByte + fastBudgetBase - w.budget
		if spent > 2*(len(data)*fastBudgetPerByte+fastBudgetBase) {
			t.Errorf("depth %d: spent %d of a budget of %d", depth, spent, len(data)*fastBudgetPerByte+fastBudgetBase)
		}
		if depth == 1 && v != fastInvalid {
			t.Errorf("depth 1: %s, want invalid (both array branches hold)", v)
		}
		if depth >= 30 && v != fastUnsure {
			t.Errorf("depth %d: %s, want unsure", depth, v)
		}
	}
}

// fastKeywordSeeds are the keyword cases' events, for FuzzFastKeywords.
func fastKeywordSeeds() []string {
	var out []string
	for _, tc := range fastKeywordCases {
		for data := range tc.data {
			out = append(out, data)
		}
	}
	return out
}

// FuzzFastKeywords holds every keyword case's contract to the stock
// validator on any event.
func FuzzFastKeywords(f *testing.F) {
	for i, s := range fastKeywordSeeds() {
		f.Add(uint8(i), []byte(s))
	}
	contracts := make([]*Contract, len(fastKeywordCases))
	for i, tc := range fastKeywordCases {
		contracts[i] = compileKeyword(f, tc.meta, tc.body)
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		c := contracts[int(which)%len(contracts)]
		defer func() {
			if r := recover(); r != nil {
				panic(fmt.Sprintf("%s on %q: %v", fastKeywordCases[int(which)%len(contracts)].name, data, r))
			}
		}()
		checkFastAgrees(t, c, data)
	})
}
