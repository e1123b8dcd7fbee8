// Package selfdesc reads self-describing events, Accord's own protocol
// (POST /events): each event names its contract and carries its data and
// attached contexts,
//
//	{"schema": "iglu:com.acme/checkout/jsonschema/1-0-0", "data": {...},
//	 "contexts": [{"schema": "iglu:...", "data": {...}}]}
//
// A body holds one such event, a JSON array of them, or NDJSON (one event per
// line). Problems with one event fail that event only; a body that cannot be
// read as events at all is a *protocol.Error.
//
// Decoding reads each byte once and keeps every event's data as the bytes it
// was sent in: the Inputs returned point into the request body, which must
// therefore not be reused while they are alive.
package selfdesc

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/jsonpointer"
	"github.com/accord-events/accord/internal/jsonscan"
	"github.com/accord-events/accord/internal/protocol"
)

// Name is the protocol's name on envelopes.
const Name = "selfdesc"

// Accepted media types.
const (
	MediaJSON   = "application/json"
	MediaNDJSON = "application/x-ndjson"
	MediaText   = "text/plain"
)

// snowplowContexts is the schema of Snowplow's wrapper around a list of
// contexts, any 1-0-x version.
const snowplowContexts = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-"

// allowedFields lists an event's top-level fields, for messages.
const allowedFields = "schema, data, contexts, event_id, created_at, sent_at, namespace, user_id and anonymous_id"

// exampleKey shows the form of a schema key in messages.
const exampleKey = "iglu:com.acme/checkout/jsonschema/1-0-0"

// Decode reads the events in req's body.
func Decode(req *protocol.Request) ([]event.Input, error) { return decode(req, nil) }

// DecodeWith returns a Decode that reads the data of an event naming a
// contract of contracts (by its exact key) and validates it in one walk
// (contract.CheckData) instead of two: the event's Input then carries the
// contract in CheckedBy, and the pipeline does not validate it again. An
// event the walk cannot vouch for (not JSON, invalid, unsure, another
// key) is read as Decode reads it, so the inputs, errors and records are
// Decode's (FuzzCheckedDecode in internal/pipeline holds them to it).
// contracts may be nil: DecodeWith(nil) is Decode.
func DecodeWith(contracts *contract.Set) func(req *protocol.Request) ([]event.Input, error) {
	return func(req *protocol.Request) ([]event.Input, error) { return decode(req, contracts) }
}

func decode(req *protocol.Request, contracts *contract.Set) ([]event.Input, error) {
	ndjson := false
	switch req.MediaType {
	case "", MediaJSON, MediaText:
	case MediaNDJSON:
		ndjson = true
	default:
		return nil, protocol.Errorf(http.StatusUnsupportedMediaType, event.PayloadFormatViolation,
			"Content-Type %s is not accepted for self-describing events; send %s (one event or an array of events), %s (one event per line) or %s (read as JSON)",
			req.MediaType, MediaJSON, MediaNDJSON, MediaText)
	}
	if cs, ok := req.Params["charset"]; ok && !protocol.UTF8Charset(cs) {
		return nil, protocol.Errorf(http.StatusUnsupportedMediaType, event.PayloadFormatViolation,
			"charset %s is not supported; encode the body as UTF-8 and send charset=utf-8 or no charset", cs)
	}
	body := req.Body
	start := protocol.SkipBOM(body)
	start = jsonscan.SkipSpace(body, start)
	if start == len(body) {
		return nil, protocol.Errorf(http.StatusBadRequest, event.PayloadFormatViolation,
			"the body is empty; send one self-describing event {\"schema\": \"%s\", \"data\": {...}}, a JSON array of them, or NDJSON with one per line", exampleKey)
	}
	d := decoder{
		body: body,
		// The body read as text in place, for what is read and let go
		// (member names, timestamps, the words of messages). The body is
		// the caller's buffer, which the server reuses once the request's
		// records are delivered, so no string an Input keeps may point
		// into it: those go through keep.
		view:      unsafe.String(unsafe.SliceData(body), len(body)),
		checkUTF8: !utf8.Valid(body),
		maxEvents: req.MaxEvents,
		contracts: contracts,
		lent:      req.Inputs,
	}
	if contracts != nil {
		d.budget = contract.CheckBudget(len(body))
	}
	if ndjson {
		return d.lines(body, start)
	}
	return d.document(body, start)
}

