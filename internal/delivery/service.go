package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/spool"

	"github.com/accord-events/accord/internal/sink/retention"
)

// Target is one configured sink as delivery runs it: its name, the records
// it selects, the sink itself and how records reach it.
type Target struct {
	Name    string
	Records sink.Selection
	Sink    sink.Sink
	Options Options
}

// Config configures a Service.
type Config struct {
	// Spool holds records between Deliver and the sinks; nil delivers to
	// the sinks directly. The Service does not close it.
	Spool *spool.Spool
	// Log, when Spool is nil, is a shared log on a broker in its place
	// (spool.kind kafka or jetstream): Deliver appends to it, and each
	// sink's runner reads it through Log.Reader(sink name). A collector
	// passes no sinks (loaders run them); a loader passes no requests.
	// The Service does not close it.
	Log Log
	// WaitForSinks makes Deliver return only once every sink has passed
	// the records (delivered or dead-lettered them), or AckTimeout has
	// passed: it then returns an AckTimeoutError, the records staying in
	// the spool.
	WaitForSinks bool
	// AckTimeout bounds the wait of WaitForSinks; 0 leaves it to the
	// caller's context.
	AckTimeout time.Duration
	// DeadLetterDir holds one dead-letter file per sink.
	DeadLetterDir string
	// DeadLetterRetention, when positive, is how long dead letters are
	// kept: older ones are removed in the background.
	DeadLetterRetention time.Duration
	Logger              *slog.Logger
	// MaxRequestBytes bounds what one Deliver call's records may take
	// encoded; 0 means no bound beyond the spool's own. Encoding stops as
	// soon as it is passed, so an oversized request costs no more than the
	// bound to find out. Without a spool it is checked where records are
	// encoded (for two or more JSON sinks); the sinks bound the rest.
	MaxRequestBytes int64
}

// ErrNotConnected is what a direct Deliver (no spool) returns while a sink
// it must write to has not connected yet.
var ErrNotConnected = errors.New("sink not connected")

// closeGrace is how long each sink's Close may take, apart from the drain's
// deadline (which may be spent by then).
const closeGrace = 5 * time.Second

// saveEvery is how often the counters are saved beside the spool.
const saveEvery = 5 * time.Second

// Service delivers records to the sinks; see the package documentation.
type Service struct {
	cfg       Config
	log       *slog.Logger
	runners   []*runner
	contracts *contractCounters
	since     time.Time
	statsPath string

	cancel context.CancelFunc
	wg     sync.WaitGroup

	// bufs recycles encoding buffers for Deliver.
	bufs sync.Pool
	// frames recycles the spooled records' frames: the spool hands them
	// back (putFrames) once written, before the fsync that Deliver waits
	// for, so that the next requests encode into them meanwhile.
	frames    sync.Pool
	putFrames func(*spool.Frames)
	// jsonSinks counts the sinks that write records as JSON, without a
	// spool: with two or more, Deliver encodes each record once for them.
	jsonSinks int

	// fullAt is the spool's size when an append last met ErrFull, 0 when
	// the spool took the last append.
	fullAt atomic.Int64

	// committed is closed and replaced whenever a runner commits, to wake
	// Deliver calls waiting for sinks and Close draining the spool.
	commitMu  sync.Mutex
	committed chan struct{}

	// draining is closed when Close starts draining the spool: runners of
	// staging sinks then store what they hold once they are caught up,
	// instead of waiting for the sink's own roll.
	draining  chan struct{}
	drainOnce sync.Once

	closeOnce sync.Once
	closeErr  error
}

// encodeBuf is a Deliver call's scratch space.
type encodeBuf struct {
	frames  spool.Frames
	records [][]byte
	// tally is the records' counters, found before their append.
	tally []tallyRun
}

