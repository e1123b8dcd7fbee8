package admin

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/accord-events/accord/internal/atomicfile"
	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/contract/compat"
	"github.com/accord-events/accord/internal/web"
)

// written is the answer to an accepted write: the key, the file it is stored
// in, and whether it was created or was already there.
type written struct {
	Key      string `json:"key"`
	Location string `json:"location"`
	Status   string `json:"status"`
}

// refusal is the answer to a version refused for its place in the
// contract's history: the steps whose bump is smaller than their changes
// need, or the gaps it would leave.
type refusal struct {
	Error     string        `json:"error"`
	Key       string        `json:"key"`
	Steps     []compat.Step `json:"steps,omitempty"`
	Gaps      []compat.Gap  `json:"gaps,omitempty"`
	RequestID string        `json:"request_id"`
}

// readOrWrite serves GET and HEAD with read and method with write.
func (a *Admin) readOrWrite(method string, read, write http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			read(w, r)
		case method:
			write(w, r)
		default:
			web.MethodNotAllowed(w, r, "GET, HEAD, "+method)
		}
	}
}

// putSchema stores the body under the key its path names.
func (a *Admin) putSchema(w http.ResponseWriter, r *http.Request) {
	key, err := contract.ParseKey(pathKey(r))
	if err != nil {
		web.WriteError(w, r, http.StatusBadRequest, web.ErrorBody{Error: fmt.Sprintf("%q is not a schema key; use the form vendor/name/jsonschema/M-R-A", pathKey(r))})
		return
	}
	a.writeSchema(w, r, key)
}

// postSchema stores the body under the key its self block names.
func (a *Admin) postSchema(w http.ResponseWriter, r *http.Request) {
	a.writeSchema(w, r, contract.Key{})
}

func (a *Admin) writeSchema(w http.ResponseWriter, r *http.Request, want contract.Key) {
	if !a.authorizeWrite(w, r) {
		return
	}
	body, ok := a.readAPIBody(w, r)
	if !ok {
		return
	}
	// $refs to other contracts resolve in the directory the write goes to,
	// as they will when the watcher loads it; nothing else is loaded.
	c, err := contract.CompileWith(body, contract.Key{}, "", contract.DirDocuments(a.deps.ContractsDir))
	if err != nil {
		web.WriteError(w, r, http.StatusUnprocessableEntity, web.ErrorBody{Error: "the schema does not compile: " + err.Error()})
		return
	}
	if want != (contract.Key{}) && c.Key != want {
		web.WriteError(w, r, http.StatusUnprocessableEntity, web.ErrorBody{Error: fmt.Sprintf("the self block names %s but the path names %s; make them agree", c.Key.Path(), want.Path())})
		return
	}
	// The key becomes a path under contracts.dir: no part may climb out
	// of it, or hide (the watcher skips dot files).
	if err := c.Key.CheckFilePath(); err != nil {
		web.WriteError(w, r, http.StatusUnprocessableEntity, web.ErrorBody{Error: err.Error()})
		return
	}
	a.writeMu.Lock()
	defer a.writeMu.Unlock()

	path := filepath.Join(a.deps.ContractsDir, c.Key.Vendor, c.Key.Name, c.Key.Format, c.Version)
	c.Source = path
	var versions []*contract.Contract
	for _, old := range a.deps.Registry.Contracts() {
		if old.Key.Vendor != c.Key.Vendor || old.Key.Name != c.Key.Name || old.Key.Format != c.Key.Format {
			continue
		}
		if old.Key != c.Key {
			versions = append(versions, old)
			continue
		}
		if contract.SameDocument(old.Document, body) {
			web.WriteJSON(w, http.StatusOK, written{Key: c.URI, Location: old.Source, Status: "unchanged"})
			return
		}
		web.WriteError(w, r, http.StatusConflict, web.ErrorBody{Error: fmt.Sprintf("%s already exists with another document, and a published version never changes; publish the change as a new version", c.URI)})
		return
	}
	for _, p := range []string{path, path + ".json"} {
		if _, err := os.Stat(p); err == nil {
			web.WriteError(w, r, http.StatusConflict, web.ErrorBody{Error: fmt.Sprintf("%s is not served but its file %s exists (it does not compile: see POST /api/cache/purge); fix or remove the file", c.URI, p)})
			return
		}
	}
	if ref := judgeVersion(versions, c, contract.DirDocuments(a.deps.ContractsDir)); ref != nil {
		ref.RequestID = web.RequestID(r)
		web.WriteJSON(w, http.StatusConflict, ref)
		return
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		a.log.Error("write schema", "request_id", web.RequestID(r), "schema", c.URI, "err", err)
		web.WriteError(w, r, http.StatusInternalServerError, web.ErrorBody{Error: "the schema could not be stored: " + err.Error()})
		return
	}
	// Through a hidden temporary file, so a reload sees the whole file or
	// none of it (the watcher skips hidden files).
	if err := atomicfile.Write(path, body, 0o644); err != nil {
		a.log.Error("write schema", "request_id", web.RequestID(r), "schema", c.URI, "err", err)
		web.WriteError(w, r, http.StatusInternalServerError, web.ErrorBody{Error: "the schema could not be stored: " + err.Error()})
		return
	}
	if a.deps.Reloader != nil {
		if _, err := a.deps.Reloader.Reload(); err != nil {
			a.log.Error("reload after schema write", "request_id", web.RequestID(r), "schema", c.URI, "err", err)
			web.WriteError(w, r, http.StatusInternalServerError, web.ErrorBody{Error: fmt.Sprintf("the schema was stored in %s but the contracts could not be reloaded: %v; POST /api/cache/purge to try again", path, err)})
			return
		}
	}
	a.log.Info("schema published", "request_id", web.RequestID(r), "schema", c.URI, "file", path)
	web.WriteJSON(w, http.StatusCreated, written{Key: c.URI, Location: path, Status: "created"})
}

