package server

import (
	"net/http"

	"github.com/accord-events/accord/internal/web"
)

// errorBody is every error answer's JSON (see web.ErrorBody).
type errorBody = web.ErrorBody

// writeError answers status with body, stamped with the request id.
func writeError(w http.ResponseWriter, r *http.Request, status int, body errorBody) {
	web.WriteError(w, r, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) { web.WriteJSON(w, status, v) }

func requestID(r *http.Request) string { return web.RequestID(r) }

func methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	web.MethodNotAllowed(w, r, allow)
}
