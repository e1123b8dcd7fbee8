package event

import (
	"encoding/json"
	"time"
)

// Input is one event as a protocol read it off the wire, before its contract
// is known. Protocols fill what their format carries; the pipeline turns each
// Input into an Envelope.
type Input struct {
	// SchemaKey is the contract the event names, as sent.
	SchemaKey string
	// Data is the event's data as raw JSON.
	Data     json.RawMessage
	Contexts []Context
	// EventID is the client-supplied id, when the protocol carries one.
	EventID   string
	SentAt    time.Time
	CreatedAt time.Time
	Namespace string
	Identity  Identity
	// Attributes is protocol-level metadata kept on the envelope as sent.
	Attributes json.RawMessage
	// Raw is the event's original bytes, kept on the record if it fails.
	Raw []byte
	// Failure is set when the protocol could not read this event; the
	// pipeline then records it as failed without resolving a contract.
	Failure *Failure
	// Arbitrary marks an event recorded without a contract (a webhook
	// source or pixel configured as arbitrary): the pipeline stores it
	// good, unvalidated, with an empty schema.
	Arbitrary bool
	// CheckedBy, when not nil, is the contract (a *contract.Contract;
	// this package knows no contracts) that the protocol found Data valid
	// against as it read it, in the one walk that also checked Data is
	// JSON (contract.CheckData). The pipeline does not validate Data
	// again when the event's key resolves to that same contract.
	CheckedBy any
}