// Start opens every sink's spool cursor and starts delivering, each runner
// connecting its sink first. Cursors of sinks no longer configured are
// removed, so they stop holding the spool. Without a spool, each sink's
// first Connect has been tried when Start returns. On error nothing is left
// running and no sink is closed.
func Start(cfg Config, sinks []Target) (*Service, error) {
	s := &Service{
		cfg:       cfg,
		log:       cfg.Logger,
		contracts: newContractCounters(),
		since:     time.Now().UTC(),
		committed: make(chan struct{}),
		draining:  make(chan struct{}),
	}
	s.bufs.New = func() any { return new(encodeBuf) }
	s.frames.New = func() any { return new(spool.Frames) }
	s.putFrames = func(f *spool.Frames) { s.frames.Put(f) }
	if cfg.Spool != nil {
		s.statsPath = filepath.Join(cfg.Spool.Dir(), StatsFile)
		saved, err := loadSaved(s.statsPath)
		if err != nil {
			return nil, err
		}
		if !saved.CountedSince.IsZero() {
			s.since = saved.CountedSince
		}
		s.contracts.restore(saved.Contracts)
		s.contracts.restoreUnknown(saved.UnknownContexts)
		if err := s.removeStaleCursors(sinks); err != nil {
			return nil, err
		}
		prev := map[string]SinkStats{}
		for _, st := range saved.Sinks {
			prev[st.Name] = st
		}
		for _, sk := range sinks {
			r := &runner{svc: s, Target: sk, jsonOnly: readsJSONOnly(sk.Sink), shared: keepsNoStrings(sk.Sink), staging: stagingOf(sk.Sink), deadLetter: &deadLetterFile{path: DeadLetterPath(cfg.DeadLetterDir, sk.Name)}, tried: make(chan struct{})}
			if r.shared && r.staging == nil {
				r.spare = make(chan *readMemory, spareBatches)
			}
			r.counters.restore(prev[sk.Name])
			s.runners = append(s.runners, r)
		}
		if err := s.openReaders(); err != nil {
			return nil, err
		}
	} else if cfg.Log != nil {
		for _, sk := range sinks {
			s.runners = append(s.runners, &runner{svc: s, Target: sk, jsonOnly: readsJSONOnly(sk.Sink), deadLetter: &deadLetterFile{path: DeadLetterPath(cfg.DeadLetterDir, sk.Name)}, tried: make(chan struct{})})
		}
		for i, r := range s.runners {
			rd, err := cfg.Log.Reader(r.Name)
			if err != nil {
				for _, done := range s.runners[:i] {
					_ = done.reader.Close()
				}
				return nil, fmt.Errorf("open the log reader of sink %s: %w", r.Name, err)
			}
			r.reader = rd
		}
	} else {
		for _, sk := range sinks {
			s.runners = append(s.runners, &runner{svc: s, Target: sk, jsonOnly: readsJSONOnly(sk.Sink), tried: make(chan struct{})})
			if readsJSONOnly(sk.Sink) {
				s.jsonSinks++
			}
		}
	}
	if s.spooled() && cfg.DeadLetterRetention > 0 {
		for _, r := range s.runners {
			loop, err := retention.New(retention.Config{Period: cfg.DeadLetterRetention, Unit: "records", Limit: deadLetterBatch, Logger: s.log.With("sink", r.Name)}, r.deadLetter)
			if err != nil {
				return nil, fmt.Errorf("dead-letter retention: %w", err)
			}
			r.deadLetterRetention = loop
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	if s.spooled() {
		for _, r := range s.runners {
			// A backlog left by an earlier run is counted from now: its
			// records' arrival times are not kept.
			r.caughtUp.Store(time.Now().UnixNano())
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				r.run(ctx)
			}()
		}
		if s.statsPath != "" {
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.saveLoop(ctx)
			}()
		}
		for _, r := range s.runners {
			if r.deadLetterRetention != nil {
				r.deadLetterRetention.Start()
			}
		}
		return s, nil
	}
	// Without a spool nothing holds records for a sink that is not
	// connected, so requests are refused (503) until it is. Each sink is
	// tried once before Start returns, so that a collector whose sinks
	// are up takes requests from the first one.
	for _, r := range s.runners {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			r.connect(ctx)
		}()
	}
	for _, r := range s.runners {
		<-r.tried
	}
	return s, nil
}

// spooled reports whether records reach the sinks through a log (the
// local spool or a broker's) rather than directly.
func (s *Service) spooled() bool { return s.cfg.Spool != nil || s.cfg.Log != nil }

