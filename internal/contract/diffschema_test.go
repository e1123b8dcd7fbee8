package contract

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// schemaGen generates Iglu-shaped contracts from fuzz bytes: the shapes of
// Iglu Central's schemas (nested objects, arrays of objects, formats, $refs
// to definitions, nullable unions, enums with null, lengths, patterns and
// bounds, additionalProperties false) and the keywords the compiled
// validator has to get right besides (combinators, if/then/else,
// patternProperties, dependencies, uniqueItems, contains, const and enum of
// objects), under each draft's $schema, sometimes with another draft's
// keywords, which that draft ignores.
type schemaGen struct {
	src   *fuzzSource
	draft int
	defs  []string // names of the definitions, for $ref
	// refPrefix is where the definitions are: "#/definitions/" or "#/$defs/".
	refPrefix string
	recursive bool // a $ref to the whole contract was generated
	// recursiveCombinator: a combinator with two $refs to the whole
	// contract was generated
	recursiveCombinator bool
	nodes               int
}

// The drafts a generated contract declares.
const (
	draftIglu = iota // Iglu's self-describing meta-schema, itself draft 4
	draft4
	draft6
	draft7
	draft2019
	draft2020
	draftNone // no $schema: the compiler's default, 2020-12
	numDrafts
)

var draftURIs = [numDrafts]string{
	draftIglu: IgluMetaSchemaURI,
	draft4:    "http://json-schema.org/draft-04/schema#",
	draft6:    "http://json-schema.org/draft-06/schema#",
	draft7:    "http://json-schema.org/draft-07/schema#",
	draft2019: "https://json-schema.org/draft/2019-09/schema",
	draft2020: "https://json-schema.org/draft/2020-12/schema",
}

var draftNames = [numDrafts]string{"iglu", "draft4", "draft6", "draft7", "draft2019", "draft2020", "default"}

// genContract generates a contract document.
func genContract(src *fuzzSource) []byte {
	g := &schemaGen{src: src, draft: src.intn(numDrafts), nodes: 60}
	doc := map[string]any{}
	if g.draft != draftNone {
		doc["$schema"] = draftURIs[g.draft]
	}
	doc["self"] = map[string]any{"vendor": "com.fuzz", "name": "generated", "format": "jsonschema", "version": "1-0-0"}
	if n := src.intn(3); n > 0 {
		container := "definitions"
		if (g.draft >= draft2019) != src.oneIn(4) {
			container = "$defs"
		}
		g.refPrefix = "#/" + container + "/"
		for i := range n {
			g.defs = append(g.defs, fmt.Sprintf("d%d", i))
		}
		defs := map[string]any{}
		for _, name := range g.defs {
			defs[name] = g.node(2)
		}
		doc[container] = defs
	}
	// The root of an Iglu event's schema is an object, nearly always.
	root := g.objectNode(0)
	if src.oneIn(8) {
		root = g.node(0)
	}
	maps.Copy(doc, root)
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return b
}

func (g *schemaGen) num(list ...string) json.Number { return json.Number(pick(g.src, list)) }

var boundNumbers = []string{"0", "1", "-1", "10", "2.5", "0.1", "100", "1e2", "-0.5", "255", "9007199254740993", "1.5e-3"}

