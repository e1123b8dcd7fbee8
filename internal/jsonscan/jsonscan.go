// Package jsonscan reads JSON text in place: it validates it and hands back
// the byte ranges of objects' members and arrays' elements, so that a protocol
// can keep an event's data as the very bytes it was sent in, reading each byte
// once, without building a map or re-marshalling anything.
//
// It accepts exactly the documents encoding/json's Valid accepts, less those
// with an object that repeats a member name (the fuzz test holds it to that),
// and like encoding/json it leaves the UTF-8 validity of strings to the
// caller. A repeated name is refused because readers disagree on it: a
// validator that takes the last {"total":-5,"total":5} sees 5, a store's JSON
// functions that take the first see -5. I-JSON (RFC 7493) forbids them.
package jsonscan

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// MaxDepth is how deeply arrays and objects may nest within one value, as in
// encoding/json. It bounds the recursion a hostile body can cause.
const MaxDepth = 10000

// SyntaxError says where JSON text stopped being JSON.
type SyntaxError struct {
	// Offset is the index of the offending byte in the slice that was read.
	Offset int
	// Msg says what was wrong, as a lower-case phrase.
	Msg string
	// notData is set when the text is JSON but not data Accord takes: an
	// object repeats a member name, or a number is beyond float64.
	notData bool
}

// IsNotData reports whether err is a *SyntaxError for JSON that Skip reads
// but that is not data Accord takes: an object that repeats a member name,
// or a number beyond the range of a 64-bit float (1e999999), which readers
// turn into infinity, an error or a rounded value, each their own way.
func IsNotData(err error) bool {
	var se *SyntaxError
	return errors.As(err, &se) && se.notData
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s at byte offset %d", e.Msg, e.Offset)
}

func errAt(i int, msg string) error { return &SyntaxError{Offset: i, Msg: msg} }

// SkipSpace returns the index of the first byte at or after i that is not
// JSON whitespace, or len(b).
func SkipSpace(b []byte, i int) int {
	// Called before and after every name and value, and mostly at a byte
	// that is not space: one comparison tells (all four spaces are at or
	// below ' ').
	for i < len(b) {
		if c := b[i]; c > ' ' || (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			return i
		}
		i++
	}
	return i
}

// Value validates the JSON value that starts at b[i] and returns the index
// just past it. Leading whitespace is not skipped. An object in it that
// repeats a member name is an error (see IsNotData).
func Value(b []byte, i int) (int, error) { return value(b, i, 0, true) }

// ValueIn is Value for a value nested depth arrays and objects deep in a
// document its caller walks with UniqueObject and Array, so that MaxDepth
// counts from the document's root, as Document counts it: the caller reads
// the document in one pass and refuses exactly what Document refuses.
func ValueIn(b []byte, i, depth int) (int, error) { return value(b, i, depth, true) }

// Skip is Value without the check for repeated member names: for a
// protocol that reads a whole batch's syntax first and then each event,
// so that an event whose data repeats a name fails alone rather than the
// batch.
func Skip(b []byte, i int) (int, error) { return value(b, i, 0, false) }

// Document validates that b[i:] is exactly one JSON value, with optional
// whitespace around it, and returns the range [start, end) of the value.
func Document(b []byte, i int) (start, end int, err error) {
	start = SkipSpace(b, i)
	if start == len(b) {
		return start, start, errAt(start, "unexpected end of input, expected a value")
	}
	end, err = value(b, start, 0, true)
	if err != nil {
		return start, end, err
	}
	if j := SkipSpace(b, end); j != len(b) {
		return start, end, errAt(j, "unexpected "+describe(b[j])+" after the end of the value")
	}
	return start, end, nil
}

