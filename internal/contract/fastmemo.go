package contract

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/jsonscan"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/message"
)

// The memoized walk decides an event against an exposed contract (see
// exposure) and words its failures, in work linear in the event's size.
// The compiled validator's own walk (check) reads a value again for each
// branch of a combinator, so under a combinator that leads back to itself
// several ways its work, like the stock validator's, multiplies at each
// level of nesting; it stops at its budget and says unsure. This walk
// decides each compiled schema at each place in the event (its byte
// offset) once and remembers the answer. That is sound because a compiled
// schema's verdict on a value depends on the value alone: the compiled
// validator implements no keyword whose result depends on the path taken
// (unevaluatedProperties and unevaluatedItems, $dynamicRef and
// $recursiveRef compile to unsure), except a $ref cycle at one place,
// which is cut as the stock validator cuts it and not remembered.
//
// Its failures are worded from the compiled schemas instead of the stock
// validator's tree, which under such a contract holds one failure per path
// (43,232 messages for a 171-byte event): each schema that fails at a place
// says so once, with the keyword, the instance location and the schema
// location. A schema's own keywords (type, required, bounds, lengths,
// patterns, formats...) are worded by the stock validator itself, run on a
// copy of the schema without its subschemas against the value's own level,
// so they read as they do for every other contract; combinators say which
// of their branches matched.

// slowPath is what a contract needs for an event its compiled validator
// does not find valid: whether it is exposed, and for one that is, a
// compiled validator of its own whose nodes map back to their schemas.
// Built on first need and then read-only.
type slowPath struct {
	exposed bool
	where   string // a schema location on the way to the exposure
	root    *fastNode
	// schemaOf and own map each node to its schema, and to that schema's
	// own keywords without its subschemas (ownKeywords).
	schemaOf map[*fastNode]*jsonschema.Schema
	own      map[*fastNode]*jsonschema.Schema
}

// slowPath returns the contract's slowPath, building it on the first
// event that needs it: most contracts never do, and the rest need it once
// (two events at once may both build it; one is kept).
func (c *Contract) slowPath() *slowPath {
	if sp := c.slow.Load(); sp != nil {
		return sp
	}
	c.slow.CompareAndSwap(nil, newSlowPath(c.validators().schema, false))
	return c.slow.Load()
}

// Exposure reports whether the contract is exposed: its combinators lead
// back to the same schema several ways, so that the stock validator's work
// on an event multiplies with its nesting (exposure.go). Such a contract's
// events that the compiled validator does not find valid are decided and
// worded by the memoized walk (validateExposed). where names the schema
// location at which the analysis found it.
func (c *Contract) Exposure() (where string, exposed bool) {
	sp := c.slowPath()
	return sp.where, sp.exposed
}

// newSlowPath finds whether the schema is exposed and, when it is (or when
// always is set, for tests), compiles the memoized walk's nodes.
func newSlowPath(s *jsonschema.Schema, always bool) *slowPath {
	sp := &slowPath{}
	if s == nil {
		return sp
	}
	sp.exposed, sp.where = exposure(s)
	if !sp.exposed && !always {
		return sp
	}
	fc := fastCompiler{nodes: map[*jsonschema.Schema]*fastNode{}, formats: map[string]*fastFormat{}, patterns: map[string]*fastPattern{}}
	sp.root = fc.node(s)
	sp.schemaOf = make(map[*fastNode]*jsonschema.Schema, len(fc.nodes))
	sp.own = make(map[*fastNode]*jsonschema.Schema, len(fc.nodes))
	for schema, n := range fc.nodes {
		sp.schemaOf[n] = schema
		sp.own[n] = ownKeywords(schema)
	}
	return sp
}

var trueSchema = func() *jsonschema.Schema {
	t := true
	return &jsonschema.Schema{Bool: &t}
}()

