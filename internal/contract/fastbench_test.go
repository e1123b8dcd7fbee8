package contract

import (
	"fmt"
	"strings"
	"testing"
)

// fastBenchCases are contracts of each keyword family the compiled
// validator covers, with a valid and an invalid event each. Before it
// covered them, every such event went to the stock validator.
var fastBenchCases = []struct {
	name, schema, valid, invalid string
}{
	{"OneOf", `"$schema":"` + IgluMetaSchemaURI + `","type":"object","properties":{"payment":{"oneOf":[` +
		`{"type":"object","properties":{"card":{"type":"string","pattern":"^[0-9]{4}$"}},"required":["card"],"additionalProperties":false},` +
		`{"type":"object","properties":{"iban":{"type":"string","minLength":15}},"required":["iban"],"additionalProperties":false}]},` +
		`"amount":{"type":"number","minimum":0}},"required":["payment","amount"]`,
		`{"payment":{"card":"1234"},"amount":12.5}`,
		`{"payment":{"card":"1234","iban":"DE89370400440532013000"},"amount":12.5}`},
	{"AnyOfNullable", `"$schema":"` + IgluMetaSchemaURI + `","type":"object","properties":{` +
		`"a":{"anyOf":[{"type":"null"},{"type":"string","maxLength":100}]},"b":{"anyOf":[{"type":"null"},{"type":"string","maxLength":100}]},` +
		`"c":{"anyOf":[{"type":"null"},{"type":"integer","minimum":0}]},"d":{"anyOf":[{"type":"null"},{"type":"boolean"}]}},"additionalProperties":false`,
		`{"a":"first","b":null,"c":42,"d":true}`,
		`{"a":"first","b":null,"c":-1,"d":true}`},
	{"IfThenElse", `"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"kind":{"enum":["card","bank"]},` +
		`"card":{"type":"string"},"iban":{"type":"string"}},"required":["kind"],` +
		`"if":{"properties":{"kind":{"const":"card"}}},"then":{"required":["card"]},"else":{"required":["iban"]}`,
		`{"kind":"card","card":"4111"}`,
		`{"kind":"bank","card":"4111"}`},
	{"PatternProperties", `"$schema":"` + IgluMetaSchemaURI + `","type":"object","patternProperties":{"^x_[a-z]+$":{"type":"string"},"^n_":{"type":"number"}},"additionalProperties":false`,
		`{"x_source":"web","x_medium":"email","x_campaign":"winter","n_score":4.5,"n_rank":3}`,
		`{"x_source":"web","x_medium":"email","x_campaign":"winter","n_score":"high","n_rank":3}`},
	{"IgluNestedArrays", `"$schema":"` + IgluMetaSchemaURI + `","type":"object","properties":{` +
		`"id":{"type":"string","maxLength":255},"currency":{"type":"string","pattern":"^[A-Z]{3}$"},"created":{"type":"string","format":"date-time"},` +
		`"products":{"type":"array","items":{"type":"object","properties":{"id":{"type":"string","maxLength":255},"name":{"type":["string","null"]},` +
		`"price":{"type":"number","minimum":0,"multipleOf":0.01},"quantity":{"type":["integer","null"],"minimum":0},` +
		`"category":{"type":"string","enum":["shoes","shirts","hats"]}},"required":["id","price"],"additionalProperties":false}}},` +
		`"required":["id","products"],"additionalProperties":false`,
		`{"id":"o-1","currency":"EUR","created":"2026-11-25T10:00:00Z","products":[{"id":"p-1","name":"Trail runner","price":89.95,"quantity":1,"category":"shoes"},` +
			`{"id":"p-2","name":null,"price":19.9,"quantity":2,"category":"hats"},{"id":"p-3","price":5,"quantity":null,"category":"shirts"}]}`,
		`{"id":"o-1","currency":"EUR","created":"2026-11-25T10:00:00Z","products":[{"id":"p-1","name":"Trail runner","price":89.95,"quantity":1,"category":"shoes"},` +
			`{"id":"p-2","name":null,"quantity":2,"category":"hats"},{"id":"p-3","price":5,"quantity":null,"category":"shirts"}]}`},
}

