package privacy

import (
	"encoding/json"
	"testing"
)

// fuzzSchema governs a value of every shape at several depths with every
// action, so arbitrary JSON meets each rule somewhere.
const fuzzSchema = `{
  "type": "object",
  "properties": {
    "h": {"x-accord-pii": {"class": "confidential", "action": "hash"}},
    "k": {"x-accord-pii": {"class": "confidential", "action": "hmac"}},
    "m": {"x-accord-pii": {"class": "internal", "action": "mask", "keep_chars": 2}},
    "t": {"x-accord-pii": {"class": "internal", "action": "truncate", "keep_chars": 1}},
    "r": {"x-accord-pii": {"class": "restricted", "action": "redact"}},
    "d": {"x-accord-pii": {"class": "restricted", "action": "drop"}},
    "a": {"type": "array", "items": {"$ref": "#"}},
    "o": {"$ref": "#"}
  },
  "additionalProperties": {"properties": {"m": {"x-accord-pii": {"class": "internal", "action": "mask"}}}}
}`

// FuzzApply applies rules to arbitrary JSON: no panic, valid JSON out, and
// applying twice changes nothing.
func FuzzApply(f *testing.F) {
	for _, seed := range []string{
		`{"h":"a","k":1,"m":"hello","t":[1],"r":{"x":1},"d":null,"a":[{"m":"é\u00e9"},{"d":1}],"o":{"o":{"k":"x"}}}`,
		`{"x":{"m":"masked"}, "y": 1}`,
		`[1, {"h": true}]`,
		`"text"`,
		`{"h":"\ud83d\ude00","m":"\u2028"}`,
		`{"m":-0.5e10,"t":123}`,
		`null`,
	} {
		f.Add([]byte(seed))
	}
	r, err := Compile([]byte(fuzzSchema))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			if _, err := r.Apply(nil, data, testSecrets); err == nil {
				t.Skip() // what the scanner accepts beyond encoding/json is not ours to judge here
			}
			return
		}
		out, err := r.Apply(nil, data, testSecrets)
		if err != nil {
			t.Fatalf("valid JSON %q: %v", data, err)
		}
		if !json.Valid(out) {
			t.Fatalf("%q became invalid JSON %q", data, out)
		}
		again, err := r.Apply(nil, out, testSecrets)
		if err != nil || string(again) != string(out) {
			t.Fatalf("applied twice: %q, once: %q (%v)", again, out, err)
		}
	})
}
