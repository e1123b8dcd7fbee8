package contract

import (
	"regexp"
	"testing"
	"unicode/utf8"
)

// Patterns of the shapes contracts use, those checked by table and those
// left to the regexp.
var fuzzPatterns = []string{
	`^[A-Z0-9-]+$`, `^[A-Z]{3}$`, `^[a-z0-9_]{2,8}$`, `^\d*$`, `^[a-f0-9]?$`, `^[^a-z]+$`, `^[\w.]{1,}$`,
	`(?i)^[a-z]+$`, `^[a-z]+`, `[a-z]+$`, `^(?:[a-z]+)$`, `^[a-z]+|x$`, `(?m)^[a-z]+$`, `^x$`, `^.{2}$`, `^[é-ü]+$`,
}

// FuzzFastPattern holds the table check to the regexp: for every string
// and pattern, the two agree.
func FuzzFastPattern(f *testing.F) {
	for _, s := range []string{"", "ABC", "AB", "abc", "a-b", "K", "\u212a", "é", "abc\n", "0123456789", "ab_12"} {
		f.Add(s)
	}
	type pair struct {
		fast *fastPattern
		re   *regexp.Regexp
	}
	var patterns []pair
	tables := 0
	for _, p := range fuzzPatterns {
		fp, err := compilePattern(p)
		if err != nil {
			f.Fatal(err)
		}
		if fp.class != nil {
			tables++
		}
		patterns = append(patterns, pair{fp, regexp.MustCompile(p)})
	}
	if tables != 7 {
		f.Fatalf("%d patterns are checked by table, want the first 7", tables)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return // the fast path leaves strings that are not UTF-8 to the stock validator
		}
		for i, p := range patterns {
			if got, want := p.fast.Match([]byte(s)), p.re.MatchString(s); got != want {
				t.Fatalf("%s on %q: the fast check says %v, the regexp %v", fuzzPatterns[i], s, got, want)
			}
		}
	})
}
