package server

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/accord-events/accord/internal/web"
)

// withCORS lets browsers send events from the configured origins: it
// answers preflight requests and marks answers as readable by the page. It
// wraps collection routes only, never an admin route. Requests without an
// Origin header (servers, SDKs, curl) pass untouched.
//
// Without * in the list, a request from any other origin is refused with
// 403 and nothing of it is stored, preflight or not: a simple request
// (a text/plain POST, a form) needs no preflight, so refusing only
// preflights would let any page send events. The refusal is counted under
// protocols in GET /stats ({protocol}.origin_not_allowed) and logged at most
// once every corsLogEvery.
//
// An origin listed by name is echoed, with credentials allowed, so pages
// that send cookies (Snowplow's browser tracker does by default, for the
// network user id) are answered. With * any other origin, null included,
// gets "Access-Control-Allow-Origin: *" and no credentials: browsers then
// refuse the answer to a request sent with cookies, so no page can read an
// answer with the visitor's credentials unless its origin is listed.
func (s *Server) withCORS(protocolName string, next http.Handler) http.Handler {
	if len(s.cfg.CORSOrigins) == 0 {
		return next
	}
	anyOrigin := slices.Contains(s.cfg.CORSOrigins, "*")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := web.Header(r.Header, "Origin")
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
		default:
			s.refuseOrigin(w, r, protocolName, origin)
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

// corsLogEvery is how often a refused origin is logged: a page on a foreign
// origin can send many requests, each counted, and the log must not grow
// with them.
const corsLogEvery = 10 * time.Second

// maxLoggedOrigin bounds the origin quoted in the log and the answer: the
// header is the client's.
const maxLoggedOrigin = 200

// refuseOrigin answers a request from an origin server.cors_origins does
// not list: 403, counted, logged at most once every corsLogEvery.
func (s *Server) refuseOrigin(w http.ResponseWriter, r *http.Request, protocolName, origin string) {
	s.counters.Add(protocolName+".origin_not_allowed", 1)
	origin = cut(origin, maxLoggedOrigin)
	if now := time.Now().UnixNano(); now-s.corsLoggedAt.Load() > int64(corsLogEvery) {
		s.corsLoggedAt.Store(now)
		s.log.Warn("request refused: its origin is not in server.cors_origins (further refusals are counted in GET /stats, logged once every 10s)",
			"origin", origin, "path", r.URL.Path, "protocol", protocolName)
	}
	writeError(w, r, http.StatusForbidden, errorBody{Error: fmt.Sprintf("origin %q may not send events here; add it to server.cors_origins", origin)})
}
