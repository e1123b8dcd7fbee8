package server

import (
	"encoding/json"
	"net/http"

	"github.com/accord-events/accord/internal/protocol"
)

// WithStatus serves GET /stats with what stats returns (a JSON object), to
// which it adds "protocols": the counts of what protocols refused or
// dropped; and makes /readyz answer 503 while ready returns an error (a
// full spool, say).
func WithStatus(ready func() error, stats func() any) Option {
	return func(s *Server) {
		s.ready, s.stats = ready, stats
	}
}

// WithCounters makes the server count into c, which decoders may share.
func WithCounters(c *protocol.Counters) Option {
	return func(s *Server) { s.counters = c }
}

func (s *Server) serveStats(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, r, "GET, HEAD")
		return
	}
	b, err := json.Marshal(s.stats())
	var doc map[string]any
	if err == nil {
		err = json.Unmarshal(b, &doc)
	}
	if err != nil {
		writeError(w, r, http.StatusInternalServerError, errorBody{Error: "the statistics could not be encoded: " + err.Error()})
		return
	}
	doc["protocols"] = s.counters.Snapshot()
	writeJSON(w, http.StatusOK, doc)
}