func value(b []byte, i, depth int, unique bool) (int, error) {
	if i >= len(b) {
		return i, errAt(i, "unexpected end of input, expected a value")
	}
	switch c := b[i]; c {
	case '{':
		return object(b, i, depth+1, unique)
	case '[':
		return array(b, i, depth+1, unique)
	case '"':
		return String(b, i)
	case 't':
		return literal(b, i, "true")
	case 'f':
		return literal(b, i, "false")
	case 'n':
		return literal(b, i, "null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			if !unique {
				end, _, err := number(b, i)
				return end, err
			}
			end, _, err := Number(b, i)
			return end, err
		}
		return i, errAt(i, "invalid "+describe(c)+" looking for the start of a value")
	}
}

func object(b []byte, i, depth int, unique bool) (int, error) {
	if depth > MaxDepth {
		return i, errAt(i, "objects and arrays nested too deeply")
	}
	if !unique {
		return walkObject(b, i, nil, depth, nil)
	}
	var names memberNames
	return walkObject(b, i, &names, depth, nil)
}

func array(b []byte, i, depth int, unique bool) (int, error) {
	if depth > MaxDepth {
		return i, errAt(i, "objects and arrays nested too deeply")
	}
	return walkArray(b, i, depth, unique, nil)
}

// Object walks the object that starts at b[i] ('{'). For each member it calls
// member with the range [keyStart, keyEnd) of the member's name as sent (a
// string literal, quotes and escapes included) and the index where its value
// starts (always < len(b)); member must read the value (with Value, or by
// walking it) and return the index just past it. Object returns the index just
// past the closing brace.
//
// Object itself does not check that member names are unique: a caller reads
// its members by name and says what a repeat means (a protocol's own fields
// repeated are its protocol_violation); values read with Value are checked.
func Object(b []byte, i int, member func(keyStart, keyEnd, valueStart int) (int, error)) (int, error) {
	return walkObject(b, i, nil, 0, member)
}

// UniqueObject is Object for an object that is data as a whole (a webhook
// payload): a member name repeating an earlier one is an error at the
// repeat (see IsNotData), before member is called for it.
func UniqueObject(b []byte, i int, member func(keyStart, keyEnd, valueStart int) (int, error)) (int, error) {
	var names memberNames
	return walkObject(b, i, &names, 0, member)
}

// walkObject is Object, refusing repeated member names when names is not
// nil. With member nil it reads each value itself, as data nested depth
// deep (value, checking names as names is nil or not): no call through a
// func value per member on the path every event's data takes.
func walkObject(b []byte, i int, names *memberNames, depth int, member func(keyStart, keyEnd, valueStart int) (int, error)) (int, error) {
	i = SkipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) {
			return i, errAt(i, "unexpected end of input inside an object")
		}
		if b[i] != '"' {
			return i, errAt(i, "invalid "+describe(b[i])+" looking for the beginning of an object key string")
		}
		ks := i
		var err error
		var esc bool
		if i, esc, err = scanString(b, i); err != nil {
			return i, err
		}
		ke := i
		if names != nil {
			// The common case, written out here (a method would not be
			// inlined): a plain name whose bit no earlier name has is new.
			h := nameHash(b[ks:ke])
			lo, hi := filterBits(h)
			if !esc && !names.slow && (names.seen[0]&lo != lo || names.seen[1]&hi != hi) {
				names.seen[0] |= lo
				names.seen[1] |= hi
				names.starts[names.n], names.hashes[names.n] = ks, h
				names.n++
				names.slow = names.n == smallObject
			} else if names.repeated(b, ks, ke, esc) {
				return ks, repeatedName(b[ks:ke], ks)
			}
		}
		i = SkipSpace(b, i)
		if i >= len(b) {
			return i, errAt(i, "unexpected end of input inside an object")
		}
		if b[i] != ':' {
			return i, errAt(i, "invalid "+describe(b[i])+" after object key")
		}
		i = SkipSpace(b, i+1)
		if i >= len(b) {
			return i, errAt(i, "unexpected end of input, expected a value")
		}
		switch {
		case member != nil:
			i, err = member(ks, ke, i)
		case b[i] == '"':
			i, _, err = scanString(b, i)
		default:
			i, err = value(b, i, depth, names != nil)
		}
		if err != nil {
			return i, err
		}
		i = SkipSpace(b, i)
		if i >= len(b) {
			return i, errAt(i, "unexpected end of input inside an object")
		}
		switch b[i] {
		case ',':
			i = SkipSpace(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return i, errAt(i, "invalid "+describe(b[i])+" after object key:value pair")
		}
	}
}

