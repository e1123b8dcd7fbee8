// Package snowplow reads the Snowplow tracker protocol (tp2), so that
// Snowplow's trackers can send their events to Accord unchanged. An event
// arrives either as the query string of GET /i, or as one of a batch in the
// body of POST /com.snowplowanalytics.snowplow/tp2:
//
//	{"schema": "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4",
//	 "data": [{"e": "pv", "p": "web", "tv": "js-3.24.0", "url": "https://...", ...}, ...]}
//
// Each event's type (its e field) names its contract: a self-describing
// event (ue) names its own, and the built-in types (pv, pp, se, tr, ti) name
// the contracts shipped in Contracts, whose data is built from the event's
// type-specific fields. The identifiers and timestamps tp2 carries fill the
// Input's own fields; every other field is kept in Attributes as sent. See
// Mapping for where each field lands.
//
// A problem with one event fails that event only; a body that cannot be read
// as a batch of events at all is a *protocol.Error.
//
// Decoding reads the body once. The Inputs returned may point into the
// request body, which must therefore not be reused while they are alive; the
// Request itself is not kept.
package snowplow

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/jsonpointer"
	"github.com/accord-events/accord/internal/jsonscan"
	"github.com/accord-events/accord/internal/protocol"
)

// Name is the protocol's name on envelopes.
const Name = "snowplow"

// Accepted media types of a POST body.
const (
	MediaJSON = "application/json"
	MediaText = "text/plain"
)

// Schemas of Snowplow's self-describing wrappers.
const (
	// payloadDataPrefix is the wrapper of a POST body, versions 1-0-0 to
	// 1-0-4 (payloadDataLatest).
	payloadDataPrefix = "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-"
	payloadDataLatest = payloadDataPrefix + "4"
	// unstructSchema wraps the payload of a self-describing event (ue_pr,
	// ue_px).
	unstructSchema = "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0"
	// contextsPrefix wraps the list of contexts (co, cx), any 1-0-x version.
	contextsPrefix = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-"
)

// DecodeBody reads the batch of events in the body of a POST to
// /com.snowplowanalytics.snowplow/tp2: a payload_data self-describing JSON
// (versions 1-0-0 to 1-0-4) whose data is an array of tp2 events, each an
// object of string fields. The error is a *protocol.Error for a body that
// cannot be read as such a batch. The first inputs are read into the
// memory req.Inputs lends, when it lends some: a body of one event then
// allocates no slice.
func DecodeBody(req *protocol.Request) ([]event.Input, error) { return decodeBody(req, ways{}) }

// decodeBody is DecodeBody, read the ways w says (tests' choices).
func decodeBody(req *protocol.Request, w ways) ([]event.Input, error) {
	switch req.MediaType {
	case "", MediaJSON, MediaText:
	default:
		return nil, protocol.Errorf(http.StatusUnsupportedMediaType, event.PayloadFormatViolation,
			"Content-Type %s is not accepted for Snowplow events; send the payload_data JSON as %s (or %s, read as JSON)",
			req.MediaType, MediaJSON, MediaText)
	}
	if cs, ok := req.Params["charset"]; ok && !protocol.UTF8Charset(cs) {
		return nil, protocol.Errorf(http.StatusUnsupportedMediaType, event.PayloadFormatViolation,
			"charset %s is not supported; encode the body as UTF-8 and send charset=utf-8 or no charset", cs)
	}
	body := req.Body
	start := jsonscan.SkipSpace(body, protocol.SkipBOM(body))
	if start == len(body) {
		return nil, protocol.Errorf(http.StatusBadRequest, event.PayloadFormatViolation,
			"the body is empty; send %s", wrapperExample)
	}
	// One copy of the body lets every field be a substring of it, and is
	// followed in the same buffer by the Data and Attributes of every
	// event, which are rarely larger than the body.
	buf := append(make([]byte, 0, 2*len(body)+256), body...)
	d := decoder{
		text:      unsafe.String(unsafe.SliceData(buf), len(body)),
		checkUTF8: !utf8.Valid(body),
		maxEvents: req.MaxEvents,
		buf:       buf,
		// Base64 decodes to 3/4 of its length; payloads are parts of
		// the body.
		payloadsSize: len(body)*3/4 + 64,
		nextE2:       -1,
		lent:         req.Inputs,
		ways:         w,
	}
	defer d.giveScratch(d.takeScratch())
	if body[start] != '{' {
		end, err := jsonscan.Value(body, start)
		if err != nil {
			return nil, notJSON(err)
		}
		if j := jsonscan.SkipSpace(body, end); j != len(body) {
			return nil, trailing(j)
		}
		return nil, protocol.Errorf(http.StatusBadRequest, event.ProtocolViolation,
			"the body is %s, not a payload_data object; send %s", jsonscan.Kind(body[start]), wrapperExample)
	}
	return d.wrapper(body, start)
}

