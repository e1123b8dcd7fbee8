package mqtt

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/accord-events/accord/internal/redact"
)

// maxTopicPrefixLen bounds topic_prefix; MQTT allows topics of 65535
// bytes, and the contract's parts are cut before that (see ContractTopic).
const maxTopicPrefixLen = 1024

// Options configures an mqtt sink.
type Options struct {
	Broker         string        `yaml:"broker" doc:"Broker as host:port, such as mqtt.example:1883."`
	TLS            bool          `yaml:"tls" doc:"Connect with TLS, checking the broker's certificate against the system's roots."`
	TopicPrefix    string        `yaml:"topic_prefix" doc:"Prefix of every topic: good records go to PREFIX/good/VENDOR/NAME/vMODEL, failed ones to PREFIX/failed. It may not hold '+', '#' or NUL."`
	ClientID       string        `yaml:"client_id" doc:"MQTT client id; empty for accord-HOST-PID-RANDOM, unique per process. Two clients with one id push each other off the broker."`
	CleanSession   bool          `yaml:"clean_session" doc:"Ask for a clean session (the broker forgets the sink's session on disconnect). Either way a write returns only when every publish is acknowledged, and an unacknowledged write is retried whole."`
	Username       string        `yaml:"username" doc:"User name; empty for none."`
	Password       string        `yaml:"password" doc:"Password; never printed (set it from an environment variable)."`
	MaxRecordBytes int           `yaml:"max_record_bytes" doc:"Largest record (its JSON) the sink publishes; a larger one goes to the sink's dead letter. Keep it at most the broker's message_size_limit."`
	WriteTimeout   time.Duration `yaml:"write_timeout" doc:"How long a write waits for the broker's PUBACKs (the connection coming back included) before it fails and delivery retries it."`
	ConnectTimeout time.Duration `yaml:"connect_timeout" doc:"How long connecting (and each reconnect attempt) may take."`
}

// NewOptions returns the default options.
func NewOptions() *Options {
	return &Options{
		Broker:         "127.0.0.1:1883",
		TopicPrefix:    "accord",
		CleanSession:   true,
		MaxRecordBytes: 1 << 20,
		WriteTimeout:   10 * time.Second,
		ConnectTimeout: 10 * time.Second,
	}
}

// Validate reports every problem with the options, each naming its key and
// the fix. A broker written with credentials is named redacted.
func (o *Options) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if strings.Contains(o.Broker, "@") || strings.Contains(o.Broker, "://") {
		bad("broker", "%q is not host:port; write the broker as host:port, tls: true for TLS, and credentials in username and password", redact.URL(o.Broker))
	} else if host, port, err := net.SplitHostPort(o.Broker); err != nil || host == "" || port == "" {
		bad("broker", "%q is not host:port, such as 127.0.0.1:1883", o.Broker)
	}
	switch {
	case o.TopicPrefix == "":
		bad("topic_prefix", "must not be empty, such as accord")
	case len(o.TopicPrefix) > maxTopicPrefixLen:
		bad("topic_prefix", "is longer than %d bytes", maxTopicPrefixLen)
	case strings.ContainsAny(o.TopicPrefix, "+#\x00"):
		bad("topic_prefix", "%q holds '+', '#' or NUL, which MQTT does not allow in a published topic", o.TopicPrefix)
	}
	if len(o.ClientID) > 65535 {
		bad("client_id", "is longer than 65535 bytes")
	}
	if o.Password != "" && o.Username == "" {
		bad("username", "must be set with password")
	}
	if o.MaxRecordBytes < 1024 || o.MaxRecordBytes > 268435455-65535-16 {
		bad("max_record_bytes", "%d must be from 1024 to 268369904 (MQTT's largest packet less a topic), such as 1048576", o.MaxRecordBytes)
	}
	if o.WriteTimeout < 100*time.Millisecond {
		bad("write_timeout", "%s must be at least 100ms, such as 10s", o.WriteTimeout)
	}
	if o.ConnectTimeout < 100*time.Millisecond {
		bad("connect_timeout", "%s must be at least 100ms, such as 10s", o.ConnectTimeout)
	}
	return errors.Join(errs...)
}
