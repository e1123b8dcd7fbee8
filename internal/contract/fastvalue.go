package contract

import (
	"encoding/json"
	"math/bits"
	"slices"
	"unicode/utf8"

	"github.com/accord-events/accord/internal/jsonscan"
)

// Numbers and JSON values as the fast path compares them: exactly, as the
// stock validator does with big.Rat (1 == 1.0 == 1e0), but read in place
// from the number's text, without allocating.

// fastDecimal is a number read from its text: its value is D × 10^exp,
// where D is the integer its significant digits spell.
type fastDecimal struct {
	neg  bool
	text []byte
	// first and last bound the significant digits in text (a '.' may lie
	// between them); equal for zero.
	first, last int
	digits      int // how many significant digits; 0 for zero
	exp         int
	mant        uint64 // D, when digits <= maxMantissaDigits
	bad         bool   // an exponent too long to read: not sure of anything
}

// maxMantissaDigits is how many significant digits fit a uint64 with room
// to multiply by ten.
const maxMantissaDigits = 18

// maxExponentDigits bounds the exponent read; jsonscan has already refused
// numbers beyond float64, so only a schema's bound can get near it.
const maxExponentDigits = 7

func (d *fastDecimal) zero() bool { return d.digits == 0 }

// parseDecimal reads a number in JSON's grammar.
func parseDecimal(t []byte) fastDecimal {
	d := fastDecimal{text: t}
	i := 0
	if i < len(t) && t[i] == '-' {
		d.neg = true
		i++
	}
	k, intLen := 0, -1 // k counts digits read
	k1, k2 := -1, -1   // first and last non-zero digits
	for ; i < len(t); i++ {
		c := t[i]
		if c == '.' {
			intLen = k
			continue
		}
		if c < '0' || c > '9' {
			break
		}
		if c != '0' {
			if k1 < 0 {
				k1, d.first = k, i
			}
			k2, d.last = k, i+1
		}
		if k1 >= 0 && k-k1 < maxMantissaDigits {
			d.mant = d.mant*10 + uint64(c-'0')
		}
		k++
	}
	if intLen < 0 {
		intLen = k
	}
	e := 0
	if i < len(t) && (t[i] == 'e' || t[i] == 'E') {
		i++
		eneg := false
		if i < len(t) && (t[i] == '+' || t[i] == '-') {
			eneg = t[i] == '-'
			i++
		}
		for ; i < len(t) && t[i] == '0'; i++ {
		}
		if len(t)-i > maxExponentDigits {
			d.bad = true
			return d
		}
		for ; i < len(t); i++ {
			e = e*10 + int(t[i]-'0')
		}
		if eneg {
			e = -e
		}
	}
	if k1 < 0 {
		d.first, d.last, d.mant = 0, 0, 0
		return d
	}
	d.digits = k2 - k1 + 1
	// mant holds digits k1..k1+17; drop those past k2 (zeros).
	if read := min(k-k1, maxMantissaDigits); read > d.digits {
		for range read - d.digits {
			d.mant /= 10
		}
	}
	d.exp = intLen - 1 - k2 + e
	return d
}

// int64 returns the number as an int64 when it is an integer of at most
// maxMantissaDigits digits (with its trailing zeros), which fits one.
func (d *fastDecimal) int64() (int64, bool) {
	if d.zero() {
		return 0, true
	}
	if d.bad || d.exp < 0 || d.digits+d.exp > maxMantissaDigits {
		return 0, false
	}
	v := int64(d.mant)
	for range d.exp {
		v *= 10
	}
	if d.neg {
		v = -v
	}
	return v, true
}

// maxIntDigits is how many digits a plain integer in the data may have to
// be read by plainInt64: float64 holds every such integer exactly, so
// nothing here differs from the stock validator's reading.
const maxIntDigits = 15

