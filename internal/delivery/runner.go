package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/spool"

	"github.com/accord-events/accord/internal/sink/retention"
)

// runner delivers the spool to one sink.
type runner struct {
	Target
	svc        *Service
	reader     Reader
	deadLetter *deadLetterFile
	// deadLetterRetention prunes deadLetter; nil when off.
	deadLetterRetention *retention.Loop
	counters            sinkCounters
	// committed is the last offset the sink has passed (delivered or
	// dead-lettered), read by other goroutines.
	committed atomic.Uint64
	// delivered is the same, owned by the runner's goroutine; durable is
	// the offset last made durable in the cursor; lastCommit is when the
	// runner last asked for a commit, owned by its goroutine.
	delivered  uint64
	durable    atomic.Uint64
	lastCommit time.Time
	// toCommit hands the committer goroutine the offset to make durable
	// next (commitOffset), the latest replacing one not yet taken; nil
	// while none runs, when the runner commits itself.
	toCommit chan uint64
	// lastRead is when the read-ahead last read a batch; owned by it.
	lastRead time.Time
	// jsonOnly is set when the sink reads records as JSON only
	// (sink.JSONOnly), so that the runner decodes no more than valid.
	jsonOnly bool
	// shared is set when records are decoded with strings sharing the
	// bytes read from the local spool (the sink keeps no strings). Such a
	// sink keeps nothing of a batch once it has written it, so the
	// memory the batch was read and decoded into is given back to spare
	// and the batch after next is read into it.
	shared bool
	spare  chan *readMemory
	// staging is the sink as a sink.Staging, nil for a sink that stores
	// each Write before it returns. Batches it took but has not stored
	// wait in staged, oldest first, and the cursor stays before them.
	staging sink.Staging
	staged  []stagedBatch
	// connected is set once the sink's Connect has succeeded; tried is
	// closed once it has been tried for the first time, whatever came of it.
	connected atomic.Bool
	// lastSuccess is when the sink last took a write (unix nanoseconds,
	// 0: never since the server started); caughtUp is the last time every
	// record then in the spool had been passed by the sink (unix
	// nanoseconds), so the oldest record it has yet to pass arrived after
	// it: what accord_sink_lag_seconds measures from.
	lastSuccess atomic.Int64
	caughtUp    atomic.Int64
	tried       chan struct{}
	triedOnce   sync.Once
}

// batch is what the read-ahead hands the delivering side: the records of
// one read that the sink selects (each carrying the bytes it was spooled
// as in JSON, which the dead letter keeps), those that did not decode, and
// the last offset read. A batch with skipTo set carries no records: the reader met
// a damaged segment and the cursor is to move past it, once everything
// before it is delivered; skipped is closed when it has.
type batch struct {
	records     []*event.Envelope
	undecodable [][]byte
	last        uint64
	skipTo      uint64
	skipped     chan struct{}
	// caughtUpAt, when not zero, is a time before which every record
	// appended to the spool is in this batch or an earlier one: once the
	// batch is passed, the sink is caught up to then.
	caughtUpAt time.Time
	// mem is what the batch was read and decoded into, to give back once
	// it is written; nil when the sink may keep what it is handed.
	mem *readMemory
}

// readMemory is what one batch is read and decoded into: the buffers of
// its reads from the spool (one, or more when the read lingered) and its
// envelopes. At full batched load a new batch's reads and envelopes were
// nearly half the bytes the collector allocated (a 100-event request
// allocated 450 KB, its records' reads 126 KB of it and their envelopes
// 65 KB), and the garbage collector ran that much more often; reused,
// they cost a runner two batches' worth, held from batch to batch.
type readMemory struct {
	reads   []*spool.ReadBuffer
	used    int // of reads, by the batch being read
	envs    []event.Envelope
	records []*event.Envelope
}

// nextRead returns the buffer for the batch's next read from the spool.
func (m *readMemory) nextRead() *spool.ReadBuffer {
	if m.used == len(m.reads) {
		m.reads = append(m.reads, new(spool.ReadBuffer))
	}
	m.used++
	return m.reads[m.used-1]
}

// spareBatches is how many batches' memory a runner keeps for reuse: the
// batch being written and the one read ahead meanwhile; keptReads is how
// many of a batch's read buffers it keeps (a full batch is one read).
const (
	spareBatches = 2
	keptReads    = 1
)

