package segment

import (
	"strings"
	"sync"
	"time"
)

// Dedup remembers the message ids seen lately, so that a message a client
// retried (Segment's libraries retry a batch whose answer they did not get)
// is recorded once. It is safe for concurrent use.
//
// Memory is bounded: beyond maxEntries ids, the oldest is forgotten even if
// its window has not passed.
type Dedup struct {
	window     time.Duration
	maxEntries int

	mu   sync.Mutex
	seen map[string]time.Time
	// order is a ring buffer of the ids recorded, oldest first, so that
	// the oldest can be forgotten in O(1). An id recorded again after its
	// window has passed is in it twice; forget skips the stale copy.
	order []entry
	head  int
	n     int
}

type entry struct {
	id string
	at time.Time
}

// NewDedup returns a Dedup that remembers an id for window after it was first
// seen, and at most maxEntries ids. A window or maxEntries of zero or less
// remembers nothing: Seen is then always false.
func NewDedup(window time.Duration, maxEntries int) *Dedup {
	return &Dedup{window: window, maxEntries: maxEntries, seen: make(map[string]time.Time)}
}

// Seen reports whether id was seen within the window before now, and when it
// was not, records it as seen at now. An empty id (a message sent without
// messageId) is never seen.
func (d *Dedup) Seen(id string, now time.Time) bool {
	if !d.on(id) {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.has(id, now) {
		return true
	}
	d.add(id, now)
	return false
}

// Has reports whether id was recorded within the window before now, without
// recording it. The collector asks Has while it reads a request and calls
// Add only once the request's records are stored, so that a request that
// failed (and that the client will retry) marks nothing as seen.
func (d *Dedup) Has(id string, now time.Time) bool {
	if !d.on(id) {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.has(id, now)
}

// Add records id as seen at now, unless it was already seen in the window.
func (d *Dedup) Add(id string, now time.Time) {
	if !d.on(id) {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.has(id, now) {
		d.add(id, now)
	}
}

func (d *Dedup) on(id string) bool { return id != "" && d.window > 0 && d.maxEntries > 0 }

// has forgets what has expired, oldest first, and reports whether id is
// remembered. Called with mu held.
func (d *Dedup) has(id string, now time.Time) bool {
	for d.n > 0 && now.Sub(d.order[d.head].at) >= d.window {
		d.forget()
	}
	at, ok := d.seen[id]
	return ok && now.Sub(at) < d.window
}

// add records id at now. Called with mu held.
func (d *Dedup) add(id string, now time.Time) {
	if d.n == d.maxEntries {
		d.forget()
	}
	if d.n == len(d.order) {
		d.grow()
	}
	// Ids often point into a whole request body: a copy keeps only the id.
	id = strings.Clone(id)
	d.order[(d.head+d.n)%len(d.order)] = entry{id: id, at: now}
	d.n++
	d.seen[id] = now
}

// forget drops the oldest entry of the ring.
func (d *Dedup) forget() {
	e := d.order[d.head]
	d.order[d.head] = entry{}
	d.head = (d.head + 1) % len(d.order)
	d.n--
	if at, ok := d.seen[e.id]; ok && at.Equal(e.at) {
		delete(d.seen, e.id)
	}
}

// grow doubles the ring, up to maxEntries, keeping its order.
func (d *Dedup) grow() {
	size := min(max(2*len(d.order), 64), d.maxEntries)
	order := make([]entry, size)
	for i := 0; i < d.n; i++ {
		order[i] = d.order[(d.head+i)%len(d.order)]
	}
	d.order, d.head = order, 0
}

// Len returns how many ids are remembered.
func (d *Dedup) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.seen)
}