// plainInt64 reads t, a JSON integer without fraction or exponent, when
// it has at most maxIntDigits digits.
func plainInt64(t []byte) (int64, bool) {
	neg := len(t) > 0 && t[0] == '-'
	if neg {
		t = t[1:]
	}
	if len(t) == 0 || len(t) > maxIntDigits {
		return 0, false
	}
	var v int64
	for _, c := range t {
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// plainFractionFloor reads t, a JSON number with a fraction and no
// exponent (jsonscan.Number has checked its grammar) of at most
// maxIntDigits integer digits, and returns the greatest integer not above
// it, and exact when the fraction is all zeros (the number is that
// integer). ok is false for any other number.
func plainFractionFloor(t []byte) (floor int64, exact, ok bool) {
	neg := len(t) > 0 && t[0] == '-'
	if neg {
		t = t[1:]
	}
	var v int64
	i := 0
	for ; i < len(t) && t[i] != '.'; i++ {
		c := t[i]
		if c < '0' || c > '9' || i == maxIntDigits {
			return 0, false, false
		}
		v = v*10 + int64(c-'0')
	}
	if i == 0 || i+1 >= len(t) {
		return 0, false, false
	}
	exact = true
	for _, c := range t[i+1:] {
		if c < '0' || c > '9' {
			return 0, false, false
		}
		if c != '0' {
			exact = false
		}
	}
	switch {
	case !neg:
		return v, exact, true
	case exact:
		return -v, true, true
	}
	return -v - 1, false, true
}

// integer reports whether the number is an integer (1.0 and 1e2 are).
func (d *fastDecimal) integer() bool { return d.zero() || d.exp >= 0 }

// eachDigit calls f with the significant digits in order.
func (d *fastDecimal) digitAt(i int) (byte, int) {
	for d.text[i] == '.' {
		i++
	}
	return d.text[i], i + 1
}

// cmpAbs compares |a| and |b|.
func cmpAbs(a, b *fastDecimal) int {
	switch {
	case a.zero() && b.zero():
		return 0
	case a.zero():
		return -1
	case b.zero():
		return 1
	}
	if la, lb := a.digits+a.exp, b.digits+b.exp; la != lb {
		if la < lb {
			return -1
		}
		return 1
	}
	i, j := a.first, b.first
	for n := 0; n < a.digits && n < b.digits; n++ {
		var ca, cb byte
		ca, i = a.digitAt(i)
		cb, j = b.digitAt(j)
		if ca != cb {
			if ca < cb {
				return -1
			}
			return 1
		}
	}
	switch {
	case a.digits < b.digits:
		return -1
	case a.digits > b.digits:
		return 1
	}
	return 0
}

// cmpDecimal compares a and b.
func cmpDecimal(a, b *fastDecimal) int {
	an, bn := a.neg && !a.zero(), b.neg && !b.zero()
	switch {
	case an && !bn:
		return -1
	case !an && bn:
		return 1
	case an:
		return -cmpAbs(a, b)
	}
	return cmpAbs(a, b)
}

// multipleOf reports whether v is an integer multiple of m (m not zero,
// with at most maxMantissaDigits digits); sure is false when v has too many
// digits to tell.
func multipleOf(v, m *fastDecimal) (ok, sure bool) {
	if v.zero() {
		return true, true
	}
	if v.digits > maxMantissaDigits {
		return false, false
	}
	d := v.exp - m.exp
	if d >= 0 {
		// v/m = (a/b)·10^d: an integer when b divides a·10^d.
		if d > 4000 {
			return false, false
		}
		r := v.mant % m.mant
		for range d {
			r = r * 10 % m.mant
		}
		return r == 0, true
	}
	// v/m = a / (b·10^-d).
	div := m.mant
	for range -d {
		hi, lo := bits.Mul64(div, 10)
		if hi != 0 || lo > v.mant {
			return false, true // the divisor exceeds a: not an integer
		}
		div = lo
	}
	return v.mant%div == 0, true
}

// fastValue is a constant of enum or const.
type fastValue struct {
	kind uint8 // typeNull, typeBoolean, typeNumber, typeString, typeArray or typeObject
	b    bool
	s    string
	num  fastDecimal
	arr  []fastValue
	obj  map[string]*fastValue
}

func newFastValue(v any) (fastValue, bool) {
	switch v := v.(type) {
	case nil:
		return fastValue{kind: typeNull}, true
	case bool:
		return fastValue{kind: typeBoolean, b: v}, true
	case string:
		return fastValue{kind: typeString, s: v}, true
	case json.Number:
		d := parseDecimal([]byte(v))
		return fastValue{kind: typeNumber, num: d}, !d.bad
	case []any:
		fv := fastValue{kind: typeArray, arr: make([]fastValue, len(v))}
		for i, x := range v {
			var ok bool
			if fv.arr[i], ok = newFastValue(x); !ok {
				return fv, false
			}
		}
		return fv, true
	case map[string]any:
		fv := fastValue{kind: typeObject, obj: make(map[string]*fastValue, len(v))}
		for k, x := range v {
			e, ok := newFastValue(x)
			if !ok {
				return fv, false
			}
			fv.obj[k] = &e
		}
		return fv, true
	}
	return fastValue{}, false
}

// notEqual is equalValue's end when the value differs: where it ends is
// not read.
const notEqual = -2

// equalValue compares the value at b[i] with v: fastValid when equal,
// fastInvalid when not, fastUnsure when it cannot tell. It returns the
// index past the value, or notEqual when it differs.
func equalValue(b []byte, i int, v *fastValue) (int, fastVerdict) {
	if i >= len(b) {
		return notJSON, fastUnsure
	}
	switch c := b[i]; {
	case c == '{':
		if v.kind != typeObject {
			return notEqual, fastInvalid
		}
		return equalObject(b, i, v)
	case c == '[':
		if v.kind != typeArray {
			return notEqual, fastInvalid
		}
		verdict := fastValid
		k := 0
		end, err := jsonscan.Array(b, i, func(_, es int) (int, error) {
			if k >= len(v.arr) {
				return notEqual, errNotEqual
			}
			end, r := equalValue(b, es, &v.arr[k])
			k++
			return verdictEnd(end, r, &verdict)
		})
		if err != nil || k != len(v.arr) {
			return unequal(err)
		}
		return end, verdict
	case c == '"':
		end, escaped, err := jsonscan.StringEscaped(b, i)
		if err != nil {
			return notJSON, fastUnsure
		}
		if v.kind != typeString {
			return notEqual, fastInvalid
		}
		s := b[i+1 : end-1]
		if escaped {
			if jsonscan.UnquoteBytes(b[i:end]) == v.s {
				return end, fastValid
			}
			return notEqual, fastInvalid
		}
		if string(s) == v.s {
			return end, fastValid
		}
		if !utf8.Valid(s) {
			return end, fastUnsure // encoding/json reads bad bytes as U+FFFD
		}
		return notEqual, fastInvalid
	case c == 't' || c == 'f' || c == 'n':
		end, err := jsonscan.Value(b, i)
		if err != nil {
			return notJSON, fastUnsure
		}
		if (c == 'n' && v.kind == typeNull) || (c != 'n' && v.kind == typeBoolean && v.b == (c == 't')) {
			return end, fastValid
		}
		return notEqual, fastInvalid
	}
	end, _, err := jsonscan.Number(b, i)
	if err != nil {
		return notJSON, fastUnsure
	}
	if v.kind != typeNumber {
		return notEqual, fastInvalid
	}
	d := parseDecimal(b[i:end])
	if d.bad {
		return end, fastUnsure
	}
	if cmpDecimal(&d, &v.num) == 0 {
		return end, fastValid
	}
	return notEqual, fastInvalid
}

func equalObject(b []byte, i int, v *fastValue) (int, fastVerdict) {
	verdict := fastValid
	count := 0
	// The constant's members matched so far: a name the instance repeats
	// would otherwise count twice towards len(v.obj) and hide one that
	// never came; the stock validator keeps one of the repeats, so such an
	// instance is left to it (unsure).
	var matchedBuf [8]*fastValue
	matched := matchedBuf[:0]
	end, err := jsonscan.Object(b, i, func(ks, ke, vs int) (int, error) {
		count++
		lit := b[ks:ke]
		var want *fastValue
		if jsonscan.HasEscape(lit) {
			want = v.obj[jsonscan.UnquoteBytes(lit)]
		} else {
			want = v.obj[string(lit[1:len(lit)-1])]
			if want == nil && !utf8.Valid(lit) {
				verdict = fastUnsure
				return jsonscan.Value(b, vs)
			}
		}
		if want == nil {
			return notEqual, errNotEqual
		}
		if slices.Contains(matched, want) {
			verdict = fastUnsure
			return jsonscan.Value(b, vs)
		}
		matched = append(matched, want)
		end, r := equalValue(b, vs, want)
		return verdictEnd(end, r, &verdict)
	})
	if err != nil || count != len(v.obj) {
		if err == nil && verdict == fastUnsure {
			return end, fastUnsure
		}
		return unequal(err)
	}
	return end, verdict
}

// errNotEqual stops a walk of jsonscan.Object or Array at the first
// difference.
var errNotEqual = &jsonscan.SyntaxError{Msg: "not equal"}

// verdictEnd turns one member's comparison into what jsonscan's walk
// callbacks return.
func verdictEnd(end int, r fastVerdict, verdict *fastVerdict) (int, error) {
	switch {
	case end == notJSON:
		return end, errNotJSON
	case r == fastInvalid:
		return end, errNotEqual
	case r == fastUnsure:
		*verdict = fastUnsure
	}
	return end, nil
}

var errNotJSON = &jsonscan.SyntaxError{Msg: "not JSON"}

func unequal(err error) (int, fastVerdict) {
	if err == errNotEqual {
		return notEqual, fastInvalid
	}
	if err != nil {
		return notJSON, fastUnsure
	}
	return notEqual, fastInvalid
}

// rawEqual compares two values of an array, for uniqueItems: fastValid
// when equal, fastInvalid when not, fastUnsure when it cannot tell cheaply
// (two objects or arrays spelled differently).
func rawEqual(b []byte, i, iEnd, j, jEnd int) fastVerdict {
	x, y := b[i:iEnd], b[j:jEnd]
	if string(x) == string(y) {
		return fastValid
	}
	kx, ky := rawKind(x[0]), rawKind(y[0])
	if kx != ky {
		return fastInvalid
	}
	switch kx {
	case typeObject, typeArray:
		return fastUnsure
	case typeString:
		ex, ey := jsonscan.HasEscape(x), jsonscan.HasEscape(y)
		if !ex && !ey {
			if utf8.Valid(x) && utf8.Valid(y) {
				return fastInvalid
			}
			return fastUnsure
		}
		if jsonscan.UnquoteBytes(x) == jsonscan.UnquoteBytes(y) {
			return fastValid
		}
		return fastInvalid
	case typeNumber:
		dx, dy := parseDecimal(x), parseDecimal(y)
		if dx.bad || dy.bad {
			return fastUnsure
		}
		if cmpDecimal(&dx, &dy) == 0 {
			return fastValid
		}
	}
	return fastInvalid // true, false and null differ from each other
}

// rawKind is the kind of the value starting with c; the literals are
// told apart by their text.
func rawKind(c byte) uint8 {
	switch c {
	case '{':
		return typeObject
	case '[':
		return typeArray
	case '"':
		return typeString
	case 't', 'f', 'n':
		return typeBoolean
	}
	return typeNumber
}