var (
	newline = []byte{'\n'}
)

type decoder struct {
	body []byte
	view string
	// kept is the memory the strings an Input keeps are copied into
	// (keep), made at the first such string, so a request whose events
	// keep none (an event naming one of contracts keeps its key as the
	// contract's own string) copies nothing; recent are the last strings
	// kept, newest first.
	kept      []byte
	recent    [4]string
	checkUTF8 bool
	maxEvents int
	inputs    []event.Input
	// lent is the caller's memory for the inputs (protocol.Request.Inputs).
	lent []event.Input
	// contracts, when not nil, are those whose events' data is read and
	// validated in one walk (DecodeWith), within budget for the request.
	contracts *contract.Set
	budget    int
}

// document reads a body holding one event or an array of events.
func (d *decoder) document(b []byte, start int) ([]event.Input, error) {
	var end int
	var err error
	switch b[start] {
	case '{':
		if cap(d.lent) > 0 {
			d.inputs = d.lent[:1]
			d.inputs[0] = event.Input{}
		} else {
			d.inputs = make([]event.Input, 1)
		}
		end, err = d.event(b, start, &d.inputs[0])
	case '[':
		// Real events are rarely under 256 bytes: sizing the slice up front
		// saves growing it event by event, at most doubling its size. The
		// memory the caller lends takes them when it holds that many (the
		// server's grows to the batches it sees); events past its end
		// move to memory of their own as the slice grows.
		want := min(len(b)/256+1, max(d.maxEvents, 1))
		if cap(d.lent) >= want {
			d.inputs = d.lent[:0]
		} else {
			d.inputs = make([]event.Input, 0, want)
		}
		end, err = jsonscan.Array(b, start, func(n, es int) (int, error) {
			if perr := protocol.TooManyEvents(n+1, d.maxEvents); perr != nil {
				return es, perr
			}
			d.inputs = append(d.inputs, event.Input{})
			in := &d.inputs[len(d.inputs)-1]
			if b[es] == '{' {
				ee, err := d.event(b, es, in)
				if end, f, ok := protocol.EventRepeatsName(b, es, err); ok {
					*in = event.Input{Raw: b[es:end], Failure: f}
					return end, nil
				}
				return ee, err
			}
			ee, err := jsonscan.Skip(b, es)
			if err != nil {
				return ee, err
			}
			in.Raw = b[es:ee]
			in.Failure = event.NewFailure(event.ProtocolViolation, fmt.Sprintf(
				"event %d of the array is %s, not an event; each event must be an object such as {\"schema\": \"%s\", \"data\": {...}}",
				n, jsonscan.Kind(b[es]), exampleKey))
			return ee, nil
		})
	default:
		end, err = jsonscan.Value(b, start)
		if err == nil {
			if j := jsonscan.SkipSpace(b, end); j == len(b) {
				return nil, protocol.Errorf(http.StatusBadRequest, event.ProtocolViolation,
					"the body is %s, not an event; send one self-describing event {\"schema\": \"%s\", \"data\": {...}} or a JSON array of them",
					jsonscan.Kind(b[start]), exampleKey)
			}
		}
	}
	if perr := protocol.AsError(err); perr != nil {
		return nil, perr
	}
	if err != nil {
		return nil, notJSON(err)
	}
	if j := jsonscan.SkipSpace(b, end); j != len(b) {
		return nil, protocol.Errorf(http.StatusBadRequest, event.PayloadFormatViolation,
			"the body is not valid JSON: unexpected data after the end of the first value at byte offset %d; to send several events, wrap them in a JSON array or send them as %s, one per line", j, MediaNDJSON)
	}
	return d.inputs, nil
}

