package contract

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/jsonscan"
)

// fastContracts are the contracts the fast path is held to: the examples
// accord init writes, the benchmark's, and the drafts testdata.
func fastContracts(t testing.TB) []*Contract {
	t.Helper()
	var out []*Contract
	for _, dir := range []string{"../scaffold/template/contracts", "testdata/contracts"} {
		cs, _, err := LoadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, cs...)
	}
	c, err := Compile(benchDoc, Key{}, "bench")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, c)
}

var fastSeeds = []string{
	benchData,
	`{"order_id":"ord-1","total":25.5,"currency":"EUR","items":[{"sku":"sku-1","quantity":2,"price":12.75}],"coupon":null}`,
	`{"order_id":"","total":-1,"currency":"eur","items":[]}`,
	`{"url":"https://shop.example/","title":"Home","referrer":null}`,
	`{"url":"not a url","title":42}`,
	`{"id":"user-1","plan":"pro"}`, `{"id":"user-1","plan":"gold"}`, `{"id":""}`,
	`{"n": 1}`, `{"n": 0}`, `{"n": 10}`, `{"n": 11}`, `{"n": 1.0}`, `{"n": 1e2}`, `{"n": 12345678901234567890}`,
	`{"n": 2, "tags": ["a"]}`, `{"n": 7, "when": "2026-11-25T10:00:00Z"}`, `{"n": 7}`,
	`{"n": 3, "email": "a@b.co"}`, `{"n": 3, "email": "nope"}`, `{"n": 3, "email": "\u0061@b.co"}`,
	`{"product_id":"p","sku":"SKU-1","price":0,"currency":"EUR","rating":5.0000000000000001}`,
	`{"product_id":"p","sku":"SKU-1","price":-0.0,"currency":"EUR","dimensions":{"width":1,"depth":2}}`,
	`{"n": -0}`, `{"n": 1E2}`, `{"n": 1e999999}`, `{"n": -1.5E+400}`, `{"n": 1e-999999}`,
	`{"a":1,"a":2}`, `[]`, `null`, `"x"`, `{}`, `{"n":1}  `, `{"n":1}x`, `{"n":`, ``,
}

// The fast path may only say "valid" or "invalid" where the stock
// validator agrees; "unsure" is always allowed. Data that is not what the
// collector passes on (not JSON, or an object repeating a member name) may
// get any verdict but "valid".
func checkFastAgrees(t *testing.T, c *Contract, data []byte) {
	t.Helper()
	if c.validators().fast == nil {
		return
	}
	got := c.validators().fast.verdict(data)
	if got == fastUnsure {
		return
	}
	_, _, scanErr := jsonscan.Document(data, 0)
	if scanErr != nil && got == fastInvalid {
		return
	}
	v, err := DecodeValue(data)
	if err != nil {
		t.Fatalf("%s: fast path says %q is %s, but it is not JSON: %v", c.URI, data, got, err)
	}
	msgs := c.Validate(v, "")
	if got == fastValid && msgs != nil {
		t.Fatalf("%s: fast path says %q is valid; the validator says %+v", c.URI, data, msgs)
	}
	if got == fastInvalid && msgs == nil {
		t.Fatalf("%s: fast path says %q is invalid; the validator says it is valid", c.URI, data)
	}
}

func TestFastPathAgreesWithValidator(t *testing.T) {
	for _, c := range fastContracts(t) {
		for _, s := range fastSeeds {
			checkFastAgrees(t, c, []byte(s))
		}
	}
}