// takeMemory returns memory to read and decode a batch into: one given
// back, or new; nil when the sink may keep what it is handed.
func (r *runner) takeMemory() *readMemory {
	if r.spare == nil {
		return nil
	}
	select {
	case m := <-r.spare:
		return m
	default:
		return new(readMemory)
	}
}

// giveBack keeps a written batch's memory for a later batch. The sink
// keeps nothing of it (sink.KeepsNoStrings), nor does the runner once
// the batch is passed.
func (r *runner) giveBack(m *readMemory) {
	if m == nil {
		return
	}
	// A batch read in many small reads, as one lingering for records at
	// a paced rate is, is not kept whole: each of its buffers grows to
	// the largest read it ever took, and kept together they held 3 MB
	// more at single-event load (RssAnon after the run 20.5-20.8 MiB
	// with one kept, 23.5-23.8 with all).
	if len(m.reads) > keptReads {
		clear(m.reads[keptReads:])
		m.reads = m.reads[:keptReads]
	}
	m.used = 0
	select {
	case r.spare <- m:
	default:
	}
}

// stagedBatch is a batch a staging sink took: the sink's count of taken
// Writes once it had, and the batch's last offset and caught-up time.
type stagedBatch struct {
	taken      uint64
	last       uint64
	caughtUpAt time.Time
}

// commitEvery is how often a runner makes its cursor durable while it
// delivers. A durable commit costs a file replace and two fsyncs; making
// one per batch cost a third of the throughput. Between commits the
// delivered offset is known in memory (for acknowledgements and draining);
// a crash re-delivers at most this much, which sinks deduplicate.
const commitEvery = 100 * time.Millisecond

// run delivers until ctx ends. One goroutine reads and decodes the next
// batch while this one writes the current batch to the sink, so reading,
// decoding and the sink's write overlap.
func (r *runner) run(ctx context.Context) {
	// Nothing is read for a sink before it is connected: the spool holds
	// its records meanwhile, and its cursor stays where it is.
	if !r.connect(ctx) {
		return
	}
	log := r.svc.log.With("sink", r.Name)
	readCtx, stopReading := context.WithCancel(ctx)
	// Unbuffered: the batch being written and the next one, read and
	// decoded while it is, are all a runner holds. A buffer would hold a
	// third (at the default 250 records, about 0.75 MB read and decoded)
	// for no more overlap: the sink's write is the slower side.
	batches := make(chan batch)
	read := make(chan struct{})
	go func() {
		defer close(read)
		r.readAhead(readCtx, batches)
	}()
	// The cursor is made durable beside the deliveries: a commit is a
	// sink.Syncer's Sync, a file replace and two fsyncs, which the sink's
	// next write need not wait for.
	r.toCommit = make(chan uint64, 1)
	committed := make(chan struct{})
	go func(offsets <-chan uint64) {
		defer close(committed)
		for off := range offsets {
			r.commitOffset(log, off)
		}
	}(r.toCommit)
	defer func() {
		stopReading()
		<-read
		close(r.toCommit)
		<-committed
		r.toCommit = nil
		r.commit(log) // what was delivered before ctx ended
	}()
	var due <-chan time.Time
	// flushDue fires when a staging sink wants Flush called; drain is
	// closed when the service drains, and set to nil once it was seen.
	var flushDue <-chan time.Time
	var flushTimer *time.Timer
	var drain <-chan struct{}
	if r.staging != nil {
		drain = r.svc.draining
	}
	defer func() {
		if flushTimer != nil {
			flushTimer.Stop()
		}
	}()
	for {
		select {
		case b, ok := <-batches:
			if !ok {
				return
			}
			if !r.deliverBatch(ctx, b) {
				return
			}
			r.giveBack(b.mem)
			if r.staging != nil && r.isDraining() && !b.caughtUpAt.IsZero() {
				// Caught up while draining: store what the sink holds
				// rather than wait for its roll.
				if !r.flush(ctx, true) {
					return
				}
			}
		case <-due:
			// Idle with a delivery not yet durable: make it so.
		case <-flushDue:
			if !r.flush(ctx, false) {
				return
			}
		case <-drain:
			drain = nil
			if !r.flush(ctx, true) {
				return
			}
		case <-ctx.Done():
			return
		}
		if time.Since(r.lastCommit) >= commitEvery {
			r.commit(log)
		}
		due = nil
		if r.delivered > r.durable.Load() {
			due = time.After(time.Until(r.lastCommit.Add(commitEvery)))
		}
		if r.staging != nil {
			if flushTimer != nil {
				flushTimer.Stop()
			}
			flushDue = nil
			if at := r.staging.Due(); !at.IsZero() {
				flushTimer = time.NewTimer(time.Until(at))
				flushDue = flushTimer.C
			}
		}
	}
}

