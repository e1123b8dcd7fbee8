package ui

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"sync"

	"github.com/accord-events/accord/internal/catalog"
	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/web"
)

// Deps is what the UI's pages read.
type Deps struct {
	// Contracts lists the contracts the collector serves (contracts.dir,
	// the built-in ones, and those cached from contracts.backends):
	// *registry.Resolver's Contracts. Nil: the catalog is empty.
	Contracts func() []*contract.Contract
	// Sinks are the configured sinks as the catalog names their places
	// (catalog.SinkOf).
	Sinks []catalog.Sink
	// Collect says where the collector takes self-describing events, for
	// the playground's curl.
	Collect Collect
}

// Collect is where the collector takes self-describing events.
type Collect struct {
	// Path is the route (/events); empty when the protocol is off.
	Path string `json:"path"`
	// SamePort is true when the admin surface, hence the UI, is served on
	// the collector's own address (admin.addr empty): the UI's origin
	// and path prefix are the collector's.
	SamePort bool `json:"same_port"`
	// Addr is server.addr, for the curl when the UI has an address of its
	// own.
	Addr string `json:"addr"`
}

// maxQueryValue bounds the ids and versions a request names.
const maxQueryValue = 512

// catalogCache builds the catalog model once per set of contracts: a
// reload or a contract cached from a backend makes a new one.
type catalogCache struct {
	deps Deps
	mu   sync.Mutex
	of   []*contract.Contract
	cat  *catalog.Catalog
	docs contract.Documents
}

func (c *catalogCache) get() (*catalog.Catalog, contract.Documents) {
	var list []*contract.Contract
	if c.deps.Contracts != nil {
		list = c.deps.Contracts()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cat == nil || !slices.Equal(list, c.of) {
		byKey := make(map[contract.Key][]byte, len(list))
		for _, ct := range list {
			byKey[ct.Key] = ct.Document
		}
		c.docs = func(k contract.Key) ([]byte, bool) {
			d, ok := byKey[k]
			return d, ok
		}
		c.cat = catalog.Build(list, catalog.Options{Sinks: c.deps.Sinks, Documents: c.docs})
		c.of = list
	}
	return c.cat, c.docs
}

// Summary is one contract in the catalog's list: what the search looks at.
type Summary struct {
	ID           string   `json:"id"`
	Vendor       string   `json:"vendor"`
	Name         string   `json:"name"`
	Latest       string   `json:"latest"`
	Builtin      bool     `json:"builtin"`
	Description  string   `json:"description"`
	Owner        string   `json:"owner"`
	Team         string   `json:"team"`
	Tags         []string `json:"tags"`
	TrackingPlan []string `json:"tracking_plan"`
	// Versions are the versions, oldest first; Keys their schema keys.
	Versions []string `json:"versions"`
	Keys     []string `json:"keys"`
}

func summarise(c *catalog.Contract) Summary {
	s := Summary{ID: c.ID, Vendor: c.Vendor, Name: c.Name, Latest: c.Latest, Builtin: c.Builtin}
	for _, v := range c.Versions {
		s.Versions = append(s.Versions, v.Version)
		s.Keys = append(s.Keys, v.Key)
	}
	if latest := c.Version(c.Latest); latest != nil {
		s.Description, s.Owner, s.Team, s.Tags, s.TrackingPlan = latest.Description, latest.Owner, latest.Team, latest.Tags, latest.TrackingPlan
	}
	return s
}

func (u *UI) routeAPI() {
	u.mux.HandleFunc("GET "+Prefix+"api/catalog", u.serveCatalog)
	u.mux.HandleFunc("GET "+Prefix+"api/contract", u.serveContract)
	u.mux.HandleFunc("GET "+Prefix+"api/compare", u.serveCompare)
	u.mux.HandleFunc("GET "+Prefix+"api/playground", u.servePlayground)
}

// serveCatalog answers GET api/catalog: every contract, summarised.
func (u *UI) serveCatalog(w http.ResponseWriter, r *http.Request) {
	cat, _ := u.catalog.get()
	list := make([]Summary, 0, len(cat.Contracts))
	for i := range cat.Contracts {
		list = append(list, summarise(&cat.Contracts[i]))
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"format": cat.Format, "contracts": list})
}