// The fast path must actually serve the contracts people write; if it
// silently stopped compiling them, every event would pay for decoding.
func TestFastPathCoversTypicalContracts(t *testing.T) {
	valid := map[string]string{
		"iglu:com.example/checkout_completed/jsonschema/1-0-0": fastSeeds[1],
		"iglu:com.example/page_view/jsonschema/1-0-0":          fastSeeds[3],
		"iglu:com.example/user/jsonschema/1-0-0":               fastSeeds[5],
		"iglu:com.example/product_viewed/jsonschema/1-0-0":     benchData,
		"iglu:com.acme/iglu/jsonschema/1-0-0":                  `{"n": 3, "email": "a@b.co"}`,
		"iglu:com.acme/d4/jsonschema/1-0-0":                    `{"n": 1}`,
	}
	for _, c := range fastContracts(t) {
		data, ok := valid[c.URI]
		if !ok {
			continue
		}
		if c.validators().fast == nil {
			t.Errorf("%s: no fast path compiled", c.URI)
			continue
		}
		if c.validators().fast.verdict([]byte(data)) != fastValid {
			t.Errorf("%s: fast path does not confirm valid %s", c.URI, data)
		}
	}
	// d7's if/then is decided on the fast path; d2020's root uses
	// unevaluatedProperties, which it leaves to the stock validator.
	for _, c := range fastContracts(t) {
		switch c.URI {
		case "iglu:com.acme/d7/jsonschema/1-0-0":
			for data, want := range map[string]fastVerdict{`{"n": 7, "when": "2026-11-25T10:00:00Z"}`: fastValid, `{"n": 7}`: fastInvalid, `{"n": 8}`: fastValid} {
				if got := c.validators().fast.verdict([]byte(data)); got != want {
					t.Errorf("%s on %s: %s, want %s", c.URI, data, got, want)
				}
			}
		case "iglu:com.acme/d2020/jsonschema/1-0-0":
			if got := c.validators().fast.verdict([]byte(`{"n": 1}`)); got != fastUnsure {
				t.Errorf("%s uses unevaluatedProperties at its root, yet the fast path says %s", c.URI, got)
			}
		}
	}
}

// The fast path reads numbers with jsonscan.Number: it confirms integers
// and numbers in every spelling, but leaves one beyond float64 (which the
// collector refuses as it reads event data) to the validator, never
// saying it is valid.
func TestFastPathNumbers(t *testing.T) {
	doc := []byte(`{"self":{"vendor":"com.acme","name":"numbers","format":"jsonschema","version":"1-0-0"},"type":"object","properties":{"n":{"type":"number"},"i":{"type":"integer"},"b":{"type":"number","maximum":10}}}`)
	c, err := Compile(doc, Key{}, "numbers")
	if err != nil {
		t.Fatal(err)
	}
	if c.validators().fast == nil {
		t.Fatal("no fast path compiled")
	}
	for data, want := range map[string]fastVerdict{
		`{"n":1}`: fastValid, `{"n":-2.5e-3}`: fastValid, `{"n":1E2}`: fastValid, `{"i":-0}`: fastValid, `{"i":42}`: fastValid,
		`{"b":9.5}`: fastValid, `{"b":1e1}`: fastValid, `{"i":1.0}`: fastValid, `{"i":1e2}`: fastValid, `{"i":12.5e-1}`: fastInvalid,
		`{"b":10.5}`: fastInvalid, `{"b":1e2}`: fastInvalid, `{"b":10.000000000000000000001}`: fastInvalid, `{"b":9.99999999999999999999}`: fastValid,
		`{"n":1e999999}`: fastUnsure, `{"n":-1E+400}`: fastUnsure, `{"i":` + strings.Repeat("9", 400) + `}`: fastUnsure,
	} {
		if got := c.validators().fast.verdict([]byte(data)); got != want {
			t.Errorf("fast path on %.40s: %s, want %s", data, got, want)
		}
		checkFastAgrees(t, c, []byte(data))
	}
}

// Integral bounds compare plain integers of up to 15 digits as int64s
// (bounds written as 1e3 included); longer ones, fractions and exponents
// go the decimal way, and every verdict agrees with the stock validator.
func TestFastPathIntegerBounds(t *testing.T) {
	doc := []byte(`{"self":{"vendor":"com.acme","name":"ints","format":"jsonschema","version":"1-0-0"},"type":"object","properties":{` +
		`"r":{"type":"integer","minimum":-5,"exclusiveMaximum":1e3},"x":{"exclusiveMinimum":-1,"maximum":999999999999999},` +
		`"f":{"minimum":0.5}}}`)
	c, err := Compile(doc, Key{}, "ints")
	if err != nil {
		t.Fatal(err)
	}
	property := func(name string) *fastNode {
		m, _ := c.validators().fast.names.find([]byte(name))
		return m.property
	}
	if r := property("r"); r == nil || !r.intBounds || r.intMin != -5 || r.intExMax != 1000 {
		t.Fatalf("r compiled as %+v", r)
	}
	if f := property("f"); f == nil || f.intBounds {
		t.Fatalf("f's bound 0.5 is no integer: %+v", f)
	}
	for data, want := range map[string]fastVerdict{
		`{"r":-5}`: fastValid, `{"r":-6}`: fastInvalid, `{"r":999}`: fastValid, `{"r":1000}`: fastInvalid, `{"r":-0}`: fastValid,
		`{"r":999.0}`: fastValid, `{"r":1e3}`: fastInvalid, `{"r":999.5}`: fastInvalid, `{"r":-123456789012345}`: fastInvalid,
		`{"x":-1}`: fastInvalid, `{"x":0}`: fastValid, `{"x":999999999999999}`: fastValid, `{"x":1000000000000000}`: fastInvalid,
		`{"x":-999999999999999}`: fastInvalid, `{"x":9999999999999999999999}`: fastInvalid,
		`{"f":0}`: fastInvalid, `{"f":1}`: fastValid,
	} {
		if got := c.validators().fast.verdict([]byte(data)); got != want {
			t.Errorf("fast path on %s: %s, want %s", data, got, want)
		}
		checkFastAgrees(t, c, []byte(data))
	}
}

