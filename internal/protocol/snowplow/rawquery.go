package snowplow

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/jsonpointer"
	"github.com/accord-events/accord/internal/protocol"
)

// DecodeQueryText is DecodeRawQuery for the raw query alone: it reads the
// query itself, in one pass into one buffer, instead of taking the
// url.Values url.ParseQuery builds (a map, a slice and two strings a
// parameter, which cost more than decoding the event). What it returns is
// what DecodeRawQuery(url.ParseQuery(raw), raw) returns, to the byte:
// each name's first value, '+' read as a space, Raw the query as sent.
// A query url.ParseQuery refuses (a bad %XX escape, a ';', too many
// parameters) is read as DecodeRawQuery reads what url.ParseQuery made
// of it. FuzzDecodeQueryText holds the two to the same results.
func DecodeQueryText(raw string) (event.Input, error) {
	return decodeQueryText(raw, ways{})
}

// DecodeGETQuery is what GET /i runs: protocol.CheckQuery and
// DecodeQueryText in one pass. A query url.ParseQuery refuses is
// protocol.QueryError, as the server would have answered it (the
// endpoint's protocol.Endpoint.ChecksQuery); any other is read as
// DecodeQueryText reads it.
func DecodeGETQuery(raw string) (event.Input, error) {
	return decodeQuery(raw, ways{}, true)
}

// decodeQueryText is DecodeQueryText, read the ways w says.
func decodeQueryText(raw string, w ways) (event.Input, error) {
	return decodeQuery(raw, w, false)
}

// decodeQuery is DecodeQueryText, or with check DecodeGETQuery, read the
// ways w says.
func decodeQuery(raw string, w ways, check bool) (event.Input, error) {
	d := decoder{ways: w}
	defer d.giveScratch(d.takeScratch())
	var room queryRoom
	textLen, ok := d.readQuery(raw, &room)
	if !ok {
		// readQuery reads every query url.ParseQuery reads without an
		// error, and some it does not (the GODEBUG setting).
		q, err := url.ParseQuery(raw)
		if check && err != nil {
			return event.Input{}, protocol.QueryError(err, raw)
		}
		return decodeRawQuery(q, raw, w)
	}
	if len(d.fields) == 0 {
		return event.Input{}, noParameters()
	}
	var p problems
	if room.invalid {
		// Fields that are not UTF-8 are left out: most queries have none.
		var invalid []string // their names
		room = queryRoom{}
		kept := 0
		for _, f := range d.fields {
			if f.invalid {
				invalid = append(invalid, d.str(f.name))
				continue
			}
			d.fields[kept] = f
			room.add(f, f.param(), kept)
			kept++
		}
		d.fields = d.fields[:kept]
		addInvalidParams(&p, invalid)
	}
	d.keepQuery(len(raw), textLen, &room)
	var in event.Input
	d.build(&in, &p)
	// The query as sent, the start of what keepQuery kept.
	in.Raw = unsafe.Slice(unsafe.StringData(d.text), len(raw))[:len(raw):len(raw)]
	return in, nil
}

// queryScratch returns the scratch's buffer for readQuery to read a query
// of n bytes in: a copy of the query, followed by eight '&' (a scan stops
// at its end as at a separator, and reads whole words up to it), room for
// the names and values that hold escapes, unescaped (never longer than as
// sent), and one byte more, so that an empty text at the end still points
// into the buffer (decoder.str): 2n+9 bytes. The ue_px and cx decoded
// while it is read go after them (payloadsAt), at most 3/4 of the query
// and 3 bytes each. It is bounded by n, which net/http bounds.
func (d *decoder) queryScratch(n int) []byte {
	need := payloadsAt(n) + n*3/4 + 8
	if cap(d.sc.query) < need {
		d.sc.query = make([]byte, need)
	}
	return d.sc.query[:need]
}

// payloadsAt is where in readQuery's buffer for a query of n bytes the
// payloads it decodes go.
func payloadsAt(n int) int { return 2*n + 9 }

