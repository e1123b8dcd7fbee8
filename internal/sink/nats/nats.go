// Package nats is a sink that publishes records to a NATS JetStream
// stream: good records to a subject per contract model
// (prefix.good.vendor.name.vMODEL), failed records to prefix.failed, each
// record's JSON as the payload, its event_id as the Nats-Msg-Id header so
// the server drops a second copy within the stream's duplicate window.
//
// Write publishes asynchronously, at most max_in_flight messages before it
// waits for their acknowledgements, and returns only once the server
// acknowledged (stored on the stream's replicas) every record. Delivery
// retries a failed Write whole; within the duplicate window the server
// stores a retried record once, past it a record can be stored twice
// (consumers deduplicate on event_id).
package nats

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/redact"
	"github.com/accord-events/accord/internal/sink"
)

// Header names of every message besides Nats-Msg-Id.
const (
	HeaderSchema      = "Accord-Schema"
	HeaderContentType = "Content-Type"
	// ContentType is the payload's type: one envelope as JSON.
	ContentType = "application/json"
)

// maxTokenLen is the longest subject token a contract's vendor, name or
// model becomes; a longer one is cut and ends in a hash.
const maxTokenLen = 64

// Type returns the nats sink type.
func Type() sink.Type {
	return sink.Type{
		Name:       "nats",
		Doc:        "Publishes records to a NATS JetStream stream (created or updated at connect), a subject per contract and one for failed records, deduplicated by event_id, every publish acknowledged.",
		NewOptions: func() sink.Options { return NewOptions() },
		New: func(opts sink.Options, _ sink.Deps) (sink.Sink, error) {
			o, ok := opts.(*Options)
			if !ok {
				return nil, fmt.Errorf("new nats sink: options are %T, not *nats.Options", opts)
			}
			return New(*o)
		},
	}
}

// Sink publishes records to JetStream. It is safe for concurrent use.
type Sink struct {
	opts Options

	// mu guards nc and js: set by Connect, taken by Close.
	mu     sync.Mutex
	nc     *natsgo.Conn
	js     jetstream.JetStream
	closed atomic.Bool
}

var _ sink.Sink = (*Sink)(nil)

// New returns a sink for the options, without I/O.
func New(opts Options) (*Sink, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &Sink{opts: opts}, nil
}

// Connect connects to the servers and creates the stream, or updates it
// to the options, with the subjects prefix.good.> and prefix.failed.
// Calling it on a connected sink does nothing.
func (s *Sink) Connect(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return errors.New("connect nats sink: sink is closed")
	}
	if s.nc != nil {
		return nil
	}
	o := s.opts
	nc, err := natsgo.Connect(strings.Join(o.URLs, ","), ConnOptions(o)...)
	if err != nil {
		return fmt.Errorf("connect nats sink to %s: %s", strings.Join(o.URLs, ", "), redact.Error(err))
	}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(o.MaxInFlight),
		jetstream.WithPublishAsyncTimeout(o.AckTimeout))
	if err != nil {
		nc.Close()
		return fmt.Errorf("connect nats sink: %s", redact.Error(err))
	}
	ctx, cancel := context.WithTimeout(ctx, o.AckTimeout)
	defer cancel()
	if _, err := js.CreateOrUpdateStream(ctx, s.streamConfig()); err != nil {
		nc.Close()
		return fmt.Errorf("ensure nats stream %s: %s", o.Stream, redact.Error(err))
	}
	s.nc, s.js = nc, js
	return nil
}

// ConnOptions are the options of a connection for the sink's options:
// reconnecting forever, with no reconnect buffer (a publish while the
// server is away fails at once instead of piling up in memory), user and
// password when set. The shared log of spool.kind jetstream connects with
// them too.
func ConnOptions(o Options) []natsgo.Option {
	opts := []natsgo.Option{
		natsgo.Name("accord"),
		natsgo.Timeout(o.AckTimeout),
		natsgo.MaxReconnects(-1),
		natsgo.ReconnectWait(250 * time.Millisecond),
		natsgo.ReconnectBufSize(-1),
	}
	if o.User != "" {
		opts = append(opts, natsgo.UserInfo(o.User, o.Password))
	}
	return opts
}

func (s *Sink) streamConfig() jetstream.StreamConfig {
	o := s.opts
	return jetstream.StreamConfig{
		Name:       o.Stream,
		Subjects:   []string{o.SubjectPrefix + ".good.>", o.SubjectPrefix + ".failed"},
		Storage:    jetstream.FileStorage,
		Replicas:   o.Replicas,
		MaxAge:     o.MaxAge,
		MaxBytes:   o.MaxBytes,
		Duplicates: o.DuplicateWindow,
	}
}

// Close waits (within ctx) for messages already published to be
// acknowledged, then closes the connection; writes still under way fail.
// It is safe on a sink that never connected, and after it Write returns
// an error.
func (s *Sink) Close(ctx context.Context) error {
	s.closed.Store(true)
	s.mu.Lock()
	nc, js := s.nc, s.js
	s.nc, s.js = nil, nil
	s.mu.Unlock()
	if nc == nil {
		return nil
	}
	var err error
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		err = fmt.Errorf("close nats sink: %d messages unacknowledged at close: %w", js.PublishAsyncPending(), ctx.Err())
	}
	nc.Close()
	return err
}

