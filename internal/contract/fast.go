package contract

import (
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/accord-events/accord/internal/contract/schemawalk"
	"github.com/accord-events/accord/internal/jsonpointer"
	"github.com/accord-events/accord/internal/jsonscan"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The fast path answers one question, "is this JSON valid against the
// contract?", straight from the bytes the event was sent in: no decoding into
// maps, no allocation for a typical event. It is compiled from the common
// subset of JSON Schema (types, properties, required, additionalProperties,
// items, enum, const, bounds, lengths, patterns, formats and local $refs).
//
// It is only ever trusted to say "valid". Anything it is not sure of (a
// keyword outside the subset, a number too precise for a float64, an escaped
// string) makes it answer "not sure", and the stock validator decides; so does
// every invalid event, so failure messages always come from one place.
// FuzzFastPath holds it to the stock validator's verdicts.

// fastNode is one compiled schema.
type fastNode struct {
	anything bool // true schema or {}: every value is valid
	nothing  bool // false schema: no value is valid

	types uint8 // allowed kinds (typeNull...); 0 means any

	// Strings.
	minLength, maxLength int // -1 when absent
	pattern              *fastPattern
	format               *fastFormat

	// Numbers.
	minimum, maximum           float64
	hasMinimum, hasMaximum     bool
	exclusiveMin, exclusiveMax bool

	// enum and const, as canonical values: string, bool or nil.
	enum    []any
	hasEnum bool

	// Objects. members holds what the schema says of each name it names
	// (in properties, in required or both), so that one lookup per member
	// of the data finds both.
	members       map[string]fastMember
	required      []string
	additional    *fastNode // nil: any additional property is allowed
	minProperties int       // -1 when absent
	maxProperties int

	// Arrays.
	items              *fastNode
	minItems, maxItems int
}

// fastMember is what an object's schema says of one member name.
type fastMember struct {
	// property is the name's schema under properties; nil when the name
	// is only required, and additionalProperties governs it.
	property *fastNode
	// required has bit r set when the name is required[r].
	required uint64
}

const (
	typeNull uint8 = 1 << iota
	typeBoolean
	typeInteger
	typeNumber // any number, integers included
	typeString
	typeArray
	typeObject
)

var typeBits = map[string]uint8{
	"null": typeNull, "boolean": typeBoolean, "integer": typeInteger, "number": typeNumber | typeInteger,
	"string": typeString, "array": typeArray, "object": typeObject,
}

// fastRefuses reports whether the fast path leaves a schema using keyword k
// to the stock validator: every keyword that can reject a value (as
// schemawalk knows them) and that the fast path does not implement, and the
// anchors, vocabularies and content schemas that change what other keywords
// mean. Names that are not keywords, and keywords that never reject
// (title, description, x-accord, self, $defs, ...), are annotations.
func fastRefuses(k string) bool {
	switch k {
	case "$ref", "contentEncoding", "contentMediaType":
		// $ref is followed by ref; the stock validator does not assert
		// content (AssertContent is off), so neither does the fast path.
		return false
	case "$anchor", "$dynamicAnchor", "$recursiveAnchor", "$vocabulary", "contentSchema":
		return true
	}
	return schemawalk.Asserts(k) && !assertsKeyword(k)
}

// fastFormats are the formats whose check the fast path borrows from the
// library (so the two agree on what a valid uri is).
var fastFormats = map[string]bool{
	"date-time": true, "date": true, "time": true, "email": true, "uri": true, "uri-reference": true,
	"uuid": true, "ipv4": true, "ipv6": true, "hostname": true, "duration": true,
}

// compileFast compiles the fast path for a schema document, or returns nil
// when the schema uses anything outside the subset.
// draft is the JSON Schema draft the stock validator compiled it under
// (jsonschema.Schema.DraftVersion), which decides the keywords it knows.
func compileFast(doc any, draft int) *fastNode {
	root, ok := doc.(map[string]any)
	if !ok {
		return nil
	}
	fc := fastCompiler{root: root, draft: draft, formats: map[string]*fastFormat{}, refs: map[string]*fastNode{}}
	n, ok := fc.node(doc, 0)
	if !ok {
		return nil
	}
	return n
}

type fastCompiler struct {
	root    map[string]any
	draft   int
	formats map[string]*fastFormat
	refs    map[string]*fastNode // compiled $ref targets; nil while compiling (a cycle)
}

// maxFastDepth bounds schema nesting (and so recursion) on the fast path.
const maxFastDepth = 32

func (fc *fastCompiler) node(v any, depth int) (*fastNode, bool) {
	if depth > maxFastDepth {
		return nil, false
	}
	switch v := v.(type) {
	case bool:
		return &fastNode{anything: v, nothing: !v}, true
	case map[string]any:
		return fc.object(v, depth)
	}
	return nil, false
}

func (fc *fastCompiler) object(s map[string]any, depth int) (*fastNode, bool) {
	if ref, ok := s["$ref"]; ok {
		return fc.ref(s, ref, depth)
	}
	n := &fastNode{minLength: -1, maxLength: -1, minProperties: -1, maxProperties: -1, minItems: -1, maxItems: -1}
	asserts := false
	for k, v := range s {
		if fastRefuses(k) {
			return nil, false
		}
		if depth > 0 && (k == "$id" || k == "id") {
			if _, isString := v.(string); isString {
				return nil, false // a nested resource changes what "#" means
			}
		}
		ok := true
		switch k {
		case "type":
			n.types, ok = typesOf(v)
		case "minLength":
			n.minLength, ok = nonNegInt(v)
		case "maxLength":
			n.maxLength, ok = nonNegInt(v)
		case "pattern":
			var p string
			if p, ok = v.(string); ok {
				var err error
				n.pattern, err = compilePattern(p)
				ok = err == nil
			}
		case "format":
			n.format, ok = fc.formatSchema(v)
		case "minimum":
			n.minimum, ok = number(v)
			n.hasMinimum = true
		case "maximum":
			n.maximum, ok = number(v)
			n.hasMaximum = true
		case "exclusiveMinimum", "exclusiveMaximum":
			ok = fc.exclusive(n, k, v, s)
		case "enum":
			var list []any
			if list, ok = v.([]any); ok {
				n.enum, ok = enumValues(list)
				n.hasEnum = true
			}
		case "const":
			if fc.draft < 6 {
				continue // draft 4 has no const: an annotation
			}
			n.enum, ok = enumValues([]any{v})
			n.hasEnum = true
		case "properties":
			var props map[string]any
			if props, ok = v.(map[string]any); ok {
				if n.members == nil {
					n.members = make(map[string]fastMember, len(props))
				}
				for name, ps := range props {
					m := n.members[name]
					if m.property, ok = fc.node(ps, depth+1); !ok {
						break
					}
					n.members[name] = m
				}
			}
		case "required":
			n.required, ok = stringList(v)
		case "additionalProperties":
			n.additional, ok = fc.node(v, depth+1)
		case "minProperties":
			n.minProperties, ok = nonNegInt(v)
		case "maxProperties":
			n.maxProperties, ok = nonNegInt(v)
		case "items":
			n.items, ok = fc.node(v, depth+1) // an array of schemas (tuple form) is not a schema: refused
		case "minItems":
			n.minItems, ok = nonNegInt(v)
		case "maxItems":
			n.maxItems, ok = nonNegInt(v)
		default:
			continue // an annotation
		}
		if !ok {
			return nil, false
		}
		asserts = true
	}
	if !asserts {
		n.anything = true
	}
	if len(n.required) <= maxRequired {
		// Beyond maxRequired checkObject leaves the object to the stock
		// validator, and the bits would not fit.
		for r, name := range n.required {
			if n.members == nil {
				n.members = make(map[string]fastMember, len(n.required))
			}
			m := n.members[name]
			m.required |= 1 << r
			n.members[name] = m
		}
	}
	return n, true
}

// ref follows a local $ref ("#", "#/definitions/x", "#/$defs/x"). Only a
// $ref alone is taken: drafts disagree on whether its siblings apply.
func (fc *fastCompiler) ref(s map[string]any, ref any, depth int) (*fastNode, bool) {
	for k := range s {
		if k != "$ref" && (fastRefuses(k) || assertsKeyword(k)) {
			return nil, false
		}
	}
	r, ok := ref.(string)
	if !ok || len(r) == 0 || r[0] != '#' {
		return nil, false
	}
	if n, seen := fc.refs[r]; seen {
		return n, n != nil // nil: a recursive schema, left to the stock validator
	}
	fc.refs[r] = nil
	target, ok := jsonpointer.Resolve(fc.root, r[1:])
	if !ok {
		return nil, false
	}
	n, ok := fc.node(target, depth+1)
	if !ok {
		return nil, false
	}
	fc.refs[r] = n
	return n, true
}

// assertsKeyword reports whether k is a keyword the fast path asserts.
func assertsKeyword(k string) bool {
	switch k {
	case "type", "minLength", "maxLength", "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
		"enum", "const", "properties", "required", "additionalProperties", "minProperties", "maxProperties", "items", "minItems", "maxItems":
		return true
	}
	return false
}

// exclusive handles both forms: draft 4's boolean modifier of minimum and
// maximum, and later drafts' numeric bound.
func (fc *fastCompiler) exclusive(n *fastNode, k string, v any, s map[string]any) bool {
	if b, ok := v.(bool); ok {
		if k == "exclusiveMinimum" {
			n.exclusiveMin = b
		} else {
			n.exclusiveMax = b
		}
		return true
	}
	f, ok := number(v)
	if !ok {
		return false
	}
	// A numeric bound beside a plain one: keep it only when it is stricter,
	// which needs both to be read; keep it simple and refuse.
	if k == "exclusiveMinimum" {
		if _, both := s["minimum"]; both {
			return false
		}
		n.minimum, n.hasMinimum, n.exclusiveMin = f, true, true
	} else {
		if _, both := s["maximum"]; both {
			return false
		}
		n.maximum, n.hasMaximum, n.exclusiveMax = f, true, true
	}
	return true
}

func (fc *fastCompiler) formatSchema(v any) (*fastFormat, bool) {
	name, ok := v.(string)
	if !ok || !fastFormats[name] {
		return nil, false
	}
	if s, ok := fc.formats[name]; ok {
		return s, true
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("format.json", map[string]any{"format": name}); err != nil {
		return nil, false
	}
	s, err := c.Compile("format.json")
	if err != nil {
		return nil, false
	}
	f := &fastFormat{quick: quickFormats[name], lib: s}
	fc.formats[name] = f
	return f, true
}

func typesOf(v any) (uint8, bool) {
	switch v := v.(type) {
	case string:
		bit, ok := typeBits[v]
		return bit, ok
	case []any:
		var bits uint8
		for _, t := range v {
			s, ok := t.(string)
			if !ok || typeBits[s] == 0 {
				return 0, false
			}
			bits |= typeBits[s]
		}
		return bits, len(v) > 0
	}
	return 0, false
}

func number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || !exactFloat(string(n)) || !fullPrecision(f, string(n)) {
		return 0, false
	}
	return f, true
}

// fullPrecision reports whether f, parsed from text, kept the precision
// exactFloat counts on: a number below the least normal float64 (5e-324)
// keeps fewer digits, and one that underflowed to zero (-1e-400) none,
// though the stock validator, comparing exactly, still sees it below 0.
func fullPrecision(f float64, text string) bool {
	if math.Abs(f) >= 0x1p-1022 {
		return true
	}
	for i := 0; i < len(text) && text[i] != 'e' && text[i] != 'E'; i++ {
		if text[i] >= '1' && text[i] <= '9' {
			return false
		}
	}
	return true // a zero, however written
}

// exactFloat reports whether a number's text has few enough significant
// digits that float64 comparisons with it are exact enough to trust.
func exactFloat(s string) bool {
	digits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 'e' || c == 'E' {
			break
		}
		if c >= '0' && c <= '9' {
			digits++
		}
	}
	return digits <= 15
}