// ownKeywords copies s without the subschemas it applies: what it asserts
// of a value's own level. Properties, patternProperties and tuple items
// stay, as true schemas, because additionalProperties and additionalItems
// count against them. Before 2019-09 a $ref hides its siblings except
// those the stock validator checks before it (type, const, enum, format).
func ownKeywords(s *jsonschema.Schema) *jsonschema.Schema {
	if s.Bool != nil {
		return s
	}
	cp := *s
	cp.Ref, cp.RecursiveRef, cp.DynamicRef = nil, nil, nil
	cp.AllOf, cp.AnyOf, cp.OneOf = nil, nil, nil
	cp.Not, cp.If, cp.Then, cp.Else = nil, nil, nil, nil
	cp.PropertyNames, cp.UnevaluatedProperties, cp.UnevaluatedItems = nil, nil, nil
	cp.Contains, cp.MinContains, cp.MaxContains = nil, nil, nil
	cp.ContentSchema, cp.Items2020, cp.DependentSchemas = nil, nil, nil
	if s.Ref != nil && s.DraftVersion < 2019 {
		cp = jsonschema.Schema{DraftVersion: s.DraftVersion, Location: s.Location, Types: s.Types, Enum: s.Enum, Const: s.Const, Format: s.Format}
		return &cp
	}
	if s.Properties != nil {
		cp.Properties = make(map[string]*jsonschema.Schema, len(s.Properties))
		for name := range s.Properties {
			cp.Properties[name] = trueSchema
		}
	}
	if s.PatternProperties != nil {
		cp.PatternProperties = make(map[jsonschema.Regexp]*jsonschema.Schema, len(s.PatternProperties))
		for re := range s.PatternProperties {
			cp.PatternProperties[re] = trueSchema
		}
	}
	if _, ok := s.AdditionalProperties.(*jsonschema.Schema); ok {
		cp.AdditionalProperties = nil
	}
	if s.Dependencies != nil {
		cp.Dependencies = map[string]any{}
		for name, d := range s.Dependencies {
			if names, ok := d.([]string); ok {
				cp.Dependencies[name] = names
			}
		}
	}
	switch items := s.Items.(type) {
	case *jsonschema.Schema:
		cp.Items = nil
	case []*jsonschema.Schema:
		cp.Items = slices.Repeat([]*jsonschema.Schema{trueSchema}, len(items))
	}
	if _, ok := s.AdditionalItems.(*jsonschema.Schema); ok {
		cp.AdditionalItems = nil
	}
	if s.PrefixItems != nil {
		cp.PrefixItems = slices.Repeat([]*jsonschema.Schema{trueSchema}, len(s.PrefixItems))
	}
	return &cp
}

// memoWalk is one event's memoized walk.
type memoWalk struct {
	sp *slowPath
	b  []byte
	// verdicts holds each (node, offset) decided (memoValid...); a node
	// being decided is marked busy by its depth in the walk's chain (a
	// positive value), so that a $ref cycle that does not move into the
	// value ends as the stock validator ends it; cut is the shallowest
	// busy node such a cycle met.
	verdicts   map[memoKey]int32
	depth, cut int
	// ends holds where each object and array ends, plus 2 (0: not yet
	// read), by where it starts; endsMap for an event too large for it.
	ends    []int32
	endsMap map[int]int
	// work counts what the walk read: a unit per schema decided at a
	// place, per member or element, per byte of a string or name; budget
	// bounds it (memoBudgetPerByte).
	work, budget int
	// stockCalls counts the stock validator's runs on one level of a
	// value (a schema's own keywords, or a scalar the compiled validator
	// cannot decide).
	stockCalls int

	explained map[memoKey]bool
	failures  []*jsonschema.ValidationError
}

type memoKey struct {
	n  *fastNode
	at int
}

// What verdicts holds for a (node, offset) decided; busy is its depth.
const (
	memoValid int32 = -1 - iota
	memoInvalid
	memoUnsure
)

const (
	// memoBudgetPerByte and memoBudgetBase bound the memoized walk's
	// work (memoWalk.work): each place is decided once per schema that
	// reaches it, so a contract reaching a place through up to
	// memoBudgetPerByte/2 schemas is decided within it; beyond it the
	// answer is unsure.
	memoBudgetPerByte = 256
	memoBudgetBase    = 1 << 16
	// maxFailures bounds the failures worded for one event.
	maxFailures = 100
)

func newMemoWalk(sp *slowPath, b []byte) *memoWalk {
	m := &memoWalk{sp: sp, b: b, verdicts: make(map[memoKey]int32, min(len(b)/4, 1<<20)), cut: math.MaxInt,
		budget: len(b)*memoBudgetPerByte + memoBudgetBase}
	if len(b) < math.MaxInt32-2 {
		m.ends = make([]int32, len(b))
	} else {
		m.endsMap = map[int]int{}
	}
	return m
}

// verdict decides the whole of b.
func (m *memoWalk) verdict() fastVerdict {
	i := jsonscan.SkipSpace(m.b, 0)
	if i >= len(m.b) {
		return fastUnsure
	}
	end := m.end(i)
	if end < 0 || jsonscan.SkipSpace(m.b, end) != len(m.b) {
		return fastUnsure
	}
	return m.eval(m.sp.root, i)
}

func (m *memoWalk) spend(units int) bool {
	m.work += units
	return m.work <= m.budget
}

