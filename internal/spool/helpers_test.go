package spool

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testOptions returns options for a spool in dir with small segments.
func testOptions(dir string) Options {
	o := DefaultOptions()
	o.Dir = dir
	o.SegmentBytes = 4 << 10
	o.MaxBytes = 1 << 30
	return o
}

// openSpool opens a spool and closes it when the test ends.
func openSpool(t testing.TB, o Options, logger *slog.Logger) *Spool {
	t.Helper()
	s, err := Open(o, logger)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// record is the content of the i-th test record, of roughly size bytes.
func record(tag string, i, size int) []byte {
	head := fmt.Sprintf("%s-%d|", tag, i)
	if len(head) >= size {
		return []byte(head)
	}
	return []byte(head + strings.Repeat(string(rune('a'+i%26)), size-len(head)))
}

func mustAppend(t testing.TB, s *Spool, records ...[]byte) uint64 {
	t.Helper()
	off, err := s.Append(context.Background(), records)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return off
}

func mustReader(t testing.TB, s *Spool, name string) *Reader {
	t.Helper()
	r, err := s.Reader(name)
	if err != nil {
		t.Fatalf("Reader(%s): %v", name, err)
	}
	return r
}

// readN reads exactly n records, failing the test after a timeout.
func readN(t testing.TB, r *Reader, n, maxRecords, maxBytes int) []Entry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []Entry
	for len(out) < n {
		es, err := r.Next(ctx, min(maxRecords, n-len(out)), maxBytes)
		if err != nil {
			t.Fatalf("Next after %d of %d records: %v", len(out), n, err)
		}
		if len(es) == 0 {
			t.Fatalf("Next returned no records and no error")
		}
		out = append(out, es...)
	}
	return out
}

// segmentFiles lists the segment file names in dir.
func segmentFiles(t testing.TB, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*"+segmentSuffix))
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range names {
		names[i] = filepath.Base(n)
	}
	return names
}

// logRecorder is a slog handler that keeps what it is given.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }

// find returns the attributes of the first record at level whose message
// contains msg.
func (h *logRecorder) find(level slog.Level, msg string) (map[string]slog.Value, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.records {
		if r.Level == level && strings.Contains(r.Message, msg) {
			attrs := map[string]slog.Value{}
			r.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value; return true })
			return attrs, true
		}
	}
	return nil, false
}

// copyDir copies the regular files of src into a new temporary directory.
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || e.Name() == lockName {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}
