package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/spool"
)

// runner delivers the spool to one sink.
type runner struct {
	Sink
	svc        *Service
	reader     *spool.Reader
	deadLetter *deadLetterFile
	counters   sinkCounters
	// committed is the last offset the sink has passed (delivered or
	// dead-lettered), read by other goroutines.
	committed atomic.Uint64
	// delivered is the same, owned by the runner's goroutine; durable is
	// the offset last made durable in the cursor, at lastCommit.
	delivered, durable uint64
	lastCommit         time.Time
}

// item is one record read from the spool: its bytes (for the dead letter)
// and, when it decoded, its envelope.
type item struct {
	data []byte
	env  *event.Envelope
}

// commitEvery is how often a runner makes its cursor durable while it
// delivers. A durable commit costs a file replace and two fsyncs; making
// one per batch cost a third of the throughput. Between commits the
// delivered offset is known in memory (for acknowledgements and draining);
// a crash re-delivers at most this much, which sinks deduplicate.
const commitEvery = 100 * time.Millisecond

// run delivers until ctx ends.
func (r *runner) run(ctx context.Context) {
	log := r.svc.log.With("sink", r.Name)
	defer r.commit(log) // what was delivered before ctx ended
	for {
		entries, err := r.next(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, spool.ErrClosed) {
				return
			}
			var corrupt *spool.CorruptError
			if errors.As(err, &corrupt) {
				r.skipCorrupt(ctx, corrupt)
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
		items := make([]item, 0, len(entries))
		var undecodable [][]byte
		for _, e := range entries {
			env := new(event.Envelope)
			if err := event.DecodeEnvelope(e.Data, env); err != nil {
				undecodable = append(undecodable, e.Data)
				continue
			}
			if r.Records == sink.All || r.Records == "" || env.Valid == (r.Records == sink.Good) {
				items = append(items, item{data: e.Data, env: env})
			}
		}
		if len(undecodable) > 0 {
			// Never expected: the spool holds what Deliver encoded. Keep
			// the bytes rather than block the sink on them.
			if !r.deadLetterRecords(ctx, undecodable, errors.New("the spooled record is not a readable envelope"), 0) {
				return
			}
		}
		if !r.deliver(ctx, items) {
			return
		}
		r.delivered = entries[len(entries)-1].Offset
		r.committed.Store(r.delivered)
		r.svc.signalCommit()
		if time.Since(r.lastCommit) >= commitEvery {
			r.commit(log)
		}
	}
}

// commit makes the delivered offset durable in the sink's cursor.
func (r *runner) commit(log *slog.Logger) {
	if r.delivered <= r.durable {
		return
	}
	r.lastCommit = time.Now()
	if err := r.reader.Commit(r.delivered); err != nil {
		// The records are delivered; without the commit they are
		// delivered again after a restart, which the sinks absorb.
		log.Error("commit spool cursor", "offset", r.delivered, "err", err)
		r.counters.failed(err)
		return
	}
	r.durable = r.delivered
}

// next reads the next batch, lingering for a fuller one when configured.
func (r *runner) next(ctx context.Context) ([]spool.Entry, error) {
	entries, err := r.nextOrCommit(ctx)
	if err != nil || r.Options.Linger <= 0 {
		return entries, err
	}
	bytes := 0
	for _, e := range entries {
		bytes += len(e.Data)
	}
	deadline := time.Now().Add(r.Options.Linger)
	for len(entries) < r.Options.BatchRecords && bytes < r.Options.BatchBytes {
		lctx, cancel := context.WithDeadline(ctx, deadline)
		more, err := r.reader.Next(lctx, r.Options.BatchRecords-len(entries), r.Options.BatchBytes-bytes)
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

// nextOrCommit reads the next records. While a commit is pending it waits
// for them only until the commit is due, makes it, and waits on, so an idle
// sink's cursor is durable soon after its last delivery.
func (r *runner) nextOrCommit(ctx context.Context) ([]spool.Entry, error) {
	for r.delivered > r.durable {
		wait, cancel := context.WithDeadline(ctx, r.lastCommit.Add(commitEvery))
		entries, err := r.reader.Next(wait, r.Options.BatchRecords, r.Options.BatchBytes)
		cancel()
		if err == nil || ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
			return entries, err
		}
		r.commit(r.svc.log.With("sink", r.Name))
		if r.delivered > r.durable {
			break // the commit failed; it is retried after the next batch
		}
	}
	return r.reader.Next(ctx, r.Options.BatchRecords, r.Options.BatchBytes)
}

// deliver writes items to the sink until it takes them, they are
// dead-lettered, or ctx ends (false: nothing may be committed).
func (r *runner) deliver(ctx context.Context, items []item) bool {
	if len(items) == 0 {
		return true
	}
	batch := make([]*event.Envelope, len(items))
	for i, it := range items {
		batch[i] = it.env
	}
	log := r.svc.log.With("sink", r.Name)
	for attempt := 1; ; attempt++ {
		err := r.Sink.Sink.Write(ctx, batch)
		if err == nil {
			r.counters.delivered.Add(uint64(len(batch)))
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
			if len(items) > 1 {
				// Find the records the sink refuses: halve the batch
				// until each refusal is down to one record.
				half := len(items) / 2
				return r.deliver(ctx, items[:half]) && r.deliver(ctx, items[half:])
			}
			return r.deadLetterItems(ctx, items, err, attempt)
		}
		if r.Options.MaxAttempts > 0 && attempt >= r.Options.MaxAttempts {
			return r.deadLetterItems(ctx, items, fmt.Errorf("gave up after %d attempts: %w", attempt, err), attempt)
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

func (r *runner) deadLetterItems(ctx context.Context, items []item, cause error, attempts int) bool {
	data := make([][]byte, len(items))
	for i, it := range items {
		data[i] = it.data
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

// skipCorrupt moves the cursor past a damaged segment. The damaged records
// cannot be read back, and stopping here would stop this sink for good and,
// once the spool fills, the collector with it.
func (r *runner) skipCorrupt(ctx context.Context, corrupt *spool.CorruptError) {
	log := r.svc.log.With("sink", r.Name)
	r.counters.failed(corrupt)
	if corrupt.NextSegment == 0 {
		log.Error("spool corrupt at its end; waiting for a restart to cut it", "err", corrupt)
		sleep(ctx, r.Options.BackoffMax)
		return
	}
	log.Error("spool segment corrupt; skipping the rest of it, its remaining records are lost for this sink", "err", corrupt, "resume_at", corrupt.NextSegment)
	if err := r.reader.Commit(corrupt.NextSegment - 1); err != nil {
		log.Error("commit spool cursor past corrupt segment", "err", err)
		sleep(ctx, r.Options.BackoffMax)
		return
	}
	r.delivered, r.durable = corrupt.NextSegment-1, corrupt.NextSegment-1
	r.committed.Store(r.delivered)
	r.svc.signalCommit()
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
