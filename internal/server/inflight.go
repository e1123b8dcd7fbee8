package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/accord-events/accord/internal/web"
)

// Request bodies in flight. A request's body, the records decoded from it
// and their spool frames are held while it is handled, a few times the
// body's size. Without a bound, the memory the collector takes grows with
// the number of clients sending at once: a thousand connections each
// sending a body of max_body_bytes would hold gigabytes. So the bodies
// read and handled at once are bounded by server.max_bytes_in_flight: a
// request reserves room for its body before it holds it, and waits for
// room.
//
// A body whose size is announced (Content-Length, not compressed)
// reserves it whole before it is read. One whose size is not known until
// it is read (chunked, or gzip, whose limit is on the decompressed bytes)
// reserves a first step of roomStep up front, then, each time what it has
// read fills what it reserved, as much again (at least roomStep, at most
// up to max_body_bytes): a small body holds little however it is sent,
// and a body holds at most twice what it has read. Each step waits for
// room within what is left of the same wait.
//
// Bodies of unknown size can then fill the room together and each wait
// for more, none giving any back: without more, each would wait out its
// wait. When every byte reserved is held by a body waiting to grow, the
// youngest of them is answered 503 at once and gives its room back, and so
// on until the oldest can go on (take). No request waits longer than
// inFlightWait, none waits on a room that cannot come, and the requests
// that have read the most are the ones that go on.

// inFlightWait is how long a request waits for room among the bodies in
// flight before it is answered 503: long enough for the requests ahead of
// it to be handled, short enough that a client hears of it well within its
// own timeout.
const inFlightWait = 5 * time.Second

// roomStep is the least room a body of unknown size reserves at a time:
// what the buffer of an announced body is sized for up front
// (presizedBody), so that a flood of small compressed bodies takes about
// what the same bodies announced would.
const roomStep = 64 << 10

// errBusy is the error of a request that found no room in time.
var errBusy = errors.New("too many request bodies in flight")

// hasBody reports whether r may carry a body: one that does not (a GET)
// takes neither room among the bodies nor a slot among the requests.
func hasBody(r *http.Request) bool {
	return r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody
}

// bodyRoom bounds the bytes of request bodies being handled at once.
type bodyRoom struct {
	max     int64
	maxBody int64
	wait    time.Duration

	mu sync.Mutex
	// used is the room reserved.
	used int64
	// waiting are the requests waiting for room, in the order they get
	// it: first the bodies of unknown size waiting to grow, the oldest
	// request first, then the requests waiting for their first room,
	// first come first served. The bodies waiting to grow are the first
	// growers of waiting, and hold heldWaiting meanwhile.
	waiting     []*waiter
	growers     int
	heldWaiting int64
	// givingBack is the room of the bodies that gave up theirs for an
	// older body's, until their requests are answered and release it.
	givingBack int64
}

// waiter is a request waiting for room.
type waiter struct {
	n int64
	// held is what a body waiting to grow holds meanwhile, and until the
	// end of its request's wait: the earlier, the older the request.
	held  int64
	until time.Time
	// ready receives nil once n is reserved for it, or errBusy when it
	// is to give up its room for an older body's.
	ready chan error
}

// newBodyRoom bounds bodies to maxBytes; 0 bounds nothing (Options built
// by hand, without DefaultOptions; Validate refuses less than maxBody).
func newBodyRoom(maxBytes, maxBody int64) *bodyRoom {
	return &bodyRoom{max: maxBytes, maxBody: maxBody, wait: inFlightWait}
}

// hold is the room one request holds among the bodies in flight.
type hold struct {
	// n is the bytes reserved.
	n int64
	// until, when not zero, is when a body of unknown size stops waiting
	// for room to grow into: its size was not known, and it reserves
	// more as it is read (readGrowing).
	until time.Time
	// gaveUp says it gave up its room for an older body's (take): the
	// room is counted as on its way back until it is released.
	gaveUp bool
}

// weight is what a request reserves before its body is read: its
// announced length, or a first step of roomStep (at most max_body_bytes)
// when its length is not announced (chunked) or its body is compressed
// (max_body_bytes bounds the body after decompression), growing says.
// A body announced larger than max_body_bytes is refused after reading
// its first KiB, so it reserves that. A request without a body reserves
// nothing.
func (room *bodyRoom) weight(r *http.Request) (n int64, growing bool) {
	enc := strings.TrimSpace(web.Header(r.Header, "Content-Encoding"))
	switch {
	case !hasBody(r):
		return 0, false
	case r.ContentLength > room.maxBody:
		return keptOfOversized, false
	case enc != "" && !strings.EqualFold(enc, "identity"), r.ContentLength < 0:
		return min(roomStep, room.maxBody), true
	}
	return r.ContentLength, false
}

