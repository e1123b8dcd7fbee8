package snowplow

import (
	"errors"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/jsonscan"
	"github.com/accord-events/accord/internal/protocol"
	"github.com/accord-events/accord/internal/protocol/snowplow/tp2raw"
)

// Examples of the self-describing payloads, for messages.
const (
	unstructExample = `{"schema": "` + unstructSchema + `", "data": {"schema": "iglu:com.acme/checkout/jsonschema/1-0-0", "data": {...}}}`
	contextsExample = `{"schema": "` + contextsPrefix + `1", "data": [{"schema": "iglu:com.acme/user/jsonschema/1-0-0", "data": {...}}]}`
)

// payload is a JSON document carried in a tp2 field: as text in ue_pr and
// co, base64-encoded in ue_px and cx.
type payload struct {
	// name is the field the payload came in, for messages.
	name string
	b    []byte
	// text is b as a string when it is at hand, so that strings read from
	// the payload can be substrings of it; empty otherwise.
	text string
	// start and end bound the JSON value in b.
	start, end int
}

// payload returns the payload sent in the text field plain or the base64
// field encoded, and false when none was sent or it cannot be decoded. Its
// JSON is not read yet: see unstruct and contexts.
func (d *decoder) payload(v *[numParams]string, plain, encoded int, what, example string, p *problems) (payload, bool) {
	pl := payload{}
	switch {
	case v[plain] != "" && v[encoded] != "":
		p.Add(event.ProtocolViolation, "/"+paramNames[plain], "the event has both %s and %s; send %s once, as JSON in %s or base64-encoded in %s",
			paramNames[plain], paramNames[encoded], what, paramNames[plain], paramNames[encoded])
		return pl, false
	case v[plain] != "":
		pl = payload{name: paramNames[plain], b: []byte(v[plain]), text: v[plain]}
	case v[encoded] != "":
		b, err := d.decoded(encoded, v[encoded])
		if err != nil {
			p.Add(event.PayloadFormatViolation, "/"+paramNames[encoded], "%s is not base64: %v; encode the JSON of %s with URL-safe base64 (RFC 4648, section 5), or send it unencoded in %s",
				paramNames[encoded], err, what, paramNames[plain])
			return pl, false
		}
		if !utf8.Valid(b) {
			p.Add(event.PayloadFormatViolation, "/"+paramNames[encoded], "%s decodes to bytes that are not valid UTF-8, first at byte offset %d; encode the JSON as UTF-8 before base64-encoding it",
				paramNames[encoded], protocol.InvalidUTF8At(b))
			return pl, false
		}
		// b is never written to again (its events' Data are slices of it
		// with their capacity capped): strings read from it can be
		// substrings of it instead of copies.
		pl = payload{name: paramNames[encoded], b: b, text: unsafe.String(unsafe.SliceData(b), len(b))}
	default:
		return pl, false
	}
	return pl, true
}

// document checks that the payload is one JSON document, adding to p when
// it is not: the first step of reading it the slow way, which words every
// problem.
func (pl *payload) document(example string, p *problems) bool {
	start, end, err := jsonscan.Document(pl.b, 0)
	if err != nil {
		p.Add(event.PayloadFormatViolation, "/"+pl.name, "%s is not valid JSON: %v; send %s", pl.name, err, example)
		return false
	}
	pl.start, pl.end = start, end
	return true
}

// unquote returns the text of the string literal pl.b[s:e].
func (pl *payload) unquote(s, e int) string {
	if pl.text != "" {
		return jsonscan.Unquote(pl.b[s:e], pl.text[s:e])
	}
	return jsonscan.UnquoteBytes(pl.b[s:e])
}

// is reports whether the string literal pl.b[s:e] holds want, without
// making a string of it.
func (pl *payload) is(s, e int, want string) bool {
	lit := pl.b[s:e]
	if jsonscan.HasEscape(lit) {
		return jsonscan.UnquoteBytes(lit) == want
	}
	return string(lit[1:len(lit)-1]) == want
}

// where is an object within a payload: the payload itself, the data of a
// self-describing event, or context n.
type where struct {
	inner bool
	n     int
}

