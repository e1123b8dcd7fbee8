// Package segment reads Segment's HTTP tracking API, so that apps already
// instrumented with a Segment library (analytics.js, analytics-node, the
// mobile SDKs, ...) can send their events to Accord by changing only the host.
//
// Each call is its own endpoint, POST /v1/<call>, whose body is one message:
//
//	{"type": "track", "event": "Order Completed", "properties": {...},
//	 "userId": "u1", "anonymousId": "a1", "messageId": "...",
//	 "timestamp": "2024-05-01T12:30:00.123Z", "context": {...}}
//
// and POST /v1/batch carries several, with fields that apply to all of them:
//
//	{"batch": [{"type": "track", ...}, {"type": "identify", ...}],
//	 "sentAt": "...", "context": {...}, "integrations": {...}, "writeKey": "..."}
//
// Segment messages are not self-describing: they name an event ("Order
// Completed"), not a contract. Decode therefore returns Messages carrying the
// call and event name beside the Input, and leaves Input.SchemaKey empty for
// the tracking Plan to fill. Decoders puts the pieces together for the HTTP
// layer: the write key, the plan and its Policy, and Dedup. Segment's
// timestamp formula, receivedAt - (sentAt - originalTimestamp), is the
// pipeline's event_time: Decode reads originalTimestamp (or timestamp) as
// CreatedAt and sentAt as SentAt.
//
// Problems with one message fail that message only; a body that cannot be
// read as messages at all is a *protocol.Error.
//
// Decoding reads each byte once and keeps every message's data as the bytes
// it was sent in: the Messages returned point into the request body, which
// must therefore not be reused while they are alive.
package segment

import (
	"errors"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/jsonscan"
	"github.com/accord-events/accord/internal/protocol"
)

// Name is the protocol's name on envelopes.
const Name = "segment"

// Segment's own size limits, and Accord's defaults.
const (
	// MaxEventBytes is the largest message, in bytes of JSON as sent.
	MaxEventBytes = 32 * 1024
	// MaxBatchBytes is the largest /v1/batch request body.
	MaxBatchBytes = 500 * 1024
)

// Calls: the message types of the tracking API, each also the last element
// of its endpoint's path (POST /v1/track). CallBatch is the batch endpoint,
// not a message type.
const (
	// CallTrack records an action the user took: "event" names it,
	// "properties" describe it.
	CallTrack = "track"
	// CallIdentify ties a user to their "traits".
	CallIdentify = "identify"
	// CallPage records a web page view: "name" and "category" name the
	// page, "properties" describe it.
	CallPage = "page"
	// CallScreen records an app screen view, like CallPage.
	CallScreen = "screen"
	// CallGroup ties a user to a group ("groupId"), which has "traits".
	CallGroup = "group"
	// CallAlias merges a user's earlier id ("previousId") into userId.
	CallAlias = "alias"
	// CallBatch is POST /v1/batch, several messages each with its "type".
	CallBatch = "batch"
)

// Accepted media types. Segment's libraries send application/json;
// analytics.js sends text/plain when it uses navigator.sendBeacon, which
// cannot send JSON without a CORS preflight.
const (
	// MediaJSON is what Segment's libraries send.
	MediaJSON = "application/json"
	// MediaText is read as JSON.
	MediaText = "text/plain"
)

// callList is the message types, for messages.
const callList = "track, identify, page, screen, group or alias"

// rawPrefixBytes is how much of an oversized message its failed record keeps.
const rawPrefixBytes = 1024

// endpointCall returns the call of the endpoint whose last path element is
// s: the call's own name (track), or the one-letter path Segment's tracking
// API serves as its alias (t). analytics.js (analytics-next) sends each
// call to /v1/<first letter of its type> and batches to /v1/b, so those
// are the paths most browsers use. An unknown element is returned as is.
func endpointCall(s string) string {
	if len(s) != 1 {
		return s
	}
	switch s {
	case "t":
		return CallTrack
	case "i":
		return CallIdentify
	case "p":
		return CallPage
	case "s":
		return CallScreen
	case "g":
		return CallGroup
	case "a":
		return CallAlias
	case "b":
		return CallBatch
	}
	return s
}