// smallObject is how many member names an object may have before their
// check moves from comparing each new name with the earlier ones (no
// allocation, cheap for the small objects events are made of) to a map.
const smallObject = 16

// memberNames remembers the names of one object's members, to spot a repeat.
// The zero value is ready to use. Every member of every object of event
// data passes through it, so its common case (a plain name unlike the
// earlier ones) costs a few instructions, written out in walkObject.
type memberNames struct {
	// seen is a Bloom filter of the names recorded, two bits of 128 per
	// name (filterBits): a plain name one of whose bits is clear cannot
	// equal an earlier name byte for byte, which spares every comparison
	// for nearly every name of the usual object.
	seen [2]uint64
	n    int
	// slow is set once the common case no longer applies: a name had an
	// escape, or the object outgrew starts.
	slow bool
	// starts holds where each recorded name's literal starts, and hashes
	// its nameHash: a name is compared byte for byte only with the
	// earlier names of the same hash.
	starts [smallObject]int
	hashes [smallObject]uint32
	// escaped is set once a name with an escape was seen: names are then
	// compared by their text, not their bytes.
	escaped bool
	large   map[string]struct{}
}

// repeated records the name b[ks:ke] (a valid string literal, esc when it
// holds an escape) and reports whether the object already had it. Its
// common case is written out in walkObject.
func (m *memberNames) repeated(b []byte, ks, ke int, esc bool) bool {
	lit := b[ks:ke]
	if m.large != nil {
		name := UnquoteBytes(lit)
		if _, ok := m.large[name]; ok {
			return true
		}
		m.large[name] = struct{}{}
		return false
	}
	m.escaped = m.escaped || esc
	m.slow = m.slow || esc
	h := nameHash(lit)
	lo, hi := filterBits(h)
	maybe := m.seen[0]&lo == lo && m.seen[1]&hi == hi
	m.seen[0] |= lo
	m.seen[1] |= hi
	for k := 0; k < m.n && (maybe || m.escaped); k++ {
		// Equal bytes from a valid literal's start are the same literal:
		// both end at the same quote.
		if ps := m.starts[k]; m.hashes[k] == h && ps+len(lit) <= len(b) && bytes.Equal(b[ps:ps+len(lit)], lit) {
			return true
		}
		if m.escaped {
			if prev := m.literal(b, k); (esc || HasEscape(prev)) && UnquoteBytes(prev) == UnquoteBytes(lit) {
				return true
			}
		}
	}
	if m.n < smallObject {
		m.starts[m.n], m.hashes[m.n] = ks, h
		m.n++
		m.slow = m.slow || m.n == smallObject
		return false
	}
	m.large = make(map[string]struct{}, 2*smallObject)
	for k := 0; k < m.n; k++ {
		m.large[UnquoteBytes(m.literal(b, k))] = struct{}{}
	}
	m.large[UnquoteBytes(lit)] = struct{}{}
	return false
}

// Names spots a member name that repeats an earlier one of the same
// object, for a caller that walks an object itself (a validator reading
// event data in the same pass that checks its syntax) and must refuse
// exactly what Value refuses. The zero value is ready; use one per object.
type Names struct{ m memberNames }