func notJSON(err error) *protocol.Error {
	return protocol.Errorf(http.StatusBadRequest, event.PayloadFormatViolation,
		"the body is not valid JSON: %v; send one self-describing event, a JSON array of them, or %s with one event per line", err, MediaNDJSON)
}

// lines reads an NDJSON body: one event per line, blank lines skipped. A line
// that is not an event fails alone.
func (d *decoder) lines(body []byte, start int) ([]event.Input, error) {
	// One Input per line, but never more than the cap: a body of empty
	// objects holds hundreds of thousands of lines. A newline that ends
	// the body starts no line, so one event and its newline is one line,
	// which fits the memory the caller lends.
	lines := bytes.Count(body[start:], newline)
	if body[len(body)-1] != '\n' {
		lines++
	}
	if d.maxEvents > 0 {
		lines = min(lines, d.maxEvents)
	}
	if lines <= cap(d.lent) {
		d.inputs = d.lent[:0]
	} else {
		d.inputs = make([]event.Input, 0, lines)
	}
	n := 1
	for i := 0; i < start; i++ {
		if body[i] == '\n' {
			n++
		}
	}
	for ls := start; ls < len(body); n++ {
		le := ls
		for le < len(body) && body[le] != '\n' {
			le++
		}
		next := le + 1
		b := body[:le]
		if s := jsonscan.SkipSpace(b, ls); s < le {
			if perr := protocol.TooManyEvents(len(d.inputs)+1, d.maxEvents); perr != nil {
				return nil, perr
			}
			d.line(b, s, n)
		}
		ls = next
	}
	if len(d.inputs) == 0 {
		return nil, protocol.Errorf(http.StatusBadRequest, event.PayloadFormatViolation,
			"the body holds only blank lines; send one self-describing event per line")
	}
	return d.inputs, nil
}

// line reads the event on line n, which is b[start:] with no leading space.
func (d *decoder) line(b []byte, start, n int) {
	d.inputs = append(d.inputs, event.Input{})
	in := &d.inputs[len(d.inputs)-1]
	end := len(b)
	for end > start && isSpace(b[end-1]) {
		end--
	}
	raw := b[start:end]
	var ee int
	var err error
	if b[start] == '{' {
		ee, err = d.event(b, start, in)
	} else {
		ee, err = jsonscan.Value(b, start)
	}
	if err == nil && ee < end {
		err = fmt.Errorf("unexpected data after the end of the first value at byte offset %d of the line (byte %d of the body); put each event on its own line", ee-start, ee)
	}
	if err != nil {
		if se, ok := err.(*jsonscan.SyntaxError); ok {
			err = fmt.Errorf("%s at byte offset %d of the line (byte %d of the body)", se.Msg, se.Offset-start, se.Offset)
		}
		*in = event.Input{Raw: raw, Failure: event.NewFailure(event.PayloadFormatViolation,
			fmt.Sprintf("line %d is not valid JSON: %v; send one JSON event object per line", n, err))}
		return
	}
	if b[start] != '{' {
		*in = event.Input{Raw: raw, Failure: event.NewFailure(event.ProtocolViolation, fmt.Sprintf(
			"line %d is %s, not an event; each line must be an object such as {\"schema\": \"%s\", \"data\": {...}}",
			n, jsonscan.Kind(b[start]), exampleKey))}
	}
}

// Fields of an event, as bits, to spot duplicates and missing ones.
const (
	fSchema = 1 << iota
	fData
	fContexts
	fEventID
	fCreatedAt
	fSentAt
	fNamespace
	fUserID
	fAnonymousID
)

// problems collects what is wrong with one event.
type problems struct {
	msgs    []event.Message
	dropped int
}

func (p *problems) add(path, format string, args ...any) {
	if len(p.msgs) >= protocol.MaxMessages {
		p.dropped++
		return
	}
	p.msgs = append(p.msgs, event.Message{InstancePath: path, Message: fmt.Sprintf(format, args...)})
}