// end returns where the value at b[i] ends, notJSON when it is not JSON.
// Each object and array is read once however many schemas skip it.
func (m *memoWalk) end(i int) int {
	b := m.b
	if i >= len(b) {
		return notJSON
	}
	if b[i] != '{' && b[i] != '[' {
		e, err := jsonscan.Value(b, i)
		if err != nil {
			return notJSON
		}
		return e
	}
	if m.ends != nil {
		if e := m.ends[i]; e != 0 {
			return int(e) - 2
		}
	} else if e, ok := m.endsMap[i]; ok {
		return e
	}
	e := notJSON
	closer := byte('}')
	if b[i] == '[' {
		closer = ']'
	}
	j := jsonscan.SkipSpace(b, i+1)
	if j < len(b) && b[j] == closer {
		e = j + 1
	} else {
		for j < len(b) {
			if closer == '}' {
				ke, _, err := jsonscan.StringEscaped(b, j)
				if err != nil {
					break
				}
				j = jsonscan.SkipSpace(b, ke)
				if j >= len(b) || b[j] != ':' {
					break
				}
				j = jsonscan.SkipSpace(b, j+1)
			}
			if j = m.end(j); j < 0 {
				break
			}
			j = jsonscan.SkipSpace(b, j)
			if j >= len(b) {
				break
			}
			if b[j] == closer {
				e = j + 1
				break
			}
			if b[j] != ',' {
				break
			}
			j = jsonscan.SkipSpace(b, j+1)
		}
	}
	if m.ends != nil {
		m.ends[i] = int32(e + 2)
	} else {
		m.endsMap[i] = e
	}
	return e
}

// eval decides node n at the value at b[i], once.
func (m *memoWalk) eval(n *fastNode, i int) fastVerdict {
	switch n.mode {
	case modeAnything:
		return fastValid
	case modeNothing:
		return fastInvalid
	case modeUnsure:
		return fastUnsure
	}
	key := memoKey{n, i}
	switch state := m.verdicts[key]; {
	case state == memoValid:
		return fastValid
	case state == memoInvalid:
		return fastInvalid
	case state == memoUnsure:
		return fastUnsure
	case state > 0:
		// A $ref cycle that does not move into the value: the stock
		// validator finds the same schema at the same place in its
		// chain and fails that branch (kind.RefCycle). What is decided
		// with this cut depends on the chain above it, so it is not
		// remembered (see below).
		m.cut = min(m.cut, int(state))
		return fastInvalid
	}
	if !m.spend(1) {
		return fastUnsure
	}
	m.depth++
	depth := m.depth
	m.verdicts[key] = int32(min(depth, math.MaxInt32))
	outer := m.cut
	m.cut = math.MaxInt
	v := m.decide(n, i)
	if m.cut < depth {
		delete(m.verdicts, key) // decided with a cut above it: not for another chain
	} else {
		m.verdicts[key] = [...]int32{fastValid: memoValid, fastInvalid: memoInvalid, fastUnsure: memoUnsure}[v]
	}
	m.cut = min(outer, m.cut)
	m.depth--
	return v
}

func (m *memoWalk) decide(n *fastNode, i int) fastVerdict {
	b := m.b
	end := m.end(i)
	if end < 0 {
		return fastUnsure
	}
	var v fastVerdict
	switch c := b[i]; {
	case c == '"':
		if !m.spend(end - i) {
			return fastUnsure
		}
		_, v = n.checkString(&fastWalk{}, b, i)
	case c == '{':
		if n.types != 0 && n.types&typeObject == 0 {
			return fastInvalid
		}
		v = m.object(n, i, end)
	case c == '[':
		if n.types != 0 && n.types&typeArray == 0 {
			return fastInvalid
		}
		v = m.array(n, i, end)
	case c == 't' || c == 'f' || c == 'n':
		if n.types != 0 && n.types&typeOf(c) == 0 {
			return fastInvalid
		}
	default:
		_, v = n.checkNumber(b, i)
	}
	if v == fastInvalid {
		return v
	}
	if n.after&afterEnum != 0 && (b[i] != '"' || !n.enumStrings) {
		if v = and3(v, n.inEnum(b, i)); v == fastInvalid {
			return v
		}
	}
	if v == fastUnsure && b[i] != '{' && b[i] != '[' {
		// A scalar the compiled validator cannot decide (a number
		// against a bound it cannot hold exactly, a string that is not
		// UTF-8): the stock validator decides this one schema's own
		// keywords on this one value, which is work of the value's size.
		v = m.stockOwn(n, i, end)
		if v == fastInvalid {
			return v
		}
	}
	if n.after&afterInPlace != 0 {
		v = and3(v, m.applicators(n, i))
	}
	return v
}