// keepQuery moves what the event keeps out of the scratch readQuery read
// a query of n bytes into (textLen bytes of text, then the payloads it
// decoded) into one allocation sized to it: the copy of the query (the
// event's Raw) with the texts unescaped after it, where d.fields point;
// the payloads decoded, and room for those that were not; then room for
// the attributes and data, which build writes to d.buf.
func (d *decoder) keepQuery(n, textLen int, room *queryRoom) {
	scr := d.sc.query
	decoded := d.payloads
	if unsafe.SliceData(decoded) != unsafe.SliceData(scr[payloadsAt(n):]) {
		// Not the scratch's: never, queryScratch leaves them room.
		decoded = nil
	}
	payloads, attrs := room.keepSize(d)
	payloads += len(decoded)
	keep := make([]byte, textLen+len(decoded), textLen+payloads+attrs)
	copy(keep, scr[:textLen])
	copy(keep[textLen:], decoded)
	// What predecode kept points into scr: moved to the same places of
	// keep.
	for i := range d.pre {
		pre := &d.pre[i]
		if pre.s == nil {
			continue
		}
		pre.s = &keep[offsetIn(scr, pre.s)]
		switch off := offsetIn(scr, unsafe.SliceData(pre.b)); {
		case decoded != nil:
			k := textLen + off - payloadsAt(n)
			pre.b = keep[k : k+len(pre.b) : k+len(pre.b)]
		case off >= 0 && off < len(scr):
			// Decoded into the scratch before the payloads moved out
			// of it (never, as above): it must not stay there.
			pre.b = slices.Clip(bytes.Clone(pre.b))
		}
	}
	d.text = unsafe.String(unsafe.SliceData(keep), textLen)
	d.payloads = keep[textLen : textLen+len(decoded) : textLen+payloads]
	d.payloadsSize = 64 // for a payload keepSize left no room for (none)
	d.buf = keep[textLen+payloads : textLen+payloads]
}