// node generates a schema for a value.
func (g *schemaGen) node(depth int) map[string]any {
	g.nodes--
	if depth >= 4 || g.nodes < 0 {
		return g.scalarNode()
	}
	var s map[string]any
	switch g.src.intn(17) {
	case 0, 1:
		s = g.objectNode(depth)
	case 2, 3:
		s = g.scalarNode()
	case 4:
		s = g.arrayNode(depth)
	case 5: // a nullable union, as Iglu schemas write optional fields
		s = g.scalarNode()
		if t, ok := s["type"].(string); ok && t != "null" {
			s["type"] = []any{t, "null"}
		} else {
			s["type"] = []any{"object", "null"}
		}
	case 6:
		s = map[string]any{"enum": g.enum()}
	case 7:
		s = map[string]any{"const": g.constValue()}
	case 8:
		if len(g.defs) > 0 {
			s = map[string]any{"$ref": g.refPrefix + pick(g.src, g.defs)}
			if g.src.oneIn(4) { // a sibling of $ref: ignored before 2019-09
				s["maxLength"] = g.num("0", "3")
			}
		} else if !g.recursive {
			g.recursive = true              // once: two make the stock validator's work exponential
			s = map[string]any{"$ref": "#"} // the whole contract, recursively
		} else if !g.recursiveCombinator && g.src.oneIn(2) {
			// A combinator leading back to the contract twice: an
			// exposed contract (exposure.go), whose events the memoized
			// walk decides and words. Once, and the events six levels
			// deep at most, so the stock validator checking it stays
			// quick.
			g.recursiveCombinator = true
			kw := []string{"oneOf", "anyOf", "allOf"}[g.src.intn(3)]
			s = map[string]any{kw: []any{map[string]any{"$ref": "#"}, map[string]any{"$ref": "#"}, g.scalarNode()}}
		} else {
			s = g.scalarNode()
		}
	case 9, 10, 11:
		kw := []string{"oneOf", "anyOf", "allOf"}[g.src.intn(3)]
		var list []any
		for range 2 + g.src.intn(2) {
			list = append(list, g.node(depth+1))
		}
		s = map[string]any{kw: list}
		if g.src.intn(2) == 0 {
			s["type"] = pick(g.src, []string{"object", "string", "integer"})
		}
	case 12:
		s = map[string]any{"not": g.node(depth + 1)}
	case 13:
		s = map[string]any{"if": g.node(depth + 1), "then": g.node(depth + 1)}
		if g.src.intn(2) == 0 {
			s["else"] = g.node(depth + 1)
		}
	case 14:
		return map[string]any{"$comment": "true"} // {}
	case 15:
		s = g.objectNode(depth)
		s["type"] = []any{"object", "null"}
	case 16:
		s = map[string]any{"type": "array", "items": g.objectNode(depth + 1)} // an array of objects
	}
	if g.src.oneIn(6) {
		s["description"] = "generated"
		s["x-accord-pii"] = map[string]any{"class": "restricted", "action": "hmac"}
	}
	return s
}

// sub is a schema or, now and then, a boolean schema (from draft 6 on).
func (g *schemaGen) sub(depth int) any {
	if g.draft == draftIglu || g.draft == draft4 {
		return g.node(depth)
	}
	switch g.src.intn(10) {
	case 8:
		return true
	case 9:
		return false
	}
	return g.node(depth)
}

func (g *schemaGen) scalarNode() map[string]any {
	s := g.typedScalar()
	if len(s) > 1 && g.src.oneIn(6) {
		// Without a type, a string's or a number's keywords hold only
		// for values of that kind: any other value is valid.
		delete(s, "type")
	}
	return s
}

func (g *schemaGen) typedScalar() map[string]any {
	switch g.src.intn(6) {
	case 0, 1:
		return g.stringNode()
	case 2:
		return g.numberNode("integer")
	case 3:
		return g.numberNode("number")
	case 4:
		return map[string]any{"type": "boolean"}
	}
	return map[string]any{"type": pick(g.src, []string{"null", "string", "integer"})}
}

var (
	genPatterns = []string{"^[a-z]+$", "^[A-Z]{3}$", "^[a-z0-9_-]{1,8}$", "[0-9]", `^\d{4}-\d{2}$`, "^(foo|bar)$", "^.{2,4}$", `^\w+@\w+$`,
		"é", "^[^ ]*$", `^\S+$`, "(?i)^abc$", "^$", "^[\u00e0-\u00ff]+$", "^a|b$"}
	genFormats = []string{"date-time", "date", "time", "email", "uri", "uri-reference", "uuid", "ipv4", "ipv6", "hostname",
		"duration", "regex", "json-pointer", "idn-email", "iri", "uri-template", "x-custom"}
)

func (g *schemaGen) stringNode() map[string]any {
	s := map[string]any{"type": "string"}
	if g.src.intn(2) == 1 {
		s["maxLength"] = g.num("0", "1", "3", "4096", "255", "10")
	}
	if g.src.oneIn(4) {
		s["minLength"] = g.num("0", "1", "2")
	}
	switch g.src.intn(5) {
	case 1:
		s["format"] = pick(g.src, genFormats)
	case 2:
		s["pattern"] = pick(g.src, genPatterns)
	case 3:
		s["enum"] = []any{"a", "b", "GBP", "é", ""}[:1+g.src.intn(5)]
		if g.src.intn(2) == 1 {
			s["enum"] = append(s["enum"].([]any), nil)
			s["type"] = []any{"string", "null"}
		}
	}
	return s
}

