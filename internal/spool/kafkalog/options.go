package kafkalog

import (
	"errors"
	"fmt"
	"time"

	"github.com/accord-events/accord/internal/sink/kafka"
)

// Options configures the shared log of spool.kind kafka.
type Options struct {
	Brokers           []string      `yaml:"brokers" doc:"Seed brokers of the Kafka cluster that holds the log, as host:port, such as [kafka-1:9092, kafka-2:9092]."`
	Topic             string        `yaml:"topic" doc:"Topic of the log: every record a collector takes, good and failed; created when missing with partitions and replication_factor."`
	Partitions        int           `yaml:"partitions" doc:"Partitions of the topic when Accord creates it; loaders of one sink share them, so it bounds how many loaders work at once. -1 for the brokers' default."`
	ReplicationFactor int           `yaml:"replication_factor" doc:"Replication factor of the topic when Accord creates it, such as 3; -1 for the brokers' default."`
	Key               string        `yaml:"key" doc:"Record key, which decides the partition and so which records keep their order: anonymous_id, user_id, event_id or none (records without the field are spread over the partitions)."`
	MaxInFlightBytes  int64         `yaml:"max_in_flight_bytes" doc:"Most bytes of records a collector holds while it waits for the brokers' acknowledgements; a request that would pass it is answered 503 with Retry-After."`
	MaxRecordBytes    int           `yaml:"max_record_bytes" doc:"Largest record the producer sends; a request with a larger record is answered 413. Keep it at most the brokers' message.max.bytes (and the topic's max.message.bytes), whose refusal is answered 413 too."`
	Timeout           time.Duration `yaml:"timeout" doc:"How long a request waits for the brokers to acknowledge its records before it is answered 503 (nothing acknowledged); shorter than server.write_timeout."`
	GroupPrefix       string        `yaml:"group_prefix" doc:"accord load: each sink is a consumer group of its own, named group_prefix.SINK; every loader running that sink shares its partitions and its committed offsets."`
	SessionTimeout    time.Duration `yaml:"session_timeout" doc:"accord load: how long the brokers wait for a loader that stopped heartbeating (killed, cut off) before its partitions move to the other loaders; within the brokers' group.min.session.timeout.ms and group.max.session.timeout.ms (6s to 30m by default)."`
	TLS               bool          `yaml:"tls" doc:"Connect to the brokers with TLS, checking their certificates against the system's roots."`
	SASLMechanism     string        `yaml:"sasl_mechanism" doc:"SASL mechanism: empty (no SASL), plain, scram-sha-256 or scram-sha-512."`
	SASLUser          string        `yaml:"sasl_user" doc:"SASL user name."`
	SASLPassword      string        `yaml:"sasl_password" doc:"SASL password; never printed (set it from an environment variable)."`
}

// DefaultOptions returns the defaults: a topic accord.log of 12 partitions,
// records keyed by anonymous_id, 64 MiB in flight.
func DefaultOptions() Options {
	return Options{
		Brokers:           []string{"127.0.0.1:9092"},
		Topic:             "accord.log",
		Partitions:        12,
		ReplicationFactor: -1,
		Key:               kafka.KeyAnonymousID,
		MaxInFlightBytes:  64 << 20,
		MaxRecordBytes:    1000012,
		Timeout:           10 * time.Second,
		GroupPrefix:       "accord-load",
		SessionTimeout:    45 * time.Second,
	}
}

// unusedFailedTopic stands in for the kafka sink's failed_topic, which the
// log does not have, when its options are checked by the sink's rules.
const unusedFailedTopic = "accord-log-has-no-failed-topic"

// sinkOptions are the kafka sink's options the log's client is built from,
// so both connect alike.
func (o Options) sinkOptions() kafka.Options {
	so := *kafka.NewOptions()
	so.Brokers, so.Topic, so.FailedTopic = o.Brokers, o.Topic, unusedFailedTopic
	so.Partitions, so.ReplicationFactor, so.Key = o.Partitions, o.ReplicationFactor, o.Key
	so.MaxRecordBytes = o.MaxRecordBytes
	so.MaxBufferedBytes = int(max(o.MaxInFlightBytes, int64(o.MaxRecordBytes)))
	so.MaxBufferedRecords = max(so.MaxBufferedBytes/64, 1000)
	so.DeliveryTimeout = max(o.Timeout, time.Second)
	so.TLS, so.SASLMechanism, so.SASLUser, so.SASLPassword = o.TLS, o.SASLMechanism, o.SASLUser, o.SASLPassword
	return so
}

// Validate reports every problem with the options, each naming its key and
// the fix; the keys it shares with the kafka sink are checked by its rules.
func (o Options) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	so := o.sinkOptions()
	if err := so.Validate(); err != nil {
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			errs = append(errs, joined.Unwrap()...)
		} else {
			errs = append(errs, err)
		}
	}
	if o.Topic == unusedFailedTopic {
		bad("topic", "%q is reserved; name the topic otherwise, such as accord.log", o.Topic)
	}
	if o.MaxInFlightBytes < int64(o.MaxRecordBytes) {
		bad("max_in_flight_bytes", "%d must be at least max_record_bytes (%d), or the largest record could never be sent", o.MaxInFlightBytes, o.MaxRecordBytes)
	}
	if o.Timeout < 100*time.Millisecond {
		bad("timeout", "%s is too short; use at least 100ms, such as 10s", o.Timeout)
	}
	if msg := groupProblem(o.GroupPrefix); msg != "" {
		bad("group_prefix", "%q %s", o.GroupPrefix, msg)
	}
	if o.SessionTimeout < time.Second || o.SessionTimeout > 30*time.Minute {
		bad("session_timeout", "%s must be from 1s to 30m (and within the brokers' group.min.session.timeout.ms and group.max.session.timeout.ms, 6s to 30m by default), such as 45s", o.SessionTimeout)
	}
	return errors.Join(errs...)
}

func groupProblem(name string) string {
	if name == "" {
		return "must not be empty"
	}
	if len(name) > 200 {
		return "is longer than 200 characters"
	}
	for _, c := range []byte(name) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return "may hold only letters, digits, '.', '_' and '-'"
		}
	}
	return ""
}