// offsetIn is the index in b of the byte p points to, one of b's.
func offsetIn(b []byte, p *byte) int {
	return int(uintptr(unsafe.Pointer(p)) - uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}

// queryRoom adds up, as readQuery reads the fields of a query, the room
// their event needs besides the query's text, for keepQuery.
type queryRoom struct {
	// invalid is set when a field is not UTF-8 (it is left out).
	invalid bool
	// others is the room the fields of other names take in the
	// attributes (entry).
	others int
	// sent are the decoder's own fields (paramNames) read, at their
	// indexes in d.fields.
	sent uint64
	at   [numParams]int32
}

// add adds the field f, d.fields[k], whose name is paramNames[param] (-1
// for none of them).
func (r *queryRoom) add(f field, param, k int) {
	if f.invalid {
		r.invalid = true
	}
	if param >= 0 {
		r.sent |= bit(param)
		r.at[param] = int32(k)
		return
	}
	r.others += entry(f, f.name.n)
}

// param is the index in paramNames of f's name, -1 for none, once its
// rank is known.
func (f field) param() int {
	if f.rank > 0 {
		return int(knownAttrs[f.rank-1].param)
	}
	return -1
}

// entry is the room f's value takes in a JSON object under a name of
// name bytes, a comma included: exact for a verbatim field, with room for
// a few escapes otherwise (more, and d.buf grows).
func entry(f field, name int) int {
	n := name + f.value.n + 6
	if !f.verbatim {
		n += (name+f.value.n)/8 + 8
	}
	return n
}

// keepSize is the room keepQuery makes for the payloads not decoded yet
// (what decoder.decodeBase64 reserves for ue_px and cx) and for the
// attributes and data, as build writes them.
func (r *queryRoom) keepSize(d *decoder) (payloads, attrs int) {
	for slot, i := range [...]int{pUEPx, pCX} {
		if r.sent&bit(i) != 0 && d.pre[slot].s == nil {
			payloads += d.fields[r.at[i]].value.n*3/4 + 3
		}
	}
	var t *eventType
	if r.sent&bit(pE) != 0 {
		t = typeOf(d.str(d.fields[r.at[pE]].value))
	}
	// The braces, and the word written past the last attribute.
	attrs = r.others + 2 + 8
	// The decoder's own fields that are attributes too (see build), nuid
	// only with a different tnuid.
	m := r.sent & (alsoAttributes | typeSpecific | bit(pNUID))
	if t != nil {
		m &^= t.uses
	}
	for ; m != 0; m &= m - 1 {
		i := bits.TrailingZeros64(m)
		attrs += entry(d.fields[r.at[i]], len(paramNames[i]))
	}
	if t != nil && t.fields != nil {
		attrs += 2
		for _, f := range t.fields {
			if r.sent&bit(f.param) != 0 {
				// An integer is written with at most the digits sent.
				attrs += entry(d.fields[r.at[f.param]], len(f.name))
			}
		}
	}
	return payloads, attrs
}

// maxDedupScan is the most parameters readQuery compares each name with
// the names before it; beyond, it keeps the names seen in a map.
const maxDedupScan = 32

// readQuery reads the raw query into d.fields, each parameter's first
// value only, as places in d.text: a copy of raw (the event's Raw),
// followed by each name and value that holds an escape ('%XX', '+')
// unescaped; a plain one is its place in the copy. Each field is verbatim
// or invalid as textOf finds its name and value. The copy is the
// scratch's (queryScratch), and so are the payloads decoded (d.pre): it
// returns the length of the text, for keepQuery to move it out. It
// reports false, having read nothing usable, for a query url.ParseQuery
// returns an error for, which is left to it.
//
// The query is read a word at a time (scanText): most names and values
// are plain text, which is then neither copied again nor read a second
// time. ue_px and cx, long base64, are found with bytes.IndexByte and
// decoded when the whole query has been read (their size is then known);
// what does not decode is read as any other value.
func (d *decoder) readQuery(raw string, room *queryRoom) (int, bool) {
	if protocol.URLMaxQueryParamsSet || strings.IndexByte(raw, ';') >= 0 {
		return 0, false
	}
	n := len(raw)
	// raw's copy is left as sent: it is the event's Raw.
	scr := d.queryScratch(n)
	buf := scr[: n+8 : payloadsAt(n)]
	copy(buf, raw)
	binary.LittleEndian.PutUint64(buf[n:], '&'*lo8)
	// The places of every text are in buf's capacity, which is never
	// grown: read only once written.
	d.text = unsafe.String(unsafe.SliceData(buf), cap(buf))
	var names [4]uint64
	var known [2]uint64 // the ranks of the known names read
	var seen map[string]struct{}
	pending := [2]int{-1, -1} // the fields of ue_px and cx, not read yet
	params := 0               // as url.ParseQuery counts them: each '&', and one
	for i := 0; i <= n; i++ {
		// buf[i] starts a pair, or is the '&' that ends an empty one; the
		// pair before ended with the '&' at buf[i-1], each one of raw's
		// '&' once.
		if params++; params > protocol.MaxQueryParams {
			return 0, false
		}
		if buf[i] == '&' {
			continue
		}
		ke, plain := scanText(buf, i, true)
		ns, ne := i, ke
		if !plain {
			var ok bool
			if ns, ne, ok = appendUnescaped(&buf, i, ke); !ok {
				return 0, false
			}
		}
		name := textAt(buf, ns, ne)
		f := field{name: text{ns, len(name)}, value: text{ke, 0}}
		nameClass := textClass(name, plain)
		// A known name is told apart from the others by its rank, an
		// other one by seenParam (it is never a known one).
		var dup bool
		param := -1 // the name's index in paramNames
		if r := knownRank(namePrefix(buf[ns:ne]), len(name)); r >= 0 {
			dup = known[r>>6]&(1<<(r&63)) != 0
			known[r>>6] |= 1 << (r & 63)
			f.rank = int16(r + 1)
			param = int(knownAttrs[r].param)
		} else {
			dup = d.seenParam(buf, name, &names, &seen)
			f.rank = -1
		}
		i = ke
		if buf[ke] == '=' {
			vs := ke + 1
			slot := predecodeSlot(paramLiteral(name))
			if slot >= 0 && !dup && !d.noPredecode {
				// Base64 when a tracker sent it: read with the payloads.
				ve := vs + bytes.IndexByte(buf[vs:], '&') // buf ends with '&'
				f.value = text{vs, ve - vs}
				pending[slot] = len(d.fields)
				room.add(f, param, len(d.fields))
				d.fields = append(d.fields, f)
				i = ve
				continue
			}
			ve, vplain := scanText(buf, vs, false)
			vs, vend := vs, ve
			if !vplain {
				var ok bool
				if vs, vend, ok = appendUnescaped(&buf, vs, ve); !ok {
					return 0, false
				}
			}
			value := textAt(buf, vs, vend)
			i = ve
			if dup {
				// A later value of a name: url.Values keeps it after the
				// first, which is the one read.
				continue
			}
			f.value = text{vs, len(value)}
			f.setClass(nameClass, textClass(value, vplain))
		} else {
			if dup {
				continue
			}
			f.setClass(nameClass, verbatimText)
		}
		room.add(f, param, len(d.fields))
		d.fields = append(d.fields, f)
	}
	// The payloads decoded go after the text, room enough for both.
	d.payloads = scr[payloadsAt(n):payloadsAt(n):len(scr)]
	for slot, k := range pending {
		if k < 0 {
			continue
		}
		f := &d.fields[k]
		value := d.str(f.value)
		if d.predecode(slot, value) {
			// ue_px and cx are verbatim, and so is base64.
			f.verbatim = true
			continue
		}
		// Read as any other value, then decoded if its escapes hid base64.
		vs := f.value.start
		ve, plain := scanText(buf, vs, false)
		vs, vend := vs, ve
		if !plain {
			var ok bool
			if vs, vend, ok = appendUnescaped(&buf, vs, ve); !ok {
				return 0, false
			}
		}
		value = textAt(buf, vs, vend)
		f.value = text{vs, len(value)}
		valueClass := verbatimText
		if plain || !d.predecode(slot, value) {
			valueClass = textClass(value, plain)
		}
		f.setClass(verbatimText, valueClass)
		if f.invalid {
			room.invalid = true
		}
	}
	return len(buf), true
}

// setClass sets f.verbatim and f.invalid from what textOf finds its name
// and value to be.
func (f *field) setClass(name, value int) {
	f.verbatim = name == verbatimText && value == verbatimText
	f.invalid = name == invalidText || value == invalidText
}

// textClass is textOf(s) for a name or value that scanText found plain
// (then verbatim) or not.
func textClass(s string, plain bool) int {
	if plain {
		return verbatimText
	}
	return textOf(s)
}

const lo8, hi8 = 0x0101010101010101, 0x8080808080808080

// scanText returns the end of the name (name set) or value that starts at
// buf[i]: the index of the first '&', or for a name '=', at or after i
// (buf ends with '&'). plain reports that the text holds neither an
// escape ('%', '+') nor a byte that is not verbatim (see verbatimWord).
// It reads eight bytes at a time; each test of a byte in a word is exact
// for the lowest byte it holds for, and may hold for the bytes above it
// (a borrow), which are not read as this text's.
func scanText(buf []byte, i int, name bool) (end int, plain bool) {
	var flags uint64
	for {
		x := binary.LittleEndian.Uint64(buf[i:])
		amp := x ^ ('&' * lo8)
		sep := (amp - lo8) &^ amp
		if name {
			eq := x ^ ('=' * lo8)
			sep |= (eq - lo8) &^ eq
		}
		sep &= hi8
		pct, plus := x^('%'*lo8), x^('+'*lo8)
		quote, backslash := x^('"'*lo8), x^('\\'*lo8)
		f := ((x-0x20*lo8)&^x | (quote-lo8)&^quote | (backslash-lo8)&^backslash | x |
			(pct-lo8)&^pct | (plus-lo8)&^plus) & hi8
		if sep != 0 {
			k := bits.TrailingZeros64(sep) // the high bit of the separator
			flags |= f & (1<<k - 1)
			return i + k>>3, flags == 0
		}
		flags |= f
		i += 8
	}
}

// textAt is the text buf[s:e], without bounds checks: readQuery's places
// are in buf.
func textAt(buf []byte, s, e int) string {
	return unsafe.String((*byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(buf)), s)), e-s)
}