var (
	whole = where{n: -1}
	inner = where{inner: true, n: -1}
)

func context(n int) where { return where{n: n} }

// what names the object for a message.
func (pl *payload) what(w where) string {
	switch {
	case w.inner:
		return "the data of " + pl.name
	case w.n >= 0:
		return "context " + strconv.Itoa(w.n) + " of " + pl.name
	}
	return pl.name
}

// at is the object's path in the payload, for a message.
func (pl *payload) at(w where) string {
	switch {
	case w.inner:
		return pl.name + "/data"
	case w.n >= 0:
		return pl.name + "/data/" + strconv.Itoa(w.n)
	}
	return pl.name
}

// selfDescribing reads the {"schema": ..., "data": ...} object at b[vs]. It
// returns the range of the schema's string literal and of the data, and
// false, after adding to p, when the object is not one.
func (pl *payload) selfDescribing(vs int, w where, example string, p *problems) (ss, se, ds, de int, ok bool) {
	b := pl.b
	if b[vs] != '{' {
		p.Add(event.ProtocolViolation, "/"+pl.name, "%s is %s, not an object {\"schema\": ..., \"data\": ...}; send %s", pl.what(w), jsonscan.Kind(b[vs]), example)
		return 0, 0, 0, 0, false
	}
	ok = true
	var seen uint8
	_, err := jsonscan.Object(b, vs, func(ks, ke, ws int) (int, error) {
		we, err := jsonscan.Value(b, ws)
		if err != nil {
			return we, err
		}
		switch {
		case pl.is(ks, ke, "schema"):
			if seen&wSchema != 0 {
				p.Add(event.ProtocolViolation, "/"+pl.name, "%s has schema more than once (in %s); send it once", pl.what(w), pl.at(w))
				ok = false
			}
			seen |= wSchema
			if b[ws] != '"' {
				p.Add(event.ProtocolViolation, "/"+pl.name, "the schema of %s is %s (in %s); it must be a string such as %q", pl.what(w), jsonscan.Kind(b[ws]), pl.at(w), "iglu:com.acme/checkout/jsonschema/1-0-0")
				ok = false
			}
			ss, se = ws, we
		case pl.is(ks, ke, "data"):
			if seen&wData != 0 {
				p.Add(event.ProtocolViolation, "/"+pl.name, "%s has data more than once (in %s); send it once", pl.what(w), pl.at(w))
				ok = false
			}
			seen |= wData
			ds, de = ws, we
		default:
			p.Add(event.ProtocolViolation, "/"+pl.name, "%s has the unknown field %q (in %s); it may have only schema and data: %s", pl.what(w), pl.unquote(ks, ke), pl.at(w), example)
			ok = false
		}
		return we, nil
	})
	if err != nil {
		// The payload was validated as JSON: this cannot happen.
		p.Add(event.PayloadFormatViolation, "/"+pl.name, "%s is not valid JSON: %v", pl.name, err)
		return 0, 0, 0, 0, false
	}
	if seen&wSchema == 0 {
		p.Add(event.ProtocolViolation, "/"+pl.name, "%s has no schema (in %s); send %s", pl.what(w), pl.at(w), example)
		ok = false
	} else if ok && se-ss == 2 {
		p.Add(event.ProtocolViolation, "/"+pl.name, "the schema of %s is empty (in %s); set it to the key of its contract, such as %q", pl.what(w), pl.at(w), "iglu:com.acme/checkout/jsonschema/1-0-0")
		ok = false
	}
	if seen&wData == 0 {
		p.Add(event.ProtocolViolation, "/"+pl.name, "%s has no data (in %s); send %s", pl.what(w), pl.at(w), example)
		ok = false
	}
	return ss, se, ds, de, ok
}

