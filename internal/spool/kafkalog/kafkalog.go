// Package kafkalog is the shared log of spool.kind kafka: collectors
// produce every record they take to one Kafka topic and answer a request
// once the brokers have acknowledged its records (an idempotent producer,
// acks=all), keeping no state of their own; accord load consumes the topic
// with one consumer group per sink and commits a partition's offset only
// after the sink has written (or dead-lettered) the records before it.
//
// The client is built with the kafka sink's connection code
// (kafka.ClientOptions), so TLS and SASL behave as they do there.
package kafkalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/redact"
	"github.com/accord-events/accord/internal/sink/kafka"
	"github.com/accord-events/accord/internal/spool"
)

// Header names of every record, as the kafka sink writes them.
const (
	HeaderEventID = kafka.HeaderEventID
	HeaderSchema  = kafka.HeaderSchema
)

// pingEvery is how often the collector checks that the brokers answer
// while they do not (and, slower, while they do).
const (
	pingDown = 500 * time.Millisecond
	pingUp   = 5 * time.Second
)

// ErrUnavailable matches Append's error while the brokers are away.
var ErrUnavailable = errors.New("kafka log unavailable")

// Log is the shared log on Kafka. It is safe for concurrent use.
type Log struct {
	opts   Options
	so     kafka.Options
	log    *slog.Logger
	client *kgo.Client

	inFlight atomic.Int64
	// state is nil while the brokers answer and the topic exists, else
	// why not.
	state atomic.Pointer[error]

	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// Open builds the producer and starts checking the brokers in the
// background; it does no I/O itself, so a cluster that is down at start
// does not stop the collector: until the brokers answer and the topic is
// ensured, Append fails with ErrUnavailable and Ready says why.
func Open(opts Options, logger *slog.Logger) (*Log, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	so := opts.sinkOptions()
	client, err := kgo.NewClient(kafka.ClientOptions(so)...)
	if err != nil {
		return nil, fmt.Errorf("kafka log: %s", redact.Error(err))
	}
	l := &Log{opts: opts, so: so, log: logger, client: client, stop: make(chan struct{})}
	first := fmt.Errorf("%w: not yet connected to %s", ErrUnavailable, strings.Join(opts.Brokers, ", "))
	l.state.Store(&first)
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		l.watch()
	}()
	return l, nil
}

// watch pings the brokers (and ensures the topic, once) until Close,
// keeping state up to date.
func (l *Log) watch() {
	ensured := false
	wait := time.Duration(0)
	wasDown := false
	for {
		select {
		case <-l.stop:
			return
		case <-time.After(wait):
		}
		ctx, cancel := context.WithTimeout(context.Background(), max(l.opts.Timeout, 2*time.Second))
		err := l.client.Ping(ctx)
		if err == nil && !ensured {
			if err = kafka.EnsureTopics(ctx, kadm.NewClient(l.client), l.so, l.opts.Topic); err == nil {
				ensured = true
			}
		}
		cancel()
		if err != nil {
			e := fmt.Errorf("%w: brokers %s: %s", ErrUnavailable, strings.Join(l.opts.Brokers, ", "), redact.Error(err))
			l.state.Store(&e)
			if !wasDown {
				l.log.Error("kafka log unavailable: requests are answered 503 until the brokers answer", "err", e)
			}
			wasDown, wait = true, pingDown
			continue
		}
		l.state.Store(nil)
		if wasDown {
			l.log.Info("kafka log available", "brokers", strings.Join(l.opts.Brokers, ", "), "topic", l.opts.Topic)
		}
		wasDown, wait = false, pingUp
	}
}

// Ready returns an error while the brokers do not answer or the topic is
// not yet ensured.
func (l *Log) Ready() error {
	if e := l.state.Load(); e != nil {
		return *e
	}
	return nil
}

