// Package file is a sink that appends records to local NDJSON files, one
// envelope per line, good and failed records in files of their own.
//
// Files rotate by size and by age: the full file is renamed beside itself
// to <name>-<UTC time with nanoseconds><ext> and a new one is started. A
// rotation happens only between lines, so a line is never split across
// files, and a line is never lost or written twice by it; a file holds
// whole lines only, even when a write fails partway.
package file

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/accord-events/accord/internal/atomicfile"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/retention"
)

// Type returns the file sink type.
func Type() sink.Type {
	return sink.Type{
		Name: "file",
		Doc:  "Appends records to local NDJSON files, one envelope per line, good and failed apart, rotating them by size and age.",
		NewOptions: func() sink.Options {
			return NewOptions()
		},
		New: func(opts sink.Options, deps sink.Deps) (sink.Sink, error) {
			o, ok := opts.(*Options)
			if !ok {
				return nil, fmt.Errorf("new file sink: options are %T, not *file.Options", opts)
			}
			return New(*o, deps.Logger)
		},
	}
}

// rotatedLayout names rotated files: fixed width, so that they sort by time.
const rotatedLayout = "20060102T150405.000000000Z"

// maxKeptBuffer is the largest encode buffer kept between writes.
const maxKeptBuffer = 4 << 20

// Sink appends records to NDJSON files. It is safe for concurrent use;
// batches are written one at a time, each batch's lines together.
type Sink struct {
	opts   Options
	now    func() time.Time
	logger *slog.Logger

	mu     sync.Mutex    // serialises writes and guards what follows
	stop   chan struct{} // closed by Close to stop the age rotator
	done   chan struct{} // closed when the age rotator has stopped
	good   *file
	failed *file
	// retention removes rotated files past opts.Retention; nil when off.
	// Atomic, so that /stats reads it without waiting for a write.
	retention atomic.Pointer[retention.Loop]
	connected bool
	closed    bool
}

// file is one of the sink's two files.
type file struct {
	path string
	f    *os.File // nil after a rotation until the next write opens it
	size int64
	// started is when the file's first line was written; zero while it is
	// empty. For a file that already held lines at start it is the file's
	// modification time, as its creation time is not portably known.
	started time.Time
	buf     []byte
}

// New returns a sink for the options; it touches no file until Connect.
// logger may be nil.
func New(opts Options, logger *slog.Logger) (*Sink, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return newSink(opts, logger, time.Now), nil
}

// Open is New and Connect in one, for tools and tests that want a sink
// ready to write.
func Open(opts Options, logger *slog.Logger) (*Sink, error) {
	s, err := New(opts, logger)
	if err != nil {
		return nil, err
	}
	if err := s.Connect(context.Background()); err != nil {
		return nil, err
	}
	return s, nil
}

// newSink is New without validation, with a clock, for tests.
func newSink(opts Options, logger *slog.Logger, now func() time.Time) *Sink {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Sink{
		opts:   opts,
		now:    now,
		logger: logger,
		good:   &file{path: opts.GoodPath},
		failed: &file{path: opts.FailedPath},
	}
}

// open is newSink and Connect, for tests.
func open(opts Options, logger *slog.Logger, now func() time.Time) (*Sink, error) {
	s := newSink(opts, logger, now)
	if err := s.Connect(context.Background()); err != nil {
		return nil, err
	}
	return s, nil
}

// Connect opens (creating when missing) the files and, with max_age set,
// starts the goroutine that rotates them by age; Close stops it. On a
// connected sink it does nothing; after a failure it can be called again.
func (s *Sink) Connect(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("connect file sink: sink is closed")
	}
	if s.connected {
		return nil
	}
	for _, f := range []*file{s.good, s.failed} {
		if err := s.openFile(f); err != nil {
			return errors.Join(err, s.closeFiles())
		}
	}
	s.connected = true
	if s.opts.MaxAge > 0 {
		s.stop, s.done = make(chan struct{}), make(chan struct{})
		go s.rotateByAge(s.stop, s.done)
	}
	if s.opts.Retention > 0 && s.retention.Load() == nil {
		loop, err := retention.New(retention.Config{Period: s.opts.Retention, Unit: "files", Now: s.now, Logger: s.logger}, rotatedFiles{s.good.path, s.failed.path})
		if err != nil {
			return err
		}
		s.retention.Store(loop)
		loop.Start()
	}
	return nil
}

