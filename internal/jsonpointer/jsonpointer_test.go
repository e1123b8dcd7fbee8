package jsonpointer

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestEscapeUnescape(t *testing.T) {
	tests := []struct {
		name, token, escaped string
	}{
		{"plain", "name", "name"},
		{"empty", "", ""},
		{"slash", "a/b", "a~1b"},
		{"tilde", "m~n", "m~0n"},
		{"tilde then one", "~1", "~01"},
		{"slash then zero", "/0", "~10"},
		{"both", "~/", "~0~1"},
		{"unicode", "é/ü", "é~1ü"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Escape(tc.token); got != tc.escaped {
				t.Errorf("Escape(%q) = %q, want %q", tc.token, got, tc.escaped)
			}
			got, err := Unescape(tc.escaped)
			if err != nil || got != tc.token {
				t.Errorf("Unescape(%q) = %q, %v; want %q", tc.escaped, got, err, tc.token)
			}
		})
	}
}

func TestUnescapeRejects(t *testing.T) {
	for _, tok := range []string{"~", "a~", "~2", "a~xb"} {
		if _, err := Unescape(tok); !errors.Is(err, ErrSyntax) {
			t.Errorf("Unescape(%q) error = %v, want ErrSyntax", tok, err)
		}
	}
}

func TestEscapeDoesNotAllocateForPlainTokens(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _ = Escape("properties") }); n != 0 {
		t.Errorf("Escape of a plain token allocates %v times", n)
	}
}

func TestAppendAndFormat(t *testing.T) {
	if got := Append("/properties", "a/b", "items"); got != "/properties/a~1b/items" {
		t.Errorf("Append = %q", got)
	}
	if got := Append("/x"); got != "/x" {
		t.Errorf("Append with no tokens = %q", got)
	}
	if got := AppendIndex("/allOf", 3); got != "/allOf/3" {
		t.Errorf("AppendIndex = %q", got)
	}
	if got := Format(nil); got != "" {
		t.Errorf("Format(nil) = %q, want the root", got)
	}
	if got := Format([]string{"", "~"}); got != "//~0" {
		t.Errorf("Format = %q", got)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		ptr   string
		want  []string
		error bool
	}{
		{name: "root", ptr: "", want: nil},
		{name: "empty token", ptr: "/", want: []string{""}},
		{name: "tokens", ptr: "/a~1b/c~0d/0", want: []string{"a/b", "c~d", "0"}},
		{name: "no leading slash", ptr: "a/b", error: true},
		{name: "bad escape", ptr: "/a~2", error: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.ptr)
			if tc.error {
				if !errors.Is(err, ErrSyntax) {
					t.Fatalf("Parse(%q) = %q, %v; want ErrSyntax", tc.ptr, got, err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse(%q) = %q, %v; want %q", tc.ptr, got, err, tc.want)
			}
		})
	}
}

func TestParent(t *testing.T) {
	for ptr, want := range map[string]string{"/a/b": "/a", "/a": "", "/a~1b": ""} {
		if got, ok := Parent(ptr); !ok || got != want {
			t.Errorf("Parent(%q) = %q, %v; want %q", ptr, got, ok, want)
		}
	}
	if _, ok := Parent(""); ok {
		t.Error("the root has a parent")
	}
}

// rfcDoc is the example document of RFC 6901 section 5.
const rfcDoc = `{"foo": ["bar", "baz"], "": 0, "a/b": 1, "c%d": 2, "e^f": 3, "g|h": 4, "i\\j": 5,
	"k\"l": 6, " ": 7, "m~n": 8}`

func TestResolveRFC6901Examples(t *testing.T) {
	var doc any
	if err := json.Unmarshal([]byte(rfcDoc), &doc); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ptr  string
		want string // JSON
	}{
		{"", rfcDoc},
		{"/foo", `["bar", "baz"]`},
		{"/foo/0", `"bar"`},
		{"/", `0`},
		{"/a~1b", `1`},
		{"/c%d", `2`},
		{"/e^f", `3`},
		{"/g|h", `4`},
		{"/i\\j", `5`},
		{"/k\"l", `6`},
		{"/ ", `7`},
		{"/m~0n", `8`},
	}
	for _, tc := range tests {
		got, ok := Resolve(doc, tc.ptr)
		if !ok {
			t.Errorf("Resolve(%q) found nothing", tc.ptr)
			continue
		}
		var want any
		if err := json.Unmarshal([]byte(tc.want), &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Resolve(%q) = %v, want %v", tc.ptr, got, want)
		}
	}
}

func TestResolveFindsNothing(t *testing.T) {
	var doc any
	if err := json.Unmarshal([]byte(rfcDoc), &doc); err != nil {
		t.Fatal(err)
	}
	for _, ptr := range []string{"foo", "/bar", "/foo/2", "/foo/-", "/foo/01", "/foo/+1", "/foo/-1", "/foo/0/x", "/m~n", "/a/b", "/~2"} {
		if v, ok := Resolve(doc, ptr); ok {
			t.Errorf("Resolve(%q) = %v, want nothing", ptr, v)
		}
	}
}

func FuzzPointer(f *testing.F) {
	for _, s := range []string{"", "/", "/a~1b/c~0d/0", "/foo/01", "a/b", "/~", "/~2", "//", "/é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Escaping is reversible, for any token.
		if u, err := Unescape(Escape(s)); err != nil || u != s {
			t.Fatalf("Unescape(Escape(%q)) = %q, %v", s, u, err)
		}
		tokens, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrSyntax", s, err)
			}
			if _, ok := Resolve(map[string]any{}, s); ok && s != "" {
				t.Fatalf("Resolve accepted %q, which Parse rejects", s)
			}
			return
		}
		// A pointer has one spelling: formatting its tokens gives it back.
		if back := Format(tokens); back != s {
			t.Fatalf("Format(Parse(%q)) = %q", s, back)
		}
		// Resolve follows the same tokens Parse returns: build a document
		// holding a marker at exactly that path and look it up.
		var doc any = "marker"
		for i := len(tokens) - 1; i >= 0; i-- {
			doc = map[string]any{tokens[i]: doc}
		}
		if v, ok := Resolve(doc, s); !ok || v != "marker" {
			t.Fatalf("Resolve(%q) = %v, %v; want the marker", s, v, ok)
		}
		if len(tokens) > 0 && !strings.HasPrefix(s, "/") {
			t.Fatalf("Parse accepted %q without a leading /", s)
		}
	})
}
