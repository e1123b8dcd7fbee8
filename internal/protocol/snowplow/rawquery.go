package snowplow

import (
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
	return decodeQueryText(raw, false)
}

// decodeQueryText is DecodeQueryText, with noPredecode as for decodeBody.
func decodeQueryText(raw string, noPredecode bool) (event.Input, error) {
	d := decoder{noPredecode: noPredecode}
	defer d.giveScratch(d.takeScratch())
	// Sized for the base64 payloads decoded as the parameters are read (ue_px
	// and cx, added by readQuery), as decodeRawQuery sizes it.
	d.payloadsSize = 64
	if !d.readQuery(raw) {
		q, _ := url.ParseQuery(raw)
		return decodeRawQuery(q, raw, noPredecode)
	}
	if len(d.fields) == 0 {
		return event.Input{}, noParameters()
	}
	var p problems
	var invalid []string // names of parameters that are not UTF-8
	size := 0
	kept := d.fields[:0]
	for _, f := range d.fields {
		name, value := d.str(f.name), d.str(f.value)
		nameText, valueText := textOf(name), verbatimText
		if slot := predecodeSlot(paramLiteral(name)); slot < 0 || !d.predecode(slot, value) {
			valueText = textOf(value)
		}
		if nameText == invalidText || valueText == invalidText {
			invalid = append(invalid, name)
			continue
		}
		f.verbatim = nameText == verbatimText && valueText == verbatimText
		kept = append(kept, f)
		size += len(name) + len(value) + 6
	}
	d.fields = kept
	addInvalidParams(&p, invalid)
	d.buf = make([]byte, 0, size+64)
	d.payloadsSize = size*3/4 + 64
	var in event.Input
	d.build(&in, &p)
	in.Raw = []byte(raw)
	return in, nil
}

// maxDedupScan is the most parameters readQuery compares each name with
// the names before it; beyond, it keeps the names seen in a map.
const maxDedupScan = 32

// readQuery reads the raw query into d.fields, each parameter's first
// value only, as places in d.text: one string holding every name and value
// unescaped. It reports false, having read nothing usable, for a query
// url.ParseQuery returns an error for, which is left to it.
func (d *decoder) readQuery(raw string) bool {
	if strings.IndexByte(raw, ';') >= 0 || !queryParamsWithinMax(raw) {
		return false
	}
	// Unescaped text is never longer than the escaped: one buffer, never
	// grown, so that the places found in it stay valid. One byte more, so
	// that an empty text at its end still points into it (decoder.str).
	buf := make([]byte, 0, len(raw)+1)
	// Most queries hold a few escapes and no '+' (trackers write %20):
	// looking for each once spares a search in every name and value.
	esc := strings.IndexByte(raw, '%') >= 0
	plus := strings.IndexByte(raw, '+') >= 0
	var names [4]uint64
	var seen map[string]struct{}
	for rest := raw; rest != ""; {
		// strings.IndexByte, not strings.Cut, which looks for a string.
		pair := rest
		if i := strings.IndexByte(rest, '&'); i >= 0 {
			pair, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		if pair == "" {
			continue
		}
		key, value := pair, ""
		if i := strings.IndexByte(pair, '='); i >= 0 {
			key, value = pair[:i], pair[i+1:]
		}
		ks := len(buf)
		var ok bool
		if buf, ok = appendUnescaped(buf, key, esc, plus); !ok {
			return false
		}
		vs := len(buf)
		if buf, ok = appendUnescaped(buf, value, esc, plus); !ok {
			return false
		}
		name := unsafe.String(unsafe.SliceData(buf[ks:]), vs-ks)
		if d.seenParam(buf, name, &names, &seen) {
			// A later value of a name: url.Values keeps it after the
			// first, which is the one read. Its text is given back.
			buf = buf[:ks]
			continue
		}
		if name == "ue_px" || name == "cx" {
			d.payloadsSize += (len(buf)-vs)*3/4 + 3
		}
		d.fields = append(d.fields, field{name: text{ks, vs - ks}, value: text{vs, len(buf) - vs}})
	}
	d.text = unsafe.String(unsafe.SliceData(buf), len(buf))
	return true
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

// appendUnescaped appends s unescaped as url.QueryUnescape unescapes it
// ('+' is a space, %XX a byte) and reports false where url.QueryUnescape
// returns an error (a '%' without two hex digits after it).
// esc and plus say whether the query holds a '%' and a '+' at all.
func appendUnescaped(buf []byte, s string, esc, plus bool) ([]byte, bool) {
	if !plus && (!esc || strings.IndexByte(s, '%') < 0) {
		return append(buf, s...), true
	}
	for {
		i := strings.IndexByte(s, '%')
		if i < 0 {
			return appendPlus(buf, s), true
		}
		buf = appendPlus(buf, s[:i])
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return buf, false
		}
		buf = append(buf, unhex(s[i+1])<<4|unhex(s[i+2]))
		s = s[i+3:]
	}
}

// appendPlus appends s, text without escapes, with each '+' a space.
// strings.IndexByte reads many bytes an instruction, where
// strings.IndexAny(s, "%+") reads one.
func appendPlus(buf []byte, s string) []byte {
	for {
		i := strings.IndexByte(s, '+')
		if i < 0 {
			return append(buf, s...)
		}
		buf = append(append(buf, s[:i]...), ' ')
		s = s[i+1:]
	}
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

// queryParamsWithinMax reports whether url.ParseQuery reads raw instead of
// refusing it for holding too many parameters (10,000 by default; the
// GODEBUG setting urlmaxqueryparams changes it, and is left to
// url.ParseQuery by saying no).
func queryParamsWithinMax(raw string) bool {
	return !protocol.URLMaxQueryParamsSet && strings.Count(raw, "&") < 10000
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
