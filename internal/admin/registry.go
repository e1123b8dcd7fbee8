package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/jsonscan"
	"github.com/accord-events/accord/internal/web"
)

// routeRegistry adds the registry API's routes; the schema writes (PUT and
// POST) are refused unless Deps.APIKeys holds keys. Methods are checked in
// the handlers rather than in the patterns, so a wrong method gets the JSON
// 405 rather than the mux's plain-text one.
func (a *Admin) routeRegistry() {
	a.routes = append(a.routes, "/api/")
	a.route("/api/schemas", a.readOrWrite(http.MethodPost, a.listSchemas, a.postSchema))
	a.route("/api/schemas/{vendor}", a.get(a.listSchemas))
	a.route("/api/schemas/{vendor}/{name}", a.get(a.listSchemas))
	a.route("/api/schemas/{vendor}/{name}/{format}/{version}", a.readOrWrite(http.MethodPut, a.getSchema, a.putSchema))
	a.route("/api/validation/validate/instance", a.post(a.validateInstance))
	a.route("/api/validation/validate/instance/{vendor}/{name}/{format}/{version}", a.post(a.validateInstance))
	a.route("/api/cache/purge", http.HandlerFunc(a.purge))
	a.route("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		web.WriteError(w, r, http.StatusNotFound, web.ErrorBody{Error: fmt.Sprintf("no route %s; the registry API is GET /api/schemas[/{vendor}[/{name}[/{format}/{version}]]], PUT /api/schemas/{vendor}/{name}/{format}/{version}, POST /api/schemas, POST /api/validation/validate/instance and POST /api/cache/purge", r.URL.Path)})
	}))
}

func (a *Admin) get(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			web.MethodNotAllowed(w, r, "GET, HEAD")
			return
		}
		h(w, r)
	}
}

func (a *Admin) post(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			web.MethodNotAllowed(w, r, http.MethodPost)
			return
		}
		h(w, r)
	}
}

// listSchemas answers the keys of the contracts served, as iglu: URIs,
// sorted, narrowed to a vendor and a name when the path names them.
func (a *Admin) listSchemas(w http.ResponseWriter, r *http.Request) {
	vendor, name := r.PathValue("vendor"), r.PathValue("name")
	keys := []string{}
	for _, c := range a.deps.Registry.Contracts() {
		if (vendor == "" || c.Key.Vendor == vendor) && (name == "" || c.Key.Name == name) {
			keys = append(keys, c.URI)
		}
	}
	if len(keys) == 0 && vendor != "" {
		what := "vendor " + vendor
		if name != "" {
			what = "contract " + vendor + "/" + name
		}
		web.WriteError(w, r, http.StatusNotFound, web.ErrorBody{Error: fmt.Sprintf("no schemas for %s; GET /api/schemas lists every schema", what)})
		return
	}
	web.WriteJSON(w, http.StatusOK, keys)
}

// schemaMeta is the repr=meta answer: the key and where the contract is
// stored.
type schemaMeta struct {
	Self     schemaSelf     `json:"self"`
	Metadata schemaMetadata `json:"metadata"`
}

type schemaSelf struct {
	Vendor  string `json:"vendor"`
	Name    string `json:"name"`
	Format  string `json:"format"`
	Version string `json:"version"`
}

type schemaMetadata struct {
	URI      string `json:"uri"`
	Location string `json:"location"`
	IsPublic bool   `json:"isPublic"`
}

func (a *Admin) getSchema(w http.ResponseWriter, r *http.Request) {
	c, ok := a.resolve(w, r, pathKey(r))
	if !ok {
		return
	}
	switch repr := r.URL.Query().Get("repr"); repr {
	case "", "canonical":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(c.Document)
	case "meta":
		web.WriteJSON(w, http.StatusOK, schemaMeta{
			Self:     schemaSelf{Vendor: c.Key.Vendor, Name: c.Key.Name, Format: c.Key.Format, Version: c.Version},
			Metadata: schemaMetadata{URI: c.URI, Location: c.Source, IsPublic: true},
		})
	case "uri":
		web.WriteJSON(w, http.StatusOK, c.URI)
	default:
		web.WriteError(w, r, http.StatusBadRequest, web.ErrorBody{Error: fmt.Sprintf("repr %q is not a representation; use canonical, meta or uri", repr)})
	}
}