// judgeVersion checks c's place among the other versions of its contract:
// the bump from the version before it, and to the version after it, must
// cover their changes, and c must follow a version the contract has (or be
// 1-0-0). It returns nil when c may be stored. $refs to other contracts are
// followed through docs, the registry's contracts, as compat.DiffWith does.
func judgeVersion(versions []*contract.Contract, c *contract.Contract, docs contract.Documents) *refusal {
	id := c.Key.Vendor + "/" + c.Key.Name + "/" + c.Key.Format
	var prev, next *contract.Contract
	vers := []contract.SchemaVer{c.Key.Version}
	for _, v := range versions {
		vers = append(vers, v.Key.Version)
		if compat.Less(v.Key.Version, c.Key.Version) && (prev == nil || compat.Less(prev.Key.Version, v.Key.Version)) {
			prev = v
		}
		if compat.Less(c.Key.Version, v.Key.Version) && (next == nil || compat.Less(v.Key.Version, next.Key.Version)) {
			next = v
		}
	}
	// Only the gap c opens before itself counts: a hole the contract
	// already had after c is not this write's doing.
	for _, g := range compat.Gaps(id, vers) {
		if g.Next != c.Version {
			continue
		}
		msg := fmt.Sprintf("%s would leave a gap: %s is missing after %s; publish %s first", c.URI, g.Missing, g.After, g.Missing)
		if g.After == "" {
			msg = fmt.Sprintf("%s would leave a gap: a contract starts at %s; publish %s first", c.URI, g.Missing, g.Missing)
		}
		return &refusal{Error: msg, Key: c.URI, Gaps: []compat.Gap{g}}
	}
	neighbours := []*contract.Contract{c}
	if prev != nil {
		neighbours = append(neighbours, prev)
	}
	if next != nil {
		neighbours = append(neighbours, next)
	}
	failed := compat.CheckWith(neighbours, compat.Options{Documents: docs}).Failed()
	if len(failed) == 0 {
		return nil
	}
	var reasons []string
	for _, st := range failed {
		if st.To == c.Version {
			reason := fmt.Sprintf("%s declares %s over %s but its changes need %s", c.URI, st.Declared, st.From, st.Needed)
			if next == nil {
				reason += "; publish it as " + bumped(prev.Key.Version, st.Needed).String()
			}
			reasons = append(reasons, reason)
		} else {
			reasons = append(reasons, fmt.Sprintf("%s declares %s over %s but the changes between them need %s", st.To, st.Declared, st.From, st.Needed))
		}
	}
	return &refusal{Error: strings.Join(reasons, "; and ") + " (steps lists each change)", Key: c.URI, Steps: failed}
}

// bumped returns the version after v at level b.
func bumped(v contract.SchemaVer, b compat.Bump) contract.SchemaVer {
	switch b {
	case compat.Model:
		return contract.SchemaVer{Model: v.Model + 1}
	case compat.Revision:
		return contract.SchemaVer{Model: v.Model, Revision: v.Revision + 1}
	}
	return contract.SchemaVer{Model: v.Model, Revision: v.Revision, Addition: v.Addition + 1}
}

// authorizeWrite answers 403 when writes are turned off and 401 without one
// of their keys, and reports whether the request may write.
func (a *Admin) authorizeWrite(w http.ResponseWriter, r *http.Request) bool {
	if len(a.creds.apiKeys) == 0 {
		web.WriteError(w, r, http.StatusForbidden, web.ErrorBody{Error: "schema writes are turned off on this server; to turn them on, list the keys that may write in contracts.api_keys (ACCORD_CONTRACTS_API_KEYS)"})
		return false
	}
	if a.creds.apiKey(r) {
		return true
	}
	if r.Header.Get("apikey") == "" && r.Header.Get("Authorization") == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="accord registry"`)
		web.WriteError(w, r, http.StatusUnauthorized, web.ErrorBody{Error: "writing schemas needs an API key; send one of contracts.api_keys in an apikey header or as Authorization: Bearer KEY"})
		return false
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="accord registry", error="invalid_token"`)
	web.WriteError(w, r, http.StatusUnauthorized, web.ErrorBody{Error: "the API key is not one of contracts.api_keys"})
	return false
}

// readAPIBody reads a registry API request body within server.max_body_bytes, or answers
// 413 or 400.
func (a *Admin) readAPIBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.deps.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			web.WriteError(w, r, http.StatusRequestEntityTooLarge, web.ErrorBody{Error: fmt.Sprintf("the body is larger than the limit of %d bytes (server.max_body_bytes)", a.deps.MaxBodyBytes)})
			return nil, false
		}
		web.WriteError(w, r, http.StatusBadRequest, web.ErrorBody{Error: "the body could not be read: " + err.Error()})
		return nil, false
	}
	return body, true
}
