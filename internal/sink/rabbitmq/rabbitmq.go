// Package rabbitmq is a sink that publishes records to a RabbitMQ topic
// exchange with amqp091-go: each record's JSON as a persistent message
// whose routing key names its contract (good.VENDOR.NAME.vMODEL, or failed),
// message id the event id, and the schema and content type as properties.
//
// Publishing is mandatory on a channel in confirm mode, and Write returns
// only once the broker confirmed every record of the batch, so an
// acknowledged record is in every queue bound to receive it. A record no
// queue receives comes back from the broker and fails the write
// (permanently, unless unroutable: drop). A nack, a closed channel or
// connection, or a timeout fails the write transiently; the next Write
// dials again. Delivery retries a failed Write whole, so a record can
// reach a queue twice across Writes (consumers deduplicate on message id).
package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/redact"
	"github.com/accord-events/accord/internal/sink"
)

// HeaderSchema is the header holding a record's schema; ContentType is
// the body's type: one envelope as JSON.
const (
	HeaderSchema = "schema"
	ContentType  = "application/json"
	// FailedKey is the routing key of failed records.
	FailedKey = "failed"
)

// returnsBuffer bounds the returned messages waiting to be read; Write
// drains them while it waits for confirms, so the broker's reader never
// blocks for long on them.
const returnsBuffer = 64

// Type returns the rabbitmq sink type.
func Type() sink.Type {
	return sink.Type{
		Name:       "rabbitmq",
		Doc:        "Publishes records to a durable RabbitMQ topic exchange with publisher confirms, routing key per contract (good.VENDOR.NAME.vMODEL, failed).",
		NewOptions: func() sink.Options { return NewOptions() },
		New: func(opts sink.Options, _ sink.Deps) (sink.Sink, error) {
			o, ok := opts.(*Options)
			if !ok {
				return nil, fmt.Errorf("new rabbitmq sink: options are %T, not *rabbitmq.Options", opts)
			}
			return New(*o)
		},
	}
}

// Sink publishes records to RabbitMQ. It is safe for concurrent use;
// writes take turns on its one confirm channel, so each write's returns
// and confirms are its own.
type Sink struct {
	opts   Options
	closed atomic.Bool

	// mu is held by a Write for its whole publish-and-confirm, and by
	// Connect; conn, ch and returns are set under it.
	mu      sync.Mutex
	conn    *amqp.Connection
	ch      *amqp.Channel
	returns chan amqp.Return

	// connMu guards only closing the connection, so Close can cut a write
	// that holds mu.
	connMu   sync.Mutex
	liveConn *amqp.Connection
}

var _ sink.Sink = (*Sink)(nil)

// New returns a sink for the options, without I/O.
func New(opts Options) (*Sink, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &Sink{opts: opts}, nil
}

// Connect dials the broker, puts a channel in confirm mode and declares
// the exchange (durable, topic). Calling it on a connected sink does
// nothing.
func (s *Sink) Connect(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connectLocked(ctx)
}

func (s *Sink) connectLocked(ctx context.Context) error {
	if s.closed.Load() {
		return errors.New("connect rabbitmq sink: sink is closed")
	}
	if s.ch != nil && !s.ch.IsClosed() && !s.conn.IsClosed() {
		return nil
	}
	s.dropLocked()
	timeout := s.opts.ConfirmTimeout
	if d, ok := ctx.Deadline(); ok && time.Until(d) < timeout {
		timeout = max(time.Until(d), time.Millisecond)
	}
	conn, err := amqp.DialConfig(s.opts.URL, amqp.Config{
		Dial:       amqp.DefaultDial(timeout),
		Properties: amqp.Table{"connection_name": "accord"},
	})
	if err != nil {
		return fmt.Errorf("connect rabbitmq sink to %s: %s", redact.URL(s.opts.URL), redact.Error(err))
	}
	fail := func(what string, err error) error {
		conn.Close()
		return fmt.Errorf("connect rabbitmq sink: %s: %s", what, redact.Error(err))
	}
	ch, err := conn.Channel()
	if err != nil {
		return fail("open channel", err)
	}
	if err := ch.Confirm(false); err != nil {
		return fail("confirm mode", err)
	}
	if err := ch.ExchangeDeclare(s.opts.Exchange, "topic", true, false, false, false, nil); err != nil {
		return fail("declare exchange "+s.opts.Exchange, err)
	}
	s.conn, s.ch = conn, ch
	s.returns = ch.NotifyReturn(make(chan amqp.Return, returnsBuffer))
	s.connMu.Lock()
	s.liveConn = conn
	s.connMu.Unlock()
	if s.closed.Load() { // Close ran meanwhile
		s.dropLocked()
		return errors.New("connect rabbitmq sink: sink is closed")
	}
	return nil
}

// dropLocked closes the connection, if any, so the next write dials again.
func (s *Sink) dropLocked() {
	if s.conn != nil {
		s.conn.Close()
	}
	s.conn, s.ch, s.returns = nil, nil, nil
	s.connMu.Lock()
	s.liveConn = nil
	s.connMu.Unlock()
}

// Close closes the connection; a write under way fails (transiently: its
// records may or may not have been confirmed). It is safe on a sink that
// never connected, and after it Write returns an error.
func (s *Sink) Close(ctx context.Context) error {
	s.closed.Store(true)
	s.connMu.Lock()
	conn := s.liveConn
	s.liveConn = nil
	s.connMu.Unlock()
	if conn != nil {
		if err := conn.Close(); err != nil && !errors.Is(err, amqp.ErrClosed) {
			return fmt.Errorf("close rabbitmq sink: %s", redact.Error(err))
		}
	}
	return nil
}