func pathKey(r *http.Request) string {
	return r.PathValue("vendor") + "/" + r.PathValue("name") + "/" + r.PathValue("format") + "/" + r.PathValue("version")
}

// resolve finds the contract key names, or answers 400 or 404 naming it.
func (a *Admin) resolve(w http.ResponseWriter, r *http.Request, key string) (*contract.Contract, bool) {
	c, err := a.deps.Registry.Resolve(key)
	switch {
	case err == nil:
		return c, true
	case errors.Is(err, contract.ErrBadKey):
		web.WriteError(w, r, http.StatusBadRequest, web.ErrorBody{Error: fmt.Sprintf("%q is not a schema key; use the form vendor/name/jsonschema/M-R-A", key)})
	case errors.Is(err, contract.ErrNotFound):
		web.WriteError(w, r, http.StatusNotFound, web.ErrorBody{Error: fmt.Sprintf("no schema iglu:%s; GET /api/schemas lists every schema", strings.TrimPrefix(key, "iglu:"))})
	default:
		web.WriteError(w, r, http.StatusInternalServerError, web.ErrorBody{Error: "the schema could not be resolved: " + err.Error()})
	}
	return nil, false
}

// validation is the answer of the validation endpoint.
type validation struct {
	Valid   bool           `json:"valid"`
	Schema  string         `json:"schema"`
	Failure *event.Failure `json:"failure,omitempty"`
}

// validateInstance checks a payload against a stored contract, as the
// collector would check an event's data, with the same messages. The
// iglu-server form takes a self-describing body {"schema", "data"}; the form
// with the key in the path takes the data itself.
func (a *Admin) validateInstance(w http.ResponseWriter, r *http.Request) {
	body, ok := a.readAPIBody(w, r)
	if !ok {
		return
	}
	key, data := pathKey(r), json.RawMessage(body)
	if r.PathValue("vendor") == "" {
		var sd struct {
			Schema string          `json:"schema"`
			Data   json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(body, &sd); err != nil || sd.Schema == "" {
			web.WriteError(w, r, http.StatusBadRequest, web.ErrorBody{Error: `the body is not a self-describing instance; send {"schema": "iglu:vendor/name/jsonschema/M-R-A", "data": {...}}`})
			return
		}
		key, data = sd.Schema, sd.Data
	}
	c, ok := a.resolve(w, r, key)
	if !ok {
		return
	}
	// Read as the collector reads event data (which ValidateJSON assumes
	// was done): a repeated member name is refused here too.
	_, _, err := jsonscan.Document(data, 0)
	var msgs []event.Message
	if err == nil {
		msgs, err = c.ValidateJSON(data, "/data")
	}
	if err != nil {
		web.WriteError(w, r, http.StatusBadRequest, web.ErrorBody{Error: "the instance is not valid JSON: " + err.Error()})
		return
	}
	res := validation{Valid: len(msgs) == 0, Schema: c.URI}
	if !res.Valid {
		res.Failure = &event.Failure{Type: event.SchemaViolation, Messages: msgs}
	}
	web.WriteJSON(w, http.StatusOK, res)
}

// purge reloads the contracts from disk now, which also empties the
// resolution cache, and answers what was loaded. It needs a credential
// whenever one is configured (admin.auth, or contracts.api_keys).
func (a *Admin) purge(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodDelete {
		web.MethodNotAllowed(w, r, "POST, DELETE")
		return
	}
	// With admin.auth set, ServeHTTP has checked the credentials already;
	// without it, keys of contracts.api_keys guard purges as they guard
	// writes: a purge makes the server reread every contract.
	if !a.creds.adminAuth() && len(a.creds.apiKeys) > 0 && !a.creds.apiKey(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="accord registry"`)
		web.WriteError(w, r, http.StatusUnauthorized, web.ErrorBody{Error: "purging needs an API key: send one of contracts.api_keys in an apikey header or as Authorization: Bearer KEY"})
		return
	}
	if a.deps.Reloader == nil {
		web.WriteError(w, r, http.StatusNotImplemented, web.ErrorBody{Error: "this server has no contract store to reload from"})
		return
	}
	rep, err := a.deps.Reloader.Reload()
	if err != nil {
		a.log.Error("purge registry cache", "request_id", web.RequestID(r), "err", err)
		web.WriteError(w, r, http.StatusInternalServerError, web.ErrorBody{Error: "the contracts could not be reloaded: " + err.Error()})
		return
	}
	web.WriteJSON(w, http.StatusOK, rep)
}
