package file

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/event"
)

func TestRetentionRemovesRotatedFilesOlderThanThePeriod(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(dir)
	opts.MaxAge = time.Hour
	opts.Retention = 3 * time.Hour
	c := &clock{now: time.Date(2024, 3, 9, 10, 0, 0, 0, time.UTC)}
	s, err := open(opts, nil, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	// The background loop runs once at Connect and then every minute:
	// wait for that first run, so that it cannot run late, at the
	// advanced clock, and remove the files the Run below is to remove.
	check.Eventually(t, 10*time.Second, "the first background run", func() bool { return s.RetentionStats().LastRunAt != nil })
	// A file that is not the sink's, and one of its own names with a
	// stamp that is not a time, are left alone.
	for _, name := range []string{"good-notes.ndjson", "other-20000101T000000.000000000Z.ndjson"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write := func(b []*event.Envelope) {
		t.Helper()
		if err := s.Write(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	// Five hours of writes, a file rotated each hour: at 11:00 ... 14:00 and
	// the current one from 14:00.
	for h := range 5 {
		write(append(batch("g", 1, true), record("f", false)))
		c.Advance(time.Hour)
		if h == 4 {
			break
		}
	}
	write(batch("g", 1, true)) // 15:00: the 14:00 file rotates
	if got := len(names(t, dir)); got != 2+6+5 {
		t.Fatalf("%d files before retention: %v; want 2 foreign, 6 good, 5 failed", got, names(t, dir))
	}
	// At 15:00 with 3h kept, the files rotated at 11:00 and before go.
	n, err := s.retention.Load().Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 { // good and failed rotated at 11:00
		t.Errorf("removed %d files, want 2", n)
	}
	want := []string{
		"failed-20240309T120000.000000000Z.ndjson", "failed-20240309T130000.000000000Z.ndjson", "failed-20240309T140000.000000000Z.ndjson", "failed-20240309T150000.000000000Z.ndjson",
		"good-20240309T120000.000000000Z.ndjson", "good-20240309T130000.000000000Z.ndjson", "good-20240309T140000.000000000Z.ndjson", "good-20240309T150000.000000000Z.ndjson",
		"good-notes.ndjson", "good.ndjson", "other-20000101T000000.000000000Z.ndjson",
	}
	if got := names(t, dir); !slices.Equal(got, want) {
		t.Errorf("files left:\n%v\nwant\n%v", got, want)
	}
	check.Eventually(t, 10*time.Second, "stats", func() bool { return s.RetentionStats().Removed >= 2 })
	if st := s.RetentionStats(); st.Unit != "files" || st.Period != "3h0m0s" {
		t.Errorf("stats = %+v", st)
	}
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestRetentionNeedsAgeRotation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		maxAge time.Duration
		want   []string
	}{
		{"no max_age", 0, []string{"retention: needs max_age", "such as 24h"}},
		{"max_age past retention", 48 * time.Hour, []string{"retention: needs max_age"}},
		{"max_age within", time.Hour, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions(t.TempDir())
			o.Retention, o.MaxAge = 24*time.Hour, tc.maxAge
			check.ErrorSays(t, o.Validate(), tc.want...)
		})
	}
}
