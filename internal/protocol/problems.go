package protocol

import (
	"fmt"
	"unicode/utf8"

	"github.com/accord-events/accord/internal/event"
)

// MaxMessages bounds the messages kept for one event, so that a hostile
// event with thousands of bad fields costs no more than a few.
const MaxMessages = 10

// Problems collects what is wrong with one event as a protocol reads it,
// by failure type. The zero value is ready to use.
type Problems struct {
	format, protocol, schema []event.Message
	n                        int
}

// Add records a problem of type t at the JSON pointer path.
func (p *Problems) Add(t event.FailureType, path, format string, args ...any) {
	p.n++
	if p.n > MaxMessages {
		return
	}
	m := event.Message{InstancePath: path, Message: fmt.Sprintf(format, args...)}
	switch t {
	case event.PayloadFormatViolation:
		p.format = append(p.format, m)
	case event.ProtocolViolation:
		p.protocol = append(p.protocol, m)
	default:
		p.schema = append(p.schema, m)
	}
}

// Failure is nil when there were no problems. Its type is the most basic
// problem found: unreadable data before broken protocol rules before a
// missing contract; its messages are all of them, in that order.
func (p *Problems) Failure() *event.Failure {
	if p.n == 0 {
		return nil
	}
	f := &event.Failure{Type: event.SchemaNotFound}
	switch {
	case len(p.format) > 0:
		f.Type = event.PayloadFormatViolation
	case len(p.protocol) > 0:
		f.Type = event.ProtocolViolation
	}
	f.Messages = make([]event.Message, 0, len(p.format)+len(p.protocol)+len(p.schema)+1)
	f.Messages = append(append(append(f.Messages, p.format...), p.protocol...), p.schema...)
	if p.n > MaxMessages {
		f.Messages = append(f.Messages, event.Message{Message: fmt.Sprintf("%d more problems were found and not listed; fix the ones above and send the event again", p.n-MaxMessages)})
	}
	return f
}

// InvalidUTF8At returns the offset of the first byte of b that is not valid
// UTF-8, or len(b).
func InvalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// Len returns how many problems were added.
func (p *Problems) Len() int { return p.n }
