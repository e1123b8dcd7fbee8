package protocol

import (
	"errors"
	"fmt"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/jsonscan"
)

// EventRepeatsName turns err, met while reading one event of a batch that
// starts at b[start], into that event's own failure when err says an object
// in the event repeats a member name: the event fails alone, as a
// payload_format_violation, instead of the whole batch. It returns the index
// just past the event (read again, without the check); ok is false when err
// is anything else, which the caller handles as before.
func EventRepeatsName(b []byte, start int, err error) (end int, failure *event.Failure, ok bool) {
	if !jsonscan.IsNotData(err) {
		return 0, nil, false
	}
	end, serr := jsonscan.Skip(b, start)
	if serr != nil {
		// Broken JSON further on: that is the batch's error.
		return 0, nil, false
	}
	return end, RepeatedNameFailure(err), true
}

// RepeatedNameFailure is the failure of an event whose data (or a context)
// repeats a member name. One rule for every protocol: readers of such JSON
// disagree on its value ({"total":-5,"total":5} validates as 5 and is read
// back by a store as -5), so it is refused.
func RepeatedNameFailure(err error) *event.Failure {
	var se *jsonscan.SyntaxError
	msg := err.Error()
	if errors.As(err, &se) {
		msg = fmt.Sprintf("%s (byte offset %d of the body)", se.Msg, se.Offset)
	}
	return event.NewFailure(event.PayloadFormatViolation, "the event is not accepted: "+msg)
}
