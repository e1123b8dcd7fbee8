package registry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// A repository's redirects are followed a few times at most, and never
// carry the API key to another host: net/http would forward the apikey
// header there.
func TestIgluRedirects(t *testing.T) {
	var mu sync.Mutex
	var elsewhereKeys []string
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		elsewhereKeys = append(elsewhereKeys, r.Header.Get("apikey"))
		mu.Unlock()
		w.Write(schemaDoc(mustKey(t, keyA)))
	}))
	defer elsewhere.Close()
	repo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/loop/"):
			http.Redirect(w, r, r.URL.Path, http.StatusFound)
		case strings.HasPrefix(r.URL.Path, "/away/"):
			http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusFound)
		case strings.HasPrefix(r.URL.Path, "/moved/"):
			http.Redirect(w, r, "/home/"+strings.TrimPrefix(r.URL.Path, "/moved/"), http.StatusMovedPermanently)
		case strings.HasPrefix(r.URL.Path, "/home/"):
			w.Write(schemaDoc(mustKey(t, keyA)))
		default:
			http.NotFound(w, r)
		}
	}))
	defer repo.Close()
	key := mustKey(t, keyA)
	fetch := func(base string, opts IgluOptions) error {
		g, err := NewIglu(base, opts)
		if err != nil {
			t.Fatal(err)
		}
		_, err = g.Fetch(context.Background(), key)
		return err
	}

	if err := fetch(repo.URL+"/loop", IgluOptions{}); err == nil || !strings.Contains(err.Error(), "stopped after 5 redirects") {
		t.Errorf("a redirect loop: %v", err)
	}
	if err := fetch(repo.URL+"/moved", IgluOptions{API: true, APIKey: "k-123"}); err != nil {
		t.Errorf("a redirect within the repository's host, with a key: %v", err)
	}
	if err := fetch(repo.URL+"/away", IgluOptions{}); err != nil {
		t.Errorf("a static repository redirecting to a mirror, without a key: %v", err)
	}
	err := fetch(repo.URL+"/away", IgluOptions{API: true, APIKey: "k-123"})
	if err == nil || !strings.Contains(err.Error(), "the api key is sent only to") {
		t.Errorf("a redirect to another host, with a key: %v", err)
	}
	if strings.Contains(err.Error(), "k-123") {
		t.Errorf("the error names the key: %v", err)
	}
	// An https repository is not followed down to http, where the key
	// would cross the network in the clear.
	tlsRepo := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+r.Host+r.URL.Path, http.StatusFound)
	}))
	defer tlsRepo.Close()
	if err := fetch(tlsRepo.URL, IgluOptions{API: true, APIKey: "k-123", Client: tlsRepo.Client()}); err == nil || !strings.Contains(err.Error(), "the api key is sent only to https://") {
		t.Errorf("a redirect from https to http, with a key: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(elsewhereKeys) != 1 || elsewhereKeys[0] != "" {
		t.Errorf("the other host got requests with apikey %q; want one request (the keyless one) without a key", elsewhereKeys)
	}
}