// reserve waits for room for r's body (or its first step), until the
// time until (zero: room.wait from now) or until r's client leaves. It
// returns what it reserved, to give back with release once the request
// is answered, or errBusy, or the request context's error.
// (Not a closure to call: one would be allocated for every request.)
func (room *bodyRoom) reserve(r *http.Request, until time.Time) (hold, error) {
	w, growing := room.weight(r)
	n := min(w, room.max)
	if n == 0 {
		return hold{}, nil
	}
	var h hold
	if until.IsZero() {
		until = time.Now().Add(room.wait)
	}
	if growing {
		h.until = until
	}
	if err := room.take(r.Context(), n, &h, until, false); err != nil {
		return hold{}, err
	}
	h.n = n
	return h, nil
}

// grow reserves one step more for h, waiting for it until h.until or
// until ctx ends; it returns errBusy or ctx's error when no room came.
// A hold of max_body_bytes (or of all the room) grows no more.
func (room *bodyRoom) grow(ctx context.Context, h *hold) error {
	n := min(max(roomStep, h.n), min(room.maxBody, room.max)-h.n)
	if n <= 0 {
		return nil
	}
	if err := room.take(ctx, n, h, h.until, true); err != nil {
		return err
	}
	h.n += n
	return nil
}

// take reserves n bytes for the request holding h, waiting for them
// until the time until or until ctx ends. A body growing goes before the
// requests waiting for their first room, the oldest request first: what
// it has read is held until it is answered, and it has read the most.
// When no room can come (settle), the youngest body waiting to grow gives
// up at once: take returns errBusy and marks h as giving its room back.
func (room *bodyRoom) take(ctx context.Context, n int64, h *hold, until time.Time, growing bool) error {
	room.mu.Lock()
	if room.used+n <= room.max && (len(room.waiting) == 0 || growing && room.growers == 0) {
		room.used += n
		room.mu.Unlock()
		return nil
	}
	w := &waiter{n: n, ready: make(chan error, 1)}
	if growing {
		w.held, w.until = h.n, until
		i := room.growers
		for i > 0 && room.waiting[i-1].until.After(until) {
			i--
		}
		room.waiting = slices.Insert(room.waiting, i, w)
		room.growers++
		room.heldWaiting += w.held
	} else {
		room.waiting = append(room.waiting, w)
	}
	room.settle()
	room.mu.Unlock()

	timer := time.NewTimer(time.Until(until))
	defer timer.Stop()
	select {
	case err := <-w.ready:
		h.gaveUp = err != nil
		return err
	case <-ctx.Done():
	case <-timer.C:
	}
	room.mu.Lock()
	select {
	case err := <-w.ready:
		// Settled as it stopped waiting: give back what it was given.
		if err == nil {
			room.used -= n
			room.settle()
		}
		h.gaveUp = err != nil
	default:
		room.remove(slices.Index(room.waiting, w))
		room.settle()
	}
	room.mu.Unlock()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return errBusy
}

// settle gives room to the requests waiting for it, in their order, as
// long as the first fits. When it does not, and every byte reserved (but
// what is on its way back) is held by a body waiting to grow, none would
// give any back before its wait ran out: the youngest other body waiting
// to grow gives up its room, and so on until the first fits. A single
// body's growth always fits the room alone (grow), so this ends.
// room.mu is held.
func (room *bodyRoom) settle() {
	for len(room.waiting) > 0 {
		w := room.waiting[0]
		if room.used+w.n <= room.max {
			room.used += w.n
			room.remove(0)
			w.ready <- nil
			continue
		}
		// Only when every byte reserved (but what is on its way back)
		// is held by a body waiting to grow: until then, a request
		// being read or handled gives its room back in time.
		if room.growers < 2 || room.used-room.givingBack+w.n <= room.max || room.heldWaiting < room.used-room.givingBack {
			return
		}
		// Its room comes back when its request is answered (release).
		youngest := room.waiting[room.growers-1]
		room.remove(room.growers - 1)
		room.givingBack += youngest.held
		youngest.ready <- errBusy
	}
}

// remove takes waiting[i] out of the line. room.mu is held.
func (room *bodyRoom) remove(i int) {
	if i < room.growers {
		room.growers--
		room.heldWaiting -= room.waiting[i].held
	}
	room.waiting = slices.Delete(room.waiting, i, i+1)
}

