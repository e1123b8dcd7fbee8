// Package protocol holds what every input protocol shares: the Request a
// protocol reads and the Error it returns for a request that cannot be read as
// events at all. Each protocol is its own package beside this one; the HTTP
// layer hands it a Request and takes back []event.Input.
package protocol

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/accord-events/accord/internal/event"
)

// Request is an HTTP request as a protocol sees it. The body has already
// been size-limited and, when gzip-encoded, decompressed.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Query  url.Values
	// MediaType is the Content-Type's media type, lower-cased, without
	// parameters ("application/json"); empty when none was sent.
	MediaType string
	// Params holds the Content-Type's parameters (charset, ...).
	Params map[string]string
	Body   []byte
}

// Error is a request that cannot be read as events. The HTTP layer answers
// with Status and a JSON body carrying the Failure, and stores the body as a
// failed record of the Failure's type, so nothing is lost.
type Error struct {
	Status  int
	Failure *event.Failure
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
