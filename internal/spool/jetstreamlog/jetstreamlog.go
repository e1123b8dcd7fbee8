// Package jetstreamlog is the shared log of spool.kind jetstream:
// collectors publish every record they take to one subject of a JetStream
// stream, with Nats-Msg-Id = the record's event_id (the server stores a
// record sent twice within duplicate_window once), and answer a request
// once the server has acknowledged its records, keeping no state of their
// own; accord load reads the stream with one durable pull consumer per
// sink, acknowledging a record only after the sink has written (or
// dead-lettered) it.
//
// The connection is made with the nats sink's code (natssink.ConnOptions).
package jetstreamlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/redact"
	natssink "github.com/accord-events/accord/internal/sink/nats"
	"github.com/accord-events/accord/internal/spool"
)

// HeaderSchema names each record's schema, as the nats sink does.
const HeaderSchema = natssink.HeaderSchema

// ErrUnavailable matches Append's error while the server is away.
var ErrUnavailable = errors.New("jetstream log unavailable")

// connectEvery is how often the log tries to connect while it is not.
const connectEvery = 500 * time.Millisecond

// Log is the shared log on JetStream. It is safe for concurrent use.
type Log struct {
	opts Options
	so   natssink.Options
	log  *slog.Logger

	mu sync.Mutex
	nc *natsgo.Conn
	js jetstream.JetStream
	// err is why the log is not ready, nil once connected with the
	// stream ensured.
	err error

	inFlight atomic.Int64
	stop     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once
}

// Open connects and ensures the stream, trying once (within timeout)
// before it returns and then in the background: a server that is down at
// start does not stop the collector; until it answers and the stream is
// ensured, Append fails with ErrUnavailable and Ready says why.
func Open(opts Options, logger *slog.Logger) (*Log, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	l := &Log{opts: opts, so: opts.sinkOptions(), log: logger, stop: make(chan struct{})}
	l.err = fmt.Errorf("%w: not yet connected to %s", ErrUnavailable, l.servers())
	first := make(chan struct{})
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		l.connect(first)
	}()
	<-first
	return l, nil
}

func (l *Log) servers() string {
	urls := make([]string, len(l.opts.URLs))
	for i, u := range l.opts.URLs {
		urls[i] = redact.URL(u)
	}
	return strings.Join(urls, ", ")
}

// connect connects and ensures the stream, retrying until it succeeds or
// Close. Once connected, the client reconnects by itself.
func (l *Log) connect(first chan<- struct{}) {
	for attempt := 1; ; attempt++ {
		if attempt == 2 {
			close(first)
		}
		err := l.dial()
		if err == nil {
			if attempt > 1 {
				l.log.Info("jetstream log available", "servers", l.servers(), "stream", l.opts.Stream)
			} else {
				close(first)
			}
			return
		}
		e := fmt.Errorf("%w: %s", ErrUnavailable, redact.Error(err))
		l.mu.Lock()
		l.err = e
		l.mu.Unlock()
		if attempt == 1 {
			l.log.Error("jetstream log unavailable: requests are answered 503 until the server answers", "err", e)
		}
		select {
		case <-l.stop:
			return
		case <-time.After(connectEvery):
		}
	}
}

func (l *Log) dial() error {
	nc, err := natsgo.Connect(strings.Join(l.opts.URLs, ","), natssink.ConnOptions(l.so)...)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", l.servers(), err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), max(l.opts.Timeout, 2*time.Second))
	defer cancel()
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:       l.opts.Stream,
		Subjects:   []string{l.subject()},
		Storage:    jetstream.FileStorage,
		Replicas:   l.opts.Replicas,
		MaxAge:     l.opts.MaxAge,
		MaxBytes:   l.opts.MaxBytes,
		Duplicates: l.opts.DuplicateWindow,
	}); err != nil {
		nc.Close()
		return fmt.Errorf("ensure stream %s: %w", l.opts.Stream, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.stop:
		nc.Close()
		return nil
	default:
	}
	l.nc, l.js, l.err = nc, js, nil
	return nil
}

func (l *Log) subject() string { return l.opts.SubjectPrefix + ".log" }

// conn returns the connection, or why there is none usable.
func (l *Log) conn() (*natsgo.Conn, jetstream.JetStream, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.nc == nil {
		return nil, nil, l.err
	}
	if !l.nc.IsConnected() {
		return nil, nil, fmt.Errorf("%w: the connection to %s is %s", ErrUnavailable, l.servers(), strings.ToLower(l.nc.Status().String()))
	}
	return l.nc, l.js, nil
}

