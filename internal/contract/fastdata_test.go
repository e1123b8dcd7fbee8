package contract

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/accord-events/accord/internal/jsonscan"
)

// checkOneWalk holds CheckData to the two walks it replaces, on raw as an
// event's data inside a body (a prefix and a suffix around it, as a
// decoder sees it): it must say ok exactly when the decoder's check
// (jsonscan.ValueIn from the data's root) reads the data without error and
// the compiled validator then finds those bytes valid; ok, it must end
// where the decoder's check ends, and the stock validator must find the
// data valid. Both with the bytes vouched for as UTF-8 (when they are)
// and without.
func checkOneWalk(t testing.TB, c *Contract, raw []byte) {
	t.Helper()
	const prefix, suffix = `{"schema":"iglu:x/y/jsonschema/1-0-0","data":`, `,"event_id":"e"}`
	body := append(append([]byte(prefix), raw...), suffix...)
	i := len(prefix)
	oldEnd, oldErr := jsonscan.ValueIn(body, i, 0)
	for _, vouch := range []bool{false, true} {
		if vouch && !utf8.Valid(body) {
			continue
		}
		budget := CheckBudget(len(body))
		end, ok := c.CheckData(body, i, vouch, &budget)
		old := oldErr == nil && c.validators().fast != nil && c.validators().fast.verdict(body[i:oldEnd]) == fastValid
		if ok != old {
			t.Fatalf("%s, utf8 vouched %v: CheckData says ok=%v for %q, the decoder's check and the compiled validator say %v (decoder: end %d, %v)",
				c.URI, vouch, ok, raw, old, oldEnd, oldErr)
		}
		if !ok {
			continue
		}
		if end != oldEnd {
			t.Fatalf("%s: CheckData ends %q at %d, the decoder's check at %d", c.URI, raw, end, oldEnd)
		}
		msgs, err := c.ValidateJSON(body[i:end], "/data")
		if err != nil || len(msgs) > 0 {
			t.Fatalf("%s: CheckData says %q is valid; ValidateJSON: %v, %v", c.URI, body[i:end], msgs, err)
		}
		value, err := DecodeValue(body[i:end])
		if err != nil {
			t.Fatalf("%s: CheckData says %q is valid, but it does not decode: %v", c.URI, body[i:end], err)
		}
		if err := c.validators().schema.Validate(value); err != nil {
			t.Fatalf("%s: CheckData says %q is valid; the stock validator: %v", c.URI, body[i:end], err)
		}
	}
}

// TestCheckDataEdges: what CheckData must leave to the decoder, each of
// which the decoder refuses (or the contract does), and the benchmark
// event, which it must decide.
func TestCheckDataEdges(t *testing.T) {
	c, err := Compile(benchDoc, Key{}, "bench")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		raw  string
		ok   bool
	}{
		{"the benchmark event", benchData, true},
		{"a repeated property", strings.Replace(benchData, `"brand":`, `"brand":"x","brand":`, 1), false},
		{"a repeated property spelled with an escape", strings.Replace(benchData, `"brand":`, `"br\u0061nd":"x","brand":`, 1), false},
		{"a repeated name the schema does not name", strings.Replace(benchData, `{`, `{"zz":1,"zz":2,`, 1), false},
		// The first name the schema does not name comes after named ones:
		// the walk goes on with names of its own, keeping what it saw.
		{"a named property repeated after an unnamed one", strings.Replace(benchData, `"brand":`, `"brand":"x","zz":1,"brand":`, 1), false},
		{"an unnamed name repeated after named ones", strings.Replace(benchData, `"brand":`, `"zz":1,"brand":"x","zz":2,"brand2":`, 1), false},
		{"a repeated name in a nested object", strings.Replace(benchData, `"dimensions":{`, `"dimensions":{"w":1,"w":1,`, 1), false},
		{"a number beyond float64", strings.Replace(benchData, `{`, `{"zz":1e400,`, 1), false},
		{"a trailing comma", strings.Replace(benchData, `}`, `,}`, 1), false},
		{"cut short", benchData[:len(benchData)-1], false},
		{"invalid against the contract", strings.Replace(benchData, `"currency":"EUR"`, `"currency":"eur"`, 1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkOneWalk(t, c, []byte(tc.raw))
			body := []byte(tc.raw)
			budget := CheckBudget(len(body))
			if _, ok := c.CheckData(body, 0, true, &budget); ok != tc.ok {
				t.Fatalf("CheckData says ok=%v, want %v", ok, tc.ok)
			}
		})
	}
}

