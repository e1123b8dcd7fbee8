package event

import (
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"time"
	"unicode/utf8"
)

// Envelope is one record as it leaves Accord. Good and failed records share the
// shape; a failed record has Valid false, a Failure, and Raw holding the
// original input.
//
// The JSON tags are the wire names; AppendJSON writes the same document without
// reflection, and a test keeps the two in step.
type Envelope struct {
	EventID     string `json:"event_id"`
	RequestID   string `json:"request_id"`
	CollectedAt Time   `json:"collected_at"`
	SentAt      Time   `json:"sent_at"`
	CreatedAt   Time   `json:"created_at"`
	EventTime   Time   `json:"event_time"`
	Protocol    string `json:"protocol"`
	// Schema is the contract key the event named, as an iglu: URI when it
	// could be parsed, as sent otherwise, empty when the event named none.
	Schema    string `json:"schema"`
	Vendor    string `json:"vendor"`
	Name      string `json:"name"`
	Version   string `json:"version"`
	Namespace string `json:"namespace"`
	Valid     bool   `json:"valid"`
	// Payload is the event's data as sent (compacted JSON), or null.
	Payload json.RawMessage `json:"payload"`
	// Contexts are the entities attached to the event, each as sent.
	Contexts []Context `json:"contexts"`
	// Attributes holds protocol-level metadata that is not event data, kept
	// as sent: a CloudEvent's context attributes and extensions, for example.
	Attributes  json.RawMessage `json:"attributes"`
	Source      Source          `json:"source"`
	Identity    Identity        `json:"identity"`
	Collector   Collector       `json:"collector"`
	Fingerprint string          `json:"fingerprint"`
	// ReplayedAt is when accord replay ran the record through the pipeline
	// again; zero (and left out of the JSON) for records collected live.
	ReplayedAt Time `json:"replayed_at,omitzero"`
	// OriginalEventID is set when the event arrived with an event_id a
	// store already held for a different event (another fingerprint or
	// protocol): the record is stored under a new EventID, and this keeps
	// the id it was sent with, so no client can make a store drop another's
	// event by naming its id first. Empty (and left out) otherwise.
	OriginalEventID string `json:"original_event_id,omitempty"`
	// Failure is set on failed records only.
	Failure *Failure `json:"failure,omitempty"`
	// Raw is the original input of a failed record: the event as sent, or
	// the request body (or its first bytes) when no event could be read.
	// It is text when the input was valid UTF-8 and base64 otherwise, as
	// RawEncoding says, or empty when the privacy policy withheld it
	// (RawEncoding withheld). Use SetRaw or WithholdRaw to fill both.
	Raw         string `json:"raw,omitempty"`
	RawEncoding string `json:"raw_encoding,omitempty"`

	// JSON, when set, is the envelope as AppendJSON encodes it: the bytes
	// the pipeline's record was spooled as, kept by delivery so that a
	// sink writing JSON writes them as they are instead of encoding the
	// record again (AppendJSON copies them). Records handed to a sink that
	// reads JSON only (sink.JSONOnly) carry JSON and Valid and no other
	// field. Whoever changes a field of an envelope must clear JSON, or
	// the change is lost on the way out.
	JSON []byte `json:"-"`

	// Resolved says the record's schema named a contract the registry
	// holds (the pipeline sets it; it is not encoded). Statistics count
	// records by schema only when it is set: the keys of the others come
	// from clients, and could be anything.
	Resolved bool `json:"-"`

	// UnknownContexts are the schema keys of the event's contexts whose
	// contract is not registered, as sent (the pipeline sets them; they
	// are not encoded, though the contracts.unknown_contexts keep policy
	// also lists them in Attributes). GET /stats counts them.
	UnknownContexts []string `json:"-"`
}

// Raw encodings.
const (
	RawText   = "text"
	RawBase64 = "base64"
	// RawWithheld says the privacy policy kept none of the input: raw is
	// empty (docs/privacy.md, failed_raw).
	RawWithheld = "withheld"
)

// WithholdRaw keeps none of the record's original input, saying so.
func (e *Envelope) WithholdRaw() { e.Raw, e.RawEncoding = "", RawWithheld }

// SetRaw keeps b as the record's original input.
func (e *Envelope) SetRaw(b []byte) {
	if utf8.Valid(b) {
		e.Raw, e.RawEncoding = string(b), RawText
		return
	}
	e.Raw, e.RawEncoding = base64.StdEncoding.EncodeToString(b), RawBase64
}

// Context is an entity attached to an event: a schema key and its data.
type Context struct {
	Schema string          `json:"schema"`
	Data   json.RawMessage `json:"data"`
}

// Source describes where a request came from.
type Source struct {
	IP        string `json:"ip"`
	UserAgent string `json:"user_agent"`
	Referer   string `json:"referer"`
	Origin    string `json:"origin"`
	Path      string `json:"path"`
}

// Identity holds the identifiers of who the event is about.
type Identity struct {
	UserID        string `json:"user_id"`
	AnonymousID   string `json:"anonymous_id"`
	NetworkUserID string `json:"network_user_id"`
}

// Collector describes the Accord instance that collected the event.
type Collector struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Env     string `json:"env"`
	Host    string `json:"host"`
}

// TimeLayout is how every envelope timestamp is written: UTC with a fixed
// microsecond precision, so timestamps sort as text in any store.
const TimeLayout = "2006-01-02T15:04:05.000000Z"

// Time is a timestamp that encodes as TimeLayout, or null when zero.
type Time struct{ time.Time }

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) { return appendTime(nil, t), nil }

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	parsed, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	t.Time = parsed
	return nil
}

// String returns the timestamp in TimeLayout, or "" when zero.
func (t Time) String() string {
	if t.IsZero() {
		return ""
	}
	return string(appendLayout(make([]byte, 0, len(TimeLayout)), t.UTC()))
}

// AppendLayout appends t in UTC as TimeLayout: what
// t.UTC().AppendFormat(dst, TimeLayout) appends, written directly instead
// of by reading the layout, for the stores that write every record's
// times as text.
func AppendLayout(dst []byte, t time.Time) []byte { return appendLayout(dst, t) }

// Schema is the JSON Schema every envelope conforms to
// (internal/event/envelope.schema.json).
//
//go:embed envelope.schema.json
var Schema []byte