// wrapperExample shows a whole POST body in messages.
const wrapperExample = `{"schema": "` + payloadDataLatest + `", "data": [{"e": "pv", "p": "web", "tv": "js-3.24.0", ...}]}`

func notJSON(err error) *protocol.Error {
	return protocol.Errorf(http.StatusBadRequest, event.PayloadFormatViolation,
		"the body is not valid JSON: %v; send %s", err, wrapperExample)
}

func trailing(at int) *protocol.Error {
	return protocol.Errorf(http.StatusBadRequest, event.PayloadFormatViolation,
		"the body is not valid JSON: unexpected data after the end of the first value at byte offset %d; send one payload_data object holding all the events in its data array", at)
}

// Members of the payload_data wrapper, as bits.
const (
	wSchema = 1 << iota
	wData
)

// wrapper reads the payload_data object that starts at b[start]. Its events
// are read as they come, and dropped if the wrapper turns out to be wrong.
func (d *decoder) wrapper(b []byte, start int) ([]event.Input, error) {
	var seen, dup uint8
	var schema string
	schemaKind, dataKind := byte('"'), byte('[')
	var unknown []string
	end, err := jsonscan.Object(b, start, func(ks, ke, vs int) (int, error) {
		var bit uint8
		switch d.unquote(b, ks, ke) {
		case "schema":
			bit = wSchema
		case "data":
			bit = wData
		default:
			if len(unknown) < protocol.MaxMessages {
				unknown = append(unknown, d.unquote(b, ks, ke))
			}
			return jsonscan.Value(b, vs)
		}
		dup |= seen & bit
		seen |= bit
		switch {
		case bit == wSchema && b[vs] == '"':
			ve, err := jsonscan.String(b, vs)
			if err == nil {
				schema = d.unquote(b, vs, ve)
			}
			return ve, err
		case bit == wSchema:
			schemaKind = b[vs]
		case bit == wData && b[vs] == '[':
			// Real tp2 events are rarely under 512 bytes: sizing the slice
			// up front saves growing it event by event. (No MaxEvents is
			// no limit.)
			size := len(b)/512 + 1
			if d.maxEvents > 0 {
				size = min(size, d.maxEvents)
			}
			d.events = size
			if cap(d.lent) > 0 {
				// The memory the caller lends takes the first events: a
				// request of one, what most from browsers and apps hold,
				// allocates no slice.
				d.inputs = d.lent[:0]
			} else {
				d.inputs = make([]event.Input, 0, size)
			}
			return jsonscan.Array(b, vs, func(n, es int) (int, error) {
				if perr := protocol.TooManyEvents(n+1, d.maxEvents); perr != nil {
					return es, perr
				}
				if len(d.inputs) == cap(d.inputs) && len(d.inputs) < size {
					// More events than the lent memory holds: the
					// slice sized up front after all, which keeps
					// nothing in the lent memory.
					d.inputs = append(make([]event.Input, 0, size), d.inputs...)
				}
				// Each Input set anew, the lent memory's too.
				d.inputs = append(d.inputs, event.Input{})
				in := &d.inputs[len(d.inputs)-1]
				if b[es] == '{' {
					ee, err := d.event(b, es, in)
					if err == nil {
						return ee, nil
					}
					if end, f, ok := protocol.EventRepeatsName(b, es, err); ok {
						*in = event.Input{Raw: b[es:end], Failure: f}
						return end, nil
					}
					return ee, err
				}
				ee, err := jsonscan.Skip(b, es)
				in.Raw = b[es:ee]
				in.Failure = event.NewFailure(event.ProtocolViolation, fmt.Sprintf(
					"event %d of data is %s, not an event; each event must be an object of tp2 fields, such as {\"e\": \"pv\", \"p\": \"web\", \"tv\": \"js-3.24.0\"}",
					n, jsonscan.Kind(b[es])))
				return ee, err
			})
		case bit == wData:
			dataKind = b[vs]
		}
		return jsonscan.Value(b, vs)
	})
	if perr := protocol.AsError(err); perr != nil {
		return nil, perr
	}
	if err != nil {
		return nil, notJSON(err)
	}
	if j := jsonscan.SkipSpace(b, end); j != len(b) {
		return nil, trailing(j)
	}
	bad := func(format string, args ...any) ([]event.Input, error) {
		return nil, protocol.Errorf(http.StatusBadRequest, event.ProtocolViolation, format+"; send "+wrapperExample, args...)
	}
	switch {
	case dup&wSchema != 0:
		return bad("the body's schema appears more than once")
	case dup&wData != 0:
		return bad("the body's data appears more than once")
	case len(unknown) > 0:
		return bad("the body has the unknown field %q; a payload_data object has only schema and data", unknown[0])
	case seen&wSchema == 0:
		return bad("the body has no schema")
	case schemaKind != '"':
		return bad("the body's schema is %s, not a string", jsonscan.Kind(schemaKind))
	case !payloadDataVersion(schema):
		return bad("the body's schema is %q, not payload_data; Accord reads %s0 to %s4 here (send self-describing events of your own to /events instead)",
			schema, payloadDataPrefix, payloadDataPrefix)
	case seen&wData == 0:
		return bad("the body has no data")
	case dataKind != '[':
		return bad("the body's data is %s, not an array of events", jsonscan.Kind(dataKind))
	}
	return d.inputs, nil
}

