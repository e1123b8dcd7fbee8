// Package pipeline turns the events a protocol read into envelopes: it
// resolves each event's contract, validates its data and contexts, and
// annotates it with ids, times, provenance and a fingerprint. It knows neither
// HTTP nor sinks: its input is a protocol's []event.Input, its output records.
package pipeline

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/cespare/xxhash/v2"
	"github.com/google/uuid"
)

// Resolver finds the contract for a schema key. *contract.Registry is one.
type Resolver interface {
	Resolve(key string) (*contract.Contract, error)
}

// Pipeline processes events. It is safe for concurrent use.
type Pipeline struct {
	resolver  Resolver
	collector event.Collector
	namespace string
}

// New returns a pipeline that resolves contracts with resolver and stamps
// records with collector. namespace is used for events that name none.
func New(resolver Resolver, collector event.Collector, namespace string) *Pipeline {
	return &Pipeline{resolver: resolver, collector: collector, namespace: namespace}
}

// Request is what the pipeline knows of the request events arrived in.
type Request struct {
	Protocol    string
	RequestID   string
	Source      event.Source
	CollectedAt time.Time
}

// Process turns inputs into one record each, in order.
func (p *Pipeline) Process(req Request, inputs []event.Input) []*event.Envelope {
	out := make([]*event.Envelope, len(inputs))
	// One allocation for all of the request's envelopes.
	envs := make([]event.Envelope, len(inputs))
	for i := range inputs {
		env := &envs[i]
		p.process(env, req, &inputs[i])
		out[i] = env
	}
	return out
}

// Reject builds the failed record for a request whose body could not be read
// as events at all, keeping raw (the body, or its first bytes).
func (p *Pipeline) Reject(req Request, failure *event.Failure, raw []byte) *event.Envelope {
	env := &event.Envelope{}
	p.annotate(env, req, &event.Input{})
	env.Failure = failure
	env.SetRaw(raw)
	return env
}

func (p *Pipeline) process(env *event.Envelope, req Request, in *event.Input) {
	p.annotate(env, req, in)
	env.Payload = in.Data
	env.Contexts = in.Contexts
	env.Attributes = in.Attributes
	env.Schema = in.SchemaKey
	failure := in.Failure
	if failure == nil && in.Arbitrary {
		env.Valid = true
		return
	}
	if failure == nil {
		var c *contract.Contract
		c, failure = p.validate(in)
		if c != nil {
			env.Schema, env.Vendor, env.Name, env.Version = c.URI, c.Key.Vendor, c.Key.Name, c.Version
		}
	}
	if failure != nil {
		if env.Vendor == "" {
			if k, err := contract.ParseKey(in.SchemaKey); err == nil {
				env.Schema, env.Vendor, env.Name, env.Version = k.String(), k.Vendor, k.Name, k.Version.String()
			}
		}
		env.Failure = failure
		env.SetRaw(in.Raw)
		return
	}
	env.Valid = true
}

// validate checks the event's data and every context against their
// contracts. It returns the event's own contract when it resolved, and a
// failure unless all are valid.
func (p *Pipeline) validate(in *event.Input) (*contract.Contract, *event.Failure) {
	if in.SchemaKey == "" {
		return nil, event.NewFailure(event.ProtocolViolation, "the event names no schema; set its schema to the contract's key, such as iglu:com.acme/checkout/jsonschema/1-0-0")
	}
	var notFound, violations []event.Message
	check := func(key string, data []byte, instance string) *contract.Contract {
		c, err := p.resolver.Resolve(key)
		if err != nil {
			msg := event.Message{Schema: key, InstancePath: instance, Message: resolveSentence(key, err)}
			if errors.Is(err, contract.ErrBadKey) {
				msg.Keyword = "schema"
			}
			notFound = append(notFound, msg)
			return nil
		}
		// An event without data (a CloudEvent may have none) is JSON null:
		// the contract decides whether that is allowed.
		msgs, err := c.ValidateJSON(data, instance)
		if err != nil {
			violations = append(violations, event.Message{Schema: c.URI, InstancePath: instance, Message: fmt.Sprintf("%s is not valid JSON: %v", instance, err)})
			return c
		}
		violations = append(violations, msgs...)
		return c
	}
	own := check(in.SchemaKey, in.Data, "/data")
	for i := range in.Contexts {
		check(in.Contexts[i].Schema, in.Contexts[i].Data, "/contexts/"+strconv.Itoa(i)+"/data")
	}
	switch {
	case len(notFound) > 0:
		return own, &event.Failure{Type: event.SchemaNotFound, Messages: append(notFound, violations...)}
	case len(violations) > 0:
		return own, &event.Failure{Type: event.SchemaViolation, Messages: violations}
	}
	return own, nil
}

