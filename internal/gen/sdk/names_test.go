package sdk

import (
	"regexp"
	"testing"
)

var (
	identifierRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	fileNameRE   = regexp.MustCompile(`^c_[a-z0-9_]*$`)
)

func TestIdentifierAndFileName(t *testing.T) {
	for _, tc := range []struct{ in, id, file string }{
		{"checkout_completed", "CheckoutCompleted", "c_checkout_completed"},
		{"Signed In", "SignedIn", "c_signed_in"},
		{"..", "X", "c___"},
		{"0day", "X0Day", "c_0day"},
		{"None", "NoneX", "c_none"},
		{"a/../b", "AB", "c_a____b"},
	} {
		if got := Identifier(tc.in); got != tc.id {
			t.Errorf("Identifier(%q) = %q, want %q", tc.in, got, tc.id)
		}
		if got := FileName(tc.in); got != tc.file {
			t.Errorf("FileName(%q) = %q, want %q", tc.in, got, tc.file)
		}
	}
}

// FuzzNames: whatever a contract, property or event name holds, the
// identifier and file name made of it are safe in every target language
// and as a path, and bounded.
func FuzzNames(f *testing.F) {
	for _, s := range []string{"", "..", "a/b", "\\", "class", "__proto__", "ünï", "\x00", "Signed In", "0", "-", "True"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id := Identifier(s)
		if !identifierRE.MatchString(id) || len(id) > maxIdentifier || id == "True" || id == "False" || id == "None" {
			t.Errorf("Identifier(%q) = %q", s, id)
		}
		fn := FileName(s)
		if !fileNameRE.MatchString(fn) || len(fn) > maxIdentifier {
			t.Errorf("FileName(%q) = %q", s, fn)
		}
		if Identifier(s) != id || FileName(s) != fn {
			t.Errorf("names of %q are not stable", s)
		}
	})
}
