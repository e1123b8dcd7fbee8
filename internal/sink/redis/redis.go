// Package redis is a sink that adds records to Redis Streams with XADD:
// good records to one stream (or one per contract), failed records to
// another, each entry holding the record's event_id, schema, content type
// and envelope JSON. Every stream is trimmed to an approximate length
// (MAXLEN ~ max_len) as entries are added.
//
// A batch is sent as one pipeline and every reply is checked: Write
// returns only once the server answered every XADD with an entry id.
// Delivery retries a failed Write whole, and go-redis retries a pipeline
// cut by a network error, so a record can reach a stream twice (consumers
// deduplicate on event_id). What the server keeps across its own restart
// is Redis's persistence (appendonly), not the sink's: see docs/sinks/redis.md.
package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	goredis "github.com/redis/go-redis/v9"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/redact"
	"github.com/accord-events/accord/internal/sink"
)

// Field names of every stream entry.
const (
	FieldEventID     = "event_id"
	FieldSchema      = "schema"
	FieldContentType = "content_type"
	FieldEnvelope    = "envelope"
	// ContentType is the envelope field's type: one envelope as JSON.
	ContentType = "application/json"
)

// Type returns the redis sink type.
func Type() sink.Type {
	return sink.Type{
		Name:       "redis",
		Doc:        "Adds records to Redis Streams with XADD (good, failed, optionally one stream per contract), trimmed to an approximate MAXLEN.",
		NewOptions: func() sink.Options { return NewOptions() },
		New: func(opts sink.Options, _ sink.Deps) (sink.Sink, error) {
			o, ok := opts.(*Options)
			if !ok {
				return nil, fmt.Errorf("new redis sink: options are %T, not *redis.Options", opts)
			}
			return New(*o)
		},
	}
}

// Sink adds records to Redis Streams. It is safe for concurrent use.
type Sink struct {
	opts Options

	// mu guards client: set by Connect, taken by Close.
	mu     sync.Mutex
	client *goredis.Client
	closed atomic.Bool
}

var _ sink.Sink = (*Sink)(nil)

// New returns a sink for the options, without I/O.
func New(opts Options) (*Sink, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	quietOnce.Do(func() { goredis.SetLogger(quiet{}) })
	return &Sink{opts: opts}, nil
}

// quiet silences go-redis's own logger, which prints to stderr unredacted
// and outside Accord's log: every failure it would print reaches delivery
// as the error of Connect or Write, which Accord logs redacted.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

var quietOnce sync.Once

// Connect creates the client and pings the server, so a wrong password or
// an unreachable server fails here with the server's answer. Calling it
// on a connected sink does nothing.
func (s *Sink) Connect(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return errors.New("connect redis sink: sink is closed")
	}
	if s.client != nil {
		return nil
	}
	o, err := goredis.ParseURL(s.opts.URL)
	if err != nil { // Validate parsed it already
		return fmt.Errorf("connect redis sink: %s", redact.Error(err))
	}
	o.DialTimeout, o.ReadTimeout, o.WriteTimeout = s.opts.Timeout, s.opts.Timeout, s.opts.Timeout
	// Context deadlines bound a write too, not only the timeouts.
	o.ContextTimeoutEnabled = true
	// No CLIENT SETINFO: servers before 7.2 answer it with an error.
	o.DisableIdentity = true
	client := goredis.NewClient(o)
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return fmt.Errorf("connect redis sink to %s: %s", redact.URL(s.opts.URL), redact.Error(err))
	}
	s.client = client
	return nil
}

// Close closes the client; a Write under way fails. It is safe on a sink
// that never connected, and after it Write returns an error. Nothing is
// buffered: every record a Write returned nil for was acknowledged.
func (s *Sink) Close(context.Context) error {
	s.closed.Store(true)
	s.mu.Lock()
	client := s.client
	s.client = nil
	s.mu.Unlock()
	if client == nil {
		return nil
	}
	if err := client.Close(); err != nil {
		return fmt.Errorf("close redis sink: %s", redact.Error(err))
	}
	return nil
}