// appendUnescaped appends buf[s:e], a name or value that is not plain,
// to buf unescaped as url.QueryUnescape unescapes it ('+' is a space, %XX
// a byte), and returns where it is. It reports false where
// url.QueryUnescape returns an error (a '%' without two hex digits after
// it). buf never grows: readQuery made it large enough.
func appendUnescaped(buf *[]byte, s, e int) (int, int, bool) {
	b := *buf
	start := len(b)
	b = b[:start+e-s] // never longer unescaped
	w := start
	for r := s; r < e; w++ {
		if r+8 <= e {
			// The bytes before the first '%' or '+' of the next eight,
			// copied at once (w+8 is within b: w-start <= r-s; what is
			// written after them is written again). The test is exact for
			// the lowest byte that holds it.
			x := binary.LittleEndian.Uint64(b[r:])
			pct, plus := x^('%'*lo8), x^('+'*lo8)
			m := ((pct-lo8)&^pct | (plus-lo8)&^plus) & hi8
			binary.LittleEndian.PutUint64(b[w:], x)
			if m == 0 {
				r += 8
				w += 7
				continue
			}
			k := bits.TrailingZeros64(m) >> 3
			r += k
			w += k
		}
		c := b[r]
		if c == '%' {
			if r+2 >= e || !isHex(b[r+1]) || !isHex(b[r+2]) {
				return 0, 0, false
			}
			b[w] = unhex(b[r+1])<<4 | unhex(b[r+2])
			r += 3
			continue
		}
		if c == '+' {
			c = ' '
		}
		b[w] = c
		r++
	}
	*buf = b[:w]
	return start, w, true
}

