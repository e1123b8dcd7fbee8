package server_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/delivery"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/server"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/spool"
)

// sinkRecorder keeps a copy of every record written to it.
type sinkRecorder struct {
	mu      sync.Mutex
	records []event.Envelope
}

func (*sinkRecorder) Connect(context.Context) error { return nil }
func (*sinkRecorder) Close(context.Context) error   { return nil }

func (s *sinkRecorder) Write(_ context.Context, records []*event.Envelope) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range records {
		c := *r
		c.Raw = string(append([]byte(nil), r.Raw...))
		s.records = append(s.records, c)
	}
	return nil
}

// A request's body is given back before the spool's group commit once its
// records are encoded (server.ReleasesRecords), but never before the spool
// is known to take them: records too large for the spool together are
// still answered 413 and kept as one size_violation record holding the
// body's first KiB, as the docs say (api.md).
func TestTooLargeForTheSpoolKeepsTheBodysFirstBytes(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	o := spool.DefaultOptions()
	o.Dir, o.SegmentBytes, o.MaxBytes = t.TempDir(), 4<<10, 12<<10 // batches of at most 8 KiB
	sp, err := spool.Open(o, log)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	got := &sinkRecorder{}
	svc, err := delivery.Start(delivery.Config{Spool: sp, Logger: log, DeadLetterDir: filepath.Join(t.TempDir(), "dead")},
		[]delivery.Target{{Name: "s", Records: sink.All, Sink: got, Options: delivery.DefaultOptions()}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = svc.Close(ctx)
	}()
	h := serverOver(t, server.DefaultOptions(), svc).Handler()

	if w := do(h, http.MethodPost, "/events", []byte(pageView+"\n"), "Content-Type", "application/x-ndjson"); w.Code != http.StatusOK {
		t.Fatalf("a request the spool takes: %d %s", w.Code, w.Body)
	}
	body := bytes.Repeat([]byte(pageView+"\n"), 40) // about 30 KB of frames
	if w := do(h, http.MethodPost, "/events", body, "Content-Type", "application/x-ndjson"); w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("records too large for the spool: %d %s; want 413", w.Code, w.Body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got.mu.Lock()
		n := len(got.records)
		got.mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	got.mu.Lock()
	defer got.mu.Unlock()
	if len(got.records) != 2 {
		t.Fatalf("stored %d records; want the good one and the size_violation", len(got.records))
	}
	last := got.records[1]
	if last.Failure == nil || last.Failure.Type != event.SizeViolation || last.Raw != string(body[:1024]) {
		t.Errorf("stored %+v; want a size_violation holding the body's first KiB", last)
	}
}