// stockOwn runs the stock validator on n's own keywords and the value at
// b[i:end], read at its own level only (shallow).
func (m *memoWalk) stockOwn(n *fastNode, i, end int) fastVerdict {
	own := m.sp.own[n]
	if own == nil {
		return fastUnsure
	}
	value, err := m.shallow(i, end, own.UniqueItems)
	if err != nil {
		return fastUnsure
	}
	m.stockCalls++
	if own.Validate(value) != nil {
		return fastInvalid
	}
	return fastValid
}

// shallow decodes the value at b[i:end] to its own level: an object's
// member values and an array's elements are null (all its own keywords
// read of them is their names and count), unless deep, when an array's
// elements are decoded too (uniqueItems compares them).
func (m *memoWalk) shallow(i, end int, deep bool) (any, error) {
	b := m.b
	switch b[i] {
	case '{':
		obj := map[string]any{}
		err := m.members(i, func(key []byte, _ bool, _, _ int) bool {
			obj[string(key)] = nil
			return true
		})
		return obj, err
	case '[':
		if deep {
			return DecodeValue(b[i:end])
		}
		var arr []any
		j := jsonscan.SkipSpace(b, i+1)
		for j < len(b) && b[j] != ']' {
			arr = append(arr, nil)
			if j = m.end(j); j < 0 {
				return nil, errNotJSON
			}
			if j = jsonscan.SkipSpace(b, j); j < len(b) && b[j] == ',' {
				j = jsonscan.SkipSpace(b, j+1)
			}
		}
		return arr, nil
	}
	return DecodeValue(b[i:end])
}

// members calls f for each member of the object at b[i]: its name
// (unescaped) and whether it was escaped, where the name starts and where its value starts. f returns
// false to stop.
func (m *memoWalk) members(i int, f func(key []byte, escaped bool, ks, vs int) bool) error {
	b := m.b
	j := jsonscan.SkipSpace(b, i+1)
	if j < len(b) && b[j] == '}' {
		return nil
	}
	for j < len(b) {
		ks := j
		ke, escaped, err := jsonscan.StringEscaped(b, j)
		if err != nil {
			return err
		}
		key := b[ks+1 : ke-1]
		if escaped {
			key = []byte(jsonscan.UnquoteBytes(b[ks:ke]))
		}
		j = jsonscan.SkipSpace(b, ke)
		if j >= len(b) || b[j] != ':' {
			return errNotJSON
		}
		j = jsonscan.SkipSpace(b, j+1)
		if !f(key, escaped, ks, j) {
			return nil
		}
		if j = m.end(j); j < 0 {
			return errNotJSON
		}
		if j = jsonscan.SkipSpace(b, j); j >= len(b) {
			return errNotJSON
		}
		if b[j] == '}' {
			return nil
		}
		j = jsonscan.SkipSpace(b, j+1)
	}
	return errNotJSON
}

// memberSchemas calls f with each node that governs the member named key,
// in the order check applies them.
func (n *fastNode) memberSchemas(key []byte, f func(*fastNode)) (m fastMember) {
	m, _ = n.names.find(key)
	if n.plainMembers {
		sub := m.property
		if sub == nil {
			sub = n.additional
		}
		if sub != nil {
			f(sub)
		}
		return m
	}
	matched := m.property != nil
	if m.property != nil {
		f(m.property)
	}
	for k := range n.patterns {
		if n.patterns[k].re.Match(key) {
			matched = true
			f(n.patterns[k].node)
		}
	}
	if !matched && n.additional != nil {
		f(n.additional)
	}
	return m
}

func (m *memoWalk) object(n *fastNode, start, end int) fastVerdict {
	verdict := fastValid
	var seen uint64
	count := 0
	namesSure := true
	err := m.members(start, func(key []byte, escaped bool, ks, vs int) bool {
		if !m.spend(1 + len(key)) {
			verdict = fastUnsure
			return false
		}
		count++
		if _, named := n.names.find(key); !named && n.unnamedMatters && !escaped && !utf8.Valid(key) {
			// As check: which schema governs a name that is not
			// UTF-8, and which name it is, is not sure.
			verdict, namesSure = fastUnsure, false
			return true
		}
		if n.propertyNames != nil {
			verdict = and3(verdict, m.eval(n.propertyNames, ks))
		}
		member := n.memberSchemas(key, func(sub *fastNode) {
			if verdict != fastInvalid {
				verdict = and3(verdict, m.eval(sub, vs))
			}
		})
		seen |= member.bit
		return verdict != fastInvalid
	})
	if err != nil {
		return fastUnsure
	}
	if verdict == fastInvalid {
		return verdict
	}
	if (n.minProperties >= 0 && count < n.minProperties) || (n.maxProperties >= 0 && count > n.maxProperties) {
		return fastInvalid
	}
	if seen&n.required != n.required {
		if namesSure {
			return fastInvalid
		}
		return fastUnsure
	}
	for k := range n.dependencies {
		d := &n.dependencies[k]
		if seen&d.trigger == 0 {
			continue
		}
		if seen&d.need != d.need {
			if namesSure {
				return fastInvalid
			}
			verdict = fastUnsure
		}
		if d.schema != nil {
			if verdict = and3(verdict, m.eval(d.schema, start)); verdict == fastInvalid {
				return verdict
			}
		}
	}
	return verdict
}