func (s *Sink) connected() (*natsgo.Conn, jetstream.JetStream, error) {
	if s.closed.Load() {
		return nil, nil, errors.New("write to nats sink: sink is closed")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nc == nil {
		return nil, nil, errors.New("write to nats sink: not connected")
	}
	return s.nc, s.js, nil
}

// Write publishes the records and returns once the server acknowledged
// every one of them, or with the first failure: a *sink.PermanentError
// when a record can never be published as it is (larger, with its
// headers, than the server's max_payload) and nothing else went wrong,
// otherwise a
// transient error.
func (s *Sink) Write(ctx context.Context, records []*event.Envelope) error {
	nc, js, err := s.connected()
	if err != nil {
		return err
	}
	var firstPermanent, firstTransient error
	failed := 0
	fail := func(err error, permanent bool) {
		failed++
		if permanent && firstPermanent == nil {
			firstPermanent = err
		}
		if !permanent && firstTransient == nil {
			firstTransient = err
		}
	}
	maxPayload := nc.MaxPayload()
	futures := make([]jetstream.PubAckFuture, 0, min(len(records), s.opts.MaxInFlight))
	for start := 0; start < len(records); start += s.opts.MaxInFlight {
		futures = futures[:0]
		for _, r := range records[start:min(start+s.opts.MaxInFlight, len(records))] {
			msg := s.message(r)
			if int64(len(msg.Data)+len(r.EventID)+len(r.Schema)+64) > maxPayload {
				fail(fmt.Errorf("publish to nats subject %s: record of %d bytes is over the server's max_payload of %d", msg.Subject, len(msg.Data), maxPayload), true)
				continue
			}
			f, err := js.PublishMsgAsync(msg, jetstream.WithMsgID(r.EventID), jetstream.WithStallWait(s.opts.AckTimeout))
			if errors.Is(err, natsgo.ErrMaxPayload) {
				// The estimate above let it through, but with its
				// headers the message is over max_payload: it never
				// will be published, so it is no reason to retry (and
				// retrying it would stall the sink).
				fail(fmt.Errorf("publish to nats subject %s: record of %d bytes is, with its headers, over the server's max_payload of %d", msg.Subject, len(msg.Data), maxPayload), true)
				continue
			}
			if err != nil {
				fail(fmt.Errorf("publish to nats subject %s: %s", msg.Subject, redact.Error(err)), false)
				continue
			}
			futures = append(futures, f)
		}
		if err := s.await(ctx, futures, fail); err != nil {
			return err
		}
	}
	switch {
	case firstTransient != nil:
		return fmt.Errorf("%d of %d records unacknowledged: %w", failed, len(records), firstTransient)
	case firstPermanent != nil:
		return &sink.PermanentError{Err: fmt.Errorf("%d of %d records refused: %w", failed, len(records), firstPermanent)}
	}
	return nil
}

// await waits for every future's acknowledgement, handing each failure to
// fail; it returns an error only when ctx ends first.
func (s *Sink) await(ctx context.Context, futures []jetstream.PubAckFuture, fail func(error, bool)) error {
	timeout := time.NewTimer(s.opts.AckTimeout)
	defer timeout.Stop()
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			fail(fmt.Errorf("publish to nats subject %s: %s", f.Msg().Subject, redact.Error(err)), false)
		case <-timeout.C:
			return fmt.Errorf("publish to nats: no acknowledgement within ack_timeout (%s)", s.opts.AckTimeout)
		case <-ctx.Done():
			return fmt.Errorf("publish to nats: %w", ctx.Err())
		}
	}
	return nil
}

// message builds r's message: its JSON as the payload.
func (s *Sink) message(r *event.Envelope) *natsgo.Msg {
	msg := natsgo.NewMsg(s.subjectOf(r))
	msg.Data = r.AppendJSON(nil)
	msg.Header.Set(HeaderSchema, r.Schema)
	msg.Header.Set(HeaderContentType, ContentType)
	return msg
}

// subjectOf returns the subject r goes to.
func (s *Sink) subjectOf(r *event.Envelope) string {
	if !r.Valid {
		return s.opts.SubjectPrefix + ".failed"
	}
	return ContractSubject(s.opts.SubjectPrefix, r.Vendor, r.Name, r.Version)
}

// ContractSubject names the subject of a contract's model:
// prefix.good.vendor.name.vMODEL, where MODEL is the version's first
// number (1 of 1-0-2) and vendor, name and MODEL are one token each: every
// byte other than ASCII letters, digits, '_' and '-' becomes '_' (so
// com.acme is com_acme), an empty one is '_', and one longer than 64
// bytes is cut and ends in a hash of the whole, so two contracts are never
// cut alike.
func ContractSubject(prefix, vendor, name, version string) string {
	return prefix + ".good." + token(vendor) + "." + token(name) + ".v" + token(sink.Model(version))
}

func token(s string) string {
	if s == "" {
		return "_"
	}
	b := []byte(s)
	for i, c := range b {
		if !tokenChar(c) {
			b[i] = '_'
		}
	}
	return sink.Shorten(string(b), s, maxTokenLen)
}