// openFile opens f for appending, creating it and its directory when
// missing.
func (s *Sink) openFile(f *file) error {
	if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
		return fmt.Errorf("create directory for %s: %w", f.path, err)
	}
	h, err := os.OpenFile(f.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", f.path, err)
	}
	info, err := h.Stat()
	if err != nil {
		h.Close()
		return fmt.Errorf("stat %s: %w", f.path, err)
	}
	f.f, f.size, f.started = h, info.Size(), time.Time{}
	if f.size == 0 {
		return nil
	}
	f.started = info.ModTime()
	// A file cut short by a crash ends mid-line; end that line, so that
	// the next record starts a line of its own instead of being glued to a
	// fragment.
	last := make([]byte, 1)
	r, err := os.Open(f.path)
	if err != nil {
		return fmt.Errorf("open %s: %w", f.path, err)
	}
	_, err = r.ReadAt(last, f.size-1)
	r.Close()
	if err != nil {
		return fmt.Errorf("read end of %s: %w", f.path, err)
	}
	if last[0] != '\n' {
		s.logger.Warn("file sink: file ends with a partial line, probably from a crash; ending it so new lines stay whole",
			"path", f.path)
		if err := f.write([]byte{'\n'}); err != nil {
			return err
		}
	}
	return nil
}

// Write appends records, good and failed to their own files, rotating a file
// first when it is too old and between lines when the next line would take
// it past max_bytes.
func (s *Sink) Write(_ context.Context, records []*event.Envelope) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("write to file sink: sink is closed")
	}
	if !s.connected {
		return errors.New("write to file sink: not connected")
	}
	if len(records) == 0 {
		return nil
	}
	if err := s.rotateOld(); err != nil {
		return err
	}
	good, failed := s.good, s.failed
	good.buf, failed.buf = good.buf[:0], failed.buf[:0]
	defer func() {
		for _, f := range []*file{good, failed} {
			if cap(f.buf) > maxKeptBuffer {
				f.buf = nil
			}
		}
	}()
	for _, r := range records {
		f := good
		if !r.Valid {
			f = failed
		}
		start := len(f.buf)
		f.buf = append(r.AppendJSON(f.buf), '\n')
		if max := s.opts.MaxBytes; max > 0 && f.size+int64(start) > 0 && f.size+int64(len(f.buf)) > max {
			// The line does not fit: write what does, start a new file,
			// and keep the line for it.
			if err := s.flush(f, f.buf[:start]); err != nil {
				return err
			}
			if err := s.rotate(f); err != nil {
				return err
			}
			f.buf = f.buf[:copy(f.buf, f.buf[start:])]
		}
	}
	for _, f := range []*file{good, failed} {
		if len(f.buf) == 0 {
			continue
		}
		if err := s.flush(f, f.buf); err != nil {
			return err
		}
		if s.opts.Fsync {
			if err := f.f.Sync(); err != nil {
				return fmt.Errorf("sync %s: %w", f.path, err)
			}
		}
	}
	return nil
}

// flush appends p, whole lines, to f, opening f when a rotation closed it.
func (s *Sink) flush(f *file, p []byte) error {
	if len(p) == 0 {
		return nil
	}
	if f.f == nil {
		if err := s.openFile(f); err != nil {
			return err
		}
	}
	if f.size == 0 {
		f.started = s.now()
	}
	return f.write(p)
}

// write appends p to f. On a short write it cuts the file back to where it
// was, so that it never ends with part of a line.
func (f *file) write(p []byte) error {
	n, err := f.f.Write(p)
	if err == nil {
		f.size += int64(n)
		return nil
	}
	err = fmt.Errorf("write %s: %w", f.path, err)
	if n > 0 {
		if terr := f.f.Truncate(f.size); terr != nil {
			return errors.Join(err, fmt.Errorf("cut partial line from %s: %w", f.path, terr))
		}
	}
	return err
}

