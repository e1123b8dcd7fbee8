// Package compat classifies the changes between two versions of a contract's
// JSON Schema by the SchemaVer bump each one needs: ADDITION when every event
// valid under the old schema is still valid under the new one, REVISION when
// some may not be, MODEL when the shape changed and none or nearly none would.
//
// The classifier compares schemas keyword by keyword. JSON Schema keywords
// are a conjunction, so when every keyword of the new schema accepts at least
// what the same keyword of the old one did, the new schema accepts every old
// event; keywords that interact (properties with additionalProperties, the
// composition keywords) are compared together. Where it cannot prove a change
// compatible it says so and asks for a REVISION: it errs towards a bigger
// bump, never a smaller one.
package compat

import (
	"fmt"
	"sort"
)

// Bump is a SchemaVer level: Addition < Revision < Model. The zero Bump is not
// a level.
type Bump int

// The SchemaVer levels, smallest first.
const (
	// Addition: every event valid under the old schema is valid under the new.
	Addition Bump = iota + 1
	// Revision: some events valid under the old schema may not be under the new.
	Revision
	// Model: the shape changed; none or nearly none of the old events are valid.
	Model
)

// String returns ADDITION, REVISION or MODEL.
func (b Bump) String() string {
	switch b {
	case Addition:
		return "ADDITION"
	case Revision:
		return "REVISION"
	case Model:
		return "MODEL"
	}
	return fmt.Sprintf("Bump(%d)", int(b))
}

// ParseBump parses ADDITION, REVISION or MODEL.
func ParseBump(s string) (Bump, error) {
	for _, b := range []Bump{Addition, Revision, Model} {
		if s == b.String() {
			return b, nil
		}
	}
	return 0, fmt.Errorf("bump %q: use ADDITION, REVISION or MODEL", s)
}

// MarshalText encodes the bump as its name, so JSON shows "REVISION".
func (b Bump) MarshalText() ([]byte, error) {
	if b < Addition || b > Model {
		return nil, fmt.Errorf("bump %d is not a SchemaVer level", int(b))
	}
	return []byte(b.String()), nil
}