// payloadDataVersion reports whether s is payload_data 1-0-0 to 1-0-4.
func payloadDataVersion(s string) bool {
	return len(s) == len(payloadDataPrefix)+1 && strings.HasPrefix(s, payloadDataPrefix) &&
		s[len(s)-1] >= '0' && s[len(s)-1] <= '4'
}

// DecodeQuery reads the one event in the query string of GET /i (the pixel
// trackers fall back to), taking each parameter's first value. Its Raw is
// the query re-encoded, which keeps every value sent. The error is a
// *protocol.Error only for a query without any parameter; problems with the
// event are its Failure.
func DecodeQuery(q url.Values) (event.Input, error) { return DecodeRawQuery(q, "") }

// DecodeRawQuery is DecodeQuery for a query whose text the caller has (the
// request's raw query, which q was parsed from): Raw is then that text as
// sent, which costs a copy instead of re-encoding the whole query for
// every event.
func DecodeRawQuery(q url.Values, raw string) (event.Input, error) {
	return decodeRawQuery(q, raw, ways{})
}

// decodeRawQuery is DecodeRawQuery, read the ways w says.
func decodeRawQuery(q url.Values, raw string, w ways) (event.Input, error) {
	if len(q) == 0 {
		return event.Input{}, noParameters()
	}
	d := decoder{ways: w}
	defer d.giveScratch(d.takeScratch())
	// Sized for the base64 payloads decoded as the parameters are read.
	d.payloadsSize = 64
	for _, name := range [...]string{"ue_px", "cx"} {
		if vs := q[name]; len(vs) > 0 {
			d.payloadsSize += len(vs[0])*3/4 + 3
		}
	}
	var p problems
	var invalid []string // names of parameters that are not UTF-8
	size := 0
	for name, values := range q {
		if len(values) == 0 {
			continue
		}
		nameText, valueText := textOf(name), verbatimText
		// A payload decoded as base64 is of its alphabet: verbatim text.
		if slot := predecodeSlot(paramLiteral(name)); slot < 0 || !d.predecode(slot, values[0]) {
			valueText = textOf(values[0])
		}
		if nameText == invalidText || valueText == invalidText {
			invalid = append(invalid, name)
			continue
		}
		d.fields = append(d.fields, field{name: d.keep(name), value: d.keep(values[0]), verbatim: nameText == verbatimText && valueText == verbatimText})
		size += len(name) + len(values[0]) + 6
	}
	addInvalidParams(&p, invalid)
	d.buf = make([]byte, 0, size+64)
	d.payloadsSize = size*3/4 + 64
	var in event.Input
	d.build(&in, &p)
	if raw != "" {
		in.Raw = []byte(raw)
	} else {
		in.Raw = []byte(q.Encode())
	}
	return in, nil
}

