package sqlite

import (
	"errors"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/accord-events/accord/internal/jsonscan"
)

// The typed columns' values, computed in Go from a record's JSON as
// SQLite's JSON functions compute them (SQLite 3.54, the version
// modernc.org/sqlite embeds): `->` for a value as JSON text, `->>` for a
// value as SQL, `json()` for a context's data. Each function names the
// SQLite routine it follows. The record's JSON is valid (the pipeline
// checked it); what is not valid JSON is reported, never guessed at.
// TestTypedValuesMatchSQLite and FuzzTypedValues compare every function
// with SQLite itself.

// errNotJSON is a payload or contexts text that is not valid JSON.
var errNotJSON = errors.New("not valid JSON")

// maxJSONDepth is SQLite's JSON_MAX_DEPTH: deeper nesting is an error
// there, and so here.
const maxJSONDepth = 1000

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// valueEnd returns the index just past the JSON value that starts at
// b[i] (no white space before it), walking nested values with a stack of
// the brackets that close them rather than recursion.
func valueEnd(b []byte, i int) (int, error) { return valueEndIn(b, i, 0) }

// valueEndIn is valueEnd for a value nested depth levels deep in the text
// being read, which counts towards maxJSONDepth.
func valueEndIn(b []byte, i, depth int) (int, error) {
	var stackBuf [32]byte
	stack := stackBuf[:0]
	var err error
	for {
		if i >= len(b) {
			return 0, errNotJSON
		}
		switch c := b[i]; {
		case c == '{' || c == '[':
			if len(stack)+depth >= maxJSONDepth {
				return 0, errNotJSON
			}
			closing := byte('}')
			if c == '[' {
				closing = ']'
			}
			i = skipSpace(b, i+1)
			if i < len(b) && b[i] == closing {
				i++
				break
			}
			stack = append(stack, closing)
			if c == '{' {
				if i, err = memberValue(b, i); err != nil {
					return 0, err
				}
			}
			continue
		case c == '"':
			if i, err = stringEnd(b, i); err != nil {
				return 0, err
			}
		case c == 't':
			if !hasLiteral(b, i, "true") {
				return 0, errNotJSON
			}
			i += 4
		case c == 'f':
			if !hasLiteral(b, i, "false") {
				return 0, errNotJSON
			}
			i += 5
		case c == 'n':
			if !hasLiteral(b, i, "null") {
				return 0, errNotJSON
			}
			i += 4
		case c == '-' || (c >= '0' && c <= '9'):
			if i, _, err = numberEnd(b, i); err != nil {
				return 0, err
			}
		default:
			return 0, errNotJSON
		}
		// After a value: close what it ends, then go on to the next
		// element or member.
		for {
			if len(stack) == 0 {
				return i, nil
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return 0, errNotJSON
			}
			top := stack[len(stack)-1]
			if b[i] == top {
				i++
				stack = stack[:len(stack)-1]
				continue
			}
			if b[i] != ',' {
				return 0, errNotJSON
			}
			i = skipSpace(b, i+1)
			if top == '}' {
				if i, err = memberValue(b, i); err != nil {
					return 0, err
				}
			}
			break
		}
	}
}

// memberValue skips a member's name and ':' at b[i] and returns the index
// of its value.
func memberValue(b []byte, i int) (int, error) {
	e, err := stringEnd(b, i)
	if err != nil {
		return 0, err
	}
	i = skipSpace(b, e)
	if i >= len(b) || b[i] != ':' {
		return 0, errNotJSON
	}
	return skipSpace(b, i+1), nil
}

func hasLiteral(b []byte, i int, lit string) bool {
	return len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit
}

// stringEnd returns the index just past the JSON string that starts at
// b[i] ('"'). jsonscan.String reads it eight bytes at a time, and refuses
// what this parser must (a control character, a bad escape, no closing
// quote); bytes beyond ASCII are taken as they are in both.
func stringEnd(b []byte, i int) (int, error) {
	if i >= len(b) || b[i] != '"' {
		return 0, errNotJSON
	}
	e, err := jsonscan.String(b, i)
	if err != nil {
		return 0, errNotJSON
	}
	return e, nil
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// numberEnd returns the index just past the JSON number that starts at
// b[i], and whether it is an integer (no fraction, no exponent).
func numberEnd(b []byte, i int) (end int, integer bool, err error) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return 0, false, errNotJSON
	}
	integer = true
	if i < len(b) && b[i] == '.' {
		integer = false
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return 0, false, errNotJSON
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		integer = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return 0, false, errNotJSON
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	return i, integer, nil
}

// jsonValue returns v, a JSON text, without the white space around it,
// checking that it is one value.
func jsonValue(v []byte) ([]byte, error) {
	i := skipSpace(v, 0)
	e, err := valueEnd(v, i)
	if err != nil {
		return nil, err
	}
	if skipSpace(v, e) != len(v) {
		return nil, errNotJSON
	}
	return v[i:e], nil
}

