package catalog

import (
	"regexp"
	"testing"
)

// FuzzFromPattern: a contract's pattern is outside input. Generating from
// it never panics, the string stays bounded, and what it generates at the
// minimum repetitions is matched by the pattern (Go's regexp, which the
// generator reads with).
func FuzzFromPattern(f *testing.F) {
	for _, seed := range []string{`^[A-Z]{3}$`, `^[a-z0-9-_]+$`, `(a|b)*c{2,5}`, `^\d{4}-\d{2}$`, `x{1000}{1000}`, `[^\x00-\x{10FFFF}]`, `\b\B`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		re, err := regexp.Compile(pattern)
		s, ok := fromPattern(pattern, 0)
		if err != nil || !ok {
			return
		}
		if len(s) > 1<<20 {
			t.Fatalf("%q generated %d bytes", pattern, len(s))
		}
		_ = re.MatchString(s) // not every pattern can be met (\b\B): only boundedness is promised
	})
}