// stagingOf returns sk as a sink.Staging, or nil when it stores what each
// Write takes before the Write returns.
func stagingOf(sk sink.Sink) sink.Staging {
	st, _ := sk.(sink.Staging)
	return st
}

// keepsNoStrings reports whether sk keeps no record's strings past a
// Write, so that records read from the spool can be decoded without a
// copy (the spool's reads are never written again).
func keepsNoStrings(sk sink.Sink) bool {
	_, ok := sk.(sink.KeepsNoStrings)
	return ok
}

// readsJSONOnly reports whether sk reads records as JSON only.
func readsJSONOnly(sk sink.Sink) bool {
	_, ok := sk.(sink.JSONOnly)
	return ok
}

// openReaders opens each runner's cursor and notes where it stands.
func (s *Service) openReaders() error {
	committed := map[string]uint64{}
	for i, r := range s.runners {
		rd, err := s.cfg.Spool.Reader(r.Name)
		if err != nil {
			for _, done := range s.runners[:i] {
				_ = done.reader.Close()
			}
			return fmt.Errorf("open spool cursor of sink %s: %w", r.Name, err)
		}
		r.reader = rd
	}
	for _, rs := range s.cfg.Spool.Stats().Readers {
		committed[rs.Name] = rs.Committed
	}
	for _, r := range s.runners {
		c := committed[r.Name]
		r.committed.Store(c)
		r.delivered = c
		r.durable.Store(c)
	}
	return nil
}

// removeStaleCursors drops the cursors of sinks no longer configured: they
// would hold every segment from their position on forever.
func (s *Service) removeStaleCursors(sinks []Target) error {
	want := map[string]bool{}
	for _, sk := range sinks {
		want[sk.Name] = true
	}
	for _, rs := range s.cfg.Spool.Stats().Readers {
		if want[rs.Name] {
			continue
		}
		if err := s.cfg.Spool.RemoveReader(rs.Name); err != nil {
			return fmt.Errorf("remove spool cursor of removed sink %s: %w", rs.Name, err)
		}
		s.log.Warn("a sink is no longer configured; its spool cursor is removed and the records it had not delivered will not reach it",
			"sink", rs.Name, "undelivered_records", rs.LagRecords)
	}
	return nil
}

// KeepsNoRecords reports whether the service keeps nothing of the records
// handed to Deliver once it has returned: with a spool or a broker's log
// it keeps only their encoding; without, the sinks are handed the records
// themselves, and may keep them.
func (s *Service) KeepsNoRecords() bool {
	return s.cfg.Spool != nil || s.cfg.Log != nil
}

// Deliver takes a request's records. With a spool it returns once they are
// durably appended (and, with WaitForSinks, passed by every sink); without
// one, once every sink has written them. An error means the request must
// not be acknowledged; one matching spool.ErrFull means the spool is at
// its cap, and Ready says so until sinks make room.
func (s *Service) Deliver(ctx context.Context, records []*event.Envelope) error {
	return s.deliver(ctx, records, nil)
}

// DeliverReleasing is Deliver that calls release once, before it returns,
// unless it refuses the records as too large (TooLargeError): with a
// spool, as soon as the records are encoded and counted and the spool
// cannot refuse them for their size (spool.Spool.Fits), before the group
// commit is awaited; the caller may then reuse their memory.
func (s *Service) DeliverReleasing(ctx context.Context, records []*event.Envelope, release func()) error {
	return s.deliver(ctx, records, release)
}