// isDraining reports whether the service is draining the spool.
func (r *runner) isDraining() bool {
	select {
	case <-r.svc.draining:
		return true
	default:
		return false
	}
}

// flush calls the staging sink's Flush (all: every buffer) until it
// succeeds or ctx ends, waiting between attempts as between failed
// writes, and then moves past the batches it stored; false means ctx
// ended first.
func (r *runner) flush(ctx context.Context, all bool) bool {
	log := r.svc.log.With("sink", r.Name)
	for attempt := 1; ; attempt++ {
		err := r.staging.Flush(ctx, all)
		if err == nil {
			if attempt > 1 {
				log.Info("sink flush succeeded after retries", "attempts", attempt)
			}
			r.passStaged()
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		// What the sink stored before the failure is passed all the same.
		r.passStaged()
		r.counters.failed(err)
		r.counters.retried.Add(1)
		wait := backoff(r.Options.BackoffMin, r.Options.BackoffMax, attempt)
		log.Warn("sink flush failed; retrying", "attempt", attempt, "retry_in", wait.Round(time.Millisecond), "err", err)
		if !sleep(ctx, wait) {
			return false
		}
	}
}

// passStaged moves the delivered offset past every staged batch the sink
// has stored.
func (r *runner) passStaged() {
	_, stored := r.staging.Staged()
	n := 0
	for n < len(r.staged) && r.staged[n].taken <= stored {
		r.delivered = r.staged[n].last
		if at := r.staged[n].caughtUpAt; !at.IsZero() {
			r.caughtUp.Store(at.UnixNano())
		}
		n++
	}
	if n == 0 {
		return
	}
	r.staged = append(r.staged[:0], r.staged[n:]...)
	r.committed.Store(r.delivered)
	r.svc.signalCommit()
}

// connect calls the sink's Connect until it succeeds or ctx ends, waiting
// between attempts as between failed writes: backoff_min doubling up to
// backoff_max, with jitter. It reports whether the sink is connected.
func (r *runner) connect(ctx context.Context) bool {
	defer r.triedOnce.Do(func() { close(r.tried) })
	log := r.svc.log.With("sink", r.Name)
	for attempt := 1; ; attempt++ {
		err := r.Target.Sink.Connect(ctx)
		if err == nil {
			r.connected.Store(true)
			if attempt > 1 {
				log.Info("sink connected", "attempts", attempt)
			}
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		r.counters.connectFailed(err)
		wait := backoff(r.Options.BackoffMin, r.Options.BackoffMax, attempt)
		log.Warn("sink not connected; retrying", "attempt", attempt, "retry_in", wait.Round(time.Millisecond), "err", err)
		r.triedOnce.Do(func() { close(r.tried) })
		if !sleep(ctx, wait) {
			return false
		}
	}
}

// notConnected is the error of a direct write to a sink not yet connected.
func (r *runner) notConnected() error {
	if last := r.counters.snapshot(r.Name).LastConnectError; last != "" {
		return fmt.Errorf("sink %s: %w (last attempt: %s)", r.Name, ErrNotConnected, last)
	}
	return fmt.Errorf("sink %s: %w", r.Name, ErrNotConnected)
}

// readAhead reads and decodes batches until ctx ends, then closes out.
func (r *runner) readAhead(ctx context.Context, out chan<- batch) {
	defer close(out)
	log := r.svc.log.With("sink", r.Name)
	var mem *readMemory
	for {
		if mem == nil {
			mem = r.takeMemory()
		} else {
			mem.used = 0 // nothing of the last read was handed on
		}
		entries, err := r.next(ctx, mem)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, spool.ErrClosed) {
				return
			}
			var corrupt *spool.CorruptError
			if errors.As(err, &corrupt) {
				r.counters.failed(corrupt)
				if corrupt.NextSegment == 0 {
					log.Error("spool corrupt at its end; waiting for a restart to cut it", "err", corrupt)
					if !sleep(ctx, r.Options.BackoffMax) {
						return
					}
					continue
				}
				// The damaged records cannot be read back, and stopping
				// here would stop this sink for good and, once the spool
				// fills, the collector with it.
				log.Error("spool segment corrupt; skipping the rest of it, its remaining records are lost for this sink", "err", corrupt, "resume_at", corrupt.NextSegment)
				skip := batch{skipTo: corrupt.NextSegment - 1, skipped: make(chan struct{})}
				if !send(ctx, out, skip) {
					return
				}
				// The reader is stuck at the damage until the cursor
				// moves past it.
				select {
				case <-skip.skipped:
				case <-ctx.Done():
					return
				}
				continue
			}
			log.Error("read spool", "err", err)
			r.counters.failed(err)
			if !sleep(ctx, r.Options.BackoffMax) {
				return
			}
			continue
		}
		if len(entries) == 0 {
			continue
		}
		b := r.decode(entries, mem)
		b.mem, mem = mem, nil
		// Taken before the spool's end is read, so that every record
		// appended before it is below that end.
		now := time.Now()
		if r.svc.cfg.Spool == nil {
			// A broker's log: its end is not known here.
			b.caughtUpAt = now
		} else if b.last+1 >= r.svc.cfg.Spool.NextOffset() {
			b.caughtUpAt = now
		}
		if !send(ctx, out, b) {
			return
		}
	}
}

