package contract

import "testing"

func TestSameDocument(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		same bool
	}{
		{name: "identical", a: `{"a": 1}`, b: `{"a": 1}`, same: true},
		{name: "layout and key order", a: `{"a": 1, "b": [true, null]}`, b: "{\n  \"b\": [true,null],\n  \"a\": 1\n}\n", same: true},
		{name: "other value", a: `{"a": 1}`, b: `{"a": 2}`},
		{name: "number spelt otherwise", a: `{"a": 1}`, b: `{"a": 1.0}`},
		{name: "not JSON", a: `{"a": 1}`, b: `{"a": 1`},
		{name: "trailing data", a: `{"a": 1}`, b: `{"a": 1} {}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SameDocument([]byte(tc.a), []byte(tc.b)); got != tc.same {
				t.Errorf("SameDocument(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.same)
			}
		})
	}
}
