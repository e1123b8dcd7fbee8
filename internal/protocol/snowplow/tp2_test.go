package snowplow

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// sortAttrs must order the attributes exactly as slices.SortFunc by name
// does, also where a name repeats (a JSON body can send a field twice),
// which is where an unstable sort and a stable one can differ: which of
// the two values is written depends on it.
func TestSortAttrs(t *testing.T) {
	// Names sharing their first eight bytes, so that both comparisons
	// (prefix, then name) are exercised, and few enough to repeat.
	names := []string{"a", "b", "e", "p", "tv", "url", "page_title", "page_titles", "page_tit", "page_ti", "cx_extra_1", "cx_extra_2", "", "res", "vp", "zz"}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 20000 {
		n := rng.IntN(maxInsertionSort + 30)
		if round%2 == 0 {
			n = rng.IntN(24)
		}
		d := decoder{}
		for i := range n {
			name := names[rng.IntN(len(names))]
			if rng.IntN(4) == 0 {
				name = strings.Repeat("x", rng.IntN(12)) + name
			}
			d.attrs = append(d.attrs, field{name: d.keep(name), value: d.keep(string(rune('A' + i%26)))})
		}
		var want []attrOrder
		for i := range d.attrs {
			d.order = append(d.order, attrOrder{namePrefix(d.bytes(d.attrs[i].name)), int32(i)})
		}
		want = slices.Clone(d.order)
		slices.SortFunc(want, func(a, b attrOrder) int {
			if a.prefix != b.prefix {
				return cmp.Compare(a.prefix, b.prefix)
			}
			return strings.Compare(d.attrName(a), d.attrName(b))
		})
		d.sortAttrs()
		if !slices.Equal(d.order, want) {
			t.Fatalf("round %d, %d attributes: sortAttrs gives %v, slices.SortFunc %v", round, n, d.order, want)
		}
	}
}

// parseMillis reads what strconv.ParseInt reads, errors included.
func TestParseMillis(t *testing.T) {
	for _, s := range []string{"", "0", "7", "1714566600123", "000000000000000001", "999999999999999999", "1000000000000000000",
		"9223372036854775807", "9223372036854775808", "-1", "+5", "12a", "1_000", " 1", "1.5", "١٢", "\x00"} {
		got, gerr := parseMillis(s)
		want, werr := strconv.ParseInt(s, 10, 64)
		if got != want || (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
			t.Errorf("parseMillis(%q) = %d, %v; strconv.ParseInt: %d, %v", s, got, gerr, want, werr)
		}
	}
}

// FuzzParseMillis holds parseMillis to strconv.ParseInt on any text.
func FuzzParseMillis(f *testing.F) {
	for _, s := range []string{"1714566600123", "", "-1", "+5", "999999999999999999", "9223372036854775808", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, gerr := parseMillis(s)
		want, werr := strconv.ParseInt(s, 10, 64)
		if got != want || (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
			t.Fatalf("parseMillis(%q) = %d, %v; strconv.ParseInt: %d, %v", s, got, gerr, want, werr)
		}
	})
}

// TestNamePrefix holds namePrefix to its definition: the first eight bytes
// of a name, big-endian, padded with zeros.
func TestNamePrefix(t *testing.T) {
	for n := 0; n <= 10; n++ {
		name := []byte("\xffabcdefghij")[:n]
		var want uint64
		for i := 0; i < 8; i++ {
			want <<= 8
			if i < n {
				want |= uint64(name[i])
			}
		}
		if got := namePrefix(name); got != want {
			t.Errorf("namePrefix(%q) = %#x, want %#x", name, got, want)
		}
	}
}
