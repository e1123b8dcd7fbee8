// Package pixel reads tracking-pixel hits: one event per GET request, its data
// in the query string, answered with a transparent 1x1 GIF (GIF). It serves
// where only an image can be loaded, such as e-mails and pages without
// JavaScript.
//
//	GET /px?campaign=spring&variant=b
//	GET /px/com.acme/email_opened/1-0-0?campaign=spring&recipients=3
//
// On /px the event has no contract (DecodeArbitrary): every parameter becomes
// a string member of the data, and the event is recorded as arbitrary. On
// /px/{vendor}/{name}/{version} it names a contract, and the parameters are
// first converted to the types of the contract's properties (Coercer), since
// a query string carries only text.
//
// In both forms, each parameter becomes a member of the data, sorted by name;
// one sent several times becomes an array. Four parameters are reserved, and
// are not data:
//
//	eid       the event's id (Input.EventID)
//	uid       the user id (Input.Identity.UserID)
//	aid       the anonymous id (Input.Identity.AnonymousID)
//	redirect  where to send the browser instead of answering with the GIF;
//	          the HTTP layer checks it against the allow list
//	          (protocol.RedirectAllowed) and handles it
//
// A reserved parameter sent several times counts with its first value. Raw
// is the query re-encoded (url.Values.Encode), reserved parameters included,
// so a failed record keeps everything that was sent. A parameter whose name
// or value is not UTF-8 fails the event as a payload_format_violation.
package pixel

import (
	"fmt"
	"net/url"
	"slices"
	"unicode/utf8"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/jsonpointer"
	"github.com/accord-events/accord/internal/jsonscan"
	"github.com/accord-events/accord/internal/protocol"
)

// Name is the protocol's name on envelopes.
const Name = "pixel"

// The reserved parameters; see the package documentation.
const (
	ParamEventID     = "eid"
	ParamUserID      = "uid"
	ParamAnonymousID = "aid"
	ParamRedirect    = "redirect"
)

// GIF is the transparent 1x1 GIF every pixel answer carries (with
// Content-Type image/gif); see protocol.GIF.
var GIF = protocol.GIF

// DecodeArbitrary reads a hit on /px: every parameter that is not reserved
// becomes a string member of the data (an array of strings when sent several
// times), and the event is Arbitrary, recorded without a contract.
func DecodeArbitrary(q url.Values) event.Input {
	in := decode(q, nil)
	in.Arbitrary = true
	return in
}

// coerce writes the JSON of one data member's values to buf.
type coerce func(buf []byte, name string, values []string) []byte

// decode builds the Input for q, writing each data member with member, or as
// strings when member is nil.
func decode(q url.Values, member coerce) event.Input {
	var in event.Input
	// The names of a typical hit fit on the stack.
	var names []string
	if len(q) <= 16 {
		names = make([]string, 0, 16)
	} else {
		names = make([]string, 0, len(q))
	}
	size, rawSize := 2, 0
	valid := true
	for name, values := range q {
		if len(values) == 0 {
			continue
		}
		names = append(names, name)
		valid = valid && utf8.ValidString(name)
		for _, v := range values {
			size += len(name) + len(v) + 8
			rawSize += queryEscapedLen(name) + queryEscapedLen(v) + 2
			valid = valid && utf8.ValidString(v)
		}
	}
	slices.Sort(names)

	// Data and Raw share one buffer: one allocation for both in the usual
	// case, where nothing in the data needs escaping.
	buf := make([]byte, 0, size+rawSize+16)
	buf = append(buf, '{')
	for _, name := range names {
		values := q[name]
		switch name {
		case ParamEventID:
			in.EventID = values[0]
			continue
		case ParamUserID:
			in.Identity.UserID = values[0]
			continue
		case ParamAnonymousID:
			in.Identity.AnonymousID = values[0]
			continue
		case ParamRedirect:
			continue
		}
		if len(buf) > 1 {
			buf = append(buf, ',')
		}
		buf = jsonscan.AppendString(buf, name)
		buf = append(buf, ':')
		if member != nil {
			buf = member(buf, name, values)
		} else {
			buf = appendStrings(buf, values)
		}
	}
	buf = append(buf, '}')
	in.Data = buf[:len(buf):len(buf)]

	start := len(buf)
	for _, name := range names {
		for _, v := range q[name] {
			if len(buf) > start {
				buf = append(buf, '&')
			}
			buf = appendQueryEscape(buf, name)
			buf = append(buf, '=')
			buf = appendQueryEscape(buf, v)
		}
	}
	in.Raw = buf[start:len(buf):len(buf)]

	if !valid {
		in.Failure = utf8Failure(q, names)
	}
	return in
}

// appendStrings writes values as one JSON string, or as an array of strings
// when there are several.
func appendStrings(buf []byte, values []string) []byte {
	if len(values) == 1 {
		return jsonscan.AppendString(buf, values[0])
	}
	buf = append(buf, '[')
	for i, v := range values {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = jsonscan.AppendString(buf, v)
	}
	return append(buf, ']')
}

// utf8Failure names the parameters of q, in the order of names, whose name
// or a value is not UTF-8.
func utf8Failure(q url.Values, names []string) *event.Failure {
	f := &event.Failure{Type: event.PayloadFormatViolation}
	n := 0
	for _, name := range names {
		bad := !utf8.ValidString(name)
		if !bad {
			for _, v := range q[name] {
				bad = bad || !utf8.ValidString(v)
			}
		}
		if !bad {
			continue
		}
		n++
		if n > protocol.MaxMessages {
			continue
		}
		if !utf8.ValidString(name) {
			f.Messages = append(f.Messages, event.Message{Message: "a parameter name holds bytes that are not valid UTF-8; encode all text as UTF-8 before percent-encoding it"})
			continue
		}
		f.Messages = append(f.Messages, event.Message{InstancePath: "/" + jsonpointer.Escape(name),
			Message: fmt.Sprintf("the parameter %s holds bytes that are not valid UTF-8; encode all text as UTF-8 before percent-encoding it", name)})
	}
	if n > protocol.MaxMessages {
		f.Messages = append(f.Messages, event.Message{Message: fmt.Sprintf("%d more parameters are not valid UTF-8 and were not listed", n-protocol.MaxMessages)})
	}
	return f
}

const upperHex = "0123456789ABCDEF"

// queryUnreserved reports whether url.QueryEscape leaves c as it is.
func queryUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~'
}

// appendQueryEscape appends url.QueryEscape(s) to buf without building the
// string; Raw written with it is what url.Values.Encode returns.
func appendQueryEscape(buf []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if queryUnreserved(c) {
			continue
		}
		buf = append(buf, s[start:i]...)
		if c == ' ' {
			buf = append(buf, '+')
		} else {
			buf = append(buf, '%', upperHex[c>>4], upperHex[c&0xf])
		}
		start = i + 1
	}
	return append(buf, s[start:]...)
}

// queryEscapedLen is len(url.QueryEscape(s)).
func queryEscapedLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		if c := s[i]; !queryUnreserved(c) && c != ' ' {
			n += 2
		}
	}
	return n
}
