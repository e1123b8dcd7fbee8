package sink

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestModel(t *testing.T) {
	for version, want := range map[string]string{"1-0-2": "1", "12-3-4": "12", "": "0", "7": "7"} {
		if got := Model(version); got != want {
			t.Errorf("Model(%q) = %q, want %q", version, got, want)
		}
	}
}

// Shorten keeps a name that fits, cuts one that does not to the limit at a
// rune boundary, and two names cut alike still differ by their whole.
func TestShorten(t *testing.T) {
	if got := Shorten("short", "short", 10); got != "short" {
		t.Errorf("a name that fits changed: %q", got)
	}
	a := Shorten(strings.Repeat("n", 300)+"a", strings.Repeat("n", 300)+"a", 100)
	b := Shorten(strings.Repeat("n", 300)+"b", strings.Repeat("n", 300)+"b", 100)
	if len(a) != 100 || a == b || a != Shorten(strings.Repeat("n", 300)+"a", strings.Repeat("n", 300)+"a", 100) {
		t.Errorf("cut names %q and %q: want 100 bytes, distinct, deterministic", a, b)
	}
	u := Shorten(strings.Repeat("é", 100), "x", 50)
	if len(u) > 50 || !utf8.ValidString(u) {
		t.Errorf("cut %q (%d bytes) is not valid UTF-8 within 50 bytes", u, len(u))
	}
}
