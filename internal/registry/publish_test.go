package registry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/accord-events/accord/internal/contract"
)

func TestPublisher(t *testing.T) {
	held := map[string]string{}
	var mu sync.Mutex
	var puts int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("apikey") != "k" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"the API key is not one of contracts.api_keys"}`)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		switch r.Method {
		case http.MethodGet:
			doc, ok := held[r.URL.Path]
			if !ok {
				http.NotFound(w, r)
				return
			}
			_, _ = io.WriteString(w, doc)
		case http.MethodPut:
			puts++
			if _, ok := held[r.URL.Path]; ok {
				w.WriteHeader(http.StatusConflict)
				_, _ = io.WriteString(w, `{"error":"already exists with another document"}`)
				return
			}
			b, _ := io.ReadAll(r.Body)
			held[r.URL.Path] = string(b)
			w.WriteHeader(http.StatusCreated)
		}
	}))
	defer srv.Close()
	c := mustCompile(t, mustKey(t, "iglu:com.acme/order/jsonschema/1-0-0"), "test")
	p := &Publisher{Base: srv.URL, Key: "k"}
	ctx := context.Background()

	if out, err := p.Publish(ctx, c); err != nil || !out.Created || out.Refused != nil {
		t.Fatalf("first publish: %+v, %v; want created", out, err)
	}
	if out, err := p.Publish(ctx, c); err != nil || out.Created || out.Refused != nil || puts != 1 {
		t.Fatalf("second publish: %+v, %v, %d PUTs; want unchanged without a PUT", out, err, puts)
	}
	other := mustCompile(t, mustKey(t, "iglu:com.acme/order/jsonschema/1-0-0"), "test")
	other.Document = append([]byte(nil), `{"changed": true}`...)
	if out, err := p.Publish(ctx, other); err != nil || out.Refused == nil || out.Refused.Status != "409 Conflict" || out.Refused.Reason() != "already exists with another document" {
		t.Fatalf("a changed document: %+v, %v; want the 409 and its reason", out, err)
	}
	bad := &Publisher{Base: srv.URL, Key: "nope"}
	if out, err := bad.Publish(ctx, c); err != nil || out.Refused == nil || out.Refused.Status != "401 Unauthorized" {
		t.Fatalf("a wrong key: %+v, %v; want 401", out, err)
	}
}

func TestSortForPublishing(t *testing.T) {
	var cs []*contract.Contract
	for _, k := range []string{"b/x/jsonschema/1-0-10", "a/y/jsonschema/1-0-0", "b/x/jsonschema/1-0-2", "b/x/jsonschema/1-0-0"} {
		cs = append(cs, mustCompile(t, mustKey(t, "iglu:com."+k), "test"))
	}
	SortForPublishing(cs)
	var got []string
	for _, c := range cs {
		got = append(got, c.Key.Path())
	}
	want := []string{"com.a/y/jsonschema/1-0-0", "com.b/x/jsonschema/1-0-0", "com.b/x/jsonschema/1-0-2", "com.b/x/jsonschema/1-0-10"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order %v; want %v", got, want)
		}
	}
}