// TestCheckDataDepth: data nested beyond jsonscan.MaxDepth from its root
// is not JSON to the decoder, so CheckData never vouches for it, whether
// the depth is reached in values the contract governs or in those it
// skips; one level less it decides.
func TestCheckDataDepth(t *testing.T) {
	doc := `{"$schema":"http://json-schema.org/draft-07/schema#","self":{"vendor":"com.example","name":"depth","format":"jsonschema","version":"1-0-0"},"type":"object","properties":{"a":{"type":"array","items":{"type":"array"}},"b":{}}}`
	c, err := Compile([]byte(doc), Key{}, "depth")
	if err != nil {
		t.Fatal(err)
	}
	for _, member := range []string{"a", "b"} {
		for _, depth := range []int{jsonscan.MaxDepth - 1, jsonscan.MaxDepth} {
			// The object is level 1, the member's arrays the rest.
			raw := `{"` + member + `":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}`
			checkOneWalk(t, c, []byte(raw))
			budget := CheckBudget(len(raw))
			_, ok := c.CheckData([]byte(raw), 0, true, &budget)
			if want := depth < jsonscan.MaxDepth; ok != want {
				t.Errorf("%s nested %d deep: ok=%v, want %v", member, depth+1, ok, want)
			}
		}
	}
}

// TestCheckDataBudget: the calls of one request share its budget; once it
// is spent CheckData says nothing, and the decoder reads the rest as
// before.
func TestCheckDataBudget(t *testing.T) {
	c, err := Compile(benchDoc, Key{}, "bench")
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(benchData)
	budget := 1
	if _, ok := c.CheckData(body, 0, true, &budget); !ok {
		t.Fatal("a contract without in-place applicators needs no budget; CheckData said nothing")
	}
	budget = 0
	if _, ok := c.CheckData(body, 0, true, &budget); ok {
		t.Fatal("CheckData vouched with its budget spent")
	}
}

// FuzzCheckData generates events for a real contract from the fuzz bytes
// (as FuzzDiffSnowplowSchemas does: mostly valid, pushed over the schema's
// edges: repeated names, escapes, deep nesting, numbers beyond float64) and
// holds CheckData to the decoder's check and the validator it replaces.
func FuzzCheckData(f *testing.F) {
	contracts := loadDiffContracts(f)
	docs := make([]any, len(contracts))
	for i, c := range contracts {
		docs[i] = contractDocument(f, c)
	}
	for i := range contracts {
		f.Add(uint16(i), []byte{})
		f.Add(uint16(i), []byte{0, 1, 2, 3, 0, 0, 0, 11, 4, 3, 2, 1, 0, 255, 0, 7})
	}
	f.Fuzz(func(t *testing.T, which uint16, data []byte) {
		i := int(which) % len(contracts)
		src := &fuzzSource{b: data}
		for range 3 {
			checkOneWalk(t, contracts[i], newInstGen(src, docs[i]).instance())
			if src.i >= len(src.b) {
				break
			}
		}
	})
}

