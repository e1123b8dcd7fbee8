package file

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/accord-events/accord/internal/sink/retention"
)

// rotatedFiles are the rotated files of the sink's current files, as
// retention sees them. A rotated file's name holds when it was rotated,
// which is after its last line was written: once that time is past the
// cutoff, every line in it is. The file being written is never removed;
// max_age (at most the retention) rotates it in time.
type rotatedFiles []string

// DeleteBefore removes at most limit files rotated before cutoff, oldest
// first. It takes no lock of the sink's: rotation only ever adds files
// named after now, which is past the cutoff.
func (paths rotatedFiles) DeleteBefore(ctx context.Context, cutoff time.Time, limit int) (int64, error) {
	var n int64
	var errs []error
	for _, path := range paths {
		ext := filepath.Ext(path)
		base := strings.TrimSuffix(path, ext)
		entries, err := os.ReadDir(filepath.Dir(path))
		if err != nil {
			errs = append(errs, fmt.Errorf("list rotated files of %s: %w", path, err))
			continue
		}
		prefix := filepath.Base(base) + "-"
		for _, e := range entries { // sorted by name, so by rotation time
			if n >= int64(limit) || ctx.Err() != nil {
				return n, errors.Join(append(errs, ctx.Err())...)
			}
			name := e.Name()
			stamp, ok := strings.CutPrefix(name, prefix)
			if !ok || !e.Type().IsRegular() {
				continue
			}
			stamp, ok = strings.CutSuffix(stamp, ext)
			if !ok {
				continue
			}
			at, err := time.Parse(rotatedLayout, stamp)
			if err != nil || !at.Before(cutoff) {
				continue
			}
			if err := os.Remove(filepath.Join(filepath.Dir(path), name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("remove rotated file: %w", err))
				continue
			}
			n++
		}
	}
	return n, errors.Join(errs...)
}

// RetentionStats says what retention has removed; its Period is empty when
// retention is off.
func (s *Sink) RetentionStats() retention.Stats {
	loop := s.retention.Load()
	if loop == nil {
		return retention.Stats{}
	}
	return loop.Stats()
}

var _ retention.Reporter = (*Sink)(nil)
