package contract

import (
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

var formatSeeds = []string{
	"2026-11-25T10:00:00Z", "2026-11-25T10:00:00.123+01:00", "2024-02-29t23:59:59z", "2023-02-29T10:00:00Z",
	"2026-11-25T23:59:60Z", "2026-11-25T10:00:00", "2026-13-01T00:00:00Z", "0000-01-01T00:00:00-23:59",
	"2026-11-25", "10:00:00Z", "10:00:00.5-00:00", "24:00:00Z",
	"https://shop.example.com/p/42?utm_source=x&y=%20#frag", "http://h:8080/", "http://h:/", "http://[::1]/",
	"http://u@h/", "urn:isbn:0451450523", "mailto:a@b.co", "http:", "http://", "1http://x", "http://x/%zz",
	"http://a b/", "http://x/#a#b", "HTTP://X.Y", "a:b:c", "http://x?%", "x://-./",
	"123e4567-e89b-12d3-a456-426614174000", "123E4567-E89B-12D3-A456-42661417400G", "not-a-uuid",
}

// FuzzFastFormats holds each format's own check to the library's: whatever
// it says is valid, the library says is valid too.
func FuzzFastFormats(f *testing.F) {
	for _, s := range formatSeeds {
		f.Add(s)
	}
	lib := map[string]*jsonschema.Schema{}
	for name := range quickFormats {
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		if err := c.AddResource("format.json", map[string]any{"format": name}); err != nil {
			f.Fatal(err)
		}
		s, err := c.Compile("format.json")
		if err != nil {
			f.Fatalf("format %s does not compile: %v", name, err)
		}
		lib[name] = s
	}
	f.Fuzz(func(t *testing.T, s string) {
		for name, quick := range quickFormats {
			if quick([]byte(s)) {
				if err := lib[name].Validate(s); err != nil {
					t.Fatalf("%s: the fast check accepts %q; the library says %v", name, s, err)
				}
			}
		}
	})
}

// The quick checks must accept what events usually carry, or every event
// would still pay for the library's check.
func TestQuickFormatsAcceptTypicalValues(t *testing.T) {
	for name, values := range map[string][]string{
		"date-time": {"2026-11-25T10:00:00Z", "2026-11-25T10:00:00.123456+01:00", "2024-02-29T00:00:00-05:00"},
		"date":      {"2026-11-25", "2024-02-29"},
		"time":      {"10:00:00Z", "23:59:59.999+14:00"},
		"uri":       {"https://shop.example.com/p/42?utm_source=newsletter&x=%C3%A9#top", "http://localhost:8080/", "urn:isbn:0451450523"},
		"uuid":      {"123e4567-e89b-12d3-a456-426614174000"},
	} {
		for _, v := range values {
			if !quickFormats[name]([]byte(v)) {
				t.Errorf("%s: %q is not accepted by the quick check", name, v)
			}
		}
	}
	for name, values := range map[string][]string{
		"date-time": {"2023-02-29T10:00:00Z", "2026-11-25T24:00:00Z", "2026-11-25 10:00:00Z"},
		"uri":       {"/relative", "http://x/%zz", "not a uri"},
		"uuid":      {"123e4567e89b12d3a456426614174000"},
	} {
		for _, v := range values {
			if quickFormats[name]([]byte(v)) {
				t.Errorf("%s: %q is accepted, but is not valid", name, v)
			}
		}
	}
}