func (g *schemaGen) numberNode(typ string) map[string]any {
	s := map[string]any{"type": typ}
	if g.src.intn(2) == 1 {
		s["minimum"] = g.num(boundNumbers...)
	}
	if g.src.intn(2) == 1 {
		s["maximum"] = g.num(boundNumbers...)
	}
	switch g.src.intn(4) {
	case 1: // draft 4 writes exclusive bounds as booleans beside minimum and maximum
		if g.draft == draftIglu || g.draft == draft4 {
			if _, ok := s["minimum"]; ok {
				s["exclusiveMinimum"] = true
			}
			if _, ok := s["maximum"]; ok {
				s["exclusiveMaximum"] = g.src.intn(2) == 1
			}
		} else {
			s[pick(g.src, []string{"exclusiveMinimum", "exclusiveMaximum"})] = g.num(boundNumbers...)
		}
	case 2:
		s["multipleOf"] = g.num("2", "0.5", "0.1", "3", "1e-2", "7")
	}
	if g.src.oneIn(5) {
		s["enum"] = []any{json.Number("1"), json.Number("2.5"), json.Number("-0"), nil}[:1+g.src.intn(4)]
	}
	return s
}

func (g *schemaGen) objectNode(depth int) map[string]any {
	s := map[string]any{"type": "object"}
	props := map[string]any{}
	for range g.src.intn(6) {
		props[pick(g.src, memberNames)] = g.sub(depth + 1)
	}
	s["properties"] = props
	var required []any
	for _, name := range slices.Sorted(maps.Keys(props)) {
		if g.src.intn(2) == 1 {
			required = append(required, name)
		}
	}
	if g.src.oneIn(6) {
		required = append(required, "not_a_property")
	}
	if len(required) > 0 {
		s["required"] = required
	}
	switch g.src.intn(4) {
	case 1:
		s["additionalProperties"] = false
	case 2:
		s["additionalProperties"] = g.sub(depth + 1)
	}
	if g.src.oneIn(5) {
		s["patternProperties"] = map[string]any{"^x_": g.sub(depth + 1), "[0-9]$": g.scalarNode()}
	}
	if g.src.oneIn(5) {
		names := slices.Sorted(maps.Keys(props))
		if len(names) > 0 {
			kw := "dependencies"
			if g.src.intn(2) == 1 { // 2019-09's name; earlier drafts ignore it
				kw = "dependentRequired"
			}
			s[kw] = map[string]any{pick(g.src, names): []any{pick(g.src, memberNames)}}
			if g.src.oneIn(3) {
				s["dependentSchemas"] = map[string]any{pick(g.src, names): g.objectNode(depth + 1)}
			}
		}
	}
	if g.src.oneIn(6) {
		s["minProperties"] = g.num("1", "2")
	}
	if g.src.oneIn(6) {
		s["maxProperties"] = g.num("0", "1", "3")
	}
	if g.src.oneIn(8) {
		s["propertyNames"] = pick(g.src, []any{map[string]any{"maxLength": json.Number("2")}, map[string]any{"pattern": "^[a-z_]+$"}})
	}
	if g.src.oneIn(10) {
		s["unevaluatedProperties"] = false
	}
	return s
}

func (g *schemaGen) arrayNode(depth int) map[string]any {
	s := map[string]any{"type": "array"}
	switch g.src.intn(4) {
	case 0, 1:
		s["items"] = g.sub(depth + 1)
	case 2: // a tuple
		tuple := []any{g.scalarNode(), g.scalarNode()}
		if g.draft >= draft2019 && g.draft != draftIglu {
			s["prefixItems"] = tuple
			s["items"] = g.sub(depth + 1)
		} else {
			s["items"] = tuple
			s["additionalItems"] = g.sub(depth + 1)
		}
	}
	if g.src.intn(2) == 1 {
		s["minItems"] = g.num("0", "1", "2")
	}
	if g.src.intn(2) == 1 {
		s["maxItems"] = g.num("0", "1", "3")
	}
	if g.src.oneIn(4) {
		s["uniqueItems"] = true
	}
	if g.src.oneIn(4) {
		s["contains"] = g.scalarNode()
		if g.src.intn(2) == 1 {
			s["minContains"] = g.num("0", "2")
			s["maxContains"] = g.num("1", "2")
		}
	}
	return s
}

func (g *schemaGen) enum() []any {
	pool := []any{"a", "b", json.Number("1.0"), nil, true, map[string]any{"k": "v"}, []any{json.Number("1"), "x"}, "", json.Number("2")}
	var out []any
	taken := map[int]bool{}
	for range 1 + g.src.intn(4) {
		i := g.src.intn(len(pool))
		if !taken[i] {
			taken[i] = true
			out = append(out, pool[i])
		}
	}
	return out
}

func (g *schemaGen) constValue() any {
	return pick(g.src, []any{"fixed", json.Number("0"), json.Number("2.50"), true, nil,
		map[string]any{"a": json.Number("1"), "b": []any{"x", nil}}, []any{json.Number("1"), json.Number("2")}, map[string]any{}})
}
