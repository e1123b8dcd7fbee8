package server

import (
	"fmt"
	"net/http"
	"slices"
)

// withCORS lets browsers send events from the configured origins: it
// answers preflight requests and marks responses as readable by the page.
// Requests without an Origin header (servers, SDKs, curl) pass untouched.
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
		allowed := anyOrigin || slices.Contains(s.cfg.CORSOrigins, origin)
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		h := w.Header()
		h.Add("Vary", "Origin")
		if !allowed {
			if preflight {
				writeError(w, r, http.StatusForbidden, errorBody{Error: fmt.Sprintf("origin %s may not send events here; add it to server.cors_origins", origin)})
				return
			}
			// Not a browser-readable answer; the request itself is still
			// served, as it would be without CORS.
			next.ServeHTTP(w, r)
			return
		}
		// The origin is echoed rather than "*", and credentials are
		// allowed, so pages that send cookies (Snowplow's browser tracker
		// does, for the network user id) are answered too.
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
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