// decoder holds what reading one request needs; the slices are reused from
// event to event.
type decoder struct {
	// text is the body as a string, when decoding one: the start of buf.
	text      string
	checkUTF8 bool
	maxEvents int
	// buf holds the Data and Attributes of every event of the request.
	buf    []byte
	fields []field
	attrs  []field
	// order is the order of attrs by name.
	order []attrOrder
	// strs holds the texts that are not in buf (see text).
	strs   []string
	inputs []event.Input
	// lent is the caller's memory for the inputs
	// (protocol.Request.Inputs): a decoder keeps no pointer to it.
	lent []event.Input
	// events is how many events the request is thought to hold, which
	// sizes what they share (inputs, ctxSlab) whether or not the first
	// are read into lent; 0 for one.
	events int
	// payloads holds the decoded base64 payloads (ue_px, cx) of the
	// request's events, which their Data and schemas are slices of.
	payloads []byte
	// payloadsSize is the size of a new payloads buffer: what the
	// request's text can decode to, so that one is enough.
	payloadsSize int
	// ctxSlab holds the Contexts of the request's events.
	ctxSlab []event.Context
	// nextE2 is the index of the next 0xE2 byte of the body at or after
	// where noLineSeparator last searched, len(body) for none; -1 before
	// the first search.
	nextE2 int
	// pre holds the base64 payloads of the event being read that were
	// decoded as they were read (predecode): ue_px, then cx.
	pre [2]predecoded
	// ways are the tests' choices of how to read (none in Accord).
	ways
	// knownAt, known and attrsTwice are what build found of the names of
	// d.attrs (see addAttr); knownAt is a scratch's, nil without one.
	knownAt    *[maxKnownAttrs]int32
	known      [2]uint64
	attrsTwice bool
	// sc is the scratch taken (takeScratch), nil without one.
	sc *scratch
}

// ways are the choices of how a decoder reads that tests make, to hold a
// faster way to the results of a plainer one: each field set turns the
// faster way off. The zero value is how Accord reads. They are the
// decoder's own, not package variables, so that tests may run in
// parallel.
type ways struct {
	// noPredecode decodes every base64 payload only once its event has
	// been read (see decoder.predecode).
	noPredecode bool
	// slowPayloads reads every payload the slow way, which words each
	// problem, never in one pass: FuzzPayload holds the two to the same
	// results.
	slowPayloads bool
	// sortAll has attributes sort every name (sortAttrs), as they did
	// before orderKnown, to hold the two to the same order.
	sortAll bool
}

// scratch is what a decoder uses while it reads a request and hands out
// nothing of: taken from scratchPool, so that a request allocates only
// what its Inputs keep.
type scratch struct {
	fields, attrs []field
	order         []attrOrder
	strs          []string
	knownAt       [maxKnownAttrs]int32
	// query is where readQuery copies a query and decodes its payloads
	// (see queryScratch).
	query []byte
}

// scratchPool holds scratch of earlier requests.
var scratchPool = sync.Pool{New: func() any {
	return &scratch{fields: make([]field, 0, 48), attrs: make([]field, 0, 48), order: make([]attrOrder, 0, 48), strs: make([]string, 0, 48)}
}}

// maxPooledFields is the most fields a scratch keeps room for when it goes
// back to the pool: an event of thousands of fields should not keep its
// slices alive for every later request.
const maxPooledFields = 1024

// maxPooledQuery is the largest query buffer a scratch keeps when it goes
// back to the pool, for the same reason: a GET /i query is a few
// kilobytes, and net/http lets one be up to a megabyte.
const maxPooledQuery = 64 << 10

// takeScratch gives d a scratch from the pool, to be given back with
// giveScratch once d's fields are no longer used.
func (d *decoder) takeScratch() *scratch {
	sc := scratchPool.Get().(*scratch)
	d.fields, d.attrs, d.order, d.strs = sc.fields[:0], sc.attrs[:0], sc.order[:0], sc.strs[:0]
	d.knownAt = &sc.knownAt
	d.sc = sc
	return sc
}

