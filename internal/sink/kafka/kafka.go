// Package kafka is a sink that produces records to Apache Kafka (or any
// cluster speaking its protocol) with franz-go: good records to one topic
// (or one per contract), failed records to another, each record's JSON as
// the value, a key chosen from the record so a user's events keep their
// order, and the schema, event id and content type as headers.
//
// The producer is idempotent with acks=all, so a record the brokers
// acknowledged is on every in-sync replica and a producer retry never
// writes it twice. Write returns only once every record of the batch is
// acknowledged; delivery retries a failed Write whole, so a record can
// reach the topic twice across Writes (consumers deduplicate on event_id).
package kafka

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/redact"
	"github.com/accord-events/accord/internal/sink"
)

// Header names of every record.
const (
	HeaderSchema      = "schema"
	HeaderEventID     = "event_id"
	HeaderContentType = "content-type"
	// ContentType is the value's type: one envelope as JSON.
	ContentType = "application/json"
)

// Type returns the kafka sink type.
func Type() sink.Type {
	return sink.Type{
		Name:       "kafka",
		Doc:        "Produces records to Kafka topics (good, failed, optionally one per contract) with an idempotent acks=all producer; topics are created when missing.",
		NewOptions: func() sink.Options { return NewOptions() },
		New: func(opts sink.Options, _ sink.Deps) (sink.Sink, error) {
			o, ok := opts.(*Options)
			if !ok {
				return nil, fmt.Errorf("new kafka sink: options are %T, not *kafka.Options", opts)
			}
			return New(*o)
		},
	}
}

// Sink produces records to Kafka. It is safe for concurrent use.
type Sink struct {
	opts Options

	// mu guards client and admin: set by Connect, taken by Close.
	mu     sync.Mutex
	client *kgo.Client
	admin  *kadm.Client
	closed atomic.Bool

	// topics are the per-contract topics known to exist (created or found
	// by this sink), so each is ensured once.
	topicsMu sync.Mutex
	topics   map[string]bool
}

var _ sink.Sink = (*Sink)(nil)

// New returns a sink for the options, without I/O.
func New(opts Options) (*Sink, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &Sink{opts: opts, topics: map[string]bool{}}, nil
}

// clientOptions are the producer's settings: idempotent (franz-go's
// default, never disabled here) with acks=all, buffers bounded.
func (s *Sink) clientOptions() ([]kgo.Opt, error) { return ClientOptions(s.opts), nil }

// ClientOptions are the settings of a franz-go client for the options:
// seed brokers, TLS and SASL, and a producer that is idempotent (franz-go's
// default, never disabled here) with acks=all and bounded buffers. The
// shared log of spool.kind kafka connects with them too.
func ClientOptions(o Options) []kgo.Opt {
	opts := []kgo.Opt{
		kgo.SeedBrokers(o.Brokers...),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.MaxBufferedRecords(o.MaxBufferedRecords),
		kgo.MaxBufferedBytes(o.MaxBufferedBytes),
		kgo.ProducerBatchMaxBytes(int32(o.MaxRecordBytes)),
		kgo.RecordDeliveryTimeout(o.DeliveryTimeout),
	}
	if o.TLS {
		opts = append(opts, kgo.DialTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12}))
	}
	switch o.SASLMechanism {
	case SASLPlain:
		opts = append(opts, kgo.SASL(plain.Auth{User: o.SASLUser, Pass: o.SASLPassword}.AsMechanism()))
	case SASLScramSHA256:
		opts = append(opts, kgo.SASL(scram.Auth{User: o.SASLUser, Pass: o.SASLPassword}.AsSha256Mechanism()))
	case SASLScramSHA512:
		opts = append(opts, kgo.SASL(scram.Auth{User: o.SASLUser, Pass: o.SASLPassword}.AsSha512Mechanism()))
	}
	return opts
}