// rotateOld rotates the files older than max_age.
func (s *Sink) rotateOld() error {
	if s.opts.MaxAge <= 0 {
		return nil
	}
	now := s.now()
	for _, f := range []*file{s.good, s.failed} {
		if f.size > 0 && now.Sub(f.started) >= s.opts.MaxAge {
			if err := s.rotate(f); err != nil {
				return err
			}
		}
	}
	return nil
}

// rotate renames f, when it holds any line, to its rotated name; the next
// write starts a new file.
func (s *Sink) rotate(f *file) error {
	if f.size == 0 {
		return nil
	}
	ext := filepath.Ext(f.path)
	base := strings.TrimSuffix(f.path, ext)
	at := s.now().UTC()
	var target string
	for {
		target = base + "-" + at.Format(rotatedLayout) + ext
		if _, err := os.Lstat(target); errors.Is(err, os.ErrNotExist) {
			break
		} else if err != nil {
			return fmt.Errorf("rotate %s: %w", f.path, err)
		}
		at = at.Add(time.Nanosecond) // never overwrite an earlier rotation
	}
	if f.f != nil && s.opts.Fsync {
		if err := f.f.Sync(); err != nil {
			return fmt.Errorf("sync %s: %w", f.path, err)
		}
	}
	if err := os.Rename(f.path, target); err != nil {
		return fmt.Errorf("rotate %s: %w", f.path, err)
	}
	if s.opts.Fsync {
		if err := atomicfile.SyncDir(filepath.Dir(f.path)); err != nil {
			return fmt.Errorf("rotate %s: %w", f.path, err)
		}
	}
	var err error
	if f.f != nil {
		if cerr := f.f.Close(); cerr != nil {
			err = fmt.Errorf("close rotated %s: %w", target, cerr)
		}
	}
	f.f, f.size, f.started = nil, 0, time.Time{}
	return err
}

// rotateByAge rotates files once they reach max_age, even while no records
// arrive, so that finished files appear on time for whatever picks them up.
func (s *Sink) rotateByAge(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	timer := time.NewTimer(s.opts.MaxAge)
	defer timer.Stop()
	for {
		select {
		case <-stop:
			return
		case <-timer.C:
		}
		s.mu.Lock()
		err := s.rotateOld()
		next := s.opts.MaxAge
		now := s.now()
		for _, f := range []*file{s.good, s.failed} {
			if f.size > 0 {
				next = min(next, f.started.Add(s.opts.MaxAge).Sub(now))
			}
		}
		s.mu.Unlock()
		if err != nil {
			// The next Write rotates, or reports the error to its caller.
			s.logger.Error("file sink: rotate by age", "err", err)
			next = max(next, time.Second)
		}
		timer.Reset(max(next, time.Millisecond))
	}
}

// ReadsJSONOnly marks the sink as writing each record's JSON as it is
// (sink.JSONOnly): delivery need not decode records for it.
func (*Sink) ReadsJSONOnly() {}

// KeepsNoStrings marks the sink as keeping nothing of a record past a
// Write (sink.KeepsNoStrings): it copies each record's JSON into its own
// buffer before writing it.
func (*Sink) KeepsNoStrings() {}

var (
	_ sink.JSONOnly       = (*Sink)(nil)
	_ sink.KeepsNoStrings = (*Sink)(nil)
)

// Close stops rotating, syncs the files to disk and closes them; ctx is not
// needed, as the files are local. A Write after Close returns an error.
func (s *Sink) Close(context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	stop, done, loop := s.stop, s.done, s.retention.Load()
	s.mu.Unlock()
	if loop != nil {
		loop.Stop()
	}
	if stop != nil {
		// Outside the lock, which a rotation under way holds.
		close(stop)
		<-done
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.closeFiles(); err != nil {
		return fmt.Errorf("close file sink: %w", err)
	}
	return nil
}

var _ sink.Sink = (*Sink)(nil)

func (s *Sink) closeFiles() error {
	var errs []error
	for _, f := range []*file{s.good, s.failed} {
		if f.f == nil {
			continue
		}
		if err := f.f.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("sync %s: %w", f.path, err))
		}
		if err := f.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", f.path, err))
		}
		f.f = nil
	}
	return errors.Join(errs...)
}