// Ready returns an error while the server is away.
func (l *Log) Ready() error {
	_, _, err := l.conn()
	return err
}

// Append publishes the records and returns once the server acknowledged
// every one, within spool.jetstream.timeout. See delivery.Log.
func (l *Log) Append(ctx context.Context, records [][]byte, envs []*event.Envelope) error {
	nc, js, err := l.conn()
	if err != nil {
		return err
	}
	var n int64
	for _, r := range records {
		if int64(len(r))+1024 > nc.MaxPayload() {
			return fmt.Errorf("a record of %d bytes is over the server's max_payload (%d): %w", len(r), nc.MaxPayload(), spool.ErrTooLarge)
		}
		n += int64(len(r))
	}
	if now := l.inFlight.Add(n); now > l.opts.MaxInFlightBytes && now != n {
		l.inFlight.Add(-n)
		return fmt.Errorf("jetstream log: %d bytes already wait for the server's acknowledgement (spool.jetstream.max_in_flight_bytes %d): %w", now-n, l.opts.MaxInFlightBytes, spool.ErrFull)
	}
	defer l.inFlight.Add(-n)
	ctx, cancel := context.WithTimeout(ctx, l.opts.Timeout)
	defer cancel()
	futures := make([]jetstream.PubAckFuture, 0, len(records))
	for i, r := range records {
		msg := natsgo.NewMsg(l.subject())
		msg.Data = r
		msg.Header.Set(HeaderSchema, envs[i].Schema)
		f, err := js.PublishMsgAsync(msg, jetstream.WithMsgID(envs[i].EventID))
		if err != nil {
			return fmt.Errorf("jetstream log: publish: %s", redact.Error(err))
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("jetstream log: not every record was acknowledged: %s", redact.Error(err))
		case <-ctx.Done():
			return fmt.Errorf("jetstream log: the server did not acknowledge every record within spool.jetstream.timeout (%s): %w", l.opts.Timeout, ctx.Err())
		}
	}
	return nil
}

// Close stops connecting and closes the connection.
func (l *Log) Close() error {
	l.once.Do(func() {
		close(l.stop)
		l.wg.Wait()
		l.mu.Lock()
		if l.nc != nil {
			l.nc.Close()
		}
		l.mu.Unlock()
	})
	return nil
}

// Reader returns the reader of the sink called name: a member of its
// durable pull consumer (durable_prefix_name), created on first use. A new
// consumer starts at the stream's first record.
func (l *Log) Reader(name string) (*Reader, error) {
	return &Reader{l: l, durable: l.opts.durableName(name), log: l.log.With("sink", name, "durable", l.opts.durableName(name))}, nil
}

// Reader reads the log as one member of a sink's durable consumer. The
// offsets it hands out number the records it read, one by one from 1; a
// Commit acknowledges each record up to it.
type Reader struct {
	l       *Log
	durable string
	log     *slog.Logger

	mu       sync.Mutex
	consumer jetstream.Consumer
	seq      uint64
	pending  []held
}

type held struct {
	seq uint64
	msg jetstream.Msg
}

// fetchWait bounds one pull request; Next pulls again until ctx ends.
const fetchWait = time.Second

func (r *Reader) ensure(ctx context.Context) (jetstream.Consumer, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.consumer != nil {
		return r.consumer, nil
	}
	_, js, err := r.l.conn()
	if err != nil {
		return nil, err
	}
	c, err := js.CreateOrUpdateConsumer(ctx, r.l.opts.Stream, jetstream.ConsumerConfig{
		Durable:       r.durable,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       r.l.opts.AckWait,
		MaxAckPending: r.l.opts.MaxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		FilterSubject: r.l.subject(),
	})
	if err != nil {
		return nil, fmt.Errorf("ensure durable consumer %s: %s", r.durable, redact.Error(err))
	}
	r.consumer = c
	return c, nil
}

// pullSlack is what the server counts in a message beyond its headers and
// data (its subject and ack reply subject), with room to spare.
const pullSlack = 64 << 10

// pullBytes is the byte budget of one pull: maxBytes, but never less than
// the largest message the server takes (max_payload and pullSlack), since
// the server answers a pull whose budget a single message exceeds with an
// error and never hands that message out.
func (r *Reader) pullBytes(maxBytes int) int {
	least := pullSlack + (1 << 20) // NATS's default max_payload
	if nc, _, err := r.l.conn(); err == nil {
		least = pullSlack + int(nc.MaxPayload())
	}
	return max(maxBytes, least)
}

