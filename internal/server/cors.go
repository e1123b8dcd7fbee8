package server

import (
	"fmt"
	"net/http"
	"slices"
)

// withCORS lets browsers send events from the configured origins: it
// answers preflight requests and marks answers as readable by the page. It
// wraps collection routes only, never an admin route. Requests without an
// Origin header (servers, SDKs, curl) pass untouched.
//
// An origin listed by name is echoed, with credentials allowed, so pages
// that send cookies (Snowplow's browser tracker does by default, for the
// network user id) are answered. With * any other origin, null included,
// gets "Access-Control-Allow-Origin: *" and no credentials: browsers then
// refuse the answer to a request sent with cookies, so no page can read an
// answer with the visitor's credentials unless its origin is listed.
func (s *Server) withCORS(next http.Handler) http.Handler {
	if len(s.cfg.CORSOrigins) == 0 {
		return next
	}
	anyOrigin := slices.Contains(s.cfg.CORSOrigins, "*")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		listed := origin != "*" && slices.Contains(s.cfg.CORSOrigins, origin)
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		h := w.Header()
		h.Add("Vary", "Origin")
		switch {
		case listed:
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
		case anyOrigin:
			h.Set("Access-Control-Allow-Origin", "*")
		case preflight:
			writeError(w, r, http.StatusForbidden, errorBody{Error: fmt.Sprintf("origin %s may not send events here; add it to server.cors_origins", origin)})
			return
		default:
			// Not a browser-readable answer; the request itself is still
			// served, as it would be without CORS.
			next.ServeHTTP(w, r)
			return
		}
		if preflight {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			h.Set("Access-Control-Allow-Methods", "POST, GET, OPTIONS")
			if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
				h.Set("Access-Control-Allow-Headers", req)
			}
			h.Set("Access-Control-Max-Age", "86400")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.Set("Access-Control-Expose-Headers", "X-Request-Id, Retry-After")
		next.ServeHTTP(w, r)
	})
}
