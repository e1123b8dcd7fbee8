package compat

import (
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
)

// obj wraps properties (a JSON object's inside) and extra keywords as a
// self-describing draft-4 object schema, as most Iglu contracts are.
func obj(props string, extra ...string) string {
	s := `{"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
	"self": {"vendor": "com.example", "name": "checkout", "format": "jsonschema", "version": "1-0-0"},
	"description": "d", "type": "object", "properties": {` + props + `}`
	for _, e := range extra {
		s += ", " + e
	}
	return s + "}"
}

const closed = `"additionalProperties": false`

func TestDiff(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
		want     []string // "kind pointer property"
		bump     Bump
	}{
		// Unchanged and annotations.
		{"identical", obj(`"a": {"type": "string"}`), obj(`"a": {"type": "string"}`), nil, Addition},
		{"annotations only", obj(`"a": {"type": "string", "description": "x"}`),
			strings.Replace(obj(`"a": {"type": "string", "description": "y", "title": "A", "x-accord-pii": {"class": "restricted"}}`), `"1-0-0"`, `"1-0-1"`, 1), nil, Addition},
		{"key order and number spelling", obj(`"a": {"type": "number", "minimum": 1}`), obj(`"a": {"minimum": 1.0, "type": "number"}`), nil, Addition},

		// Properties added.
		{"optional added to closed", obj(`"a": {"type": "string"}`, closed), obj(`"a": {"type": "string"}, "coupon": {"type": "string"}`, closed),
			[]string{"property_added_optional /properties/coupon coupon"}, Addition},
		{"typed optional added to open", obj(`"a": {"type": "string"}`), obj(`"a": {"type": "string"}, "coupon": {"type": "string"}`),
			[]string{"property_added_constrained /properties/coupon coupon"}, Revision},
		{"untyped optional added to open", obj(`"a": {"type": "string"}`), obj(`"a": {"type": "string"}, "note": {"description": "free"}`),
			[]string{"property_added_optional /properties/note note"}, Addition},
		{"optional added within additionalProperties schema", obj(`"a": {"type": "string"}`, `"additionalProperties": {"type": "string"}`),
			obj(`"a": {"type": "string"}, "b": {"type": ["string", "null"]}`, `"additionalProperties": {"type": "string"}`),
			[]string{"property_added_optional /properties/b b"}, Addition},
		{"optional added tighter than additionalProperties schema", obj(`"a": {"type": "string"}`, `"additionalProperties": {"type": "string"}`),
			obj(`"a": {"type": "string"}, "b": {"type": "string", "maxLength": 3}`, `"additionalProperties": {"type": "string"}`),
			[]string{"property_added_constrained /properties/b b"}, Revision},
		{"required added to closed", obj(`"a": {"type": "string"}`, closed), obj(`"a": {"type": "string"}, "b": {"type": "string"}`, closed, `"required": ["b"]`),
			[]string{"property_added_required /properties/b b"}, Model},
		{"required added to open", obj(`"a": {"type": "string"}`), obj(`"a": {"type": "string"}, "b": {"type": "string"}`, `"required": ["b"]`),
			[]string{"property_added_required /properties/b b"}, Model},
		{"schema given to a property already required", obj(`"a": {"type": "string"}`, `"required": ["b"]`), obj(`"a": {"type": "string"}, "b": {}`, `"required": ["b"]`),
			[]string{"property_added_optional /properties/b b"}, Addition},
		{"typed schema given to a property already required", obj(`"a": {"type": "string"}`, `"required": ["b"]`), obj(`"a": {"type": "string"}, "b": {"type": "string"}`, `"required": ["b"]`),
			[]string{"property_added_constrained /properties/b b"}, Revision},
		{"required name without property", obj(`"a": {"type": "string"}`), obj(`"a": {"type": "string"}`, `"required": ["z"]`),
			[]string{"property_added_required /required z"}, Model},

		// Properties removed.
		{"optional removed from open", obj(`"a": {"type": "string"}, "b": {"type": "string"}`), obj(`"a": {"type": "string"}`),
			[]string{"property_removed /properties/b b"}, Addition},
		{"optional removed from closed", obj(`"a": {"type": "string"}, "b": {"type": "string"}`, closed), obj(`"a": {"type": "string"}`, closed),
			[]string{"property_removed_constrained /properties/b b"}, Revision},
		{"required removed from closed", obj(`"a": {"type": "string"}, "b": {"type": "string"}`, closed, `"required": ["b"]`), obj(`"a": {"type": "string"}`, closed),
			[]string{"property_removed_forbidden /properties/b b"}, Model},
		{"required removed from open", obj(`"a": {"type": "string"}, "b": {"type": "string"}`, `"required": ["b"]`), obj(`"a": {"type": "string"}`),
			[]string{"property_removed /properties/b b"}, Addition},
		{"removed into narrower additionalProperties", obj(`"a": {"type": "string"}, "n": {"type": "integer"}`, `"additionalProperties": {"type": "string"}`),
			obj(`"a": {"type": "string"}`, `"additionalProperties": {"type": "string"}`),
			[]string{"property_removed_constrained /properties/n n"}, Revision},

		// Types.
		{"integer to number", obj(`"q": {"type": "integer"}`), obj(`"q": {"type": "number"}`), []string{"type_widened /properties/q/type q"}, Addition},
		{"number to integer", obj(`"q": {"type": "number"}`), obj(`"q": {"type": "integer"}`), []string{"type_narrowed /properties/q/type q"}, Revision},
		{"made nullable", obj(`"q": {"type": "string"}`), obj(`"q": {"type": ["string", "null"]}`), []string{"type_widened /properties/q/type q"}, Addition},
		{"nullable removed", obj(`"q": {"type": ["string", "null"]}`), obj(`"q": {"type": "string"}`), []string{"type_narrowed /properties/q/type q"}, Revision},
		{"string to integer", obj(`"q": {"type": "string"}`), obj(`"q": {"type": "integer"}`), []string{"type_changed /properties/q/type q"}, Model},
		{"nullable string to nullable integer overlaps on null", obj(`"q": {"type": ["string", "null"]}`), obj(`"q": {"type": ["integer", "null"]}`), []string{"type_narrowed /properties/q/type q"}, Revision},
		{"nullable string to integer", obj(`"q": {"type": ["string", "null"]}`), obj(`"q": {"type": "integer"}`), []string{"type_changed /properties/q/type q"}, Model},
		{"root type changed", `{"type": "object"}`, `{"type": "array"}`, []string{"type_changed /type "}, Model},
		{"type removed", obj(`"q": {"type": "string"}`), obj(`"q": {}`), []string{"type_removed /properties/q/type q"}, Addition},
		{"type added", obj(`"q": {}`), obj(`"q": {"type": "string"}`), []string{"type_added /properties/q/type q"}, Revision},

		// enum and const.
		{"enum value added", obj(`"c": {"enum": ["EUR", "USD"]}`), obj(`"c": {"enum": ["EUR", "USD", "GBP"]}`), []string{`enum_value_added /properties/c/enum c`}, Addition},
		{"enum value removed", obj(`"c": {"enum": ["EUR", "USD"]}`), obj(`"c": {"enum": ["EUR"]}`), []string{`enum_value_removed /properties/c/enum c`}, Revision},
		{"enum replaced", obj(`"c": {"enum": ["EUR", "USD"]}`), obj(`"c": {"enum": ["eur", "usd"]}`), []string{`enum_replaced /properties/c/enum c`}, Model},
		{"enum added", obj(`"c": {"type": "string"}`), obj(`"c": {"type": "string", "enum": ["EUR"]}`), []string{`enum_added /properties/c/enum c`}, Revision},
		{"enum removed", obj(`"c": {"type": "string", "enum": ["EUR"]}`), obj(`"c": {"type": "string"}`), []string{`enum_removed /properties/c/enum c`}, Addition},
		{"enum numbers 1 and 1.0 are one value", obj(`"c": {"enum": [1, 2]}`), obj(`"c": {"enum": [1.0, 2]}`), nil, Addition},
		{"const added", obj(`"v": {"type": "integer"}`), obj(`"v": {"type": "integer", "const": 2}`), []string{`const_added /properties/v/const v`}, Revision},
		{"const removed", obj(`"v": {"const": 2}`), obj(`"v": {}`), []string{`const_removed /properties/v/const v`}, Addition},
		{"const changed", obj(`"v": {"const": 2}`), obj(`"v": {"const": 3}`), []string{`const_changed /properties/v/const v`}, Model},
		{"const to enum holding it", obj(`"v": {"const": 2}`), obj(`"v": {"enum": [2, 3]}`), []string{`enum_value_added /properties/v/enum v`}, Addition},

		// required on existing properties.
		{"required added for existing", obj(`"a": {"type": "string"}`), obj(`"a": {"type": "string"}`, `"required": ["a"]`), []string{"required_added /required a"}, Revision},
		{"required removed", obj(`"a": {"type": "string"}`, `"required": ["a"]`), obj(`"a": {"type": "string"}`), []string{"required_removed /required a"}, Addition},

		// additionalProperties.
		{"additionalProperties opened", obj(`"a": {}`, closed), obj(`"a": {}`), []string{"additional_properties_opened  "}, Addition},
		{"additionalProperties opened to true", obj(`"a": {}`, closed), obj(`"a": {}`, `"additionalProperties": true`), []string{"additional_properties_opened /additionalProperties "}, Addition},
		{"additionalProperties closed", obj(`"a": {}`), obj(`"a": {}`, closed), []string{"additional_properties_closed /additionalProperties "}, Revision},
		{"additionalProperties given a schema", obj(`"a": {}`), obj(`"a": {}`, `"additionalProperties": {"type": "string"}`), []string{"type_added /additionalProperties/type *"}, Revision},
		{"additionalProperties schema widened", obj(`"a": {}`, `"additionalProperties": {"type": "string"}`), obj(`"a": {}`, `"additionalProperties": {"type": ["string", "number"]}`),
			[]string{"type_widened /additionalProperties/type *"}, Addition},
		{"additionalProperties false to schema", obj(`"a": {}`, closed), obj(`"a": {}`, `"additionalProperties": {"type": "string"}`), []string{"additional_properties_opened /additionalProperties "}, Addition},
		{"patternProperties added", obj(`"a": {}`), obj(`"a": {}`, `"patternProperties": {"^x_": {"type": "string"}}`), []string{"pattern_property_added /patternProperties/^x_ /^x_/"}, Revision},
		{"patternProperties changed", obj(`"a": {}`, `"patternProperties": {"^x_": {"type": "string"}}`), obj(`"a": {}`, `"patternProperties": {"^x_": {"type": "string", "maxLength": 5}}`),
			[]string{"max_length_added /patternProperties/^x_/maxLength /^x_/"}, Revision},
		{"added property matching a patternProperties schema", obj(`"a": {}`, closed, `"patternProperties": {"^x_": {"type": "string"}}`),
			obj(`"a": {}, "x_id": {"type": "string"}`, closed, `"patternProperties": {"^x_": {"type": "string"}}`), []string{"property_added_optional /properties/x_id x_id"}, Addition},

		// format and pattern.
		{"format added", obj(`"e": {"type": "string"}`), obj(`"e": {"type": "string", "format": "email"}`), []string{"format_added /properties/e/format e"}, Revision},
		{"format removed", obj(`"e": {"type": "string", "format": "email"}`), obj(`"e": {"type": "string"}`), []string{"format_removed /properties/e/format e"}, Addition},
		{"format changed", obj(`"e": {"type": "string", "format": "email"}`), obj(`"e": {"type": "string", "format": "uri"}`), []string{"format_changed /properties/e/format e"}, Revision},
		{"pattern added", obj(`"s": {"type": "string"}`), obj(`"s": {"type": "string", "pattern": "^[A-Z]+$"}`), []string{"pattern_added /properties/s/pattern s"}, Revision},
		{"pattern removed", obj(`"s": {"type": "string", "pattern": "^[A-Z]+$"}`), obj(`"s": {"type": "string"}`), []string{"pattern_removed /properties/s/pattern s"}, Addition},
		{"pattern changed", obj(`"s": {"type": "string", "pattern": "^[A-Z]+$"}`), obj(`"s": {"type": "string", "pattern": "^[A-Za-z]+$"}`), []string{"pattern_changed /properties/s/pattern s"}, Revision},

		// Numeric bounds.
		{"minimum added", obj(`"t": {"type": "number"}`), obj(`"t": {"type": "number", "minimum": 0}`), []string{"minimum_added /properties/t/minimum t"}, Revision},
		{"minimum removed", obj(`"t": {"type": "number", "minimum": 0}`), obj(`"t": {"type": "number"}`), []string{"minimum_removed /properties/t/minimum t"}, Addition},
		{"minimum raised", obj(`"t": {"minimum": 0}`), obj(`"t": {"minimum": 1}`), []string{"minimum_tightened /properties/t/minimum t"}, Revision},
		{"minimum lowered", obj(`"t": {"minimum": 1}`), obj(`"t": {"minimum": -1}`), []string{"minimum_loosened /properties/t/minimum t"}, Addition},
		{"maximum raised", obj(`"t": {"maximum": 10}`), obj(`"t": {"maximum": 100}`), []string{"maximum_loosened /properties/t/maximum t"}, Addition},
		{"maximum lowered", obj(`"t": {"maximum": 100}`), obj(`"t": {"maximum": 99.5}`), []string{"maximum_tightened /properties/t/maximum t"}, Revision},
		{"maximum added", obj(`"t": {}`), obj(`"t": {"maximum": 5}`), []string{"maximum_added /properties/t/maximum t"}, Revision},
		{"maximum removed", obj(`"t": {"maximum": 5}`), obj(`"t": {}`), []string{"maximum_removed /properties/t/maximum t"}, Addition},
		{"draft-4 minimum made exclusive", obj(`"t": {"minimum": 0}`), obj(`"t": {"minimum": 0, "exclusiveMinimum": true}`), []string{"minimum_tightened /properties/t/minimum t"}, Revision},
		{"draft-4 maximum made inclusive", obj(`"t": {"maximum": 9, "exclusiveMaximum": true}`), obj(`"t": {"maximum": 9}`), []string{"maximum_loosened /properties/t/maximum t"}, Addition},
		{"draft-7 exclusiveMinimum to minimum at same value", `{"$schema": "http://json-schema.org/draft-07/schema#", "exclusiveMinimum": 0}`, `{"$schema": "http://json-schema.org/draft-07/schema#", "minimum": 0}`,
			[]string{"minimum_loosened /minimum "}, Addition},
		{"2020-12 exclusiveMaximum added", `{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "number"}`, `{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "number", "exclusiveMaximum": 10}`,
			[]string{"maximum_added /exclusiveMaximum "}, Revision},
		{"minimum to equivalent exclusive below is looser", obj(`"t": {"minimum": 1}`), obj(`"t": {"minimum": 0, "exclusiveMinimum": true}`), []string{"minimum_loosened /properties/t/minimum t"}, Addition},

		// Lengths and counts.
		{"minLength raised", obj(`"s": {"minLength": 1}`), obj(`"s": {"minLength": 2}`), []string{"min_length_tightened /properties/s/minLength s"}, Revision},
		{"minLength zero added is no limit", obj(`"s": {}`), obj(`"s": {"minLength": 0}`), nil, Addition},
		{"maxLength raised", obj(`"s": {"maxLength": 10}`), obj(`"s": {"maxLength": 20}`), []string{"max_length_loosened /properties/s/maxLength s"}, Addition},
		{"maxLength added", obj(`"s": {}`), obj(`"s": {"maxLength": 20}`), []string{"max_length_added /properties/s/maxLength s"}, Revision},
		{"maxLength removed", obj(`"s": {"maxLength": 20}`), obj(`"s": {}`), []string{"max_length_removed /properties/s/maxLength s"}, Addition},
		{"minItems lowered", obj(`"l": {"type": "array", "minItems": 2}`), obj(`"l": {"type": "array", "minItems": 1}`), []string{"min_items_loosened /properties/l/minItems l"}, Addition},
		{"maxItems lowered", obj(`"l": {"type": "array", "maxItems": 10}`), obj(`"l": {"type": "array", "maxItems": 5}`), []string{"max_items_tightened /properties/l/maxItems l"}, Revision},
		{"minProperties added", obj(`"m": {"type": "object"}`), obj(`"m": {"type": "object", "minProperties": 1}`), []string{"min_properties_added /properties/m/minProperties m"}, Revision},
		{"maxProperties raised", obj(`"m": {"maxProperties": 1}`), obj(`"m": {"maxProperties": 3}`), []string{"max_properties_loosened /properties/m/maxProperties m"}, Addition},

		// multipleOf.
		{"multipleOf added", obj(`"p": {}`), obj(`"p": {"multipleOf": 0.01}`), []string{"multiple_of_added /properties/p/multipleOf p"}, Revision},
		{"multipleOf removed", obj(`"p": {"multipleOf": 5}`), obj(`"p": {}`), []string{"multiple_of_removed /properties/p/multipleOf p"}, Addition},
		{"multipleOf to a divisor", obj(`"p": {"multipleOf": 10}`), obj(`"p": {"multipleOf": 5}`), []string{"multiple_of_loosened /properties/p/multipleOf p"}, Addition},
		{"multipleOf to a non-divisor", obj(`"p": {"multipleOf": 5}`), obj(`"p": {"multipleOf": 10}`), []string{"multiple_of_changed /properties/p/multipleOf p"}, Revision},

		// Arrays and nesting.
		{"items property added required", obj(`"items": {"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "string"}}}}`),
			obj(`"items": {"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}}, "required": ["qty"]}}`),
			[]string{"property_added_required /properties/items/items/properties/qty items[].qty"}, Model},
		{"items nested type narrowed", obj(`"items": {"type": "array", "items": {"type": "object", "properties": {"sku": {"type": ["string", "integer"]}}}}`),
			obj(`"items": {"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "string"}}}}`),
			[]string{"type_narrowed /properties/items/items/properties/sku/type items[].sku"}, Revision},
		{"items schema added", obj(`"l": {"type": "array"}`), obj(`"l": {"type": "array", "items": {"type": "string"}}`), []string{"type_added /properties/l/items/type l[]"}, Revision},
		{"items schema removed", obj(`"l": {"type": "array", "items": {"type": "string"}}`), obj(`"l": {"type": "array"}`), []string{"type_removed /properties/l/items/type l[]"}, Addition},
		{"uniqueItems added", obj(`"l": {"type": "array"}`), obj(`"l": {"type": "array", "uniqueItems": true}`), []string{"unique_items_added /properties/l/uniqueItems l"}, Revision},
		{"uniqueItems removed", obj(`"l": {"type": "array", "uniqueItems": true}`), obj(`"l": {"type": "array"}`), []string{"unique_items_removed /properties/l/uniqueItems l"}, Addition},
		{"tuple grew", `{"type": "array", "items": [{"type": "string"}]}`, `{"type": "array", "items": [{"type": "string"}, {"type": "integer"}]}`, []string{"tuple_changed /items []"}, Revision},
		{"tuple member narrowed", `{"type": "array", "items": [{"type": "number"}]}`, `{"type": "array", "items": [{"type": "integer"}]}`, []string{"type_narrowed /items/0/type [0]"}, Revision},
		{"nested object property removed from closed", obj(`"addr": {"type": "object", "properties": {"city": {}, "zip": {}}, "additionalProperties": false}`),
			obj(`"addr": {"type": "object", "properties": {"city": {}}, "additionalProperties": false}`), []string{"property_removed_constrained /properties/addr/properties/zip addr.zip"}, Revision},
		{"property forbidden with false", obj(`"a": {"type": "string"}`), obj(`"a": false`), []string{"schema_closed /properties/a a"}, Revision},
		{"property allowed again", obj(`"a": false`), obj(`"a": {"type": "string"}`), []string{"schema_opened /properties/a a"}, Addition},

		// $ref.
		{"ref resolved and compared", `{"definitions": {"item": {"type": "object", "properties": {"sku": {"type": "string"}}}}, "$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/definitions/item"}}}}`,
			`{"definitions": {"item": {"type": "object", "properties": {"sku": {"type": "string", "maxLength": 10}}}}, "$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/definitions/item"}}}}`,
			[]string{"max_length_added /definitions/item/properties/sku/maxLength items[].sku"}, Revision},
		{"ref inlined is unchanged", `{"$defs": {"s": {"type": "string"}}, "properties": {"a": {"$ref": "#/$defs/s"}}}`, `{"properties": {"a": {"type": "string"}}}`, nil, Addition},
		{"2020-12 ref with siblings", `{"$defs": {"s": {"type": "string"}}, "properties": {"a": {"$ref": "#/$defs/s", "maxLength": 5}}}`, `{"$defs": {"s": {"type": "string"}}, "properties": {"a": {"$ref": "#/$defs/s", "maxLength": 9}}}`,
			[]string{"max_length_loosened /properties/a/maxLength a"}, Addition},
		{"draft-7 ref ignores siblings", `{"$schema": "http://json-schema.org/draft-07/schema#", "definitions": {"s": {"type": "string"}}, "properties": {"a": {"$ref": "#/definitions/s", "maxLength": 5}}}`,
			`{"$schema": "http://json-schema.org/draft-07/schema#", "definitions": {"s": {"type": "string"}}, "properties": {"a": {"$ref": "#/definitions/s"}}}`, nil, Addition},
		{"remote ref changed", obj(`"u": {"$ref": "http://example.com/a.json"}`), obj(`"u": {"$ref": "http://example.com/b.json"}`), []string{"ref_changed /properties/u/$ref u"}, Revision},
		{"ref with escaped pointer", `{"$defs": {"a/b": {"type": "string"}}, "properties": {"x": {"$ref": "#/$defs/a~1b"}}}`, `{"$defs": {"a/b": {"type": "integer"}}, "properties": {"x": {"$ref": "#/$defs/a~1b"}}}`,
			[]string{"type_changed /$defs/a~1b/type x"}, Model},

		// Composition.
		{"anyOf branch added", `{"anyOf": [{"type": "string"}]}`, `{"anyOf": [{"type": "string"}, {"type": "null"}]}`, []string{"any_of_added /anyOf/1 "}, Addition},
		{"anyOf branch removed", `{"anyOf": [{"type": "string"}, {"type": "null"}]}`, `{"anyOf": [{"type": "null"}]}`, []string{"any_of_removed /anyOf/0 "}, Revision},
		{"anyOf branch widened", `{"anyOf": [{"type": "integer"}, {"type": "null"}]}`, `{"anyOf": [{"type": "number"}, {"type": "null"}]}`, []string{"type_widened /anyOf/0/type "}, Addition},
		{"anyOf added", `{"type": "object"}`, `{"type": "object", "anyOf": [{"required": ["a"]}, {"required": ["b"]}]}`, []string{"keyword_added /anyOf "}, Revision},
		{"oneOf changed", `{"oneOf": [{"type": "string"}, {"type": "integer"}]}`, `{"oneOf": [{"type": "string"}, {"type": "number"}]}`, []string{"one_of_changed /oneOf "}, Revision},
		{"oneOf unchanged", `{"oneOf": [{"type": "string"}, {"type": "integer"}]}`, `{"oneOf": [{"type": "string", "title": "t"}, {"type": "integer"}]}`, nil, Addition},
		{"allOf conjunct added", `{"allOf": [{"type": "object"}]}`, `{"allOf": [{"type": "object"}, {"required": ["a"]}]}`, []string{"all_of_added /allOf/1 "}, Revision},
		{"allOf conjunct removed", `{"allOf": [{"type": "object"}, {"required": ["a"]}]}`, `{"allOf": [{"type": "object"}]}`, []string{"all_of_removed /allOf/1 "}, Addition},
		{"allOf conjunct loosened", `{"allOf": [{"maxLength": 3}]}`, `{"allOf": [{"maxLength": 4}]}`, []string{"max_length_loosened /allOf/0/maxLength "}, Addition},
		{"not changed", `{"not": {"type": "string"}}`, `{"not": {"type": "number"}}`, []string{"not_changed /not "}, Revision},
		{"not removed", `{"type": "object", "not": {"required": ["x"]}}`, `{"type": "object"}`, []string{"keyword_removed /not "}, Addition},
		{"propertyNames added", `{"type": "object"}`, `{"type": "object", "propertyNames": {"pattern": "^[a-z]+$"}}`, []string{"keyword_added /propertyNames "}, Revision},
		{"if-then changed", `{"if": {"required": ["a"]}, "then": {"required": ["b"]}}`, `{"if": {"required": ["a"]}, "then": {"required": ["c"]}}`, []string{"keyword_changed /then "}, Revision},

		// Several at once.
		{"many changes take the largest", obj(`"a": {"type": "string"}, "b": {"type": "integer", "maximum": 5}`, closed),
			obj(`"a": {"type": "string", "maxLength": 10}, "b": {"type": "integer", "maximum": 6}, "c": {"type": "boolean"}`, closed, `"required": ["c"]`),
			[]string{"max_length_added /properties/a/maxLength a", "maximum_loosened /properties/b/maximum b", "property_added_required /properties/c c"}, Model},
		{"boolean root schemas", `true`, `false`, []string{"schema_closed  "}, Revision},
	}
	if len(tests) < 60 {
		t.Fatalf("only %d cases", len(tests))
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			changes, err := Diff([]byte(tc.old), []byte(tc.new))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range changes {
				got = append(got, c.Kind+" "+c.Pointer+" "+c.Property)
				if r, ok := rules[c.Kind]; !ok || r.Bump != c.Bump {
					t.Errorf("change %s has bump %s, the rule says %s", c.Kind, c.Bump, r.Bump)
				}
				if c.Message == "" {
					t.Errorf("change %s has no message", c.Kind)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("changes:\n%s\nwant:\n%s\nmessages: %s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"), messages(changes))
			}
			if b := Needed(changes); b != tc.bump {
				t.Errorf("Needed = %s, want %s", b, tc.bump)
			}
			// A schema never differs from itself.
			for _, doc := range []string{tc.old, tc.new} {
				if self, err := Diff([]byte(doc), []byte(doc)); err != nil || len(self) != 0 {
					t.Errorf("Diff(x, x) = %v, %v", self, err)
				}
			}
		})
	}
}