// Next returns up to maxRecords records and about maxBytes (a pull's
// budget is at least one message of the server's max_payload), waiting for
// one until ctx ends.
func (r *Reader) Next(ctx context.Context, maxRecords, maxBytes int) ([]spool.Entry, error) {
	c, err := r.ensure(ctx)
	if err != nil {
		return nil, err
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		wait := fetchWait
		if d, ok := ctx.Deadline(); ok && time.Until(d) < wait {
			wait = max(time.Until(d), 10*time.Millisecond)
		}
		batch, err := c.Fetch(maxRecords, jetstream.FetchMaxWait(wait), jetstream.FetchMaxBytes(r.pullBytes(maxBytes)))
		if err != nil {
			if errors.Is(err, natsgo.ErrConnectionClosed) {
				return nil, spool.ErrClosed
			}
			return nil, fmt.Errorf("fetch from durable consumer %s: %s", r.durable, redact.Error(err))
		}
		var out []spool.Entry
		bytes := 0
		r.mu.Lock()
		for msg := range batch.Messages() {
			r.seq++
			bytes += len(msg.Data())
			out = append(out, spool.Entry{Offset: r.seq, Data: msg.Data()})
			r.pending = append(r.pending, held{seq: r.seq, msg: msg})
		}
		r.mu.Unlock()
		if err := batch.Error(); err != nil && len(out) == 0 && !errors.Is(err, jetstream.ErrNoMessages) {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("fetch from durable consumer %s: %s", r.durable, redact.Error(err))
		}
		if len(out) > 0 {
			return out, nil
		}
		// An empty pull may be the server's refusal of a message larger
		// than the pull's budget (a 409 the client reports as no
		// messages): one stored before the server's max_payload was
		// lowered, or by a server with a larger one. Every later pull
		// would be refused the same way, and the sink would stall on it,
		// so the next message is taken alone, whatever its size; the
		// server stored it, so its size is bounded by the server.
		if e, err := r.takeAlone(c, maxBytes); err != nil || e != nil {
			return e, err
		}
	}
}

// takeAlone takes the next message without a byte budget, if one is
// there now: after an empty pull, a message no budgeted pull can take.
func (r *Reader) takeAlone(c jetstream.Consumer, maxBytes int) ([]spool.Entry, error) {
	batch, err := c.FetchNoWait(1)
	if err != nil {
		if errors.Is(err, natsgo.ErrConnectionClosed) {
			return nil, spool.ErrClosed
		}
		return nil, fmt.Errorf("fetch from durable consumer %s: %s", r.durable, redact.Error(err))
	}
	budget := r.pullBytes(maxBytes)
	var out []spool.Entry
	r.mu.Lock()
	for msg := range batch.Messages() {
		r.seq++
		out = append(out, spool.Entry{Offset: r.seq, Data: msg.Data()})
		r.pending = append(r.pending, held{seq: r.seq, msg: msg})
		if n := len(msg.Data()); n+pullSlack > budget {
			r.log.Warn("a record larger than a pull's budget (the server's max_payload plus slack) was read alone; was max_payload lowered?", "bytes", n)
		}
	}
	r.mu.Unlock()
	if err := batch.Error(); err != nil && len(out) == 0 && !errors.Is(err, jetstream.ErrNoMessages) {
		return nil, fmt.Errorf("fetch from durable consumer %s: %s", r.durable, redact.Error(err))
	}
	return out, nil
}

// Commit acknowledges every record handed out up to offset, and returns
// once the server has them.
func (r *Reader) Commit(offset uint64) error {
	r.mu.Lock()
	i := 0
	var acks []jetstream.Msg
	for ; i < len(r.pending) && r.pending[i].seq <= offset; i++ {
		acks = append(acks, r.pending[i].msg)
	}
	r.pending = r.pending[i:]
	r.mu.Unlock()
	for _, m := range acks {
		if err := m.Ack(); err != nil {
			return fmt.Errorf("acknowledge to durable consumer %s: %s (the record is delivered again after ack_wait)", r.durable, redact.Error(err))
		}
	}
	nc, _, err := r.l.conn()
	if err != nil {
		return fmt.Errorf("acknowledge to durable consumer %s: %w", r.durable, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := nc.FlushWithContext(ctx); err != nil {
		return fmt.Errorf("acknowledge to durable consumer %s: %s", r.durable, redact.Error(err))
	}
	return nil
}

// Close gives back the records handed out and not committed (a negative
// acknowledgement), so that the server hands them to another loader at
// once rather than after ack_wait.
func (r *Reader) Close() error {
	r.mu.Lock()
	pending := r.pending
	r.pending = nil
	r.mu.Unlock()
	for _, h := range pending {
		_ = h.msg.Nak() // best effort: without it, ack_wait does the same
	}
	return nil
}