// member returns the value of the first member of the object v (a JSON
// value without white space around it) whose name is label, as
// jsonLookupStep finds it: names compared after their escapes are
// decoded, the first of duplicate names winning. found is false when v is
// no object or has no such member.
func member(v []byte, label string) (val []byte, found bool, err error) {
	if len(v) == 0 || v[0] != '{' {
		return nil, false, nil
	}
	i := skipSpace(v, 1)
	if i < len(v) && v[i] == '}' {
		return nil, false, nil
	}
	for {
		ke, err := stringEnd(v, i)
		if err != nil {
			return nil, false, err
		}
		match := keyIs(v[i+1:ke-1], label)
		i = skipSpace(v, ke)
		if i >= len(v) || v[i] != ':' {
			return nil, false, errNotJSON
		}
		i = skipSpace(v, i+1)
		e, err := valueEnd(v, i)
		if err != nil {
			return nil, false, err
		}
		if match {
			return v[i:e], true, nil
		}
		i = skipSpace(v, e)
		if i >= len(v) {
			return nil, false, errNotJSON
		}
		if v[i] == '}' {
			return nil, false, nil
		}
		if v[i] != ',' {
			return nil, false, errNotJSON
		}
		i = skipSpace(v, i+1)
	}
}

// objectMember is one member of an object: its name as written (between
// its quotes) and its value.
type objectMember struct {
	name, value []byte
	// escaped: the name holds an escape, so it is compared once decoded.
	escaped bool
}

// documentMembers returns doc, a JSON text, without the white space
// around it, and appends the members of the object it is, in order, to
// dst (none when it is no object), checking in the same pass that doc is
// one valid value. Reading the event data's members once a row, rather
// than scanning it from the start for every column, took the Go side of a
// typed row of BenchmarkTypedWrite from about 107,000 instructions to
// about 36,000; checking the text in that pass, rather than in one of its
// own before it, saved another scan of the data.
func documentMembers(dst []objectMember, doc []byte) ([]byte, []objectMember, error) {
	i := skipSpace(doc, 0)
	if i >= len(doc) || doc[i] != '{' {
		v, err := jsonValue(doc)
		return v, dst, err
	}
	dst, e, err := appendMembers(dst, doc, i)
	if err != nil {
		return nil, dst, err
	}
	if skipSpace(doc, e) != len(doc) {
		return nil, dst, errNotJSON
	}
	return doc[i:e], dst, nil
}

// appendMembers appends the members of the object at v[i] ('{') to dst,
// in order, and returns the index just past it. Each member's value is
// read as nested one level deep, so that the object's nesting is bounded
// as valueEnd bounds it.
func appendMembers(dst []objectMember, v []byte, i int) ([]objectMember, int, error) {
	i = skipSpace(v, i+1)
	if i < len(v) && v[i] == '}' {
		return dst, i + 1, nil
	}
	for {
		if i >= len(v) || v[i] != '"' {
			return dst, 0, errNotJSON
		}
		ke, escaped, err := jsonscan.StringEscaped(v, i)
		if err != nil {
			return dst, 0, errNotJSON
		}
		name := v[i+1 : ke-1]
		i = skipSpace(v, ke)
		if i >= len(v) || v[i] != ':' {
			return dst, 0, errNotJSON
		}
		i = skipSpace(v, i+1)
		e, err := valueEndIn(v, i, 1)
		if err != nil {
			return dst, 0, err
		}
		dst = append(dst, objectMember{name: name, value: v[i:e], escaped: escaped})
		i = skipSpace(v, e)
		if i >= len(v) {
			return dst, 0, errNotJSON
		}
		if v[i] == '}' {
			return dst, i + 1, nil
		}
		if v[i] != ',' {
			return dst, 0, errNotJSON
		}
		i = skipSpace(v, i+1)
	}
}

// find returns the value of the first of members named label, as member
// does.
func find(members []objectMember, label string) ([]byte, bool) {
	for _, m := range members {
		if !m.escaped {
			if len(m.name) == len(label) && string(m.name) == label {
				return m.value, true
			}
		} else if len(m.name) > len(label) && keyIs(m.name, label) {
			return m.value, true
		}
	}
	return nil, false
}

// keyIs reports whether the member name raw (between its quotes) is
// label once its escapes are decoded.
func keyIs(raw []byte, label string) bool {
	for i := range raw {
		if raw[i] == '\\' {
			return string(appendUnescaped(nil, raw)) == label
		}
	}
	return string(raw) == label
}

// appendUnescaped appends the text of a JSON string's contents (between
// its quotes, escapes checked) with its escapes decoded, as
// jsonReturnFromBlob does: a \u escape of a surrogate that is not part of
// a pair is written as that code point's three bytes, as SQLite writes it.
func appendUnescaped(dst, raw []byte) []byte {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		e := raw[i+1]
		i++
		switch e {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			v := hex4(raw[i+1:])
			i += 4
			if v&0xfc00 == 0xd800 && len(raw)-i > 6 && raw[i+1] == '\\' && raw[i+2] == 'u' {
				if lo := hex4(raw[i+3:]); lo&0xfc00 == 0xdc00 {
					v = (v&0x3ff)<<10 + lo&0x3ff + 0x10000
					i += 6
				}
			}
			dst = appendCodePoint(dst, v)
		default: // '"', '\\', '/'
			dst = append(dst, e)
		}
	}
	return dst
}