func resolveSentence(key string, err error) string {
	if errors.Is(err, contract.ErrBadKey) {
		return fmt.Sprintf("%q is not a schema key; use the form iglu:vendor/name/jsonschema/M-R-A", key)
	}
	return fmt.Sprintf("no contract %s is registered; add it to the contracts directory or fix the event's schema", key)
}

// annotate stamps the record with what Accord knows of the event beyond its
// data: ids, times, provenance, identity and its collector.
func (p *Pipeline) annotate(env *event.Envelope, req Request, in *event.Input) {
	env.EventID = in.EventID
	if env.EventID == "" {
		env.EventID = newEventID()
	}
	env.RequestID = req.RequestID
	env.Protocol = req.Protocol
	env.CollectedAt = event.Time{Time: req.CollectedAt}
	env.SentAt = event.Time{Time: in.SentAt}
	env.CreatedAt = event.Time{Time: in.CreatedAt}
	env.EventTime = event.Time{Time: EventTime(req.CollectedAt, in.SentAt, in.CreatedAt)}
	env.Namespace = in.Namespace
	if env.Namespace == "" {
		env.Namespace = p.namespace
	}
	env.Source = req.Source
	env.Identity = in.Identity
	env.Collector = p.collector
	env.Fingerprint = Fingerprint(in)
}

// EventTime is the best estimate of when the event happened. With both a
// device creation time and a device send time it corrects the device clock's
// skew: collected - (sent - created), as Snowplow's derived timestamp and
// Segment's timestamp do. With only a creation time it trusts it; with
// neither it is the collection time.
func EventTime(collected, sent, created time.Time) time.Time {
	switch {
	case !created.IsZero() && !sent.IsZero():
		return collected.Add(-sent.Sub(created))
	case !created.IsZero():
		return created
	}
	return collected
}

// Fingerprint hashes what the client sent of an event (schema, data and
// contexts) so that a resent copy of an event without an id can be spotted:
// identical inputs have identical fingerprints.
func Fingerprint(in *event.Input) string {
	d := xxhash.New()
	_, _ = d.WriteString(in.SchemaKey)
	_, _ = d.Write([]byte{0})
	_, _ = d.Write(in.Data)
	for i := range in.Contexts {
		_, _ = d.Write([]byte{0})
		_, _ = d.WriteString(in.Contexts[i].Schema)
		_, _ = d.Write([]byte{0})
		_, _ = d.Write(in.Contexts[i].Data)
	}
	if in.Data == nil && len(in.Contexts) == 0 {
		_, _ = d.Write(in.Raw)
	}
	var buf [16]byte
	return string(strconv.AppendUint(buf[:0], d.Sum64(), 16))
}

// newEventID returns a UUIDv7: time-ordered, so stores indexed on event_id
// (SQLite's primary key, for one) append to the index instead of writing to
// a random page of it per event, which measured three times faster.
func newEventID() string {
	id, err := uuid.NewV7()
	if err != nil {
		// Only a failing random source makes NewV7 fail; v4 would fail too.
		return uuid.Must(uuid.NewRandom()).String()
	}
	return id.String()
}
