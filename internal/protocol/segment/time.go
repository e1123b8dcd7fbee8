package segment

import (
	"fmt"
	"time"

	"github.com/accord-events/accord/internal/jsonscan"
)

// exampleTime shows the form of a timestamp in messages.
const exampleTime = "2024-05-01T12:30:00.123Z"

// parseTime reads the timestamp field whose value, not null, is the literal
// lit (text holds the same bytes). It returns a message naming the field when
// the value is not a timestamp.
func (d *decoder) parseTime(lit []byte, text, field string) (time.Time, string) {
	if lit[0] != '"' {
		return time.Time{}, fmt.Sprintf("%s is %s; send an ISO-8601 timestamp such as %s, or leave it out", field, jsonscan.Kind(lit[0]), exampleTime)
	}
	s := jsonscan.Unquote(lit, text)
	t, ok := parseTime(s)
	if !ok {
		return time.Time{}, fmt.Sprintf("%s %q is not an ISO-8601 timestamp; send one such as %s (UTC) or 2024-05-01T14:30:00+02:00", field, s, exampleTime)
	}
	return t, ""
}

// parseTime reads the ISO-8601 timestamps Segment's libraries send: RFC 3339
// with or without fractional seconds (analytics.js, analytics-node, the
// mobile SDKs), an offset without its colon (+0200, as PHP's and Java's
// ISO-8601 formats write it) or of hours only (+02), and no offset at all,
// read as UTC (Python's isoformat of a naive UTC time).
func parseTime(s string) (time.Time, bool) {
	// When parsing, Go accepts a fractional second after the seconds even
	// where the layout has none.
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	for _, layout := range [...]string{"2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05Z07", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