// Write publishes the records and returns once the broker confirmed every
// one, or with the first failure: a *sink.PermanentError when every
// failure was a record no queue receives (unroutable: error) or a record
// over max_record_bytes, otherwise a transient error. A failed write
// (but for unroutable records) drops the connection, so no late confirm
// or return of it is read by the next.
func (s *Sink) Write(ctx context.Context, records []*event.Envelope) error {
	if s.closed.Load() {
		return errors.New("write to rabbitmq sink: sink is closed")
	}
	if len(records) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, s.opts.ConfirmTimeout)
	defer cancel()
	if err := s.connectLocked(ctx); err != nil {
		return err
	}
	err := s.publish(ctx, records)
	if err != nil && !errors.Is(err, errUnroutable) {
		// Confirms or returns of this write may still come; a new
		// connection keeps them from the next write.
		s.dropLocked()
	}
	return err
}

// errUnroutable marks a write whose only failure was records no queue
// received: every confirm is in, so the channel is clean for the next.
var errUnroutable = errors.New("reached no queue")

// publish sends every record, then waits for each confirm, reading the
// returned (unroutable) records as they come: the broker sends a
// record's return before its confirm, so once every confirm is in, every
// return is too.
func (s *Sink) publish(ctx context.Context, records []*event.Envelope) error {
	confirms := make([]*amqp.DeferredConfirmation, 0, len(records))
	unroutable := 0
	var firstUnroutable string
	// returns is closed when the channel shuts down; then it is set to
	// nil, so the selects below stop reading it.
	returns := s.returns
	readReturn := func(r amqp.Return, ok bool) {
		if !ok {
			returns = nil
			return
		}
		unroutable++
		if firstUnroutable == "" {
			firstUnroutable = fmt.Sprintf("record %s with routing key %s: %d %s", r.MessageId, r.RoutingKey, r.ReplyCode, r.ReplyText)
		}
	}
	body := make([]byte, 0, 1024)
	for _, r := range records {
		body = r.AppendJSON(body[:0])
		if len(body) > s.opts.MaxRecordBytes {
			// Refused before publishing anything more; records published
			// before it may be in the queues (delivery halves the batch
			// to find this one, writing them again).
			return &sink.PermanentError{Err: fmt.Errorf("record %s is %d bytes, more than max_record_bytes (%d)", r.EventID, len(body), s.opts.MaxRecordBytes)}
		}
		// Publish copies the body into frames before it returns, so one
		// buffer serves the batch.
		dc, err := s.ch.PublishWithDeferredConfirmWithContext(ctx, s.opts.Exchange, RoutingKey(r), true, false, amqp.Publishing{
			ContentType:  ContentType,
			DeliveryMode: amqp.Persistent,
			MessageId:    r.EventID,
			Headers:      amqp.Table{HeaderSchema: r.Schema},
			Body:         body,
		})
		if err != nil {
			return fmt.Errorf("publish to rabbitmq exchange %s: %s", s.opts.Exchange, redact.Error(err))
		}
		confirms = append(confirms, dc)
		// Keep the returns moving while publishing a large batch.
		for drained := false; !drained && returns != nil; {
			select {
			case ret, ok := <-returns:
				readReturn(ret, ok)
			default:
				drained = true
			}
		}
	}
	nacked := 0
	for _, dc := range confirms {
	wait:
		for {
			select {
			case <-dc.Done():
				break wait
			case ret, ok := <-returns:
				readReturn(ret, ok)
			case <-ctx.Done():
				return fmt.Errorf("publish to rabbitmq exchange %s: %d records unconfirmed: %w", s.opts.Exchange, len(records), ctx.Err())
			}
		}
		if !dc.Acked() {
			nacked++
		}
	}
	for drained := false; !drained && returns != nil; {
		select {
		case ret, ok := <-returns:
			readReturn(ret, ok)
		default:
			drained = true
		}
	}
	switch {
	case nacked > 0:
		// A nack, or a channel that closed before confirming.
		return fmt.Errorf("publish to rabbitmq exchange %s: %d of %d records not confirmed (nacked, or the channel closed)", s.opts.Exchange, nacked, len(records))
	case unroutable > 0 && s.opts.Unroutable == UnroutableError:
		return &sink.PermanentError{Err: fmt.Errorf("publish to rabbitmq exchange %s: %d of %d records %w, first %s", s.opts.Exchange, unroutable, len(records), errUnroutable, firstUnroutable)}
	}
	return nil
}

// RoutingKey is r's routing key: failed for a failed record, otherwise
// good.VENDOR.NAME.vMODEL, where MODEL is the version's first number (1 of
// 1-0-2), or good for a record of no contract. A key longer than AMQP's
// 255 bytes is cut and ends in a hash of the whole, so two contracts never
// share a key by being cut alike.
func RoutingKey(r *event.Envelope) string {
	if !r.Valid {
		return FailedKey
	}
	if r.Vendor == "" || r.Name == "" {
		return "good"
	}
	full := "good." + r.Vendor + "." + r.Name + ".v" + sink.Model(r.Version)
	return sink.Shorten(full, full, maxNameLen)
}
