package jsonscan

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDocument(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		offset int // -1 when valid
		msg    string
	}{
		{"object", ` {"a": [1, -2.5e+3, true, false, null, "\u00e9\n"], "b": {}} `, -1, ""},
		{"empty", ``, 0, "unexpected end of input"},
		{"bad literal", `[tru]`, 4, "in literal true"},
		{"leading zero", `01`, 1, "after the end of the value"},
		{"bad escape", `"\x"`, 2, "in string escape code"},
		{"short unicode escape", `"\u12"`, 5, "in \\u hexadecimal character escape"},
		{"control character", "\"a\tb\"", 2, "control characters must be escaped"},
		{"unterminated string", `{"a`, 3, "closing quote missing"},
		{"missing colon", `{"a" 1}`, 5, "after object key"},
		{"trailing comma", `[1,]`, 3, "looking for the start of a value"},
		{"trailing comma in object", `{"a":1,}`, 7, "beginning of an object key string"},
		{"fraction without digits", `1.`, 2, "after the decimal point"},
		{"exponent without digits", `1e+`, 3, "in the exponent"},
		{"too deep", strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), MaxDepth, "nested too deeply"},
		{"deep enough", strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth), -1, ""},
		{"repeated member", `{"total":-5,"total":5}`, 12, `member name "total" appears twice`},
		{"repeated member deep in data", `[{"a":{"b":[{"c":1,"d":2,"c":3}]}}]`, 25, `"c" appears twice`},
		{"repeated member spelt with an escape", `{"a":1,"\u0061":2}`, 7, `appears twice`},
		{"repeated member both escaped", `{"\u00e9":1,"\u00E9":2}`, 12, `appears twice`},
		{"repeated member in a large object", `{` + manyMembers(40) + `,"m7":0}`, len(`{`+manyMembers(40)) + 1, `"m7" appears twice`},
		{"repeated escaped member in a large object", `{` + manyMembers(40) + `,"\u006d39":0}`, len(`{`+manyMembers(40)) + 1, `appears twice`},
		{"same name in sibling objects", `[{"a":1},{"a":1}]`, -1, ""},
		{"same name at different depths", `{"a":{"a":{"a":1}}}`, -1, ""},
		{"names that differ only in an escape's meaning", `{"a\n":1,"a\\n":2,"an":3}`, -1, ""},
		{"many distinct members", `{` + manyMembers(100) + `}`, -1, ""},
		{"distinct names sharing filter bits", `{` + sharingBits(3) + `}`, -1, ""},
		{"repeated member among names sharing filter bits", `{` + sharingBits(3) + `,` + sharingBits(3)[strings.LastIndexByte(sharingBits(3), ',')+1:] + `}`, len(`{` + sharingBits(3) + `,`), `appears twice`},
		{"repeated member as the 16th name", `{` + manyMembers(15) + `,"m3":0}`, len(`{`+manyMembers(15)) + 1, `"m3" appears twice`},
		{"repeated member as the 17th name", `{` + manyMembers(16) + `,"m3":0}`, len(`{`+manyMembers(16)) + 1, `"m3" appears twice`},
		{"repeated member after an escaped name", `{"\u0062":1,"a":1,"c":2,"a":3}`, 24, `"a" appears twice`},
		{"empty name repeated", `{"":1,"":2}`, 6, `"" appears twice`},
		{"number beyond float64", `{"total":1e999999}`, 9, "beyond the range of a 64-bit float"},
		{"negative number beyond float64", `[1,-1.5E+400]`, 3, "beyond the range"},
		{"long integer beyond float64", `[` + strings.Repeat("9", 400) + `]`, 1, "beyond the range"},
		{"large number within float64", `[1.7e308,-1e-999999,123456789012345678901234567890]`, -1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Document([]byte(tc.in), 0)
			if tc.offset < 0 {
				if err != nil {
					t.Fatalf("Document: %v", err)
				}
				return
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Document returned %v, want a *SyntaxError", err)
			}
			if se.Offset != tc.offset || !strings.Contains(se.Msg, tc.msg) {
				t.Errorf("error %q at %d, want %q at %d", se.Msg, se.Offset, tc.msg, tc.offset)
			}
		})
	}
}

// manyMembers returns n distinct members "m0":0,"m1":1,... as object text.
func manyMembers(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`"m%d":%d`, i, i)
	}
	return strings.Join(parts, ",")
}