// A schema's names are found by their table whatever their length, and
// names it does not name (the same length, first and last bytes included)
// are not.
func TestFastNames(t *testing.T) {
	m := map[string]fastMember{}
	for k := range 300 {
		m[strings.Repeat("a", k%7)+fmt.Sprint(k)+"z"] = fastMember{bit: uint64(k + 1)}
	}
	m[""] = fastMember{bit: 1000}
	names := newFastNames(m)
	for name, want := range m {
		if got, ok := names.find([]byte(name)); !ok || got != want {
			t.Fatalf("find(%q) = %v, %v; want %v", name, got, ok, want)
		}
	}
	for _, name := range []string{"a", "z", "0y", "a1z ", "aa9z\x00", "\u0061"} {
		if got, ok := names.find([]byte(name)); ok {
			t.Fatalf("find(%q) = %v: the schema does not name it", name, got)
		}
	}
	var empty fastNames
	if _, ok := empty.find(nil); ok {
		t.Fatal("an empty table found a name")
	}
	if empty.short(0, 0, 0) != nil {
		t.Fatal("an empty table found the empty name")
	}
}

// Building a table allocates its entries and its slots, and nothing for
// each size and seed tried that leaves two names in one slot: names that
// differ only in bytes nameSlot does not read find no seed that parts
// them and try all 48 (a scratch table more past 64 names).
func TestNewFastNamesAllocs(t *testing.T) {
	for _, family := range []string{"words", "numbered", "unread"} {
		for _, n := range []int{4, 12, 24, 48, 100} {
			m := fastNamesOf(family, n)
			want := 2.0
			if len(m) > 64 {
				want = 3
			}
			if got := testing.AllocsPerRun(20, func() { newFastNames(m) }); got > want {
				t.Errorf("%s, %d names: %v allocations, want %v", family, n, got, want)
			}
			names := newFastNames(m)
			if family == "unread" && names.perfect {
				t.Errorf("%d unread names: a seed parts them, so not every seed is tried", n)
			}
			checkSlotShift(t, &names)
		}
	}
}

// TestFastNamesWords: tables of every size up to 40 names, of every
// length up to 40 bytes, names that differ only past their first 16
// bytes, in a zero byte or in length, found by entry and (up to 16 bytes)
// by their words, as checkNamedMembers finds them; names the table does
// not hold are not found. Small tables are perfect: each name in its own
// slot.
func TestFastNamesWords(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	base := []string{"", "a", "a\x00", "a\x00\x00", "\x00", "product_id", "product_i", "product_idx", "dimensions",
		"1234567", "12345678", "123456789012345", "1234567890123456", "12345678901234567",
		"prefix_shared_by_many_a", "prefix_shared_by_many_b", "prefix_shared_by_many_ab", "caf\u00e9"}
	for size := 0; size <= 40; size++ {
		m := map[string]fastMember{}
		for k := 0; len(m) < size; k++ {
			var name string
			if k < len(base) {
				name = base[k]
			} else {
				buf := make([]byte, rng.IntN(41))
				for j := range buf {
					buf[j] = "az_0\x00\xff"[rng.IntN(6)]
				}
				name = string(buf)
			}
			m[name] = fastMember{bit: uint64(len(m) + 1)}
		}
		names := newFastNames(m)
		if size <= 16 && size > 0 && !names.perfect {
			t.Errorf("%d names: the table is not perfect", size)
		}
		checkSlotShift(t, &names)
		missing := append([]string{"b", "a\x01", "product_ie", "12345678901234568", "prefix_shared_by_many_c", "product_id\x00"}, base...)
		for name := range m {
			missing = append(missing, name+"x", "x"+name)
		}
		for _, name := range append(missing, func() (all []string) {
			for name := range m {
				all = append(all, name)
			}
			return all
		}()...) {
			want, named := m[name]
			e := names.entry([]byte(name))
			if (e != nil) != named || (named && (e.fastMember != want || e.name != name)) {
				t.Fatalf("%d names: entry(%q) = %+v; want %v, %v", size, name, e, want, named)
			}
			if len(name) <= 16 {
				w0, w1, _ := nameWords(name)
				if s := names.short(w0, w1, len(name)); s != e {
					t.Fatalf("%d names: short(%q) = %+v, entry %+v", size, name, s, e)
				}
			}
		}
	}
}