// BenchmarkValidateJSONKeywords is ValidateJSON on each keyword family's
// contract, for a valid event (decided from the bytes) and an invalid one
// (decided from the bytes, then decoded for the stock validator's messages).
func BenchmarkValidateJSONKeywords(b *testing.B) {
	for _, tc := range fastBenchCases {
		doc := `{"self":{"vendor":"com.acme","name":"bench","format":"jsonschema","version":"1-0-0"},` + tc.schema + `}`
		c, err := Compile([]byte(doc), Key{}, "bench")
		if err != nil {
			b.Fatal(err)
		}
		for _, ev := range []struct {
			name, data string
			valid      bool
		}{{"Valid", tc.valid, true}, {"Invalid", tc.invalid, false}} {
			b.Run(tc.name+"/"+ev.name, func(b *testing.B) {
				data := []byte(ev.data)
				b.ReportAllocs()
				for b.Loop() {
					msgs, err := c.ValidateJSON(data, "/data")
					if err != nil || (msgs == nil) != ev.valid {
						b.Fatal(msgs, err)
					}
				}
			})
		}
	}
}

// BenchmarkNewFastNames is building the member-name table of an object
// schema of n property names, as compiling a contract does for each
// object schema in it. Most sets of names try several seeds before one
// gives each name a slot of its own; names that differ only in bytes the
// slot is not chosen from (unread) find none, and every seed is tried
// before the table settles for probing.
func BenchmarkNewFastNames(b *testing.B) {
	for _, family := range []string{"words", "numbered", "unread"} {
		for _, n := range []int{4, 12, 24, 48} {
			m := fastNamesOf(family, n)
			b.Run(fmt.Sprintf("%s/%d", family, n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					newFastNames(m)
				}
			})
		}
	}
}

// BenchmarkFastNamesShort is finding a member name of at most sixteen
// bytes by its words, as the member loop does, one name an op, the
// table's names in turn: names that differ only in a digit (numbered:
// property_0, ...) against words.
func BenchmarkFastNamesShort(b *testing.B) {
	for _, family := range []string{"words", "numbered"} {
		for _, n := range []int{10, 24} {
			m := fastNamesOf(family, n)
			names := newFastNames(m)
			type key struct {
				w0, w1 uint64
				n      int
			}
			var keys [64]key
			i := 0
			for name := range m {
				w0, w1, _ := nameWords(name)
				keys[i] = key{w0, w1, len(name)}
				i++
			}
			for j := i; j < len(keys); j++ {
				keys[j] = keys[j%i]
			}
			b.Run(fmt.Sprintf("%s/%d", family, n), func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					k := &keys[i&(len(keys)-1)]
					if names.short(k.w0, k.w1, k.n) == nil {
						b.Fatal("a name of the table not found")
					}
				}
			})
		}
	}
}

// fastNamesOf is n property names as contracts name them: words, or
// numbered (property_0, property_1, ...); or names of 33 bytes that
// differ only in bytes 17 to 20, which nameSlot does not read (unread).
func fastNamesOf(family string, n int) map[string]fastMember {
	words := strings.Fields(`id name price quantity category currency created sku url title description email
		user_id session_id page_url referrer country city region postal_code latitude longitude timestamp status
		amount discount tax total shipping payment_method order_id product_id brand variant list position coupon
		affiliation step option label value action source medium campaign term content device_type os_version app_id`)
	m := map[string]fastMember{}
	for i := range n {
		name := words[i%len(words)]
		switch family {
		case "numbered":
			name = fmt.Sprintf("property_%d", i)
		case "unread":
			name = fmt.Sprintf("shared_prefix_of_%04d_name_suffix", i)
		}
		m[name] = fastMember{bit: uint64(i + 1)}
	}
	return m
}
