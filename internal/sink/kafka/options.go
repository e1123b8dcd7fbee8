package kafka

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/accord-events/accord/internal/redact"
)

// Record keys: which field of a record becomes its Kafka key, and so which
// records share a partition and keep their order.
const (
	KeyEventID     = "event_id"
	KeyUserID      = "user_id"
	KeyAnonymousID = "anonymous_id"
	KeyNone        = "none"
)

// SASL mechanisms.
const (
	SASLPlain       = "plain"
	SASLScramSHA256 = "scram-sha-256"
	SASLScramSHA512 = "scram-sha-512"
)

// maxTopicLen is the longest topic name Kafka accepts.
const maxTopicLen = 249

// Options configures a kafka sink.
type Options struct {
	Brokers            []string      `yaml:"brokers" doc:"Seed brokers as host:port, such as [kafka-1:9092, kafka-2:9092]; the client finds the rest of the cluster from them."`
	Topic              string        `yaml:"topic" doc:"Topic good records are produced to (and the prefix of the per-contract topics with topic_per_contract)."`
	FailedTopic        string        `yaml:"failed_topic" doc:"Topic failed records are produced to."`
	TopicPerContract   bool          `yaml:"topic_per_contract" doc:"Produce each good record to a topic of its contract's model, named topic.vendor.name.vMODEL (each byte other than ASCII letters, digits, '.', '_' and '-' becomes '_'; a name past Kafka's 249 characters is cut and ends in a hash), created on its first record."`
	Partitions         int           `yaml:"partitions" doc:"Partitions of a topic the sink creates; -1 for the brokers' default. Topics that exist are used as they are."`
	ReplicationFactor  int           `yaml:"replication_factor" doc:"Replication factor of a topic the sink creates; -1 for the brokers' default."`
	Key                string        `yaml:"key" doc:"Record key, which decides the partition: event_id, user_id or anonymous_id (records of one user keep their order), or none. A record whose field is empty is produced without a key."`
	MaxBufferedRecords int           `yaml:"max_buffered_records" doc:"Most records the producer holds unacknowledged; a write waits for room beyond it."`
	MaxBufferedBytes   int           `yaml:"max_buffered_bytes" doc:"Most bytes of records the producer holds unacknowledged; a write waits for room beyond it."`
	MaxRecordBytes     int           `yaml:"max_record_bytes" doc:"Largest record batch the producer sends (its producer batch max bytes); a record larger than it, or than the topic's max.message.bytes, is refused and goes to the sink's dead letter. Keep it at most the brokers' message.max.bytes."`
	DeliveryTimeout    time.Duration `yaml:"delivery_timeout" doc:"How long the producer retries a record (a broker down, a leader moving) before the write fails and delivery retries it."`
	TLS                bool          `yaml:"tls" doc:"Connect to the brokers with TLS, checking their certificates against the system's roots."`
	SASLMechanism      string        `yaml:"sasl_mechanism" doc:"SASL mechanism: empty (no SASL), plain, scram-sha-256 or scram-sha-512."`
	SASLUser           string        `yaml:"sasl_user" doc:"SASL user name."`
	SASLPassword       string        `yaml:"sasl_password" doc:"SASL password; never printed (set it from an environment variable)."`
}

// NewOptions returns the default options.
func NewOptions() *Options {
	return &Options{
		Brokers:            []string{"127.0.0.1:9092"},
		Topic:              "accord.good",
		FailedTopic:        "accord.failed",
		Partitions:         -1,
		ReplicationFactor:  -1,
		Key:                KeyAnonymousID,
		MaxBufferedRecords: 10000,
		MaxBufferedBytes:   64 << 20,
		MaxRecordBytes:     1000012, // Kafka's default message.max.bytes
		DeliveryTimeout:    30 * time.Second,
	}
}

// Validate reports every problem with the options, each naming its key and
// the fix. A broker written with credentials is named redacted.
func (o *Options) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if len(o.Brokers) == 0 {
		bad("brokers", "must name at least one broker as host:port, such as [127.0.0.1:9092]")
	}
	for _, b := range o.Brokers {
		if strings.Contains(b, "@") || strings.Contains(b, "://") {
			bad("brokers", "%q is not host:port; write the broker as host:port and credentials in sasl_user and sasl_password", redact.URL(b))
			continue
		}
		if host, port, err := net.SplitHostPort(b); err != nil || host == "" || port == "" {
			bad("brokers", "%q is not host:port, such as kafka-1:9092", b)
		}
	}
	checkTopic := func(key, name string) {
		if msg := topicProblem(name); msg != "" {
			bad(key, "%q %s", name, msg)
		}
	}
	checkTopic("topic", o.Topic)
	checkTopic("failed_topic", o.FailedTopic)
	if o.Topic == o.FailedTopic && o.Topic != "" {
		bad("failed_topic", "%q is topic too; good and failed records need topics of their own", o.FailedTopic)
	}
	if o.Partitions == 0 || o.Partitions < -1 || o.Partitions > 10000 {
		bad("partitions", "%d must be -1 (the brokers' default) or from 1 to 10000", o.Partitions)
	}
	if o.ReplicationFactor == 0 || o.ReplicationFactor < -1 || o.ReplicationFactor > 32767 {
		bad("replication_factor", "%d must be -1 (the brokers' default) or at least 1", o.ReplicationFactor)
	}
	switch o.Key {
	case KeyEventID, KeyUserID, KeyAnonymousID, KeyNone:
	default:
		bad("key", "%q is not a key; use event_id, user_id, anonymous_id or none", o.Key)
	}
	if o.MaxBufferedRecords < 1 {
		bad("max_buffered_records", "%d must be at least 1, such as 10000", o.MaxBufferedRecords)
	}
	if o.MaxRecordBytes < 1024 || o.MaxRecordBytes > 1<<30 {
		bad("max_record_bytes", "%d must be from 1024 to 1073741824, such as 1000012", o.MaxRecordBytes)
	}
	if o.MaxBufferedBytes < o.MaxRecordBytes {
		bad("max_buffered_bytes", "%d must be at least max_record_bytes (%d), or the largest record could never be buffered", o.MaxBufferedBytes, o.MaxRecordBytes)
	}
	if o.DeliveryTimeout < time.Second {
		bad("delivery_timeout", "%s must be at least 1s, such as 30s", o.DeliveryTimeout)
	}
	switch o.SASLMechanism {
	case "":
		if o.SASLUser != "" || o.SASLPassword != "" {
			bad("sasl_mechanism", "is empty but sasl_user or sasl_password is set; name the mechanism (plain, scram-sha-256 or scram-sha-512)")
		}
	case SASLPlain, SASLScramSHA256, SASLScramSHA512:
		if o.SASLUser == "" {
			bad("sasl_user", "must be set with sasl_mechanism %s", o.SASLMechanism)
		}
	default:
		bad("sasl_mechanism", "%q is not a mechanism; use plain, scram-sha-256 or scram-sha-512", o.SASLMechanism)
	}
	return errors.Join(errs...)
}

// topicProblem says what is wrong with a topic name, or "" when Kafka
// accepts it.
func topicProblem(name string) string {
	switch {
	case name == "":
		return "must not be empty"
	case name == "." || name == "..":
		return "is not a topic name"
	case len(name) > maxTopicLen:
		return fmt.Sprintf("is longer than Kafka's %d characters", maxTopicLen)
	}
	for _, c := range []byte(name) {
		if !topicChar(c) {
			return "may hold only letters, digits, '.', '_' and '-'"
		}
	}
	return ""
}

func topicChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}