// readGrowing reads src into buf, at most most bytes, with room reserved
// for what buf holds before it is read into it: each time buf holds all
// that h reserved, h grows (grow). It returns the error of reading src as
// readErr, or, when h found no room to grow into, errBusy or ctx's error
// as noRoom. A hold that does not grow (its size was known, or nothing
// is bounded) reads src as it is.
func (room *bodyRoom) readGrowing(ctx context.Context, h *hold, buf *bytes.Buffer, src io.Reader, most int64) (readErr, noRoom error) {
	if h.until.IsZero() {
		_, err := buf.ReadFrom(io.LimitReader(src, most))
		return err, nil
	}
	end := int64(buf.Len()) + most
	lr := io.LimitedReader{R: src}
	for {
		held := int64(buf.Len())
		if held >= end {
			return nil, nil
		}
		if held >= h.n {
			if noRoom := room.grow(ctx, h); noRoom != nil {
				return nil, noRoom
			}
		}
		// Up to what is reserved; past max_body_bytes, the byte that
		// tells a body over the limit from one at it.
		lr.N = end - held
		if h.n > held {
			lr.N = min(lr.N, h.n-held)
		}
		if _, err := buf.ReadFrom(&lr); err != nil {
			return err, nil
		}
		if lr.N > 0 {
			return nil, nil // src ended
		}
	}
}

// release gives back what h reserved.
func (room *bodyRoom) release(h *hold) {
	if h.n == 0 {
		return
	}
	room.mu.Lock()
	room.used -= h.n
	if h.gaveUp {
		room.givingBack -= h.n
	}
	if len(room.waiting) > 0 {
		room.settle()
	}
	room.mu.Unlock()
	h.n = 0
}

// Requests in flight. While it is decoded and processed a request holds,
// beside its body, its inputs, its records and their spool frames, some
// ten times its body in all (and its frames alone while it waits for the
// spool): the bytes of bodies alone let 256 connections sending 100-event
// requests of 26 KB take the collector to 250 MiB. So the
// requests with a body handled at once are bounded too, by
// server.max_requests_in_flight: a request takes a slot before its body
// is read (and before its room among the bodies), waiting for one within
// the same inFlightWait, and gives it back once answered.

// errTooManyRequests is the error of a request that found no free slot in
// time.
var errTooManyRequests = errors.New("too many requests in flight")

// requestSlots bounds the requests with a body handled at once.
type requestSlots struct {
	free chan struct{}
	wait time.Duration
}

// slotsPerCPU is the requests in flight a CPU takes by default: with 64
// on two cores, 32 connections of 100-event requests never wait for a
// slot, and 256 connections of them took the collector to 75-81 MiB
// rather than 250.
const slotsPerCPU = 32

// newRequestSlots bounds requests to n, 0 to slotsPerCPU for each CPU
// the Go runtime uses.
func newRequestSlots(n int) *requestSlots {
	if n <= 0 {
		n = slotsPerCPU * runtime.GOMAXPROCS(0)
	}
	return &requestSlots{free: make(chan struct{}, n), wait: inFlightWait}
}

// take takes a slot for r, waiting at most q.wait or until r's client
// leaves. A request without a body takes none (took false). until, when
// not zero, is when its wait for a slot ends, which its wait for room
// among the bodies ends with too.
func (q *requestSlots) take(r *http.Request) (took bool, until time.Time, err error) {
	if !hasBody(r) {
		return false, time.Time{}, nil
	}
	select {
	case q.free <- struct{}{}:
		return true, time.Time{}, nil
	default:
	}
	until = time.Now().Add(q.wait)
	timer := time.NewTimer(q.wait)
	defer timer.Stop()
	select {
	case q.free <- struct{}{}:
		return true, until, nil
	case <-r.Context().Done():
		return false, until, r.Context().Err()
	case <-timer.C:
		return false, until, errTooManyRequests
	}
}

// release gives back a slot take took.
func (q *requestSlots) release() { <-q.free }

// busy answers a request that found no room among the bodies in flight,
// or no free slot among the requests: nothing of it was read, so nothing
// is stored, and the client should send it again.
func (s *Server) busy(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		s.log.Debug("client left while its request waited for room among the bodies in flight", "request_id", requestID(r), "err", err)
		return
	}
	// Load, not a fault: warn now and then, not per request.
	if now := time.Now().UnixNano(); now-s.busyLoggedAt.Load() > int64(fullLogEvery) {
		s.busyLoggedAt.Store(now)
		if errors.Is(err, errTooManyRequests) {
			s.log.Warn("server.max_requests_in_flight reached: answering 503 to requests that wait longer than "+inFlightWait.String(),
				"max_requests_in_flight", cap(s.requests.free))
		} else {
			s.log.Warn("server.max_bytes_in_flight reached: answering 503 to requests that wait longer than "+inFlightWait.String(),
				"max_bytes_in_flight", s.bodies.max)
		}
	}
	w.Header().Set("Retry-After", retryAfterSeconds)
	what := "request bodies as server.max_bytes_in_flight allows and found no room for this one"
	if errors.Is(err, errTooManyRequests) {
		what = "requests as server.max_requests_in_flight allows and found no free slot for this one"
	}
	writeError(w, r, http.StatusServiceUnavailable, errorBody{Error: "the collector is handling as many " + what + " within " +
		inFlightWait.String() + "; nothing was accepted, send it again later"})
}
