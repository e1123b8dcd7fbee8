package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/protocol"
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
	srv, h := newHeld(t, maxBody, maxInFlight, wait)
	return srv.Handler(), h
}

// newHeld is newHeldServer's server itself, for server.RoomHeld.
func newHeld(t *testing.T, maxBody, maxInFlight int64, wait time.Duration) (*server.Server, *holder) {
	t.Helper()
	cfg := server.DefaultOptions()
	cfg.MaxBodyBytes, cfg.MaxBytesInFlight = maxBody, maxInFlight
	return newHeldWith(t, cfg, wait)
}

// newHeldWith is a server of cfg over a holder, serving POST /events and
// the endpoints given, whose waits for room and slots last wait.
func newHeldWith(t *testing.T, cfg server.Options, wait time.Duration, endpoints ...protocol.Endpoint) (*server.Server, *holder) {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	h := &holder{begun: make(chan struct{}, 16), release: make(chan struct{})}
	srv := serverOver(t, cfg, h, endpoints...)
	server.SetInFlightWait(srv, wait)
	return srv, h
}

// thirdRefused posts body twice and, once both are held in the store,
// a third time: the third must be answered 503 with Retry-After, naming
// key, without reaching the store. It returns the first two's answers.
func thirdRefused(t *testing.T, h http.Handler, held *holder, body []byte, key string) (first, second <-chan *httptest.ResponseRecorder) {
	t.Helper()
	first, second = post(h, body), post(h, body)
	<-held.begun
	<-held.begun
	var third *httptest.ResponseRecorder
	select {
	case third = <-post(h, body):
	case <-held.begun:
		t.Fatalf("a third request went in beyond %s", key)
	}
	if third.Code != http.StatusServiceUnavailable || third.Header().Get("Retry-After") == "" ||
		!strings.Contains(third.Body.String(), key) {
		t.Fatalf("third request: %d (Retry-After %q) %s; want 503 naming %s", third.Code, third.Header().Get("Retry-After"), third.Body, key)
	}
	return first, second
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
	// Two bodies of about 3.5 KB are in flight: a third does not fit.
	body := lines(3500)
	first, second := thirdRefused(t, h, held, body, "server.max_bytes_in_flight")
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
// whose limit is on the decompressed bytes) reserves a first step before
// it is read: all of max_body_bytes when that is less than a step.
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

// letThrough lets every request held's Deliver holds go on at once.
func letThrough(t *testing.T, held *holder) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range held.begun {
			held.release <- struct{}{}
		}
	}()
	t.Cleanup(func() {
		close(held.begun)
		<-done
	})
}

func gzipped(b []byte) []byte {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return gz.Bytes()
}

// unknownSize is a request whose body's size is not known before it is
// read: chunked, or gzip-compressed.
func unknownSize(ctx context.Context, body io.Reader, gzipped bool) *http.Request {
	r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/events", body)
	r.ContentLength = -1
	r.Header.Set("Content-Type", "application/x-ndjson")
	if gzipped {
		r.Header.Set("Content-Encoding", "gzip")
	}
	return r
}

// serve serves r in the background.
func serve(h http.Handler, r *http.Request) <-chan *httptest.ResponseRecorder {
	done := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		done <- w
	}()
	return done
}

const kib = 1 << 10

// Small bodies of unknown size reserve what they hold, not
// max_body_bytes each: sixteen at once fit in twice max_body_bytes,
// where two did when each reserved max_body_bytes and the others waited
// and were answered 503.
func TestBodiesInFlightManySmallOfUnknownSize(t *testing.T) {
	body := lines(1000)
	for _, gz := range []bool{false, true} {
		name := "chunked"
		if gz {
			name = "gzip"
		}
		t.Run(name, func(t *testing.T) {
			h, held := newHeldServer(t, 1<<20, 2<<20, 200*time.Millisecond)
			answered := make(chan *httptest.ResponseRecorder, 16)
			for range 16 {
				b := body
				if gz {
					b = gzipped(body)
				}
				go func() { answered <- <-serve(h, unknownSize(context.Background(), bytes.NewReader(b), gz)) }()
			}
			for i := range 16 {
				select {
				case <-held.begun:
				case w := <-answered:
					t.Fatalf("%d small %s bodies in flight, the next answered %d %s; want all 16 in at once", i, name, w.Code, w.Body)
				}
			}
			for range 16 {
				held.release <- struct{}{}
			}
			for range 16 {
				if w := <-answered; w.Code != http.StatusOK {
					t.Fatalf("request: %d %s", w.Code, w.Body)
				}
			}
			if got, want := held.stored.Load(), int64(16*bytes.Count(body, []byte("\n"))); got != want {
				t.Fatalf("stored %d records, want %d", got, want)
			}
		})
	}
}

