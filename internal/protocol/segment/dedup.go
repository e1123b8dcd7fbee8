package segment

import (
	"crypto/sha256"
	"sync"
	"time"
)

// Dedup remembers the message ids seen lately, so that a message a client
// retried (Segment's libraries retry a batch whose answer they did not get)
// is recorded once. Ids are remembered per source: one source's message ids
// never make another's messages duplicates. It is safe for concurrent use.
//
// Memory is bounded: each id is kept as a 16-byte digest of its source and
// itself, however long the id a client sent (about 100 bytes an id with the
// map and the ring), and beyond maxEntries ids the oldest is forgotten even
// if its window has not passed.
type Dedup struct {
	window     time.Duration
	maxEntries int

	mu   sync.Mutex
	seen map[idDigest]int64 // when first seen, unix nanoseconds
	// order is a ring buffer of the ids recorded, oldest first, so that
	// the oldest can be forgotten in O(1). An id recorded again after its
	// window has passed is in it twice; forget skips the stale copy.
	order []entry
	head  int
	n     int
}

// idDigest names one message id of one source: the first 16 bytes of the
// SHA-256 of both, so that a clash needs about 2^64 ids.
type idDigest [16]byte

func digest(source, id string) idDigest {
	h := sha256.New()
	h.Write([]byte(source))
	h.Write([]byte{0})
	h.Write([]byte(id))
	var sum [sha256.Size]byte
	var d idDigest
	copy(d[:], h.Sum(sum[:0]))
	return d
}

type entry struct {
	id idDigest
	at int64
}

// NewDedup returns a Dedup that remembers an id for window after it was first
// seen, and at most maxEntries ids. A window or maxEntries of zero or less
// remembers nothing: Seen is then always false.
func NewDedup(window time.Duration, maxEntries int) *Dedup {
	return &Dedup{window: window, maxEntries: maxEntries, seen: make(map[idDigest]int64)}
}

// Seen reports whether source sent id within the window before now, and
// when it did not, records it as seen at now. An empty id (a message sent
// without messageId) is never seen.
func (d *Dedup) Seen(source, id string, now time.Time) bool {
	if !d.on(id) {
		return false
	}
	k := digest(source, id)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.has(k, now) {
		return true
	}
	d.add(k, now)
	return false
}

// Has reports whether source sent id within the window before now, without
// recording it. The collector asks Has while it reads a request and calls
// Add only once the request's records are stored, so that a request that
// failed (and that the client will retry) marks nothing as seen.
func (d *Dedup) Has(source, id string, now time.Time) bool {
	if !d.on(id) {
		return false
	}
	k := digest(source, id)
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.has(k, now)
}

// Add records id of source as seen at now, unless it was already seen in
// the window.
func (d *Dedup) Add(source, id string, now time.Time) {
	if !d.on(id) {
		return
	}
	k := digest(source, id)
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.has(k, now) {
		d.add(k, now)
	}
}

func (d *Dedup) on(id string) bool { return id != "" && d.window > 0 && d.maxEntries > 0 }

// has forgets what has expired, oldest first, and reports whether k is
// remembered. Called with mu held.
func (d *Dedup) has(k idDigest, now time.Time) bool {
	t := now.UnixNano()
	w := d.window.Nanoseconds()
	for d.n > 0 && t-d.order[d.head].at >= w {
		d.forget()
	}
	at, ok := d.seen[k]
	return ok && t-at < w
}

// add records k at now. Called with mu held.
func (d *Dedup) add(k idDigest, now time.Time) {
	if d.n == d.maxEntries {
		d.forget()
	}
	if d.n == len(d.order) {
		d.grow()
	}
	t := now.UnixNano()
	d.order[(d.head+d.n)%len(d.order)] = entry{id: k, at: t}
	d.n++
	d.seen[k] = t
}

// forget drops the oldest entry of the ring.
func (d *Dedup) forget() {
	e := d.order[d.head]
	d.order[d.head] = entry{}
	d.head = (d.head + 1) % len(d.order)
	d.n--
	if at, ok := d.seen[e.id]; ok && at == e.at {
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
