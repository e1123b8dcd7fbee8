package ui

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/accord-events/accord/internal/contract"
)

func pageViewVersion(t *testing.T, version, extra string) *contract.Contract {
	t.Helper()
	doc := `{"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
	  "self": {"vendor": "com.acme", "name": "page_view", "format": "jsonschema", "version": "` + version + `"},
	  "x-accord": {"owner": "web@acme.test", "description": "A page was viewed."},
	  "type": "object", "properties": {"url": {"type": "string"}` + extra + `}, "additionalProperties": false}`
	key, err := contract.ParseKey("iglu:com.acme/page_view/jsonschema/" + version)
	if err != nil {
		t.Fatal(err)
	}
	c, err := contract.Compile([]byte(doc), key, "test")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func get(t *testing.T, u *UI, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	u.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

// TestCatalogRoutes: the routes serve package catalog's model, follow the
// contracts as they change, and bound and check what they are asked.
func TestCatalogRoutes(t *testing.T) {
	var mu sync.Mutex
	list := []*contract.Contract{pageViewVersion(t, "1-0-0", "")}
	u := New(Deps{Contracts: func() []*contract.Contract {
		mu.Lock()
		defer mu.Unlock()
		return append([]*contract.Contract(nil), list...)
	}})
	status, body := get(t, u, "/ui/api/catalog")
	var cat struct{ Contracts []Summary }
	if err := json.Unmarshal([]byte(body), &cat); status != 200 || err != nil || len(cat.Contracts) != 1 || cat.Contracts[0].Owner != "web@acme.test" {
		t.Fatalf("catalog: %d %v %s", status, err, body)
	}
	// A new version (a reload) shows at once.
	mu.Lock()
	list = append(list, pageViewVersion(t, "1-0-1", `, "title": {"type": "string"}`))
	mu.Unlock()
	if _, body = get(t, u, "/ui/api/catalog"); !strings.Contains(body, `"versions":["1-0-0","1-0-1"]`) {
		t.Errorf("the catalog did not follow the new version: %s", body)
	}
	status, body = get(t, u, "/ui/api/compare?id=com.acme/page_view/jsonschema&from=1-0-0&to=1-0-1")
	if status != 200 || !strings.Contains(body, `"needed":"ADDITION"`) || !strings.Contains(body, `"property":"title"`) {
		t.Errorf("compare: %d %s", status, body)
	}
	status, body = get(t, u, "/ui/api/contract?id=com.acme/page_view/jsonschema")
	if status != 200 || !strings.Contains(body, `"latest":"1-0-1"`) || !strings.Contains(body, `"example"`) {
		t.Errorf("contract: %d %s", status, body)
	}
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/ui/api/contract", http.StatusBadRequest},
		{"/ui/api/contract?id=" + strings.Repeat("x", maxQueryValue+1), http.StatusBadRequest},
		{"/ui/api/contract?id=com.acme/nope/jsonschema", http.StatusNotFound},
		{"/ui/api/compare?id=com.acme/page_view/jsonschema&from=1-0-0&to=7-0-0", http.StatusNotFound},
		{"/ui/api/compare?id=com.acme/page_view/jsonschema&from=1-0-0&to=" + strings.Repeat("1", maxQueryValue+1), http.StatusBadRequest},
	} {
		if status, body := get(t, u, tc.path); status != tc.want {
			t.Errorf("GET %.60s: %d, want %d: %s", tc.path, status, tc.want, body)
		}
	}
}

// TestCheckRelaysTheCollectorsAnswer: the playground's check answers 200
// with the collector's status and JSON answer inside; an answer that is
// not JSON, or too large to relay, is an error, not a garbled answer.
func TestCheckRelaysTheCollectorsAnswer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer func(w http.ResponseWriter)
		status int
		want   string
	}{
		{"refused", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			w.Write([]byte(`{"error":"too big"}`))
		}, http.StatusOK, `{"status":413,"answer":{"error":"too big"}}`},
		{"good", func(w http.ResponseWriter) { w.Write([]byte(`{"good":1}`)) }, http.StatusOK, `{"status":200,"answer":{"good":1}}`},
		{"not json", func(w http.ResponseWriter) { w.Write([]byte(`<html>`)) }, http.StatusInternalServerError, `could not be shown`},
		{"too large", func(w http.ResponseWriter) {
			w.Write([]byte(`"` + strings.Repeat("a", maxAnswerBytes) + `"`))
		}, http.StatusInternalServerError, `could not be shown`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := New(Deps{})
			u.HandleCheck("/events", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { tc.answer(w) }))
			rec := httptest.NewRecorder()
			u.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/ui/api/check", strings.NewReader(`{}`)))
			if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.want) {
				t.Errorf("%d %s, want %d with %s", rec.Code, rec.Body, tc.status, tc.want)
			}
		})
	}
	u := New(Deps{})
	u.HandleCheck("/events", http.NotFoundHandler())
	if _, body := get(t, u, "/ui/api/playground"); !strings.Contains(body, `"path":"/events"`) {
		t.Errorf("playground: %s", body)
	}
}