// A chunked body is read while it has room, a step at a time; one that
// grows past the room left waits for more and, when none comes in time,
// is answered 503 with Retry-After, nothing of it stored; one whose client
// leaves while it waits is answered nothing. Either way its room is given
// back.
func TestBodiesInFlightGrowingPastTheRoom(t *testing.T) {
	for _, tc := range []struct {
		name  string
		leave bool
	}{{"no room in time", false}, {"client gone while it waits", true}} {
		t.Run(tc.name, func(t *testing.T) {
			srv, held := newHeld(t, 256*kib, 256*kib, 300*time.Millisecond)
			h := srv.Handler()
			// 150 KiB held (a line that is not JSON: one failed record):
			// 106 KiB left.
			first := post(h, bytes.Repeat([]byte("x"), 150*kib))
			<-held.begun
			pr, pw := io.Pipe()
			defer pr.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			growing := serve(h, unknownSize(ctx, pr, false))
			wrote := make(chan error, 1)
			go func() {
				_, err := pw.Write(bytes.Repeat([]byte("y"), 60*kib))
				wrote <- err
			}()
			select {
			case err := <-wrote:
				if err != nil {
					t.Fatal(err)
				}
			case w := <-growing:
				t.Fatalf("a chunked body whose first 60 KiB fit in the room left was answered %d %s before they were read", w.Code, w.Body)
			case <-time.After(5 * time.Second):
				t.Fatal("the first 60 KiB of a chunked body were not read though they fit in the room left")
			}
			if got := server.RoomHeld(srv); got != 150*kib+64*kib {
				t.Errorf("room held with 60 KiB of the chunked body read: %d, want %d (its first step of 64 KiB)", got, 150*kib+64*kib)
			}
			// Its next 60 KiB need a second step, of 64 KiB: 42 KiB are left.
			go func() { _, _ = pw.Write(bytes.Repeat([]byte("y"), 60*kib)) }()
			if tc.leave {
				time.Sleep(100 * time.Millisecond)
				cancel()
			}
			select {
			case w := <-growing:
				switch {
				case tc.leave && w.Body.Len() != 0:
					t.Fatalf("a request whose client left was answered %d %s", w.Code, w.Body)
				case !tc.leave && (w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "server.max_bytes_in_flight")):
					t.Fatalf("a chunked body growing past the room: %d (Retry-After %q) %s; want 503 naming server.max_bytes_in_flight", w.Code, w.Header().Get("Retry-After"), w.Body)
				}
			case <-held.begun:
				t.Fatal("a chunked body growing past the room was delivered")
			case <-time.After(5 * time.Second):
				t.Fatal("a chunked body growing past the room waited longer than its wait")
			}
			pr.CloseWithError(io.ErrClosedPipe)
			if got := server.RoomHeld(srv); got != 150*kib {
				t.Errorf("room held once the chunked body was answered: %d, want %d (the first request's)", got, 150*kib)
			}
			held.release <- struct{}{}
			if w := <-first; w.Code != http.StatusOK {
				t.Fatalf("first request: %d %s", w.Code, w.Body)
			}
			if got, want := held.stored.Load(), int64(1); got != want {
				t.Fatalf("stored %d records, want %d (the first request's; nothing of the refused one)", got, want)
			}
			if got := server.RoomHeld(srv); got != 0 {
				t.Errorf("room held once every request was answered: %d", got)
			}
		})
	}
}

