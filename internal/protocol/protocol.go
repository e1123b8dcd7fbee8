// Package protocol holds what every input protocol shares: the Request a
// protocol reads, the Error it returns for a request that cannot be read as
// events at all, and the Type by which a protocol is registered by name with
// its options, its doc and the endpoints it serves. Each protocol is its own
// package beside this one exporting Type(); the wiring registers them in one
// list, the configuration reads their options under protocols.<key>, and the
// HTTP layer routes each Endpoint's requests to its Decoder and takes back
// []event.Input.
package protocol

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/accord-events/accord/internal/event"
)

// Request is an HTTP request as a protocol sees it. The body has already
// been size-limited and, when gzip-encoded, decompressed.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Query  url.Values
	// RawQuery is the query string as sent, without the '?'.
	RawQuery string
	// MediaType is the Content-Type's media type, lower-cased, without
	// parameters ("application/json"); empty when none was sent.
	MediaType string
	// Params holds the Content-Type's parameters (charset, ...).
	Params map[string]string
	Body   []byte
	// PathValue returns a wildcard of the route's path ({source} in
	// /webhooks/{source}); nil when the route has none.
	PathValue func(name string) string
	// MaxEvents is the most events the request may hold
	// (server.max_events_per_request); 0 sets no cap. See TooManyEvents.
	MaxEvents int
	// Inputs, when its capacity is not 0, is memory the caller lends for
	// the events a decoder reads: a decoder may return Inputs[:n] for n
	// up to its capacity, each Input set anew, instead of allocating. The
	// caller reuses it once the pipeline has made the inputs into records
	// (pipeline.Process keeps no pointer to them), so a decoder keeps none
	// either. The server lends room for one event, what most requests
	// from browsers and apps hold; OneInput returns a decoder's one event
	// in it.
	Inputs []event.Input
}

// OneInput returns in as the one input a decoder read from the request:
// in the memory Inputs lends, set anew, or in a slice of its own when it
// lends none.
func (r *Request) OneInput(in event.Input) []event.Input {
	if cap(r.Inputs) == 0 {
		return []event.Input{in}
	}
	inputs := r.Inputs[:1]
	inputs[0] = in
	return inputs
}

// Cookie returns the value of the request cookie called name, or "".
func (r *Request) Cookie(name string) string {
	c, err := (&http.Request{Header: r.Header}).Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

// Reply shapes the answer to a request whose events were read and stored.
// A nil *Reply (or the zero value) answers 200 with the JSON report of what
// happened to each event.
type Reply struct {
	// Status replaces 200 (302 for a redirect).
	Status int
	// Header is added to the answer (Location, Set-Cookie, Cache-Control).
	Header http.Header
	// Body, when not nil, replaces the JSON report, with ContentType.
	Body        []byte
	ContentType string
	// OmitIP keeps the client's IP address off the request's records
	// (Snowplow's SP-Anonymous header).
	OmitIP bool
	// Stored, when set, is called once the request's records are stored,
	// before the answer (Segment's dedup remembers message ids then).
	Stored func()
}

// Error is a request that cannot be read as events. The HTTP layer answers
// with Status and a JSON body carrying the Failure, and stores the body as a
// failed record of the Failure's type, so nothing is lost.
type Error struct {
	Status  int
	Failure *event.Failure
	// Refused marks a request refused outright, such as one with an
	// unknown write key or a bad signature: nothing of it is stored, it is
	// answered with Status and counted under Reason in GET /stats.
	Refused bool
	Reason  string
	// Raw, when not nil, is what the failed record keeps instead of the
	// request body (the body with a credential taken out, say).
	Raw []byte
}

func (e *Error) Error() string {
	if e.Failure == nil || len(e.Failure.Messages) == 0 {
		return fmt.Sprintf("status %d", e.Status)
	}
	return fmt.Sprintf("%s: %s", e.Failure.Type, e.Failure.Messages[0].Message)
}

// Errorf returns an *Error with one message.
func Errorf(status int, t event.FailureType, format string, args ...any) *Error {
	return &Error{Status: status, Failure: event.NewFailure(t, fmt.Sprintf(format, args...))}
}

// Refusef returns an *Error that refuses the request without storing it,
// counted under reason.
func Refusef(status int, reason string, format string, args ...any) *Error {
	return &Error{Status: status, Refused: true, Reason: reason, Failure: event.NewFailure(event.ProtocolViolation, fmt.Sprintf(format, args...))}
}

// Counters counts, by name, what protocols refused or dropped (requests
// with a bad signature, duplicate events), for GET /stats. It is safe for
// concurrent use.
type Counters struct {
	m sync.Map // name -> *atomic.Uint64
}

// Add adds n to the counter called name.
func (c *Counters) Add(name string, n uint64) {
	v, ok := c.m.Load(name)
	if !ok {
		v, _ = c.m.LoadOrStore(name, new(atomic.Uint64))
	}
	v.(*atomic.Uint64).Add(n)
}

// Snapshot returns every counter's value.
func (c *Counters) Snapshot() map[string]uint64 {
	out := map[string]uint64{}
	c.m.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Uint64).Load()
		return true
	})
	return out
}

// UTF8Charset reports whether a Content-Type charset parameter names an
// encoding whose bytes are UTF-8 (US-ASCII is a subset).
func UTF8Charset(charset string) bool {
	switch strings.ToLower(charset) {
	case "utf-8", "utf8", "us-ascii":
		return true
	}
	return false
}

// SkipBOM returns 3 when b starts with a UTF-8 byte order mark, which some
// Windows tools write, and 0 otherwise.
func SkipBOM(b []byte) int {
	if len(b) >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf {
		return 3
	}
	return 0
}

// TooManyEvents returns the error for a request that holds more than max
// events, or nil while n (the events read so far, the next one included)
// is within max; max 0 sets no cap. Decoders call it before reading each
// event, so a request over the cap costs no more than max events' work.
// It is a size_violation answered 413: the request is stored as one failed
// record holding its body, which can be split and replayed.
func TooManyEvents(n, max int) *Error {
	if max <= 0 || n <= max {
		return nil
	}
	return Errorf(http.StatusRequestEntityTooLarge, event.SizeViolation,
		"the request holds more than %d events, the most one request may carry (server.max_events_per_request); send them in several requests", max)
}

// AsError returns err as an *Error when it is one (a decoder's callback
// stopped a walk with it), and nil otherwise.
func AsError(err error) *Error {
	if err == nil {
		// Before perr, which escapes to the heap: the common path (no
		// error) allocates nothing.
		return nil
	}
	var perr *Error
	if errors.As(err, &perr) {
		return perr
	}
	return nil
}