// Connect creates the client and ensures the good and failed topics exist.
// Calling it on a connected sink does nothing.
func (s *Sink) Connect(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return errors.New("connect kafka sink: sink is closed")
	}
	if s.client != nil {
		return nil
	}
	opts, err := s.clientOptions()
	if err != nil {
		return err
	}
	client, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("connect kafka sink: %s", redact.Error(err))
	}
	admin := kadm.NewClient(client)
	// A cluster that refuses the sink (a wrong password, no route) keeps
	// the client retrying; bound the wait so Connect fails, says why,
	// and delivery tries again with backoff.
	ctx, cancel := context.WithTimeout(ctx, s.opts.DeliveryTimeout)
	defer cancel()
	// Ping first: a refused login or an unreachable broker fails here with
	// the broker's answer, where topic creation would only time out.
	if err := client.Ping(ctx); err != nil {
		client.Close()
		return fmt.Errorf("connect kafka sink to %s: %s", strings.Join(s.opts.Brokers, ", "), redact.Error(err))
	}
	if err := EnsureTopics(ctx, admin, s.opts, s.opts.Topic, s.opts.FailedTopic); err != nil {
		client.Close()
		return err
	}
	s.client, s.admin = client, admin
	return nil
}

// EnsureTopics creates the topics that are missing, with the options'
// partitions and replication factor; a topic another producer created
// first is fine.
func EnsureTopics(ctx context.Context, admin *kadm.Client, o Options, topics ...string) error {
	resp, err := admin.CreateTopics(ctx, int32(o.Partitions), int16(o.ReplicationFactor), nil, topics...)
	if err != nil {
		return fmt.Errorf("create kafka topics %s: %s", strings.Join(topics, ", "), redact.Error(err))
	}
	for _, t := range topics {
		r, ok := resp[t]
		if !ok {
			return fmt.Errorf("create kafka topic %s: no answer for it", t)
		}
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create kafka topic %s: %w", t, r.Err)
		}
	}
	return nil
}

// Close waits (within ctx) for records already handed to the producer,
// then closes the client; writes still under way fail. It is safe on a
// sink that never connected, and after it Write returns an error.
func (s *Sink) Close(ctx context.Context) error {
	s.closed.Store(true)
	s.mu.Lock()
	client := s.client
	s.client, s.admin = nil, nil
	s.mu.Unlock()
	if client == nil {
		return nil
	}
	flushErr := client.Flush(ctx)
	client.Close()
	if flushErr != nil {
		return fmt.Errorf("close kafka sink: records unacknowledged at close: %w", flushErr)
	}
	return nil
}