// giveScratch puts sc back in the pool with d's slices, which may have
// grown.
func (d *decoder) giveScratch(sc *scratch) {
	if cap(d.fields) > maxPooledFields || cap(d.attrs) > maxPooledFields || cap(d.order) > maxPooledFields || cap(d.strs) > maxPooledFields {
		return
	}
	// strs points into the request: cleared, so that a pooled scratch
	// does not keep it alive.
	clear(d.strs)
	sc.fields, sc.attrs, sc.order, sc.strs = d.fields[:0], d.attrs[:0], d.order[:0], d.strs[:0]
	if cap(sc.query) > maxPooledQuery {
		sc.query = nil
	}
	scratchPool.Put(sc)
}

// field is one tp2 field of an event, as sent. It holds no pointer (its
// name and value are places in the decoder's text), so that appending it
// to the decoder's slices costs no write barrier while the garbage
// collector marks.
type field struct {
	name, value text
	// verbatim is set when name and value are JSON string literals once
	// quoted, as jsonscan.AppendString writes them (no byte to escape,
	// no invalid UTF-8, no U+2028 or U+2029): most are, and copying them
	// costs far less.
	verbatim bool
	// invalid is set, while a query is read, for a parameter whose name
	// or value is not UTF-8 (see readQuery).
	invalid bool
	// rank is 1 + the rank of the name in knownAttrs, -1 for a name that
	// is not there, 0 when not looked up yet (build looks it up).
	rank int16
}

// text is a string the decoder read: text[start:start+n] of the request's
// body (decoder.text) when start >= 0, otherwise strs[-start-1], a string
// that is not in the body as it is (an escaped JSON string, a query
// parameter), kept by decoder.keep.
type text struct{ start, n int }

// str returns the string t.
func (d *decoder) str(t text) string {
	if t.start < 0 {
		return d.strs[-t.start-1]
	}
	// Without bounds checks: the texts of the body are set from the ranges
	// jsonscan found in it (an empty one at its closing quote), and an
	// event's fields are read a few times each.
	return unsafe.String((*byte)(unsafe.Add(unsafe.Pointer(unsafe.StringData(d.text)), t.start)), t.n)
}

