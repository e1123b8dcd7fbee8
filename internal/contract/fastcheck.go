package contract

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"

	"github.com/accord-events/accord/internal/jsonscan"
)

// fastVerdict is the fast path's answer for one value against one schema.
type fastVerdict uint8

const (
	// fastValid: the value is certainly valid.
	fastValid fastVerdict = iota
	// fastInvalid: the value is certainly invalid; the stock validator
	// words why.
	fastInvalid
	// fastUnsure: the fast path cannot decide exactly; the stock
	// validator decides.
	fastUnsure
)

func (v fastVerdict) String() string {
	switch v {
	case fastValid:
		return "valid"
	case fastInvalid:
		return "invalid"
	}
	return "unsure"
}

// and3 is the verdict of two checks that must both hold.
func and3(a, b fastVerdict) fastVerdict {
	if a == fastInvalid || b == fastInvalid {
		return fastInvalid
	}
	return max(a, b)
}

// fastWalk bounds the work of one verdict. In-place applicators (allOf,
// anyOf, oneOf, not, if, $ref, dependent schemas) read the same bytes again,
// once per branch: a oneOf of oneOfs, or a recursive one, would be
// exponential in the event's nesting. Each re-read is charged its length
// against a budget proportional to the event's size, and nesting of
// in-place applicators is capped (which also ends a $ref cycle that never
// moves into the value); beyond either the answer is unsure.
type fastWalk struct {
	budget int
	depth  int
	// level is how deeply the value being read is nested in arrays and
	// objects of the data, so that what the walk reads past (skip) is
	// held to jsonscan.MaxDepth from the data's root, as the decoder
	// holds it.
	level int
	// strict: the walk is also the only check of the data's syntax
	// (CheckData), so an object repeating a member name is not JSON to
	// it, as it is not to jsonscan.Value. Off while a value is read again
	// in place: its first reading checked it.
	strict bool
	// utf8ok: the caller vouches that the bytes are valid UTF-8 (the
	// decoder checked the whole body once), so strings need no check.
	utf8ok bool
}

const (
	// fastBudgetPerByte and fastBudgetBase: an event may be re-read this
	// many times over (plus the base, for small events with many branches)
	// before the fast path gives up and the stock validator decides.
	fastBudgetPerByte = 16
	fastBudgetBase    = 1 << 14
	// maxInPlaceDepth bounds nested in-place applicators on one value.
	maxInPlaceDepth = 64
	// maxUniqueItems bounds the arrays uniqueItems compares pairwise;
	// longer ones are unsure.
	maxUniqueItems = 64
)