func (s *Sink) connected() (*goredis.Client, error) {
	if s.closed.Load() {
		return nil, errors.New("write to redis sink: sink is closed")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == nil {
		return nil, errors.New("write to redis sink: not connected")
	}
	return s.client, nil
}

// Write adds the records in one pipeline and returns once the server
// answered every XADD, or with the first failure: a *sink.PermanentError
// when every failed record was refused by the server for good (a key of
// another type, a command error) and nothing else went wrong, otherwise a
// transient error (the connection, a server loading, out of memory,
// read-only).
func (s *Sink) Write(ctx context.Context, records []*event.Envelope) error {
	client, err := s.connected()
	if err != nil {
		return err
	}
	if len(records) == 0 {
		return nil
	}
	pipe := client.Pipeline()
	cmds := make([]*goredis.StringCmd, len(records))
	var buf []byte
	for i, r := range records {
		buf = r.AppendJSON(buf[:0])
		cmds[i] = pipe.XAdd(ctx, &goredis.XAddArgs{
			Stream: s.streamOf(r),
			MaxLen: s.opts.MaxLen,
			Approx: s.opts.MaxLen > 0,
			Values: []any{
				FieldEventID, r.EventID,
				FieldSchema, r.Schema,
				FieldContentType, ContentType,
				FieldEnvelope, string(buf),
			},
		})
	}
	_, execErr := pipe.Exec(ctx)
	return classify(execErr, cmds)
}

// streamOf returns the stream r goes to.
func (s *Sink) streamOf(r *event.Envelope) string {
	if !r.Valid {
		return s.opts.FailedStream
	}
	if !s.opts.StreamPerContract || r.Vendor == "" || r.Name == "" {
		return s.opts.Stream
	}
	return ContractStream(s.opts.Stream, r.Vendor, r.Name, r.Version)
}

// ContractStream names the stream of a contract's model:
// prefix:vendor:name:vMODEL, where MODEL is the version's first number
// (1 of 1-0-2); a key longer than 512 bytes is cut and ends in a hash of
// the whole, so two contracts never share a stream by being cut alike.
func ContractStream(prefix, vendor, name, version string) string {
	full := prefix + ":" + vendor + ":" + name + ":v" + sink.Model(version)
	return sink.Shorten(full, full, maxStreamLen)
}

// transientReplies are the error replies (by their first word) that may
// pass: the server loading its data, busy with a script, out of memory
// under maxmemory, a replica that is read-only, a cluster moving.
var transientReplies = []string{"LOADING", "BUSY", "OOM", "READONLY", "MASTERDOWN", "NOREPLICAS", "TRYAGAIN", "CLUSTERDOWN", "MOVED", "ASK"}

// isPermanent reports whether err is an error reply no retry cures for
// the record (WRONGTYPE, ERR ...); an error that is no reply (the network,
// a timeout) is transient.
func isPermanent(err error) bool {
	var reply goredis.Error
	if !errors.As(err, &reply) {
		return false
	}
	word, _, _ := strings.Cut(reply.Error(), " ")
	for _, w := range transientReplies {
		if word == w {
			return false
		}
	}
	return true
}

// classify turns the pipeline's replies into Write's error: nil when every
// XADD was answered with an id; transient when any failed for a reason
// that may pass (so the batch is retried whole before a refused record is
// isolated); permanent when every failure was a refusal.
func classify(execErr error, cmds []*goredis.StringCmd) error {
	var firstPermanent, firstTransient error
	failed := 0
	for _, c := range cmds {
		err := c.Err()
		if err == nil {
			continue
		}
		failed++
		wrapped := fmt.Errorf("XADD to redis stream %s: %w", c.Args()[1], err)
		if isPermanent(err) {
			if firstPermanent == nil {
				firstPermanent = wrapped
			}
		} else if firstTransient == nil {
			firstTransient = wrapped
		}
	}
	if failed == 0 && execErr != nil { // no reply blamed, yet the pipeline failed
		firstTransient, failed = fmt.Errorf("redis pipeline: %w", execErr), len(cmds)
	}
	switch {
	case firstTransient != nil:
		return fmt.Errorf("%d of %d records unacknowledged: %s", failed, len(cmds), redact.BoundedError(firstTransient))
	case firstPermanent != nil:
		return &sink.PermanentError{Err: fmt.Errorf("%d of %d records refused: %s", failed, len(cmds), redact.BoundedError(firstPermanent))}
	}
	return nil
}
