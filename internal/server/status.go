package server

import (
	"net/http"
)

// WithStatus serves GET /stats with what stats returns, as JSON, and makes
// /readyz answer 503 while ready returns an error (a full spool, say).
func WithStatus(ready func() error, stats func() any) Option {
	return func(s *Server) {
		s.ready, s.stats = ready, stats
	}
}

func (s *Server) serveStats(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, r, "GET, HEAD")
		return
	}
	writeJSON(w, http.StatusOK, s.stats())
}