// callOf returns the call constant named by s, or "" when s names none.
// CallBatch is not a message type and is not returned.
func callOf(s string) string {
	switch s {
	case CallTrack:
		return CallTrack
	case CallIdentify:
		return CallIdentify
	case CallPage:
		return CallPage
	case CallScreen:
		return CallScreen
	case CallGroup:
		return CallGroup
	case CallAlias:
		return CallAlias
	}
	return ""
}

// Message is one Segment message as read off the wire.
type Message struct {
	// Input is the message as an event. Its SchemaKey is empty: the caller
	// sets it from a tracking Plan.
	Input event.Input
	// Call is the message's type (CallTrack ... CallAlias); empty when a
	// failed message had no known type.
	Call string
	// Event names the event: the event of a track, the name of a page or
	// screen (possibly empty); empty for other calls.
	Event string
}

// Limits bounds the sizes Decode accepts. A zero field takes its default.
type Limits struct {
	// Event bounds one message: a single call's body, or one element of
	// a batch.
	Event int `yaml:"max_event_bytes" doc:"Largest Segment message, in bytes of JSON as sent; a larger message in a batch fails alone (size_violation), a larger single call is answered 413. Segment's own limit, 32768, is the default."`
	// Batch bounds a /v1/batch body.
	Batch int `yaml:"max_batch_bytes" doc:"Largest /v1/batch request body, in bytes; a larger batch is answered 413 (size_violation). Segment's own limit, 512000, is the default."`
}

// DefaultLimits returns Segment's own limits.
func DefaultLimits() Limits { return Limits{Event: MaxEventBytes, Batch: MaxBatchBytes} }

// withDefaults fills zero fields with their defaults.
func (l Limits) withDefaults() Limits {
	if l.Event == 0 {
		l.Event = MaxEventBytes
	}
	if l.Batch == 0 {
		l.Batch = MaxBatchBytes
	}
	return l
}

// Validate reports every problem with the limits, each naming its key and
// the fix.
func (l Limits) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if l.Event < 0 {
		bad("max_event_bytes", "%d is negative; use a size in bytes, such as %d (Segment's limit), or 0 for that default", l.Event, MaxEventBytes)
	}
	if l.Batch < 0 {
		bad("max_batch_bytes", "%d is negative; use a size in bytes, such as %d (Segment's limit), or 0 for that default", l.Batch, MaxBatchBytes)
	}
	if d := l.withDefaults(); l.Event >= 0 && l.Batch >= 0 && d.Event > d.Batch {
		bad("max_event_bytes", "%d is more than max_batch_bytes (%d), so a batch could never hold a message of the largest size; lower max_event_bytes or raise max_batch_bytes", d.Event, d.Batch)
	}
	return errors.Join(errs...)
}

// Decoder reads Segment requests. The zero Decoder applies Segment's own
// limits.
type Decoder struct {
	// Limits bounds the sizes read; see Limits.Validate.
	Limits Limits
}