// contractOf finds the contract the query's id names, or answers 400/404.
func (u *UI) contractOf(w http.ResponseWriter, r *http.Request) (*catalog.Contract, contract.Documents, bool) {
	id := r.URL.Query().Get("id")
	if id == "" || len(id) > maxQueryValue {
		web.WriteError(w, r, http.StatusBadRequest, web.ErrorBody{Error: "name the contract with ?id=vendor/name/format, such as ?id=com.acme/checkout/jsonschema"})
		return nil, nil, false
	}
	cat, docs := u.catalog.get()
	c := cat.Find(id)
	if c == nil {
		web.WriteError(w, r, http.StatusNotFound, web.ErrorBody{Error: "no contract " + id + " is served; the catalog lists those that are"})
		return nil, nil, false
	}
	return c, docs, true
}

// serveContract answers GET api/contract?id=: the contract as the catalog
// describes it, every version with its fields, metadata and example.
func (u *UI) serveContract(w http.ResponseWriter, r *http.Request) {
	if c, _, ok := u.contractOf(w, r); ok {
		web.WriteJSON(w, http.StatusOK, c)
	}
}

// serveCompare answers GET api/compare?id=&from=&to=: what changed between
// two versions, each change with the SchemaVer bump it needs.
func (u *UI) serveCompare(w http.ResponseWriter, r *http.Request) {
	c, docs, ok := u.contractOf(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	from, to := q.Get("from"), q.Get("to")
	if len(from) > maxQueryValue || len(to) > maxQueryValue {
		web.WriteError(w, r, http.StatusBadRequest, web.ErrorBody{Error: "from and to are versions such as 1-0-0"})
		return
	}
	step, err := c.Compare(from, to, docs)
	if err != nil {
		web.WriteError(w, r, http.StatusNotFound, web.ErrorBody{Error: err.Error() + "; pick two of its versions with ?from= and ?to="})
		return
	}
	web.WriteJSON(w, http.StatusOK, step)
}

// servePlayground answers GET api/playground: where the collector takes
// self-describing events, for the curl the playground shows.
func (u *UI) servePlayground(w http.ResponseWriter, _ *http.Request) {
	web.WriteJSON(w, http.StatusOK, u.deps.Collect)
}

// HandleCheck serves the playground's POST api/check with check, which
// answers a self-describing event as the collection route at path would,
// storing nothing (server.Check). The playground's answer is 200 with the
// collector's status and answer inside, {"status": 400, "answer": {...}}:
// a refusal is what the page came to see, not an error of the page.
func (u *UI) HandleCheck(path string, check http.Handler) {
	u.deps.Collect.Path = path
	u.mux.Handle("POST "+Prefix+"api/check", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &answerRecorder{header: http.Header{}}
		check.ServeHTTP(rec, r)
		answer := json.RawMessage(rec.body.Bytes())
		if rec.over || !json.Valid(answer) {
			web.WriteError(w, r, http.StatusInternalServerError, web.ErrorBody{Error: "the collector's answer could not be shown (not JSON, or larger than the playground shows)"})
			return
		}
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		web.WriteJSON(w, http.StatusOK, CheckAnswer{Status: rec.status, Answer: answer})
	}))
}

// CheckAnswer is the playground's answer: what the collector would have
// answered, status and body.
type CheckAnswer struct {
	Status int             `json:"status"`
	Answer json.RawMessage `json:"answer"`
}

// maxAnswerBytes bounds a collector answer the playground relays; the
// collector's answers are bounded well below it (100 failures of 10
// messages at most).
const maxAnswerBytes = 4 << 20

// answerRecorder keeps the collector's answer to relay it.
type answerRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	over   bool
}

func (a *answerRecorder) Header() http.Header { return a.header }

func (a *answerRecorder) WriteHeader(status int) {
	if a.status == 0 {
		a.status = status
	}
}

func (a *answerRecorder) Write(b []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	if a.body.Len()+len(b) > maxAnswerBytes {
		a.over = true
		return len(b), nil
	}
	return a.body.Write(b)
}
