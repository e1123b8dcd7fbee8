package registry

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/contract"
)

// igluServer serves the contracts of keys in both Iglu layouts: a static
// repository at /static and an iglu-server at /server, whose API wants
// apikey "secret" for every request.
func igluServer(t *testing.T, keys ...string) *httptest.Server {
	t.Helper()
	docs := map[string][]byte{}
	var uris []string
	for _, s := range keys {
		k := mustKey(t, s)
		docs[k.Path()] = schemaDoc(k)
		uris = append(uris, k.String())
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /static/schemas/{path...}", func(w http.ResponseWriter, r *http.Request) {
		doc, ok := docs[r.PathValue("path")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(doc)
	})
	api := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("apikey") != "secret" {
				http.Error(w, `{"message":"not authorized"}`, http.StatusUnauthorized)
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /server/api/schemas/{path...}", api(func(w http.ResponseWriter, r *http.Request) {
		doc, ok := docs[r.PathValue("path")]
		if !ok {
			http.Error(w, `{"message":"The schema is not found"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc)
	}))
	mux.HandleFunc("GET /server/api/schemas", api(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(uris)
	}))
	mux.HandleFunc("GET /broken/schemas/{path...}", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream down", http.StatusBadGateway)
	})
	mux.HandleFunc("GET /huge/schemas/{path...}", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"pad":"`))
		w.Write([]byte(strings.Repeat("x", MaxDocumentSize)))
		w.Write([]byte(`"}`))
	})
	mux.HandleFunc("GET /slow/schemas/{path...}", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestIgluFetch(t *testing.T) {
	srv := igluServer(t, keyA, keyB)
	tests := []struct {
		name    string
		path    string
		opts    IgluOptions
		key     string
		wantErr error  // nil for found
		wantIn  string // in the error
	}{
		{name: "static found", path: "/static", key: keyA},
		{name: "static trailing slash", path: "/static/", key: keyB},
		{name: "static not found", path: "/static", key: keyC, wantErr: ErrNotFound},
		{name: "api found", path: "/server", opts: IgluOptions{API: true, APIKey: "secret"}, key: keyA},
		{name: "api not found", path: "/server", opts: IgluOptions{API: true, APIKey: "secret"}, key: keyC, wantErr: ErrNotFound},
		{name: "api without key", path: "/server", opts: IgluOptions{API: true}, key: keyA, wantIn: "401 Unauthorized"},
		{name: "server error", path: "/broken", key: keyA, wantIn: "502 Bad Gateway"},
		{name: "too large", path: "/huge", key: keyA, wantIn: "larger than 1048576 bytes"},
		{name: "timeout", path: "/slow", opts: IgluOptions{Timeout: 50 * time.Millisecond}, key: keyA, wantErr: context.DeadlineExceeded},
		{name: "dot-dot vendor", path: "/static", key: "iglu:../a/jsonschema/1-0-0", wantErr: ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := NewIglu(srv.URL+tc.path, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			k := mustKey(t, tc.key)
			doc, err := g.Fetch(context.Background(), k)
			if tc.wantErr == nil && tc.wantIn == "" {
				if err != nil {
					t.Fatalf("Fetch: %v", err)
				}
				if _, err := contract.Compile(doc, k, "test"); err != nil {
					t.Fatalf("fetched document does not compile: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Fetch succeeded, want an error")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("error = %v, want one wrapping %v", err, tc.wantErr)
			}
			if tc.wantErr == nil && errors.Is(err, ErrNotFound) {
				t.Fatalf("a failure reads as not found: %v", err)
			}
			if !strings.Contains(err.Error(), tc.wantIn) {
				t.Fatalf("error %q does not say %q", err, tc.wantIn)
			}
		})
	}
}

func TestIgluList(t *testing.T) {
	srv := igluServer(t, keyA, keyB)
	api, err := NewIglu(srv.URL+"/server", IgluOptions{API: true, APIKey: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := api.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].String() != keyA || keys[1].String() != keyB {
		t.Fatalf("List = %v, want %s, %s", keys, keyA, keyB)
	}
	static, err := NewIglu(srv.URL+"/static", IgluOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if keys, err := static.List(context.Background()); keys != nil || err != nil {
		t.Fatalf("static List = %v, %v; want nil, nil", keys, err)
	}
}

func TestNewIgluRejects(t *testing.T) {
	tests := []struct {
		name string
		url  string
		opts IgluOptions
		want string
	}{
		{"no scheme", "iglucentral.com", IgluOptions{}, "not an http(s) URL"},
		{"ftp", "ftp://iglucentral.com", IgluOptions{}, "not an http(s) URL"},
		{"negative timeout", "http://iglucentral.com", IgluOptions{Timeout: -time.Second}, "timeout"},
		{"api key for a static repository", "http://iglucentral.com", IgluOptions{APIKey: "k"}, "api: true"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewIglu(tc.url, tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewIglu error = %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// TestResolverOverIglu is the whole path: an event's key not in the
// contracts directory, found in an iglu-server after a static repository
// that lacks it.
func TestResolverOverIglu(t *testing.T) {
	srv := igluServer(t, keyA, keyB)
	staticRepo, err := NewIglu(srv.URL+"/static", IgluOptions{})
	if err != nil {
		t.Fatal(err)
	}
	server, err := NewIglu(srv.URL+"/server", IgluOptions{API: true, APIKey: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	broken, err := NewIglu(srv.URL+"/broken", IgluOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := NewResolver(contract.NewSet(nil), []Backend{staticRepo, server}, CacheOptions{})
	c, err := r.Resolve(keyA)
	if err != nil {
		t.Fatal(err)
	}
	if want := srv.URL + "/static:" + keyA; c.Source != want {
		t.Fatalf("Source = %q, want %q", c.Source, want)
	}
	if msgs, err := c.ValidateJSON([]byte(`{"id":"x","n":1}`), "/data"); len(msgs) != 0 || err != nil {
		t.Fatalf("fetched contract rejects a valid event: %v %v", msgs, err)
	}
	if msgs, err := c.ValidateJSON([]byte(`{"n":-1}`), "/data"); len(msgs) == 0 || err != nil {
		t.Fatalf("fetched contract accepts an invalid event: %v", err)
	}
	if _, err := r.Resolve(keyC); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown key: %v, want ErrNotFound", err)
	}

	r = NewResolver(nil, []Backend{broken, server}, CacheOptions{})
	if _, err := r.Resolve(keyC); err == nil || !strings.Contains(err.Error(), "502") || errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown key with a broken backend: %v, want the 502 failure", err)
	}
}
