package server_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/pipeline"
	"github.com/accord-events/accord/internal/protocol"
	"github.com/accord-events/accord/internal/protocol/selfdesc"
	"github.com/accord-events/accord/internal/server"
)

// Requests with a body in flight stay within server.max_requests_in_flight,
// however small their bodies: one more waits for a slot and is answered
// 503 with Retry-After, nothing of it stored, when none frees in time;
// requests without a body are not held up; a slot given back lets the
// next one in.
func TestRequestsInFlightBounded(t *testing.T) {
	contracts, problems, err := contract.LoadDir("../scaffold/template/contracts")
	if err != nil || len(problems) > 0 {
		t.Fatal(err, problems)
	}
	cfg := server.DefaultOptions()
	cfg.MaxRequestsInFlight = 2
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	held := &holder{begun: make(chan struct{}, 16), release: make(chan struct{})}
	p := pipeline.New(contract.NewSet(contracts), event.Collector{Name: "accord", Version: "test", Env: "test", Host: "h"}, "default")
	eps := []protocol.Endpoint{{Path: "/events", Protocol: selfdesc.Name, Decode: protocol.Plain(selfdesc.Decode)},
		{Path: "/i", Protocol: selfdesc.Name, Methods: []string{http.MethodGet}, Decode: protocol.Plain(selfdesc.Decode)}}
	srv := server.New(cfg, p, held, eps, slog.New(slog.DiscardHandler))
	server.SetInFlightWait(srv, 100*time.Millisecond)
	h := srv.Handler()

	body := []byte(pageView + "\n")
	first, second := post(h, body), post(h, body)
	<-held.begun
	<-held.begun
	// Two small requests are in flight: a third waits, then is refused.
	var third *httptest.ResponseRecorder
	select {
	case third = <-post(h, body):
	case <-held.begun:
		t.Fatal("a third request went in beyond max_requests_in_flight")
	}
	if third.Code != http.StatusServiceUnavailable || third.Header().Get("Retry-After") == "" ||
		!strings.Contains(third.Body.String(), "server.max_requests_in_flight") {
		t.Fatalf("third request: %d (Retry-After %q) %s; want 503 naming server.max_requests_in_flight", third.Code, third.Header().Get("Retry-After"), third.Body)
	}
	if n := held.stored.Load(); n != 0 {
		t.Fatalf("%d records stored before any request was let go", n)
	}
	// A request without a body takes no slot: it reaches the store.
	get := make(chan *httptest.ResponseRecorder, 1)
	go func() { get <- do(h, http.MethodGet, "/i", nil) }()
	select {
	case <-held.begun:
	case <-time.After(5 * time.Second):
		t.Fatal("a request without a body waited for a slot")
	}
	for range 3 {
		held.release <- struct{}{}
	}
	<-get
	for _, c := range []<-chan *httptest.ResponseRecorder{first, second} {
		if w := <-c; w.Code != http.StatusOK {
			t.Fatalf("a request in flight: %d %s", w.Code, w.Body)
		}
	}
	// Their slots are back: the next request goes in.
	next := post(h, body)
	<-held.begun
	held.release <- struct{}{}
	if w := <-next; w.Code != http.StatusOK {
		t.Fatalf("a request once the slots were back: %d %s", w.Code, w.Body)
	}
}
