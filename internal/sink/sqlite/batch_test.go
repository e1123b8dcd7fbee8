package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/columns"
	"github.com/accord-events/accord/internal/sink/sinktest"
	"github.com/accord-events/accord/internal/sink/tables"
)

// The tests here hold what a batch stores, whichever way Write takes to
// store it (inserting without looking its ids up first, or looking them
// up; envelope columns of a typed row read from the good row, or bound):
// what the sink stored before it took those shortcuts.

const orderKey = "iglu:com.acme/order/jsonschema/1-0-0"

// sent is one record of a test batch: an order event (typed), or a failed
// record when failed; id "" for none. Every envelope value says which
// record it came from (req), so a row holding another record's is seen.
type sent struct {
	id, fp, req string
	failed      bool
	protocol    string
}

func (x sent) record() *event.Envelope {
	var r *event.Envelope
	if x.failed {
		r = failedRecord(x.id)
	} else {
		r = typedRecord(x.id, orderKey, `{"order_id":"o-`+x.req+`","total":1}`)
		r.SentAt = event.Time{Time: r.CollectedAt.Add(-time.Second)}
		r.Attributes = json.RawMessage(`{"k":"` + x.req + `"}`)
		r.Source.IP, r.Identity.UserID, r.Collector.Host = "10.0.0.1", "u-"+x.req, "h-"+x.req
	}
	r.RequestID, r.Namespace, r.Fingerprint = x.req, "ns-"+x.req, x.fp
	if x.protocol != "" {
		r.Protocol = x.protocol
	}
	return r
}

func records(batch []sent) []*event.Envelope {
	out := make([]*event.Envelope, len(batch))
	for i, x := range batch {
		out[i] = x.record()
	}
	return out
}

// openOrders opens a sink with the order contract, its typed table
// com_acme_order_1, on path (a new file when "").
func openOrders(t *testing.T, path string) (*Sink, Options) {
	t.Helper()
	opts := NewOptions()
	opts.Path = path
	if path == "" {
		opts.Path = filepath.Join(t.TempDir(), "accord.db")
	}
	order := sinktest.CompileContract(t, orderKey, typedOrder)
	return openWith(t, opts, contract.NewSet([]*contract.Contract{order})), *opts
}

// sameEnvelope is an SQL condition: the typed row o holds, in every
// envelope column, what the good row e holds.
func sameEnvelope() string {
	var same []string
	for _, c := range tables.Envelope() {
		same = append(same, fmt.Sprintf("e.%s IS o.%s", c.Name, c.Name))
	}
	return strings.Join(same, " AND ")
}

// checkTypedRowsAreTheirGoodRows fails unless the typed table holds one row
// for each good row with an id, holding what that good row holds.
func checkTypedRowsAreTheirGoodRows(t *testing.T, opts Options) {
	t.Helper()
	q := `SELECT (SELECT count(*) FROM events WHERE event_id IS NOT NULL),
		(SELECT count(*) FROM com_acme_order_1 WHERE event_id IS NOT NULL),
		(SELECT count(*) FROM com_acme_order_1 o JOIN events e USING (event_id) WHERE ` + sameEnvelope() + `)`
	got := rowsOf(t, opts, q)
	var good, typed, same int
	if _, err := fmt.Sscanf(got, "[[%d %d %d]]", &good, &typed, &same); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	if good != typed || typed != same {
		t.Errorf("good rows with an id %d, typed rows with one %d, typed rows holding their good row's envelope %d", good, typed, same)
	}
}

// storedOnce is what the sink stores of batch, duplicates within it being
// the same event: each id once, as its first record in the batch has it,
// records without an id all, good and failed apart, in the batch's order.
func storedOnce(batch []sent, failed bool) string {
	var b strings.Builder
	seen := map[string]bool{}
	for _, x := range batch {
		if x.failed != failed || (x.id != "" && seen[x.id]) {
			continue
		}
		seen[x.id] = x.id != ""
		id := x.id
		if id == "" {
			id = "-"
		}
		fmt.Fprintf(&b, " [%s %s]", id, x.req)
	}
	return "[" + strings.TrimPrefix(b.String(), " ") + "]"
}

