package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/pipeline"
	"github.com/accord-events/accord/internal/protocol"
	"github.com/accord-events/accord/internal/protocol/selfdesc"
	"github.com/accord-events/accord/internal/server"
)

// holder stands in for a slow store: each Deliver says it has begun and
// waits to be let go, so that a test holds requests in flight.
type holder struct {
	begun   chan struct{}
	release chan struct{}
	stored  atomic.Int64
}

func (h *holder) Deliver(ctx context.Context, records []*event.Envelope) error {
	h.begun <- struct{}{}
	select {
	case <-h.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	h.stored.Add(int64(len(records)))
	return nil
}

func newHeldServer(t *testing.T, maxBody, maxInFlight int64, wait time.Duration) (http.Handler, *holder) {
	t.Helper()
	contracts, problems, err := contract.LoadDir("../scaffold/template/contracts")
	if err != nil || len(problems) > 0 {
		t.Fatal(err, problems)
	}
	cfg := server.DefaultOptions()
	cfg.MaxBodyBytes, cfg.MaxBytesInFlight = maxBody, maxInFlight
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	h := &holder{begun: make(chan struct{}, 16), release: make(chan struct{})}
	p := pipeline.New(contract.NewSet(contracts), event.Collector{Name: "accord", Version: "test", Env: "test", Host: "h"}, "default")
	eps := []protocol.Endpoint{{Path: "/events", Protocol: selfdesc.Name, Decode: protocol.Plain(selfdesc.Decode)}}
	srv := server.New(cfg, p, h, eps, slog.New(slog.DiscardHandler))
	server.SetInFlightWait(srv, wait)
	return srv.Handler(), h
}

// lines is an NDJSON body of page views of about n bytes.
func lines(n int) []byte {
	return []byte(strings.Repeat(pageView+"\n", n/(len(pageView)+1)))
}

func post(h http.Handler, body []byte, headers ...string) <-chan *httptest.ResponseRecorder {
	done := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		done <- do(h, http.MethodPost, "/events", body, append([]string{"Content-Type", "application/x-ndjson"}, headers...)...)
	}()
	return done
}

// Bodies in flight stay within server.max_bytes_in_flight: a request that
// would pass it waits, and is answered 503 with Retry-After, nothing of it
// stored, when no room comes in time.
func TestBodiesInFlightBounded(t *testing.T) {
	h, held := newHeldServer(t, 4096, 8192, 100*time.Millisecond)
	body := lines(3500)
	first, second := post(h, body), post(h, body)
	<-held.begun
	<-held.begun
	// Two bodies of about 3.5 KB are in flight: a third does not fit.
	var third *httptest.ResponseRecorder
	select {
	case third = <-post(h, body):
	case <-held.begun:
		t.Fatal("a third body went in beyond max_bytes_in_flight")
	}
	if third.Code != http.StatusServiceUnavailable || third.Header().Get("Retry-After") == "" ||
		!strings.Contains(third.Body.String(), "server.max_bytes_in_flight") {
		t.Fatalf("third request: %d (Retry-After %q) %s; want 503 naming server.max_bytes_in_flight", third.Code, third.Header().Get("Retry-After"), third.Body)
	}
	// Routes other than the collection ones are not held up.
	if w := do(h, http.MethodGet, "/healthz", nil); w.Code != http.StatusOK {
		t.Fatalf("GET /healthz while full: %d", w.Code)
	}
	held.release <- struct{}{}
	held.release <- struct{}{}
	for _, c := range []<-chan *httptest.ResponseRecorder{first, second} {
		if w := <-c; w.Code != http.StatusOK {
			t.Fatalf("request: %d %s", w.Code, w.Body)
		}
	}
	if got, want := held.stored.Load(), int64(2*bytes.Count(body, []byte("\n"))); got != want {
		t.Fatalf("stored %d records, want %d (nothing of the refused request)", got, want)
	}
}