// A body of unknown size holds room for what it has read, in steps of
// 64 KiB or as much again as it holds, not max_body_bytes, and gives all
// of it back however it is answered.
func TestBodiesInFlightGrowingGivenBack(t *testing.T) {
	oneLine := bytes.Repeat([]byte("x"), 150*kib) // not JSON: one failed record
	over := bytes.Repeat([]byte("x"), 1<<20)      // and this, past max_body_bytes
	for _, tc := range []struct {
		name string
		gzip bool
		raw  bool // sent as is although it says gzip
		// corrupt: rest is sent as is after the first part, gzip-compressed
		corrupt bool
		rest    []byte
		err     error // the client's end of the body
		status  int
	}{
		{name: "chunked, over max_body_bytes", rest: over, status: http.StatusRequestEntityTooLarge},
		{name: "gzip, over max_body_bytes once decompressed", gzip: true, rest: over, status: http.StatusRequestEntityTooLarge},
		{name: "chunked, a line that is not JSON", rest: []byte("y"), status: http.StatusOK},
		{name: "gzip, a line that is not JSON", gzip: true, rest: []byte("y"), status: http.StatusOK},
		{name: "gzip, not gzip", gzip: true, raw: true, status: http.StatusBadRequest},
		{name: "gzip, corrupt after its first part", gzip: true, corrupt: true, rest: oneLine, status: http.StatusBadRequest},
		{name: "chunked, the client's connection lost", err: io.ErrUnexpectedEOF, status: http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, held := newHeld(t, 1<<20, 2<<20, 300*time.Millisecond)
			letThrough(t, held)
			pr, pw := io.Pipe()
			defer pr.Close()
			answered := serve(srv.Handler(), unknownSize(context.Background(), pr, tc.gzip))
			seen := make(chan struct{})
			var once sync.Once
			see := func() { once.Do(func() { close(seen) }) }
			defer see()
			go func() {
				var dst io.Writer = pw
				var zw *gzip.Writer
				if tc.gzip && !tc.raw {
					zw = gzip.NewWriter(pw)
					dst = zw
				}
				_, _ = dst.Write(oneLine)
				if zw != nil {
					_ = zw.Flush()
				}
				<-seen // read, and its room seen, before the rest is sent
				if tc.corrupt {
					dst, zw = pw, nil
				}
				_, _ = dst.Write(tc.rest)
				if zw != nil {
					_ = zw.Close()
				}
				pw.CloseWithError(tc.err)
			}()
			for deadline := time.Now().Add(5 * time.Second); server.RoomHeld(srv) != 256*kib; {
				if time.Now().After(deadline) {
					t.Fatalf("room held with 150 KiB of the body read: %d, want %d (64 KiB, 64 more, then 128 more)", server.RoomHeld(srv), 256*kib)
				}
				time.Sleep(time.Millisecond)
			}
			see()
			w := <-answered
			if w.Code != tc.status {
				t.Fatalf("answered %d %s, want %d", w.Code, w.Body, tc.status)
			}
			if got := server.RoomHeld(srv); got != 0 {
				t.Fatalf("room held once answered: %d, want 0", got)
			}
		})
	}
}

// Bodies of unknown size that fill the room together and each wait for
// more do not wait out their wait: the youngest is answered 503 at once,
// nothing of it stored, and gives its room back to the older ones, which
// go on.
func TestBodiesInFlightAllWaitingToGrow(t *testing.T) {
	srv, held := newHeld(t, 256*kib, 256*kib, time.Minute)
	letThrough(t, held)
	h := srv.Handler()
	type request struct {
		pw       *io.PipeWriter
		answered <-chan *httptest.ResponseRecorder
	}
	var requests []request
	for i := range 4 {
		pr, pw := io.Pipe()
		defer pr.Close()
		requests = append(requests, request{pw, serve(h, unknownSize(context.Background(), pr, false))})
		// Its first 60 KiB in its first step of 64 KiB, before the next
		// request begins: the first is the oldest.
		if _, err := pw.Write(bytes.Repeat([]byte("x"), 60*kib)); err != nil {
			t.Fatal(err)
		}
		if got := server.RoomHeld(srv); got != int64(i+1)*64*kib {
			t.Fatalf("room held by %d bodies of 60 KiB: %d, want %d", i+1, got, (i+1)*64*kib)
		}
	}
	// The room is full: each body's next 40 KiB need 64 KiB more.
	start := time.Now()
	for _, r := range requests {
		go func() {
			_, _ = r.pw.Write(bytes.Repeat([]byte("x"), 40*kib))
			_ = r.pw.Close()
		}()
	}
	var codes []int
	for _, r := range requests {
		select {
		case w := <-r.answered:
			codes = append(codes, w.Code)
		case <-time.After(10 * time.Second):
			t.Fatalf("answers so far %v: the others wait", codes)
		}
	}
	if want := []int{200, 200, 200, 503}; !slices.Equal(codes, want) {
		t.Errorf("answers, oldest first: %v, want %v", codes, want)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("answered after %v, with a wait of a minute", waited)
	}
	if got := held.stored.Load(); got != 3 {
		t.Errorf("stored %d records, want 3 (one a body answered 200)", got)
	}
	if got := server.RoomHeld(srv); got != 0 {
		t.Errorf("room held once every request was answered: %d", got)
	}
}