// verdict says whether raw is valid against the schema. raw must have been
// read as the collector reads event data (jsonscan: no object repeats a
// member name): a repeated name could make it say invalid where the stock
// validator, keeping the last value, says valid.
func (n *fastNode) verdict(raw []byte) fastVerdict {
	w := fastWalk{budget: len(raw)*fastBudgetPerByte + fastBudgetBase}
	i := jsonscan.SkipSpace(raw, 0)
	end, v := n.check(&w, raw, i)
	if end == notJSON {
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

// skip reads past the value at b[i] whatever it is, nested as deeply as
// the walk is.
func (w *fastWalk) skip(b []byte, i int) int {
	end, err := jsonscan.ValueIn(b, i, w.level)
	if err != nil {
		return notJSON
	}
	return end
}

// check checks the value at b[i] and returns the index past it and the
// verdict. When the verdict is fastInvalid the walk stops early and the
// index is not meaningful; when the text is not JSON the index is notJSON.
func (n *fastNode) check(w *fastWalk, b []byte, i int) (int, fastVerdict) {
	if n.mode != modeCheck || i >= len(b) {
		return n.special(w, b, i)
	}
	var end int
	var v fastVerdict
	switch c := b[i]; {
	case c == '"':
		end, v = n.checkString(w, b, i)
	case c == '{':
		if n.types != 0 && n.types&typeObject == 0 {
			return i, fastInvalid
		}
		if w.level >= jsonscan.MaxDepth {
			return notJSON, fastUnsure // nested too deeply: decoding says so
		}
		w.level++
		end, v = n.checkObject(w, b, i)
		w.level--
	case c == '[':
		if n.types != 0 && n.types&typeArray == 0 {
			return i, fastInvalid
		}
		if w.level >= jsonscan.MaxDepth {
			return notJSON, fastUnsure
		}
		w.level++
		end, v = n.checkArray(w, b, i)
		w.level--
	case c == 't' || c == 'f' || c == 'n':
		if end = w.skip(b, i); end < 0 {
			return end, fastUnsure
		}
		if n.types != 0 && n.types&typeOf(c) == 0 {
			return end, fastInvalid
		}
	default:
		end, v = n.checkNumber(b, i)
	}
	if n.after == 0 || end < 0 || v == fastInvalid {
		return end, v
	}
	return end, n.afterChecks(w, b, i, end, v)
}

// special answers for a node that is not modeCheck, and for the end of
// the input.
func (n *fastNode) special(w *fastWalk, b []byte, i int) (int, fastVerdict) {
	if i >= len(b) {
		return notJSON, fastUnsure
	}
	switch n.mode {
	case modeAnything:
		return w.skip(b, i), fastValid
	case modeNothing:
		return i, fastInvalid
	}
	return w.skip(b, i), fastUnsure
}

// What a node checks after its value's own keywords (fastNode.after).
const (
	afterEnum    uint8 = 1 << iota // enum or const, unless checkString did
	afterInPlace                   // in-place applicators
)

func (n *fastNode) afterChecks(w *fastWalk, b []byte, i, end int, v fastVerdict) fastVerdict {
	if n.after&afterEnum != 0 && (b[i] != '"' || !n.enumStrings) {
		if v = and3(v, n.inEnum(b, i)); v == fastInvalid {
			return v
		}
	}
	if n.after&afterInPlace != 0 {
		v = and3(v, n.applicators(w, b, i, end))
	}
	return v
}

func typeOf(c byte) uint8 {
	if c == 'n' {
		return typeNull
	}
	return typeBoolean
}

// inEnum checks the value at b[i] against enum and const.
func (n *fastNode) inEnum(b []byte, i int) fastVerdict {
	v := fastValid
	if n.hasEnum {
		v = fastInvalid
		for k := range n.enum {
			_, r := equalValue(b, i, &n.enum[k])
			if r == fastValid {
				v = fastValid
				break
			}
			if r == fastUnsure {
				v = fastUnsure
			}
		}
		if v == fastInvalid {
			return v
		}
	}
	if n.constant != nil {
		_, r := equalValue(b, i, n.constant)
		v = and3(v, r)
	}
	return v
}

// again checks the value at b[i:end] against another schema in place,
// charging the walk for reading it again.
func (n *fastNode) again(w *fastWalk, b []byte, i, end int) fastVerdict {
	switch n.mode {
	case modeAnything:
		return fastValid
	case modeNothing:
		return fastInvalid
	case modeUnsure:
		return fastUnsure
	}
	cost := end - i + 1
	if cost > w.budget || w.depth >= maxInPlaceDepth {
		return fastUnsure
	}
	w.budget -= cost
	w.depth++
	strict := w.strict
	w.strict = false
	_, v := n.check(w, b, i)
	w.strict = strict
	w.depth--
	return v
}

// applicators checks $ref, allOf, anyOf, oneOf, not and if/then/else on
// the value at b[i:end].
func (n *fastNode) applicators(w *fastWalk, b []byte, i, end int) fastVerdict {
	v := fastValid
	if n.ref != nil {
		if v = n.ref.again(w, b, i, end); v == fastInvalid {
			return v
		}
	}
	for _, s := range n.allOf {
		if v = and3(v, s.again(w, b, i, end)); v == fastInvalid {
			return v
		}
	}
	if len(n.anyOf) > 0 {
		any := fastInvalid
		for _, s := range n.anyOf {
			r := s.again(w, b, i, end)
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
			switch s.again(w, b, i, end) {
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
		r := n.not.again(w, b, i, end)
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
		v = and3(v, n.conditional(w, b, i, end))
	}
	return v
}

func (n *fastNode) conditional(w *fastWalk, b []byte, i, end int) fastVerdict {
	branch := func(s *fastNode) fastVerdict {
		if s == nil {
			return fastValid
		}
		return s.again(w, b, i, end)
	}
	switch n.ifNode.again(w, b, i, end) {
	case fastValid:
		return branch(n.then)
	case fastInvalid:
		return branch(n.elseNode)
	}
	// Not sure which branch applies: sure only if both say the same.
	if t, e := branch(n.then), branch(n.elseNode); t == e {
		return t
	}
	return fastUnsure
}

func (n *fastNode) checkString(w *fastWalk, b []byte, i int) (int, fastVerdict) {
	end, escaped, err := jsonscan.StringEscaped(b, i)
	if err != nil {
		return notJSON, fastUnsure
	}
	if n.types != 0 && n.types&typeString == 0 {
		return end, fastInvalid
	}
	if !n.strings && !n.enumStrings {
		return end, fastValid
	}
	s := b[i+1 : end-1]
	if escaped {
		// The text is not the bytes sent: unescape it (allocating, as
		// the stock validator's decoding would).
		s = []byte(jsonscan.UnquoteBytes(b[i:end]))
	} else if !w.utf8ok && !utf8.Valid(s) {
		return end, fastUnsure // encoding/json reads bad bytes as U+FFFD
	}
	return end, n.stringText(s)
}

func (n *fastNode) stringText(s []byte) fastVerdict {
	if n.enumStrings {
		v := fastInvalid
		for k := range n.enum {
			if n.enum[k].s == string(s) {
				v = fastValid
				break
			}
		}
		if v == fastInvalid {
			return v
		}
	}
	if n.minLength >= 0 || n.maxLength >= 0 {
		l := utf8.RuneCount(s)
		if (n.minLength >= 0 && l < n.minLength) || (n.maxLength >= 0 && l > n.maxLength) {
			return fastInvalid
		}
	}
	if n.pattern != nil && !n.pattern.Match(s) {
		return fastInvalid
	}
	if n.format != nil && !n.format.valid(s) {
		return fastInvalid
	}
	return fastValid
}

func (n *fastNode) checkNumber(b []byte, i int) (int, fastVerdict) {
	end, plainInt, err := jsonscan.Number(b, i)
	if err != nil {
		return notJSON, fastUnsure // not JSON, or beyond float64
	}
	needInteger := false
	if n.types != 0 {
		switch {
		case n.types&typeNumber != 0:
		case n.types&typeInteger != 0:
			needInteger = !plainInt
		default:
			return end, fastInvalid
		}
	}
	if !needInteger && !n.numbers {
		return end, fastValid
	}
	if n.numbersUnsure {
		return end, fastUnsure
	}
	if n.intBounds && plainInt {
		if v, ok := plainInt64(b[i:end]); ok {
			if v < n.intMin || v > n.intMax || v <= n.intExMin || v >= n.intExMax {
				return end, fastInvalid
			}
			return end, fastValid
		}
	}
	if n.intBounds && !needInteger {
		// A fraction without exponent (89.95) against integer bounds:
		// its floor decides, without reading it as a decimal.
		if floor, exact, ok := plainFractionFloor(b[i:end]); ok {
			if exact {
				if floor < n.intMin || floor > n.intMax || floor <= n.intExMin || floor >= n.intExMax {
					return end, fastInvalid
				}
				return end, fastValid
			}
			// floor < v < floor+1, so against an integer m: v < m
			// exactly when floor < m, and v > m when floor >= m.
			if floor < n.intMin || floor >= n.intMax || floor < n.intExMin || floor >= n.intExMax {
				return end, fastInvalid
			}
			return end, fastValid
		}
	}
	d := parseDecimal(b[i:end])
	if d.bad {
		return end, fastUnsure
	}
	if needInteger && !d.integer() {
		return end, fastInvalid
	}
	if (n.minimum != nil && cmpDecimal(&d, n.minimum) < 0) ||
		(n.maximum != nil && cmpDecimal(&d, n.maximum) > 0) ||
		(n.exclusiveMin != nil && cmpDecimal(&d, n.exclusiveMin) <= 0) ||
		(n.exclusiveMax != nil && cmpDecimal(&d, n.exclusiveMax) >= 0) {
		return end, fastInvalid
	}
	if n.multipleOf != nil {
		ok, sure := multipleOf(&d, n.multipleOf)
		if !sure {
			return end, fastUnsure
		}
		if !ok {
			return end, fastInvalid
		}
	}
	return end, fastValid
}

func (n *fastNode) checkObject(w *fastWalk, b []byte, start int) (int, fastVerdict) {
	i := jsonscan.SkipSpace(b, start+1)
	if i < len(b) && b[i] == '}' {
		return n.objectDone(w, b, start, i+1, 0, 0, fastValid, true)
	}
	if n.plainMembers {
		return n.checkNamedMembers(w, b, start, i)
	}
	return n.checkMembers(w, b, start, i, nil, objectState{verdict: fastValid, namesSure: true})
}

// checkNamedMembers is checkMembers for an object whose schema has no
// patternProperties and no propertyNames, from its first member at b[i],
// while each member is the usual one: a short plain name
// (jsonscan.ShortString) that the schema names, with its own bit when the
// walk is strict over bytes vouched to be UTF-8. What checkMembers would
// do with such a member is written out here, with none of its other
// cases: the walk goes on in checkMembers from the first member that is
// not one.
func (n *fastNode) checkNamedMembers(w *fastWalk, b []byte, start, i int) (int, fastVerdict) {
	verdict := fastValid
	var seen, once uint64
	count := 0
	for i < len(b) && b[i] == '"' {
		// jsonscan.ShortString, written out (a call would spill the
		// loop's state), and for names with 16 bytes of b after their
		// opening quote only: the name's words and length.
		p := i + 1
		if p > len(b)-16 {
			break
		}
		w0 := binary.LittleEndian.Uint64(b[p:])
		w1 := binary.LittleEndian.Uint64(b[p+8:])
		var kn int
		if m := jsonscan.EscapeBits(w0); m != 0 {
			k := bits.TrailingZeros64(m) &^ 7
			if byte(w0>>k) != '"' {
				break
			}
			w0, w1, kn = w0&(1<<k-1), 0, k>>3
		} else if m = jsonscan.EscapeBits(w1); m != 0 {
			k := bits.TrailingZeros64(m) &^ 7
			if byte(w1>>k) != '"' {
				break
			}
			w1, kn = w1&(1<<k-1), 8+k>>3
		} else {
			break
		}
		// n.names.short, written out: the name's own slot, or the
		// general loop (which probes a table that is not perfect).
		t := &n.names
		if len(t.slots) == 0 {
			break
		}
		k := t.at(shortNameSlot(w0, w1, kn, t.seed, t.shift))
		if k == 0 {
			break
		}
		e := &t.entries[k-1]
		if e.w0 != w0 || e.w1 != w1 || len(e.name) != kn {
			break
		}
		if w.strict {
			if e.once == 0 || !w.utf8ok {
				break
			}
			if once&e.once != 0 {
				return notJSON, fastUnsure // decoding refuses it, and says why
			}
			once |= e.once
		}
		j := jsonscan.SkipSpace(b, i+kn+2)
		if j >= len(b) || b[j] != ':' {
			return notJSON, fastUnsure
		}
		j = jsonscan.SkipSpace(b, j+1)
		sub := e.property
		if sub == nil {
			sub = n.additional
		}
		var v fastVerdict
		switch {
		case sub == nil:
			j, v = w.skip(b, j), fastValid
		case j < len(b) && b[j] == '"' && sub.mode == modeCheck && sub.after == 0:
			j, v = sub.checkString(w, b, j) // what check does with it
		default:
			j, v = sub.check(w, b, j)
		}
		if j < 0 || v == fastInvalid {
			return j, v
		}
		verdict = max(verdict, v)
		seen |= e.bit
		count++
		j = jsonscan.SkipSpace(b, j)
		if j >= len(b) {
			return notJSON, fastUnsure
		}
		switch b[j] {
		case ',':
			i = jsonscan.SkipSpace(b, j+1)
		case '}':
			return n.objectDone(w, b, start, j+1, seen, count, verdict, true)
		default:
			return notJSON, fastUnsure
		}
	}
	return n.checkMembers(w, b, start, i, nil, objectState{seen: seen, once: once, count: count, verdict: verdict, namesSure: true})
}

// objectState is what checkMembers has gathered of an object's members
// so far, so that it can go on from a member with names of its own.
type objectState struct {
	seen      uint64
	once      uint64
	count     int
	verdict   fastVerdict
	namesSure bool
}

// checkMembersNamed goes on from the member at b[i] as checkMembers,
// with names to record. Most objects of event data never need one (the
// schema names every member, by its entry's bit): jsonscan.Names is a
// few hundred bytes, zeroed only here, when a name needs it.
//
//go:noinline
func (n *fastNode) checkMembersNamed(w *fastWalk, b []byte, start, i int, st objectState) (int, fastVerdict) {
	var names jsonscan.Names
	return n.checkMembers(w, b, start, i, &names, st)
}

// checkMembers reads the object at b[start] from its member at b[i]. A
// strict walk refuses a repeated name as jsonscan does (by the name's
// text): a name the schema names by its entry's bit in st.once, any
// other through names (nil until the first such name: the walk then
// goes on in checkMembersNamed, from that member). With bytes not
// vouched to be UTF-8 the two could differ in text while the table says
// otherwise: all go through names then.
func (n *fastNode) checkMembers(w *fastWalk, b []byte, start, i int, names *jsonscan.Names, st objectState) (int, fastVerdict) {
	verdict, seen, count, namesSure, once := st.verdict, st.seen, st.count, st.namesSure, st.once
	for {
		if i >= len(b) || b[i] != '"' {
			return notJSON, fastUnsure
		}
		ks := i
		var ke int
		var escaped bool
		var key []byte
		var e *fastNameEntry
		if w0, w1, kn, ok := jsonscan.ShortString(b, i); ok {
			// The usual name: found by its words, its bytes read once.
			ke = i + kn + 2
			key = b[ks+1 : ke-1]
			e = n.names.short(w0, w1, kn)
		} else {
			var err error
			if ke, escaped, err = jsonscan.StringEscaped(b, i); err != nil {
				return notJSON, fastUnsure
			}
			key = b[ks+1 : ke-1]
			if escaped {
				key = []byte(jsonscan.UnquoteBytes(b[ks:ke])) // rare: allocates
			}
			e = n.names.entry(key)
		}
		i = jsonscan.SkipSpace(b, ke)
		if i >= len(b) || b[i] != ':' {
			return notJSON, fastUnsure
		}
		i = jsonscan.SkipSpace(b, i+1)
		var m fastMember
		named := e != nil
		if named {
			m = e.fastMember
		}
		if w.strict {
			if named && e.once != 0 && w.utf8ok {
				if once&e.once != 0 {
					return notJSON, fastUnsure // decoding refuses it, and says why
				}
				once |= e.once
			} else if names == nil {
				return n.checkMembersNamed(w, b, start, ks, objectState{seen, once, count, verdict, namesSure})
			} else if names.Repeated(b, ks, ke, escaped) {
				return notJSON, fastUnsure
			}
		}
		if named || escaped || !n.unnamedMatters || w.utf8ok || utf8.Valid(key) {
			var v fastVerdict
			if n.plainMembers {
				sub := m.property
				if sub == nil {
					sub = n.additional
				}
				if sub == nil {
					i, v = w.skip(b, i), fastValid
				} else {
					i, v = sub.check(w, b, i)
				}
			} else {
				i, v = n.member(w, b, i, m.property, key, ks)
			}
			if i < 0 || v == fastInvalid {
				return i, v
			}
			verdict = max(verdict, v)
			seen |= m.bit
		} else {
			// encoding/json reads bad bytes as U+FFFD: which schema
			// governs the name, and which name it is, is not sure.
			if i = w.skip(b, i); i < 0 {
				return i, fastUnsure
			}
			verdict, namesSure = fastUnsure, false
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
			return n.objectDone(w, b, start, i+1, seen, count, verdict, namesSure)
		default:
			return notJSON, fastUnsure
		}
	}
}

// member checks one member's name against propertyNames and its value at
// b[i] against its property, the patternProperties its name matches, or
// additionalProperties when neither applies.
func (n *fastNode) member(w *fastWalk, b []byte, i int, property *fastNode, key []byte, ks int) (int, fastVerdict) {
	end, v := -1, fastValid
	if n.propertyNames != nil {
		// The name is a JSON string at b[ks]: checked as one.
		if _, v = n.propertyNames.check(w, b, ks); v == fastInvalid {
			return i, v
		}
	}
	if property != nil {
		var r fastVerdict
		if end, r = property.check(w, b, i); end < 0 || r == fastInvalid {
			return end, r
		}
		v = max(v, r)
	}
	for k := range n.patterns {
		p := &n.patterns[k]
		if !p.re.Match(key) {
			continue
		}
		var r fastVerdict
		if end < 0 {
			end, r = p.node.check(w, b, i)
			if end < 0 {
				return end, r
			}
		} else {
			r = p.node.again(w, b, i, end)
		}
		if v = and3(v, r); v == fastInvalid {
			return end, v
		}
	}
	if end >= 0 {
		return end, v
	}
	if n.additional != nil {
		end, r := n.additional.check(w, b, i)
		return end, and3(v, r)
	}
	return w.skip(b, i), v
}

// objectDone checks what needs the whole object: the counts, required
// names and dependencies. sure is false when a name could not be read (a
// name not sure may be the one missing).
func (n *fastNode) objectDone(w *fastWalk, b []byte, start, end int, seen uint64, count int, verdict fastVerdict, sure bool) (int, fastVerdict) {
	if (n.minProperties >= 0 && count < n.minProperties) || (n.maxProperties >= 0 && count > n.maxProperties) {
		return end, fastInvalid
	}
	if seen&n.required != n.required {
		if sure {
			return end, fastInvalid
		}
		return end, fastUnsure
	}
	for k := range n.dependencies {
		d := &n.dependencies[k]
		if seen&d.trigger == 0 {
			continue
		}
		if seen&d.need != d.need {
			if sure {
				return end, fastInvalid
			}
			verdict = fastUnsure
		}
		if d.schema != nil {
			if verdict = and3(verdict, d.schema.again(w, b, start, end)); verdict == fastInvalid {
				return end, verdict
			}
		}
	}
	return end, verdict
}

func (n *fastNode) checkArray(w *fastWalk, b []byte, i int) (int, fastVerdict) {
	verdict := fastValid
	count := 0
	var starts, ends [maxUniqueItems]int32
	var contained [2]int // values contains says valid, and unsure
	i = jsonscan.SkipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return n.arrayDone(b, i+1, count, contained, verdict, &starts, &ends)
	}
	for {
		sub := n.items
		if count < len(n.prefix) {
			sub = n.prefix[count]
		}
		es := i
		var v fastVerdict
		if sub == nil {
			i, v = w.skip(b, i), fastValid
		} else {
			i, v = sub.check(w, b, i)
		}
		if i < 0 || v == fastInvalid {
			return i, v
		}
		verdict = and3(verdict, v)
		if n.contains != nil {
			switch n.contains.again(w, b, es, i) {
			case fastValid:
				contained[0]++
			case fastUnsure:
				contained[1]++
			}
		}
		if n.uniqueItems && count < maxUniqueItems {
			starts[count], ends[count] = int32(es), int32(i)
		}
		count++
		i = jsonscan.SkipSpace(b, i)
		if i >= len(b) {
			return notJSON, fastUnsure
		}
		switch b[i] {
		case ',':
			i = jsonscan.SkipSpace(b, i+1)
		case ']':
			return n.arrayDone(b, i+1, count, contained, verdict, &starts, &ends)
		default:
			return notJSON, fastUnsure
		}
	}
}

func (n *fastNode) arrayDone(b []byte, end, count int, contained [2]int, verdict fastVerdict, starts, ends *[maxUniqueItems]int32) (int, fastVerdict) {
	if (n.minItems >= 0 && count < n.minItems) || (n.maxItems >= 0 && count > n.maxItems) {
		return end, fastInvalid
	}
	if n.contains != nil {
		// Between contained[0] and contained[0]+contained[1] values match.
		low, high := contained[0], contained[0]+contained[1]
		minC := 1
		if n.minContains >= 0 {
			minC = n.minContains
		}
		if high < minC || (n.maxContains >= 0 && low > n.maxContains) {
			return end, fastInvalid
		}
		if low < minC || (n.maxContains >= 0 && high > n.maxContains) {
			verdict = fastUnsure
		}
	}
	if n.uniqueItems && count > 1 {
		if count > maxUniqueItems || int64(end) > 1<<31-1 {
			return end, and3(verdict, fastUnsure)
		}
		for x := 1; x < count; x++ {
			for y := 0; y < x; y++ {
				switch rawEqual(b, int(starts[x]), int(ends[x]), int(starts[y]), int(ends[y])) {
				case fastValid:
					return end, fastInvalid
				case fastUnsure:
					verdict = fastUnsure
				}
			}
		}
	}
	return end, verdict
}
