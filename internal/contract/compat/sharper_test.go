package compat

import (
	"errors"
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/contract"
)

// d2020 is a 2020-12 object schema with props.
func d2020(props string, extra ...string) string {
	s := `{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "properties": {` + props + `}`
	for _, e := range extra {
		s += ", " + e
	}
	return s + "}"
}

func kinds(changes []Change) string {
	var out []string
	for _, c := range changes {
		out = append(out, c.Kind+" "+c.Property)
	}
	return strings.Join(out, "\n")
}

// TestDiffEnumConstraints: a constraint added beside an enum or const is
// compatible exactly when every value the enum or const allowed meets it.
func TestDiffEnumConstraints(t *testing.T) {
	for _, tc := range []struct {
		name, old, new string
		want           string
		bump           Bump
	}{
		{"type string beside an enum of strings", obj(`"c": {"enum": ["web", "ios"]}`), obj(`"c": {"enum": ["web", "ios"], "type": "string"}`),
			"enum_values_still_valid c", Addition},
		{"maxLength every value meets", obj(`"c": {"enum": ["web", "android"]}`), obj(`"c": {"enum": ["web", "android"], "maxLength": 128}`),
			"enum_values_still_valid c", Addition},
		{"maxLength a value breaks", obj(`"c": {"enum": ["web", "android"]}`), obj(`"c": {"enum": ["web", "android"], "maxLength": 3}`),
			"max_length_added c", Revision},
		{"type string beside a mixed enum", obj(`"c": {"enum": ["web", 1]}`), obj(`"c": {"enum": ["web", 1], "type": "string"}`),
			"type_added c", Revision},
		{"type string beside an enum with null", obj(`"c": {"enum": ["web", null]}`), obj(`"c": {"enum": ["web", null], "type": "string"}`),
			"type_added c", Revision},
		{"pattern and format every value meets", obj(`"e": {"enum": ["a@example.com", "b@example.com"]}`),
			obj(`"e": {"enum": ["a@example.com", "b@example.com"], "format": "email", "pattern": "@example\\.com$"}`),
			"enum_values_still_valid e", Addition},
		{"a value added and a type every value meets", obj(`"c": {"enum": ["web"]}`), obj(`"c": {"enum": ["web", "ios"], "type": "string"}`),
			"enum_value_added c\nenum_values_still_valid c", Addition},
		{"a value removed stays a revision", obj(`"c": {"enum": ["web", "ios"]}`), obj(`"c": {"enum": ["web"], "type": "string"}`),
			"type_added c\nenum_value_removed c", Revision},
		{"const (2020-12) with a pattern it meets", d2020(`"v": {"const": "x1"}`), d2020(`"v": {"const": "x1", "pattern": "^x[0-9]$", "type": "string"}`),
			"enum_values_still_valid v", Addition},
		{"const (2020-12) with a minimum it breaks", d2020(`"v": {"const": 3}`), d2020(`"v": {"const": 3, "minimum": 5}`),
			"minimum_added v", Revision},
		{"const in draft 4, which has no const, restricts nothing", obj(`"v": {"const": "x"}`), obj(`"v": {"const": "x", "type": "integer"}`),
			"type_added v", Revision},
		{"an enum of objects with a required key they all have", d2020(`"o": {"enum": [{"a": 1}, {"a": 2, "b": 1}]}`),
			d2020(`"o": {"enum": [{"a": 1}, {"a": 2, "b": 1}], "type": "object", "required": ["a"]}`),
			"enum_values_still_valid o", Addition},
	} {
		t.Run(tc.name, func(t *testing.T) {
			changes, err := Diff([]byte(tc.old), []byte(tc.new))
			if err != nil {
				t.Fatal(err)
			}
			if got := kinds(changes); got != tc.want {
				t.Errorf("changes:\n%s\nwant:\n%s\nmessages: %s", got, tc.want, messages(changes))
			}
			if b := Needed(changes); b != tc.bump {
				t.Errorf("Needed = %s, want %s", b, tc.bump)
			}
			for _, c := range changes {
				if r := rules[c.Kind]; r.Bump != c.Bump {
					t.Errorf("%s has bump %s, its rule %s", c.Kind, c.Bump, r.Bump)
				}
			}
		})
	}
}