// Decode reads the messages of a request to the endpoint of call: one of
// CallTrack ... CallAlias for a body holding one message, or CallBatch for a
// /v1/batch body; the one-letter aliases (t, i, p, s, g, a, b) are the
// same endpoints. Batch-level context and integrations replace a message's
// own when it has none; batch-level sentAt becomes the SentAt of messages
// without their own.
//
// An unknown call is answered 404; a body Decode cannot read as messages
// is a *protocol.Error.
func (dc Decoder) Decode(req *protocol.Request, call string) ([]Message, error) {
	lim := dc.Limits.withDefaults()
	call = endpointCall(call)
	batch := call == CallBatch
	if !batch && callOf(call) == "" {
		return nil, protocol.Errorf(http.StatusNotFound, event.ProtocolViolation,
			"%q is not a Segment call; send messages to /v1/track, /v1/identify, /v1/page, /v1/screen, /v1/group, /v1/alias or /v1/batch (or their one-letter aliases /v1/t ... /v1/b)", call)
	}
	switch req.MediaType {
	case "", MediaJSON, MediaText:
	default:
		return nil, protocol.Errorf(http.StatusUnsupportedMediaType, event.PayloadFormatViolation,
			"Content-Type %s is not accepted for Segment calls; send %s (or %s, read as JSON)", req.MediaType, MediaJSON, MediaText)
	}
	if cs, ok := req.Params["charset"]; ok && !protocol.UTF8Charset(cs) {
		return nil, protocol.Errorf(http.StatusUnsupportedMediaType, event.PayloadFormatViolation,
			"charset %s is not supported; encode the body as UTF-8 and send charset=utf-8 or no charset", cs)
	}
	body := req.Body
	if batch && len(body) > lim.Batch {
		return nil, protocol.Errorf(http.StatusRequestEntityTooLarge, event.SizeViolation,
			"the batch is %d bytes, over the limit of %d; send fewer messages per batch", len(body), lim.Batch)
	}
	if !batch && len(body) > lim.Event {
		return nil, protocol.Errorf(http.StatusRequestEntityTooLarge, event.SizeViolation,
			"the message is %d bytes, over the limit of %d per message; send less data with it", len(body), lim.Event)
	}
	start := jsonscan.SkipSpace(body, protocol.SkipBOM(body))
	if start == len(body) {
		return nil, protocol.Errorf(http.StatusBadRequest, event.PayloadFormatViolation, "the body is empty; send %s", describeBody(call))
	}
	if body[start] != '{' {
		end, err := jsonscan.Value(body, start)
		if err == nil && jsonscan.SkipSpace(body, end) == len(body) {
			return nil, protocol.Errorf(http.StatusBadRequest, event.ProtocolViolation,
				"the body is %s, not a Segment message; send %s", jsonscan.Kind(body[start]), describeBody(call))
		}
		return nil, notJSON(err, end, call)
	}
	d := decoder{
		// One copy of the body as a string lets every string field be a
		// substring of it: one allocation per request instead of several
		// per message.
		text:       string(body),
		checkUTF8:  !utf8.Valid(body),
		eventLimit: lim.Event,
		maxEvents:  req.MaxEvents,
	}
	if batch {
		return d.batch(body, start)
	}
	d.msgs = make([]Message, 1)
	var f fields
	end, err := d.message(body, start, call, &d.msgs[0], &f)
	if err == nil {
		if j := jsonscan.SkipSpace(body, end); j != len(body) {
			return nil, notJSON(nil, j, call)
		}
	} else {
		return nil, notJSON(err, end, call)
	}
	d.buf = make([]byte, 0, len(body)+64)
	d.finish(&d.msgs[0], &f, time.Time{}, nil, nil)
	return d.msgs, nil
}

// notJSON is the error for a body that is not JSON: err is a syntax error,
// or nil for data after the end of the first value at offset.
func notJSON(err error, offset int, call string) *protocol.Error {
	if err == nil {
		return protocol.Errorf(http.StatusBadRequest, event.PayloadFormatViolation,
			"the body is not valid JSON: unexpected data after the end of the first value at byte offset %d; send %s", offset, describeBody(call))
	}
	return protocol.Errorf(http.StatusBadRequest, event.PayloadFormatViolation,
		"the body is not valid JSON: %v; send %s", err, describeBody(call))
}

func describeBody(call string) string {
	if call == CallBatch {
		return `one JSON object {"batch": [messages, each with its "type"]}`
	}
	return "one message as a JSON object, such as {\"userId\": \"u1\", \"event\": \"Order Completed\", \"properties\": {...}} for a track"
}

type decoder struct {
	text       string
	checkUTF8  bool
	eventLimit int
	maxEvents  int
	msgs       []Message
	fields     []fields
	// buf holds every message's Attributes, and the {} of messages sent
	// without data: one allocation per request.
	buf []byte
}

// fields is what finish needs of a message once the batch around it is read:
// the values that go into its Attributes, as sent, and which batch-level
// values it lacks.
type fields struct {
	// read is set when the message was read as an object; a message that
	// failed as a whole (not an object, not UTF-8, too large) has no
	// Attributes.
	read                                   bool
	hasSentAt                              bool
	typ, event, name, category             []byte
	groupID, previousID, ctx, integrations []byte
}