// TestBatchDuplicatesStoredOnce: a batch holding the same event twice
// stores it once, as its first record has it, whether the duplicate is the
// first or the last row of an insert, in the good or the failed table, with
// records without an id about, inserted without the lookup or with it; its
// typed row holds its good row's values; and the batch sent again (a
// resend after a crash) changes nothing.
func TestBatchDuplicatesStoredOnce(t *testing.T) {
	seq := func(prefix string, n int) []sent {
		var out []sent
		for i := range n {
			id := fmt.Sprintf("%s%d", prefix, i)
			out = append(out, sent{id: id, fp: "fp-" + id, req: "r-" + id})
		}
		return out
	}
	// at puts x before batch[i].
	at := func(batch []sent, i int, x sent) []sent {
		out := append(append([]sent(nil), batch[:i]...), x)
		return append(out, batch[i:]...)
	}
	dup := func(id, req string) sent { return sent{id: id, fp: "fp-" + id, req: req} }
	for _, tc := range []struct {
		name  string
		rows  int
		batch []sent
	}{
		{"duplicate last of an insert", 4, at(seq("a", 4), 3, dup("a0", "again"))},
		{"duplicate first of an insert", 4, at(seq("a", 6), 4, dup("a0", "again"))},
		{"duplicate of the row before", 4, at(seq("a", 6), 2, dup("a1", "again"))},
		{"33 records, duplicate 32nd", rowsPerInsert, at(seq("m", 32), 31, dup("m0", "again"))},
		{"33 records, duplicate 33rd", rowsPerInsert, at(seq("m", 32), 32, dup("m0", "again"))},
		{"66 records, duplicate first of the third insert", rowsPerInsert, at(seq("k", 65), 64, dup("k3", "again"))},
		{"duplicates in the failed table", 2, []sent{
			{id: "f1", fp: "x", req: "1", failed: true}, {id: "g1", fp: "x", req: "2"}, {id: "f1", fp: "x", req: "3", failed: true},
			{id: "f2", fp: "x", req: "4", failed: true}, {id: "f2", fp: "x", req: "5", failed: true}, {id: "g2", fp: "x", req: "6"},
		}},
		{"good and failed records sharing an id", 4, []sent{
			{id: "a", fp: "x", req: "1", failed: true}, {id: "a", fp: "x", req: "2"}, {id: "b", fp: "x", req: "3"}, {id: "a", fp: "x", req: "4"},
		}},
		{"records without an id among duplicates", 2, []sent{
			{fp: "x", req: "1"}, {id: "a", fp: "x", req: "2"}, {fp: "x", req: "3"}, {id: "a", fp: "x", req: "4"},
			{fp: "x", req: "5"}, {id: "b", fp: "x", req: "6"}, {fp: "x", req: "7", failed: true}, {fp: "x", req: "8", failed: true},
		}},
	} {
		for _, lookups := range []int{0, lookupsAfterHeld} {
			t.Run(fmt.Sprintf("%s/lookups %d", tc.name, lookups), func(t *testing.T) {
				s, opts := openOrders(t, "")
				s.rowsPerInsert, s.lookups = tc.rows, lookups
				if err := s.Write(context.Background(), records(tc.batch)); err != nil {
					t.Fatal(err)
				}
				good := rowsOf(t, opts, "SELECT coalesce(event_id, '-'), request_id FROM events ORDER BY rowid")
				if want := storedOnce(tc.batch, false); good != want {
					t.Errorf("events:\n got %s\nwant %s", good, want)
				}
				failed := rowsOf(t, opts, "SELECT coalesce(event_id, '-'), request_id FROM failed_events ORDER BY rowid")
				if want := storedOnce(tc.batch, true); failed != want {
					t.Errorf("failed_events:\n got %s\nwant %s", failed, want)
				}
				if typed := rowsOf(t, opts, "SELECT coalesce(event_id, '-'), request_id FROM com_acme_order_1 ORDER BY rowid"); typed != good {
					t.Errorf("typed rows %s, want one for each good row %s", typed, good)
				}
				checkTypedRowsAreTheirGoodRows(t, opts)
				all := "SELECT * FROM events ORDER BY rowid"
				before := rowsOf(t, opts, all) + rowsOf(t, opts, "SELECT * FROM failed_events ORDER BY rowid") + rowsOf(t, opts, "SELECT * FROM com_acme_order_1 ORDER BY rowid")
				// The same batch again, as delivery sends it after a
				// crash before its cursor moved: records without an id
				// are stored again (nothing tells them apart), nothing
				// else changes.
				s.lookups = lookups
				if err := s.Write(context.Background(), records(tc.batch)); err != nil {
					t.Fatal(err)
				}
				var withID []sent
				for _, x := range tc.batch {
					if x.id != "" {
						withID = append(withID, x)
					}
				}
				if len(withID) == len(tc.batch) {
					after := rowsOf(t, opts, all) + rowsOf(t, opts, "SELECT * FROM failed_events ORDER BY rowid") + rowsOf(t, opts, "SELECT * FROM com_acme_order_1 ORDER BY rowid")
					if after != before {
						t.Errorf("the batch sent again changed what is stored:\nbefore %s\n after %s", before, after)
					}
				}
				checkTypedRowsAreTheirGoodRows(t, opts)
			})
		}
	}
}