// registry holds the other contracts the $ref cases refer to.
func registry() contract.Documents {
	docs := map[string]string{
		"com.acme/addr/jsonschema/1-0-0": d2020(`"city": {"type": "string"}`, `"additionalProperties": false`),
		"com.acme/addr/jsonschema/1-0-1": d2020(`"city": {"type": "string"}, "zip": {"type": "string"}`, `"additionalProperties": false`),
		"com.acme/addr/jsonschema/2-0-0": d2020(`"city": {"type": "integer"}`, `"additionalProperties": false`),
		"com.acme/defs/jsonschema/1-0-0": `{"$defs": {"sku": {"type": "string", "maxLength": 10}}}`,
		"com.acme/defs/jsonschema/1-0-1": `{"$defs": {"sku": {"type": "string", "maxLength": 20}}}`,
		"com.acme/loop/jsonschema/1-0-0": `{"type": "object", "properties": {"next": {"$ref": "iglu:com.acme/loop/jsonschema/1-0-0"}}}`,
	}
	return func(k contract.Key) ([]byte, bool) {
		d, ok := docs[k.Path()]
		return []byte(d), ok
	}
}

// TestDiffRefsToOtherContracts: a $ref to another contract (an iglu: key
// or the Iglu Central URL form) is resolved through the registry and
// compared as the schema it names.
func TestDiffRefsToOtherContracts(t *testing.T) {
	ref := func(to string) string { return d2020(`"address": {"$ref": "` + to + `"}`) }
	for _, tc := range []struct {
		name, old, new string
		docs           contract.Documents
		want           string
		bump           Bump
	}{
		{"iglu key, an optional property added to a closed schema", ref("iglu:com.acme/addr/jsonschema/1-0-0"), ref("iglu:com.acme/addr/jsonschema/1-0-1"),
			registry(), "property_added_optional address.zip", Addition},
		{"Iglu Central URL form, a type changed", ref("http://iglucentral.com/schemas/com.acme/addr/jsonschema/1-0-0"),
			ref("https://iglucentral.com/schemas/com.acme/addr/jsonschema/2-0-0"), registry(), "type_changed address.city", Model},
		{"from an inline schema to a contract", d2020(`"address": {"type": "object", "properties": {"city": {"type": "string"}}, "additionalProperties": false}`),
			ref("iglu:com.acme/addr/jsonschema/1-0-1"), registry(), "property_added_optional address.zip", Addition},
		{"a fragment of another contract", d2020(`"sku": {"$ref": "iglu:com.acme/defs/jsonschema/1-0-0#/$defs/sku"}`),
			d2020(`"sku": {"$ref": "iglu:com.acme/defs/jsonschema/1-0-1#/$defs/sku"}`), registry(), "max_length_loosened sku", Addition},
		{"the same $ref is the same schema", ref("iglu:com.acme/addr/jsonschema/1-0-0"), ref("iglu:com.acme/addr/jsonschema/1-0-0"),
			registry(), "", Addition},
		{"a contract the registry lacks is compared by name", ref("iglu:com.acme/nope/jsonschema/1-0-0"), ref("iglu:com.acme/nope/jsonschema/1-0-1"),
			registry(), "ref_changed address", Revision},
		{"without a registry, by name", ref("iglu:com.acme/addr/jsonschema/1-0-0"), ref("iglu:com.acme/addr/jsonschema/1-0-1"),
			nil, "ref_changed address", Revision},
		{"another URL is never fetched", ref("https://example.com/addr.json"), ref("https://example.com/addr2.json"),
			registry(), "ref_changed address", Revision},
	} {
		t.Run(tc.name, func(t *testing.T) {
			changes, err := DiffWith([]byte(tc.old), []byte(tc.new), Options{Documents: tc.docs})
			if err != nil {
				t.Fatal(err)
			}
			if got := kinds(changes); got != tc.want {
				t.Errorf("changes:\n%s\nwant:\n%s\nmessages: %s", got, tc.want, messages(changes))
			}
			if b := Needed(changes); b != tc.bump {
				t.Errorf("Needed = %s, want %s", b, tc.bump)
			}
		})
	}
}

func TestDiffRefCycleAcrossContracts(t *testing.T) {
	doc := d2020(`"chain": {"$ref": "iglu:com.acme/loop/jsonschema/1-0-0"}`)
	other := d2020(`"chain": {"$ref": "iglu:com.acme/loop/jsonschema/1-0-0"}, "x": {"type": "string"}`)
	_, err := DiffWith([]byte(doc), []byte(other), Options{Documents: registry()})
	if !errors.Is(err, ErrCyclicRef) {
		t.Fatalf("err = %v, want ErrCyclicRef", err)
	}
}
