package server_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

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
	cfg := server.DefaultOptions()
	cfg.MaxRequestsInFlight = 2
	srv, held := newHeldWith(t, cfg, 100*time.Millisecond,
		protocol.Endpoint{Path: "/i", Protocol: selfdesc.Name, Methods: []string{http.MethodGet}, Decode: protocol.Plain(selfdesc.Decode)})
	h := srv.Handler()
	body := []byte(pageView + "\n")
	// Two small requests are in flight: a third waits, then is refused.
	first, second := thirdRefused(t, h, held, body, "server.max_requests_in_flight")
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