// sharingBits returns n members whose distinct names all set the same
// bits of memberNames' filter, so that telling them apart takes the
// comparisons the filter usually spares.
func sharingBits(n int) string {
	buckets := map[[2]uint64][]string{}
	for i := 0; ; i++ {
		lit := fmt.Sprintf(`"%c%c%c%c"`, 'a'+i%26, 'a'+i/26%26, 'a'+i/676%26, 'a'+i/17576%26)
		lo, hi := filterBits(nameHash([]byte(lit)))
		key := [2]uint64{lo, hi}
		buckets[key] = append(buckets[key], lit+":0")
		if len(buckets[key]) == n {
			return strings.Join(buckets[key], ",")
		}
	}
}

func TestNumber(t *testing.T) {
	tests := []struct {
		in       string
		end      int
		integer  bool
		notData  bool
		anyError bool
	}{
		{in: "12,", end: 2, integer: true},
		{in: "-0]", end: 2, integer: true},
		{in: "1.5", end: 3},
		{in: "1e3", end: 3},
		{in: "-2.5E-3}", end: 7},
		{in: "1.7e308", end: 7},
		{in: "1e-999999", end: 9},
		{in: strings.Repeat("9", 308), end: 308, integer: true},
		{in: "1e999999", notData: true},
		{in: "-1.5E+400", notData: true},
		{in: strings.Repeat("9", 400), notData: true},
		{in: "01", end: 1, integer: true},
		{in: "-", anyError: true},
		{in: "1.", anyError: true},
		{in: "x", anyError: true},
		{in: "", anyError: true},
	}
	for _, tc := range tests {
		end, integer, err := Number([]byte(tc.in), 0)
		switch {
		case tc.notData:
			if !IsNotData(err) {
				t.Errorf("Number(%.20q) = %d, %v, %v; want a number beyond float64", tc.in, end, integer, err)
			}
		case tc.anyError:
			if err == nil || IsNotData(err) {
				t.Errorf("Number(%q) = %d, %v, %v; want a syntax error", tc.in, end, integer, err)
			}
		case err != nil || end != tc.end || integer != tc.integer:
			t.Errorf("Number(%.20q) = %d, %v, %v; want %d, %v", tc.in, end, integer, err, tc.end, tc.integer)
		}
	}
}

// hasRepeatedName reports whether some object in the valid JSON b repeats a
// member name, reading it with encoding/json's tokenizer: the oracle the
// fuzz test holds Document to.
func hasRepeatedName(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		object bool
		names  map[string]bool
		key    bool // the next string token is a member name
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.key {
			name, ok := tok.(string)
			if ok {
				if top.names[name] {
					return true
				}
				top.names[name] = true
				top.key = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, names: map[string]bool{}, key: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ended: in an object, a name comes next.
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].key = true
		}
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", "quote \" backslash \\ newline \n tab \t nul \x00", "é ü 日本", "bad \xff utf-8"} {
		var back string
		if err := json.Unmarshal(AppendString(nil, s), &back); err != nil {
			t.Fatalf("AppendString(%q) is not JSON: %v", s, err)
		}
		want, _ := json.Marshal(s)
		var wantBack string
		_ = json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Errorf("AppendString(%q) reads back as %q, want %q", s, back, wantBack)
		}
	}
}

// FuzzDocument holds Document to encoding/json: the same documents are JSON.
// TestRepeatedNamesAgainstOracle builds objects from a small pool of names
// (so that names repeat, share filter bits and hashes, and are spelt with
// and without escapes, in objects below and above smallObject members)
// and holds Document's verdict to the encoding/json oracle.
func TestRepeatedNamesAgainstOracle(t *testing.T) {
	pool := []string{`"a"`, `"b"`, `"\u0061"`, `"ab"`, `"ba"`, `""`, `"\n"`, `"\u000a"`, `"a\"b"`, `"a\u0022b"`,
		`"total"`, `"t\u006ftal"`, `"éa"`, `"\u00e9a"`}
	pool = append(pool, strings.Split(sharingBits(4), ",")...)
	for i := range pool {
		pool[i], _, _ = strings.Cut(pool[i], ":")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		n := 1 + rng.IntN(24)
		var sb strings.Builder
		sb.WriteByte('{')
		for k := range n {
			if k > 0 {
				sb.WriteByte(',')
			}
			if rng.IntN(3) == 0 {
				fmt.Fprintf(&sb, `"u%d":%d`, rng.IntN(1000), k) // mostly distinct
			} else {
				fmt.Fprintf(&sb, `%s:%d`, pool[rng.IntN(len(pool))], k)
			}
		}
		sb.WriteByte('}')
		doc := []byte(sb.String())
		_, _, err := Document(doc, 0)
		if want := hasRepeatedName(doc); want != (err != nil) || (err != nil && !IsNotData(err)) {
			t.Fatalf("Document(%s) = %v; encoding/json finds a repeated name: %v", doc, err, want)
		}
	}
}