// FuzzCheckDataRawBytes: the fuzz bytes as the data, for a real contract.
func FuzzCheckDataRawBytes(f *testing.F) {
	contracts := loadDiffContracts(f)
	for i, c := range contracts {
		src := &fuzzSource{}
		f.Add(uint16(i), newInstGen(src, contractDocument(f, c)).instance())
	}
	for i, s := range fastSeeds {
		f.Add(uint16(i*7), []byte(s))
		f.Add(uint16(len(contracts)-1), []byte(s))
	}
	f.Add(uint16(len(contracts)-1), bytes.Replace([]byte(benchData), []byte(`"brand":`), []byte(`"brand":1,"brand":`), 1))
	// Names read by their words (checkNamedMembers): a byte that ends
	// the plain ASCII at each place of the first and second word, names
	// of 7, 8, 15 and 16 bytes, a name at the very end of the data; for
	// the benchmark's contract.
	bench := uint16(len(contracts) - 1)
	for i, c := range contracts {
		if strings.Contains(c.URI, "product_viewed") {
			bench = uint16(i)
		}
	}
	for _, edit := range [][2]string{
		{`"product_id":`, `"product\u005fid":`}, {`"product_id":`, "\"product\xc3\xa9d\":"}, {`"product_id":`, "\"produc\xfft_id\":"},
		{`"currency":`, "\"currenc\xc3\xbd\":"}, {`"currency":`, `"currenc\"":`}, {`"variant":`, `"variant\u0000":`},
		{`"viewed_at":`, `"viewed_at_and_more":`}, {`"in_stock":`, `"in_stock_12345678":`}, {`"height":30}`, `"height":30,"h":1}`},
		{`"height":30}`, `"heightheightheig":30}`}, {`"height":30}`, `"width":30}`}, {`{"product_id"`, `{"product_id":"x","product_id"`},
	} {
		f.Add(bench, bytes.Replace([]byte(benchData), []byte(edit[0]), []byte(edit[1]), 1))
	}
	f.Add(bench, []byte(`{"sku":"A","price":1,"currency":"EUR","product_id":"p"}`))
	f.Add(bench, []byte(`{"currency":"EUR","price":1,"sku":"A","product_id":"p"}`))
	f.Fuzz(func(t *testing.T, which uint16, data []byte) {
		checkOneWalk(t, contracts[int(which)%len(contracts)], data)
	})
}

// TestCheckDataMemberNames: member names read by their words
// (checkNamedMembers) are found exactly. A contract names properties of
// every length up to 17 bytes, each an integer, and allows no other; an
// event names one of them with every interesting byte at every place,
// escaped or not, in a body that ends right after it or goes on. CheckData
// must say ok exactly when the stock validator finds the data valid, but
// for names with an escape or bytes beyond ASCII, which it may leave to
// the decoder; and never ok for data that is not JSON.
func TestCheckDataMemberNames(t *testing.T) {
	var props []string
	names := map[string]bool{}
	for n := 0; n <= 17; n++ {
		name := "abcdefghijklmnopq"[:n]
		names[name] = true
		props = append(props, fmt.Sprintf("%q:{\"type\":\"integer\"}", name))
	}
	doc := `{"self":{"vendor":"com.acme","name":"names","format":"jsonschema","version":"1-0-0"},"type":"object",` +
		`"properties":{` + strings.Join(props, ",") + `,"caf\u00e9":{"type":"integer"},"\u0000":{"type":"integer"}},"additionalProperties":false}`
	c, err := Compile([]byte(doc), Key{}, "names")
	if err != nil {
		t.Fatal(err)
	}
	if c.validators().fast == nil {
		t.Fatal("no compiled validator")
	}
	pieces := []string{"a", "q", "r", "A", "\"", "\\\"", "\\\\", "\\u0061", "\\u0000", "\x1f", "\x7f", "\xc3\xa9", "\xe9", "\xff", "é", " "}
	for n := 0; n <= 17; n++ {
		for pos := 0; pos <= n; pos++ {
			for _, piece := range pieces {
				name := "abcdefghijklmnopq"[:pos] + piece + "abcdefghijklmnopq"[min(pos+1, n):n]
				for _, rest := range []string{``, `,"b":2`, `,"abcdefghijklmnop":3,"abcdefgh":4`} {
					raw := []byte(`{"` + name + `":1` + rest + `}`)
					checkOneWalk(t, c, raw)
					budget := CheckBudget(len(raw))
					for _, vouch := range []bool{false, true} {
						if vouch && !utf8.Valid(raw) {
							continue
						}
						end, ok := c.CheckData(raw, 0, vouch, &budget)
						valueEnd, syntaxErr := jsonscan.ValueIn(raw, 0, 0)
						if syntaxErr != nil || valueEnd != len(raw) {
							if ok {
								t.Fatalf("CheckData(%q) is ok, but it is not JSON: %v", raw, syntaxErr)
							}
							continue
						}
						value, err := DecodeValue(raw)
						if err != nil {
							t.Fatal(err)
						}
						valid := c.validators().schema.Validate(value) == nil
						plain := !strings.ContainsAny(name, "\\") && utf8.ValidString(name) && !strings.ContainsFunc(name, func(r rune) bool { return r >= 0x80 })
						if ok && (!valid || end != len(raw)) || !ok && valid && plain {
							t.Fatalf("CheckData(%q, vouched %v) = %d, %v; the stock validator says valid %v", raw, vouch, end, ok, valid)
						}
					}
				}
			}
		}
	}
}