func nonNegInt(v any) (int, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(string(n))
	return i, err == nil && i >= 0
}

func stringList(v any) ([]string, bool) {
	list, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, ok := x.(string)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// enumValues keeps enum members the fast path can compare without decoding:
// strings, booleans and null.
func enumValues(list []any) ([]any, bool) {
	for _, x := range list {
		switch x.(type) {
		case string, bool, nil:
		default:
			return nil, false
		}
	}
	return list, true
}

// fastVerdict is the fast path's answer for one value against one schema.
type fastVerdict uint8

const (
	// fastValid: the value is certainly valid.
	fastValid fastVerdict = iota
	// fastInvalid: the value is certainly invalid; the stock validator
	// words why.
	fastInvalid
	// fastUnsure: the fast path cannot decide exactly (a number too precise
	// for a float64, an escaped string, a keyword it does not implement,
	// text that is not JSON); the stock validator decides.
	fastUnsure
)

// verdict says whether raw is valid against the schema. raw must have been
// read as the collector reads event data (jsonscan: no object repeats a
// member name): a repeated name could make it say invalid where the stock
// validator, keeping the last value, says valid.
func (n *fastNode) verdict(raw []byte) fastVerdict {
	i := jsonscan.SkipSpace(raw, 0)
	end, v := n.check(raw, i)
	if end < 0 {
		return fastUnsure // not JSON: decoding says why
	}
	if v == fastInvalid {
		return fastInvalid
	}
	if jsonscan.SkipSpace(raw, end) != len(raw) {
		return fastUnsure
	}
	return v
}

// notJSON is check's end for text that is not JSON: the walk stops, and the
// verdict is fastUnsure.
const notJSON = -1

// worse combines the verdicts of two checks that must both hold.
func worse(a, b fastVerdict) fastVerdict { return max(a, b) }

// skip reads past the value at b[i] whatever it is.
func skip(b []byte, i int) int {
	end, err := jsonscan.Value(b, i)
	if err != nil {
		return notJSON
	}
	return end
}

// check checks the value at b[i] and returns the index past it and the
// verdict. When the verdict is fastInvalid the walk stops early and the
// index is not meaningful; when the text is not JSON the index is notJSON.
func (n *fastNode) check(b []byte, i int) (int, fastVerdict) {
	if i >= len(b) {
		return notJSON, fastUnsure
	}
	if n.anything {
		return skip(b, i), fastValid
	}
	if n.nothing {
		return i, fastInvalid
	}
	switch c := b[i]; {
	case c == '{':
		if n.types != 0 && n.types&typeObject == 0 {
			return i, fastInvalid
		}
		return n.checkObject(b, i)
	case c == '[':
		if n.types != 0 && n.types&typeArray == 0 {
			return i, fastInvalid
		}
		return n.checkArray(b, i)
	case c == '"':
		return n.checkString(b, i)
	case c == 't' || c == 'f':
		end := skip(b, i)
		if end < 0 {
			return end, fastUnsure
		}
		if n.types != 0 && n.types&typeBoolean == 0 {
			return end, fastInvalid
		}
		return end, n.inEnum(c == 't')
	case c == 'n':
		end := skip(b, i)
		if end < 0 {
			return end, fastUnsure
		}
		if n.types != 0 && n.types&typeNull == 0 {
			return end, fastInvalid
		}
		return end, n.inEnum(nil)
	default:
		return n.checkNumber(b, i)
	}
}

// inEnum checks a scalar against enum and const.
func (n *fastNode) inEnum(v any) fastVerdict {
	if !n.hasEnum {
		return fastValid
	}
	for _, e := range n.enum {
		if e == v {
			return fastValid
		}
	}
	return fastInvalid
}

func (n *fastNode) checkString(b []byte, i int) (int, fastVerdict) {
	end, escaped, err := jsonscan.StringEscaped(b, i)
	if err != nil {
		return notJSON, fastUnsure
	}
	if n.types != 0 && n.types&typeString == 0 {
		return end, fastInvalid
	}
	s := b[i+1 : end-1]
	if escaped || !utf8.Valid(s) {
		return end, fastUnsure
	}
	if n.minLength >= 0 || n.maxLength >= 0 {
		l := utf8.RuneCount(s)
		if (n.minLength >= 0 && l < n.minLength) || (n.maxLength >= 0 && l > n.maxLength) {
			return end, fastInvalid
		}
	}
	if n.pattern != nil && !n.pattern.Match(s) {
		return end, fastInvalid
	}
	if n.hasEnum {
		found := false
		for _, e := range n.enum {
			if es, ok := e.(string); ok && es == string(s) {
				found = true
				break
			}
		}
		if !found {
			return end, fastInvalid
		}
	}
	if n.format != nil && !n.format.valid(s) {
		return end, fastInvalid
	}
	return end, fastValid
}

func (n *fastNode) checkNumber(b []byte, i int) (int, fastVerdict) {
	end, plainInt, err := jsonscan.Number(b, i)
	if err != nil {
		return notJSON, fastUnsure // not JSON, or beyond float64
	}
	if n.hasEnum {
		return end, fastUnsure
	}
	text := b[i:end]
	if n.types != 0 {
		switch {
		case n.types&typeNumber != 0:
		case n.types&typeInteger != 0 && plainInt:
		case n.types&typeInteger != 0:
			return end, fastUnsure // 1.0 and 1e2 are integers: not sure
		default:
			return end, fastInvalid
		}
	}
	if !n.hasMinimum && !n.hasMaximum {
		return end, fastValid
	}
	if !exactFloat(string(text)) {
		return end, fastUnsure
	}
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil || math.IsInf(f, 0) || !fullPrecision(f, string(text)) {
		return end, fastUnsure
	}
	if n.hasMinimum && (f < n.minimum || (n.exclusiveMin && f == n.minimum)) {
		return end, fastInvalid
	}
	if n.hasMaximum && (f > n.maximum || (n.exclusiveMax && f == n.maximum)) {
		return end, fastInvalid
	}
	return end, fastValid
}

// maxRequired bounds the required properties the fast path tracks (in a
// bitmask); schemas requiring more go to the stock validator.
const maxRequired = 64

func (n *fastNode) checkObject(b []byte, i int) (int, fastVerdict) {
	if len(n.required) > maxRequired {
		return skip(b, i), fastUnsure
	}
	verdict := fastValid
	var seen uint64
	count := 0
	i = jsonscan.SkipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, worse(verdict, n.objectDone(seen, count))
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return notJSON, fastUnsure
		}
		ke, escaped, err := jsonscan.StringEscaped(b, i)
		if err != nil {
			return notJSON, fastUnsure
		}
		key := b[i+1 : ke-1]
		i = jsonscan.SkipSpace(b, ke)
		if i >= len(b) || b[i] != ':' {
			return notJSON, fastUnsure
		}
		i = jsonscan.SkipSpace(b, i+1)
		if escaped {
			// The name is not the bytes sent: not sure which schema
			// governs it, nor which required name it fills.
			if i = skip(b, i); i < 0 {
				return i, fastUnsure
			}
			verdict = fastUnsure
		} else {
			m := n.members[string(key)]
			sub := m.property
			if sub == nil {
				sub = n.additional
			}
			var v fastVerdict
			if sub == nil {
				i, v = skip(b, i), fastValid
			} else {
				i, v = sub.check(b, i)
			}
			if i < 0 || v == fastInvalid {
				return i, v
			}
			verdict = worse(verdict, v)
			seen |= m.required
		}
		count++
		i = jsonscan.SkipSpace(b, i)
		if i >= len(b) {
			return notJSON, fastUnsure
		}
		switch b[i] {
		case ',':
			i = jsonscan.SkipSpace(b, i+1)
		case '}':
			done := n.objectDone(seen, count)
			if done == fastInvalid && verdict == fastUnsure && seen != uint64(1)<<len(n.required)-1 {
				// An escaped name may be the missing required one.
				done = fastUnsure
			}
			return i + 1, worse(verdict, done)
		default:
			return notJSON, fastUnsure
		}
	}
}

