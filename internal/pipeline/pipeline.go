// Package pipeline turns the events a protocol read into records: it
// annotates each with ids, times, provenance and a fingerprint, then runs it
// through an ordered list of stages: validation against its contract first
// (Validate), then whatever the application configures after it (privacy,
// enrichment, routing). It knows neither HTTP nor sinks: its input is a
// protocol's []event.Input, its output the records.
//
// A new stage is a type with a Process(Request, []Event) method, in its own
// package, handed to New by the application builder.
package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/cespare/xxhash/v2"
)

// Resolver finds the contract for a schema key. *contract.Set is one.
type Resolver = contract.Resolver

// RequestResolvers is a Resolver that bounds the lookups each request may
// cause (*registry.Resolver is one, for its backends): the validate stage
// resolves a request's keys through ForRequest(req.Context,
// req.LookupDeadline). Lookups stop when ctx ends or, when deadline is
// set, at deadline.
type RequestResolvers interface {
	ForRequest(ctx context.Context, deadline time.Time) contract.Resolver
}

// Stage is one step of the pipeline. Process sees all of a request's events
// at once, in order, after the earlier stages have acted on them; it acts
// on each through its Event (a stage that fails an event calls Event.Fail).
// A stage is built once, when the pipeline is, and must be safe for
// concurrent use: requests run through it in parallel.
type Stage interface {
	Process(req Request, events []Event)
}

// Event is one event on its way through the stages: what the protocol read
// and the record being built from it.
type Event struct {
	// Envelope is the record; the pipeline's result points into it.
	Envelope event.Envelope
	// Input is what the protocol read. Stages read it, never change it.
	Input *event.Input
	// Contract is the event's own contract once validation resolved it,
	// nil before that or when it did not resolve.
	Contract *contract.Contract
}

// Fail marks the event failed with f, keeping its original input as the
// record's raw, and names its schema from the key it gave when no contract
// did.
func (e *Event) Fail(f *event.Failure) {
	env := &e.Envelope
	env.Valid = false
	env.Failure = f
	if env.Vendor == "" {
		if k, err := contract.ParseKey(e.Input.SchemaKey); err == nil {
			env.Schema, env.Vendor, env.Name, env.Version = k.String(), k.Vendor, k.Name, k.Version.String()
		}
	}
	env.SetRaw(e.Input.Raw)
}

// Failed reports whether an earlier stage (or the protocol) failed the event.
func (e *Event) Failed() bool { return e.Envelope.Failure != nil }

// Pipeline processes events. It is safe for concurrent use.
type Pipeline struct {
	collector event.Collector
	namespace string
	stages    []Stage
	ids       idGenerator
}

// New returns a pipeline that stamps records with collector, gives events
// that name no namespace the given one, resolves and validates every event
// against its contract with resolver, then runs stages in the order given
// (privacy, enrichment, routing). Validation always comes first: it decides
// what is valid, and every later stage works from the contract it resolved.
func New(resolver Resolver, collector event.Collector, namespace string, stages ...Stage) *Pipeline {
	return NewWithPolicy(resolver, FailUnknownContexts, collector, namespace, stages...)
}

// NewWithPolicy is New with the validate stage applying unknown to the
// contexts whose contract is not registered.
func NewWithPolicy(resolver Resolver, unknown UnknownContexts, collector event.Collector, namespace string, stages ...Stage) *Pipeline {
	return &Pipeline{
		collector: collector,
		namespace: namespace,
		stages:    append([]Stage{ValidateWithPolicy(resolver, unknown)}, stages...),
	}
}

// UnknownContexts is what validation does with an event carrying a context
// (an entity) whose schema key names no registered contract: the
// contracts.unknown_contexts setting.
type UnknownContexts string

// The policies for unknown contexts.
const (
	// FailUnknownContexts fails the event as schema_not_found: nothing
	// unvalidated is stored good. The default.
	FailUnknownContexts UnknownContexts = "fail"
	// KeepUnknownContexts stores the event good (when all else about it is
	// valid) with the unknown context kept as sent, unvalidated, and its
	// key listed in the record's attributes under unknown_contexts.
	KeepUnknownContexts UnknownContexts = "keep"
)

// Validate reports a value that is not a policy; the empty value is the
// default, fail.
func (u UnknownContexts) Validate() error {
	switch u {
	case "", FailUnknownContexts, KeepUnknownContexts:
		return nil
	}
	return fmt.Errorf("%q is not a policy; use fail or keep", string(u))
}

