package delivery

import (
	"errors"
	"fmt"
	"time"
)

// Options configures how one sink is delivered to: how records are
// batched, and how failed writes are retried.
type Options struct {
	BatchRecords int           `yaml:"batch_records" doc:"Most records handed to the sink in one write."`
	BatchBytes   int           `yaml:"batch_bytes" doc:"Most bytes of encoded records in one write (a single larger record still goes alone)."`
	Linger       time.Duration `yaml:"linger" doc:"How long to wait for more records before writing a batch that is not full; 0 adds no wait of its own (under load, batches fill by themselves while the previous write runs; unless spool.ack is sinks, a batch that is not full is read at most every 20ms)."`
	MaxAttempts  int           `yaml:"max_attempts" doc:"Attempts at a batch that keeps failing with a transient error before it goes to the dead letter; 0 retries until it succeeds, which keeps every record through an outage of any length (the spool absorbs it up to spool.max_bytes)."`
	BackoffMin   time.Duration `yaml:"backoff_min" doc:"Wait before the first retry; each later retry waits twice as long, up to backoff_max, with random jitter of up to half."`
	BackoffMax   time.Duration `yaml:"backoff_max" doc:"Longest wait between retries."`
}

// DefaultOptions returns the defaults: batches of up to 250 records or 4
// MiB, no linger, retries forever from 100ms up to 30s apart.
//
// 250 rather than 500: a runner holds the batch it writes and the next,
// read and decoded, and the SQLite sink's transaction dirties pages for
// each record; at full batched load half the batch took the collector's
// peak from 62.5–67.3 MiB to 59.1–64.7 MiB (five interleaved runs each),
// storing as fast (docs/performance-log.md, memory, sixth session).
func DefaultOptions() Options {
	return Options{
		BatchRecords: 250,
		BatchBytes:   4 << 20,
		BackoffMin:   100 * time.Millisecond,
		BackoffMax:   30 * time.Second,
	}
}

// Validate reports every problem, each naming its key (relative to the
// sink's delivery block) and the fix.
func (o Options) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if o.BatchRecords < 1 {
		bad("batch_records", "%d must be at least 1, such as 250", o.BatchRecords)
	}
	if o.BatchBytes < 1024 {
		bad("batch_bytes", "%d is too small; use at least 1024, such as 4194304 (4 MiB)", o.BatchBytes)
	}
	if o.Linger < 0 {
		bad("linger", "%s must not be negative; use 0 for none, or a short wait such as 20ms", o.Linger)
	}
	if o.MaxAttempts < 0 {
		bad("max_attempts", "%d must not be negative; use 0 to retry until it succeeds", o.MaxAttempts)
	}
	if o.BackoffMin <= 0 {
		bad("backoff_min", "%s must be positive, such as 100ms", o.BackoffMin)
	}
	if o.BackoffMax < o.BackoffMin {
		bad("backoff_max", "%s is shorter than backoff_min (%s); make it at least as long, such as 30s", o.BackoffMax, o.BackoffMin)
	}
	return errors.Join(errs...)
}
