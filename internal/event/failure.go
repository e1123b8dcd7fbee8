package event

// FailureType names why a record failed. Each type is a distinct, documented
// cause; new causes get new types rather than reusing a close one, so that
// users can route and replay failures by cause.
type FailureType string

// The failure types Accord produces. See docs/envelope.md.
const (
	// SizeViolation: the request body was larger than the configured limit.
	SizeViolation FailureType = "size_violation"
	// PayloadFormatViolation: the input could not be read at all (not JSON,
	// bad gzip, bad encoding).
	PayloadFormatViolation FailureType = "payload_format_violation"
	// ProtocolViolation: the input was readable but broke its protocol's own
	// rules (a self-describing event without "schema", a CloudEvent without
	// "specversion").
	ProtocolViolation FailureType = "protocol_violation"
	// SchemaNotFound: the event names a contract that no registry holds.
	SchemaNotFound FailureType = "schema_not_found"
	// SchemaViolation: the event's data or a context does not validate
	// against its contract.
	SchemaViolation FailureType = "schema_violation"
	// UnplannedEvent: a Segment message that no contract's tracking plan
	// covers, from a source whose unplanned policy is block.
	UnplannedEvent FailureType = "unplanned_event"
)

// Failure says why a record failed.
type Failure struct {
	Type     FailureType `json:"type"`
	Messages []Message   `json:"messages"`
}

// Message is one problem found in an input.
type Message struct {
	// Schema is the contract the problem was found against, when there is one.
	Schema string `json:"schema,omitempty"`
	// InstancePath is the JSON pointer of the offending value within the
	// original input event ("/data/price", "/contexts/0/data/id"); empty for
	// problems with the input as a whole.
	InstancePath string `json:"instance_path"`
	// SchemaPath is the JSON pointer of the failing keyword within the
	// contract ("/properties/price/minimum"); empty when no schema applies.
	SchemaPath string `json:"schema_path"`
	// Keyword is the failing JSON Schema keyword ("minimum", "required").
	Keyword string `json:"keyword,omitempty"`
	// Message is a sentence a person understands, saying what is wrong.
	Message string `json:"message"`
}

// NewFailure builds a failure of type t with a single message that concerns
// the input as a whole.
func NewFailure(t FailureType, message string) *Failure {
	return &Failure{Type: t, Messages: []Message{{Message: message}}}
}