func hex4(h []byte) rune {
	return rune(hexVal(h[0])<<12 | hexVal(h[1])<<8 | hexVal(h[2])<<4 | hexVal(h[3]))
}

// appendCodePoint writes v in UTF-8 as SQLite does, surrogates included
// (utf8.AppendRune would write U+FFFD for them).
func appendCodePoint(dst []byte, v rune) []byte {
	switch {
	case v <= 0x7f:
		return append(dst, byte(v))
	case v <= 0x7ff:
		return append(dst, byte(0xc0|v>>6), byte(0x80|v&0x3f))
	case v < 0x10000:
		return append(dst, byte(0xe0|v>>12), byte(0x80|(v>>6)&0x3f), byte(0x80|v&0x3f))
	}
	return utf8.AppendRune(dst, v)
}

// appendRendered appends the JSON text SQLite renders for the value v
// (jsonTranslateBlobToText): v without insignificant white space, every
// token as written (numbers and escapes are not normalised).
func appendRendered(dst, v []byte) []byte {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if isSpace(c) {
			continue
		}
		if c != '"' {
			dst = append(dst, c)
			continue
		}
		e, _ := stringEnd(v, i)
		dst = append(dst, v[i:e]...)
		i = e - 1
	}
	return dst
}

// renderedText is appendRendered of v as a string: v itself, not copied,
// when it has no white space to drop.
func renderedText(v []byte) string {
	for _, c := range v {
		if isSpace(c) {
			return textOf(appendRendered(make([]byte, 0, len(v)), v))
		}
	}
	return textOf(v)
}

// sqlValue is the SQL value `->>` gives for the JSON value v (no white
// space around it), as jsonReturnFromBlob computes it: NULL for null, 1 and
// 0 for true and false, an integer or a real for a number, the decoded text
// of a string, and the JSON text of an object or array. A text may point
// into v (textOf): it is bound before the record changes, as the good
// table's values are.
func sqlValue(v []byte) any {
	switch v[0] {
	case 'n':
		return nil
	case 't':
		return int64(1)
	case 'f':
		return int64(0)
	case '"':
		raw := v[1 : len(v)-1]
		for _, c := range raw {
			if c == '\\' {
				return textOf(appendUnescaped(make([]byte, 0, len(raw)), raw))
			}
		}
		return textOf(raw)
	case '{', '[':
		return renderedText(v)
	}
	return numberValue(v)
}

// numberValue is a JSON number's SQL value: an integer when it is one
// that fits in 64 bits (-0 is 0), else a real, converted as sqlite3AtoF
// converts it.
func numberValue(v []byte) any {
	integer := true
	for _, c := range v {
		if c == '.' || c == 'e' || c == 'E' {
			integer = false
			break
		}
	}
	if integer {
		if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return n
		}
	}
	return atoF(v)
}

// atoF converts a JSON number as sqlite3AtoF does: the first 19 or so
// significant digits (up to a mantissa s below 2^64 less 9, / 10) make an
// unsigned integer s, the rest only move the decimal point (digits left of
// it) or are dropped (right of it), and s * 10^d is rounded to the nearest
// double (sqlite3Fp10Convert2, correctly rounded, as strconv is).
func atoF(v []byte) float64 {
	const limit = (math.MaxUint64 - 9) / 10
	neg := false
	i := 0
	if v[0] == '-' {
		neg = true
		i++
	}
	var s uint64
	d := 0
	for ; i < len(v) && v[i] >= '0' && v[i] <= '9'; i++ {
		if s >= limit {
			d++
			continue
		}
		s = s*10 + uint64(v[i]-'0')
	}
	if i < len(v) && v[i] == '.' {
		for i++; i < len(v) && v[i] >= '0' && v[i] <= '9'; i++ {
			if s < limit {
				s = s*10 + uint64(v[i]-'0')
				d--
			}
		}
	}
	if i < len(v) && (v[i] == 'e' || v[i] == 'E') {
		i++
		esign := 1
		if v[i] == '-' {
			esign = -1
			i++
		} else if v[i] == '+' {
			i++
		}
		exp := 0
		for ; i < len(v); i++ {
			if exp < 10000 {
				exp = exp*10 + int(v[i]-'0')
			} else {
				exp = 10000
			}
		}
		d += esign * exp
	}
	var r float64
	switch {
	case s == 0:
	case d < -348:
		// sqlite3Fp10Convert2 gives 0 for any s past 10^-348.
	case d > 347:
		r = math.Inf(1)
	default:
		var buf [48]byte
		b := strconv.AppendUint(buf[:0], s, 10)
		b = append(b, 'e')
		b = strconv.AppendInt(b, int64(d), 10)
		r, _ = strconv.ParseFloat(string(b), 64) // ±Inf on overflow, as SQLite
	}
	if neg {
		r = -r
	}
	return r
}
