// Package web is what Accord's HTTP servers share, the collector (package
// server) and the admin surface (package admin): request ids, JSON answers
// and error bodies, panic recovery and access logs. Both servers answer the
// same way, and a handler mounted from one on the other finds the request
// id the outer one gave.
package web

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/redact"
)

// ErrorBody is every error answer's JSON: what went wrong and how to fix
// it, the failure when the body was stored as a failed record, and the
// request id to find it in the logs.
type ErrorBody struct {
	Error   string         `json:"error"`
	Failure *event.Failure `json:"failure,omitempty"`
	EventID string         `json:"event_id,omitempty"`
	// Accepted is true on a 503 whose records were kept all the same
	// (spool.ack_timeout passed): the client must not send them again.
	Accepted  bool   `json:"accepted,omitempty"`
	RequestID string `json:"request_id"`
}

// WriteError answers status with body, stamped with the request id, with
// any credential in its error redacted.
func WriteError(w http.ResponseWriter, r *http.Request, status int, body ErrorBody) {
	body.RequestID = RequestID(r)
	// Errors quote backend and store URLs, which may carry credentials.
	body.Error = redact.String(body.Error)
	WriteJSON(w, status, body)
}

// WriteJSON answers status with v as JSON and a trailing newline.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, ok := EncodeJSON(v)
	if !ok {
		status = http.StatusInternalServerError
	}
	WriteJSONBytes(w, status, b)
}

// EncodeJSON is the body WriteJSON answers with: v as JSON and a trailing
// newline, or, when v cannot be encoded, an error saying so and ok false
// (WriteJSON answers that with 500). For an answer encoded before it is
// written, with WriteJSONBytes.
func EncodeJSON(v any) (b []byte, ok bool) {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(`{"error":"the response could not be encoded"}` + "\n"), false
	}
	return append(b, '\n'), true
}

// WriteJSONBytes answers status with b, JSON already encoded (EncodeJSON).
func WriteJSONBytes(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// MethodNotAllowed answers 405 naming the methods the route takes.
func MethodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	WriteError(w, r, http.StatusMethodNotAllowed, ErrorBody{Error: fmt.Sprintf("method %s is not allowed on %s; use %s", r.Method, r.URL.Path, allow)})
}

// Header is the first value of the header key, given in its canonical
// form (textproto.CanonicalMIMEHeaderKey), as net/http stores the headers
// it reads and http.Header.Set the ones it sets. Header.Get canonicalises
// its key on every call: about 300 instructions, eight times on a
// single-event request's way through the collector.
func Header(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

type requestIDKey struct{}

// WithRequestID gives every request an id: the client's X-Request-Id when
// it sent a sensible one, a new one otherwise. It is echoed in the
// response, stamped on the request's records and logged with its errors, so
// a support question ("request X failed") can be followed end to end.
func WithRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := Header(r.Header, "X-Request-Id")
		if !validRequestID(id) {
			id = uuid.NewString()
		}
		w.Header()["X-Request-Id"] = []string{id}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// RequestID is the id WithRequestID gave r, or "".
func RequestID(r *http.Request) string {
	id, _ := r.Context().Value(requestIDKey{}).(string)
	return id
}

// WithRecover turns a panic in a handler into a logged 500 instead of a
// dropped connection, so one bad request cannot take a server down.
func WithRecover(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("handler panicked", "request_id", RequestID(r), "path", r.URL.Path, "panic", v)
				WriteError(w, r, http.StatusInternalServerError, ErrorBody{Error: "internal error; the request was not accepted, send it again"})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// WithAccessLog logs every request at debug level: method, path, status,
// bytes and duration. At info and above it costs one level check.
func WithAccessLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !log.Enabled(r.Context(), slog.LevelDebug) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		log.Debug("request", "request_id", RequestID(r), "method", r.Method, "path", r.URL.Path,
			"status", sw.status, "bytes_in", r.ContentLength, "duration", time.Since(start))
	})
}

// Wrap is the middleware every Accord server puts around its routes:
// request ids outermost (so every log line and answer carries one), then
// the access log, then panic recovery.
func Wrap(log *slog.Logger, h http.Handler) http.Handler {
	return WithRequestID(WithAccessLog(log, WithRecover(log, h)))
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

// Unwrap lets http.ResponseController reach the connection's writer:
// the inspector's stream flushes and sets its deadlines through it.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}