func FuzzDocument(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5e-3,"x\u00e9"]}`, `[`, `"\ud800"`, `-0`, `1E9`, "\"\x7f\xff\"", `{"a" :true }`, `nul`,
		`{"a":1,"a":2}`, `{"a":1,"\u0061":2}`, `[1e999999]`, `-1e-999999`, `[{"a":{"b":1,"b":1}}]`, `{` + manyMembers(20) + `,"m3":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		start, end, err := Document(b, 0)
		valid := json.Valid(b)
		var v any
		if valid && json.Unmarshal(b, &v) != nil {
			// A number beyond float64: encoding/json refuses to decode it.
			valid = false
		}
		if valid && utf8.Valid(b) && hasRepeatedName(b) {
			// encoding/json decodes invalid UTF-8 in names to U+FFFD, so
			// it is the oracle for repeats only in valid UTF-8.
			valid = false
		}
		if !utf8.Valid(b) && valid && IsNotData(err) {
			valid = false
		}
		if valid != (err == nil) {
			t.Fatalf("Document says %v, encoding/json says valid=%v", err, valid)
		}
		if err == nil && !json.Valid(b[start:end]) {
			t.Fatalf("value range [%d,%d) is not JSON", start, end)
		}
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(b) {
				t.Fatalf("bad error %v", err)
			}
		}
	})
}

var benchDoc = []byte(strings.Repeat(`{"specversion":"1.0","id":"6f1b7c1e-8a57-4a8e-9a67-2a1f5d7d9c10","source":"https://shop.example.com/checkout","attempt":1,"replay":false,"data":{"order_id":"ord_8f3a2c91","total":129.95,"items":[1,2,3],"coupon":null}},`, 100))

func BenchmarkDocument(b *testing.B) {
	doc := append(append([]byte{'['}, benchDoc[:len(benchDoc)-1]...), ']')
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, _, err := Document(doc, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodingJSONValid(b *testing.B) {
	doc := append(append([]byte{'['}, benchDoc[:len(benchDoc)-1]...), ']')
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if !json.Valid(doc) {
			b.Fatal("invalid")
		}
	}
}

// special must find a quote, a backslash or a control character in any
// byte of a word, whatever the other bytes are.
func TestSpecialNeverMissesAByte(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := c == '"' || c == '\\' || c < 0x20
		for pos := 0; pos < 8; pos++ {
			for _, fill := range []byte{'a', 0x7f, 0x80, 0xff, 0x20, 0x21, 0x5b} {
				var w [8]byte
				for k := range w {
					w[k] = fill
				}
				w[pos] = byte(c)
				got := special(binary.LittleEndian.Uint64(w[:]))
				if want && !got {
					t.Fatalf("byte %#x at %d among %#x: not reported", c, pos, fill)
				}
			}
		}
	}
}

// BenchmarkStringLong: a 2 KB string without escapes, such as a base64
// payload (Snowplow's ue_px, cx).
func BenchmarkStringLong(b *testing.B) {
	lit := []byte(`"` + strings.Repeat("eyJzY2hlbWEiOiJpZ2x1OmNvbS5hY21lL2NoZWNrb3V0L2pzb25zY2hlbWEvMS0wLTAi", 32) + `"`)
	b.SetBytes(int64(len(lit)))
	b.ReportAllocs()
	for b.Loop() {
		if end, err := String(lit, 0); err != nil || end != len(lit) {
			b.Fatal(end, err)
		}
	}
}

// A repeated member name is quoted in the error cut, as a number beyond
// float64 is: the error goes into the 400 answer and into the failed
// record's messages, and the name is the client's, as long as the body.
func TestRepeatedNameErrorIsBounded(t *testing.T) {
	name := `"` + strings.Repeat("n", 100_000) + `"`
	_, _, err := Document([]byte(`{`+name+`:1,`+name+`:2}`), 0)
	var se *SyntaxError
	if !errors.As(err, &se) || !strings.Contains(se.Msg, "appears twice") || len(se.Msg) > 200 {
		t.Fatalf("error of %d bytes: %.300v; want one under 200 bytes saying the name appears twice", len(err.Error()), err)
	}
}

