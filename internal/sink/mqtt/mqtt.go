// Package mqtt is a sink that publishes records to an MQTT broker with
// paho.mqtt.golang: good records to a topic per contract model, failed
// ones to one topic, each record's JSON as the payload, QoS 1, never
// retained.
//
// QoS 1 is at least once: Write returns only once the broker sent a PUBACK
// for every publish of the batch; a lost connection or a missing PUBACK
// fails the write (transient) and delivery retries it whole, so a record
// can reach subscribers twice (they deduplicate on event_id). A PUBACK
// means the broker took the message, not that a subscriber got it: a
// broker without persistence loses what it queued for offline subscribers
// when it restarts.
package mqtt

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/redact"
	"github.com/accord-events/accord/internal/sink"
)

// qos is every publish's quality of service: at least once.
const qos = 1

// maxPartLen bounds each contract part in a topic, so a topic stays far
// below MQTT's 65535 bytes whatever a contract is named.
const maxPartLen = 200

// Type returns the mqtt sink type.
func Type() sink.Type {
	return sink.Type{
		Name:       "mqtt",
		Doc:        "Publishes records to an MQTT broker with QoS 1 (a write returns once every PUBACK arrived): good records to PREFIX/good/VENDOR/NAME/vMODEL, failed ones to PREFIX/failed.",
		NewOptions: func() sink.Options { return NewOptions() },
		New: func(opts sink.Options, _ sink.Deps) (sink.Sink, error) {
			o, ok := opts.(*Options)
			if !ok {
				return nil, fmt.Errorf("new mqtt sink: options are %T, not *mqtt.Options", opts)
			}
			return New(*o)
		},
	}
}

// Sink publishes records to MQTT. It is safe for concurrent use.
//
// It reconnects itself rather than through paho's auto-reconnect: paho
// would keep unacknowledged publishes in its store and resend them on the
// next connection, so memory would grow with an outage and a token could
// complete without its PUBACK. Here a lost connection fails the writes
// waiting on it, the client is dropped with everything it held, and the
// next Write dials a new one; delivery retries the failed batch.
type Sink struct {
	opts Options

	// mu guards client and connected: Connect sets them, a lost connection
	// clears client, Close takes it.
	mu        sync.Mutex
	client    paho.Client
	connected bool // Connect succeeded once
	closed    atomic.Bool
}

var _ sink.Sink = (*Sink)(nil)

// New returns a sink for the options, without I/O.
func New(opts Options) (*Sink, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.ClientID == "" {
		opts.ClientID = defaultClientID()
	}
	return &Sink{opts: opts}, nil
}

// defaultClientID is unique per process and sink: a broker disconnects the
// older of two clients with one id, so two collectors sharing an id would
// push each other off in a loop.
func defaultClientID() string {
	host, _ := os.Hostname()
	if len(host) > 32 {
		host = host[:32]
	}
	return fmt.Sprintf("accord-%s-%d-%08x", host, os.Getpid(), rand.Uint32())
}

func (s *Sink) clientOptions() *paho.ClientOptions {
	o := s.opts
	scheme := "tcp://"
	if o.TLS {
		scheme = "tls://"
	}
	co := paho.NewClientOptions().
		AddBroker(scheme + o.Broker).
		SetClientID(o.ClientID).
		SetCleanSession(o.CleanSession).
		SetUsername(o.Username).
		SetPassword(o.Password).
		SetConnectTimeout(o.ConnectTimeout).
		SetWriteTimeout(o.WriteTimeout).
		SetAutoReconnect(false). // the sink reconnects: see Sink
		SetConnectRetry(false).
		SetKeepAlive(30 * time.Second).
		SetOrderMatters(false)
	if o.TLS {
		co.SetTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12})
	}
	return co
}

// Connect connects to the broker; a refused login or an unreachable broker
// fails here with the broker's answer. Calling it on a connected sink does
// nothing.
func (s *Sink) Connect(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return errors.New("connect mqtt sink: sink is closed")
	}
	if s.client != nil {
		return nil
	}
	if err := s.dialLocked(ctx); err != nil {
		return err
	}
	s.connected = true
	return nil
}

// dialLocked connects a new client; s.mu is held.
func (s *Sink) dialLocked(ctx context.Context) error {
	var client paho.Client
	co := s.clientOptions().SetConnectionLostHandler(func(paho.Client, error) { s.drop(client) })
	client = paho.NewClient(co)
	tok := client.Connect()
	if err := wait(ctx, tok, s.opts.ConnectTimeout); err != nil {
		client.Disconnect(0)
		return fmt.Errorf("connect mqtt sink to %s: %s", s.opts.Broker, redact.Error(err))
	}
	s.client = client
	return nil
}