// bytes returns the bytes of t, only to be read.
func (d *decoder) bytes(t text) []byte {
	s := d.str(t)
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// keep returns s as a text.
func (d *decoder) keep(s string) text {
	d.strs = append(d.strs, s)
	return text{-len(d.strs), len(s)}
}

// event reads the tp2 event object that starts at b[start] into in and
// returns the index just past it. The error is a syntax error: b is not JSON
// there.
func (d *decoder) event(b []byte, start int, in *event.Input) (int, error) {
	var p problems
	d.fields = d.fields[:0]
	d.pre = [2]predecoded{}
	end, err := jsonscan.Object(b, start, func(ks, ke, vs int) (int, error) {
		if slot := predecodeSlot(d.text[ks:ke]); slot >= 0 && b[vs] == '"' {
			// ue_px or cx as trackers send it: base64 to the first
			// quote, the end of the string (there is no escape in it
			// when it decodes), read once.
			if q := bytes.IndexByte(b[vs+1:], '"'); q > 0 && d.predecode(slot, d.text[vs+1:vs+1+q]) {
				// A name and a value without escapes, U+2028 or U+2029:
				// verbatim.
				d.fields = append(d.fields, field{name: text{ks + 1, ke - ks - 2}, value: text{vs + 1, q}, verbatim: true})
				return vs + q + 2, nil
			}
		}
		name := d.fieldName(b, ks, ke)
		if b[vs] != '"' {
			// Refused anyway: read it as JSON only.
			ve, err := jsonscan.Skip(b, vs)
			p.Add(event.ProtocolViolation, "/"+jsonpointer.Escape(name),
				"%s is %s; every field of a tp2 event is a string, numbers included, such as \"dtm\": \"1714566600123\"", name, jsonscan.Kind(b[vs]))
			return ve, err
		}
		ve, esc, err := jsonscan.StringEscaped(b, vs)
		if err != nil {
			return ve, err
		}
		// The event is valid UTF-8 (checked below when the body is not):
		// a literal without escapes is verbatim unless it holds U+2028 or
		// U+2029, whose UTF-8 starts with 0xE2.
		f := field{name: text{ks + 1, ke - ks - 2}, value: text{vs + 1, ve - vs - 2}}
		if len(name) != ke-ks-2 {
			f.name = d.keep(name)
		}
		f.verbatim = !esc && len(name) == ke-ks-2 && d.noLineSeparator(b, ks, ve)
		if esc {
			f.value = d.keep(jsonscan.UnquoteBytes(b[vs:ve]))
		}
		d.fields = append(d.fields, f)
		return ve, nil
	})
	if err != nil {
		return end, err
	}
	raw := b[start:end]
	if d.checkUTF8 && !utf8.Valid(raw) {
		*in = event.Input{Raw: raw, Failure: event.NewFailure(event.PayloadFormatViolation, fmt.Sprintf(
			"the event holds bytes that are not valid UTF-8, first at byte offset %d of the event (byte %d of the body); encode all text as UTF-8",
			protocol.InvalidUTF8At(raw), start+protocol.InvalidUTF8At(raw)))}
		return end, nil
	}
	d.build(in, &p)
	in.Raw = raw
	return end, nil
}

// noLineSeparator reports whether b[s:e], part of a body that is valid
// UTF-8 there, holds neither U+2028 nor U+2029, which jsonscan.AppendString
// escapes. Their UTF-8 starts with 0xE2, which most bodies never hold: the
// body is searched for it once, from wherever the last one was found, as
// its fields are read in order.
func (d *decoder) noLineSeparator(b []byte, s, e int) bool {
	if d.nextE2 < s {
		d.nextE2 = len(b)
		if k := bytes.IndexByte(b[s:], 0xE2); k >= 0 {
			d.nextE2 = s + k
		}
	}
	return d.nextE2 >= e || !strings.Contains(d.text[s:e], "\u2028") && !strings.Contains(d.text[s:e], "\u2029")
}

// What textOf finds a text to be.
const (
	verbatimText = iota
	validText
	invalidText
)

// textOf tells whether s, a parameter name or value, is verbatim (a JSON
// string literal once quoted: printable ASCII without quote or backslash),
// otherwise valid UTF-8, or not UTF-8. It reads eight bytes at a time: a
// query's text is nearly all verbatim.
func textOf(s string) int {
	b := unsafe.Slice(unsafe.StringData(s), len(s)) // only read
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if !verbatimWord(binary.LittleEndian.Uint64(b[i:])) {
			return slowTextOf(s)
		}
	}
	if i == len(b) {
		return verbatimText
	}
	// The last one to seven bytes, as a word: the last eight bytes of a
	// longer text, or the text padded with letters.
	var x uint64
	if len(b) >= 8 {
		x = binary.LittleEndian.Uint64(b[len(b)-8:])
	} else {
		w := [8]byte{'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a'}
		copy(w[:], b)
		x = binary.LittleEndian.Uint64(w[:])
	}
	if !verbatimWord(x) {
		return slowTextOf(s)
	}
	return verbatimText
}

// verbatimWord reports whether the eight bytes of the little-endian word x
// are all printable ASCII other than a quote and a backslash. It may say
// no for such a word (a borrow across bytes), never yes for another.
func verbatimWord(x uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	quote, backslash := x^('"'*lo), x^('\\'*lo)
	return ((x-0x20*lo)&^x|(quote-lo)&^quote|(backslash-lo)&^backslash|x)&hi == 0
}

func slowTextOf(s string) int {
	if !utf8.ValidString(s) {
		return invalidText
	}
	return validText
}

// paramLiteral returns `"`+name+`"` for a name predecodeSlot knows, without
// building it.
func paramLiteral(name string) string {
	switch name {
	case "ue_px":
		return `"ue_px"`
	case "cx":
		return `"cx"`
	}
	return ""
}

// fieldName is unquote for the name of an event's field: most are a few
// bytes, which a loop reads for a backslash faster than a call to
// bytes.IndexByte sets up.
func (d *decoder) fieldName(b []byte, ks, ke int) string {
	if ke-ks > 18 {
		return d.unquote(b, ks, ke)
	}
	for _, c := range b[ks+1 : ke-1] {
		if c == '\\' {
			return d.unquote(b, ks, ke)
		}
	}
	return d.text[ks+1 : ke-1]
}

// unquote returns the text of the string literal b[ks:ke] of the body.
func (d *decoder) unquote(b []byte, ks, ke int) string {
	return jsonscan.Unquote(b[ks:ke], d.text[ks:ke])
}

// problems collects what is wrong with one event.
type problems = protocol.Problems