// Append produces the records and returns once the brokers acknowledged
// every one, within spool.kafka.timeout. See delivery.Log.
func (l *Log) Append(ctx context.Context, records [][]byte, envs []*event.Envelope) error {
	var n int64
	for _, r := range records {
		if len(r) > l.opts.MaxRecordBytes {
			return fmt.Errorf("a record of %d bytes is larger than spool.kafka.max_record_bytes (%d): %w", len(r), l.opts.MaxRecordBytes, spool.ErrTooLarge)
		}
		n += int64(len(r))
	}
	if now := l.inFlight.Add(n); now > l.opts.MaxInFlightBytes && now != n {
		l.inFlight.Add(-n)
		return fmt.Errorf("kafka log: %d bytes already wait for the brokers' acknowledgement (spool.kafka.max_in_flight_bytes %d): %w", now-n, l.opts.MaxInFlightBytes, spool.ErrFull)
	}
	if err := l.Ready(); err != nil {
		l.inFlight.Add(-n)
		return err
	}
	// Each record's bytes stay counted until the brokers acknowledge or
	// refuse it, even past the request's wait: a record already sent is
	// neither recalled nor forgotten by an idempotent producer.
	var (
		mu              sync.Mutex
		refused, failed error
		remaining       = int64(len(records))
		done            = make(chan struct{})
	)
	produceCtx, cancel := context.WithCancel(context.Background())
	for i, r := range records {
		rec := &kgo.Record{Topic: l.opts.Topic, Value: r, Headers: []kgo.RecordHeader{
			{Key: HeaderEventID, Value: []byte(envs[i].EventID)},
			{Key: HeaderSchema, Value: []byte(envs[i].Schema)},
		}}
		if key := kafka.RecordKey(envs[i], l.opts.Key); key != "" {
			rec.Key = []byte(key)
		}
		size := int64(len(r))
		l.client.Produce(produceCtx, rec, func(_ *kgo.Record, err error) {
			l.inFlight.Add(-size)
			if err != nil {
				mu.Lock()
				// Only a size refusal is answered as too large (413: the
				// client must not send it again); any other error is a
				// 503 the client retries, never a reason to drop events.
				if kafka.TooLarge(err) {
					refused = err
				} else if failed == nil {
					failed = err
				}
				mu.Unlock()
			}
			if atomic.AddInt64(&remaining, -1) == 0 {
				close(done)
			}
		})
	}
	timer := time.NewTimer(l.opts.Timeout)
	defer timer.Stop()
	select {
	case <-done:
		cancel()
	case <-timer.C:
		// Records not yet sent are dropped; those sent may still be
		// stored (the request was not acknowledged: a resend is a
		// duplicate that sinks drop on event_id).
		cancel()
		return fmt.Errorf("kafka log: the brokers did not acknowledge every record within spool.kafka.timeout (%s)", l.opts.Timeout)
	case <-ctx.Done():
		cancel()
		return fmt.Errorf("kafka log: %w", ctx.Err())
	}
	mu.Lock()
	defer mu.Unlock()
	switch {
	case refused != nil:
		return fmt.Errorf("the brokers refused a record of the request (%s): %w", redact.Error(refused), spool.ErrTooLarge)
	case failed != nil:
		return fmt.Errorf("kafka log: not every record was acknowledged: %s", redact.Error(failed))
	}
	return nil
}

// Close stops the background check and closes the producer; records
// still unacknowledged fail (their requests were not acknowledged).
func (l *Log) Close() error {
	l.once.Do(func() {
		close(l.stop)
		l.wg.Wait()
		l.client.Close()
	})
	return nil
}

// Reader joins the consumer group of the sink called name
// (group_prefix.name) on the log's topic. A new group starts at the
// topic's oldest record.
func (l *Log) Reader(name string) (*Reader, error) {
	r := &Reader{log: l.log.With("sink", name, "group", l.opts.GroupPrefix+"."+name)}
	opts := append(kafka.ClientOptions(l.so),
		kgo.ConsumerGroup(l.opts.GroupPrefix+"."+name),
		kgo.ConsumeTopics(l.opts.Topic),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(l.opts.SessionTimeout),
		kgo.HeartbeatInterval(max(l.opts.SessionTimeout/10, 100*time.Millisecond)),
		kgo.OnPartitionsRevoked(r.revoked),
		kgo.OnPartitionsLost(r.revoked),
		// What a reader holds is bounded in bytes, not only in records:
		// the client fetches only while Next polls, one fetch at a time,
		// asking for no more than Next's maxBytes (the sink's
		// batch_bytes), so it holds at most two fetches (the one being
		// handed out and the one a poll let in behind it), each about a
		// batch, or one producer batch when that alone is larger (the
		// brokers never split one). By default it would buffer a fetch
		// of up to 50 MiB a broker ahead of the sink.
		kgo.MaxConcurrentFetches(0),
		// With one fetch at a time, a broker that has nothing new holds
		// the poll this long before the next broker is asked.
		kgo.FetchMaxWait(time.Second),
	)
	client, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka log reader %s: %s", name, redact.Error(err))
	}
	r.client = client
	return r, nil
}

// Reader reads the log as one member of a sink's consumer group. The
// offsets it hands out number the records it read, one by one from 1; a
// Commit of one of them commits, partition by partition, the Kafka offset
// after the last record up to it.
type Reader struct {
	log    *slog.Logger
	client *kgo.Client

	mu sync.Mutex
	// seq is the number of the last record handed out.
	seq uint64
	// marks are the records handed out and not yet committed, in order.
	marks []mark
	// pending are records polled but not yet handed out.
	pending []*kgo.Record
	// fetchBytes is what the client's fetches ask for now (set by Next
	// before its first poll, so before any fetch).
	fetchBytes int32
	// commitMu keeps commits in order.
	commitMu sync.Mutex
}