func (m *memoWalk) array(n *fastNode, start, end int) fastVerdict {
	b := m.b
	verdict := fastValid
	count := 0
	var starts, ends [maxUniqueItems]int32
	var contained [2]int
	j := jsonscan.SkipSpace(b, start+1)
	for j < len(b) && b[j] != ']' {
		if !m.spend(1) {
			return fastUnsure
		}
		sub := n.items
		if count < len(n.prefix) {
			sub = n.prefix[count]
		}
		if sub != nil {
			if verdict = and3(verdict, m.eval(sub, j)); verdict == fastInvalid {
				return verdict
			}
		}
		if n.contains != nil {
			switch m.eval(n.contains, j) {
			case fastValid:
				contained[0]++
			case fastUnsure:
				contained[1]++
			}
		}
		e := m.end(j)
		if e < 0 {
			return fastUnsure
		}
		if n.uniqueItems && count < maxUniqueItems {
			starts[count], ends[count] = int32(j), int32(e)
		}
		count++
		if j = jsonscan.SkipSpace(b, e); j < len(b) && b[j] == ',' {
			j = jsonscan.SkipSpace(b, j+1)
		}
	}
	_, all := n.arrayDone(b, end, count, contained, verdict, &starts, &ends)
	if all != fastUnsure || !n.uniqueItems || count < 2 {
		return all
	}
	// uniqueItems beyond what the compiled validator compares (too many
	// elements, objects spelled differently): the stock validator decides
	// this schema's own keywords on this array, comparing its elements
	// by hash; the elements' schemas and contains are decided here.
	if own := m.stockOwn(n, start, end); own != fastValid {
		return own
	}
	if n.contains != nil {
		low, high := contained[0], contained[0]+contained[1]
		minC := 1
		if n.minContains >= 0 {
			minC = n.minContains
		}
		if high < minC || (n.maxContains >= 0 && low > n.maxContains) {
			return fastInvalid
		}
		if low < minC || (n.maxContains >= 0 && high > n.maxContains) {
			verdict = fastUnsure
		}
	}
	return verdict
}

// applicators mirrors fastNode.applicators with each branch decided once.
func (m *memoWalk) applicators(n *fastNode, i int) fastVerdict {
	v := fastValid
	if n.ref != nil {
		if v = m.eval(n.ref, i); v == fastInvalid {
			return v
		}
	}
	for _, s := range n.allOf {
		if v = and3(v, m.eval(s, i)); v == fastInvalid {
			return v
		}
	}
	if len(n.anyOf) > 0 {
		any := fastInvalid
		for _, s := range n.anyOf {
			r := m.eval(s, i)
			if r == fastValid {
				any = fastValid
				break
			}
			if r == fastUnsure {
				any = fastUnsure
			}
		}
		if v = and3(v, any); v == fastInvalid {
			return v
		}
	}
	if len(n.oneOf) > 0 {
		valid, unsure := 0, 0
		for _, s := range n.oneOf {
			switch m.eval(s, i) {
			case fastValid:
				valid++
			case fastUnsure:
				unsure++
			}
			if valid > 1 {
				break
			}
		}
		one := fastUnsure
		switch {
		case valid > 1 || valid+unsure == 0:
			one = fastInvalid
		case valid == 1 && unsure == 0:
			one = fastValid
		}
		if v = and3(v, one); v == fastInvalid {
			return v
		}
	}
	if n.not != nil {
		r := m.eval(n.not, i)
		switch r {
		case fastValid:
			return fastInvalid
		case fastInvalid:
			r = fastValid
		}
		if v = and3(v, r); v == fastInvalid {
			return v
		}
	}
	if n.ifNode != nil {
		branch := func(s *fastNode) fastVerdict {
			if s == nil {
				return fastValid
			}
			return m.eval(s, i)
		}
		var r fastVerdict
		switch m.eval(n.ifNode, i) {
		case fastValid:
			r = branch(n.then)
		case fastInvalid:
			r = branch(n.elseNode)
		default:
			r = fastUnsure
			if t, e := branch(n.then), branch(n.elseNode); t == e {
				r = t
			}
		}
		v = and3(v, r)
	}
	return v
}

