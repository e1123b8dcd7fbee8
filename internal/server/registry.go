package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/jsonscan"
)

// Registry is what the registry API reads: the contracts served and how a
// key resolves. *contract.Registry is one.
type Registry interface {
	Contracts() []*contract.Contract
	Resolve(key string) (*contract.Contract, error)
}

// Reloader reloads the contracts from where they are stored, now, and says
// what it loaded. *contract.Watcher is one.
type Reloader interface {
	Reload() (contract.ReloadReport, error)
}

// Option configures a Server beyond what New requires.
type Option func(*Server)

// WithRegistry serves the registry API under /api/ (see docs/api.md) from
// reg; POST /api/cache/purge, and every accepted schema write (see
// WithRegistryWrites), calls reload, which may be nil to refuse purges.
func WithRegistry(reg Registry, reload Reloader) Option {
	return func(s *Server) {
		s.registry = reg
		s.reloader = reload
	}
}

// routeRegistry adds the registry API's routes to mux; the schema writes
// (PUT and POST) are refused unless WithRegistryWrites gave them keys. Methods are checked
// in the handlers rather than in the patterns, so a wrong method gets the
// server's JSON 405 rather than the mux's plain-text one.
func (s *Server) routeRegistry(mux *http.ServeMux) {
	mux.HandleFunc("/api/schemas", s.readOrWrite(http.MethodPost, s.listSchemas, s.postSchema))
	mux.HandleFunc("/api/schemas/{vendor}", s.get(s.listSchemas))
	mux.HandleFunc("/api/schemas/{vendor}/{name}", s.get(s.listSchemas))
	mux.HandleFunc("/api/schemas/{vendor}/{name}/{format}/{version}", s.readOrWrite(http.MethodPut, s.getSchema, s.putSchema))
	mux.HandleFunc("/api/validation/validate/instance", s.post(s.validateInstance))
	mux.HandleFunc("/api/validation/validate/instance/{vendor}/{name}/{format}/{version}", s.post(s.validateInstance))
	mux.HandleFunc("/api/cache/purge", s.purge)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, http.StatusNotFound, errorBody{Error: fmt.Sprintf("no route %s; the registry API is GET /api/schemas[/{vendor}[/{name}[/{format}/{version}]]], PUT /api/schemas/{vendor}/{name}/{format}/{version}, POST /api/schemas, POST /api/validation/validate/instance and POST /api/cache/purge", r.URL.Path)})
	})
}

func (s *Server) get(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(w, r, "GET, HEAD")
			return
		}
		h(w, r)
	}
}

func (s *Server) post(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			methodNotAllowed(w, r, http.MethodPost)
			return
		}
		h(w, r)
	}
}

// listSchemas answers the keys of the contracts served, as iglu: URIs,
// sorted, narrowed to a vendor and a name when the path names them.
func (s *Server) listSchemas(w http.ResponseWriter, r *http.Request) {
	vendor, name := r.PathValue("vendor"), r.PathValue("name")
	keys := []string{}
	for _, c := range s.registry.Contracts() {
		if (vendor == "" || c.Key.Vendor == vendor) && (name == "" || c.Key.Name == name) {
			keys = append(keys, c.URI)
		}
	}
	if len(keys) == 0 && vendor != "" {
		what := "vendor " + vendor
		if name != "" {
			what = "contract " + vendor + "/" + name
		}
		writeError(w, r, http.StatusNotFound, errorBody{Error: fmt.Sprintf("no schemas for %s; GET /api/schemas lists every schema", what)})
		return
	}
	writeJSON(w, http.StatusOK, keys)
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

func (s *Server) getSchema(w http.ResponseWriter, r *http.Request) {
	c, ok := s.resolve(w, r, pathKey(r))
	if !ok {
		return
	}
	switch repr := r.URL.Query().Get("repr"); repr {
	case "", "canonical":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(c.Document)
	case "meta":
		writeJSON(w, http.StatusOK, schemaMeta{
			Self:     schemaSelf{Vendor: c.Key.Vendor, Name: c.Key.Name, Format: c.Key.Format, Version: c.Version},
			Metadata: schemaMetadata{URI: c.URI, Location: c.Source, IsPublic: true},
		})
	case "uri":
		writeJSON(w, http.StatusOK, c.URI)
	default:
		writeError(w, r, http.StatusBadRequest, errorBody{Error: fmt.Sprintf("repr %q is not a representation; use canonical, meta or uri", repr)})
	}
}

func pathKey(r *http.Request) string {
	return r.PathValue("vendor") + "/" + r.PathValue("name") + "/" + r.PathValue("format") + "/" + r.PathValue("version")
}

// resolve finds the contract key names, or answers 400 or 404 naming it.
func (s *Server) resolve(w http.ResponseWriter, r *http.Request, key string) (*contract.Contract, bool) {
	c, err := s.registry.Resolve(key)
	switch {
	case err == nil:
		return c, true
	case errors.Is(err, contract.ErrBadKey):
		writeError(w, r, http.StatusBadRequest, errorBody{Error: fmt.Sprintf("%q is not a schema key; use the form vendor/name/jsonschema/M-R-A", key)})
	case errors.Is(err, contract.ErrNotFound):
		writeError(w, r, http.StatusNotFound, errorBody{Error: fmt.Sprintf("no schema iglu:%s; GET /api/schemas lists every schema", strings.TrimPrefix(key, "iglu:"))})
	default:
		writeError(w, r, http.StatusInternalServerError, errorBody{Error: "the schema could not be resolved: " + err.Error()})
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
func (s *Server) validateInstance(w http.ResponseWriter, r *http.Request) {
	body, ok := s.readAPIBody(w, r)
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
			writeError(w, r, http.StatusBadRequest, errorBody{Error: `the body is not a self-describing instance; send {"schema": "iglu:vendor/name/jsonschema/M-R-A", "data": {...}}`})
			return
		}
		key, data = sd.Schema, sd.Data
	}
	c, ok := s.resolve(w, r, key)
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
		writeError(w, r, http.StatusBadRequest, errorBody{Error: "the instance is not valid JSON: " + err.Error()})
		return
	}
	res := validation{Valid: len(msgs) == 0, Schema: c.URI}
	if !res.Valid {
		res.Failure = &event.Failure{Type: event.SchemaViolation, Messages: msgs}
	}
	writeJSON(w, http.StatusOK, res)
}

// purge reloads the contracts from disk now, which also empties the
// resolution cache, and answers what was loaded.
func (s *Server) purge(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodDelete {
		methodNotAllowed(w, r, "POST, DELETE")
		return
	}
	if s.reloader == nil {
		writeError(w, r, http.StatusNotImplemented, errorBody{Error: "this server has no contract store to reload from"})
		return
	}
	rep, err := s.reloader.Reload()
	if err != nil {
		s.log.Error("purge registry cache", "request_id", requestID(r), "err", err)
		writeError(w, r, http.StatusInternalServerError, errorBody{Error: "the contracts could not be reloaded: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
