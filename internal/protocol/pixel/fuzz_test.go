package pixel

import (
	"bytes"
	"encoding/json"
	"net/url"
	"reflect"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeTyped holds both decoders to what the pipeline relies on, for any
// query string: Data is a JSON object holding every parameter that is not
// reserved, converted only where the contract says, and Raw is the query as
// url.Values.Encode writes it. The seed corpus is in
// testdata/fuzz/FuzzDecodeTyped.
func FuzzDecodeTyped(f *testing.F) {
	co := NewCoercer(compile(f, emailOpened))
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw) // what parsed, as the server keeps it
		valid := validQuery(q)

		typed := co.Decode(q)
		arbitrary := DecodeArbitrary(q)
		for _, in := range []struct {
			name string
			data []byte
			raw  []byte
		}{{"typed", typed.Data, typed.Raw}, {"arbitrary", arbitrary.Data, arbitrary.Raw}} {
			if string(in.raw) != q.Encode() {
				t.Fatalf("%s: raw %q, want %q", in.name, in.raw, q.Encode())
			}
			if !json.Valid(in.data) || !utf8.Valid(in.data) || in.data[0] != '{' {
				t.Fatalf("%s: data %q is not a UTF-8 JSON object", in.name, in.data)
			}
		}
		if (typed.Failure == nil) != valid || (arbitrary.Failure == nil) != valid {
			t.Fatalf("failures %+v, %+v for a query that is valid UTF-8: %v", typed.Failure, arbitrary.Failure, valid)
		}

		var got map[string]any
		var text map[string]json.RawMessage
		if err := json.Unmarshal(typed.Data, &text); err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(typed.Data))
		dec.UseNumber()
		if err := dec.Decode(&got); err != nil {
			t.Fatal(err)
		}
		var strs map[string]any
		if err := json.Unmarshal(arbitrary.Data, &strs); err != nil {
			t.Fatal(err)
		}
		members := 0
		for name, values := range q {
			switch {
			case len(values) == 0:
				continue
			case name == ParamEventID || name == ParamUserID || name == ParamAnonymousID || name == ParamRedirect:
				if _, ok := strs[name]; ok {
					t.Fatalf("reserved parameter %s is data", name)
				}
				continue
			}
			members++
			if !valid {
				continue // names may have collapsed into U+FFFD
			}
			// Arbitrary data holds the values as sent.
			var want any = values[0]
			if len(values) > 1 {
				list := make([]any, len(values))
				for i, v := range values {
					list[i] = v
				}
				want = list
			}
			if !reflect.DeepEqual(strs[name], want) {
				t.Fatalf("arbitrary %s is %#v, want %#v", name, strs[name], want)
			}
			// Typed data converts only the contract's properties.
			v, ok := got[name]
			if !ok {
				t.Fatalf("typed data %s has no %s", typed.Data, name)
			}
			if _, listed := co.props[name]; !listed && !reflect.DeepEqual(v, want) {
				t.Fatalf("typed %s, not in the contract, is %#v, want %#v", name, v, want)
			}
			// A value written as a string is the value sent.
			if s, isString := v.(string); isString && (len(values) != 1 || s != values[0]) {
				t.Fatalf("typed %s is %q, sent %q", name, s, values)
			}
		}
		if valid && (len(got) != members || len(strs) != members) {
			t.Fatalf("typed data has %d members, arbitrary %d; want %d", len(got), len(strs), members)
		}
		if typed.EventID != first(q, ParamEventID) || typed.Identity.UserID != first(q, ParamUserID) || typed.Identity.AnonymousID != first(q, ParamAnonymousID) {
			t.Fatalf("reserved parameters read as %q %+v", typed.EventID, typed.Identity)
		}
	})
}

func first(q url.Values, name string) string {
	if vs := q[name]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// validQuery reports whether every name and value of q is UTF-8.
func validQuery(q url.Values) bool {
	for name, values := range q {
		if !utf8.ValidString(name) {
			return false
		}
		for _, v := range values {
			if !utf8.ValidString(v) {
				return false
			}
		}
	}
	return true
}
