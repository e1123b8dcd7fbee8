// Package sink defines where records go: the Sink interface every store or
// stream implements, the sink types by name (Types), the selection of
// records each sink wants, and the errors by which a sink tells delivery how
// to treat a failed write (package delivery runs the sinks).
//
// Each sink type lives in its own package under internal/sink/ with its
// options struct, its Validate, its docs and its tests; adding one touches
// that folder and one registration line in internal/app (SinkTypes).
package sink

import (
	"context"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
)

// Sink writes batches of records. Its life has three steps:
//
//   - Type.New builds it from its options without any I/O, so a
//     configuration error is found at start and a store that is down is not.
//   - Connect does the I/O (opens files, dials servers, creates tables).
//     Delivery calls it before the first Write and, while it fails, again
//     with backoff; the collector runs and the spool holds the records
//     meanwhile. Calling it on a connected sink does nothing.
//   - Close releases what Connect acquired, within ctx. It is safe on a
//     sink that never connected, and after it Write returns an error.
//
// Write is called with good and failed records mixed; a sink keeps each
// kind in its own destination (a table, a file). Write either stores the
// whole batch or returns an error; it must be safe to call again with the
// same records (delivery is at least once, and records carry event_id for
// deduplication). A Write before Connect succeeded returns an error.
type Sink interface {
	Connect(ctx context.Context) error
	Write(ctx context.Context, records []*event.Envelope) error
	Close(ctx context.Context) error
}

// JSONOnly is implemented by a sink that reads of a record nothing but its
// encoding (Envelope.JSON, through AppendJSON) and Valid, as sinks writing
// NDJSON do. Delivery hands such a sink the bytes the record was spooled as
// with only valid read from them, instead of decoding every record for it.
type JSONOnly interface {
	Sink
	// ReadsJSONOnly marks the sink; it is never called.
	ReadsJSONOnly()
}

// KeepsNoStrings is implemented by a sink that keeps nothing of the
// records it is handed once its Write has returned: none of their strings
// or bytes (Envelope.JSON), nor the envelopes, or only copies of them (the
// typed tables' tracker clones the versions it remembers). Delivery hands
// such a sink records decoded from the spool whose strings share the
// bytes they were read as (Envelope.JSON) instead of a copy of each
// record, and, once the Write has returned, reads and decodes a later
// batch into the same memory: what the sink kept would change under it.
// A staging sink (Staging) keeps what it is handed by design; delivery
// reuses nothing of its batches.
type KeepsNoStrings interface {
	Sink
	// KeepsNoStrings marks the sink; it is never called.
	KeepsNoStrings()
}

// Staging is implemented by a sink that gathers the records of many
// Writes into larger units before it stores them (the s3 sink rolls files
// by size and age). For such a sink a Write returning nil means the
// records are taken into the sink's buffers, not stored: delivery moves
// the sink's spool cursor past a batch only once Staged counts its Write
// as stored, so a crash before the upload delivers the batch again and
// never loses it. Write must take a batch whole or not at all.
type Staging interface {
	Sink
	// Staged returns two counts of the Writes that returned nil: taken,
	// all of them; stored, how many of the first of them (in the order
	// they returned) have every record stored. stored <= taken.
	Staged() (taken, stored uint64)
	// Due is when the sink next wants Flush called: the oldest buffer's
	// age limit, or now when a store failed and is to be tried again;
	// zero while it holds nothing.
	Due() time.Time
	// Flush stores the buffers that are due by now, or with all every
	// buffer, and returns the first failure; what it could not store
	// stays buffered for the next Flush.
	Flush(ctx context.Context, all bool) error
}

// Syncer is implemented by a sink whose Write may return before what it
// wrote would survive a power loss (the sqlite sink with synchronous:
// normal commits to its write-ahead log without an fsync: a crash of the
// process loses nothing, as the kernel holds the pages, but a power loss
// may). Delivery calls Sync before it makes the sink's spool cursor
// durable past records Write took, so that a power loss delivers them
// again instead of losing them; it does so at most every 100 ms, not per
// Write.
type Syncer interface {
	Sink
	// Sync makes durable what every Write that returned nil wrote.
	Sync(ctx context.Context) error
}

