package server

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/redact"
)

// errorBody is every error answer's JSON: what went wrong and how to fix it,
// the failure when the body was stored as a failed record, and the request id
// to find it in the logs.
type errorBody struct {
	Error     string         `json:"error"`
	Failure   *event.Failure `json:"failure,omitempty"`
	EventID   string         `json:"event_id,omitempty"`
	RequestID string         `json:"request_id"`
}

// writeError answers status with body, stamped with the request id.
func writeError(w http.ResponseWriter, r *http.Request, status int, body errorBody) {
	body.RequestID = requestID(r)
	// Errors quote backend and store URLs, which may carry credentials.
	body.Error = redact.String(body.Error)
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"the response could not be encoded"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
