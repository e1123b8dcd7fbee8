package sqltest

import (
	"context"
	"fmt"
	"testing"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/sinktest"
)

// ClaimsHarness is what SameEventIDInOneBatch and TypedRowIsTheRawRows
// need of a SQL sink.
type ClaimsHarness struct {
	// Open returns a connected sink, on a database of the test's own with
	// raw table accord_events and typed tables on, knowing contracts cs,
	// and the rows of a query on that database as text ([[a b] [c d]]).
	// The test closes the sink (t.Cleanup).
	Open func(t *testing.T, cs sink.Contracts) (s sink.Sink, rows func(query string) string)
	// Bool is how the database prints a boolean column's value.
	Bool func(bool) string
	// RowsPerInsert, when not 0, is how many staged rows one INSERT takes:
	// SameEventIDInOneBatch then also puts a record and the other with its
	// id either side of an INSERT's end.
	RowsPerInsert int
}

// sent is a record of OrderKey as a claims test sends it: its id,
// fingerprint, request id (also its order_id, o-<req>), protocol
// (selfdesc when empty), and whether it failed.
type sent struct {
	id, fp, req, protocol string
	failed                bool
}

func (c sent) record() *event.Envelope {
	r := Record(c.id, OrderKey, fmt.Sprintf(`{"order_id":"o-%s","total":1}`, c.req))
	r.RequestID, r.Fingerprint = c.req, c.fp
	if c.protocol != "" {
		r.Protocol = c.protocol
	}
	if c.failed {
		r.Valid = false
		r.Failure = &event.Failure{Type: event.SchemaViolation, Messages: []event.Message{{Message: "total is not a number"}}}
	}
	return r
}

func records(batch []sent) []*event.Envelope {
	out := make([]*event.Envelope, len(batch))
	for i, c := range batch {
		out[i] = c.record()
	}
	return out
}

func (h ClaimsHarness) open(t *testing.T) (sink.Sink, func(string) string) {
	return h.Open(t, contract.NewSet([]*contract.Contract{sinktest.CompileContract(t, OrderKey, orderBody)}))
}

// SameEventIDInOneBatch holds what a SQL sink stores of records sharing
// an event_id, in one batch and across two: the first record with an id
// is stored, in the raw table and (good) its typed table, and every later
// record with that id is skipped, the same event again (a resend) or a
// different one (another fingerprint or protocol), whether the id was
// held before or not, and whatever other id of the batch was. Sending the
// batch again stores nothing new. These sinks are first come, first
// served on event_id (docs/sinks/postgres.md, docs/sinks/mysql.md):
// unlike the SQLite sink (docs/security.md, "Event ids nobody can
// steal"), they do not store another event naming a held id under a new
// id with original_event_id. They skip it the same way whether the holder
// came in the same batch or an earlier one, so they have not the SQLite
// sink's flaw fixed in 5b3250a (only a claim met within one batch was
// dropped there), but they drop every claim: should claims reach them,
// these cases say what changes.
func SameEventIDInOneBatch(t *testing.T, h ClaimsHarness) {
	type testCase struct {
		name   string
		before []sent // stored by an earlier batch
		last   sent   // the batch is pad records, a, last, b
		pad    int
	}
	cases := []testCase{
		{"another fingerprint, no id held", nil, sent{id: "a", fp: "other", req: "3"}, 0},
		{"another protocol, no id held", nil, sent{id: "a", fp: "fa", req: "3", protocol: "webhook"}, 0},
		{"another fingerprint, b held", []sent{{id: "b", fp: "fb", req: "2"}}, sent{id: "a", fp: "other", req: "3"}, 0},
		{"another fingerprint, a held", []sent{{id: "a", fp: "fa", req: "1"}}, sent{id: "a", fp: "other", req: "3"}, 0},
		{"a resend, no id held", nil, sent{id: "a", fp: "fa", req: "3"}, 0},
		{"a resend, b held", []sent{{id: "b", fp: "fb", req: "2"}}, sent{id: "a", fp: "fa", req: "3"}, 0},
	}
	if h.RowsPerInsert > 0 {
		// a is the last row of the first INSERT, the other record with
		// its id the first of the second.
		cases = append(cases,
			testCase{"another fingerprint across two inserts", nil, sent{id: "a", fp: "other", req: "3"}, h.RowsPerInsert - 1},
			testCase{"a resend across two inserts", nil, sent{id: "a", fp: "fa", req: "3"}, h.RowsPerInsert - 1})
	}
	for _, failed := range []bool{false, true} {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%s/failed %v", tc.name, failed), func(t *testing.T) {
				s, rows := h.open(t)
				ctx := context.Background()
				for i := range tc.before {
					tc.before[i].failed = failed
				}
				tc.last.failed = failed
				if err := s.Write(ctx, records(tc.before)); err != nil {
					t.Fatal(err)
				}
				var batch []sent
				for i := range tc.pad {
					batch = append(batch, sent{id: fmt.Sprintf("p%d", i), fp: "fp", req: fmt.Sprintf("p%d", i), failed: failed})
				}
				batch = append(batch, sent{id: "a", fp: "fa", req: "1", failed: failed}, tc.last, sent{id: "b", fp: "fb", req: "2", failed: failed})
				valid := h.Bool(!failed)
				wantRaw := fmt.Sprintf("[[a - 1 fa selfdesc %s] [b - 2 fb selfdesc %s]]", valid, valid)
				wantTyped := "[[a 1 o-1] [b 2 o-2]]"
				if failed {
					wantTyped = "[]"
				}
				for range 2 { // the batch, then the batch again
					if err := s.Write(ctx, records(batch)); err != nil {
						t.Fatal(err)
					}
					if got := rows("SELECT event_id, coalesce(original_event_id, '-'), request_id, fingerprint, protocol, valid FROM accord_events WHERE request_id NOT LIKE 'p%' ORDER BY request_id"); got != wantRaw {
						t.Fatalf("raw table (event_id, original_event_id, request_id, fingerprint, protocol, valid):\n got %s\nwant %s", got, wantRaw)
					}
					if got := rows("SELECT event_id, request_id, order_id FROM com_acme_order_1 WHERE request_id NOT LIKE 'p%' ORDER BY request_id"); got != wantTyped {
						t.Fatalf("typed table (event_id, request_id, order_id):\n got %s\nwant %s", got, wantTyped)
					}
					if got, want := rows("SELECT count(*) FROM accord_events"), fmt.Sprintf("[[%d]]", tc.pad+2); got != want {
						t.Fatalf("raw table: %s rows, want %s", got, want)
					}
				}
			})
		}
	}
}

