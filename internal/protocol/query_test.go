package protocol

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// sameAsParseQuery fails t unless CheckQuery returns url.ParseQuery's
// error for raw and Values its url.Values.
func sameAsParseQuery(t *testing.T, raw string) {
	t.Helper()
	want, werr := url.ParseQuery(raw)
	err := CheckQuery(raw)
	if (err == nil) != (werr == nil) || err != nil && err.Error() != werr.Error() {
		t.Fatalf("CheckQuery(%q) = %v, url.ParseQuery: %v", raw, err, werr)
	}
	r := &Request{RawQuery: raw}
	if got := r.Values(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Values of %q = %v, url.ParseQuery: %v", raw, got, want)
	}
}

func TestCheckQuery(t *testing.T) {
	many := strings.Repeat("x=1&", 9999) + "y=2"
	for _, raw := range []string{
		"", "&", "a", "a=1&b=2", "a=%41+b", "a=%", "a=%4", "a=%4g", "%zz=1", "a=1;b=2", ";",
		"a=%&b=1", "a=1&b=%FF", "a=%41%", many, many + "&z=3",
	} {
		sameAsParseQuery(t, raw)
	}
	// Values keeps what was set.
	q := url.Values{"a": {"b"}}
	if r := (&Request{Query: q, RawQuery: "c=d"}); !reflect.DeepEqual(r.Values(), q) {
		t.Fatalf("Values = %v, want the Query set, %v", r.Values(), q)
	}
}

// FuzzCheckQuery holds CheckQuery and Values to url.ParseQuery for any raw
// query. The seed corpus is in testdata/fuzz/FuzzCheckQuery.
func FuzzCheckQuery(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw string) {
		sameAsParseQuery(t, raw)
	})
}