// A request that waits for room goes in once a request ahead of it is
// answered.
func TestBodiesInFlightWait(t *testing.T) {
	h, held := newHeldServer(t, 4096, 8192, time.Minute)
	body := lines(3500)
	first, second := post(h, body), post(h, body)
	<-held.begun
	<-held.begun
	third := post(h, body)
	select {
	case w := <-third:
		t.Fatalf("third request answered %d while two bodies filled the room", w.Code)
	case <-held.begun:
		t.Fatal("third request delivered while two bodies filled the room")
	case <-time.After(50 * time.Millisecond):
	}
	// One of the two is let go (whichever Deliver takes it).
	held.release <- struct{}{}
	<-held.begun // the third, now in
	held.release <- struct{}{}
	held.release <- struct{}{}
	for _, c := range []<-chan *httptest.ResponseRecorder{first, second, third} {
		if w := <-c; w.Code != http.StatusOK {
			t.Fatalf("request: %d %s", w.Code, w.Body)
		}
	}
}

// A body whose size is not known before it is read (chunked, or gzip,
// whose limit is on the decompressed bytes) reserves max_body_bytes.
func TestBodiesInFlightUnknownSize(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(lines(1000))
	_ = zw.Close()
	for _, tc := range []struct {
		name    string
		req     func() *http.Request
		headers []string
	}{
		{"chunked", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/events", io.MultiReader(bytes.NewReader(lines(1000))))
			r.ContentLength = -1
			return r
		}, nil},
		{"gzip", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/events", bytes.NewReader(gz.Bytes()))
			r.Header.Set("Content-Encoding", "gzip")
			return r
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, held := newHeldServer(t, 4096, 6000, 200*time.Millisecond)
			done := make(chan int, 1)
			go func() {
				r := tc.req()
				r.Header.Set("Content-Type", "application/x-ndjson")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				done <- w.Code
			}()
			<-held.begun
			// 4096 reserved of 6000: a 2 KB body does not fit beside it.
			if w := <-post(h, lines(2000)); w.Code != http.StatusServiceUnavailable {
				t.Fatalf("a 2 KB body beside one of unknown size: %d %s; want 503", w.Code, w.Body)
			}
			// A 1.5 KB body does.
			small := post(h, lines(1500))
			<-held.begun
			held.release <- struct{}{}
			held.release <- struct{}{}
			if code := <-done; code != http.StatusOK {
				t.Fatalf("the %s request: %d", tc.name, code)
			}
			if w := <-small; w.Code != http.StatusOK {
				t.Fatalf("the small request: %d %s", w.Code, w.Body)
			}
		})
	}
}

// Room is given back however a request ends: refused as too large, its
// events failed, or its client gone while it waited. A body of
// max_bytes_in_flight then still goes in without waiting (a leak would
// make it wait, and with no wait allowed, be refused).
func TestBodiesInFlightGivenBack(t *testing.T) {
	h, held := newHeldServer(t, 4096, 4096, time.Nanosecond)
	// A refused request's record (size_violation, payload_format_violation)
	// is stored too: let each one through.
	go func() {
		for range 6 {
			<-held.begun
			held.release <- struct{}{}
		}
	}()
	for i := range 3 {
		if w := do(h, http.MethodPost, "/events", bytes.Repeat([]byte("x"), 5000), "Content-Type", "application/x-ndjson"); w.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("oversized body %d: %d", i, w.Code)
		}
		// Answered 200, its line stored as a failed record.
		if w := do(h, http.MethodPost, "/events", []byte("{not json"), "Content-Type", "application/x-ndjson"); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"failed":1`) {
			t.Fatalf("a line that is not JSON, %d: %d %s", i, w.Code, w.Body)
		}
	}
	// A client that leaves while its request waits: the request gives
	// up, answers nothing, and holds no room after.
	first := post(h, lines(4000))
	<-held.begun
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequest(http.MethodPost, "/events", bytes.NewReader(lines(1000))).WithContext(ctx)
	r.Header.Set("Content-Type", "application/x-ndjson")
	left := httptest.NewRecorder()
	h.ServeHTTP(left, r)
	if left.Body.Len() != 0 {
		t.Fatalf("a request whose client left was answered %d %s", left.Code, left.Body)
	}
	held.release <- struct{}{}
	if w := <-first; w.Code != http.StatusOK {
		t.Fatalf("first request: %d %s", w.Code, w.Body)
	}
	full := post(h, lines(4090))
	<-held.begun
	held.release <- struct{}{}
	if w := <-full; w.Code != http.StatusOK {
		t.Fatalf("a body of max_bytes_in_flight after the others: %d %s; room was not given back", w.Code, w.Body)
	}
}