// Options is a sink type's configuration. Validate names the offending key
// (relative to the sink's options) and the fix.
type Options interface {
	Validate() error
}

// Type describes one kind of sink.
type Type struct {
	// Name is what sinks[].type says in the configuration.
	Name string
	// Doc is one sentence for the configuration reference.
	Doc string
	// NewOptions returns a pointer to the type's options struct, filled
	// with its defaults. Its fields carry yaml and doc tags; the
	// configuration reference is generated from them.
	NewOptions func() Options
	// New builds a sink from validated options, without I/O: the sink
	// connects when delivery calls its Connect.
	New func(opts Options, deps Deps) (Sink, error)
	// ReadFailed, for a type that can read back the failed records it
	// stored, calls fn with each one q matches, oldest first, stopping at
	// fn's first error. accord replay reads failed records with it; nil
	// for types that cannot.
	ReadFailed func(ctx context.Context, opts Options, q FailedQuery, fn func(*event.Envelope) error) error
	// Subjects, for a type whose stores can find and remove the records of
	// one data subject (accord subject export and delete), returns them
	// for the sink's options; nil for types that cannot read back what
	// they wrote (a file, a stream, an HTTP endpoint).
	Subjects func(opts Options) (SubjectStore, error)
}

// SubjectStore finds and removes the records of one data subject in the
// stores of one sink (for accord subject). Each method opens what it needs
// and closes it before returning, so it can run beside a collector
// writing to the same store.
type SubjectStore interface {
	// ExportSubject calls fn with each record q matches, good then failed,
	// oldest first, stopping at fn's first error; it returns how many
	// records each of its stores (a table) held.
	ExportSubject(ctx context.Context, q SubjectQuery, fn func(*event.Envelope) error) ([]StoreCount, error)
	// DeleteSubject removes every record q matches and returns how many
	// each of its stores removed.
	DeleteSubject(ctx context.Context, q SubjectQuery) ([]StoreCount, error)
}

// StoreCount is how many of a subject's records one store (a table) held.
type StoreCount struct {
	Store string `json:"store"`
	Count int64  `json:"count"`
}

// SubjectQuery names a data subject. A record is the subject's when its
// identity names one of the ids, or when its data or contexts hold one of
// the pseudonyms (what a contract's hash or hmac made of the id).
type SubjectQuery struct {
	// UserIDs match identity.user_id; AnonymousIDs match
	// identity.anonymous_id and identity.network_user_id.
	UserIDs, AnonymousIDs []string
	// Pseudonyms are matched anywhere in payload and contexts.
	Pseudonyms []string
}

// Match reports whether r is a record q selects; stores filtering in their
// own query language use it to check.
func (q SubjectQuery) Match(r *event.Envelope) bool {
	if slices.Contains(q.UserIDs, r.Identity.UserID) && r.Identity.UserID != "" {
		return true
	}
	for _, id := range []string{r.Identity.AnonymousID, r.Identity.NetworkUserID} {
		if id != "" && slices.Contains(q.AnonymousIDs, id) {
			return true
		}
	}
	for _, p := range q.Pseudonyms {
		if p == "" {
			continue
		}
		if strings.Contains(string(r.Payload), p) {
			return true
		}
		for _, c := range r.Contexts {
			if strings.Contains(string(c.Data), p) {
				return true
			}
		}
	}
	return false
}

// FailedQuery selects failed records; empty fields select everything.
type FailedQuery struct {
	// Types are the failure types wanted.
	Types []event.FailureType
	// Schema is the contract key wanted (iglu:vendor/name/jsonschema/M-R-A),
	// or a prefix of it ending in "/" or "-" (iglu:com.acme/, iglu:com.acme/checkout/jsonschema/1-).
	Schema string
	// Since and Until bound collected_at: Since <= collected_at < Until.
	Since, Until time.Time
}