func (s *Service) deliver(ctx context.Context, records []*event.Envelope, release func()) (err error) {
	defer func() {
		if release != nil && !refusedAsTooLarge(err) {
			release()
		}
	}()
	if len(records) == 0 {
		return nil
	}
	if s.cfg.Spool == nil {
		if s.cfg.Log != nil {
			return s.deliverLog(ctx, records)
		}
		return s.deliverDirect(ctx, records)
	}
	frames := s.frames.Get().(*spool.Frames)
	if err := encodeFrames(frames, records, s.cfg.MaxRequestBytes); err != nil {
		s.frames.Put(frames)
		return err
	}
	// From here on only the encoded frames are needed: the records are
	// counted in advance and not touched again, so that they (and the
	// request they point into) are not kept while the group commit is
	// awaited, which at full batched load is most of a request's time.
	// Only records of a kind never counted before are kept, to be
	// counted once stored. The frames go back to the pool as soon as the
	// spool has written them (before its fsync), whether or not ctx ends
	// meanwhile.
	n := len(records)
	var late []*event.Envelope
	var counted bool
	buf := s.bufs.Get().(*encodeBuf)
	buf.tally, counted = s.contracts.prepare(records, buf.tally[:0])
	switch {
	case !counted:
		late = records
	case release != nil && s.cfg.Spool.Fits(frames) == nil:
		// Released only when the spool cannot refuse the records for
		// their size: the caller answers such a refusal with the
		// request's first bytes, which it gives back with the records.
		release()
		release = nil
	}
	records = nil
	first, err := s.cfg.Spool.AppendFrames(ctx, frames, s.putFrames)
	if err == nil {
		if late != nil {
			s.contracts.add(late)
		} else {
			s.contracts.apply(buf.tally)
		}
	}
	clear(buf.tally)
	s.bufs.Put(buf)
	if err != nil {
		if errors.Is(err, spool.ErrTooLarge) {
			return fmt.Errorf("append to spool: %w", TooLargeError{Err: err})
		}
		if errors.Is(err, spool.ErrFull) {
			s.fullAt.Store(max(s.cfg.Spool.Stats().Bytes, 1))
		}
		return fmt.Errorf("append to spool: %w", err)
	}
	if s.fullAt.Load() != 0 {
		// Near the cap a smaller request can fit where a larger one did
		// not; readiness should not flap with it. A successful append
		// ends the full state only when the spool is clearly not full
		// (the disk had filled up, say, and has room again).
		if st := s.cfg.Spool.Stats(); st.Bytes < st.MaxBytes/4*3 {
			s.fullAt.Store(0)
		}
	}
	if s.cfg.WaitForSinks {
		return s.waitCommitted(ctx, first+uint64(n)-1)
	}
	return nil
}

// deliverLog appends records to the broker's log and returns once the
// broker has acknowledged them all.
func (s *Service) deliverLog(ctx context.Context, records []*event.Envelope) error {
	buf := s.bufs.Get().(*encodeBuf)
	defer s.bufs.Put(buf)
	encoded, err := buf.encode(records, s.cfg.MaxRequestBytes)
	if err != nil {
		return err
	}
	if err := s.cfg.Log.Append(ctx, encoded, records); err != nil {
		if errors.Is(err, spool.ErrTooLarge) {
			return fmt.Errorf("append to the log: %w", TooLargeError{Err: err})
		}
		return fmt.Errorf("append to the log: %w", err)
	}
	s.contracts.add(records)
	return nil
}

// encode encodes records into the buffer, one slice each, valid until the
// buffer is used again. With limit > 0 it stops with a TooLargeError as
// soon as the encoding passes limit bytes, without encoding the rest.
func (buf *encodeBuf) encode(records []*event.Envelope, limit int64) ([][]byte, error) {
	// Every record is encoded into one buffer, as the spool frames it
	// (AppendFrames writes it as it is), and cut afterwards, since
	// growing the buffer moves it.
	f := &buf.frames
	if err := encodeFrames(f, records, limit); err != nil {
		return nil, err
	}
	encoded := buf.records[:0]
	for i := range f.Len() {
		encoded = append(encoded, f.Record(i))
	}
	buf.records = encoded
	return encoded, nil
}

// encodeFrames encodes records into f, emptied first. With limit > 0 it
// stops with a TooLargeError as soon as the encoding passes limit bytes,
// without encoding the rest.
func encodeFrames(f *spool.Frames, records []*event.Envelope, limit int64) error {
	f.Reset()
	// Sized once: grown as it fills, a 100-event request's buffer was
	// allocated about five times over (each growth a copy), and at full
	// batched load a pooled buffer is often gone, taken by a collection.
	hint := 0
	for _, r := range records {
		hint += r.SizeHint()
	}
	if limit <= 0 || int64(hint) <= limit {
		// Past the limit, the request is refused below: no need
		// for the room.
		f.Grow(len(records), hint)
	}
	for i, r := range records {
		f.End(r.AppendJSON(f.Begin()))
		if size := int64(f.Size() - f.Len()*spool.FrameHeaderSize); limit > 0 && size > limit {
			f.Reset()
			return TooLargeError{Err: fmt.Errorf("the first %d of the request's %d records take %d bytes encoded, over the limit of %d", i+1, len(records), size, limit)}
		}
	}
	return nil
}

