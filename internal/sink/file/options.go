package file

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/accord-events/accord/internal/sink/retention"
)

// Options configures a file sink.
type Options struct {
	GoodPath   string        `yaml:"good_path" doc:"File that good records are appended to, one JSON envelope per line; its directory is created when missing."`
	FailedPath string        `yaml:"failed_path" doc:"File that failed records are appended to, one JSON envelope per line; its directory is created when missing."`
	MaxBytes   int64         `yaml:"max_bytes" doc:"Size in bytes a file may reach: a line that would take it past this starts a new file, and the full one is renamed to <name>-<UTC time>.ndjson beside it; 0 never rotates by size."`
	MaxAge     time.Duration `yaml:"max_age" doc:"Age, counted from a file's first line, at which it is renamed to <name>-<UTC time>.ndjson and a new file started, even when no records arrive, such as 1h; 0 never rotates by age."`
	Retention  time.Duration `yaml:"retention" doc:"How long rotated files are kept, counted from their rotation (the time in their name), such as 720h for 30 days: older ones are removed in the background. Needs max_age set, at most retention, so that the file being written is rotated in time; 0 keeps files forever."`
	Fsync      bool          `yaml:"fsync" doc:"Sync the files to disk after every batch, so that records a batch acknowledged survive a power loss; costs a disk flush per batch."`
}

// NewOptions returns the default options.
func NewOptions() *Options {
	return &Options{
		GoodPath:   "accord-data/good.ndjson",
		FailedPath: "accord-data/failed.ndjson",
		MaxBytes:   100 << 20,
	}
}

// minMaxAge is the shortest max_age accepted. A shorter one is nearly
// always a duration written without a unit (max_age: 3600 is 3.6µs).
const minMaxAge = time.Second

// Validate reports every problem with the options, each naming its key and
// the fix.
func (o *Options) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if o.GoodPath == "" {
		bad("good_path", "must not be empty; set it to the file good records go to, such as accord-data/good.ndjson")
	}
	if o.FailedPath == "" {
		bad("failed_path", "must not be empty; set it to the file failed records go to, such as accord-data/failed.ndjson")
	}
	if o.GoodPath != "" && filepath.Clean(o.GoodPath) == filepath.Clean(o.FailedPath) {
		bad("failed_path", "%q is also good_path; good and failed records need files of their own, such as accord-data/good.ndjson and accord-data/failed.ndjson", o.FailedPath)
	}
	if o.MaxBytes < 0 {
		bad("max_bytes", "%d is negative; use a size in bytes, such as 104857600 for 100 MiB, or 0 to never rotate by size", o.MaxBytes)
	}
	if o.MaxAge < 0 {
		bad("max_age", "%s is negative; use a duration such as 1h, or 0 to never rotate by age", o.MaxAge)
	} else if o.MaxAge > 0 && o.MaxAge < minMaxAge {
		bad("max_age", "%s is shorter than %s; write the duration with its unit, such as 1h, or 0 to never rotate by age", o.MaxAge, minMaxAge)
	}
	if err := retention.CheckPeriod(o.Retention); err != nil {
		bad("retention", "%v", err)
	} else if o.Retention > 0 && (o.MaxAge <= 0 || o.MaxAge > o.Retention) {
		bad("retention", "needs max_age between 1s and the retention (%s), so that the file being written is rotated before its lines pass the retention; set max_age, such as 24h", o.Retention)
	}
	return errors.Join(errs...)
}