// TypedRowIsTheRawRows: a good record gets a typed row only when the raw
// table holds it, not when the raw table holds another record under its
// id (a failed one, another event, the same event failed before its
// contract changed), from the same batch or an earlier one. The typed
// insert skipped only ids the typed table held, so a good record the raw
// insert skipped still got a typed row under the raw row's id: the two
// tables disagreed on what event_id a is.
func TypedRowIsTheRawRows(t *testing.T, h ClaimsHarness) {
	for _, tc := range []struct {
		name  string
		first sent
	}{
		{"a failed record", sent{id: "a", fp: "fa", req: "1", failed: true}},
		{"the same event failed", sent{id: "a", fp: "other", req: "1", failed: true}},
		{"another protocol", sent{id: "a", fp: "other", req: "1", protocol: "webhook"}},
	} {
		for _, apart := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/apart %v", tc.name, apart), func(t *testing.T) {
				s, rows := h.open(t)
				ctx := context.Background()
				batches := [][]sent{{tc.first, {id: "a", fp: "other", req: "3"}, {id: "b", fp: "fb", req: "2"}}}
				if apart {
					batches = [][]sent{batches[0][:1], batches[0][1:]}
				}
				for _, b := range batches {
					if err := s.Write(ctx, records(b)); err != nil {
						t.Fatal(err)
					}
				}
				protocol := tc.first.protocol
				if protocol == "" {
					protocol = "selfdesc"
				}
				wantRaw := fmt.Sprintf("[[a 1 %s %s %s] [b 2 fb selfdesc %s]]", tc.first.fp, protocol, h.Bool(!tc.first.failed), h.Bool(true))
				if got := rows("SELECT event_id, request_id, fingerprint, protocol, valid FROM accord_events ORDER BY request_id"); got != wantRaw {
					t.Fatalf("raw table (event_id, request_id, fingerprint, protocol, valid):\n got %s\nwant %s", got, wantRaw)
				}
				wantTyped := "[[a 1] [b 2]]"
				if tc.first.failed {
					wantTyped = "[[b 2]]"
				}
				if got := rows("SELECT event_id, request_id FROM com_acme_order_1 ORDER BY request_id"); got != wantTyped {
					t.Fatalf("typed table (event_id, request_id):\n got %s\nwant %s", got, wantTyped)
				}
			})
		}
	}
}
