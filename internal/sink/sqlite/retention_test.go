package sqlite

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink/retention"
)

// writeAged writes n good and n/10 failed records collected at, through a
// sink without retention, as an older Accord would have left them.
func writeAged(t *testing.T, s *Sink, prefix string, n int, at time.Time) {
	t.Helper()
	var batch []*event.Envelope
	for i := range n {
		r := goodRecord(fmt.Sprintf("%s-%d", prefix, i))
		if i%10 == 0 {
			r = failedRecord(fmt.Sprintf("%s-%d", prefix, i))
		}
		r.CollectedAt = event.Time{Time: at}
		batch = append(batch, r)
		if len(batch) == 500 || i == n-1 {
			if err := s.Write(context.Background(), batch); err != nil {
				t.Fatalf("Write: %v", err)
			}
			batch = batch[:0]
		}
	}
}

func TestRetentionRemovesOldRowsAndShrinksTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accord.db")
	opts := *NewOptions()
	opts.Path = path
	// A database created before retention was set: auto_vacuum is off.
	old, err := Open(context.Background(), opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := collected.Add(30 * 24 * time.Hour)
	writeAged(t, old, "old", 12000, now.Add(-25*time.Hour))
	writeAged(t, old, "new", 100, now.Add(-23*time.Hour))
	if err := old.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	db := readDB(t, path)
	var pagesBefore int
	if err := db.QueryRow("PRAGMA page_count").Scan(&pagesBefore); err != nil {
		t.Fatal(err)
	}

	opts.Retention = 24 * time.Hour
	s, err := New(opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return now }
	if err := s.Connect(context.Background()); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	// Connect runs retention at once, 5,000 rows per transaction.
	check.Eventually(t, 30*time.Second, "old rows removed", func() bool {
		st := s.RetentionStats()
		return st.Removed == 12000 && st.LastRunAt != nil
	})
	st := s.RetentionStats()
	if st.Period != "24h0m0s" || st.Unit != "rows" || st.LastError != "" || !st.LastRunAt.Equal(now) {
		t.Errorf("stats = %+v", st)
	}
	if got := count(t, db, opts.GoodTable) + count(t, db, opts.FailedTable); got != 100 {
		t.Errorf("rows left = %d, want the 100 newer than the period", got)
	}
	if got := count(t, db, opts.FailedTable); got != 10 {
		t.Errorf("failed rows left = %d, want 10", got)
	}
	// The database was small, so Connect switched it to incremental
	// auto-vacuum, and the pages the rows held went back to the file system.
	var mode, pagesAfter, free int
	for q, v := range map[string]*int{"PRAGMA auto_vacuum": &mode, "PRAGMA page_count": &pagesAfter, "PRAGMA freelist_count": &free} {
		if err := db.QueryRow(q).Scan(v); err != nil {
			t.Fatal(err)
		}
	}
	if mode != autoVacuumIncremental || free != 0 || pagesAfter*10 > pagesBefore {
		t.Errorf("auto_vacuum %d, free pages %d, pages %d after, %d before: want 2, 0 and a tenth at most", mode, free, pagesAfter, pagesBefore)
	}
	// Writing goes on as before.
	writeAged(t, s, "later", 10, now)
	if got := count(t, db, opts.GoodTable) + count(t, db, opts.FailedTable); got != 110 {
		t.Errorf("rows = %d, want 110", got)
	}
}

func TestDeleteBeforeTakesAtMostLimit(t *testing.T) {
	s, db, opts := openTest(t, nil)
	writeAged(t, s, "a", 30, collected)
	for _, want := range []int64{12, 12, 6, 0} {
		n, err := s.DeleteBefore(context.Background(), collected.Add(time.Microsecond), 12)
		if err != nil || n != want {
			t.Fatalf("DeleteBefore = %d, %v; want %d", n, err, want)
		}
	}
	writeAged(t, s, "b", 5, collected)
	if n, err := s.DeleteBefore(context.Background(), collected, 100); err != nil || n != 0 {
		t.Errorf("DeleteBefore at the rows' own time = %d, %v; want 0 (the cutoff is exclusive)", n, err)
	}
	if got := count(t, db, opts.GoodTable) + count(t, db, opts.FailedTable); got != 5 {
		t.Errorf("rows = %d, want 5", got)
	}
}