// batch reads a /v1/batch body, an object that starts at b[start].
func (d *decoder) batch(b []byte, start int) ([]Message, error) {
	// Real messages are rarely under 256 bytes: sizing the slices up front
	// saves growing them message by message, at most doubling their size.
	d.msgs = make([]Message, 0, min(len(b)/256+1, max(d.maxEvents, 1)))
	d.fields = make([]fields, 0, cap(d.msgs))
	var seen uint8
	const (
		bBatch = 1 << iota
		bSentAt
		bContext
		bIntegrations
	)
	var ctx, integrations []byte
	sentAt := -1 // the start of the batch's sentAt, when it has one
	sentAtEnd := 0
	var problem *protocol.Error
	fail := func(t event.FailureType, format string, args ...any) {
		if problem == nil {
			problem = protocol.Errorf(http.StatusBadRequest, t, format, args...)
		}
	}
	end, err := jsonscan.Object(b, start, func(ks, ke, vs int) (int, error) {
		var bit uint8
		switch d.unquote(b, ks, ke) {
		case "batch":
			bit = bBatch
		case "sentAt":
			bit = bSentAt
		case "context":
			bit = bContext
		case "integrations":
			bit = bIntegrations
		default:
			// writeKey is read by WriteKey; Segment ignores other fields.
			return jsonscan.Value(b, vs)
		}
		if seen&bit != 0 {
			fail(event.ProtocolViolation, "the field %s appears more than once in the batch; send it once", d.unquote(b, ks, ke))
			return jsonscan.Value(b, vs)
		}
		seen |= bit
		if bit == bBatch && b[vs] == '[' {
			return jsonscan.Array(b, vs, func(n, es int) (int, error) {
				if perr := protocol.TooManyEvents(n+1, d.maxEvents); perr != nil {
					return es, perr
				}
				d.msgs = append(d.msgs, Message{})
				d.fields = append(d.fields, fields{})
				return d.element(b, n, es, &d.msgs[len(d.msgs)-1], &d.fields[len(d.fields)-1])
			})
		}
		ve, err := jsonscan.Value(b, vs)
		if err != nil {
			return ve, err
		}
		v := b[vs:ve]
		switch {
		case v[0] == 'n':
			seen &^= bit
			if bit == bBatch {
				fail(event.ProtocolViolation, `batch is null; it must be an array of messages, each with its "type"`)
			}
		case d.checkUTF8 && !utf8.Valid(v):
			fail(event.PayloadFormatViolation, "the batch's %s holds bytes that are not valid UTF-8; encode all text as UTF-8", d.unquote(b, ks, ke))
		case bit == bBatch:
			fail(event.ProtocolViolation, `batch is %s; it must be an array of messages, each with its "type"`, jsonscan.Kind(v[0]))
		case bit == bSentAt:
			sentAt, sentAtEnd = vs, ve
		case v[0] != '{':
			fail(event.ProtocolViolation, "the batch's %s is %s; it must be an object", d.unquote(b, ks, ke), jsonscan.Kind(v[0]))
		case bit == bContext:
			ctx = v
		default:
			integrations = v
		}
		return ve, nil
	})
	if perr := protocol.AsError(err); perr != nil {
		return nil, perr
	}
	if err != nil {
		return nil, notJSON(err, end, CallBatch)
	}
	if j := jsonscan.SkipSpace(b, end); j != len(b) {
		return nil, notJSON(nil, j, CallBatch)
	}
	if problem != nil {
		return nil, problem
	}
	if seen&bBatch == 0 {
		return nil, protocol.Errorf(http.StatusBadRequest, event.ProtocolViolation,
			`the body has no batch; send {"batch": [messages, each with its "type"]}, or send a single message to its own endpoint such as /v1/track`)
	}
	var sent time.Time
	if sentAt >= 0 {
		t, msg := d.parseTime(b[sentAt:sentAtEnd], d.text[sentAt:sentAtEnd], "sentAt")
		if msg != "" {
			return nil, protocol.Errorf(http.StatusBadRequest, event.PayloadFormatViolation, "the batch's %s", msg)
		}
		sent = t
	}
	n := 0
	for i := range d.fields {
		if d.fields[i].read && d.fields[i].ctx == nil {
			n += len(ctx)
		}
		if d.fields[i].read && d.fields[i].integrations == nil {
			n += len(integrations)
		}
	}
	// The batch's context and integrations are copied into every message
	// without its own: a large context and many small messages would make
	// one request store many times its size.
	if budget := copyBudget(len(b)); n > budget {
		return nil, protocol.Errorf(http.StatusRequestEntityTooLarge, event.SizeViolation,
			"the batch's context and integrations (%d bytes) would be copied into its %d messages, %d bytes in all, over the limit of %d (four times the batch, at least %d); send a smaller batch-level context, or put it on the messages that need it",
			len(ctx)+len(integrations), len(d.msgs), n, budget, minCopyBudget)
	}
	d.buf = make([]byte, 0, len(b)+n+64*len(d.msgs))
	for i := range d.msgs {
		d.finish(&d.msgs[i], &d.fields[i], sent, ctx, integrations)
	}
	return d.msgs, nil
}

