package contract

import (
	"encoding/json"
	"testing"
)

// FuzzSetSelfVersion: whatever the draft, SetSelfVersion never panics, and
// when it succeeds on JSON the result is JSON whose self.version is the new
// one, every other value as it was.
func FuzzSetSelfVersion(f *testing.F) {
	for _, seed := range []string{
		`{"self": {"vendor": "v", "name": "n", "format": "jsonschema", "version": "1-0-0"}}`,
		`{"a": [{"self": {"version": "x"}}], "self": {"version": "1-0-0"}}`,
		`{"self": {"version": 1}}`, `{"self": `, `[]`, `"self"`, `{"self": {"version": "\u0031-0-0"}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		out, err := SetSelfVersion(doc, "9-9-9")
		if err != nil || !json.Valid(doc) {
			return
		}
		var before, after map[string]any
		if json.Unmarshal(doc, &before) != nil {
			return
		}
		if err := json.Unmarshal(out, &after); err != nil {
			t.Fatalf("result is not JSON: %v\n%s", err, out)
		}
		self, _ := after["self"].(map[string]any)
		if self == nil || self["version"] != "9-9-9" {
			t.Fatalf("self.version not set: %s", out)
		}
		self["version"] = before["self"].(map[string]any)["version"]
		a, _ := json.Marshal(before)
		b, _ := json.Marshal(after)
		if string(a) != string(b) {
			t.Fatalf("more than self.version changed:\n%s\n%s", doc, out)
		}
	})
}
