// Package schemawalk knows JSON Schema's keywords (drafts 4 to 2020-12):
// which of them hold subschemas, in what shape, and which can make a value
// invalid; and it walks a schema document through them. The fast validator,
// compat and lint read schemas through it, so the three agree on what a
// keyword is instead of each keeping its own lists.
package schemawalk

import (
	"sort"
	"strconv"
	"strings"

	"github.com/accord-events/accord/internal/jsonpointer"
)

// Shape is what a keyword's value holds.
type Shape uint8

const (
	// Value: the keyword holds a value, not a schema (type, required,
	// minimum, title, ...), or is not a JSON Schema keyword at all.
	Value Shape = iota
	// One: a single subschema (not, if, additionalProperties, ...).
	One
	// OneOrList: one subschema or, before 2020-12, an array of them (items).
	OneOrList
	// List: an array of subschemas (allOf, anyOf, oneOf, prefixItems).
	List
	// Map: subschemas by name (properties, $defs, ...).
	Map
	// MapOrStrings: by name, a subschema or a list of property names
	// (dependencies, split in 2019-09 into dependentSchemas and
	// dependentRequired).
	MapOrStrings
)

type keyword struct {
	name  string
	shape Shape
	// asserts: the keyword can make a value invalid, itself or through its
	// subschemas. $defs hold subschemas yet assert nothing: only a $ref
	// into them does.
	asserts bool
}

// keywords lists every keyword of drafts 4 to 2020-12 and Iglu's self. The
// order of those holding subschemas is the order Walk visits them in.
var keywords = []keyword{
	// Subschemas.
	{"additionalProperties", One, true},
	{"additionalItems", One, true},
	{"items", OneOrList, true},
	{"contains", One, true},
	{"not", One, true},
	{"if", One, true},
	{"then", One, true},
	{"else", One, true},
	{"propertyNames", One, true},
	{"unevaluatedProperties", One, true},
	{"unevaluatedItems", One, true},
	{"contentSchema", One, false},
	{"prefixItems", List, true},
	{"allOf", List, true},
	{"anyOf", List, true},
	{"oneOf", List, true},
	{"properties", Map, true},
	{"patternProperties", Map, true},
	{"definitions", Map, false},
	{"$defs", Map, false},
	{"dependentSchemas", Map, true},
	{"dependencies", MapOrStrings, true},
	// Assertions on the value itself.
	{"type", Value, true}, {"enum", Value, true}, {"const", Value, true},
	{"multipleOf", Value, true}, {"maximum", Value, true}, {"exclusiveMaximum", Value, true},
	{"minimum", Value, true}, {"exclusiveMinimum", Value, true},
	{"maxLength", Value, true}, {"minLength", Value, true}, {"pattern", Value, true}, {"format", Value, true},
	{"maxItems", Value, true}, {"minItems", Value, true}, {"uniqueItems", Value, true},
	{"maxContains", Value, true}, {"minContains", Value, true},
	{"maxProperties", Value, true}, {"minProperties", Value, true}, {"required", Value, true},
	{"dependentRequired", Value, true},
	{"contentEncoding", Value, true}, {"contentMediaType", Value, true},
	// References: they assert what the schema they name asserts.
	{"$ref", Value, true}, {"$dynamicRef", Value, true}, {"$recursiveRef", Value, true},
	// Identifiers, annotations and Iglu's self: they never reject a value.
	{"$schema", Value, false}, {"$id", Value, false}, {"id", Value, false}, {"$anchor", Value, false},
	{"$dynamicAnchor", Value, false}, {"$recursiveAnchor", Value, false}, {"$vocabulary", Value, false},
	{"$comment", Value, false}, {"title", Value, false}, {"description", Value, false},
	{"examples", Value, false}, {"default", Value, false}, {"readOnly", Value, false},
	{"writeOnly", Value, false}, {"deprecated", Value, false}, {"self", Value, false},
}

var byName = func() map[string]keyword {
	m := make(map[string]keyword, len(keywords))
	for _, k := range keywords {
		m[k.name] = k
	}
	return m
}()

// subschemaKeywords are the keywords holding subschemas, in walk order.
var subschemaKeywords = func() []keyword {
	var out []keyword
	for _, k := range keywords {
		if k.shape != Value {
			out = append(out, k)
		}
	}
	return out
}()

// ShapeOf returns what keyword k holds; Value for a name that is not a
// keyword.
func ShapeOf(k string) Shape { return byName[k].shape }

// Known reports whether k is a JSON Schema keyword (or Iglu's self).
func Known(k string) bool {
	_, ok := byName[k]
	return ok
}

// Asserts reports whether keyword k can make a value invalid. A name that is
// not a keyword asserts nothing: validators ignore it.
func Asserts(k string) bool { return byName[k].asserts }

// Annotation reports whether k is known never to reject a value: an
// identifier, an annotation, $defs, or an extension (x-accord, x-...).
// Unlike !Asserts, a name that is neither a keyword nor an extension is not
// an annotation: it may be a keyword of a later draft.
func Annotation(k string) bool {
	if kw, ok := byName[k]; ok {
		return !kw.asserts
	}
	return strings.HasPrefix(k, "x-")
}

// Children calls yield for every subschema directly below schema, with the
// pointer tokens that lead to it from schema (the keyword, and a name or
// index where the keyword holds several), in a stable order: keywords in a
// fixed order, names sorted. Values of the wrong shape (a malformed schema)
// are skipped. tokens is only valid during the call. It stops when yield
// returns false, and reports whether it ran to the end.
func Children(schema map[string]any, yield func(tokens []string, child any) bool) bool {
	var buf [2]string
	for _, kw := range subschemaKeywords {
		v, ok := schema[kw.name]
		if !ok {
			continue
		}
		switch kw.shape {
		case One, OneOrList:
			if _, isList := v.([]any); !isList {
				if !yield(append(buf[:0], kw.name), v) {
					return false
				}
				continue
			}
			fallthrough
		case List:
			list, _ := v.([]any)
			for i, child := range list {
				if !yield(append(buf[:0], kw.name, strconv.Itoa(i)), child) {
					return false
				}
			}
		case Map, MapOrStrings:
			m, _ := v.(map[string]any)
			names := make([]string, 0, len(m))
			for name, child := range m {
				if kw.shape == MapOrStrings {
					if _, isList := child.([]any); isList {
						continue // dependencies' property names
					}
				}
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				if !yield(append(buf[:0], kw.name, name), m[name]) {
					return false
				}
			}
		}
	}
	return true
}

// Walk calls visit for root, if it is an object schema, and for every object
// schema below it, depth first in the order of Children, with its JSON
// pointer (root's is ptr). Boolean schemas hold no keywords and are not
// visited. $refs are not followed: each schema in the document is visited
// once. When visit returns false the schemas below that one are skipped.
func Walk(root any, ptr string, visit func(ptr string, schema map[string]any) bool) {
	schema, ok := root.(map[string]any)
	if !ok || !visit(ptr, schema) {
		return
	}
	Children(schema, func(tokens []string, child any) bool {
		Walk(child, jsonpointer.Append(ptr, tokens...), visit)
		return true
	})
}