// Repeated records the member name b[ks:ke], a valid string literal (esc
// when it holds an escape, as StringEscaped reports), and reports whether
// the object already had it: where Value would stop with IsNotData.
func (n *Names) Repeated(b []byte, ks, ke int, esc bool) bool {
	m := &n.m
	h := nameHash(b[ks:ke])
	lo, hi := filterBits(h)
	if !esc && !m.slow && (m.seen[0]&lo != lo || m.seen[1]&hi != hi) {
		m.seen[0] |= lo
		m.seen[1] |= hi
		m.starts[m.n], m.hashes[m.n] = ks, h
		m.n++
		m.slow = m.n == smallObject
		return false
	}
	return m.repeated(b, ks, ke, esc)
}

// literal returns the k-th recorded name's literal, quotes included.
func (m *memberNames) literal(b []byte, k int) []byte {
	end, _, _ := scanString(b, m.starts[k]) // read once already: valid
	return b[m.starts[k]:end]
}

// nameHash hashes a name literal (quotes included) from its length and
// its first, middle and last characters: equal literals get equal hashes,
// and the names of one object rarely share one.
func nameHash(lit []byte) uint32 {
	// lit has at least its two quotes, so lit[1] and lit[len-2] exist
	// (a quote for the empty name).
	h := uint32(len(lit)) ^ uint32(lit[1])<<8 ^ uint32(lit[len(lit)-2])<<16 ^ uint32(lit[len(lit)/2])<<24
	return h * 0x9E3779B1
}

// filterBits returns the two bits of memberNames.seen (its low and high
// word) for a name of hash h.
func filterBits(h uint32) (lo, hi uint64) {
	return 1 << (h >> 26), 1 << (h >> 20 & 63)
}

// Array walks the array that starts at b[i] ('['). For each element it calls
// elem with the element's index and the index where it starts (always
// < len(b)); elem must read
// the element and return the index just past it. Array returns the index just
// past the closing bracket.
func Array(b []byte, i int, elem func(n, start int) (int, error)) (int, error) {
	return walkArray(b, i, 0, false, elem)
}

// walkArray is Array. With elem nil it reads each element itself, as data
// nested depth deep (value, checking names with unique).
func walkArray(b []byte, i, depth int, unique bool, elem func(n, start int) (int, error)) (int, error) {
	i = SkipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for n := 0; ; n++ {
		if i >= len(b) {
			return i, errAt(i, "unexpected end of input, expected a value")
		}
		var err error
		switch {
		case elem != nil:
			i, err = elem(n, i)
		case b[i] == '"':
			i, _, err = scanString(b, i)
		default:
			i, err = value(b, i, depth, unique)
		}
		if err != nil {
			return i, err
		}
		i = SkipSpace(b, i)
		if i >= len(b) {
			return i, errAt(i, "unexpected end of input inside an array")
		}
		switch b[i] {
		case ',':
			i = SkipSpace(b, i+1)
		case ']':
			return i + 1, nil
		default:
			return i, errAt(i, "invalid "+describe(b[i])+" after array element")
		}
	}
}

// String validates the string that starts at b[i] ('"') and returns the index
// just past its closing quote.
func String(b []byte, i int) (int, error) {
	end, _, err := scanString(b, i)
	return end, err
}

// StringEscaped is String, also reporting whether the string holds an
// escape (so a caller need not look for one again).
func StringEscaped(b []byte, i int) (end int, escaped bool, err error) { return scanString(b, i) }

// scanString is String, also reporting whether the string holds an escape.
func scanString(b []byte, i int) (end int, esc bool, err error) {
	// The common string, plain ASCII to its closing quote, takes this
	// loop alone; whatever else scanEscaped reads, out of line, so that
	// this one stays small for the several dozen strings of every event.
	// escapeBits also stops at the first byte beyond ASCII, which
	// scanEscaped then reads past: its test is half specialBits' work.
	i++
	for 0 <= i && i <= len(b)-8 {
		x := word(b, i)
		m := escapeBits(x)
		if m == 0 {
			i += 8
			continue
		}
		k := bits.TrailingZeros64(m) &^ 7
		i += k >> 3
		if byte(x>>k) == '"' {
			return i + 1, false, nil
		}
		break
	}
	return scanEscaped(b, i)
}