// Names a schema numbers or lines up, that differ only in a byte or two
// past the fourth, get a table with each name in its own slot: every
// byte nameSlot reads reaches the slot. (Taking the product's bits 32 and
// up dropped bytes 5-7 and 9-12 of a name for small tables: these shared
// a slot whatever the seed, and a lookup of one probed through the
// others.)
func TestFastNamesNumbered(t *testing.T) {
	numbered := func(format string, from, to int) []string {
		var names []string
		for i := from; i <= to; i++ {
			names = append(names, fmt.Sprintf(format, i))
		}
		return names
	}
	for _, tc := range []struct {
		name  string
		names []string
	}{
		{"property_N", numbered("property_%d", 0, 9)},
		{"item_N", numbered("item_%d", 1, 9)},
		{"address_lineN", numbered("address_line%d", 1, 3)},
		{"address_line1 and 2", []string{"address_line1", "address_line2"}},
		{"dimensionN", numbered("dimension%d", 1, 9)},
		{"metricN", numbered("metric%d", 1, 9)},
		{"custom_N", numbered("custom_%d", 1, 5)},
		{"fieldN", numbered("field%d", 1, 9)},
		{"param_N", numbered("param_%d", 1, 9)},
		{"line_N", numbered("line_%d", 1, 4)},
		{"phone_1 and 2", []string{"phone_1", "phone_2"}},
		{"image_url_N", numbered("image_url_%d", 1, 4)},
		{"se_property_N", numbered("se_property_%d", 1, 5)},
		{"property_NN", numbered("property_%d", 10, 25)},
		{"mixed", append(numbered("item_%d", 1, 4), "item_id", "item_name", "quantity", "price")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := map[string]fastMember{}
			for i, name := range tc.names {
				m[name] = fastMember{bit: uint64(i + 1)}
			}
			names := newFastNames(m)
			if !names.perfect {
				t.Errorf("%d names: the table is not perfect (%d slots): %q", len(m), len(names.slots), sharedSlots(&names))
			}
			checkSlotShift(t, &names)
			for name, want := range m {
				w0, w1, _ := nameWords(name)
				if e := names.short(w0, w1, len(name)); e == nil || e.fastMember != want {
					t.Errorf("short(%q) = %+v, want %v", name, e, want)
				}
			}
		})
	}
}

// Two names that differ in one byte that nameSlot reads (one of the first
// sixteen, or of the last eight) get a perfect table, for every length to
// 40 bytes, every such place and a few differences (one low bit, one high
// bit, a digit for another).
func TestFastNamesEveryByteCounts(t *testing.T) {
	for n := 1; n <= 40; n++ {
		for p := range n {
			if p >= 16 && p < n-8 {
				continue // not read: the whole name confirms a candidate
			}
			for _, d := range []byte{0x01, 0x80, '1' ^ '2'} {
				a := []byte(strings.Repeat("x", n))
				a[p] = '1'
				b := slices.Clone(a)
				b[p] ^= d
				m := map[string]fastMember{string(a): {bit: 1}, string(b): {bit: 2}}
				if names := newFastNames(m); !names.perfect {
					t.Errorf("%q and %q (differing in byte %d) share a slot for every seed", a, b, p)
				}
			}
		}
	}
}

