// Package inspect is the live inspector's tap: the collector hands it the
// records of each request once they are stored (after privacy, as the sinks
// get them), and it passes copies to whoever watches (GET
// /inspector/stream on the admin surface), each viewer through its own
// bounded buffer.
//
// It costs nothing when nobody watches (Publish is one atomic load), and it
// never slows ingestion when someone does: a record is offered to a
// viewer's buffer without waiting, and dropped from that viewer's tail when
// the buffer is full, the viewer's rate is spent or the bytes it (or all
// viewers together) hold are at their budget, with a counter the viewer is
// shown. Records are never dropped from the pipeline.
package inspect

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/redact"
)

// Limits of the tap. They bound what watching can cost the collector, so
// they are not configuration: a person reads at most a few records a
// second, and a tail faster than the rate shows a sample with a count of
// what it skipped.
const (
	// MaxViewers bounds the viewers watching at once; one more is refused.
	MaxViewers = 8
	// Buffer is how many records wait for a slow viewer before more are
	// dropped from its tail.
	Buffer = 256
	// Rate is how many records a second one viewer is sent, at most
	// (counted in windows of a tenth of a second, Rate/10 each): beyond
	// it records are dropped from its tail and counted. Each record a
	// viewer is sent is encoded on the request's goroutine, so this bounds
	// the encoding work watching adds, whatever the collector's load.
	Rate = 200
	// MaxRecordBytes bounds one record as a viewer is sent it; a larger
	// one is replaced by a stub saying how large it was.
	MaxRecordBytes = 256 << 10
	// ViewerBytes bounds the bytes of records one viewer holds: queued
	// for it, or taken and not yet written out (Release). Buffer records
	// of MaxRecordBytes each would be 64 MiB a viewer; with large records
	// this budget, not Buffer, is what drops from the tail.
	ViewerBytes = 4 << 20
	// TotalBytes bounds the bytes all viewers together hold, so watching
	// costs the collector at most this much memory whatever the number of
	// viewers (MaxViewers × ViewerBytes would be twice it).
	TotalBytes = 16 << 20
)

// ErrTooManyViewers is returned by Subscribe when MaxViewers watch already.
var ErrTooManyViewers = errors.New("too many inspector viewers")

// ErrClosed is returned by Subscribe once the tap is closed.
var ErrClosed = errors.New("the inspector is closed")

// Filter selects the records a viewer wants; empty fields select all.
type Filter struct {
	// Contract is a schema key (iglu:vendor/name/jsonschema/M-R-A) or a
	// prefix of one ending in "/" or "-" (iglu:com.acme/,
	// iglu:com.acme/checkout/jsonschema/1-).
	Contract string
	// Protocol is the protocol name (selfdesc, snowplow, segment, ...).
	Protocol string
	// Valid is "good" (valid records only), "failed", or empty for both.
	Valid string
	// FailureType selects failed records of this type (and implies
	// failed).
	FailureType event.FailureType
}

// Match reports whether the filter selects rec.
func (f *Filter) Match(rec *event.Envelope) bool {
	if f.Protocol != "" && rec.Protocol != f.Protocol {
		return false
	}
	switch f.Valid {
	case "good":
		if !rec.Valid {
			return false
		}
	case "failed":
		if rec.Valid {
			return false
		}
	}
	if f.FailureType != "" && (rec.Failure == nil || rec.Failure.Type != f.FailureType) {
		return false
	}
	if f.Contract != "" {
		if strings.HasSuffix(f.Contract, "/") || strings.HasSuffix(f.Contract, "-") {
			return strings.HasPrefix(rec.Schema, f.Contract)
		}
		return rec.Schema == f.Contract
	}
	return true
}

// Tap passes stored records to the viewers. Its zero value is not usable;
// use New. It is safe for concurrent use.
type Tap struct {
	// viewers is nil while nobody watches: the hot path's only cost.
	viewers atomic.Pointer[[]*Viewer]
	mu      sync.Mutex // guards changes to viewers, and closed
	closed  bool
	done    chan struct{}
	now     func() time.Time
}

// New returns a tap nobody watches yet.
func New() *Tap { return &Tap{done: make(chan struct{}), now: time.Now} }