// decode turns spooled records into the envelopes the sink is handed: each
// keeps the bytes it was spooled as (Envelope.JSON), and is decoded no
// further than the sink reads. A sink that writes JSON only needs valid,
// for the selection; the rest need every field.
//
// With mem set, the envelopes are decoded into its memory.
func (r *runner) decode(entries []spool.Entry, mem *readMemory) batch {
	b := batch{last: entries[len(entries)-1].Offset}
	var envs []event.Envelope
	if mem == nil {
		// One allocation for the batch's envelopes rather than one each.
		envs = make([]event.Envelope, len(entries))
		b.records = make([]*event.Envelope, 0, len(entries))
	} else {
		if cap(mem.envs) < len(entries) {
			mem.envs = make([]event.Envelope, len(entries))
			mem.records = make([]*event.Envelope, 0, len(entries))
		}
		envs = mem.envs[:len(entries)]
		clear(envs)
		b.records = mem.records[:0]
	}
	for i, e := range entries {
		env := &envs[i]
		var err error
		switch {
		case r.jsonOnly:
			env.Valid, err = event.PeekValid(e.Data)
		case r.shared:
			err = event.DecodeEnvelopeShared(e.Data, env)
		default:
			err = event.DecodeEnvelope(e.Data, env)
		}
		if err != nil {
			b.undecodable = append(b.undecodable, e.Data)
			continue
		}
		env.JSON = e.Data
		if r.Records == sink.All || r.Records == "" || env.Valid == (r.Records == sink.Good) {
			b.records = append(b.records, env)
		}
	}
	return b
}

func send(ctx context.Context, out chan<- batch, b batch) bool {
	select {
	case out <- b:
		return true
	case <-ctx.Done():
		return false
	}
}

// deliverBatch writes b to the sink (or its dead letter) and notes the
// offset passed; false means ctx ended first and nothing may be committed.
func (r *runner) deliverBatch(ctx context.Context, b batch) bool {
	if b.skipTo > 0 {
		// Records staged before the damage are stored before the
		// cursor moves past it.
		if r.staging != nil && len(r.staged) > 0 && !r.flush(ctx, true) {
			return false
		}
		r.delivered = max(r.delivered, b.skipTo)
		r.committed.Store(r.delivered)
		r.svc.signalCommit()
		r.commitOffset(r.svc.log.With("sink", r.Name), r.delivered)
		close(b.skipped)
		return true
	}
	if len(b.undecodable) > 0 {
		// Never expected: the spool holds what Deliver encoded. Keep
		// the bytes rather than block the sink on them.
		if !r.deadLetterRecords(ctx, b.undecodable, errors.New("the spooled record is not a readable envelope"), 0) {
			return false
		}
	}
	if !r.deliver(ctx, b.records) {
		return false
	}
	if r.staging != nil {
		// Passed once the sink stored every Write it took so far.
		taken, _ := r.staging.Staged()
		r.staged = append(r.staged, stagedBatch{taken: taken, last: b.last, caughtUpAt: b.caughtUpAt})
		r.passStaged()
		return true
	}
	r.delivered = b.last
	r.committed.Store(r.delivered)
	if !b.caughtUpAt.IsZero() {
		r.caughtUp.Store(b.caughtUpAt.UnixNano())
	}
	r.svc.signalCommit()
	return true
}