func TestRetentionOffReportsNothing(t *testing.T) {
	s, _, _ := openTest(t, nil)
	if st := s.RetentionStats(); st.Period != "" {
		t.Errorf("stats = %+v, want none", st)
	}
}

func TestRetentionOptionIsValidated(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    time.Duration
		want string
	}{
		{"negative", -time.Hour, "retention: -1h0m0s is negative"},
		{"without a unit", 720, "retention: 720ns is shorter than 1m0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOptions()
			o.Retention = tc.d
			check.ErrorSays(t, o.Validate(), tc.want)
		})
	}
}

func TestRetentionLeavesALargeExistingDatabaseInItsModeAndSaysHowToSwitch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accord.db")
	opts := *NewOptions()
	opts.Path = path
	old, err := Open(context.Background(), opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := collected.Add(48 * time.Hour)
	writeAged(t, old, "old", 50, collected)
	if err := old.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	opts.Retention = time.Hour
	var logs check.Buffer
	s, err := New(opts, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return now }
	s.vacuumSwitchMax = 0 // every file is too large to rewrite
	if err := s.Connect(context.Background()); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	check.Eventually(t, 10*time.Second, "old rows removed", func() bool { return s.RetentionStats().Removed == 50 })
	if st := s.RetentionStats(); st.LastError != "" {
		t.Errorf("stats = %+v", st)
	}
	var mode, free int
	db := readDB(t, path)
	if err := db.QueryRow("PRAGMA auto_vacuum").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("PRAGMA freelist_count").Scan(&free); err != nil {
		t.Fatal(err)
	}
	if mode != 0 || free == 0 {
		t.Errorf("auto_vacuum %d with %d free pages; want 0 (unchanged) and the freed pages kept for reuse", mode, free)
	}
	if !strings.Contains(logs.String(), "PRAGMA auto_vacuum=INCREMENTAL; VACUUM") {
		t.Errorf("log does not say how to switch:\n%s", logs.String())
	}
}

// retention_by_contract keeps the records of some contracts for periods of
// their own, the longest matching prefix winning.
func TestRetentionByContract(t *testing.T) {
	s, db, opts := openTest(t, nil)
	now := collected.Add(72 * time.Hour)
	var recs []*event.Envelope
	for i, schema := range []string{
		"iglu:com.acme/checkout_completed/jsonschema/1-0-2", // default, 24h: 30h old goes
		"iglu:com.acme/audit/jsonschema/1-0-0",              // com.acme/audit/: forever
		"iglu:com.acme/page/jsonschema/1-0-0",               // com.acme/: 2h, so 3h old goes
		"iglu:com_acme/page/jsonschema/1-0-0",               // _ is no wildcard: default, 3h old stays
	} {
		for j, age := range []time.Duration{30 * time.Hour, 3 * time.Hour} {
			r := goodRecord(fmt.Sprintf("r%d-%d", i, j))
			r.Schema, r.CollectedAt = schema, event.Time{Time: now.Add(-age)}
			recs = append(recs, r)
		}
	}
	if err := s.Write(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	loop, err := retention.New(retention.Config{Period: 24 * time.Hour, Now: func() time.Time { return now },
		ByContract: map[string]time.Duration{"iglu:com.acme/": 2 * time.Hour, "iglu:com.acme/audit/": 0, "iglu:com.acme/checkout_completed/": 24 * time.Hour}}, s)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := loop.Run(context.Background()); err != nil || n != 4 {
		t.Errorf("Run = %d, %v; want 4", n, err)
	}
	rows, err := db.Query("SELECT event_id FROM " + opts.GoodTable + " ORDER BY event_id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var left []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		left = append(left, id)
	}
	if got := strings.Join(left, " "); got != "r0-1 r1-0 r1-1 r3-1" {
		t.Errorf("rows left: %s; want r0-1 r1-0 r1-1 r3-1", got)
	}
}

func TestRetentionByContractIsValidated(t *testing.T) {
	o := NewOptions()
	o.RetentionByContract = map[string]time.Duration{"com.acme/": time.Hour, "iglu:x/": 5}
	check.ErrorSays(t, o.Validate(), `retention_by_contract: "com.acme/" is not a contract key prefix`, "iglu:x/: 5ns is shorter than 1m0s")
}
