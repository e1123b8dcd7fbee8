package nats

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/accord-events/accord/internal/redact"
)

// Options configures a nats sink.
type Options struct {
	URLs            []string      `yaml:"urls" doc:"NATS servers as nats://host:port (or tls://host:port), such as [nats://nats-1:4222]; credentials go in user and password."`
	Stream          string        `yaml:"stream" doc:"JetStream stream the sink creates (or updates to these settings) at connect, holding every subject under subject_prefix."`
	SubjectPrefix   string        `yaml:"subject_prefix" doc:"First token(s) of every subject: good records go to prefix.good.vendor.name.vMODEL (each byte of vendor, name and MODEL other than ASCII letters, digits, '_' and '-' becomes '_'; a token past 64 bytes is cut and ends in a hash), failed records to prefix.failed."`
	Replicas        int           `yaml:"replicas" doc:"Replicas of the stream (1 to 5); more than 1 needs a JetStream cluster."`
	MaxAge          time.Duration `yaml:"max_age" doc:"Oldest message the stream keeps; 0 keeps them until max_bytes removes the oldest."`
	MaxBytes        int64         `yaml:"max_bytes" doc:"Most bytes the stream keeps, the oldest removed first; -1 for no limit."`
	DuplicateWindow time.Duration `yaml:"duplicate_window" doc:"How long the server remembers a Nats-Msg-Id (the record's event_id) and drops a second message with it, so a retried write is stored once."`
	MaxInFlight     int           `yaml:"max_in_flight" doc:"Most messages a write publishes before it waits for their acknowledgements; bounds the memory a write holds."`
	AckTimeout      time.Duration `yaml:"ack_timeout" doc:"How long a write waits for the server's acknowledgements (a server down, a leader moving) before it fails and delivery retries it."`
	User            string        `yaml:"user" doc:"User name, when the server asks for one."`
	Password        string        `yaml:"password" doc:"Password; never printed (set it from an environment variable)."`
}

// NewOptions returns the default options.
func NewOptions() *Options {
	return &Options{
		URLs:            []string{"nats://127.0.0.1:4222"},
		Stream:          "ACCORD",
		SubjectPrefix:   "accord",
		Replicas:        1,
		MaxBytes:        -1,
		DuplicateWindow: 2 * time.Minute,
		MaxInFlight:     1000,
		AckTimeout:      30 * time.Second,
	}
}

// Validate reports every problem with the options, each naming its key and
// the fix. A URL written with credentials is named redacted.
func (o *Options) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if len(o.URLs) == 0 {
		bad("urls", "must name at least one server, such as [nats://127.0.0.1:4222]")
	}
	for _, raw := range o.URLs {
		u, err := url.Parse(raw)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "nats" && u.Scheme != "tls"):
			bad("urls", "%q is not nats://host:port or tls://host:port", redact.URL(raw))
		case u.User != nil:
			bad("urls", "%q holds credentials; write them in user and password", redact.URL(raw))
		}
	}
	if o.Stream == "" || strings.ContainsAny(o.Stream, ".*> \t\r\n/\\") || len(o.Stream) > 255 {
		bad("stream", "%q must be 1 to 255 characters without '.', '*', '>', '/', '\\' or spaces, such as ACCORD", o.Stream)
	}
	if p := subjectProblem(o.SubjectPrefix); p != "" {
		bad("subject_prefix", "%q %s, such as accord", o.SubjectPrefix, p)
	} else if len(o.SubjectPrefix) > 128 {
		bad("subject_prefix", "is longer than 128 characters")
	}
	if o.Replicas < 1 || o.Replicas > 5 {
		bad("replicas", "%d must be from 1 to 5", o.Replicas)
	}
	if o.MaxAge < 0 {
		bad("max_age", "%s must be 0 (no limit) or more", o.MaxAge)
	}
	if o.MaxBytes == 0 || o.MaxBytes < -1 {
		bad("max_bytes", "%d must be -1 (no limit) or at least 1", o.MaxBytes)
	}
	if o.DuplicateWindow < time.Second {
		bad("duplicate_window", "%s must be at least 1s, such as 2m", o.DuplicateWindow)
	}
	if o.MaxAge > 0 && o.DuplicateWindow > o.MaxAge {
		bad("duplicate_window", "%s must not be longer than max_age (%s)", o.DuplicateWindow, o.MaxAge)
	}
	if o.MaxInFlight < 1 || o.MaxInFlight > 100000 {
		bad("max_in_flight", "%d must be from 1 to 100000, such as 1000", o.MaxInFlight)
	}
	if o.AckTimeout < 100*time.Millisecond {
		bad("ack_timeout", "%s must be at least 100ms, such as 30s", o.AckTimeout)
	}
	if o.Password != "" && o.User == "" {
		bad("user", "must be set with password")
	}
	return errors.Join(errs...)
}

// subjectProblem says what is wrong with a subject of literal tokens, or
// "" when NATS accepts it.
func subjectProblem(s string) string {
	if s == "" {
		return "must not be empty"
	}
	for _, tok := range strings.Split(s, ".") {
		if tok == "" {
			return "has an empty token (a leading, trailing or doubled '.')"
		}
		for _, c := range []byte(tok) {
			if !tokenChar(c) {
				return "may hold only letters, digits, '_', '-' and '.' between tokens"
			}
		}
	}
	return ""
}

func tokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}