// commit asks for the delivered offset to be made durable in the sink's
// cursor: by the committer goroutine while the runner delivers, else at
// once. One that fails is asked for again commitEvery later.
func (r *runner) commit(log *slog.Logger) {
	if r.delivered <= r.durable.Load() {
		return
	}
	r.lastCommit = time.Now()
	if r.toCommit == nil {
		r.commitOffset(log, r.delivered)
		return
	}
	select {
	case <-r.toCommit: // superseded
	default:
	}
	r.toCommit <- r.delivered // the runner is the only sender
}

// commitOffset makes off durable in the sink's cursor.
func (r *runner) commitOffset(log *slog.Logger, off uint64) {
	if off <= r.durable.Load() {
		return
	}
	if sy, ok := r.Target.Sink.(sink.Syncer); ok {
		// What the sink took must be as durable as the cursor that
		// says so; without it the records are delivered again after a
		// restart, as without the commit.
		if err := sy.Sync(context.Background()); err != nil {
			log.Error("sync sink before committing its spool cursor", "offset", off, "err", err)
			r.counters.failed(err)
			return
		}
	}
	if err := r.reader.Commit(off); err != nil {
		// The records are delivered; without the commit they are
		// delivered again after a restart, which the sinks absorb.
		log.Error("commit spool cursor", "offset", off, "err", err)
		r.counters.failed(err)
		return
	}
	for {
		// The committer and, past a damaged segment, the runner both
		// commit: durable only moves forward.
		d := r.durable.Load()
		if off <= d || r.durable.CompareAndSwap(d, off) {
			return
		}
	}
}

// readGap is the shortest time between two reads of a batch for a sink
// that no request waits for (spool.ack: spool): a batch that is not full,
// read sooner than readGap after the one before it, waits until then for
// the records arriving meanwhile. A trickle of single-event requests then
// costs the sink one write every readGap instead of one a request or two,
// and a record after a quiet spell is still read at once.
//
// For the SQLite sink every transaction writes each page it touches (the
// table's, its indexes', the typed table's: then 16 KiB each) to the WAL and,
// at the next checkpoint, to the database: at 2,500 single-event requests/s
// it wrote about 30 KB to the disk a record, 70 MB/s, and the spool's
// fsyncs queued behind those writes (their p99 went from under a
// millisecond on an idle disk to tens of milliseconds). One transaction
// every 20 ms wrote a third of that.
const readGap = 20 * time.Millisecond

// next reads the next batch, lingering for a fuller one when configured
// or when the last batch was read less than readGap ago (see paced).
//
// With mem set, a reader that can (*spool.Reader) reads into its memory.
func (r *runner) next(ctx context.Context, mem *readMemory) ([]spool.Entry, error) {
	entries, err := r.read(ctx, mem, r.Options.BatchRecords, r.Options.BatchBytes)
	if err != nil {
		return entries, err
	}
	now := time.Now()
	var deadline time.Time
	if r.Options.Linger > 0 {
		deadline = now.Add(r.Options.Linger)
	}
	if r.paced() && now.Sub(r.lastRead) < readGap {
		deadline = maxTime(deadline, r.lastRead.Add(readGap))
	}
	defer func() { r.lastRead = time.Now() }()
	if !deadline.After(now) {
		return entries, nil
	}
	bytes := 0
	for _, e := range entries {
		bytes += len(e.Data)
	}
	for len(entries) < r.Options.BatchRecords && bytes < r.Options.BatchBytes {
		lctx, cancel := context.WithDeadline(ctx, deadline)
		more, err := r.read(lctx, mem, r.Options.BatchRecords-len(entries), r.Options.BatchBytes-bytes)
		cancel()
		if err != nil {
			if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
				break // lingered long enough
			}
			return nil, err
		}
		for _, e := range more {
			bytes += len(e.Data)
		}
		entries = append(entries, more...)
	}
	return entries, nil
}

// readerInto is a Reader that can read into memory given back
// (*spool.Reader); a broker's log consumer allocates its own.
type readerInto interface {
	NextInto(ctx context.Context, maxRecords, maxBytes int, buf *spool.ReadBuffer) ([]spool.Entry, error)
}

