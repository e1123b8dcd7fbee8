// Package columns is the one place an envelope becomes columns: the name,
// type and value of every column a table of records has, in one ordered
// list. Sinks that store records in tables (SQLite today; PostgreSQL, MySQL
// and Parquet next) build their table definitions, inserts and read-back
// from it instead of keeping positional column lists in step by hand, so a
// field added to the envelope is added here once.
//
// Scalar fields are columns of their own; nested parts (payload, contexts,
// attributes, source, identity, collector, failure) are JSON text, which
// the stores' JSON functions query directly. The failed table adds the
// failure, its type on its own for filtering, and the original input.
package columns

import (
	"time"

	"github.com/accord-events/accord/internal/event"
)

// Type is what kind of value a column holds.
type Type int

// Column types.
const (
	// Text is a string.
	Text Type = iota
	// Bool is true or false.
	Bool
	// Time is a timestamp; a store without a timestamp type keeps it as
	// text in event.TimeLayout, which sorts as time does.
	Time
	// JSON is a JSON document, as text.
	JSON
)

// String returns the type's name.
func (t Type) String() string {
	switch t {
	case Text:
		return "text"
	case Bool:
		return "bool"
	case Time:
		return "time"
	case JSON:
		return "json"
	}
	return "unknown"
}

// Key is the column records are deduplicated on: a store that can skips a
// record whose key it already holds (delivery is at least once).
const Key = "event_id"

// Column is one column of a table of records.
type Column struct {
	Name string
	Type Type
	// Nullable columns may hold NULL; the others never do.
	Nullable bool
	// Member is the envelope's JSON member the column holds, for reading a
	// row back as an envelope; empty for a column that repeats part of
	// another (failure_type) to be filtered on.
	Member string
	// value returns the column's value in e; JSON it encodes is appended
	// to buf, and the value points into it.
	value func(e *event.Envelope, buf []byte) (Value, []byte)
}

// Value is one column's value in one record. Which field holds it depends
// on the column's Type; Null is set instead for NULL.
type Value struct {
	Null bool
	Text string
	Bool bool
	Time time.Time
	// JSON is the document's text. It points into the record or into the
	// buffer Append was given: it stays valid while neither changes (the
	// buffer growing does not change what earlier values point to).
	JSON []byte
}

// Good returns the columns of a table of good records, in order.
func Good() []Column { return append([]Column(nil), envelope...) }

// Failed returns the columns of a table of failed records, in order: the
// good table's, then the failure and the original input.
func Failed() []Column { return append(Good(), failure...) }

// Append appends the values of e's columns cols to dst, in order, and
// returns it with buf, to which the JSON values the envelope holds as
// structures were encoded.
func Append(dst []Value, buf []byte, cols []Column, e *event.Envelope) ([]Value, []byte) {
	for i := range cols {
		var v Value
		v, buf = cols[i].value(e, buf)
		dst = append(dst, v)
	}
	return dst, buf
}

