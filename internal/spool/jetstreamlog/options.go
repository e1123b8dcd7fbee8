package jetstreamlog

import (
	"errors"
	"fmt"
	"strings"
	"time"

	natssink "github.com/accord-events/accord/internal/sink/nats"
)

// Options configures the shared log of spool.kind jetstream.
type Options struct {
	URLs             []string      `yaml:"urls" doc:"NATS servers as nats://host:port (or tls://host:port), such as [nats://nats-1:4222]; credentials go in user and password."`
	Stream           string        `yaml:"stream" doc:"JetStream stream of the log, created (or updated to these settings) when a collector or loader connects; it holds the subject subject_prefix.log."`
	SubjectPrefix    string        `yaml:"subject_prefix" doc:"First token(s) of the log's subject: every record a collector takes is published to subject_prefix.log."`
	Replicas         int           `yaml:"replicas" doc:"Replicas of the stream (1 to 5); more than 1 needs a JetStream cluster."`
	MaxAge           time.Duration `yaml:"max_age" doc:"Oldest record the stream keeps, delivered or not; 0 keeps them until max_bytes removes the oldest."`
	MaxBytes         int64         `yaml:"max_bytes" doc:"Most bytes the stream keeps, the oldest removed first (delivered or not); -1 for no limit."`
	DuplicateWindow  time.Duration `yaml:"duplicate_window" doc:"How long the server remembers a record's Nats-Msg-Id (its event_id) and drops a second record with it: a request a client sends again within it is stored once."`
	MaxInFlightBytes int64         `yaml:"max_in_flight_bytes" doc:"Most bytes of records a collector holds while it waits for the server's acknowledgements; a request that would pass it is answered 503 with Retry-After."`
	Timeout          time.Duration `yaml:"timeout" doc:"How long a request waits for the server to acknowledge its records before it is answered 503 (nothing acknowledged); shorter than server.write_timeout."`
	DurablePrefix    string        `yaml:"durable_prefix" doc:"accord load: each sink reads through a durable pull consumer of its own, named durable_prefix_SINK (bytes other than letters, digits, '-' and '_' become '_'); every loader running that sink shares it."`
	AckWait          time.Duration `yaml:"ack_wait" doc:"accord load: how long the server waits for a loader to acknowledge a record (after its sink wrote it) before it hands the record to another loader; longer than a sink's slowest write."`
	MaxAckPending    int           `yaml:"max_ack_pending" doc:"accord load: most records of a sink handed out and not yet acknowledged, over all its loaders."`
	User             string        `yaml:"user" doc:"User name, when the server asks for one."`
	Password         string        `yaml:"password" doc:"Password; never printed (set it from an environment variable)."`
}

// DefaultOptions returns the defaults.
func DefaultOptions() Options {
	return Options{
		URLs:             []string{"nats://127.0.0.1:4222"},
		Stream:           "accord-log",
		SubjectPrefix:    "accord",
		Replicas:         1,
		MaxAge:           7 * 24 * time.Hour,
		MaxBytes:         -1,
		DuplicateWindow:  2 * time.Minute,
		MaxInFlightBytes: 64 << 20,
		Timeout:          10 * time.Second,
		DurablePrefix:    "accord-load",
		AckWait:          30 * time.Second,
		MaxAckPending:    20000,
	}
}

// sinkOptions are the nats sink's options the connection is made with, so
// both connect alike.
func (o Options) sinkOptions() natssink.Options {
	so := *natssink.NewOptions()
	so.URLs, so.Stream, so.SubjectPrefix = o.URLs, o.Stream, o.SubjectPrefix
	so.Replicas, so.MaxAge, so.MaxBytes, so.DuplicateWindow = o.Replicas, o.MaxAge, o.MaxBytes, o.DuplicateWindow
	so.AckTimeout, so.User, so.Password = max(o.Timeout, 100*time.Millisecond), o.User, o.Password
	return so
}

// Validate reports every problem with the options, each naming its key and
// the fix; the keys it shares with the nats sink are checked by its rules.
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
	if o.MaxInFlightBytes < 1<<20 {
		bad("max_in_flight_bytes", "%d must be at least 1048576 (1 MiB, the server's default max_payload), such as 67108864", o.MaxInFlightBytes)
	}
	if o.Timeout < 100*time.Millisecond {
		bad("timeout", "%s is too short; use at least 100ms, such as 10s", o.Timeout)
	}
	if o.DurablePrefix == "" || len(o.DurablePrefix) > 100 || strings.IndexFunc(o.DurablePrefix, func(c rune) bool { return !durableChar(c) }) >= 0 {
		bad("durable_prefix", "%q must be 1 to 100 letters, digits, '-' or '_', such as accord-load", o.DurablePrefix)
	}
	if o.AckWait < time.Second {
		bad("ack_wait", "%s must be at least 1s, such as 30s", o.AckWait)
	}
	if o.MaxAckPending < 1 {
		bad("max_ack_pending", "%d must be at least 1, such as 20000", o.MaxAckPending)
	}
	return errors.Join(errs...)
}

func durableChar(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// durableName is the durable consumer of the sink called name.
func (o Options) durableName(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !durableChar(rune(c)) {
			b[i] = '_'
		}
	}
	return o.DurablePrefix + "_" + string(b)
}
