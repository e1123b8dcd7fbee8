package contract

import (
	"math"
	"math/big"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The fast path decides, straight from the bytes the event was sent in,
// whether it is valid against the contract: no decoding into maps, no
// allocation for a typical event. It is compiled from the stock validator's
// own compiled schema (jsonschema.Schema), so it follows the same draft's
// semantics (draft 4's $ref that hides its siblings, which keywords each
// draft knows) and the same resolved $refs, local or to other contracts.
//
// It answers valid, invalid or unsure, per subschema, so that not, anyOf,
// oneOf and if/then/else can be decided from their branches. Unsure is for
// what it cannot decide exactly (a bound float64 cannot hold, a
// non-UTF-8 string, a uniqueItems array beyond maxUniqueItems, a keyword it
// does not implement such as unevaluatedProperties or $dynamicRef, a walk
// beyond its work budget): only that subschema is unsure, and the stock
// validator decides the event. Every invalid event is also decoded and
// handed to the stock validator, which words the messages, except under a
// contract whose combinators lead back to themselves, where the memoized
// walk of fastmemo.go decides and words it instead. FuzzFastPath and the
// differential fuzzers hold it to the stock validator's verdicts.

// fastNode is one compiled schema.
type fastNode struct {
	mode fastMode

	types uint8 // allowed kinds (typeNull...); 0 means any

	// enum and const; each, when set, must hold.
	enum        []fastValue
	hasEnum     bool
	enumStrings bool // enum holds only strings, and no const: checkString checks it
	constant    *fastValue

	// after says what check does after the value's own keywords
	// (afterEnum, afterInPlace): 0 for most nodes.
	after uint8

	// Strings.
	minLength, maxLength int // -1 when absent
	pattern              *fastPattern
	format               *fastFormat
	strings              bool // any of the above: a string's text must be read

	// Numbers: bounds as exact decimals.
	minimum, maximum, exclusiveMin, exclusiveMax, multipleOf *fastDecimal
	numbersUnsure                                            bool // a bound the decimals cannot hold
	numbers                                                  bool // any bound
	// intBounds: the bounds are integers that fit an int64 and there is
	// no multipleOf, so a plain integer of at most maxIntDigits digits is
	// checked against intMin...intExMax without reading it as a decimal.
	// An absent bound is the int64 at its end, which no such integer reaches.
	intBounds                          bool
	intMin, intMax, intExMin, intExMax int64

	// Objects. members holds what the schema says of each name it names
	// (in properties, required, dependencies...), so that one lookup per
	// member of the data finds it all.
	// members is built while compiling; names holds it for the check.
	members       map[string]fastMember
	names         fastNames
	patterns      []fastPatternProperty
	additional    *fastNode // nil: any additional property is allowed
	propertyNames *fastNode
	required      uint64 // bits of the required names
	dependencies  []fastDependency
	minProperties int // -1 when absent
	maxProperties int
	// plainMembers: no patternProperties and no propertyNames, so a
	// member's schema is its property or additionalProperties.
	plainMembers bool
	// unnamedMatters: a name the schema does not name still matters (to
	// patternProperties, additionalProperties, propertyNames, or as a
	// possible required name spelled in bytes that are not UTF-8).
	unnamedMatters bool

	// Arrays: prefix[k] governs element k, items the rest (nil: anything).
	prefix                   []*fastNode
	items                    *fastNode
	minItems, maxItems       int
	uniqueItems              bool
	contains                 *fastNode
	minContains, maxContains int

	// In-place applicators: each applies to the same value.
	inPlace                bool
	ref                    *fastNode
	allOf, anyOf, oneOf    []*fastNode
	not                    *fastNode
	ifNode, then, elseNode *fastNode
}

type fastMode uint8

const (
	modeCheck    fastMode = iota // check the keywords
	modeAnything                 // true schema or {}: every value is valid
	modeNothing                  // false schema: no value is valid
	modeUnsure                   // a keyword the fast path does not implement
)

// fastMember is what an object's schema says of one member name.
type fastMember struct {
	// property is the name's schema under properties, or nil.
	property *fastNode
	// bit is the name's bit in the set of names seen, for required and
	// dependencies; 0 when the schema names it in neither.
	bit uint64
}

type fastPatternProperty struct {
	re   *fastPattern
	node *fastNode
}

// fastDependency is one of dependencies, dependentRequired and
// dependentSchemas: when the trigger name is present, the names in need
// must be and the object must be valid against schema (when not nil).
type fastDependency struct {
	trigger, need uint64
	schema        *fastNode
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

// maxNames bounds the names an object schema tracks (required names and
// dependencies' names, one bit each); a schema naming more is unsure.
const maxNames = 64

// compileFast compiles the fast path from the stock validator's compiled
// schema.
func compileFast(s *jsonschema.Schema) *fastNode {
	if s == nil {
		return nil
	}
	fc := fastCompiler{nodes: map[*jsonschema.Schema]*fastNode{}, formats: map[string]*fastFormat{}, patterns: map[string]*fastPattern{}}
	return fc.node(s)
}

type fastCompiler struct {
	nodes    map[*jsonschema.Schema]*fastNode // each schema compiles once: shared and recursive $refs point to one node
	formats  map[string]*fastFormat
	patterns map[string]*fastPattern
}

func (fc *fastCompiler) node(s *jsonschema.Schema) *fastNode {
	if n, ok := fc.nodes[s]; ok {
		return n
	}
	n := &fastNode{minLength: -1, maxLength: -1, minProperties: -1, maxProperties: -1, minItems: -1, maxItems: -1, minContains: -1, maxContains: -1}
	fc.nodes[s] = n // before the children: a recursive $ref finds it
	if !fc.fill(n, s) {
		*n = fastNode{mode: modeUnsure}
	}
	return n
}

// fill compiles s into n, mirroring the stock validator's validate; false
// when s uses what the fast path does not implement.
func (fc *fastCompiler) fill(n *fastNode, s *jsonschema.Schema) bool {
	if s.Bool != nil {
		n.mode = modeNothing
		if *s.Bool {
			n.mode = modeAnything
		}
		return true
	}
	if s.RecursiveRef != nil || s.DynamicRef != nil || s.UnevaluatedProperties != nil || s.UnevaluatedItems != nil ||
		len(s.Extensions) > 0 || s.ContentEncoding != nil || s.ContentMediaType != nil || s.ContentSchema != nil {
		return false
	}
	asserts := false
	if s.Types != nil && !s.Types.IsEmpty() {
		for _, t := range s.Types.ToStrings() {
			n.types |= typeBits[t]
		}
		asserts = true
	}
	if s.Enum != nil {
		n.hasEnum, asserts = true, true
		for _, v := range s.Enum.Values {
			fv, ok := newFastValue(v)
			if !ok {
				return false
			}
			n.enum = append(n.enum, fv)
		}
	}
	if s.Const != nil {
		fv, ok := newFastValue(*s.Const)
		if !ok {
			return false
		}
		n.constant, asserts = &fv, true
	}
	if s.Format != nil {
		n.format, n.strings, asserts = fc.formatOf(s.Format), true, true
	}
	if s.Ref != nil {
		n.ref, n.inPlace, asserts = fc.node(s.Ref), true, true
		if s.DraftVersion < 2019 {
			// Before 2019-09 a $ref hides its siblings; those the
			// library compiled anyway (const, in drafts 6 and 7) are
			// checked before it, as above.
			return fc.finish(n, asserts)
		}
	}
	ok := true
	asserts = fc.objectKeywords(n, s, &ok) || asserts
	asserts = fc.arrayKeywords(n, s) || asserts
	asserts = fc.stringKeywords(n, s, &ok) || asserts
	asserts = fc.numberKeywords(n, s) || asserts
	asserts = fc.applicators(n, s) || asserts
	if !ok {
		return false
	}
	return fc.finish(n, asserts)
}

func (fc *fastCompiler) finish(n *fastNode, asserts bool) bool {
	if !asserts {
		n.mode = modeAnything
	}
	if n.hasEnum || n.constant != nil {
		n.after |= afterEnum
	}
	if n.inPlace {
		n.after |= afterInPlace
	}
	if n.members != nil {
		n.names, n.members = newFastNames(n.members), nil
	}
	n.plainMembers = len(n.patterns) == 0 && n.propertyNames == nil
	n.unnamedMatters = !n.plainMembers || n.additional != nil || n.required != 0 || len(n.dependencies) > 0
	if n.hasEnum && n.constant == nil {
		n.enumStrings = true
		for _, e := range n.enum {
			if e.kind != typeString {
				n.enumStrings = false
			}
		}
	}
	return true
}

func (fc *fastCompiler) objectKeywords(n *fastNode, s *jsonschema.Schema, ok *bool) bool {
	asserts := false
	member := func(name string) fastMember {
		if n.members == nil {
			n.members = map[string]fastMember{}
		}
		return n.members[name]
	}
	for name, ps := range s.Properties {
		m := member(name)
		m.property = fc.node(ps)
		n.members[name] = m
		asserts = true
	}
	bits := 0
	bitOf := func(name string) uint64 {
		m := member(name)
		if m.bit == 0 {
			if bits == maxNames {
				*ok = false
				return 0
			}
			m.bit = 1 << bits
			bits++
			n.members[name] = m
		}
		return m.bit
	}
	for _, name := range s.Required {
		n.required |= bitOf(name)
		asserts = true
	}
	need := func(names []string) uint64 {
		var mask uint64
		for _, name := range names {
			mask |= bitOf(name)
		}
		return mask
	}
	for name, dep := range s.Dependencies {
		d := fastDependency{trigger: bitOf(name)}
		switch dep := dep.(type) {
		case []string:
			d.need = need(dep)
		case *jsonschema.Schema:
			d.schema = fc.node(dep)
		}
		n.dependencies = append(n.dependencies, d)
		asserts = true
	}
	if s.DraftVersion >= 2019 {
		for name, names := range s.DependentRequired {
			n.dependencies = append(n.dependencies, fastDependency{trigger: bitOf(name), need: need(names)})
			asserts = true
		}
		for name, ds := range s.DependentSchemas {
			n.dependencies = append(n.dependencies, fastDependency{trigger: bitOf(name), schema: fc.node(ds)})
			asserts = true
		}
	}
	for re, ps := range s.PatternProperties {
		p, err := fc.pattern(re.String())
		if err != nil {
			*ok = false
			continue
		}
		n.patterns = append(n.patterns, fastPatternProperty{re: p, node: fc.node(ps)})
		asserts = true
	}
	switch a := s.AdditionalProperties.(type) {
	case bool:
		if !a {
			n.additional = &fastNode{mode: modeNothing}
			asserts = true
		}
	case *jsonschema.Schema:
		n.additional = fc.node(a)
		asserts = true
	}
	if s.PropertyNames != nil && s.DraftVersion != 4 {
		n.propertyNames = fc.node(s.PropertyNames)
		asserts = true
	}
	if s.MinProperties != nil {
		n.minProperties, asserts = *s.MinProperties, true
	}
	if s.MaxProperties != nil {
		n.maxProperties, asserts = *s.MaxProperties, true
	}
	return asserts
}

func (fc *fastCompiler) arrayKeywords(n *fastNode, s *jsonschema.Schema) bool {
	asserts := false
	additional := func(a any) *fastNode {
		switch a := a.(type) {
		case bool:
			if !a {
				return &fastNode{mode: modeNothing}
			}
		case *jsonschema.Schema:
			return fc.node(a)
		}
		return nil
	}
	if s.DraftVersion < 2020 {
		switch items := s.Items.(type) {
		case *jsonschema.Schema:
			n.items = fc.node(items)
		case []*jsonschema.Schema:
			for _, ps := range items {
				n.prefix = append(n.prefix, fc.node(ps))
			}
			n.items = additional(s.AdditionalItems)
		}
	} else {
		for _, ps := range s.PrefixItems {
			n.prefix = append(n.prefix, fc.node(ps))
		}
		if s.Items2020 != nil {
			n.items = fc.node(s.Items2020)
		}
	}
	asserts = len(n.prefix) > 0 || n.items != nil
	if s.MinItems != nil {
		n.minItems, asserts = *s.MinItems, true
	}
	if s.MaxItems != nil {
		n.maxItems, asserts = *s.MaxItems, true
	}
	if s.UniqueItems {
		n.uniqueItems, asserts = true, true
	}
	if s.Contains != nil {
		n.contains, asserts = fc.node(s.Contains), true
		if s.MinContains != nil {
			n.minContains = *s.MinContains
		}
		if s.MaxContains != nil {
			n.maxContains = *s.MaxContains
		}
	}
	return asserts
}

func (fc *fastCompiler) stringKeywords(n *fastNode, s *jsonschema.Schema, ok *bool) bool {
	asserts := false
	if s.MinLength != nil {
		n.minLength, asserts = *s.MinLength, true
	}
	if s.MaxLength != nil {
		n.maxLength, asserts = *s.MaxLength, true
	}
	if s.Pattern != nil {
		p, err := fc.pattern(s.Pattern.String())
		if err != nil {
			*ok = false
		}
		n.pattern, asserts = p, true
	}
	n.strings = n.strings || asserts
	return asserts
}

func (fc *fastCompiler) numberKeywords(n *fastNode, s *jsonschema.Schema) bool {
	for _, b := range []struct {
		r  *big.Rat
		to **fastDecimal
	}{{s.Minimum, &n.minimum}, {s.Maximum, &n.maximum}, {s.ExclusiveMinimum, &n.exclusiveMin}, {s.ExclusiveMaximum, &n.exclusiveMax}, {s.MultipleOf, &n.multipleOf}} {
		if b.r == nil {
			continue
		}
		n.numbers = true
		d, ok := ratDecimal(b.r)
		if !ok {
			n.numbersUnsure = true
			continue
		}
		*b.to = &d
	}
	if n.multipleOf != nil && (n.multipleOf.digits > maxMantissaDigits || n.multipleOf.zero()) {
		n.numbersUnsure = true
	}
	n.intBounds = n.numbers && !n.numbersUnsure && n.multipleOf == nil
	for _, b := range []struct {
		d   *fastDecimal
		to  *int64
		end int64
	}{{n.minimum, &n.intMin, math.MinInt64}, {n.maximum, &n.intMax, math.MaxInt64}, {n.exclusiveMin, &n.intExMin, math.MinInt64}, {n.exclusiveMax, &n.intExMax, math.MaxInt64}} {
		*b.to = b.end
		if b.d == nil {
			continue
		}
		v, ok := b.d.int64()
		if !ok {
			n.intBounds = false
		}
		*b.to = v
	}
	return n.numbers
}

func (fc *fastCompiler) applicators(n *fastNode, s *jsonschema.Schema) bool {
	nodes := func(list []*jsonschema.Schema) []*fastNode {
		var out []*fastNode
		for _, x := range list {
			out = append(out, fc.node(x))
		}
		return out
	}
	n.allOf, n.anyOf, n.oneOf = nodes(s.AllOf), nodes(s.AnyOf), nodes(s.OneOf)
	if s.Not != nil {
		n.not = fc.node(s.Not)
	}
	if s.If != nil {
		n.ifNode = fc.node(s.If)
		if s.Then != nil {
			n.then = fc.node(s.Then)
		}
		if s.Else != nil {
			n.elseNode = fc.node(s.Else)
		}
	}
	if len(n.allOf)+len(n.anyOf)+len(n.oneOf) > 0 || n.not != nil || n.ifNode != nil {
		n.inPlace = true
	}
	return n.inPlace
}

func (fc *fastCompiler) pattern(p string) (*fastPattern, error) {
	if fp, ok := fc.patterns[p]; ok {
		return fp, nil
	}
	fp, err := compilePattern(p)
	if err != nil {
		return nil, err
	}
	fc.patterns[p] = fp
	return fp, nil
}

func (fc *fastCompiler) formatOf(f *jsonschema.Format) *fastFormat {
	if ff, ok := fc.formats[f.Name]; ok && ff.lib != nil {
		return ff
	}
	ff := &fastFormat{quick: quickFormats[f.Name], lib: f.Validate}
	fc.formats[f.Name] = ff
	return ff
}

// ratDecimal writes a bound as an exact decimal. A bound from JSON text is
// always a terminating decimal; only a very long one is refused.
func ratDecimal(r *big.Rat) (fastDecimal, bool) {
	den := r.Denom()
	twos := int(den.TrailingZeroBits())
	fives := 0
	q := new(big.Int).Rsh(den, uint(twos))
	five, m := big.NewInt(5), new(big.Int)
	for q.Cmp(big.NewInt(1)) != 0 {
		var quo big.Int
		quo.QuoRem(q, five, m)
		if m.Sign() != 0 || fives > 1000 {
			return fastDecimal{}, false
		}
		q, fives = &quo, fives+1
	}
	text := r.FloatString(max(twos, fives))
	if len(text) > 1100 {
		return fastDecimal{}, false
	}
	return parseDecimal([]byte(text)), true
}