// ShortString reads the string literal at b[i] (a quote) when it is
// short and plain: fewer than 16 bytes between its quotes, all of them
// ASCII and none a backslash or a control character, with at least 16
// bytes of b after its opening quote (8 when its text is under 8 bytes).
// It returns the text as two little-endian words, zero past its n bytes
// (w0 its first eight); the literal ends at i+n+2. ok is false for any
// other string, which the caller reads with StringEscaped. A member name
// of an event is usually such a string, and a table keyed on its words
// finds it without reading its bytes again.
func ShortString(b []byte, i int) (w0, w1 uint64, n int, ok bool) {
	p := i + 1
	if p < 0 || p > len(b)-8 {
		return 0, 0, 0, false
	}
	w0 = word(b, p)
	if m := escapeBits(w0); m != 0 {
		// The first mark is exact: the byte there is the word's first
		// quote, backslash, control character or byte beyond ASCII.
		k := bits.TrailingZeros64(m) &^ 7
		if byte(w0>>k) != '"' {
			return 0, 0, 0, false
		}
		return w0 & (1<<k - 1), 0, k >> 3, true
	}
	if p > len(b)-16 {
		return 0, 0, 0, false
	}
	w1 = word(b, p+8)
	if m := escapeBits(w1); m != 0 {
		k := bits.TrailingZeros64(m) &^ 7
		if byte(w1>>k) != '"' {
			return 0, 0, 0, false
		}
		return w0, w1 & (1<<k - 1), 8 + k>>3, true
	}
	return 0, 0, 0, false
}

// word is the little-endian word of b[i:i+8], which the caller has
// checked are within b: read without a bounds check.
func word(b []byte, i int) uint64 {
	return binary.LittleEndian.Uint64((*[8]byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))[:])
}

// scanEscaped is scanString from b[i] on, inside the string: escapes,
// control characters, and the last bytes of b one at a time.
func scanEscaped(b []byte, i int) (end int, esc bool, err error) {
	for i < len(b) {
		// Most bytes of most strings are plain: read them eight at a time,
		// jumping straight to the first byte of the word that can end the
		// string or needs a look; the last few one at a time.
		if i+8 <= len(b) {
			m := specialBits(binary.LittleEndian.Uint64(b[i:]))
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		} else {
			for i < len(b) && plain[b[i]] {
				i++
			}
			if i >= len(b) {
				break
			}
		}
		c := b[i]
		switch {
		case c == '"':
			return i + 1, esc, nil
		case c == '\\':
			esc = true
			if i+1 >= len(b) {
				return len(b), esc, errAt(len(b), "unexpected end of input inside a string")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for k := i + 2; k < i+6; k++ {
					if k >= len(b) {
						return len(b), esc, errAt(len(b), "unexpected end of input inside a string")
					}
					if !isHex(b[k]) {
						return k, esc, errAt(k, "invalid "+describe(b[k])+" in \\u hexadecimal character escape")
					}
				}
				i += 6
			default:
				return i + 1, esc, errAt(i+1, "invalid "+describe(b[i+1])+" in string escape code")
			}
		case c < 0x20:
			return i, esc, errAt(i, "invalid "+describe(c)+" in string literal (control characters must be escaped)")
		default:
			i++
		}
	}
	return i, esc, errAt(i, "unexpected end of input inside a string (is a closing quote missing?)")
}

// special reports whether any byte of the little-endian word x may be a
// quote, a backslash or a control character (below 0x20). It never misses
// one; it may report one that is not there (a borrow across bytes), which
// only sends the caller to its byte-by-byte loop.
func special(x uint64) bool { return specialBits(x) != 0 }

// specialBits is special as a mask: the high bit of each byte that may be
// a quote, a backslash or a control character. Its lowest set bit is
// exact (a borrow only runs upwards from a byte that is one), so it marks
// the word's first such byte.
func specialBits(x uint64) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	quote := x ^ ('"' * lo)
	backslash := x ^ ('\\' * lo)
	return ((x-0x20*lo)&^x | (quote-lo)&^quote | (backslash-lo)&^backslash) & hi
}

