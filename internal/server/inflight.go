package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sync/semaphore"
)

// Request bodies in flight. A request's body, the records decoded from it
// and their spool frames are held while it is handled, a few times the
// body's size. Without a bound, the memory the collector takes grows with
// the number of clients sending at once: a thousand connections each
// sending a body of max_body_bytes would hold gigabytes. So the bodies
// read and handled at once are bounded by server.max_bytes_in_flight: a
// request reserves its size before its body is read, and waits for room.

// inFlightWait is how long a request waits for room among the bodies in
// flight before it is answered 503: long enough for the requests ahead of
// it to be handled, short enough that a client hears of it well within its
// own timeout.
const inFlightWait = 5 * time.Second

// errBusy is the error of a request that found no room in time.
var errBusy = errors.New("too many request bodies in flight")

// bodyRoom bounds the bytes of request bodies being handled at once.
type bodyRoom struct {
	sem     *semaphore.Weighted
	max     int64
	maxBody int64
	wait    time.Duration
}

// newBodyRoom bounds bodies to maxBytes; 0 bounds nothing (Options built
// by hand, without DefaultOptions; Validate refuses less than maxBody).
func newBodyRoom(maxBytes, maxBody int64) *bodyRoom {
	return &bodyRoom{sem: semaphore.NewWeighted(maxBytes), max: maxBytes, maxBody: maxBody, wait: inFlightWait}
}

// weight is what a request reserves: its announced length, or
// max_body_bytes when its length is not announced (chunked) or its body is
// compressed (max_body_bytes bounds the body after decompression). A body
// announced larger than max_body_bytes is refused after reading its first
// KiB, so it reserves that. A request without a body reserves nothing.
func (room *bodyRoom) weight(r *http.Request) int64 {
	enc := strings.TrimSpace(r.Header.Get("Content-Encoding"))
	switch {
	case r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody:
		return 0
	case r.ContentLength > room.maxBody:
		return keptOfOversized
	case enc != "" && !strings.EqualFold(enc, "identity"), r.ContentLength < 0:
		return room.maxBody
	}
	return r.ContentLength
}

// reserve waits for room for r's body, at most room.wait or until r's client
// leaves. It returns the bytes reserved, to give back with release once
// the request is answered, or errBusy, or the request context's error.
// (Not a closure to call: one would be allocated for every request.)
func (room *bodyRoom) reserve(r *http.Request) (int64, error) {
	n := min(room.weight(r), room.max)
	if n == 0 || room.sem.TryAcquire(n) {
		return n, nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), room.wait)
	err := room.sem.Acquire(ctx, n)
	cancel()
	switch {
	case err == nil:
		return n, nil
	case r.Context().Err() != nil:
		return 0, r.Context().Err()
	}
	return 0, errBusy
}

// release gives back n bytes reserve reserved.
func (room *bodyRoom) release(n int64) {
	if n > 0 {
		room.sem.Release(n)
	}
}

// busy answers a request that found no room among the bodies in flight:
// nothing of it was read, so nothing is stored, and the client should
// send it again.
func (s *Server) busy(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		s.log.Debug("client left while its request waited for room among the bodies in flight", "request_id", requestID(r), "err", err)
		return
	}
	// Load, not a fault: warn now and then, not per request.
	if now := time.Now().UnixNano(); now-s.busyLoggedAt.Load() > int64(fullLogEvery) {
		s.busyLoggedAt.Store(now)
		s.log.Warn("server.max_bytes_in_flight reached: answering 503 to requests that wait longer than "+inFlightWait.String(),
			"max_bytes_in_flight", s.bodies.max)
	}
	w.Header().Set("Retry-After", retryAfterSeconds)
	writeError(w, r, http.StatusServiceUnavailable, errorBody{Error: "the collector is handling as many request bodies as server.max_bytes_in_flight allows and found no room for this one within " +
		inFlightWait.String() + "; nothing was accepted, send it again later"})
}
