package delivery

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
)

func deadLetterLine(at time.Time, id string) string {
	return `{"dead_lettered_at":"` + at.UTC().Format(event.TimeLayout) + `","sink":"s","attempts":1,"error":"x","record":{"event_id":"` + id + `"}}` + "\n"
}

func TestDeadLetterDeleteBeforeRemovesTheOldPrefix(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, file, left string
		limit            int
		removed          int64
	}{
		{"old then new", deadLetterLine(now.Add(-3*time.Hour), "a") + deadLetterLine(now.Add(-2*time.Hour), "b") + deadLetterLine(now, "c"),
			deadLetterLine(now, "c"), 100, 2},
		{"within the limit", deadLetterLine(now.Add(-3*time.Hour), "a") + deadLetterLine(now.Add(-2*time.Hour), "b"),
			deadLetterLine(now.Add(-2*time.Hour), "b"), 1, 1},
		{"all old, last line unterminated", deadLetterLine(now.Add(-3*time.Hour), "a") + strings.TrimSuffix(deadLetterLine(now.Add(-2*time.Hour), "b"), "\n"),
			"", 100, 2},
		{"a foreign line ends the prefix", deadLetterLine(now.Add(-3*time.Hour), "a") + "not a dead letter\n" + deadLetterLine(now.Add(-2*time.Hour), "b"),
			"not a dead letter\n" + deadLetterLine(now.Add(-2*time.Hour), "b"), 100, 1},
		{"nothing old", deadLetterLine(now, "c"), deadLetterLine(now, "c"), 100, 0},
		{"a very long old line", `{"dead_lettered_at":"` + now.Add(-2*time.Hour).Format(event.TimeLayout) + `","error":"` + strings.Repeat("x", 200<<10) + "\"}\n" + deadLetterLine(now, "c"),
			deadLetterLine(now, "c"), 100, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s.ndjson")
			if err := os.WriteFile(path, []byte(tc.file), 0o644); err != nil {
				t.Fatal(err)
			}
			d := &deadLetterFile{path: path}
			n, err := d.DeleteBefore(context.Background(), now.Add(-time.Hour), tc.limit)
			if err != nil || n != tc.removed {
				t.Fatalf("DeleteBefore = %d, %v; want %d", n, err, tc.removed)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.left {
				t.Errorf("file left:\n%q\nwant\n%q", got, tc.left)
			}
		})
	}
	d := &deadLetterFile{path: filepath.Join(t.TempDir(), "missing.ndjson")}
	if n, err := d.DeleteBefore(context.Background(), now, 10); n != 0 || err != nil {
		t.Errorf("DeleteBefore on no file = %d, %v", n, err)
	}
}

// With spool.dead_letter_retention, old dead letters leave the sink's file
// in the background, /stats counts them, and new ones are appended after.
func TestDeadLetterRetentionRunsInTheService(t *testing.T) {
	dlDir := t.TempDir()
	path := DeadLetterPath(dlDir, "s")
	old := time.Now().Add(-48 * time.Hour)
	if err := os.WriteFile(path, []byte(deadLetterLine(old, "a")+deadLetterLine(old, "b")+deadLetterLine(time.Now(), "c")), 0o644); err != nil {
		t.Fatal(err)
	}
	target := &recordingSink{}
	target.setFail(func([]*event.Envelope) error { return &sink.PermanentError{Err: errors.New("refused")} })
	svc := start(t, Config{Spool: testSpool(t, t.TempDir(), 1<<30), DeadLetterDir: dlDir, DeadLetterRetention: 24 * time.Hour},
		Target{Name: "s", Records: sink.All, Sink: target, Options: fastOptions()})
	check.Eventually(t, 10*time.Second, "old dead letters removed", func() bool {
		st := svc.Stats().Sinks[0].DeadLetterRetention
		return st != nil && st.Removed == 2 && st.LastRunAt != nil
	})
	if st := svc.Stats().Sinks[0].DeadLetterRetention; st.Unit != "records" || st.Period != "24h0m0s" || st.LastError != "" {
		t.Errorf("stats = %+v", st)
	}
	if err := svc.Deliver(context.Background(), records("n", 1)); err != nil {
		t.Fatal(err)
	}
	check.Eventually(t, 10*time.Second, "the new dead letter written", func() bool { return svc.Stats().Sinks[0].DeadLettered == 1 })
	dls := readDeadLetters(t, path)
	if len(dls) != 2 || !strings.Contains(string(dls[0].Record), `"c"`) || !strings.Contains(string(dls[1].Record), "n-0") {
		t.Errorf("dead letters left: %+v", dls)
	}
}