// TooLargeError says a request's records can never be taken, however often
// they are sent: encoded they are over Config.MaxRequestBytes, or too large
// for the spool. Its TooLarge method lets the HTTP layer answer 413 without
// importing delivery.
type TooLargeError struct{ Err error }

func (e TooLargeError) Error() string { return "records too large: " + e.Err.Error() }
func (e TooLargeError) Unwrap() error { return e.Err }

// TooLarge marks the error for callers that ask rather than import.
func (TooLargeError) TooLarge() bool { return true }

// refusedAsTooLarge reports whether err is a TooLargeError. A nil err is
// answered first: errors.As's target escapes, which would cost an
// allocation on every request.
func refusedAsTooLarge(err error) bool {
	return err != nil && errors.As(err, new(TooLargeError))
}

// deliverDirect writes records to every sink that wants them, in order.
func (s *Service) deliverDirect(ctx context.Context, records []*event.Envelope) error {
	for _, r := range s.runners {
		if !r.connected.Load() {
			return r.notConnected()
		}
	}
	if s.jsonSinks > 1 {
		// Encode each record once for all the sinks that write JSON,
		// and forget the encoding after: the buffer is reused.
		buf := s.bufs.Get().(*encodeBuf)
		defer s.bufs.Put(buf)
		encoded, err := buf.encode(records, s.cfg.MaxRequestBytes)
		if err != nil {
			return err
		}
		for i, b := range encoded {
			records[i].JSON = b
		}
		defer func() {
			for _, r := range records {
				r.JSON = nil
			}
		}()
	}
	for _, r := range s.runners {
		batch := sink.Select(records, r.Records)
		if len(batch) == 0 {
			continue
		}
		if err := writeStored(ctx, r.Target.Sink, batch); err != nil {
			r.counters.failed(err)
			return fmt.Errorf("sink %s: %w", r.Name, err)
		}
		r.counters.delivered.Add(uint64(len(batch)))
		r.lastSuccess.Store(time.Now().UnixNano())
	}
	s.contracts.add(records)
	return nil
}

// writeStored writes records to sk and returns once they are stored: a
// staging sink is flushed after the write, as nothing but the sink's
// buffers would hold them (no spool behind a direct write).
func writeStored(ctx context.Context, sk sink.Sink, records []*event.Envelope) error {
	if err := sk.Write(ctx, records); err != nil {
		return err
	}
	if st, ok := sk.(sink.Staging); ok {
		return st.Flush(ctx, true)
	}
	return nil
}

// AckTimeoutError says that records are durably in the spool but not every
// sink passed them within Config.AckTimeout. They stay in the spool and
// are delivered as the sinks recover: sending them again would store them
// twice. Its Accepted method lets the HTTP layer say so without importing
// delivery.
type AckTimeoutError struct {
	// Waited is Config.AckTimeout.
	Waited time.Duration
	// Pending names the sinks that had not passed the records.
	Pending []string
}

func (e AckTimeoutError) Error() string {
	return fmt.Sprintf("the records are in the spool, but sinks %v did not deliver them within %s (spool.ack_timeout); they stay in the spool and are delivered as those sinks recover", e.Pending, e.Waited)
}

// Accepted marks the error for callers that ask rather than import: the
// records were taken, only not yet delivered everywhere.
func (AckTimeoutError) Accepted() bool { return true }

// WriteSink writes records to the sink called name, as they are, without
// the spool: accord replay picks each sink's records itself. It refuses
// while that sink is not connected.
func (s *Service) WriteSink(ctx context.Context, name string, records []*event.Envelope) error {
	for _, r := range s.runners {
		if r.Name != name {
			continue
		}
		if !r.connected.Load() {
			return r.notConnected()
		}
		if err := writeStored(ctx, r.Target.Sink, records); err != nil {
			r.counters.failed(err)
			return fmt.Errorf("sink %s: %w", name, err)
		}
		r.counters.delivered.Add(uint64(len(records)))
		return nil
	}
	return fmt.Errorf("no sink is called %s", name)
}