// unstruct reads a self-describing event's payload (ue_pr or ue_px) into
// in's SchemaKey and Data.
func (d *decoder) unstruct(v *[numParams]string, in *event.Input, p *problems) {
	if v[pUEPr] == "" && v[pUEPx] == "" {
		p.Add(event.ProtocolViolation, "/ue_px", "the self-describing event (e=ue) has no ue_px or ue_pr; send its payload %s base64-encoded in ue_px, or as JSON in ue_pr", unstructExample)
		return
	}
	pl, ok := d.payload(v, pUEPr, pUEPx, "the event's payload", unstructExample, p)
	if !ok {
		return
	}
	if key, data, ok := pl.unstructOnce(); ok && !d.slowPayloads {
		in.SchemaKey, in.Data = key, data
		return
	}
	if !pl.document(unstructExample, p) {
		return
	}
	ss, se, ds, _, ok := pl.selfDescribing(pl.start, whole, unstructExample, p)
	if !ok {
		return
	}
	if !pl.is(ss, se, unstructSchema) {
		p.Add(event.ProtocolViolation, "/"+pl.name, "%s has the schema %q; wrap the event as %s", pl.name, pl.unquote(ss, se), unstructExample)
		return
	}
	ss, se, ids, ide, ok := pl.selfDescribing(ds, inner, unstructExample, p)
	if !ok {
		return
	}
	in.SchemaKey = pl.unquote(ss, se)
	in.Data = pl.b[ids:ide:ide]
}

// contexts reads the contexts sent in co or cx into in.
func (d *decoder) contexts(v *[numParams]string, in *event.Input, p *problems) {
	pl, ok := d.payload(v, pCO, pCX, "the contexts", contextsExample, p)
	if !ok {
		return
	}
	if !d.slowPayloads && d.contextsOnce(&pl, in) || !pl.document(contextsExample, p) {
		return
	}
	ss, se, ds, _, ok := pl.selfDescribing(pl.start, whole, contextsExample, p)
	if !ok {
		return
	}
	if schema := pl.b[ss:se]; jsonscan.HasEscape(schema) || !contextsVersion(schema[1:len(schema)-1]) {
		p.Add(event.ProtocolViolation, "/"+pl.name, "%s has the schema %q; wrap the contexts as %s", pl.name, pl.unquote(ss, se), contextsExample)
		return
	}
	b := pl.b
	if b[ds] != '[' {
		p.Add(event.ProtocolViolation, "/"+pl.name, "the data of %s is %s; it must be an array of contexts: %s", pl.name, jsonscan.Kind(b[ds]), contextsExample)
		return
	}
	contexts := d.contextPlaces()
	good := true
	_, err := jsonscan.Array(b, ds, func(n, es int) (int, error) {
		ee, err := jsonscan.Value(b, es)
		if err != nil {
			return ee, err
		}
		ss, se, cs, ce, ok := pl.selfDescribing(es, context(n), contextsExample, p)
		if !ok {
			good = false
			return ee, nil
		}
		contexts = append(contexts, event.Context{Schema: pl.unquote(ss, se), Data: b[cs:ce:ce]})
		return ee, nil
	})
	if err != nil {
		// The payload was validated as JSON: this cannot happen.
		p.Add(event.PayloadFormatViolation, "/"+pl.name, "%s is not valid JSON: %v", pl.name, err)
		return
	}
	if good {
		d.keepContexts(in, contexts)
	}
}

// contextPlaces returns the empty slice an event's contexts are appended
// to. Most events carry a few contexts: the events of a request take them
// from one shared allocation, four places each (more grow a slice of their
// own).
func (d *decoder) contextPlaces() []event.Context {
	if cap(d.ctxSlab)-len(d.ctxSlab) < 4 {
		d.ctxSlab = make([]event.Context, 0, 4*min(max(cap(d.inputs), d.events, 1), 64))
	}
	n0 := len(d.ctxSlab)
	return d.ctxSlab[n0 : n0 : n0+4]
}

// keepContexts gives in the contexts appended to what contextPlaces
// returned, and takes their places from the shared allocation.
func (d *decoder) keepContexts(in *event.Input, contexts []event.Context) {
	// Capped: an append to in.Contexts must not write into the places of
	// the next event.
	in.Contexts = contexts[:len(contexts):len(contexts)]
	if len(contexts) <= 4 {
		d.ctxSlab = d.ctxSlab[:len(d.ctxSlab)+len(contexts)]
	}
}

