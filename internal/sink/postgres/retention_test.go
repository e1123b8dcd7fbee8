package postgres

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
	opts := testSchema(t)
	key := "iglu:com.acme/order/jsonschema/1-0-0"
	set := contract.NewSet([]*contract.Contract{sinktest.CompileContract(t, key, orderV1)})
	s := openSink(t, opts, set)
	ctx := context.Background()
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	var recs []*event.Envelope
	for i := range 25 {
		r := sqltest.Record(fmt.Sprintf("old-%d", i), key, fmt.Sprintf(`{"order_id":"o-%d","total":1}`, i))
		r.CollectedAt = event.Time{Time: now.Add(-48*time.Hour + time.Duration(i)*time.Second)}
		if i%5 == 0 { // failed: in the raw table only
			r.Valid, r.Failure = false, event.NewFailure(event.SchemaViolation, "total must be a number")
		}
		recs = append(recs, r)
	}
	for i := range 3 {
		r := sqltest.Record(fmt.Sprintf("new-%d", i), key, `{"order_id":"n","total":2}`)
		r.CollectedAt = event.Time{Time: now.Add(-time.Hour)}
		recs = append(recs, r)
	}
	if err := s.Write(ctx, recs); err != nil {
		t.Fatal(err)
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
	if got := show(query(t, opts, "SELECT event_id FROM accord_events ORDER BY event_id")); got != "[[new-0] [new-1] [new-2]]" {
		t.Errorf("raw rows left: %s", got)
	}
	if got := show(query(t, opts, "SELECT event_id FROM com_acme_order_1 ORDER BY event_id")); got != "[[new-0] [new-1] [new-2]]" {
		t.Errorf("typed rows left: %s", got)
	}
}

// With the option set, the sink runs retention itself from Connect and
// reports it.
func TestRetentionRunsFromConnect(t *testing.T) {
	opts := testSchema(t)
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
	defer s2.Close(context.Background())
	check.Eventually(t, 10*time.Second, "the old row removed", func() bool { return s2.RetentionStats().Removed == 1 })
	if st := s2.RetentionStats(); st.Unit != "rows" || st.Period != "1h0m0s" {
		t.Errorf("stats = %+v", st)
	}
	if got := show(query(t, opts, "SELECT count(*) FROM accord_events")); got != "[[0]]" {
		t.Errorf("raw rows = %s", got)
	}
}

// retention_by_contract: the longest prefix a schema starts with sets its
// records' period; 0 keeps them.
func TestRetentionByContract(t *testing.T) {
	opts := testSchema(t)
	s := openSink(t, opts, nil)
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	var recs []*event.Envelope
	for i, key := range []string{"iglu:com.acme/order/jsonschema/1-0-0", "iglu:com.acme/audit/jsonschema/1-0-0", "iglu:com_acme/order/jsonschema/1-0-0"} {
		r := sqltest.Record(fmt.Sprintf("r%d", i), key, `{}`)
		r.CollectedAt = event.Time{Time: now.Add(-3 * time.Hour)}
		recs = append(recs, r)
	}
	if err := s.Write(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	loop, err := retention.New(retention.Config{Period: 24 * time.Hour, Now: func() time.Time { return now },
		ByContract: map[string]time.Duration{"iglu:com.acme/": time.Hour, "iglu:com.acme/audit/": 0}}, s)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := loop.Run(context.Background()); err != nil || n != 1 {
		t.Errorf("Run = %d, %v; want 1", n, err)
	}
	if got := show(query(t, opts, "SELECT event_id FROM accord_events ORDER BY event_id")); got != "[[r1] [r2]]" {
		t.Errorf("raw rows left: %s", got)
	}
}
