package spool

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/accord-events/accord/internal/iouring"
)

// Fsync policies.
const (
	// FsyncBatch fsyncs every group commit before Append returns: an
	// acknowledged record survives a crash of the process and of the machine.
	FsyncBatch = "batch"
	// FsyncInterval fsyncs at most every FsyncInterval: an acknowledged
	// record survives a crash of the process; a power loss may lose the
	// records of the last interval.
	FsyncInterval = "interval"
	// FsyncNever leaves flushing to the operating system (and to Close):
	// fastest, survives a crash of the process only.
	FsyncNever = "never"
)

// Smallest sizes Validate accepts.
const (
	minSegmentBytes = 4 << 10
	// maxSegmentBytes keeps byte positions and frame lengths far from any
	// overflow; a segment is a unit of deletion, not of storage.
	maxSegmentBytes = 1 << 40
)

// Options configures a spool.
type Options struct {
	Dir           string        `yaml:"dir" doc:"Directory that holds the spool's segments and sink cursors; created when missing, and used by one Accord process at a time."`
	SegmentBytes  int64         `yaml:"segment_bytes" doc:"Size at which the spool starts a new segment file; a segment is deleted once every sink has delivered all of its records."`
	MaxBytes      int64         `yaml:"max_bytes" doc:"Most bytes the spool holds on disk; when an append would go past it the collector answers 503 with Retry-After until sinks catch up."`
	Fsync         string        `yaml:"fsync" doc:"When appended records are flushed to disk: batch (before every acknowledgement, survives power loss), interval (every fsync_interval, survives a crash of Accord) or never (left to the operating system)."`
	FsyncInterval time.Duration `yaml:"fsync_interval" doc:"How often the spool is flushed to disk when fsync is interval."`

	// openRing, when set, stands in for iouring.Open: tests give a
	// kernel that refuses io_uring, or one whose ring later fails.
	openRing func(onFail func(error)) (*iouring.Ring, error)
}

// DefaultOptions returns the default options: 64 MiB segments, a 1 GiB cap,
// fsync on every group commit, and the spool under accord-data/spool.
func DefaultOptions() Options {
	return Options{
		Dir:           "accord-data/spool",
		SegmentBytes:  64 << 20,
		MaxBytes:      1 << 30,
		Fsync:         FsyncBatch,
		FsyncInterval: time.Second,
	}
}

// Validate reports every problem with the options, each naming its key and
// the fix.
func (o Options) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if strings.TrimSpace(o.Dir) == "" {
		bad("dir", "must not be empty; set it to a directory for the spool, such as accord-data/spool")
	}
	switch {
	case o.SegmentBytes < minSegmentBytes:
		bad("segment_bytes", "%d is too small; use at least %d (4 KiB), such as %d (64 MiB)", o.SegmentBytes, minSegmentBytes, 64<<20)
	case o.SegmentBytes > maxSegmentBytes:
		bad("segment_bytes", "%d is too large; use at most %d (1 TiB), such as %d (64 MiB)", o.SegmentBytes, int64(maxSegmentBytes), 64<<20)
	}
	// The segment being written is never deleted, so the spool needs room
	// for it and for at least one more before sinks can make space.
	if o.SegmentBytes > 0 && o.MaxBytes/2 < o.SegmentBytes {
		bad("max_bytes", "%d is less than twice segment_bytes (%d); raise max_bytes to at least %d, or lower segment_bytes", o.MaxBytes, o.SegmentBytes, 2*o.SegmentBytes)
	}
	switch o.Fsync {
	case FsyncBatch, FsyncNever:
	case FsyncInterval:
		if o.FsyncInterval < time.Millisecond {
			bad("fsync_interval", "%s is too short; use at least 1ms, such as 1s", o.FsyncInterval)
		}
	default:
		bad("fsync", "%q is not a policy; use batch, interval or never", o.Fsync)
	}
	return errors.Join(errs...)
}