// Match reports whether r is a record q selects; types that filter in
// their store use it to check, and replay to filter dead letters.
func (q FailedQuery) Match(r *event.Envelope) bool {
	if len(q.Types) > 0 {
		if r.Failure == nil || !slices.Contains(q.Types, r.Failure.Type) {
			return false
		}
	}
	if q.Schema != "" && !q.schemaMatches(r.Schema) {
		return false
	}
	if !q.Since.IsZero() && r.CollectedAt.Before(q.Since) {
		return false
	}
	if !q.Until.IsZero() && !r.CollectedAt.Before(q.Until) {
		return false
	}
	return true
}

func (q FailedQuery) schemaMatches(schema string) bool {
	if strings.HasSuffix(q.Schema, "/") || strings.HasSuffix(q.Schema, "-") {
		return strings.HasPrefix(schema, q.Schema)
	}
	return schema == q.Schema
}

// Deps is what the application hands every sink it builds.
type Deps struct {
	// Logger carries the sink's name (key "sink"); never nil when the
	// application builds the sink.
	Logger *slog.Logger
	// Contracts are the contracts the collector validates against, for
	// sinks that derive their layout from them (a table per contract, a
	// Parquet schema). Nil when the sink is built outside the application
	// (in a test, say).
	Contracts Contracts
}

// Contracts is how a sink sees the contracts: it resolves a schema key as
// the pipeline does (contracts.dir, the built-in contracts, then
// contracts.backends through the cache) and hears when they change.
type Contracts interface {
	// Resolve returns the contract a schema key names, in any form a
	// record's schema field holds.
	Resolve(key string) (*contract.Contract, error)
	// Changed returns a channel that is closed at the next change of the
	// contracts (a reload of contracts.dir after an edit, a registry
	// write, a cache purge). Take the channel before reading what it
	// guards; once it is closed, take a new one and read again.
	Changed() <-chan struct{}
}

// Types is the sink types Accord knows, by name.
type Types struct {
	byName map[string]Type
}

// NewTypes returns the given types, by name.
func NewTypes(types ...Type) *Types {
	t := &Types{byName: make(map[string]Type, len(types))}
	for _, typ := range types {
		t.byName[typ.Name] = typ
	}
	return t
}

// Lookup returns the type called name.
func (t *Types) Lookup(name string) (Type, bool) {
	typ, ok := t.byName[name]
	return typ, ok
}

// Names returns the registered type names, sorted.
func (t *Types) Names() []string {
	names := make([]string, 0, len(t.byName))
	for n := range t.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Selection says which records a sink receives.
type Selection string

// Selections.
const (
	All    Selection = "all"
	Good   Selection = "good"
	Failed Selection = "failed"
)

// Wants reports whether a sink with this selection receives a record that
// is valid (good) or not (failed).
func (sel Selection) Wants(valid bool) bool {
	return sel == All || sel == "" || (sel == Good) == valid
}

// Select returns the records sel wants. It returns records itself, without
// copying, when all of them are wanted.
func Select(records []*event.Envelope, sel Selection) []*event.Envelope {
	if sel == All || sel == "" {
		return records
	}
	want := sel == Good
	n := 0
	for _, r := range records {
		if r.Valid == want {
			n++
		}
	}
	if n == len(records) {
		return records
	}
	out := make([]*event.Envelope, 0, n)
	for _, r := range records {
		if r.Valid == want {
			out = append(out, r)
		}
	}
	return out
}

// PermanentError is a write that will never succeed however often it is
// retried (the destination refused the records as such, say with a 400).
// A delivery runner sends such records to the dead letter instead of
// retrying them.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// RetryAfterError is a transient failure whose destination said when to
// try again (HTTP 429 or 503 with Retry-After).
type RetryAfterError struct {
	Err   error
	After time.Duration
}

func (e *RetryAfterError) Error() string { return e.Err.Error() }
func (e *RetryAfterError) Unwrap() error { return e.Err }