func messages(cs []Change) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Message)
	}
	return strings.Join(out, "; ")
}

func TestDiffMessages(t *testing.T) {
	changes, err := Diff([]byte(obj(`"a": {}`, closed)), []byte(obj(`"a": {}, "coupon": {"type": "string"}`, closed)))
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || changes[0].Message != "property coupon was added as optional" {
		t.Fatalf("changes = %+v", changes)
	}
	b, err := json.Marshal(changes[0])
	if err != nil {
		t.Fatal(err)
	}
	want := `{"pointer":"/properties/coupon","property":"coupon","kind":"property_added_optional","message":"property coupon was added as optional","bump":"ADDITION"}`
	if string(b) != want {
		t.Errorf("JSON:\n%s\nwant\n%s", b, want)
	}
	var back Change
	if err := json.Unmarshal(b, &back); err != nil || back != changes[0] {
		t.Errorf("round trip: %+v, %v", back, err)
	}
}

func TestDiffErrors(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
		want     error
		text     string
	}{
		{"cyclic ref", `{"$defs": {"node": {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}}, "$ref": "#/$defs/node"}`, `{}`, ErrCyclicRef, "#/$defs/node"},
		{"ref to itself", `{"properties": {"a": {"$ref": "#/properties/a"}}}`, `{}`, ErrCyclicRef, "/properties/a"},
		{"root ref", `{}`, `{"properties": {"a": {"$ref": "#"}}}`, ErrCyclicRef, "the root"},
		{"not JSON", `{`, `{}`, ErrNotSchema, "old schema"},
		{"not an object", `{}`, `[1]`, ErrNotSchema, "new schema"},
		{"trailing data", `{} {}`, `{}`, ErrNotSchema, "after"},
		{"dangling ref", `{"properties": {"a": {"$ref": "#/$defs/missing"}}}`, `{}`, nil, "no such location"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Diff([]byte(tc.old), []byte(tc.new))
			if err == nil {
				t.Fatal("no error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v is not %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q does not mention %q", err, tc.text)
			}
		})
	}
}