// waitCommitted waits until every sink has committed offset, and returns
// an AckTimeoutError when Config.AckTimeout passes first, or ctx's error
// when it ends first.
func (s *Service) waitCommitted(ctx context.Context, offset uint64) error {
	var timeout <-chan time.Time
	if s.cfg.AckTimeout > 0 {
		t := time.NewTimer(s.cfg.AckTimeout)
		defer t.Stop()
		timeout = t.C
	}
	for {
		wake := s.commitSignal()
		if s.minCommitted() >= offset {
			return nil
		}
		select {
		case <-wake:
		case <-timeout:
			e := AckTimeoutError{Waited: s.cfg.AckTimeout}
			for _, r := range s.runners {
				if r.committed.Load() < offset {
					e.Pending = append(e.Pending, r.Name)
				}
			}
			return e
		case <-ctx.Done():
			return fmt.Errorf("wait for sinks to deliver: %w", ctx.Err())
		}
	}
}

func (s *Service) minCommitted() uint64 {
	least := ^uint64(0)
	for _, r := range s.runners {
		least = min(least, r.committed.Load())
	}
	return least
}

// commitSignal returns a channel closed at the next commit.
func (s *Service) commitSignal() <-chan struct{} {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	return s.committed
}

// signalCommit wakes everything waiting for a commit.
func (s *Service) signalCommit() {
	s.commitMu.Lock()
	close(s.committed)
	s.committed = make(chan struct{})
	s.commitMu.Unlock()
}

// Ready returns an error while the spool is full: from an append that met
// the cap (or a full disk) until the spool has shrunk below the size it had
// then, which happens when sinks pass a segment and it is deleted, or an
// append succeeds with the spool under three quarters of its cap. A sink
// not yet connected does not make a spooled service unready: the spool
// holds its records. Without a spool it does, as Deliver refuses records
// until every sink is connected.
func (s *Service) Ready() error {
	if s.cfg.Spool == nil && s.cfg.Log != nil {
		return s.cfg.Log.Ready()
	}
	if s.cfg.Spool == nil {
		for _, r := range s.runners {
			if !r.connected.Load() {
				return r.notConnected()
			}
		}
		return nil
	}
	fullAt := s.fullAt.Load()
	if fullAt == 0 {
		return nil
	}
	st := s.cfg.Spool.Stats()
	if st.Bytes < fullAt {
		s.fullAt.CompareAndSwap(fullAt, 0)
		return nil
	}
	return fmt.Errorf("the spool is full (%d of %d bytes held); waiting for sinks to deliver", st.Bytes, st.MaxBytes)
}

// EventCounts counts the records taken since the server started, by
// contract, protocol and failure type (accord_events_total).
func (s *Service) EventCounts() []EventCount { return s.contracts.snapshotKinds() }

// Stats returns the spool's state, each sink's lag and counters, and the
// per-contract counts.
func (s *Service) Stats() Stats {
	st := Stats{CountedSince: s.since, Sinks: make([]SinkStats, 0, len(s.runners)), Contracts: s.contracts.snapshot(), UnknownContexts: s.contracts.snapshotUnknown()}
	lag := map[string]spool.ReaderStats{}
	if s.cfg.Spool != nil {
		sp := s.cfg.Spool.Stats()
		st.Spool = &sp
		for _, rs := range sp.Readers {
			lag[rs.Name] = rs
		}
	}
	now := time.Now()
	for _, r := range s.runners {
		ss := r.counters.snapshot(r.Name)
		if at := r.lastSuccess.Load(); at != 0 {
			t := time.Unix(0, at).UTC()
			ss.LastSuccessAt = &t
		}
		ss.State = StateConnecting
		if r.connected.Load() {
			ss.State = StateConnected
		}
		ss.LagRecords, ss.LagBytes = lag[r.Name].LagRecords, lag[r.Name].LagBytes
		if ss.LagRecords > 0 {
			ss.LagSeconds = now.Sub(time.Unix(0, r.caughtUp.Load())).Seconds()
		}
		if r.deadLetterRetention != nil {
			rs := r.deadLetterRetention.Stats()
			ss.DeadLetterRetention = &rs
		}
		if rep, ok := r.Sink.(retention.Reporter); ok {
			if rs := rep.RetentionStats(); rs.Period != "" {
				ss.Retention = &rs
			}
		}
		st.Sinks = append(st.Sinks, ss)
	}
	return st
}