// Request is what the pipeline knows of the request events arrived in.
type Request struct {
	// Context ends when the request does (the client went away); lookups
	// in registry backends stop with it, and at LookupDeadline. Nil is
	// context.Background().
	Context context.Context
	// LookupDeadline, when set, is when lookups in registry backends stop
	// too. A deadline rather than a Context with a timeout: the timer is
	// armed only around a lookup that reaches a backend, which most
	// requests never make (a timeout context a request cost about 1 µs
	// of a single-event request's 75).
	LookupDeadline time.Time
	Protocol       string
	RequestID      string
	Source         event.Source
	CollectedAt    time.Time
	// Header is the request's header, canonical names (http.Header), for
	// stages honouring what a client signals there (SP-Anonymous,
	// Sec-GPC). Read only; nil for replayed records.
	Header http.Header
	// Replay says the events are records Accord stored before, run
	// through the pipeline again (accord replay): what a record says of
	// itself (the privacy marker in its attributes) is Accord's own, not
	// a client's.
	Replay bool
}

// Process turns inputs into one record each, in order.
func (p *Pipeline) Process(req Request, inputs []event.Input) []*event.Envelope {
	// One allocation for all of the request's events and their envelopes,
	// and for a one-event request (what browsers mostly send) the result
	// and the text of its ids too (768 bytes, which the event and its ids
	// took in two); another for the ids of all the events of a larger one.
	var events []Event
	var out []*event.Envelope
	var ids []byte
	if len(inputs) == 1 {
		one := new(struct {
			events [1]Event
			out    [1]*event.Envelope
			ids    [idsText]byte
		})
		events, out, ids = one.events[:], one.out[:], one.ids[:]
	} else {
		events, out, ids = make([]Event, len(inputs)), make([]*event.Envelope, len(inputs)), make([]byte, idsText*len(inputs))
	}
	return p.process(req, inputs, events, out, ids)
}

// process makes inputs into records in events, out and ids, each as long
// as inputs (ids idsText times), events zeroed.
func (p *Pipeline) process(req Request, inputs []event.Input, events []Event, out []*event.Envelope, ids []byte) []*event.Envelope {
	for i := range inputs {
		p.start(&events[i], req, &inputs[i], ids[i*idsText:(i+1)*idsText:(i+1)*idsText])
	}
	for _, s := range p.stages {
		s.Process(req, events)
	}
	for i := range events {
		out[i] = &events[i].Envelope
		// Nothing reads an event's input after the stages: the records
		// hold none of its memory, so whoever lent the inputs (the
		// server, protocol.Request.Inputs) may reuse them.
		events[i].Input = nil
	}
	return out
}

// Records is memory a request's records are made in (ProcessInto), for a
// caller that reuses it from request to request: the server, when what it
// delivers to keeps none of a request's records once it has stored them
// (a spool: only their encoding is kept). A 100-event request's records
// were 78 KB, two fifths of what it allocated. The zero value is ready to
// use.
type Records struct {
	events []Event
	out    []*event.Envelope
	ids    []byte
	// used is how many events the last ProcessInto made.
	used int
}

// ProcessInto is Process making the records in mem (grown when a request
// holds more events than it has room for), as new or as Clear left it.
// The records are valid until mem is cleared: nothing may keep them, nor
// the text of their ids, once the caller is done with the request.
func (p *Pipeline) ProcessInto(req Request, inputs []event.Input, mem *Records) []*event.Envelope {
	n := len(inputs)
	if cap(mem.events) < n {
		mem.events, mem.out, mem.ids = make([]Event, n), make([]*event.Envelope, n), make([]byte, idsText*n)
	}
	mem.used = n
	return p.process(req, inputs, mem.events[:n], mem.out[:n], mem.ids[:idsText*n])
}

// Clear zeroes what the last ProcessInto made, so that mem keeps nothing
// of that request alive until it is used again.
func (mem *Records) Clear() {
	clear(mem.events[:mem.used])
	mem.used = 0
}

// Reject builds the failed record for a request whose body could not be read
// as events at all, keeping raw (the body, or its first bytes). The stages
// after validation see it too: the collector-wide privacy policy applies to
// every record, this one included.
func (p *Pipeline) Reject(req Request, failure *event.Failure, raw []byte) *event.Envelope {
	events := []Event{{Input: &event.Input{Raw: raw, Failure: failure}}}
	env := &events[0].Envelope
	p.annotate(env, req, &event.Input{}, make([]byte, idsText))
	env.Failure = failure
	env.SetRaw(raw)
	for _, s := range p.stages[1:] {
		s.Process(req, events)
	}
	return env
}