// drop forgets client after its connection failed, so the next Write dials
// anew; disconnecting it fails the publishes still waiting on it.
func (s *Sink) drop(client paho.Client) {
	s.mu.Lock()
	if s.client == client {
		s.client = nil
	}
	s.mu.Unlock()
	go client.Disconnect(0)
}

// wait waits for tok within ctx and timeout.
func wait(ctx context.Context, tok paho.Token, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("no answer from the broker within %s", timeout)
	}
}

// Close disconnects, giving publishes under way up to a second (within ctx)
// to be acknowledged; writes still waiting fail. It is safe on a sink that
// never connected, and after it Write returns an error.
func (s *Sink) Close(ctx context.Context) error {
	s.closed.Store(true)
	s.mu.Lock()
	client := s.client
	s.client = nil
	s.mu.Unlock()
	if client == nil {
		return nil
	}
	quiesce := uint(1000)
	if d, ok := ctx.Deadline(); ok {
		if left := time.Until(d); left < time.Second {
			quiesce = uint(max(left.Milliseconds(), 0))
		}
	}
	client.Disconnect(quiesce)
	return nil
}

// current returns the connected client, dialling a new one when the last
// was lost.
func (s *Sink) current(ctx context.Context) (paho.Client, error) {
	if s.closed.Load() {
		return nil, errors.New("write to mqtt sink: sink is closed")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.connected {
		return nil, errors.New("write to mqtt sink: not connected")
	}
	if s.client == nil {
		if err := s.dialLocked(ctx); err != nil {
			return nil, fmt.Errorf("write to mqtt sink: reconnect: %w", err)
		}
	}
	return s.client, nil
}

// Write publishes the records with QoS 1 and returns once the broker
// acknowledged every one, or with an error: a *sink.PermanentError when
// records are larger than max_record_bytes (and nothing else failed),
// otherwise a transient error (connection lost, no PUBACK in
// write_timeout), and delivery retries the batch whole.
func (s *Sink) Write(ctx context.Context, records []*event.Envelope) error {
	if len(records) == 0 {
		if s.closed.Load() {
			return errors.New("write to mqtt sink: sink is closed")
		}
		return nil
	}
	client, err := s.current(ctx)
	if err != nil {
		return err
	}
	tokens := make([]paho.Token, 0, len(records))
	topics := make([]string, 0, len(records))
	var tooLarge error
	for _, r := range records {
		payload := r.AppendJSON(nil)
		if len(payload) > s.opts.MaxRecordBytes {
			if tooLarge == nil {
				tooLarge = fmt.Errorf("record %s is %d bytes, more than max_record_bytes (%d)", redact.String(r.EventID), len(payload), s.opts.MaxRecordBytes)
			}
			continue
		}
		topic := s.topicOf(r)
		tokens = append(tokens, client.Publish(topic, qos, false, payload))
		topics = append(topics, topic)
	}
	deadline := time.Now().Add(s.opts.WriteTimeout)
	failed := 0
	var first error
	for i, tok := range tokens {
		if err := wait(ctx, tok, max(time.Until(deadline), time.Millisecond)); err != nil {
			failed++
			if first == nil {
				first = fmt.Errorf("publish to mqtt topic %s: %s", topics[i], redact.Error(err))
			}
		}
	}
	if first != nil {
		// A publish without its PUBACK leaves the connection in doubt:
		// start the next write on a new one.
		s.drop(client)
		return fmt.Errorf("%d of %d records unacknowledged: %w", failed, len(records), first)
	}
	if tooLarge != nil {
		return &sink.PermanentError{Err: tooLarge}
	}
	return nil
}

func (s *Sink) topicOf(r *event.Envelope) string {
	if !r.Valid {
		return s.opts.TopicPrefix + "/failed"
	}
	return ContractTopic(s.opts.TopicPrefix, r.Vendor, r.Name, r.Version)
}

// ContractTopic names the topic of a good record of a contract's model:
// prefix/good/vendor/name/vMODEL, where MODEL is the version's first
// number (1 of 1-0-2). In each part the wildcards '+' and '#', NUL and '/'
// (which would add a level) become '_', as does invalid UTF-8, an empty part becomes "_", and a
// part longer than 200 bytes is cut and ends in a hash of the whole, so two
// contracts never share a topic by being cut alike. The same contract
// always gets the same topic.
func ContractTopic(prefix, vendor, name, version string) string {
	model, _, _ := strings.Cut(version, "-")
	return prefix + "/good/" + sanitize(vendor) + "/" + sanitize(name) + "/v" + sanitize(model)
}

func sanitize(s string) string {
	if s == "" {
		return "_"
	}
	b := []byte(strings.ToValidUTF8(s, "_"))
	for i, c := range b {
		if c == '+' || c == '#' || c == 0 || c == '/' {
			b[i] = '_'
		}
	}
	// Shorten cuts on a UTF-8 boundary: MQTT topics must be valid UTF-8.
	return sink.Shorten(string(b), string(b), maxPartLen)
}