// Viewer is one watcher's subscription: its filter, its buffer and what
// was dropped from its tail.
type Viewer struct {
	filter Filter
	ch     chan []byte
	// dropped counts records the filter selected that the viewer was not
	// sent: its buffer was full, its rate spent or its bytes budget (or
	// the tap's) at its end.
	dropped atomic.Uint64
	// held is the bytes of the records queued for the viewer and those
	// taken but not yet released: what ViewerBytes and TotalBytes bound.
	// A viewer's count goes with it when it leaves, so the tap's total,
	// the sum over the viewers watching, can never leak.
	held atomic.Int64
	// window is the current tenth of a second (unix time in units of
	// 100 ms) and sent how many records it has passed in it.
	window atomic.Int64
	sent   atomic.Int64
}

// Records is where the viewer's records arrive, each one envelope as JSON.
func (v *Viewer) Records() <-chan []byte { return v.ch }

// Release gives back n bytes of the records taken from Records, once the
// taker no longer holds them (they are written out): until then they count
// against the viewer's and the tap's bytes budgets.
func (v *Viewer) Release(n int) { v.held.Add(-int64(n)) }

// Dropped is how many records the viewer's filter selected but its tail
// did not get.
func (v *Viewer) Dropped() uint64 { return v.dropped.Load() }

// Done is closed when the tap closes (the collector is shutting down):
// viewers end their streams.
func (t *Tap) Done() <-chan struct{} { return t.done }

// Subscribe adds a viewer with filter f. Call Unsubscribe when it leaves.
func (t *Tap) Subscribe(f Filter) (*Viewer, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, ErrClosed
	}
	var cur []*Viewer
	if p := t.viewers.Load(); p != nil {
		cur = *p
	}
	if len(cur) >= MaxViewers {
		return nil, ErrTooManyViewers
	}
	v := &Viewer{filter: f, ch: make(chan []byte, Buffer)}
	next := append(append(make([]*Viewer, 0, len(cur)+1), cur...), v)
	t.viewers.Store(&next)
	return v, nil
}

// Unsubscribe removes the viewer; once the last leaves, Publish does
// nothing again.
func (t *Tap) Unsubscribe(v *Viewer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.viewers.Load()
	if p == nil {
		return
	}
	next := make([]*Viewer, 0, len(*p))
	for _, o := range *p {
		if o != v {
			next = append(next, o)
		}
	}
	if len(next) == 0 {
		t.viewers.Store(nil)
		return
	}
	t.viewers.Store(&next)
}

// Viewers is how many watch now.
func (t *Tap) Viewers() int {
	if p := t.viewers.Load(); p != nil {
		return len(*p)
	}
	return 0
}

// Close ends every viewer's stream (Done) and refuses new ones.
func (t *Tap) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.closed {
		t.closed = true
		close(t.done)
	}
	t.viewers.Store(nil)
}

// Publish offers stored records to the viewers. With nobody watching it
// is one atomic load. It never blocks: a record a viewer has no room,
// rate or bytes budget for is counted in its Dropped. Each record is encoded at most once
// whatever the number of viewers, and only when one of them takes it; the
// records are not kept, so the caller may reuse their memory on return.
func (t *Tap) Publish(records []*event.Envelope) {
	p := t.viewers.Load()
	if p == nil {
		return
	}
	viewers := *p
	window := t.now().UnixNano() / int64(100*time.Millisecond)
	for _, rec := range records {
		var enc []byte
		for _, v := range viewers {
			if !v.filter.Match(rec) {
				continue
			}
			if !v.allow(window) || len(v.ch) == cap(v.ch) {
				v.dropped.Add(1)
				continue
			}
			if enc == nil {
				enc = encode(rec)
			}
			if !v.reserve(int64(len(enc)), viewers) {
				v.dropped.Add(1)
				continue
			}
			select {
			case v.ch <- enc:
			default:
				v.held.Add(-int64(len(enc)))
				v.dropped.Add(1)
			}
		}
	}
}

// allow spends one of the viewer's records in this window, reporting
// false when none is left. Windows race benignly: two goroutines may both
// start a new window, letting a few records more through.
func (v *Viewer) allow(window int64) bool {
	if w := v.window.Load(); w != window {
		if v.window.CompareAndSwap(w, window) {
			v.sent.Store(0)
		}
	}
	return v.sent.Add(1) <= Rate/10
}

