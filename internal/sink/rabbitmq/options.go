package rabbitmq

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/accord-events/accord/internal/redact"
)

// What to do with a record no queue is bound to receive.
const (
	UnroutableError = "error"
	UnroutableDrop  = "drop"
)

// maxNameLen is the longest exchange name or routing key AMQP 0-9-1 carries.
const maxNameLen = 255

// Options configures a rabbitmq sink.
type Options struct {
	URL            string        `yaml:"url" doc:"AMQP URL of the broker, such as amqp://user:password@rabbit:5672/vhost (amqps:// for TLS); the password is never printed (set it from an environment variable)."`
	Exchange       string        `yaml:"exchange" doc:"Durable topic exchange records are published to, declared at connect when missing. Good records go with routing key good.VENDOR.NAME.vMODEL, failed records with failed; bind queues to good.#, failed or one contract's key."`
	Unroutable     string        `yaml:"unroutable" doc:"What a record no bound queue receives (the broker returns it) does: error (the write fails permanently, so delivery dead-letters the record) or drop (it is counted as written and lost)."`
	MaxRecordBytes int           `yaml:"max_record_bytes" doc:"Largest record body the sink publishes; a larger record is refused (a permanent error: delivery dead-letters it) before it reaches the broker, which would close the channel on a message over its max_message_size. Keep it at most the broker's max_message_size (16 MiB by default since RabbitMQ 4.0)."`
	ConfirmTimeout time.Duration `yaml:"confirm_timeout" doc:"How long a write waits for the broker to confirm its records (or to connect) before it fails and delivery retries it."`
}

// NewOptions returns the default options.
func NewOptions() *Options {
	return &Options{
		URL:            "amqp://guest:guest@127.0.0.1:5672/",
		Exchange:       "accord",
		Unroutable:     UnroutableError,
		MaxRecordBytes: 16 << 20,
		ConfirmTimeout: 30 * time.Second,
	}
}

// Validate reports every problem with the options, each naming its key and
// the fix; the URL is named with its password redacted.
func (o *Options) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if u, err := url.Parse(o.URL); err != nil || (u.Scheme != "amqp" && u.Scheme != "amqps") || u.Host == "" {
		bad("url", "%q is not an AMQP URL, such as amqp://guest:guest@127.0.0.1:5672/", redact.URL(o.URL))
	}
	switch {
	case o.Exchange == "":
		bad("exchange", "must not be empty (the default exchange routes by queue name, not by contract)")
	case len(o.Exchange) > maxNameLen:
		bad("exchange", "is longer than AMQP's %d bytes", maxNameLen)
	case len(o.Exchange) > 4 && o.Exchange[:4] == "amq.":
		bad("exchange", "%q: names starting with amq. are the broker's own", o.Exchange)
	}
	switch o.Unroutable {
	case UnroutableError, UnroutableDrop:
	default:
		bad("unroutable", "%q is not error or drop", o.Unroutable)
	}
	if o.MaxRecordBytes < 1024 || o.MaxRecordBytes > 512<<20 {
		bad("max_record_bytes", "%d must be from 1024 to 536870912, such as 16777216", o.MaxRecordBytes)
	}
	if o.ConfirmTimeout < time.Second {
		bad("confirm_timeout", "%s must be at least 1s, such as 30s", o.ConfirmTimeout)
	}
	return errors.Join(errs...)
}