// minCopyBudget is the least a batch may spend on copies of its batch-level
// context and integrations into its messages.
const minCopyBudget = 1 << 20

// copyBudget is how many bytes of batch-level context and integrations may
// be copied into the messages of a batch of size bytes: a small constant
// times the batch, so that what one request stores stays proportional to it.
func copyBudget(size int) int { return max(4*size, minCopyBudget) }

// element reads message n of a batch, which starts at b[es].
func (d *decoder) element(b []byte, n, es int, m *Message, f *fields) (int, error) {
	if b[es] != '{' {
		ee, err := jsonscan.Skip(b, es)
		m.Input.Raw = b[es:ee]
		m.Input.Failure = event.NewFailure(event.ProtocolViolation, fmt.Sprintf(
			`message %d of the batch is %s, not a message; each must be a JSON object with its "type", such as {"type": "track", "event": "Order Completed", "userId": "u1"}`,
			n, jsonscan.Kind(b[es])))
		return ee, err
	}
	ee, err := d.message(b, es, "", m, f)
	if end, failure, ok := protocol.EventRepeatsName(b, es, err); ok {
		*f = fields{}
		m.Event = ""
		m.Input = event.Input{Raw: b[es:end], Failure: failure}
		return end, nil
	}
	if err != nil {
		return ee, err
	}
	if size := ee - es; size > d.eventLimit {
		*f = fields{}
		m.Event = ""
		m.Input = event.Input{
			Raw: truncate(m.Input.Raw, rawPrefixBytes),
			Failure: event.NewFailure(event.SizeViolation, fmt.Sprintf(
				"message %d of the batch is %d bytes, over the limit of %d per message; send less data with it (its failed record keeps at most its first %d bytes)",
				n, size, d.eventLimit, rawPrefixBytes)),
		}
	}
	return ee, nil
}

// truncate returns at most the first n bytes of b, cut at a UTF-8 character
// boundary so that text stays text.
func truncate(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	cut := n
	for i := 0; i < utf8.UTFMax-1 && cut > 0 && !utf8.RuneStart(b[cut]); i++ {
		cut--
	}
	if !utf8.RuneStart(b[cut]) {
		// Not UTF-8 anyway: keep the bytes as they are.
		cut = n
	}
	return b[:cut:cut]
}

// finish fills what depends on the batch around a message: its SentAt, its
// Attributes (with the batch's context and integrations when it has none)
// and the {} of a message sent without data.
func (d *decoder) finish(m *Message, f *fields, sentAt time.Time, ctx, integrations []byte) {
	if !f.read {
		return
	}
	in := &m.Input
	if !f.hasSentAt {
		in.SentAt = sentAt
	}
	if f.ctx != nil {
		ctx = f.ctx
	}
	if f.integrations != nil {
		integrations = f.integrations
	}
	s := len(d.buf)
	d.buf = append(d.buf, '{')
	if m.Call != "" {
		d.buf = append(append(append(d.buf, `"type":"`...), m.Call...), '"')
	} else {
		d.member("type", f.typ)
	}
	d.member("event", f.event)
	d.member("name", f.name)
	d.member("category", f.category)
	d.member("groupId", f.groupID)
	d.member("previousId", f.previousID)
	d.member("context", ctx)
	d.member("integrations", integrations)
	d.buf = append(d.buf, '}')
	in.Attributes = d.buf[s:len(d.buf):len(d.buf)]
	if in.Failure == nil && in.Data == nil {
		s = len(d.buf)
		d.buf = append(d.buf, "{}"...)
		in.Data = d.buf[s:len(d.buf):len(d.buf)]
	}
}

// member appends "name":value to the attributes being built, when value is
// not nil.
func (d *decoder) member(name string, value []byte) {
	if value == nil {
		return
	}
	if d.buf[len(d.buf)-1] != '{' {
		d.buf = append(d.buf, ',')
	}
	d.buf = append(append(append(append(d.buf, '"'), name...), `":`...), value...)
}

// unquote returns the text of the string literal b[ks:ke].
func (d *decoder) unquote(b []byte, ks, ke int) string {
	return jsonscan.Unquote(b[ks:ke], d.text[ks:ke])
}