// errSlow stops reading a payload in one pass: it is not exactly what
// trackers send, and the slow way reads it again to word its problems.
var errSlow = errors.New("read the payload the slow way")

// Depths of the data read with jsonscan.ValueIn, in arrays and objects as
// Document counts them: {"schema": ..., "data": {"schema": ..., "data": X}}
// (unstruct) and {"schema": ..., "data": [{"schema": ..., "data": X}]}
// (contexts).
const (
	unstructDataDepth = 2
	contextDataDepth  = 3
)

// unstructOnce reads a self-describing event's payload in one pass, as
// trackers send it: exactly {"schema": unstructSchema, "data": {"schema":
// ..., "data": ...}}, each member once, the schemas strings (the outer one
// without escapes), the inner one not empty. Every byte is checked as
// Document checks it (repeated member names and nesting depth included).
// It returns false for anything else, which unstruct then reads the slow
// way; what it accepts, the slow way reads the same.
func (pl *payload) unstructOnce() (key string, data []byte, ok bool) {
	b := pl.b
	i := jsonscan.SkipSpace(b, 0)
	if i == len(b) || b[i] != '{' {
		return "", nil, false
	}
	var seen uint8
	end, err := jsonscan.UniqueObject(b, i, func(ks, ke, vs int) (int, error) {
		switch {
		case string(b[ks:ke]) == `"schema"`:
			seen |= wSchema
			if b[vs] != '"' {
				return vs, errSlow
			}
			ve, err := jsonscan.String(b, vs)
			if err == nil && string(b[vs:ve]) != `"`+unstructSchema+`"` {
				err = errSlow
			}
			return ve, err
		case string(b[ks:ke]) == `"data"`:
			seen |= wData
			var ve int
			var err error
			key, data, ve, err = pl.selfDescribingOnce(vs, unstructDataDepth)
			return ve, err
		}
		return vs, errSlow
	})
	if err != nil || seen != wSchema|wData || jsonscan.SkipSpace(b, end) != len(b) {
		return "", nil, false
	}
	return key, data, true
}

// selfDescribingOnce reads the {"schema": ..., "data": ...} object at b[vs]
// in one pass for unstructOnce and contextsOnce: each member once, the
// schema a string that is not empty; the data is a value depth arrays and
// objects deep in the payload. Anything else is errSlow (or the syntax
// error).
func (pl *payload) selfDescribingOnce(vs, depth int) (key string, data []byte, end int, err error) {
	b := pl.b
	if b[vs] != '{' {
		return "", nil, vs, errSlow
	}
	var seen uint8
	end, err = jsonscan.UniqueObject(b, vs, func(ks, ke, ws int) (int, error) {
		switch {
		case string(b[ks:ke]) == `"schema"`:
			seen |= wSchema
			if b[ws] != '"' {
				return ws, errSlow
			}
			we, esc, err := jsonscan.StringEscaped(b, ws)
			switch {
			case err != nil:
			case we-ws == 2:
				err = errSlow
			case esc:
				key = jsonscan.UnquoteBytes(b[ws:we])
			default:
				key = pl.text[ws+1 : we-1]
			}
			return we, err
		case string(b[ks:ke]) == `"data"`:
			seen |= wData
			we, err := jsonscan.ValueIn(b, ws, depth)
			data = b[ws:we:we]
			return we, err
		}
		return ws, errSlow
	})
	if err == nil && seen != wSchema|wData {
		err = errSlow
	}
	return key, data, end, err
}

