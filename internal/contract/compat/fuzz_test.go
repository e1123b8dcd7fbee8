package compat

import (
	"testing"
)

// FuzzDiff feeds Diff arbitrary documents: it must never panic, and a schema
// compared with itself must show no change.
func FuzzDiff(f *testing.F) {
	f.Add([]byte(`{"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}`),
		[]byte(`{"type": "object", "properties": {"a": {"type": ["string", "null"]}, "b": {"enum": [1, 2]}}, "additionalProperties": false}`))
	f.Add([]byte(`{"$defs": {"s": {"type": "string", "maxLength": 3}}, "properties": {"x": {"$ref": "#/$defs/s"}}}`),
		[]byte(`{"$defs": {"s": {"type": "string", "maxLength": 4}}, "properties": {"x": {"$ref": "#/$defs/s", "format": "email"}}}`))
	f.Add([]byte(`{"anyOf": [{"type": "integer", "minimum": 0, "exclusiveMinimum": true}, {"const": null}]}`),
		[]byte(`{"oneOf": [{"type": "number", "multipleOf": 0.5}], "not": {"required": ["z"]}}`))
	f.Add([]byte(`{"type": "array", "items": [{"type": "string"}, {"$ref": "#"}], "uniqueItems": true}`), []byte(`true`))
	f.Fuzz(func(t *testing.T, old, new []byte) {
		_, _ = Diff(old, new)
		for _, doc := range [][]byte{old, new} {
			changes, err := Diff(doc, doc)
			if err == nil && len(changes) != 0 {
				t.Fatalf("Diff(x, x) reported changes for %s: %+v", doc, changes)
			}
		}
	})
}