func (s *Sink) connected() (*kgo.Client, *kadm.Client, error) {
	if s.closed.Load() {
		return nil, nil, errors.New("write to kafka sink: sink is closed")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == nil {
		return nil, nil, errors.New("write to kafka sink: not connected")
	}
	return s.client, s.admin, nil
}

// Write produces the records and returns once the brokers acknowledged
// every one of them, or with the first failure: a *sink.PermanentError
// when a record can never be produced as it is (too large, refused as
// invalid) and nothing else went wrong, otherwise a transient error.
func (s *Sink) Write(ctx context.Context, records []*event.Envelope) error {
	client, admin, err := s.connected()
	if err != nil {
		return err
	}
	if len(records) == 0 {
		return nil
	}
	recs := make([]*kgo.Record, len(records))
	for i, r := range records {
		topic := s.topicOf(r)
		if s.opts.TopicPerContract && r.Valid && topic != s.opts.Topic {
			if err := s.ensureContractTopic(ctx, admin, topic); err != nil {
				return err
			}
		}
		recs[i] = s.record(r, topic)
	}
	return classify(client.ProduceSync(ctx, recs...))
}

// record builds r's Kafka record: its JSON as the value.
func (s *Sink) record(r *event.Envelope, topic string) *kgo.Record {
	rec := &kgo.Record{
		Topic: topic,
		Value: r.AppendJSON(nil),
		Headers: []kgo.RecordHeader{
			{Key: HeaderSchema, Value: []byte(r.Schema)},
			{Key: HeaderEventID, Value: []byte(r.EventID)},
			{Key: HeaderContentType, Value: []byte(ContentType)},
		},
	}
	if key := RecordKey(r, s.opts.Key); key != "" {
		rec.Key = []byte(key)
	}
	return rec
}

// RecordKey is r's field that the key option names (event_id, user_id,
// anonymous_id), or "" for none or an empty field.
func RecordKey(r *event.Envelope, key string) string {
	switch key {
	case KeyEventID:
		return r.EventID
	case KeyUserID:
		return r.Identity.UserID
	case KeyAnonymousID:
		return r.Identity.AnonymousID
	}
	return ""
}

// topicOf returns the topic r goes to.
func (s *Sink) topicOf(r *event.Envelope) string {
	if !r.Valid {
		return s.opts.FailedTopic
	}
	if !s.opts.TopicPerContract || r.Vendor == "" || r.Name == "" {
		return s.opts.Topic
	}
	return ContractTopic(s.opts.Topic, r.Vendor, r.Name, r.Version)
}

func (s *Sink) ensureContractTopic(ctx context.Context, admin *kadm.Client, topic string) error {
	s.topicsMu.Lock()
	known := s.topics[topic]
	s.topicsMu.Unlock()
	if known {
		return nil
	}
	if err := EnsureTopics(ctx, admin, s.opts, topic); err != nil {
		return err
	}
	s.topicsMu.Lock()
	s.topics[topic] = true
	s.topicsMu.Unlock()
	return nil
}

// ContractTopic names the topic of a contract's model: prefix.vendor.name.vMODEL,
// where MODEL is the version's first number (1 of 1-0-2), every byte
// Kafka does not allow in a topic name becomes '_', and a name longer than
// Kafka's 249 characters is cut and ends in a hash of the whole, so two
// contracts never share a topic by being cut alike.
func ContractTopic(prefix, vendor, name, version string) string {
	full := prefix + "." + sanitize(vendor) + "." + sanitize(name) + ".v" + sanitize(sink.Model(version))
	return sink.Shorten(full, full, maxTopicLen)
}

func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !topicChar(c) {
			b[i] = '_'
		}
	}
	return string(b)
}

// Refused reports whether a produce error is a refusal no retry can cure
// for the record (too large, invalid): the sink dead-letters that record.
func Refused(err error) bool {
	return TooLarge(err) || errors.Is(err, kerr.InvalidRecord) || errors.Is(err, kerr.CorruptMessage)
}

// TooLarge reports whether the brokers refused a record for its size
// alone: the one refusal a collector may answer as too large (413, never
// sent again); an invalid or corrupt record is a failure to retry.
func TooLarge(err error) bool {
	return errors.Is(err, kerr.MessageTooLarge) || errors.Is(err, kerr.RecordListTooLarge)
}

// classify turns the produce results into Write's error: nil when every
// record was acknowledged; transient when any record failed for a reason
// that may pass (so the batch is retried whole before a refused record
// is isolated); permanent when every failure was a refusal.
func classify(results kgo.ProduceResults) error {
	var firstPermanent, firstTransient error
	failed := 0
	for _, r := range results {
		if r.Err == nil {
			continue
		}
		failed++
		isPermanent := Refused(r.Err)
		if isPermanent && firstPermanent == nil {
			firstPermanent = fmt.Errorf("produce to kafka topic %s: %w", r.Record.Topic, r.Err)
		}
		if !isPermanent && firstTransient == nil {
			firstTransient = fmt.Errorf("produce to kafka topic %s: %w", r.Record.Topic, r.Err)
		}
	}
	switch {
	case firstTransient != nil:
		return fmt.Errorf("%d of %d records unacknowledged: %s", failed, len(results), redact.Error(firstTransient))
	case firstPermanent != nil:
		return &sink.PermanentError{Err: fmt.Errorf("%d of %d records refused: %w", failed, len(results), firstPermanent)}
	}
	return nil
}