// plain marks the bytes that stand for themselves inside a string.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func literal(b []byte, i int, lit string) (int, error) {
	for k := 0; k < len(lit); k++ {
		if i+k >= len(b) {
			return i + k, errAt(i+k, "unexpected end of input in literal "+lit)
		}
		if b[i+k] != lit[k] {
			return i + k, errAt(i+k, "invalid "+describe(b[i+k])+" in literal "+lit+" (expecting "+strconv.QuoteRune(rune(lit[k]))+")")
		}
	}
	return i + len(lit), nil
}

// IsNumber reports whether s is exactly one JSON number, so that a value
// sent as text can be written into JSON as the number it spells.
func IsNumber(s string) bool {
	if s == "" {
		return false
	}
	end, _, err := number([]byte(s), 0)
	return err == nil && end == len(s)
}

// Number validates the number that starts at b[i] ('-' or a digit) as
// Value does, refusing one beyond float64's range (see IsNotData), and
// returns the index just past it. integer reports whether it is written
// as a plain integer, with neither fraction nor exponent.
func Number(b []byte, i int) (end int, integer bool, err error) {
	if i >= len(b) {
		return i, false, errAt(i, "unexpected end of input, expected a value")
	}
	end, kind, err := number(b, i)
	if err != nil {
		return end, false, err
	}
	// Only a number with an exponent or of over 308 digits can be beyond
	// float64: the usual number needs no parsing.
	if (kind&numExponent != 0 || end-i > 308) && !inRange(b[i:end]) {
		return i, false, beyondFloat(b[i:end], i)
	}
	return end, kind == 0, nil
}

// repeatedName is the error for the member name lit at offset ks.
func repeatedName(lit []byte, ks int) error {
	return &SyntaxError{Offset: ks, Msg: "member name " + clip(lit) + " appears twice in one object; each name may appear once", notData: true}
}

// beyondFloat is the error for the number n at offset i, out of line so
// that Number's common case carries none of its work.
func beyondFloat(n []byte, i int) error {
	return &SyntaxError{Offset: i, Msg: "the number " + clip(n) + " is beyond the range of a 64-bit float (about 1.8e308); send a smaller number, or the value as a string", notData: true}
}

// What number saw of a number's form.
const (
	numFraction = 1 << iota
	numExponent
)

// number reads the number at b[i] and returns the index past it and
// whether it has a fraction or an exponent (numFraction, numExponent).
func number(b []byte, i int) (end int, kind int, err error) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return i, kind, errAt(i, "unexpected end of input in a number")
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return i, kind, errAt(i, "invalid "+describe(b[i])+" in numeric literal")
	}
	if i < len(b) && b[i] == '.' {
		kind |= numFraction
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, kind, errAt(i, "expected a digit after the decimal point in a number")
		}
		i = digits(b, i)
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		kind |= numExponent
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, kind, errAt(i, "expected a digit in the exponent of a number")
		}
		i = digits(b, i)
	}
	return i, kind, nil
}

// inRange reports whether the valid JSON number n is within float64's
// range.
func inRange(n []byte) bool {
	f, err := strconv.ParseFloat(string(n), 64)
	return err == nil || !math.IsInf(f, 0)
}

