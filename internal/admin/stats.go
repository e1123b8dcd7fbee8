package admin

import (
	"encoding/json"
	"net/http"

	"github.com/accord-events/accord/internal/web"
)

// serveStats answers GET /stats: what Deps.Stats returns, with
// "protocols", the counts of what protocols refused or dropped.
func (a *Admin) serveStats(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		web.MethodNotAllowed(w, r, "GET, HEAD")
		return
	}
	b, err := json.Marshal(a.deps.Stats())
	var doc map[string]any
	if err == nil {
		err = json.Unmarshal(b, &doc)
	}
	if err != nil {
		web.WriteError(w, r, http.StatusInternalServerError, web.ErrorBody{Error: "the statistics could not be encoded: " + err.Error()})
		return
	}
	doc["protocols"] = a.deps.Counters.Snapshot()
	web.WriteJSON(w, http.StatusOK, doc)
}

// serveAlerts answers GET /stats/alerts: the state of every alert rule and
// receiver, what /stats shows under "alerts".
func (a *Admin) serveAlerts(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		web.MethodNotAllowed(w, r, "GET, HEAD")
		return
	}
	web.WriteJSON(w, http.StatusOK, a.deps.Alerts())
}