func TestDiffExponentialRefsAreBounded(t *testing.T) {
	// Each definition uses the next twice: 2^40 paths if walked naively.
	defs := `"d40": {"type": "string"}`
	for i := 39; i >= 0; i-- {
		defs += `, "d` + strconv.Itoa(i) + `": {"properties": {"a": {"$ref": "#/$defs/d` + strconv.Itoa(i+1) + `"}, "b": {"$ref": "#/$defs/d` + strconv.Itoa(i+1) + `"}}}`
	}
	doc := `{"$defs": {` + defs + `}, "$ref": "#/$defs/d0"}`
	if _, err := Diff([]byte(doc), []byte(doc)); !errors.Is(err, ErrTooComplex) {
		t.Fatalf("err = %v, want ErrTooComplex", err)
	}
}

func TestBump(t *testing.T) {
	if !(Addition < Revision && Revision < Model) {
		t.Fatal("bumps out of order")
	}
	if Needed(nil) != Addition {
		t.Errorf("Needed(nil) = %s", Needed(nil))
	}
	for _, b := range []Bump{Addition, Revision, Model} {
		got, err := ParseBump(b.String())
		if err != nil || got != b {
			t.Errorf("ParseBump(%s) = %v, %v", b, got, err)
		}
	}
	if _, err := Bump(0).MarshalText(); err == nil {
		t.Error("zero bump marshals")
	}
}

// TestRulesDocumented checks that docs/contracts.md lists every kind with its
// bump, so the table readers see is the one Diff applies.
func TestRulesDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/contracts.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Rules() {
		row := "| `" + r.Kind + "` | " + r.Bump.String() + " |"
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/contracts.md has no row %q", row)
		}
	}
}