// reserve counts n more bytes held by v, reporting false (and counting
// nothing) when that would pass ViewerBytes or, summed over viewers,
// TotalBytes. Each publisher adds before it checks, so two racing for the
// last room may both be refused, never both let through past a budget.
// One encoding shared by several viewers counts once for each: the budget
// errs on the side of holding less.
func (v *Viewer) reserve(n int64, viewers []*Viewer) bool {
	if v.held.Add(n) > ViewerBytes {
		v.held.Add(-n)
		return false
	}
	var total int64
	for _, o := range viewers {
		total += o.held.Load()
	}
	if total > TotalBytes {
		v.held.Add(-n)
		return false
	}
	return true
}

// encode is the record as a viewer is sent it: the envelope as stored, or
// a stub when it is larger than MaxRecordBytes.
func encode(rec *event.Envelope) []byte {
	b := rec.AppendJSON(make([]byte, 0, 1024))
	if len(b) <= MaxRecordBytes {
		return b
	}
	stub := event.Envelope{
		EventID: rec.EventID, RequestID: rec.RequestID, CollectedAt: rec.CollectedAt, Protocol: rec.Protocol,
		Schema: rec.Schema, Vendor: rec.Vendor, Name: rec.Name, Version: rec.Version, Namespace: rec.Namespace,
		Valid: rec.Valid, Failure: rec.Failure, Payload: []byte(`{"_inspector":"this record is too large to show here; find it in a sink by its event_id"}`),
	}
	if stub.Failure != nil {
		// At most 20 messages, each cut: a message quotes what the client
		// sent, and the stub must stay small.
		msgs := stub.Failure.Messages[:min(len(stub.Failure.Messages), 20)]
		cut := make([]event.Message, len(msgs))
		for i, m := range msgs {
			m.Message, m.Schema = redact.Bounded(m.Message), redact.Bounded(m.Schema)
			m.InstancePath, m.SchemaPath = redact.Bounded(m.InstancePath), redact.Bounded(m.SchemaPath)
			cut[i] = m
		}
		stub.Failure = &event.Failure{Type: stub.Failure.Type, Messages: cut}
	}
	return stub.AppendJSON(make([]byte, 0, 1024))
}

// Deliverer stores a request's records; *delivery.Service is one, and the
// collector's server takes one.
type Deliverer interface {
	Deliver(ctx context.Context, records []*event.Envelope) error
}

// Deliverer returns d with the tap on its way out: records that d stored
// are published, those it refused are not (they were never stored).
func (t *Tap) Deliverer(d Deliverer) Deliverer { return tapped{d: d, t: t} }

type tapped struct {
	d Deliverer
	t *Tap
}

// KeepsNoRecords says what d says: the tap keeps only what it encodes of
// the records it publishes.
func (p tapped) KeepsNoRecords() bool {
	k, ok := p.d.(interface{ KeepsNoRecords() bool })
	return ok && k.KeepsNoRecords()
}

// DeliverReleasing is Deliver calling release once, before it returns,
// unless d refuses the records as too large (an error with a TooLarge
// method): d calls it early when nobody watches and d can (a spool, once
// it has encoded the records); otherwise it is called once the records
// are published.
func (p tapped) DeliverReleasing(ctx context.Context, records []*event.Envelope, release func()) error {
	if r, ok := p.d.(interface {
		DeliverReleasing(context.Context, []*event.Envelope, func()) error
	}); ok && p.t.viewers.Load() == nil {
		return r.DeliverReleasing(ctx, records, release)
	}
	err := p.Deliver(ctx, records)
	if !tooLarge(err) {
		release()
	}
	return err
}

// tooLarge reports whether err refuses records as too large: an error in
// its chain has a TooLarge method that returns true. A nil err is
// answered first, without errors.As's target, which escapes.
func tooLarge(err error) bool {
	if err == nil {
		return false
	}
	var tl interface{ TooLarge() bool }
	return errors.As(err, &tl) && tl.TooLarge()
}

func (p tapped) Deliver(ctx context.Context, records []*event.Envelope) error {
	if p.t.viewers.Load() == nil {
		// Nobody watches: the records are not kept while d stores them
		// (a spool's group commit may take a while), so that their
		// memory can go as soon as d has encoded them. A viewer that
		// subscribes meanwhile sees the requests that start after it.
		return p.d.Deliver(ctx, records)
	}
	if err := p.d.Deliver(ctx, records); err != nil {
		return err
	}
	p.t.Publish(records)
	return nil
}