// start annotates the event's record and copies what the protocol read into
// it. The record is valid until a stage fails it; one the protocol already
// failed starts failed.
func (p *Pipeline) start(ev *Event, req Request, in *event.Input, ids []byte) {
	ev.Input = in
	env := &ev.Envelope
	p.annotate(env, req, in, ids)
	env.Payload = in.Data
	env.Contexts = in.Contexts
	env.Attributes = in.Attributes
	env.Schema = in.SchemaKey
	if in.Failure != nil {
		ev.Fail(in.Failure)
		return
	}
	if len(in.EventID) > MaxEventIDBytes {
		ev.Fail(event.NewFailure(event.ProtocolViolation, fmt.Sprintf("the event's id is %d bytes; send one of at most %d (a UUID is 36)", len(in.EventID), MaxEventIDBytes)))
		return
	}
	env.Valid = true
}

// MaxEventIDBytes bounds an id a client gives its event. Stores key their
// tables on event_id, and an index entry has a size limit (PostgreSQL's
// about 2.7 KB, MySQL's VARCHAR(255)): a longer id would stall or
// dead-letter a whole batch there. Such an event fails as a
// protocol_violation under an id Accord generates.
const MaxEventIDBytes = 255

// Validate is the stage that resolves each event's contract and those of its
// contexts and validates their data, failing the event unless all are
// valid. Events the protocol read as arbitrary data (the pixel's /px) have
// no contract and pass as they are.
func Validate(resolver Resolver) Stage { return validateStage{resolver: resolver} }

// ValidateWithPolicy is Validate applying unknown to contexts whose contract
// is not registered. Whatever the policy, each record lists the keys of
// those contexts in Envelope.UnknownContexts (for GET /stats).
func ValidateWithPolicy(resolver Resolver, unknown UnknownContexts) Stage {
	return validateStage{resolver: resolver, keep: unknown == KeepUnknownContexts}
}

type validateStage struct {
	resolver Resolver
	keep     bool
}

func (v validateStage) Process(req Request, events []Event) {
	resolver := v.resolver
	if rr, ok := resolver.(RequestResolvers); ok {
		ctx := req.Context
		if ctx == nil {
			ctx = context.Background()
		}
		resolver = rr.ForRequest(ctx, req.LookupDeadline)
	}
	for i := range events {
		ev := &events[i]
		if ev.Failed() || ev.Input.Arbitrary {
			continue
		}
		c, failure, unknown := validate(resolver, ev.Input, v.keep)
		env := &ev.Envelope
		if c != nil {
			ev.Contract = c
			env.Schema, env.Vendor, env.Name, env.Version = c.URI, c.Key.Vendor, c.Key.Name, c.Version
			env.Resolved = true
		}
		env.UnknownContexts = unknown
		if failure != nil {
			ev.Fail(failure)
		} else if len(unknown) > 0 {
			env.Attributes = withUnknownContexts(env.Attributes, unknown)
		}
	}
}