// contextsOnce reads the contexts payload pl in one pass into in, as
// trackers send it: exactly {"schema": contextsPrefix+"x", "data": [...]}
// (the schema without escapes), each context as selfDescribingOnce reads
// it. It returns false for anything else, which contexts then reads the
// slow way; what it accepts, the slow way reads the same.
func (d *decoder) contextsOnce(pl *payload, in *event.Input) bool {
	b := pl.b
	i := jsonscan.SkipSpace(b, 0)
	if i == len(b) || b[i] != '{' {
		return false
	}
	var seen uint8
	var contexts []event.Context
	end, err := jsonscan.UniqueObject(b, i, func(ks, ke, vs int) (int, error) {
		switch {
		case string(b[ks:ke]) == `"schema"`:
			seen |= wSchema
			if b[vs] != '"' {
				return vs, errSlow
			}
			ve, esc, err := jsonscan.StringEscaped(b, vs)
			if err == nil && (esc || !contextsVersion(b[vs+1:ve-1])) {
				err = errSlow
			}
			return ve, err
		case string(b[ks:ke]) == `"data"`:
			seen |= wData
			if b[vs] != '[' {
				return vs, errSlow
			}
			contexts = d.contextPlaces()
			return jsonscan.Array(b, vs, func(_, es int) (int, error) {
				key, data, ee, err := pl.selfDescribingOnce(es, contextDataDepth)
				if err == nil {
					contexts = append(contexts, event.Context{Schema: key, Data: data})
				}
				return ee, err
			})
		}
		return vs, errSlow
	})
	if err != nil || seen != wSchema|wData || jsonscan.SkipSpace(b, end) != len(b) {
		return false
	}
	d.keepContexts(in, contexts)
	return true
}

// contextsVersion reports whether s is the contexts wrapper, any 1-0-x.
func contextsVersion(s []byte) bool {
	if len(s) <= len(contextsPrefix) || string(s[:len(contextsPrefix)]) != contextsPrefix {
		return false
	}
	for _, c := range s[len(contextsPrefix):] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// predecoded is a base64 payload of the event being read (ue_px, cx),
// decoded as it was read: its text (the pointer to and length of its
// bytes) and what it decodes to.
type predecoded struct {
	s *byte
	n int
	b []byte
}

// predecodeSlot is the place in decoder.pre for the field whose name is
// the literal lit as sent (quotes included), or -1 for a field that is not
// decoded as it is read.
func predecodeSlot(lit string) int {
	switch lit {
	case `"ue_px"`:
		return 0
	case `"cx"`:
		return 1
	}
	return -1
}

// predecode decodes s, the text of the field of slot, when it is what
// trackers send (tp2raw.AppendURLSafe), and keeps the result for decoded:
// reading the text for anything else first (the end of a JSON string,
// the check of each query parameter) would read it twice. It reports
// whether s was decoded; if not, s is read as any other field and decoded
// later, as decodeBase64 decodes it.
func (d *decoder) predecode(slot int, s string) bool {
	if s == "" || d.pre[slot].s != nil || d.noPredecode {
		return false
	}
	n := d.reservePayload(len(s))
	out, ok := tp2raw.AppendURLSafe(d.payloads, s)
	if !ok {
		return false
	}
	d.payloads = out
	d.pre[slot] = predecoded{unsafe.StringData(s), len(s), out[n:len(out):len(out)]}
	return true
}

// decoded returns what the text s of the payload field param decodes to:
// the result of predecode if s is the text it decoded, otherwise
// decodeBase64's.
func (d *decoder) decoded(param int, s string) ([]byte, error) {
	slot := 0
	if param == pCX {
		slot = 1
	}
	if pre := d.pre[slot]; pre.s == unsafe.StringData(s) && pre.n == len(s) {
		return pre.b, nil
	}
	return d.decodeBase64(s)
}

// reservePayload makes room in d.payloads for what n characters of base64
// decode to, and returns where they will start.
func (d *decoder) reservePayload(n int) int {
	need := n*3/4 + 3
	if cap(d.payloads)-len(d.payloads) < need {
		d.payloads = make([]byte, 0, max(need, d.payloadsSize))
	}
	return len(d.payloads)
}

// decodeBase64 decodes s as trackers encode it (see tp2raw.DecodeBase64)
// into the request's payload buffer: the payloads of a request share a few
// allocations instead of one each. The bytes returned are never handed out
// again, and their capacity is capped so that appending to them copies.
func (d *decoder) decodeBase64(s string) ([]byte, error) {
	n := d.reservePayload(len(s))
	out, err := tp2raw.AppendBase64(d.payloads, s)
	if err != nil {
		return nil, err
	}
	d.payloads = out
	return out[n:len(out):len(out)], nil
}