// checkSlotShift fails the test unless names's slots are as many as its
// shift says: fastNames.at reads slots without a bounds check.
func checkSlotShift(t *testing.T, names *fastNames) {
	t.Helper()
	if len(names.slots) != 0 && len(names.slots) != 1<<(64-names.shift) {
		t.Fatalf("%d slots, shift %d: nameSlot's slots run past the table", len(names.slots), names.shift)
	}
}

// sharedSlots lists the names of t not in their own slot.
func sharedSlots(t *fastNames) []string {
	var out []string
	for _, e := range t.entries {
		w0, w1, tail := nameWords(e.name)
		if k := t.slots[nameSlot(w0, w1, tail, len(e.name), t.seed, t.shift)]; t.entries[k-1].name != e.name {
			out = append(out, e.name)
		}
	}
	return out
}

// Each member of the data is looked up once, for its property and for the
// required names it fills: required names that are not properties count
// as the validator counts them.
func TestFastPathRequired(t *testing.T) {
	self := `"self":{"vendor":"com.acme","name":"req","format":"jsonschema","version":"1-0-0"},`
	for _, tc := range []struct {
		schema string
		valid  map[string]bool
	}{
		{`{` + self + `"type":"object","properties":{"a":{"type":"integer"}},"required":["a","b"]}`, map[string]bool{
			`{"a":1,"b":"x"}`: true, `{"b":null,"a":2,"c":3}`: true, `{"a":1}`: false, `{"b":1}`: false, `{"a":"1","b":1}`: false, `{}`: false,
		}},
		{`{` + self + `"type":"object","properties":{"a":{"type":"integer"}},"required":["a","b"],"additionalProperties":false}`, map[string]bool{
			`{"a":1,"b":"x"}`: false, `{"a":1}`: false,
		}},
		{`{` + self + `"type":"object","properties":{"a":{"type":"integer"}},"required":["a","b"],"additionalProperties":{"type":"string"}}`, map[string]bool{
			`{"a":1,"b":"x"}`: true, `{"a":1,"b":2}`: false, `{"a":1,"b":"x","c":"y"}`: true,
		}},
		{`{` + self + `"type":"object","required":["b","a"]}`, map[string]bool{
			`{"a":1,"b":1}`: true, `{"a":1}`: false, `{}`: false,
		}},
	} {
		c, err := Compile([]byte(tc.schema), Key{}, "required")
		if err != nil {
			t.Fatal(err)
		}
		if c.validators().fast == nil {
			t.Fatalf("%s: no fast path compiled", tc.schema)
		}
		for data, want := range tc.valid {
			if got := c.validators().fast.verdict([]byte(data)) == fastValid; got != want {
				t.Errorf("%s: fast path on %s: %v, want %v", tc.schema, data, got, want)
			}
			checkFastAgrees(t, c, []byte(data))
		}
	}
}

func FuzzFastPath(f *testing.F) {
	for i, s := range fastSeeds {
		f.Add(uint8(i), []byte(s))
	}
	contracts := fastContracts(f)
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		checkFastAgrees(t, contracts[int(which)%len(contracts)], data)
	})
}

// Valid gives ValidateJSON's verdict without its messages, whether the
// compiled validator decides (valid, invalid) or the stock validator must
// (unsure: here a number beyond what the fast path reads exactly against
// multipleOf).
func TestValidAgreesWithValidateJSON(t *testing.T) {
	c := compileKeyword(t, iglu, `"type":"object","properties":{"n":{"type":"number","multipleOf":0.5},"s":{"type":"string"}},"required":["n"]`)
	for data, want := range map[string]bool{
		`{"n":1.5}`: true, `{"n":1.25}`: false, `{"s":"x"}`: false, `{"n":1,"s":2}`: false,
		`{"n":12345678901234567890.5}`: true, `{"n":12345678901234567890.25}`: false, ``: false,
	} {
		got, err := c.Valid([]byte(data))
		if err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		msgs, err := c.ValidateJSON([]byte(data), "")
		if err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		if got != want || (msgs == nil) != want {
			t.Errorf("%s: Valid says %v, ValidateJSON %d messages; want valid=%v", data, got, len(msgs), want)
		}
	}
	if _, err := c.Valid([]byte(`{"n":`)); err == nil {
		t.Error("Valid on text that is not JSON: no error")
	}
}