func (p *problems) failure(t event.FailureType) *event.Failure {
	msgs := p.msgs
	if p.dropped > 0 {
		msgs = append(msgs, event.Message{Message: fmt.Sprintf("%d more problems were found and not listed; fix the ones above and send the event again", p.dropped)})
	}
	return &event.Failure{Type: t, Messages: msgs}
}

// event reads the event object that starts at b[start] into in and returns
// the index just past it. The error is a syntax error: b is not JSON there.
func (d *decoder) event(b []byte, start int, in *event.Input) (int, error) {
	var seen uint16
	var p problems
	// exact is the contract of contracts the event's schema names, by its
	// exact key, when it names one.
	var exact *contract.Contract
	end, err := jsonscan.Object(b, start, func(ks, ke, vs int) (int, error) {
		name := d.unquote(b, ks, ke)
		bit := fieldBit(name)
		if bit != 0 {
			if seen&bit != 0 {
				p.add("/"+name, "the field %s appears more than once; send it once", name)
			}
			seen |= bit
		}
		switch bit {
		case fSchema:
			s, ve, err := d.stringField(b, vs, "schema", &p)
			if err == nil && s == "" && (b[vs] == '"' || b[vs] == 'n') {
				p.add("/schema", "schema is %s; set it to the key of the event's contract, such as %s", describeString(b[vs]), exampleKey)
			}
			// A key naming one of contracts is kept as the contract's own
			// string (the same text), which copies nothing.
			if exact = d.contracts.Exact(s); exact != nil {
				in.SchemaKey = exact.URI
			} else {
				in.SchemaKey = d.keep(s)
			}
			return ve, err
		case fData:
			if c := exact; c != nil {
				// The schema came first, as it mostly does: one walk
				// checks the data is JSON and valid, when it can tell.
				if ve, ok := c.CheckData(b, vs, !d.checkUTF8, &d.budget); ok {
					in.Data, in.CheckedBy = b[vs:ve], c
					return ve, nil
				}
			}
			ve, err := jsonscan.Value(b, vs)
			in.Data = b[vs:ve]
			return ve, err
		case fContexts:
			return d.contexts(b, vs, in, &p)
		case fEventID:
			s, ve, err := d.stringField(b, vs, "event_id", &p)
			in.EventID = d.keep(s)
			return ve, err
		case fCreatedAt:
			t, ve, err := d.timeField(b, vs, "created_at", &p)
			in.CreatedAt = t
			return ve, err
		case fSentAt:
			t, ve, err := d.timeField(b, vs, "sent_at", &p)
			in.SentAt = t
			return ve, err
		case fNamespace:
			s, ve, err := d.stringField(b, vs, "namespace", &p)
			in.Namespace = d.keep(s)
			return ve, err
		case fUserID:
			s, ve, err := d.stringField(b, vs, "user_id", &p)
			in.Identity.UserID = d.keep(s)
			return ve, err
		case fAnonymousID:
			s, ve, err := d.stringField(b, vs, "anonymous_id", &p)
			in.Identity.AnonymousID = d.keep(s)
			return ve, err
		}
		p.add("/"+jsonpointer.Escape(name), "unknown field %q; a self-describing event may have only %s", name, allowedFields)
		return jsonscan.Value(b, vs)
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
	in.Raw = raw
	if seen&fSchema == 0 {
		p.add("", "the event has no schema; add \"schema\" with the key of its contract, such as %q", exampleKey)
	}
	if seen&fData == 0 {
		p.add("", "the event has no data; add \"data\" holding the event's properties (use {} when it has none)")
	}
	if len(p.msgs) > 0 {
		in.Failure = p.failure(event.ProtocolViolation)
	}
	return end, nil
}

func fieldBit(name string) uint16 {
	switch name {
	case "schema":
		return fSchema
	case "data":
		return fData
	case "contexts":
		return fContexts
	case "event_id":
		return fEventID
	case "created_at":
		return fCreatedAt
	case "sent_at":
		return fSentAt
	case "namespace":
		return fNamespace
	case "user_id":
		return fUserID
	case "anonymous_id":
		return fAnonymousID
	}
	return 0
}

// contexts reads the contexts field: an array of {schema, data} objects, or
// Snowplow's wrapper {"schema": "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-x", "data": [...]}.
func (d *decoder) contexts(b []byte, vs int, in *event.Input, p *problems) (int, error) {
	switch b[vs] {
	case 'n':
		return jsonscan.Value(b, vs)
	case '[':
		return d.contextList(b, vs, "/contexts", in, p)
	case '{':
	default:
		ve, err := jsonscan.Value(b, vs)
		p.add("/contexts", "contexts is %s; send an array of {\"schema\": ..., \"data\": ...} objects", jsonscan.Kind(b[vs]))
		return ve, err
	}
	var seen uint16
	end, err := jsonscan.Object(b, vs, func(ks, ke, ws int) (int, error) {
		name := d.unquote(b, ks, ke)
		switch name {
		case "schema":
			seen |= fSchema
			s, we, err := d.stringField(b, ws, "contexts/schema", p)
			if err == nil && b[ws] == '"' && !strings.HasPrefix(s, snowplowContexts) {
				p.add("/contexts/schema", "contexts is an object with schema %q; send contexts as an array of {\"schema\": ..., \"data\": ...} objects, or wrapped as {\"schema\": \"%s0\", \"data\": [...]}", s, snowplowContexts)
			}
			return we, err
		case "data":
			seen |= fData
			if b[ws] == '[' {
				return d.contextList(b, ws, "/contexts/data", in, p)
			}
			we, err := jsonscan.Value(b, ws)
			p.add("/contexts/data", "contexts/data is %s; it must be an array of {\"schema\": ..., \"data\": ...} objects", jsonscan.Kind(b[ws]))
			return we, err
		}
		p.add("/contexts/"+jsonpointer.Escape(name), "unknown field %q in contexts; wrapped contexts have only schema and data", name)
		return jsonscan.Value(b, ws)
	})
	if err == nil && seen != fSchema|fData {
		p.add("/contexts", "contexts is an object without schema and data; send contexts as an array of {\"schema\": ..., \"data\": ...} objects, or wrapped as {\"schema\": \"%s0\", \"data\": [...]}", snowplowContexts)
	}
	return end, err
}

// contextList reads an array of contexts found at path.
func (d *decoder) contextList(b []byte, vs int, path string, in *event.Input, p *problems) (int, error) {
	return jsonscan.Array(b, vs, func(n, es int) (int, error) {
		if b[es] != '{' {
			ee, err := jsonscan.Value(b, es)
			p.add(path+"/"+strconv.Itoa(n), "context %d is %s; each context must be an object {\"schema\": ..., \"data\": ...}", n, jsonscan.Kind(b[es]))
			return ee, err
		}
		var c event.Context
		var seen uint16
		ee, err := jsonscan.Object(b, es, func(ks, ke, ws int) (int, error) {
			name := d.unquote(b, ks, ke)
			switch name {
			case "schema":
				seen |= fSchema
				s, we, err := d.stringField(b, ws, "schema", nil)
				if err == nil && s == "" {
					p.add(path+"/"+strconv.Itoa(n)+"/schema", "context %d has %s for schema; set it to the key of the context's contract, such as %q", n, describeString(b[ws]), exampleKey)
				}
				c.Schema = d.keep(s)
				return we, err
			case "data":
				seen |= fData
				we, err := jsonscan.Value(b, ws)
				c.Data = b[ws:we]
				return we, err
			}
			p.add(path+"/"+strconv.Itoa(n)+"/"+jsonpointer.Escape(name), "unknown field %q in context %d; a context has only schema and data", name, n)
			return jsonscan.Value(b, ws)
		})
		if err != nil {
			return ee, err
		}
		if seen&fSchema == 0 {
			p.add(path+"/"+strconv.Itoa(n), "context %d has no schema; add \"schema\" with the key of its contract", n)
		}
		if seen&fData == 0 {
			p.add(path+"/"+strconv.Itoa(n), "context %d has no data; add \"data\" holding the context's properties", n)
		}
		in.Contexts = append(in.Contexts, c)
		return ee, nil
	})
}

func describeString(c byte) string {
	if c == '"' {
		return "an empty string"
	}
	return jsonscan.Kind(c)
}

// stringField reads a value that must be a string or null (treated as
// absent). Anything else is reported to p (when not nil) and yields "".
// The string may be a part of the body: an Input keeps it through keep.
func (d *decoder) stringField(b []byte, vs int, name string, p *problems) (string, int, error) {
	switch b[vs] {
	case '"':
		ve, err := jsonscan.String(b, vs)
		if err != nil {
			return "", ve, err
		}
		return jsonscan.Unquote(b[vs:ve], d.view[vs:ve]), ve, nil
	case 'n':
		ve, err := jsonscan.Value(b, vs)
		return "", ve, err
	}
	ve, err := jsonscan.Value(b, vs)
	if p != nil {
		p.add("/"+name, "%s is %s; it must be a string", name, jsonscan.Kind(b[vs]))
	}
	return "", ve, err
}

// timeField reads an RFC 3339 timestamp, or null.
func (d *decoder) timeField(b []byte, vs int, name string, p *problems) (time.Time, int, error) {
	s, ve, err := d.stringField(b, vs, name, p)
	if err != nil || s == "" {
		if err == nil && b[vs] == '"' {
			p.add("/"+name, "%s is empty; send an RFC 3339 timestamp such as 2024-05-01T12:30:00.000Z, or leave it out", name)
		}
		return time.Time{}, ve, err
	}
	t, perr := time.Parse(time.RFC3339Nano, s)
	if perr != nil {
		p.add("/"+name, "%s %q is not an RFC 3339 timestamp; send one such as 2024-05-01T12:30:00.000Z (UTC) or 2024-05-01T14:30:00+02:00", name, s)
		return time.Time{}, ve, nil
	}
	return t, ve, nil
}

// unquote returns the text of the string literal b[ks:ke], which may be a
// part of the body: for reading, not keeping.
func (d *decoder) unquote(b []byte, ks, ke int) string {
	return jsonscan.Unquote(b[ks:ke], d.view[ks:ke])
}

// keep returns s, a string stringField read, as one an Input may keep
// after the body's buffer is reused: s itself when it is not a part of
// the body (empty, or unescaped into a string of its own), else a copy in
// kept. A string equal to one of the last few kept is that one: the
// events of a batch mostly repeat their namespace, ids and contexts'
// keys. Until then the body was copied from the first kept string on,
// which for a 100-event request copied nearly all of it (40 KB) to keep
// one context key a few bytes long.
func (d *decoder) keep(s string) string {
	if s == "" {
		return ""
	}
	p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	base := uintptr(unsafe.Pointer(unsafe.StringData(d.view)))
	if p < base || p >= base+uintptr(len(d.view)) {
		return s
	}
	for _, k := range d.recent {
		if k == s {
			return k
		}
	}
	if cap(d.kept)-len(d.kept) < len(s) {
		// A new piece, the strings kept so far staying in the last: a
		// quarter of the body, more than the strings of events whose
		// every id and key differs take (about a sixth).
		d.kept = make([]byte, 0, max(len(s), min(len(d.body)/4, maxKeptPiece), minKeptPiece))
	}
	at := len(d.kept)
	d.kept = append(d.kept, s...)
	k := unsafe.String(&d.kept[at], len(s))
	copy(d.recent[1:], d.recent[:len(d.recent)-1])
	d.recent[0] = k
	return k
}

// The pieces of memory strings are kept in (keep): large enough that a
// batch takes a few, small enough that one event's take little.
const (
	minKeptPiece = 128
	maxKeptPiece = 16 << 10
)

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