// TestClaimWithinOneBatch: another event naming an id an earlier record of
// the same batch has is another client's claim, as it is when the store
// held the id before: stored under a new id, original_event_id the one it
// was sent with, its typed row holding that row's envelope, and stored once
// however often the batch is sent. It was dropped when no id of the batch
// was held before (settleClaims returned early), so whichever event came
// first in a batch took the id from the other.
func TestClaimWithinOneBatch(t *testing.T) {
	for _, tc := range []struct {
		name   string
		claim  sent
		failed bool
	}{
		{"another fingerprint", sent{id: "a", fp: "other", req: "3"}, false},
		{"another protocol", sent{id: "a", fp: "fa", req: "3", protocol: "webhook"}, false},
		{"in the failed table", sent{id: "a", fp: "other", req: "3", failed: true}, true},
	} {
		for _, rows := range []int{1, rowsPerInsert} {
			for _, lookups := range []int{0, lookupsAfterHeld} {
				t.Run(fmt.Sprintf("%s/rows %d/lookups %d", tc.name, rows, lookups), func(t *testing.T) {
					s, opts := openOrders(t, "")
					s.rowsPerInsert = rows
					batch := []sent{{id: "a", fp: "fa", req: "1", failed: tc.failed}, {id: "b", fp: "fb", req: "2", failed: tc.failed}, tc.claim}
					table := "events"
					if tc.failed {
						table = "failed_events"
					}
					q := "SELECT event_id = 'a', coalesce(original_event_id, '-'), request_id, fingerprint, protocol FROM " + table + " ORDER BY rowid"
					want := fmt.Sprintf("[[1 - 1 fa selfdesc] [0 - 2 fb selfdesc] [0 a 3 %s %s]]", tc.claim.fp, tc.claim.record().Protocol)
					for range 2 { // the batch, then the batch again
						s.lookups = lookups
						if err := s.Write(context.Background(), records(batch)); err != nil {
							t.Fatal(err)
						}
						if got := rowsOf(t, opts, q); got != want {
							t.Fatalf("%s (id a?, original_event_id, request_id, fingerprint, protocol):\n got %s\nwant %s", table, got, want)
						}
					}
					if !tc.failed {
						checkTypedRowsAreTheirGoodRows(t, opts)
					}
				})
			}
		}
	}
}