var (
	null = Value{Null: true}

	// envelope lists every column of a record, in table order. Appending
	// here (nullable, so that rows written before read as NULL) is how a
	// field reaches every table; stores add columns missing from tables
	// created by an older Accord.
	envelope = []Column{
		// A record without an id gets a NULL key, which stores keep and
		// never count as a duplicate.
		{Name: "event_id", Type: Text, Nullable: true, Member: "event_id", value: func(e *event.Envelope, b []byte) (Value, []byte) {
			if e.EventID == "" {
				return null, b
			}
			return Value{Text: e.EventID}, b
		}},
		text("request_id", func(e *event.Envelope) string { return e.RequestID }),
		timestamp("collected_at", func(e *event.Envelope) event.Time { return e.CollectedAt }),
		timestamp("sent_at", func(e *event.Envelope) event.Time { return e.SentAt }),
		timestamp("created_at", func(e *event.Envelope) event.Time { return e.CreatedAt }),
		timestamp("event_time", func(e *event.Envelope) event.Time { return e.EventTime }),
		text("protocol", func(e *event.Envelope) string { return e.Protocol }),
		text("schema", func(e *event.Envelope) string { return e.Schema }),
		text("vendor", func(e *event.Envelope) string { return e.Vendor }),
		text("name", func(e *event.Envelope) string { return e.Name }),
		text("version", func(e *event.Envelope) string { return e.Version }),
		text("namespace", func(e *event.Envelope) string { return e.Namespace }),
		{Name: "valid", Type: Bool, Member: "valid", value: func(e *event.Envelope, b []byte) (Value, []byte) {
			return Value{Bool: e.Valid}, b
		}},
		rawJSON("payload", func(e *event.Envelope) []byte { return e.Payload }),
		encoded("contexts", func(e *event.Envelope, b []byte) []byte { return event.AppendContexts(b, e.Contexts) }),
		rawJSON("attributes", func(e *event.Envelope) []byte { return e.Attributes }),
		encoded("source", func(e *event.Envelope, b []byte) []byte { return e.Source.AppendJSON(b) }),
		encoded("identity", func(e *event.Envelope, b []byte) []byte { return e.Identity.AppendJSON(b) }),
		encoded("collector", func(e *event.Envelope, b []byte) []byte { return e.Collector.AppendJSON(b) }),
		text("fingerprint", func(e *event.Envelope) string { return e.Fingerprint }),
		// Added after the first release.
		timestamp("replayed_at", func(e *event.Envelope) event.Time { return e.ReplayedAt }),
		// NULL but for an event whose id a store already held for another
		// event; it was stored under a new event_id.
		{Name: "original_event_id", Type: Text, Nullable: true, Member: "original_event_id", value: func(e *event.Envelope, b []byte) (Value, []byte) {
			if e.OriginalEventID == "" {
				return null, b
			}
			return Value{Text: e.OriginalEventID}, b
		}},
	}

	failure = []Column{
		{Name: "failure_type", Type: Text, Nullable: true, value: func(e *event.Envelope, b []byte) (Value, []byte) {
			if e.Failure == nil {
				return null, b
			}
			return Value{Text: string(e.Failure.Type)}, b
		}},
		{Name: "failure", Type: JSON, Nullable: true, Member: "failure", value: func(e *event.Envelope, b []byte) (Value, []byte) {
			if e.Failure == nil {
				return null, b
			}
			start := len(b)
			b = e.Failure.AppendJSON(b)
			return Value{JSON: b[start:len(b):len(b)]}, b
		}},
		// raw and raw_encoding are NULL together when the record holds
		// no original input.
		{Name: "raw", Type: Text, Nullable: true, Member: "raw", value: func(e *event.Envelope, b []byte) (Value, []byte) {
			if e.RawEncoding == "" {
				return null, b
			}
			return Value{Text: e.Raw}, b
		}},
		{Name: "raw_encoding", Type: Text, Nullable: true, Member: "raw_encoding", value: func(e *event.Envelope, b []byte) (Value, []byte) {
			if e.RawEncoding == "" {
				return null, b
			}
			return Value{Text: e.RawEncoding}, b
		}},
	}
)

// text is a column that always holds a string, empty when unknown.
func text(name string, get func(*event.Envelope) string) Column {
	return Column{Name: name, Type: Text, Member: name, value: func(e *event.Envelope, b []byte) (Value, []byte) {
		return Value{Text: get(e)}, b
	}}
}

// timestamp is a Time column, NULL when the time is unknown.
func timestamp(name string, get func(*event.Envelope) event.Time) Column {
	return Column{Name: name, Type: Time, Nullable: true, Member: name, value: func(e *event.Envelope, b []byte) (Value, []byte) {
		t := get(e)
		if t.IsZero() {
			return null, b
		}
		return Value{Time: t.UTC()}, b
	}}
}

// rawJSON is a JSON column the envelope holds as sent, NULL when absent.
func rawJSON(name string, get func(*event.Envelope) []byte) Column {
	return Column{Name: name, Type: JSON, Nullable: true, Member: name, value: func(e *event.Envelope, b []byte) (Value, []byte) {
		raw := get(e)
		if len(raw) == 0 {
			return null, b
		}
		return Value{JSON: raw}, b
	}}
}

// encoded is a JSON column the envelope holds as a structure, encoded into
// the buffer; never NULL.
func encoded(name string, appendJSON func(*event.Envelope, []byte) []byte) Column {
	return Column{Name: name, Type: JSON, Member: name, value: func(e *event.Envelope, b []byte) (Value, []byte) {
		start := len(b)
		b = appendJSON(e, b)
		return Value{JSON: b[start:len(b):len(b)]}, b
	}}
}