// explain records why n fails at the value at b[i], whose instance
// location is path: each schema at each place once, at most maxFailures.
func (m *memoWalk) explain(n *fastNode, i int, path []string) {
	key := memoKey{n, i}
	if m.explained[key] || len(m.failures) >= maxFailures || m.eval(n, i) != fastInvalid {
		return
	}
	m.explained[key] = true
	s := m.sp.schemaOf[n]
	if s == nil {
		return
	}
	fail := func(k jsonschema.ErrorKind) {
		if len(m.failures) < maxFailures {
			m.failures = append(m.failures, &jsonschema.ValidationError{SchemaURL: s.Location, InstanceLocation: slices.Clone(path), ErrorKind: k})
		}
	}
	if n.mode == modeNothing || s.Bool != nil {
		fail(&kind.FalseSchema{})
		return
	}
	b := m.b
	end := m.end(i)
	if end < 0 {
		return
	}
	// The schema's own keywords, worded by the stock validator.
	if own := m.sp.own[n]; own != nil {
		if value, err := m.shallow(i, end, own.UniqueItems); err == nil {
			m.stockCalls++
			if err := own.Validate(value); err != nil {
				if ve, ok := err.(*jsonschema.ValidationError); ok {
					m.leaves(ve, path)
				}
			}
		}
	}
	if s.Ref != nil && s.DraftVersion < 2019 {
		if n.ref != nil {
			m.explain(n.ref, i, path)
		}
		return
	}
	switch b[i] {
	case '{':
		if n.types == 0 || n.types&typeObject != 0 {
			m.explainObject(n, s, i, path, fail)
		}
	case '[':
		if n.types == 0 || n.types&typeArray != 0 {
			m.explainArray(n, s, i, end, path, fail)
		}
	}
	if n.ref != nil {
		m.explain(n.ref, i, path)
	}
	for _, sub := range n.allOf {
		m.explain(sub, i, path)
	}
	if len(n.anyOf) > 0 && !slices.ContainsFunc(n.anyOf, func(sub *fastNode) bool { return m.eval(sub, i) == fastValid }) {
		fail(&failedKeyword{keyword: "anyOf", text: fmt.Sprintf("matches none of the %d schemas of anyOf", len(n.anyOf))})
		for _, sub := range n.anyOf {
			m.explain(sub, i, path)
		}
	}
	if len(n.oneOf) > 0 {
		var matched []int
		for k, sub := range n.oneOf {
			if m.eval(sub, i) == fastValid {
				matched = append(matched, k)
			}
		}
		switch {
		case len(matched) > 1:
			fail(&kind.OneOf{Subschemas: matched[:2]})
		case len(matched) == 0:
			fail(&failedKeyword{keyword: "oneOf", text: fmt.Sprintf("matches none of the %d schemas of oneOf", len(n.oneOf))})
			for _, sub := range n.oneOf {
				m.explain(sub, i, path)
			}
		}
	}
	if n.not != nil && m.eval(n.not, i) == fastValid {
		fail(&failedKeyword{keyword: "not", text: "matches the schema of not, which it must not"})
	}
	if n.ifNode != nil {
		if m.eval(n.ifNode, i) == fastValid {
			if n.then != nil {
				m.explain(n.then, i, path)
			}
		} else if n.elseNode != nil {
			m.explain(n.elseNode, i, path)
		}
	}
}

func (m *memoWalk) explainObject(n *fastNode, s *jsonschema.Schema, i int, path []string, fail func(jsonschema.ErrorKind)) {
	var seen uint64
	_ = m.members(i, func(key []byte, _ bool, ks, vs int) bool {
		name := string(key)
		if n.propertyNames != nil && m.eval(n.propertyNames, ks) == fastInvalid {
			fail(&kind.PropertyNames{Property: name})
		}
		member := n.memberSchemas(key, func(sub *fastNode) {
			m.explain(sub, vs, append(path, name))
		})
		seen |= member.bit
		return len(m.failures) < maxFailures
	})
	for k := range n.dependencies {
		d := &n.dependencies[k]
		if d.schema != nil && seen&d.trigger != 0 {
			m.explain(d.schema, i, path)
		}
	}
}