// UnmarshalText decodes a bump from its name.
func (b *Bump) UnmarshalText(p []byte) error {
	v, err := ParseBump(string(p))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// Change is one structural difference between two schemas.
type Change struct {
	// Pointer is a JSON pointer into the new schema where the change is, or
	// into the old schema when something was removed. Through a local $ref it
	// points at the definition the $ref names.
	Pointer string `json:"pointer"`
	// Property is the instance path in words: "items[].sku", "address.*" for
	// additional properties; "" is the event itself.
	Property string `json:"property"`
	// Kind is a stable snake_case identifier; see Rules.
	Kind string `json:"kind"`
	// Message says what changed, as a sentence.
	Message string `json:"message"`
	// Bump is the smallest SchemaVer bump the change needs.
	Bump Bump `json:"bump"`
}

// Needed returns the smallest bump that covers every change: the largest of
// their bumps, or Addition when there are none, since any new version is at
// least an ADDITION.
func Needed(changes []Change) Bump {
	b := Addition
	for _, c := range changes {
		if c.Bump > b {
			b = c.Bump
		}
	}
	return b
}

// Rule is one kind of change and the bump it needs.
type Rule struct {
	Kind    string `json:"kind"`
	Bump    Bump   `json:"bump"`
	Summary string `json:"summary"`
}

// rules maps every kind Diff reports to its bump; each kind has exactly one.
// It is built once and only read.
var rules = buildRules()

func buildRules() map[string]Rule {
	rules := map[string]Rule{}
	for _, r := range []Rule{
		{"type_widened", Addition, "the type accepts more (string to [string, null], integer to number)"},
		{"type_removed", Addition, "the type constraint was removed"},
		{"type_added", Revision, "a type constraint was added where there was none"},
		{"type_narrowed", Revision, "the type accepts less but overlaps the old one (number to integer, [string, null] to string)"},
		{"type_changed", Model, "the type changed to one disjoint from the old (string to integer, object to array)"},
		{"enum_added", Revision, "an enum now restricts the values"},
		{"enum_removed", Addition, "the enum was removed"},
		{"enum_value_added", Addition, "a value was added to the enum"},
		{"enum_value_removed", Revision, "a value was removed from the enum"},
		{"enum_replaced", Model, "no value of the old enum is allowed any more"},
		{"enum_values_still_valid", Addition, "a constraint was added to or changed on a property that allowed only the values of an enum or const, and every one of those values still validates (type string beside an enum of strings, a maxLength every value meets)"},
		{"const_added", Revision, "a const now fixes the value"},
		{"const_removed", Addition, "the const was removed"},
		{"const_changed", Model, "the const changed to another value"},
		{"property_added_optional", Addition, "an optional property was added that old events could not have sent with other values (the old schema was closed, or its additionalProperties accepted no more than the new property)"},
		{"property_added_constrained", Revision, "an optional property was added with constraints to an open schema: old events may have sent it with values it now rejects"},
		{"property_added_required", Model, "a property that did not exist was added as required"},
		{"property_removed", Addition, "a property was removed and the schema still accepts it as an additional property"},
		{"property_removed_constrained", Revision, "an optional property was removed and the schema now rejects or constrains it"},
		{"property_removed_forbidden", Model, "a required property was removed and the closed schema now rejects it"},
		{"required_added", Revision, "an existing property became required"},
		{"required_removed", Addition, "a property is no longer required"},
		{"additional_properties_opened", Addition, "additionalProperties: false was lifted"},
		{"additional_properties_closed", Revision, "additionalProperties: false was set on a schema that allowed extra properties"},
		{"pattern_property_added", Revision, "a patternProperties entry was added (not proven compatible)"},
		{"pattern_property_removed", Revision, "a patternProperties entry was removed (not proven compatible)"},
		{"format_added", Revision, "a format was added (Accord asserts formats)"},
		{"format_removed", Addition, "the format was removed"},
		{"format_changed", Revision, "the format changed"},
		{"pattern_added", Revision, "a pattern was added"},
		{"pattern_removed", Addition, "the pattern was removed"},
		{"pattern_changed", Revision, "the pattern changed (not proven to accept everything the old one did)"},
		{"minimum_added", Revision, "a minimum or exclusiveMinimum was added"},
		{"minimum_removed", Addition, "the minimum was removed"},
		{"minimum_tightened", Revision, "the minimum was raised, or made exclusive"},
		{"minimum_loosened", Addition, "the minimum was lowered, or made inclusive"},
		{"maximum_added", Revision, "a maximum or exclusiveMaximum was added"},
		{"maximum_removed", Addition, "the maximum was removed"},
		{"maximum_tightened", Revision, "the maximum was lowered, or made exclusive"},
		{"maximum_loosened", Addition, "the maximum was raised, or made inclusive"},
		{"multiple_of_added", Revision, "a multipleOf was added"},
		{"multiple_of_removed", Addition, "the multipleOf was removed"},
		{"multiple_of_loosened", Addition, "multipleOf changed to a divisor of the old one (10 to 5)"},
		{"multiple_of_changed", Revision, "multipleOf changed to a value that is not a divisor of the old one"},
		{"unique_items_added", Revision, "uniqueItems: true was set"},
		{"unique_items_removed", Addition, "uniqueItems: true was lifted"},
		{"tuple_changed", Revision, "a tuple form of items/prefixItems changed its length or form (not proven compatible)"},
		{"all_of_added", Revision, "a schema was added to allOf"},
		{"all_of_removed", Addition, "a schema was removed from allOf"},
		{"any_of_added", Addition, "a branch was added to anyOf"},
		{"any_of_removed", Revision, "a branch was removed from anyOf"},
		{"one_of_changed", Revision, "oneOf changed (not proven compatible)"},
		{"not_changed", Revision, "not changed (not proven compatible)"},
		{"ref_changed", Revision, "a $ref to a schema outside the registry changed (not followed)"},
		{"schema_opened", Addition, "a schema that was false now accepts values"},
		{"schema_closed", Revision, "a schema became false and rejects every value"},
		{"keyword_added", Revision, "another validation keyword was added (propertyNames, contains, if/then/else, dependencies, anyOf, oneOf, not, ...)"},
		{"keyword_removed", Addition, "another validation keyword was removed"},
		{"keyword_changed", Revision, "another validation keyword changed (not proven compatible)"},
	} {
		rules[r.Kind] = r
	}
	for _, k := range []string{"min_length", "max_length", "min_items", "max_items", "min_properties", "max_properties"} {
		rules[k+"_added"] = Rule{k + "_added", Revision, "a " + camel(k) + " was added"}
		rules[k+"_removed"] = Rule{k + "_removed", Addition, "the " + camel(k) + " was removed"}
		if k[:3] == "min" {
			rules[k+"_tightened"] = Rule{k + "_tightened", Revision, "the " + camel(k) + " was raised"}
			rules[k+"_loosened"] = Rule{k + "_loosened", Addition, "the " + camel(k) + " was lowered"}
		} else {
			rules[k+"_tightened"] = Rule{k + "_tightened", Revision, "the " + camel(k) + " was lowered"}
			rules[k+"_loosened"] = Rule{k + "_loosened", Addition, "the " + camel(k) + " was raised"}
		}
	}
	return rules
}

// Rules returns every kind of change Diff reports with its bump, by bump and
// then kind.
func Rules() []Rule {
	out := make([]Rule, 0, len(rules))
	for _, r := range rules {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Bump != out[j].Bump {
			return out[i].Bump < out[j].Bump
		}
		return out[i].Kind < out[j].Kind
	})
	return out
}

func camel(snake string) string {
	out := []byte{}
	up := false
	for i := 0; i < len(snake); i++ {
		c := snake[i]
		if c == '_' {
			up = true
			continue
		}
		if up && c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		up = false
		out = append(out, c)
	}
	return string(out)
}