// read is the reader's Next, into mem's next buffer when it can.
func (r *runner) read(ctx context.Context, mem *readMemory, maxRecords, maxBytes int) ([]spool.Entry, error) {
	if into, ok := r.reader.(readerInto); ok && mem != nil {
		return into.NextInto(ctx, maxRecords, maxBytes, mem.nextRead())
	}
	return r.reader.Next(ctx, maxRecords, maxBytes)
}

// paced reports whether the reads for the sink keep readGap between them:
// not while a request waits for the sink (spool.ack: sinks), not for a
// staging sink, which gathers records itself, and not while the service
// drains the spool.
func (r *runner) paced() bool {
	return !r.svc.cfg.WaitForSinks && r.staging == nil && !r.isDraining()
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// deliver writes records to the sink until it takes them, they are
// dead-lettered, or ctx ends (false: nothing may be committed).
func (r *runner) deliver(ctx context.Context, batch []*event.Envelope) bool {
	if len(batch) == 0 {
		return true
	}
	log := r.svc.log.With("sink", r.Name)
	for attempt := 1; ; attempt++ {
		err := r.Target.Sink.Write(ctx, batch)
		if err == nil {
			r.counters.delivered.Add(uint64(len(batch)))
			r.lastSuccess.Store(time.Now().UnixNano())
			if attempt > 1 {
				log.Info("sink write succeeded after retries", "attempts", attempt, "records", len(batch))
			}
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		r.counters.failed(err)
		var permanent *sink.PermanentError
		if errors.As(err, &permanent) {
			if len(batch) > 1 {
				// Find the records the sink refuses: halve the batch
				// until each refusal is down to one record.
				half := len(batch) / 2
				return r.deliver(ctx, batch[:half]) && r.deliver(ctx, batch[half:])
			}
			return r.deadLetterEnvelopes(ctx, batch, err, attempt)
		}
		if r.Options.MaxAttempts > 0 && attempt >= r.Options.MaxAttempts {
			return r.deadLetterEnvelopes(ctx, batch, fmt.Errorf("gave up after %d attempts: %w", attempt, err), attempt)
		}
		r.counters.retried.Add(1)
		wait := backoff(r.Options.BackoffMin, r.Options.BackoffMax, attempt)
		var after *sink.RetryAfterError
		if errors.As(err, &after) && after.After > 0 {
			wait = after.After
		}
		log.Warn("sink write failed; retrying", "attempt", attempt, "records", len(batch), "retry_in", wait.Round(time.Millisecond), "err", err)
		if !sleep(ctx, wait) {
			return false
		}
	}
}

// deadLetterEnvelopes dead-letters records as they were spooled.
func (r *runner) deadLetterEnvelopes(ctx context.Context, records []*event.Envelope, cause error, attempts int) bool {
	data := make([][]byte, len(records))
	for i, env := range records {
		data[i] = env.JSON
	}
	return r.deadLetterRecords(ctx, data, cause, attempts)
}

// deadLetterRecords writes records to the sink's dead letter, retrying a
// failed write (a full disk, say) until it succeeds or ctx ends.
func (r *runner) deadLetterRecords(ctx context.Context, records [][]byte, cause error, attempts int) bool {
	log := r.svc.log.With("sink", r.Name)
	for try := 1; ; try++ {
		err := r.deadLetter.write(r.Name, records, cause, attempts)
		if err == nil {
			r.counters.deadLettered.Add(uint64(len(records)))
			log.Warn("records sent to the dead letter", "records", len(records), "path", r.deadLetter.path, "err", cause)
			return true
		}
		log.Error("write dead letter", "err", err)
		r.counters.failed(err)
		if !sleep(ctx, backoff(r.Options.BackoffMin, r.Options.BackoffMax, try)) {
			return false
		}
	}
}

// backoff is the wait before retry number attempt: min doubled per attempt,
// capped at max, less a random jitter of up to half, so that sinks failing
// together do not retry in step.
func backoff(least, most time.Duration, attempt int) time.Duration {
	d := least
	for i := 1; i < attempt && d < most; i++ {
		d *= 2
	}
	d = min(d, most)
	return d - time.Duration(rand.Int64N(int64(d)/2+1))
}

// sleep waits for d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