func (m *memoWalk) explainArray(n *fastNode, s *jsonschema.Schema, i, end int, path []string, fail func(jsonschema.ErrorKind)) {
	b := m.b
	var matched []int
	count := 0
	j := jsonscan.SkipSpace(b, i+1)
	for j < len(b) && b[j] != ']' && len(m.failures) < maxFailures {
		sub := n.items
		if count < len(n.prefix) {
			sub = n.prefix[count]
		}
		if sub != nil {
			m.explain(sub, j, append(path, strconv.Itoa(count)))
		}
		if n.contains != nil && m.eval(n.contains, j) == fastValid {
			matched = append(matched, count)
		}
		e := m.end(j)
		if e < 0 {
			return
		}
		count++
		if j = jsonscan.SkipSpace(b, e); j < len(b) && b[j] == ',' {
			j = jsonscan.SkipSpace(b, j+1)
		}
	}
	if n.contains == nil {
		return
	}
	switch {
	case s.MinContains != nil && len(matched) < *s.MinContains:
		fail(&kind.MinContains{Got: matched, Want: *s.MinContains})
	case s.MinContains == nil && len(matched) == 0:
		fail(&kind.Contains{})
	}
	if s.MaxContains != nil && len(matched) > *s.MaxContains {
		fail(&kind.MaxContains{Got: matched, Want: *s.MaxContains})
	}
}

// leaves adds the failing keywords of a stock validation of one level,
// at the instance location path.
func (m *memoWalk) leaves(ve *jsonschema.ValidationError, path []string) {
	if len(ve.Causes) > 0 {
		for _, c := range ve.Causes {
			m.leaves(c, path)
		}
		return
	}
	if _, ok := ve.ErrorKind.(*kind.Schema); ok {
		return
	}
	if len(m.failures) < maxFailures {
		e := *ve
		e.InstanceLocation = append(slices.Clone(path), ve.InstanceLocation...)
		m.failures = append(m.failures, &e)
	}
}

// failedKeyword is the failure of a combinator as a whole (an anyOf or
// oneOf none of whose branches holds, a not whose schema does), worded
// here: the stock validator's kinds for them carry no sentence of their
// own, only their branches' failures, which follow it.
type failedKeyword struct {
	keyword, text string
}

func (k *failedKeyword) KeywordPath() []string { return []string{k.keyword} }

func (k *failedKeyword) LocalizedString(*message.Printer) string { return k.text }

// undecided is the failure of an event the memoized walk could not decide
// within its bound (see validateExposed).
type undecided struct{ where string }

func (undecided) KeywordPath() []string { return nil }

func (u undecided) LocalizedString(*message.Printer) string {
	return fmt.Sprintf("could not be checked against the contract within its work bound: the contract's combinators lead back to themselves (at %s) and the event uses what the compiled validator cannot decide there; accord contract lint names such contracts", u.where)
}

// stockBound bounds the stock validator's work on one event under an
// exposed contract, counted as stockWork counts it: 8 units a byte and 4,096
// besides. An event the memoized walk cannot decide goes to the stock
// validator within it; beyond it, it fails undecided.
func stockBound(raw []byte) int { return 8*len(raw) + 4096 }