// specialBits' lowest mark is exact: it is the word's first quote,
// backslash or control character, whatever follows it, so scanning may
// jump straight to it.
func TestSpecialBitsFirstIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	interesting := []byte{'"', '\\', 0, 0x1f, 0x20, 0x21, '#', ']', 0x5d, 0x7f, 0x80, 0x9f, 0xa0, 0xdf, 0xe2, 0xff, 'a'}
	for range 200000 {
		var w [8]byte
		for k := range w {
			if rng.IntN(2) == 0 {
				w[k] = interesting[rng.IntN(len(interesting))]
			} else {
				w[k] = byte(rng.IntN(256))
			}
		}
		first := 8
		for k, c := range w {
			if c == '"' || c == '\\' || c < 0x20 {
				first = k
				break
			}
		}
		m := specialBits(binary.LittleEndian.Uint64(w[:]))
		got := 8
		if m != 0 {
			got = bits.TrailingZeros64(m) >> 3
		}
		if got != first {
			t.Fatalf("%q: first special byte %d, specialBits says %d", w, first, got)
		}
	}
}

// FuzzAppendString: skipping eight bytes at a time changes nothing: the
// output is the byte-at-a-time encoder's (appendStringByteByByte, the
// encoder before the skip), and it is JSON that reads back as the string
// (when that is UTF-8).
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain ascii text here", "a\"b\\c\n\t\x00\x1f\b\f", "caf\u00e9 \u2028\u2029 \xff\xfe end", "12345678\"", "1234567\xe2\x80\xa8"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := AppendString([]byte("x"), s)
		if want := appendStringByteByByte([]byte("x"), s); !bytes.Equal(got, want) {
			t.Fatalf("AppendString(%q) = %s, byte by byte %s", s, got, want)
		}
		var back string
		if err := json.Unmarshal(got[1:], &back); err != nil || (utf8.ValidString(s) && back != s) {
			t.Fatalf("AppendString(%q) = %s reads back as %q (%v)", s, got, back, err)
		}
	})
}

func appendStringByteByByte(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x80 {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// BenchmarkAppendStringRecord: the strings of one record (an id, names,
// keys, empty fields, a user agent), most short and none needing an
// escape.
func BenchmarkAppendStringRecord(b *testing.B) {
	strs := []string{"0193a0e4-6b7c-7d2e-9f10-1a2b3c4d5e6f", "r", "selfdesc", "iglu:com.example/product_viewed/jsonschema/1-0-0",
		"com.example", "product_viewed", "1-0-0", "default", "", "", "", "", "",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.129 Safari/537.36",
		"accord", "v1", "prod", "host-1", "9b1f3c5e7a2d4f60"}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for _, s := range strs {
			buf = AppendString(buf, s)
		}
	}
	b.SetBytes(int64(len(buf)))
}

// plainASCII finds the first byte that needs escaping or is beyond ASCII
// wherever it is in strings of every length up to three words, whatever
// the byte, with a second such byte after it or not.
func TestPlainASCIIFindsTheFirstByte(t *testing.T) {
	for n := 0; n <= 24; n++ {
		for pos := 0; pos < n; pos++ {
			for c := 0; c < 256; c++ {
				for _, after := range []byte{'a', '"', 0xff} {
					b := []byte(strings.Repeat("a", n))
					b[pos] = byte(c)
					if pos+1 < n {
						b[n-1] = after
					}
					want := len(b)
					for i, x := range b {
						if x < 0x20 || x >= 0x80 || x == '"' || x == '\\' {
							want = i
							break
						}
					}
					if got := plainASCII(string(b)); got != want {
						t.Fatalf("plainASCII(%q) = %d, want %d", b, got, want)
					}
				}
			}
		}
	}
}

// TextBytes gives a literal's text as UnquoteBytes does, escapes decoded,
// and without an allocation for a literal without escapes when the caller
// only compares it or looks it up.
func TestTextBytes(t *testing.T) {
	for _, lit := range []string{`""`, `"aid"`, `"accord_privacy"`, `"accord\u005fprivacy"`, `"a\"b\\c\n"`, `"é\ud83d\ude00"`} {
		if got, want := string(TextBytes([]byte(lit))), UnquoteBytes([]byte(lit)); got != want {
			t.Errorf("TextBytes(%s) = %q, want %q", lit, got, want)
		}
	}
	lit := []byte(`"checkout_completed_with_a_long_name"`)
	m := map[string]int{"checkout_completed_with_a_long_name": 1}
	if n := testing.AllocsPerRun(100, func() {
		if string(TextBytes(lit)) != "checkout_completed_with_a_long_name" || m[string(TextBytes(lit))] != 1 {
			t.Fatal("no match")
		}
	}); n != 0 {
		t.Errorf("%v allocations comparing and looking up a name without escapes, want 0", n)
	}
}
