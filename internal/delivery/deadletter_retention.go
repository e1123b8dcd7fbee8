package delivery

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/accord-events/accord/internal/atomicfile"
	"github.com/accord-events/accord/internal/event"
)

// deadLetterBatch is how many dead letters one pruning removes at most:
// each pruning copies the rest of the file, so it removes as many as it can.
const deadLetterBatch = 1 << 30

// deadLetterPrefix is how every dead-letter line starts, up to its time.
var deadLetterPrefix = []byte(`{"dead_lettered_at":"`)

// DeleteBefore removes, from the start of the file, the dead letters
// written before cutoff, at most limit of them, and returns how many; it
// implements retention.Store. Lines are appended in time order, so the old
// ones are a prefix: the rest is copied to a new file that replaces the old
// one, streamed, so memory stays small however large the file. A line that
// does not start as this package writes them ends the prefix: it is kept.
// Dead-letter writes to this sink wait for the copy.
func (d *deadLetterFile) DeleteBefore(ctx context.Context, cutoff time.Time, limit int) (int64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	src, err := os.Open(d.path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("open dead letter %s: %w", d.path, err)
	}
	defer src.Close()
	r := bufio.NewReaderSize(src, 64<<10)
	before := []byte(cutoff.UTC().Format(event.TimeLayout))
	var n int64
	for n < int64(limit) {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		head, err := r.Peek(len(deadLetterPrefix) + len(event.TimeLayout))
		if err != nil {
			break // a short last line or the end: kept
		}
		at, ok := bytes.CutPrefix(head, deadLetterPrefix)
		if !ok || bytes.Compare(at, before) >= 0 {
			break
		}
		if err := skipLine(r); err != nil {
			if errors.Is(err, io.EOF) {
				n++ // an old last line without its newline
				break
			}
			return 0, fmt.Errorf("read dead letter %s: %w", d.path, err)
		}
		n++
	}
	if n == 0 {
		return 0, nil
	}
	if err := d.replaceWithRest(r); err != nil {
		return 0, err
	}
	return n, nil
}

// skipLine reads past the next newline without keeping the line.
func skipLine(r *bufio.Reader) error {
	for {
		_, err := r.ReadSlice('\n')
		if !errors.Is(err, bufio.ErrBufferFull) {
			return err
		}
	}
}

// replaceWithRest replaces the file with what r has left, through a
// temporary file beside it, synced before the rename; the open append
// handle is closed, and the next write opens the new file.
func (d *deadLetterFile) replaceWithRest(r io.Reader) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(d.path), filepath.Base(d.path)+".retention-*")
	if err != nil {
		return fmt.Errorf("prune dead letter %s: %w", d.path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o644); err != nil { // as the append opens it
		return fmt.Errorf("prune dead letter %s: %w", d.path, err)
	}
	if _, err := io.Copy(tmp, r); err != nil {
		return fmt.Errorf("prune dead letter %s: %w", d.path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("prune dead letter %s: %w", d.path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("prune dead letter %s: %w", d.path, err)
	}
	if d.f != nil {
		if err := d.f.Close(); err != nil {
			return fmt.Errorf("prune dead letter %s: %w", d.path, err)
		}
		d.f = nil
	}
	if err := os.Rename(tmp.Name(), d.path); err != nil {
		return fmt.Errorf("prune dead letter %s: %w", d.path, err)
	}
	if err := atomicfile.SyncDir(filepath.Dir(d.path)); err != nil {
		return fmt.Errorf("prune dead letter %s: %w", d.path, err)
	}
	return nil
}