// stockWork counts the stock validator's work on the event from the schema
// s at the value at b[i]: a unit per evaluation of a schema at a place (it
// evaluates every path, so nothing is shared between paths) and per member
// or element it looks at, up to limit (more is limit+1). The count follows
// the stock validator's evaluation (validator.go in santhosh-tekuri/
// jsonschema): each schema applied in place, each member's property, the
// patternProperties it matches and additionalProperties, unevaluated
// keywords as though they applied to every member, each element's items
// and contains; a $ref cycle at one place ends, as there, at one unit.
// Counts are remembered per (schema, place) where they do not depend on
// the chain above (see memoWalk.eval), so the counting itself is linear.
func (m *memoWalk) stockWork(s *jsonschema.Schema, i, limit int) int {
	type key struct {
		s  *jsonschema.Schema
		at int
	}
	counts := map[key]int{}
	busy := map[key]int{}
	depth, cut := 0, math.MaxInt
	var count func(s *jsonschema.Schema, i int) int
	count = func(s *jsonschema.Schema, i int) int {
		k := key{s, i}
		if c, ok := counts[k]; ok {
			return c
		}
		if d, ok := busy[k]; ok {
			cut = min(cut, d)
			return 1
		}
		if !m.spend(1) || s.RecursiveRef != nil || s.DynamicRef != nil || s.ContentSchema != nil || len(s.Extensions) > 0 {
			return limit + 1 // resolved by the path, or of unknown work: not bounded here
		}
		depth++
		d := depth
		busy[k] = d
		outer := cut
		cut = math.MaxInt
		total := 1
		add := func(c *jsonschema.Schema, at int) {
			if c != nil && total <= limit {
				total = min(total+count(c, at), limit+1)
			}
		}
		eachInPlace(s, func(c *jsonschema.Schema) { add(c, i) })
		if i < len(m.b) && s.Bool == nil {
			switch m.b[i] {
			case '{':
				_ = m.members(i, func(name []byte, _ bool, ks, vs int) bool {
					total++
					key := string(name)
					matched := false
					if p, ok := s.Properties[key]; ok {
						matched = true
						add(p, vs)
					}
					for re, p := range s.PatternProperties {
						if re.MatchString(key) {
							matched = true
							add(p, vs)
						}
					}
					if a, ok := s.AdditionalProperties.(*jsonschema.Schema); ok && !matched {
						add(a, vs)
					}
					add(s.UnevaluatedProperties, vs)
					add(s.PropertyNames, ks)
					return total <= limit
				})
			case '[':
				j := jsonscan.SkipSpace(m.b, i+1)
				for k := 0; j < len(m.b) && m.b[j] != ']' && total <= limit; k++ {
					total++
					switch items := s.Items.(type) {
					case *jsonschema.Schema:
						add(items, j)
					case []*jsonschema.Schema:
						if k < len(items) {
							add(items[k], j)
						} else if a, ok := s.AdditionalItems.(*jsonschema.Schema); ok {
							add(a, j)
						}
					}
					if k < len(s.PrefixItems) {
						add(s.PrefixItems[k], j)
					} else {
						add(s.Items2020, j)
					}
					add(s.Contains, j)
					add(s.UnevaluatedItems, j)
					e := m.end(j)
					if e < 0 {
						break
					}
					if j = jsonscan.SkipSpace(m.b, e); j < len(m.b) && m.b[j] == ',' {
						j = jsonscan.SkipSpace(m.b, j+1)
					}
				}
			}
		}
		delete(busy, k)
		if cut >= d {
			counts[k] = total
		}
		cut = min(outer, cut)
		depth--
		return total
	}
	return count(s, i)
}

// validateExposed is ValidateJSON for an event under an exposed contract
// that its compiled validator did not find valid: the memoized walk
// decides it and words its failures. One it cannot decide goes to the
// stock validator when stockWork shows that validator's work on it within
// stockBound; beyond that it fails, with a message that says so (decided
// is then false). work is the walks' work, for tests.
func (c *Contract) validateExposed(sp *slowPath, raw []byte, instancePrefix string) (msgs []event.Message, decided bool, work int, err error) {
	m := newMemoWalk(sp, raw)
	switch m.verdict() {
	case fastValid:
		return nil, true, m.work, nil
	case fastUnsure:
		value, err := DecodeValue(raw)
		if err != nil {
			return nil, false, m.work, err
		}
		limit := stockBound(raw)
		if m.stockWork(c.validators().schema, jsonscan.SkipSpace(raw, 0), limit) <= limit {
			return c.Validate(value, instancePrefix), true, m.work, nil
		}
		ve := &jsonschema.ValidationError{SchemaURL: c.URI + "#", ErrorKind: undecided{where: sp.where}}
		return Messages(ve, c.URI, instancePrefix), false, m.work, nil
	}
	m.explained = map[memoKey]bool{}
	i := jsonscan.SkipSpace(raw, 0)
	m.explain(sp.root, i, nil)
	if len(m.failures) == 0 {
		m.failures = append(m.failures, &jsonschema.ValidationError{SchemaURL: sp.schemaOf[sp.root].Location, ErrorKind: &kind.FalseSchema{}})
	}
	root := &jsonschema.ValidationError{ErrorKind: &kind.Group{}, Causes: m.failures}
	return Messages(root, c.URI, instancePrefix), true, m.work, nil
}

// validExposed is Valid under an exposed contract, as validateExposed
// decides.
func (c *Contract) validExposed(sp *slowPath, raw []byte) (bool, error) {
	m := newMemoWalk(sp, raw)
	switch m.verdict() {
	case fastValid:
		return true, nil
	case fastInvalid:
		return false, nil
	}
	value, err := DecodeValue(raw)
	if err != nil {
		return false, err
	}
	limit := stockBound(raw)
	if schema := c.validators().schema; m.stockWork(schema, jsonscan.SkipSpace(raw, 0), limit) <= limit {
		return schema.Validate(value) == nil, nil
	}
	return false, nil // undecided fails, as in ValidateJSON
}