// validate checks the event's data and every context against their
// contracts. It returns the event's own contract when it resolved, a
// failure unless all are valid, and the keys of the contexts whose
// contract is not registered; with keep, those contexts pass unvalidated.
func validate(resolver Resolver, in *event.Input, keep bool) (*contract.Contract, *event.Failure, []string) {
	if in.SchemaKey == "" {
		return nil, event.NewFailure(event.ProtocolViolation, "the event names no schema; set its schema to the contract's key, such as iglu:com.acme/checkout/jsonschema/1-0-0"), nil
	}
	var notFound, violations []event.Message
	var unknown []string
	check := func(key string, data []byte, instance string, context bool, checkedBy any) *contract.Contract {
		c, err := resolver.Resolve(key)
		if err != nil {
			// Only a well-formed key that no registry holds is unknown: a
			// malformed key, a spent lookup budget or a backend that did
			// not answer fails the event whatever the policy.
			if context && errors.Is(err, contract.ErrNotFound) && !errors.Is(err, contract.ErrLookupBudget) {
				unknown = append(unknown, key)
				if keep {
					return nil
				}
			}
			msg := event.Message{Schema: key, InstancePath: instance, Message: resolveSentence(key, err)}
			if errors.Is(err, contract.ErrBadKey) {
				msg.Keyword = "schema"
			}
			notFound = append(notFound, msg)
			return nil
		}
		if checkedBy != nil && checkedBy == any(c) {
			// The protocol read the data in one walk that found it JSON
			// and valid against this very contract (contract.CheckData).
			return c
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
	own := check(in.SchemaKey, in.Data, "/data", false, in.CheckedBy)
	for i := range in.Contexts {
		check(in.Contexts[i].Schema, in.Contexts[i].Data, contextInstance(i), true, nil)
	}
	switch {
	case len(notFound) > 0:
		return own, &event.Failure{Type: event.SchemaNotFound, Messages: bounded(append(notFound, violations...))}, unknown
	case len(violations) > 0:
		return own, &event.Failure{Type: event.SchemaViolation, Messages: bounded(violations)}, unknown
	}
	return own, nil, unknown
}

// contextInstances are the instance paths of the first contexts, which
// validation names for every context it checks (a message about one
// quotes it): built each time, they were an allocation a context.
var contextInstances = [...]string{"/contexts/0/data", "/contexts/1/data", "/contexts/2/data", "/contexts/3/data",
	"/contexts/4/data", "/contexts/5/data", "/contexts/6/data", "/contexts/7/data"}

// contextInstance returns the instance path of the data of context i.
func contextInstance(i int) string {
	if i < len(contextInstances) {
		return contextInstances[i]
	}
	return "/contexts/" + strconv.Itoa(i) + "/data"
}

// withUnknownContexts returns attrs, a JSON object or empty, with
// "unknown_contexts": keys as its first member. No protocol has an
// attribute of that name (CloudEvents extension names hold no underscore,
// the others' are fixed lists), so it never makes a duplicate member.
func withUnknownContexts(attrs []byte, keys []string) []byte {
	list, _ := json.Marshal(keys) // strings always marshal
	out := make([]byte, 0, len(attrs)+len(list)+24)
	out = append(out, `{"unknown_contexts":`...)
	out = append(out, list...)
	rest := bytes.TrimSpace(attrs)
	if len(rest) >= 2 && rest[0] == '{' {
		if inner := bytes.TrimSpace(rest[1 : len(rest)-1]); len(inner) > 0 {
			out = append(out, ',')
			out = append(out, inner...)
		}
	}
	return append(out, '}')
}

// maxMessages bounds the messages a failure keeps: an array of 100,000
// wrong items would otherwise store 100,000 sentences, many times the
// event's size. The first ones say what to fix; the last counts the rest.
const maxMessages = 20

func bounded(msgs []event.Message) []event.Message {
	if len(msgs) <= maxMessages {
		return msgs
	}
	rest := len(msgs) - maxMessages
	return append(msgs[:maxMessages:maxMessages], event.Message{
		Message: fmt.Sprintf("%d more problems were found and not listed; fix the ones above and send the event again", rest)})
}

func resolveSentence(key string, err error) string {
	if errors.Is(err, contract.ErrBadKey) {
		return fmt.Sprintf("%q is not a schema key; use the form iglu:vendor/name/jsonschema/M-R-A", key)
	}
	if errors.Is(err, contract.ErrLookupBudget) {
		return err.Error()
	}
	if !errors.Is(err, contract.ErrNotFound) {
		// A registry backend could not answer (unreachable, an error, a
		// document that does not compile): its error names it and why,
		// redacted where it is made, and is cut to a bound, as it may
		// quote what a remote server said.
		msg := err.Error()
		if len(msg) > maxBackendErrorBytes {
			msg = strings.ToValidUTF8(msg[:maxBackendErrorBytes], "") + "..."
		}
		return fmt.Sprintf("contract %s could not be looked up: %s; the next event naming it asks the backends again", key, msg)
	}
	return fmt.Sprintf("no contract %s is registered; add it to the contracts directory or fix the event's schema", key)
}

// maxBackendErrorBytes bounds a backend's error kept in a failure message.
const maxBackendErrorBytes = 512

// annotate stamps the record with what Accord knows of the event beyond its
// data: ids, times, provenance, identity and its collector.
func (p *Pipeline) annotate(env *event.Envelope, req Request, in *event.Input, ids []byte) {
	p.stampIDs(env, in, ids)
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
}

// idsText is the length of an event id Accord makes (a UUID's text) and a
// fingerprint's together.
const idsText = 36 + 16

// stampIDs sets the record's event id (the client's, or a UUIDv7 when it
// gave none or one too long) and its fingerprint. Their text is written to
// ids (of length idsText), which the record's strings then point into: ids
// is the record's own memory, made with it for this record alone and
// written only here, so the strings never change while the record lives
// (ProcessInto's memory is used again only once nothing keeps its records).
func (p *Pipeline) stampIDs(env *event.Envelope, in *event.Input, ids []byte) {
	if in.EventID != "" && len(in.EventID) <= MaxEventIDBytes {
		env.EventID = in.EventID
		env.Fingerprint = bytesString(appendFingerprint(ids[:0], in))
		return
	}
	env.EventID, env.Fingerprint = splitString(bytesString(appendFingerprint(p.ids.append(ids[:0]), in)), 36)
}

// bytesString is b as a string without a copy; b must never be written
// again.
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func splitString(s string, at int) (string, string) { return s[:at], s[at:] }

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
	var buf [16]byte
	return string(appendFingerprint(buf[:0], in))
}

// appendFingerprint appends in's fingerprint to b.
func appendFingerprint(b []byte, in *event.Input) []byte {
	var d xxhash.Digest
	d.Reset()
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
	return appendHex(b, d.Sum64())
}