// saveLoop saves the counters beside the spool every few seconds.
func (s *Service) saveLoop(ctx context.Context) {
	t := time.NewTicker(saveEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.save(); err != nil {
				s.log.Warn("save delivery stats", "err", err)
			}
		}
	}
}

func (s *Service) save() error {
	st := s.Stats()
	return save(s.statsPath, savedStats{SavedAt: time.Now().UTC(), CountedSince: st.CountedSince, Sinks: st.Sinks, Contracts: st.Contracts, UnknownContexts: st.UnknownContexts})
}

// UndeliveredError says Close's deadline passed with records the sinks had
// not delivered; they stay in the spool for the next start.
type UndeliveredError struct {
	// Sinks names the sinks with records left, and Records counts them,
	// index for index.
	Sinks   []string
	Records []uint64
}

func (e UndeliveredError) Error() string {
	var b strings.Builder
	b.WriteString("records left in the spool, delivered after the next start:")
	for i, name := range e.Sinks {
		fmt.Fprintf(&b, " sink %s %d", name, e.Records[i])
		if i < len(e.Sinks)-1 {
			b.WriteByte(',')
		}
	}
	return b.String()
}

// Close stops delivery. With a spool it first lets the sinks deliver what
// the spool held when Close was called, until ctx ends; what is left stays
// in the spool for the next start. It then stops the runners, saves the
// counters and closes the sinks (not the spool), each within closeGrace of
// its own. A sink still connecting stops trying. Call it after the
// collector has stopped taking requests.
func (s *Service) Close(ctx context.Context) error {
	s.closeOnce.Do(func() { s.closeErr = s.close(ctx) })
	return s.closeErr
}

func (s *Service) close(ctx context.Context) error {
	var errs []error
	s.drainOnce.Do(func() { close(s.draining) })
	if s.cfg.Spool != nil {
		target := s.cfg.Spool.Stats().NextOffset - 1
	drain:
		for s.minCommitted() < target {
			wake := s.commitSignal()
			if s.minCommitted() >= target {
				break
			}
			select {
			case <-wake:
			case <-ctx.Done():
				break drain
			}
		}
		if s.minCommitted() < target {
			left := UndeliveredError{}
			for _, sk := range s.Stats().Sinks {
				if sk.LagRecords > 0 {
					s.log.Warn("shutdown deadline reached; undelivered records stay in the spool and are delivered after the next start",
						"sink", sk.Name, "records", sk.LagRecords, "last_error", sk.LastError)
					left.Sinks = append(left.Sinks, sk.Name)
					left.Records = append(left.Records, sk.LagRecords)
				}
			}
			// Closed below all the same; the error tells the caller
			// the drain was cut short. A sink that committed between the
			// check above and its stats leaves nothing behind: then
			// nothing was cut short.
			if len(left.Sinks) > 0 {
				errs = append(errs, left)
			}
		}
	}
	s.cancel()
	s.wg.Wait()
	for _, r := range s.runners {
		if r.deadLetterRetention != nil {
			r.deadLetterRetention.Stop()
		}
	}
	for _, r := range s.runners {
		if r.reader != nil {
			if err := r.reader.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close spool cursor of sink %s: %w", r.Name, err))
			}
		}
		if r.deadLetter != nil {
			if err := r.deadLetter.close(); err != nil {
				errs = append(errs, fmt.Errorf("close dead letter of sink %s: %w", r.Name, err))
			}
		}
	}
	if s.statsPath != "" {
		if err := s.save(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, r := range s.runners {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeGrace)
		err := r.Target.Sink.Close(cctx)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("close sink %s: %w", r.Name, err))
		}
	}
	return errors.Join(errs...)
}