// clip shortens a long number or member name, the client's, for a message.
func clip(n []byte) string {
	if len(n) > 40 {
		return string(n[:37]) + "..."
	}
	return string(n)
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// describe names a byte for a message: 'x' for printable ASCII, its hex code
// otherwise.
func describe(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return "character " + strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// Kind names the kind of the JSON value starting with c, for messages.
func Kind(c byte) string {
	switch c {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// Unquote returns the text of a valid JSON string literal (quotes included).
// text must hold the same bytes as lit, as a string; a literal without
// escapes is returned as a substring of text, without copying.
func Unquote(lit []byte, text string) string {
	if bytes.IndexByte(lit, '\\') < 0 {
		return text[1 : len(text)-1]
	}
	return unescape(lit)
}

// TextBytes returns the text of a valid JSON string literal (quotes
// included): a part of lit when the literal holds no escape, new memory
// when it does. Where UnquoteBytes makes a string for every name, a
// comparison (string(TextBytes(k)) == "name") or a map lookup
// (m[string(TextBytes(k))]) on TextBytes allocates nothing for a name
// without escapes, which is every name a tracker sends.
func TextBytes(lit []byte) []byte {
	if bytes.IndexByte(lit, '\\') < 0 {
		return lit[1 : len(lit)-1]
	}
	return []byte(unescape(lit))
}

// UnquoteBytes returns the text of a valid JSON string literal (quotes
// included) as a new string.
func UnquoteBytes(lit []byte) string {
	if bytes.IndexByte(lit, '\\') < 0 {
		return string(lit[1 : len(lit)-1])
	}
	return unescape(lit)
}

func unescape(lit []byte) string {
	var s string
	if err := json.Unmarshal(lit, &s); err != nil {
		// lit was validated by String; this cannot happen.
		return string(lit[1 : len(lit)-1])
	}
	return s
}

// HasEscape reports whether a string literal holds a backslash escape.
func HasEscape(lit []byte) bool { return bytes.IndexByte(lit, '\\') >= 0 }

const hexDigits = "0123456789abcdef"

// AppendString appends s to dst as a JSON string literal. Invalid UTF-8
// becomes U+FFFD, as encoding/json does, and U+2028 and U+2029 are escaped
// so the output is also safe to embed in JavaScript.
func AppendString(dst []byte, s string) []byte {
	// Most strings of a record (ids, keys, names, the empty ones) need no
	// escape: copied whole, after one look at each byte.
	if s == "" {
		return append(dst, '"', '"')
	}
	i := plainASCII(s)
	if i == len(s) {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	return appendEscaped(append(dst, '"'), s, i)
}

// plainASCII returns the length of s's longest prefix of ASCII bytes that
// stand for themselves in a JSON string.
func plainASCII(s string) int {
	// Eight bytes at a time (read in place: the bytes are only looked at),
	// to the first word holding a byte that needs escaping or is beyond
	// ASCII; the last few one at a time.
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if m := escapeBits(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(b); i++ {
		if !plainASCIIByte[b[i]] {
			return i
		}
	}
	return i
}

// EscapeBits is the high bit of each byte of the little-endian word x
// that is a quote, a backslash, a control character or beyond ASCII, but
// for bytes after the first such byte, which may be marked or not: the
// lowest mark is exact. It lets a caller that reads a string's words
// itself (a validator looking member names up by their words) find where
// the plain ASCII ends.
func EscapeBits(x uint64) uint64 { return escapeBits(x) }

// escapeBits is the high bit of each byte of the little-endian word x that
// may be a quote, a backslash, a control character or beyond ASCII. Its
// lowest set bit is exact, so it marks the word's first such byte: below
// it every byte is ASCII (no high bit) and none of the three subtractions
// borrows. specialBits without the masks it needs to leave bytes beyond
// ASCII alone.
func escapeBits(x uint64) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	return (x | (x - 0x20*lo) | ((x ^ '"'*lo) - lo) | ((x ^ '\\'*lo) - lo)) & hi
}

// plainASCIIByte marks the ASCII bytes that stand for themselves inside a
// JSON string.
var plainASCIIByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendEscaped appends s to dst, escaped, and the closing quote; s[:i]
// is plain (plainASCII) and the opening quote is in dst already.
func appendEscaped(dst []byte, s string, i int) []byte {
	start := 0
	for i < len(s) {
		// Skip plain bytes eight at a time, to the first that is not.
		if n := plainASCII(s[i:]); n > 0 {
			i += n
			continue
		}
		c := s[i]
		if c < 0x80 {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