// TestLookupsAfterASkippedRow: a batch whose insert skipped a row, because
// the store held its id or an earlier record of the batch had it, is
// written again looking its ids up, as are the next lookupsAfterHeld
// batches; then batches are inserted without the lookup again.
func TestLookupsAfterASkippedRow(t *testing.T) {
	for _, tc := range []struct {
		name  string
		batch []sent
	}{
		{"an id held before", []sent{{id: "held", fp: "x", req: "1"}, {id: "new", fp: "x", req: "2"}}},
		{"an id twice in the batch", []sent{{id: "new", fp: "x", req: "1"}, {id: "new", fp: "x", req: "2"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, opts := openOrders(t, "")
			write := func(batch ...sent) {
				t.Helper()
				if err := s.Write(context.Background(), records(batch)); err != nil {
					t.Fatal(err)
				}
			}
			write(sent{id: "held", fp: "x", req: "0"})
			if s.lookups != 0 {
				t.Fatalf("after a batch of new ids %d batches look theirs up, want 0", s.lookups)
			}
			write(tc.batch...)
			// The same count either way: the lookup of the batch written
			// again reports only the ids a table held.
			after := lookupsAfterHeld
			for i := range after + 1 {
				if want := after - i; s.lookups != want {
					t.Fatalf("%d batches after the one with a skipped row, %d batches look their ids up, want %d", i, s.lookups, want)
				}
				write(sent{id: fmt.Sprintf("n%d", i), fp: "x", req: "n"})
			}
			if got := rowsOf(t, opts, "SELECT count(*), count(DISTINCT event_id) FROM events"); got != fmt.Sprintf("[[%d %[1]d]]", 2+after+1) {
				t.Errorf("events, distinct ids: %s", got)
			}
			checkTypedRowsAreTheirGoodRows(t, opts)
		})
	}
}

// TestGoodTableDeclaredOtherwise: a good table made by hand or by an older
// Accord, whose envelope columns do not give back what they were given,
// has each typed row hold what its record holds all the same.
func TestGoodTableDeclaredOtherwise(t *testing.T) {
	decls := func(edit map[string]string) string {
		var cols []string
		for _, c := range columns.Good() {
			d, ok := edit[c.Name]
			if !ok {
				d = decl(c)
			}
			if d != "-" {
				cols = append(cols, c.Name+" "+d)
			}
		}
		return "CREATE TABLE events (" + strings.Join(cols, ", ") + ")"
	}
	for _, tc := range []struct {
		name    string
		ddl     string
		batches [][]sent
		// want is each typed row's event_id (NEW for one the sink made),
		// original_event_id, request_id, namespace and fingerprint, and
		// their storage classes.
		want string
	}{
		{
			// NUMERIC and INTEGER affinity turn '0012' into 12.
			name: "columns of other affinities",
			ddl:  decls(map[string]string{"namespace": "NUMERIC", "request_id": "INTEGER", "original_event_id": "INTEGER", "replayed_at": "BLOB"}),
			batches: [][]sent{
				{{id: "0042", fp: "x", req: "0012"}, {fp: "y", req: "7.50"}},
				{{id: "0042", fp: "other", req: "0013"}},
			},
			want: "[[0042 - 0012 ns-0012 x text null text text text] [- - 7.50 ns-7.50 y null null text text text] [NEW 0042 0013 ns-0013 other text text text text text]]",
		},
		{
			// Columns added later, by hand, as BLOB and INTEGER.
			name: "columns added as BLOB and INTEGER",
			ddl:  decls(map[string]string{"replayed_at": "-", "original_event_id": "-"}) + "; ALTER TABLE events ADD COLUMN replayed_at BLOB; ALTER TABLE events ADD COLUMN original_event_id INTEGER",
			batches: [][]sent{
				{{id: "0042", fp: "x", req: "1"}},
				{{id: "0042", fp: "other", req: "2"}},
			},
			want: "[[0042 - 1 ns-1 x text null text text text] [NEW 0042 2 ns-2 other text text text text text]]",
		},
		{
			// event_id compared without case: 'a' is a duplicate of 'A'
			// to the good table, a new id to the sink. The typed row
			// the sink writes for it must not hold A's values.
			name: "event_id without case",
			ddl:  decls(map[string]string{"event_id": "TEXT PRIMARY KEY COLLATE NOCASE"}),
			batches: [][]sent{
				{{id: "A", fp: "fa", req: "1"}, {id: "a", fp: "fz", req: "2"}, {id: "b", fp: "fb", req: "3"}},
				{{id: "B", fp: "fB", req: "4"}},
			},
			want: "[[A - 1 ns-1 fa text null text text text] [a - 2 ns-2 fz text null text text text] [b - 3 ns-3 fb text null text text text] [B - 4 ns-4 fB text null text text text]]",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "accord.db")
			if _, err := readDB(t, path).Exec(tc.ddl); err != nil {
				t.Fatal(err)
			}
			s, opts := openOrders(t, path)
			for _, b := range tc.batches {
				if err := s.Write(context.Background(), records(b)); err != nil {
					t.Fatal(err)
				}
			}
			got := rowsOf(t, opts, `SELECT CASE WHEN original_event_id IS NULL THEN coalesce(event_id, '-') ELSE 'NEW' END, coalesce(original_event_id, '-'),
				request_id, namespace, fingerprint, typeof(event_id), typeof(original_event_id), typeof(request_id), typeof(namespace), typeof(fingerprint)
				FROM com_acme_order_1 ORDER BY rowid`)
			if got != tc.want {
				t.Errorf("typed rows:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestTriggerComingAndGoing: a trigger that changes a good row once
// inserted has the typed rows written meanwhile hold the record's values;
// once dropped, typed rows hold their good row's again.
func TestTriggerComingAndGoing(t *testing.T) {
	s, opts := openOrders(t, "")
	db := readDB(t, opts.Path)
	write := func(batch ...sent) {
		t.Helper()
		if err := s.Write(context.Background(), records(batch)); err != nil {
			t.Fatal(err)
		}
	}
	write(sent{id: "a", fp: "x", req: "1"})
	if _, err := db.Exec(`CREATE TRIGGER later AFTER INSERT ON events BEGIN UPDATE events SET namespace = 'changed' WHERE rowid = NEW.rowid; END`); err != nil {
		t.Fatal(err)
	}
	write(sent{id: "b", fp: "x", req: "2"}, sent{fp: "x", req: "3"}, sent{id: "a", fp: "x", req: "4"})
	if _, err := db.Exec(`DROP TRIGGER later`); err != nil {
		t.Fatal(err)
	}
	write(sent{id: "c", fp: "x", req: "5"})
	const q = "SELECT coalesce(event_id, '-'), namespace FROM %s ORDER BY rowid"
	if got := rowsOf(t, opts, fmt.Sprintf(q, "events")); got != "[[a ns-1] [b changed] [- changed] [c ns-5]]" {
		t.Errorf("good rows: %s", got)
	}
	if got := rowsOf(t, opts, fmt.Sprintf(q, "com_acme_order_1")); got != "[[a ns-1] [b ns-2] [- ns-3] [c ns-5]]" {
		t.Errorf("typed rows: %s", got)
	}
}

// TestRefusedRowMidBatchStoresNothing: a row a constraint refuses in the
// middle of an insert (INSERT OR FAIL leaves the rows before it) has the
// whole batch rolled back, in either way of inserting, and the sink
// writes the batch once it can be stored.
func TestRefusedRowMidBatchStoresNothing(t *testing.T) {
	for _, lookups := range []int{0, 3} {
		t.Run(fmt.Sprintf("lookups %d", lookups), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "accord.db")
			var cols []string
			for _, c := range columns.Failed() {
				cols = append(cols, c.Name+" "+decl(c))
			}
			if _, err := readDB(t, path).Exec("CREATE TABLE failed_events (" + strings.Join(cols, ", ") + ", CHECK (request_id <> 'refused'))"); err != nil {
				t.Fatal(err)
			}
			s, db, _ := openTest(t, func(o *Options) { o.Path = path })
			s.rowsPerInsert = 2
			batch := []sent{{id: "g1", fp: "x", req: "1"}, {id: "g2", fp: "x", req: "2"}, {id: "g3", fp: "x", req: "3"}}
			for i := range 5 {
				batch = append(batch, sent{id: fmt.Sprintf("f%d", i), fp: "x", req: fmt.Sprint(i), failed: true})
			}
			batch[6].req = "refused" // the second row of the failed table's second insert
			s.lookups = lookups
			if err := s.Write(context.Background(), records(batch)); err == nil || !strings.Contains(err.Error(), "CHECK constraint failed") {
				t.Fatalf("Write = %v, want the CHECK constraint's error", err)
			}
			if g, f := count(t, db, "events"), count(t, db, "failed_events"); g != 0 || f != 0 {
				t.Fatalf("a refused batch left events=%d failed_events=%d", g, f)
			}
			batch[6].req = "accepted"
			if err := s.Write(context.Background(), records(batch)); err != nil {
				t.Fatal(err)
			}
			if g, f := count(t, db, "events"), count(t, db, "failed_events"); g != 3 || f != 5 {
				t.Errorf("the batch once accepted: events=%d failed_events=%d, want 3 and 5", g, f)
			}
		})
	}
}

// TestPoisonRowMidBatchStoresNothing: a typed row its table's check
// refuses, in a later insert of the batch, leaves nothing of the batch.
func TestPoisonRowMidBatchStoresNothing(t *testing.T) {
	for _, lookups := range []int{0, 3} {
		t.Run(fmt.Sprintf("lookups %d", lookups), func(t *testing.T) {
			s, opts := openOrders(t, "")
			s.rowsPerInsert, s.lookups = 2, lookups
			batch := records([]sent{{id: "a", fp: "x", req: "1"}, {id: "b", fp: "x", req: "2"}, {id: "c", fp: "x", req: "3"}, {id: "d", fp: "x", req: "4"}})
			batch[3].Payload = json.RawMessage(`{"order_id":"o-4","total":1,"placed_at":"yesterday"}`)
			err := s.Write(context.Background(), batch)
			var permanent *sink.PermanentError
			if !errors.As(err, &permanent) {
				t.Fatalf("Write = %v, want a permanent error", err)
			}
			if got := rowsOf(t, opts, "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM com_acme_order_1)"); got != "[[0 0]]" {
				t.Errorf("a refused batch stored %s", got)
			}
			if err := s.Write(context.Background(), batch[:3]); err != nil {
				t.Fatal(err)
			}
			checkTypedRowsAreTheirGoodRows(t, opts)
		})
	}
}

// cancelAfter is a context cancelled from the n-th time its Err is asked:
// Write asks it between inserts.
type cancelAfter struct {
	context.Context
	n atomic.Int32
}

func (c *cancelAfter) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

// TestCancelledMidBatchStoresAllOrNothing: a batch cancelled between two
// of its inserts, on the attempt without the lookup or on the one with it
// after a held id, stores nothing; or, finished, all of it, once.
func TestCancelledMidBatchStoresAllOrNothing(t *testing.T) {
	s, opts := openOrders(t, "")
	s.rowsPerInsert = 2
	if err := s.Write(context.Background(), records([]sent{{id: "held", fp: "x", req: "0"}})); err != nil {
		t.Fatal(err)
	}
	failures, stored := 0, 1
	for k := range 16 {
		batch := []sent{}
		for i := range 5 {
			batch = append(batch, sent{id: fmt.Sprintf("k%d-%d", k, i), fp: "x", req: "r"})
		}
		batch = append(batch, sent{id: "held", fp: "x", req: "0"}, sent{id: fmt.Sprintf("k%d-f", k), fp: "x", req: "r", failed: true})
		ctx := &cancelAfter{Context: context.Background()}
		ctx.n.Store(int32(k))
		s.lookups = 0
		err := s.Write(ctx, records(batch))
		switch {
		case err == nil:
			stored += 5
		case errors.Is(err, context.Canceled):
			failures++
		default:
			t.Fatalf("cancelled after %d: %v", k, err)
		}
		if got := rowsOf(t, opts, "SELECT count(*) FROM events"); got != fmt.Sprintf("[[%d]]", stored) {
			t.Fatalf("cancelled after %d (err %v): events %s, want %d", k, err, got, stored)
		}
	}
	if failures == 0 || stored == 1 {
		t.Fatalf("%d writes cancelled, %d events stored: the test cancelled none or all", failures, stored)
	}
	if err := s.Write(context.Background(), records([]sent{{id: "after", fp: "x", req: "a"}})); err != nil {
		t.Fatalf("write after cancelled ones: %v", err)
	}
	if got := rowsOf(t, opts, "SELECT count(*) - count(DISTINCT event_id) FROM events"); got != "[[0]]" {
		t.Errorf("duplicate event ids stored: %s", got)
	}
	checkTypedRowsAreTheirGoodRows(t, opts)
}

// TestTimesStoredAsTheLayout: a record's times are stored as
// time.Time.Format writes event.TimeLayout of them in UTC, at the edges of
// the encoding the sink writes them with (event.AppendLayout).
func TestTimesStoredAsTheLayout(t *testing.T) {
	s, _, opts := openTest(t, nil) // no typed table: its check refuses years outside 0-9999
	west := time.FixedZone("west", -(9*3600 + 30*60))
	times := []time.Time{
		time.Date(0, 2, 29, 12, 0, 0, 0, time.UTC),
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC), // one microsecond past the zero time, which is NULL
		time.Date(999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 12, 31, 20, 0, 0, 0, west),
		time.Date(2026, 12, 31, 20, 0, 0, 120000000, west),
	}
	var batch []*event.Envelope
	var want []string
	for i, at := range times {
		r := goodRecord(fmt.Sprint(i))
		r.EventTime, r.CreatedAt = event.Time{Time: at}, event.Time{Time: at}
		batch = append(batch, r)
		want = append(want, "["+at.UTC().Format(event.TimeLayout)+"]")
	}
	if err := s.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"SELECT event_time FROM events ORDER BY rowid", "SELECT created_at FROM events ORDER BY rowid"} {
		if got := rowsOf(t, opts, q); got != "["+strings.Join(want, " ")+"]" {
			t.Errorf("%s:\n got %s\nwant [%s]", q, got, strings.Join(want, " "))
		}
	}
}

// TestSinkJSONOfRandomBytesPassesItsCheck: the source, identity and
// collector JSON the typed insert vouches for without parsing it passes
// SQLite's check of a JSON column for strings of any bytes, not only the
// hostile ones TestSinkJSONPassesItsCheck names.
func TestSinkJSONOfRandomBytesPassesItsCheck(t *testing.T) {
	s := openChecks(t)
	rng := rand.New(rand.NewPCG(7, 11))
	// Bytes JSON and UTF-8 care about, and any byte at all.
	special := []byte{0, 1, 0x1f, '"', '\\', '/', 0x7f, 0x80, 0xbf, 0xc0, 0xc3, 0xe2, 0x80, 0xa8, 0xed, 0xa0, 0xf0, 0xf4, 0xf5, 0xff, 'u', 'n'}
	str := func() string {
		b := make([]byte, rng.IntN(12))
		for i := range b {
			if rng.IntN(2) == 0 {
				b[i] = special[rng.IntN(len(special))]
			} else {
				b[i] = byte(rng.IntN(256))
			}
		}
		return string(b)
	}
	for range 3000 {
		r := goodRecord("id")
		r.Source = event.Source{IP: str(), UserAgent: str(), Referer: str(), Origin: str(), Path: str()}
		r.Identity = event.Identity{UserID: str(), AnonymousID: str(), NetworkUserID: str()}
		r.Collector = event.Collector{Name: str(), Version: str(), Env: str(), Host: str()}
		args, _, _ := s.good.appendArgs(nil, nil, nil, r)
		for _, i := range sinkJSON {
			if err := checkInSQLite(s.conn, tables.JSON, args[i].Value); err != nil {
				t.Fatalf("%s %q: %v", columns.Good()[i].Name, args[i].Value, err)
			}
		}
	}
}
