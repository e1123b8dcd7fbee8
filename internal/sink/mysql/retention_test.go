package mysql

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/retention"
	"github.com/accord-events/accord/internal/sink/sinktest"
	"github.com/accord-events/accord/internal/sink/sqltest"
)

// Retention removes old rows from the raw table and their rows from the
// typed table, a batch at a time, and keeps the newer ones.
func TestRetentionRemovesOldRowsFromRawAndTypedTables(t *testing.T) {
	opts := testDatabase(t)
	key := "iglu:com.acme/order/jsonschema/1-0-0"
	set := contract.NewSet([]*contract.Contract{sinktest.CompileContract(t, key, orderV1)})
	s := openSink(t, opts, set)
	ctx := context.Background()
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	var recs []*event.Envelope
	for i := range 25 {
		r := sqltest.Record(fmt.Sprintf("old-%02d", i), key, fmt.Sprintf(`{"order_id":"o-%d","total":1,"paid":true,"at":"2026-12-02T10:00:00Z"}`, i))
		r.CollectedAt = event.Time{Time: now.Add(-48*time.Hour + time.Duration(i)*time.Second)}
		if i%5 == 0 { // failed: in the raw table only
			r.Valid, r.Failure = false, event.NewFailure(event.SchemaViolation, "total must be a number")
		}
		recs = append(recs, r)
	}
	for i := range 3 {
		r := sqltest.Record(fmt.Sprintf("new-%d", i), key, `{"order_id":"n","total":2,"paid":true,"at":"2026-12-04T09:00:00Z"}`)
		r.CollectedAt = event.Time{Time: now.Add(-time.Hour)}
		recs = append(recs, r)
	}
	if err := s.Write(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if got := query(t, opts, "SELECT count(*) FROM com_acme_order_1"); got != "[[23]]" {
		t.Fatalf("typed rows before retention: %s, want 23 (20 good old, 3 new)", got)
	}
	var batches []int64
	for {
		n, err := s.DeleteBefore(ctx, now.Add(-24*time.Hour), 10)
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, n)
		if n < 10 {
			break
		}
	}
	if fmt.Sprint(batches) != "[10 10 5]" {
		t.Errorf("batches removed %v, want [10 10 5]", batches)
	}
	if got := query(t, opts, "SELECT event_id FROM accord_events ORDER BY event_id"); got != "[[new-0] [new-1] [new-2]]" {
		t.Errorf("raw rows left: %s", got)
	}
	if got := query(t, opts, "SELECT event_id FROM com_acme_order_1 ORDER BY event_id"); got != "[[new-0] [new-1] [new-2]]" {
		t.Errorf("typed rows left: %s", got)
	}
}

// retention_by_contract: the longest prefix wins, 0 keeps for ever, and
// the rest follow retention.
func TestRetentionByContract(t *testing.T) {
	opts := testDatabase(t)
	s := openSink(t, opts, nil)
	ctx := context.Background()
	old := time.Now().Add(-3 * time.Hour)
	var recs []*event.Envelope
	for _, k := range []string{"iglu:com.acme/order/jsonschema/1-0-0", "iglu:com.acme/audit/jsonschema/1-0-0", "iglu:com.other/x/jsonschema/1-0-0"} {
		r := sqltest.Record("old-"+k[5:13]+k[14:19], k, `{}`)
		r.CollectedAt = event.Time{Time: old}
		recs = append(recs, r)
	}
	if err := s.Write(ctx, recs); err != nil {
		t.Fatal(err)
	}
	loop, err := retention.New(retention.Config{Period: time.Hour, ByContract: map[string]time.Duration{
		"iglu:com.acme/":       2 * time.Hour,
		"iglu:com.acme/audit/": 0,
	}, Unit: "rows"}, s)
	if err != nil {
		t.Fatal(err)
	}
	n, err := loop.Run(ctx)
	if err != nil || n != 2 {
		t.Fatalf("run removed %d, %v; want 2 (order past 2h, other past 1h)", n, err)
	}
	if got := query(t, opts, "SELECT `schema` FROM accord_events"); got != "[[iglu:com.acme/audit/jsonschema/1-0-0]]" {
		t.Errorf("rows left: %s; want only the audit record, kept for ever", got)
	}
}

// With the option set, the sink runs retention itself from Connect and
// reports it for /stats.
func TestRetentionRunsFromConnect(t *testing.T) {
	opts := testDatabase(t)
	s := openSink(t, opts, nil)
	old := sqltest.Record("old", "iglu:com.acme/order/jsonschema/1-0-0", `{}`)
	old.CollectedAt = event.Time{Time: time.Now().Add(-3 * time.Hour)}
	if err := s.Write(context.Background(), []*event.Envelope{old}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	opts.Retention = time.Hour
	s2, err := New(*opts, sink.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s2.Close(context.Background()) })
	check.Eventually(t, 10*time.Second, "the old row removed", func() bool { return s2.RetentionStats().Removed == 1 })
	if st := s2.RetentionStats(); st.Unit != "rows" || st.Period != "1h0m0s" {
		t.Errorf("retention stats %+v; want rows over 1h0m0s", st)
	}
	if got := query(t, opts, "SELECT count(*) FROM accord_events"); got != "[[0]]" {
		t.Errorf("rows left: %s", got)
	}
}

// A contract key prefix matches byte for byte, as in the postgres and
// sqlite sinks: the raw table's default collation is case-insensitive, and
// a short period for iglu:com.acme/ must not remove iglu:com.Acme/'s
// records.
func TestRetentionByContractIsCaseSensitive(t *testing.T) {
	opts := testDatabase(t)
	s := openSink(t, opts, nil)
	ctx := context.Background()
	old := time.Now().Add(-3 * time.Hour)
	var recs []*event.Envelope
	for i, k := range []string{"iglu:com.acme/order/jsonschema/1-0-0", "iglu:com.Acme/order/jsonschema/1-0-0"} {
		r := sqltest.Record(fmt.Sprintf("old-%d", i), k, `{}`)
		r.CollectedAt = event.Time{Time: old}
		recs = append(recs, r)
	}
	if err := s.Write(ctx, recs); err != nil {
		t.Fatal(err)
	}
	loop, err := retention.New(retention.Config{ByContract: map[string]time.Duration{"iglu:com.acme/": time.Hour}, Unit: "rows"}, s)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := loop.Run(ctx); err != nil || n != 1 {
		t.Fatalf("run removed %d, %v; want 1 (only iglu:com.acme/)", n, err)
	}
	if got := query(t, opts, "SELECT `schema` FROM accord_events"); got != "[[iglu:com.Acme/order/jsonschema/1-0-0]]" {
		t.Errorf("rows left: %s; want only iglu:com.Acme/'s record", got)
	}
}
