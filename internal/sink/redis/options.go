package redis

import (
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/accord-events/accord/internal/redact"
)

// maxStreamLen is the longest stream key the sink writes; a per-contract
// key past it is cut and ends in a hash (Redis allows 512 MB, but a key
// is held in memory once per stream and printed in errors).
const maxStreamLen = 512

// Options configures a redis sink.
type Options struct {
	URL               string        `yaml:"url" doc:"Redis server as a URL, redis://[user:password@]host:port/db (rediss:// for TLS); the password is never printed (set the URL from an environment variable)."`
	Stream            string        `yaml:"stream" doc:"Stream good records are added to (and the prefix of the per-contract streams with stream_per_contract)."`
	FailedStream      string        `yaml:"failed_stream" doc:"Stream failed records are added to."`
	StreamPerContract bool          `yaml:"stream_per_contract" doc:"Add each good record to a stream of its contract's model, named stream:vendor:name:vMODEL (a key past 512 bytes is cut and ends in a hash)."`
	MaxLen            int64         `yaml:"max_len" doc:"Approximate most entries a stream keeps (XADD MAXLEN ~ max_len): Redis trims the oldest entries, in whole nodes, so a stream may hold somewhat more; 0 keeps everything."`
	Timeout           time.Duration `yaml:"timeout" doc:"Dial, read and write timeout of a connection; a write that takes longer fails and delivery retries it."`
}

// NewOptions returns the default options.
func NewOptions() *Options {
	return &Options{
		URL:          "redis://127.0.0.1:6379/0",
		Stream:       "accord:good",
		FailedStream: "accord:failed",
		MaxLen:       1000000,
		Timeout:      10 * time.Second,
	}
}

// Validate reports every problem with the options, each naming its key and
// the fix. The URL is named with its password redacted.
func (o *Options) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if _, err := goredis.ParseURL(o.URL); err != nil {
		bad("url", "%q is not a Redis URL such as redis://127.0.0.1:6379/0: %s", redact.URL(o.URL), redact.Error(err))
	}
	checkStream := func(key, name string) {
		switch {
		case name == "":
			bad(key, "must not be empty")
		case len(name) > maxStreamLen:
			bad(key, "is longer than %d bytes", maxStreamLen)
		}
	}
	checkStream("stream", o.Stream)
	checkStream("failed_stream", o.FailedStream)
	if o.Stream == o.FailedStream && o.Stream != "" {
		bad("failed_stream", "%q is stream too; good and failed records need streams of their own", o.FailedStream)
	}
	if o.MaxLen < 0 {
		bad("max_len", "%d must be 0 (keep everything) or more, such as 1000000", o.MaxLen)
	}
	if o.Timeout < 100*time.Millisecond {
		bad("timeout", "%s must be at least 100ms, such as 10s", o.Timeout)
	}
	return errors.Join(errs...)
}