// seenParam reports whether name, just read into buf, is the name of a
// field already in d.fields, and otherwise remembers it in names (a set of
// hashes of the names seen, which spares comparing most names with each
// other) or, beyond maxDedupScan names, in seen.
func (d *decoder) seenParam(buf []byte, name string, names *[4]uint64, seen *map[string]struct{}) bool {
	if len(d.fields) < maxDedupScan {
		h := nameHash(name)
		if names[h/64]&(1<<(h%64)) == 0 {
			names[h/64] |= 1 << (h % 64)
			return false
		}
		for _, f := range d.fields {
			if f.name.n == len(name) && string(buf[f.name.start:f.name.start+f.name.n]) == name {
				return true
			}
		}
		return false
	}
	if *seen == nil {
		*seen = make(map[string]struct{}, 2*maxDedupScan)
		for _, f := range d.fields {
			(*seen)[string(buf[f.name.start:f.name.start+f.name.n])] = struct{}{}
		}
	}
	if _, ok := (*seen)[name]; ok {
		return true
	}
	// A copy: buf's bytes after name may be given back and rewritten.
	(*seen)[strings.Clone(name)] = struct{}{}
	return false
}

// nameHash is a hash of a parameter name, 0 to 255: of its length and its
// first and last bytes, which tell most tp2 names apart.
func nameHash(name string) uint {
	if name == "" {
		return 0
	}
	return (uint(len(name))*7 + uint(name[0])*31 + uint(name[len(name)-1])) % 256
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// noParameters is the error for a query without any parameter.
func noParameters() error {
	return protocol.Errorf(http.StatusBadRequest, event.ProtocolViolation,
		"the request has no tp2 parameters; send the event in the query string, such as /i?e=pv&p=web&tv=js-3.24.0&url=https%%3A%%2F%%2Fexample.com%%2F")
}

// addInvalidParams adds to p a problem for each parameter named in
// invalid, whose name or value is not UTF-8, in the order of their names,
// so that the same query always fails the same way.
func addInvalidParams(p *problems, invalid []string) {
	slices.Sort(invalid)
	for _, name := range invalid {
		if !utf8.ValidString(name) {
			p.Add(event.PayloadFormatViolation, "", "a parameter name holds bytes that are not valid UTF-8; encode all text as UTF-8 before percent-encoding it")
			continue
		}
		p.Add(event.PayloadFormatViolation, "/"+jsonpointer.Escape(name), "%s holds bytes that are not valid UTF-8; encode all text as UTF-8 before percent-encoding it", name)
	}
}