func (n *fastNode) objectDone(seen uint64, count int) fastVerdict {
	if n.minProperties >= 0 && count < n.minProperties {
		return fastInvalid
	}
	if n.maxProperties >= 0 && count > n.maxProperties {
		return fastInvalid
	}
	// For 64 required properties the shift gives 0 and the mask all ones.
	if seen != uint64(1)<<len(n.required)-1 {
		return fastInvalid
	}
	if n.hasEnum {
		return fastUnsure
	}
	return fastValid
}

func (n *fastNode) checkArray(b []byte, i int) (int, fastVerdict) {
	verdict := fastValid
	count := 0
	i = jsonscan.SkipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, n.arrayDone(count)
	}
	for {
		var v fastVerdict
		if n.items == nil {
			i, v = skip(b, i), fastValid
		} else {
			i, v = n.items.check(b, i)
		}
		if i < 0 || v == fastInvalid {
			return i, v
		}
		verdict = worse(verdict, v)
		count++
		i = jsonscan.SkipSpace(b, i)
		if i >= len(b) {
			return notJSON, fastUnsure
		}
		switch b[i] {
		case ',':
			i = jsonscan.SkipSpace(b, i+1)
		case ']':
			return i + 1, worse(verdict, n.arrayDone(count))
		default:
			return notJSON, fastUnsure
		}
	}
}

func (n *fastNode) arrayDone(count int) fastVerdict {
	if n.minItems >= 0 && count < n.minItems {
		return fastInvalid
	}
	if n.maxItems >= 0 && count > n.maxItems {
		return fastInvalid
	}
	if n.hasEnum {
		return fastUnsure
	}
	return fastValid
}

func (v fastVerdict) String() string {
	switch v {
	case fastValid:
		return "valid"
	case fastInvalid:
		return "invalid"
	}
	return "unsure"
}
