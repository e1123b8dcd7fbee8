package privacy

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/accord-events/accord/internal/jsonscan"
)

// markerCases are attributes as the stage meets them: none, a decoder's
// object, a replayed record's marker, a marker's name spelled with an
// escape, the name inside a value, whitespace about the object.
var markerCases = []string{
	``,
	`{}`,
	" { \n} ",
	`{"a":1}`,
	`{"aid":"shop-web","e":"pv","res":"1920x1080","headers":{"X-A":["1","2"]},"n":[1,{"b":null}]}`,
	`{"accord_privacy":{"rules":"0000000000000000","key_id":"k0"},"a":1}`,
	`{"a":1,"accord\u005fprivacy":{"rules":"0000000000000000"}}`,
	`{"a":"\"accord_privacy\""}`,
	`{"a":"accord_privacy"}`,
	" {\"a\" : 1 ,\n\"b\":\"é\"}\n",
}

// The marker is added without taking the members apart when nothing can
// be named as it: the result must be the object the member-by-member way
// makes, holding the marker once.
func TestWithMarkerAsRebuilt(t *testing.T) {
	for _, attrs := range markerCases {
		checkMarker(t, []byte(attrs))
	}
}

// FuzzWithMarker: for any attributes the member-by-member way reads (the
// pipeline's JSON), appendWithMarker makes the same object, with one marker.
func FuzzWithMarker(f *testing.F) {
	for _, attrs := range markerCases {
		f.Add([]byte(attrs))
	}
	f.Fuzz(func(t *testing.T, attrs []byte) {
		start := jsonscan.SkipSpace(attrs, 0)
		if len(attrs) > 0 {
			if start >= len(attrs) || attrs[start] != '{' {
				t.Skip() // attributes are an object or nothing
			}
			end, err := jsonscan.Skip(attrs, start)
			if err != nil || jsonscan.SkipSpace(attrs, end) != len(attrs) {
				t.Skip() // not the pipeline's JSON
			}
		}
		checkMarker(t, attrs)
	})
}

// FuzzHoldsMarkerName: the quicker look finds the marker's name where
// bytes.Contains does, in any bytes.
func FuzzHoldsMarkerName(f *testing.F) {
	for _, attrs := range append(markerCases, `"accord_privacy"`, `_privacy"accord_privacy"`, `"accord"accord_privacy"`, `accord_privacy"`) {
		f.Add([]byte(attrs))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := holdsMarkerName(b), bytes.Contains(b, markerMember); got != want {
			t.Fatalf("holdsMarkerName(%q) = %v, want %v", b, got, want)
		}
	})
}

func checkMarker(t *testing.T, attrs []byte) {
	t.Helper()
	const sum, keyID = 0x0123456789abcdef, "k1"
	got := appendWithMarker(nil, attrs, false, sum, keyID, true)
	if !bytes.Contains(attrs, markerMember) {
		// As the stage calls it for attributes it looked through.
		if known := appendWithMarker(nil, attrs, true, sum, keyID, true); !bytes.Equal(known, got) {
			t.Fatalf("attributes %q: %s, known to hold no marker %s", attrs, got, known)
		}
	}
	want := appendRebuiltWithMarker(nil, attrs, sum, keyID, true)
	if !json.Valid(got) {
		t.Fatalf("attributes %q: %q is not JSON", attrs, got)
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("attributes %q: %s, member by member %s", attrs, got, want)
	}
	if prefixed := appendWithMarker([]byte("xyz"), attrs, false, sum, keyID, true); string(prefixed) != "xyz"+string(got) {
		t.Fatalf("attributes %q after other bytes: %q, want xyz%s", attrs, prefixed, got)
	}
	markers := 0
	if _, err := jsonscan.Object(got, 0, func(ks, ke, vs int) (int, error) {
		if string(jsonscan.TextBytes(got[ks:ke])) == markerName {
			markers++
		}
		return jsonscan.Skip(got, vs)
	}); err != nil {
		t.Fatalf("attributes %q: %s: %v", attrs, got, err)
	}
	if markers != 1 || !bytes.HasSuffix(got, []byte(`"accord_privacy":{"rules":"0123456789abcdef","key_id":"k1"}}`)) {
		t.Fatalf("attributes %q: %s, want the marker once, last", attrs, got)
	}
}

// Attributes that are not the pipeline's JSON keep only the marker, after
// whatever the buffer held.
func TestWithMarkerUnreadableAttributes(t *testing.T) {
	got := appendWithMarker([]byte("xyz"), []byte(`{"a":1,"accord_privacy":`), false, 1, "", true)
	if want := `xyz{"accord_privacy":{"rules":"0000000000000001"}}`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