type mark struct {
	seq       uint64
	topic     string
	partition int32
	offset    int64
	epoch     int32
}

// Next returns up to maxRecords records (and about maxBytes), waiting for
// one until ctx ends. What it polls from the client, and what the client
// fetches next, is bounded by maxBytes too: records polled and not handed
// out wait for the next call, and are never more than one fetch.
func (r *Reader) Next(ctx context.Context, maxRecords, maxBytes int) ([]spool.Entry, error) {
	r.mu.Lock()
	have := len(r.pending)
	if fb := int32(min(max(maxBytes, 1), math.MaxInt32)); fb != r.fetchBytes {
		r.fetchBytes = fb
		r.client.UpdateFetchMaxBytes(fb, fb)
	}
	r.mu.Unlock()
	if have == 0 {
		fetches := r.client.PollRecords(ctx, maxRecords)
		if fetches.IsClientClosed() {
			return nil, spool.ErrClosed
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var ferr error
		fetches.EachError(func(topic string, p int32, err error) {
			if ferr == nil && !errors.Is(err, context.Canceled) {
				ferr = fmt.Errorf("fetch %s/%d: %s", topic, p, redact.Error(err))
			}
		})
		recs := fetches.Records()
		if len(recs) == 0 && ferr != nil {
			return nil, ferr
		}
		r.mu.Lock()
		r.pending = append(r.pending, recs...)
		r.mu.Unlock()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []spool.Entry
	bytes := 0
	for len(r.pending) > 0 && len(out) < maxRecords {
		rec := r.pending[0]
		if len(out) > 0 && bytes+len(rec.Value) > maxBytes {
			break
		}
		r.pending = r.pending[1:]
		r.seq++
		bytes += len(rec.Value)
		out = append(out, spool.Entry{Offset: r.seq, Data: rec.Value})
		r.marks = append(r.marks, mark{seq: r.seq, topic: rec.Topic, partition: rec.Partition, offset: rec.Offset + 1, epoch: rec.LeaderEpoch})
	}
	return out, nil
}

// Commit commits, for each partition, the offset after the last record
// handed out up to offset; it returns once the group coordinator took it.
func (r *Reader) Commit(offset uint64) error {
	r.commitMu.Lock()
	defer r.commitMu.Unlock()
	r.mu.Lock()
	i := 0
	offsets := map[string]map[int32]kgo.EpochOffset{}
	for ; i < len(r.marks) && r.marks[i].seq <= offset; i++ {
		m := r.marks[i]
		if offsets[m.topic] == nil {
			offsets[m.topic] = map[int32]kgo.EpochOffset{}
		}
		offsets[m.topic][m.partition] = kgo.EpochOffset{Epoch: m.epoch, Offset: m.offset}
	}
	r.marks = r.marks[i:]
	r.mu.Unlock()
	if len(offsets) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var cerr error
	r.client.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			cerr = err
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if e := kerr.ErrorForCode(p.ErrorCode); e != nil && cerr == nil {
					cerr = fmt.Errorf("commit %s/%d: %w", t.Topic, p.Partition, e)
				}
			}
		}
	})
	if cerr != nil {
		return fmt.Errorf("commit consumer group offsets: %s", redact.Error(cerr))
	}
	return nil
}

// revoked is called when partitions leave this loader (a rebalance, or
// the group lost): the records of those partitions not yet committed are
// dropped, as are those polled and not handed out, and will be read again
// by the partition's next owner. What the sink has written and committed
// before stays committed; records of those partitions that are being
// written right now may reach the sink twice (at least once).
func (r *Reader) revoked(_ context.Context, _ *kgo.Client, gone map[string][]int32) {
	isGone := func(topic string, p int32) bool {
		for _, q := range gone[topic] {
			if q == p {
				return true
			}
		}
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	keep := r.marks[:0]
	for _, m := range r.marks {
		if !isGone(m.topic, m.partition) {
			keep = append(keep, m)
		}
	}
	dropped := len(r.marks) - len(keep)
	r.marks = keep
	pend := r.pending[:0]
	for _, rec := range r.pending {
		if !isGone(rec.Topic, rec.Partition) {
			pend = append(pend, rec)
		}
	}
	r.pending = pend
	r.log.Info("partitions revoked; their uncommitted records are left to the next owner", "partitions", fmt.Sprint(gone), "uncommitted_records", dropped)
}

// Close leaves the consumer group, so its partitions move to the other
// loaders at once.
func (r *Reader) Close() error {
	r.client.Close()
	return nil
}
