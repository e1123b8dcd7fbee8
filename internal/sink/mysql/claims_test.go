package mysql

import (
	"context"
	"fmt"
	"testing"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink/sinktest"
	"github.com/accord-events/accord/internal/sink/sqltest"
)

// sent is a record of com.acme/order 1-0-0 as a test sends it: its id,
// fingerprint, request id (also its order_id, o-<req>), protocol
// (selfdesc when empty), and whether it failed.
type sent struct {
	id, fp, req, protocol string
	failed                bool
}

func (c sent) record() *event.Envelope {
	r := sqltest.Record(c.id, "iglu:com.acme/order/jsonschema/1-0-0", fmt.Sprintf(`{"order_id":"o-%s","total":1}`, c.req))
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

// TestSameEventIDInOneBatch holds what the sink stores of records sharing
// an event_id, in one batch and across two: the first record with an id
// is stored, in the raw table and (good) its typed table, and every later
// record with that id is skipped, the same event again (a resend) or a
// different one (another fingerprint or protocol), whether the id was
// held before or not, and whatever other id of the batch was. Sending the
// batch again stores nothing new. This sink is first come, first served
// on event_id (docs/sinks/mysql.md): unlike the SQLite sink
// (docs/security.md, "Event ids nobody can steal"), it does not store
// another event naming a held id under a new id with original_event_id.
// It skips it the same way whether the holder came in the same batch or
// an earlier one, so it has not the SQLite sink's flaw fixed in 5b3250a
// (only a claim met within one batch was dropped there), but it drops
// every claim: should claims reach this sink, these cases say what
// changes. The batch is staged maxRowsPerInsert rows an INSERT: with pad
// records before it, a is the last row of the first INSERT and the other
// record with its id the first of the second.
func TestSameEventIDInOneBatch(t *testing.T) {
	for _, failed := range []bool{false, true} {
		for _, tc := range []struct {
			name   string
			before []sent // stored by an earlier batch
			last   sent   // the batch is pad records, a, last, b
			pad    int
		}{
			{"another fingerprint, no id held", nil, sent{id: "a", fp: "other", req: "3"}, 0},
			{"another protocol, no id held", nil, sent{id: "a", fp: "fa", req: "3", protocol: "webhook"}, 0},
			{"another fingerprint, b held", []sent{{id: "b", fp: "fb", req: "2"}}, sent{id: "a", fp: "other", req: "3"}, 0},
			{"another fingerprint, a held", []sent{{id: "a", fp: "fa", req: "1"}}, sent{id: "a", fp: "other", req: "3"}, 0},
			{"a resend, no id held", nil, sent{id: "a", fp: "fa", req: "3"}, 0},
			{"a resend, b held", []sent{{id: "b", fp: "fb", req: "2"}}, sent{id: "a", fp: "fa", req: "3"}, 0},
			{"another fingerprint across two inserts", nil, sent{id: "a", fp: "other", req: "3"}, maxRowsPerInsert - 1},
			{"a resend across two inserts", nil, sent{id: "a", fp: "fa", req: "3"}, maxRowsPerInsert - 1},
		} {
			t.Run(fmt.Sprintf("%s/failed %v", tc.name, failed), func(t *testing.T) {
				opts := testDatabase(t)
				v1 := sinktest.CompileContract(t, "iglu:com.acme/order/jsonschema/1-0-0", orderV1)
				s := openSink(t, opts, contract.NewSet([]*contract.Contract{v1}))
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
				valid := map[bool]int{false: 1, true: 0}[failed]
				wantRaw := fmt.Sprintf("[[a - 1 fa selfdesc %d] [b - 2 fb selfdesc %d]]", valid, valid)
				wantTyped := "[[a 1 o-1] [b 2 o-2]]"
				if failed {
					wantTyped = "[]"
				}
				for range 2 { // the batch, then the batch again
					if err := s.Write(ctx, records(batch)); err != nil {
						t.Fatal(err)
					}
					if got := (query(t, opts, "SELECT event_id, coalesce(original_event_id, '-'), request_id, fingerprint, protocol, valid FROM accord_events WHERE request_id NOT LIKE 'p%' ORDER BY request_id")); got != wantRaw {
						t.Fatalf("raw table (event_id, original_event_id, request_id, fingerprint, protocol, valid):\n got %s\nwant %s", got, wantRaw)
					}
					if got := (query(t, opts, "SELECT event_id, request_id, order_id FROM com_acme_order_1 WHERE request_id NOT LIKE 'p%' ORDER BY request_id")); got != wantTyped {
						t.Fatalf("typed table (event_id, request_id, order_id):\n got %s\nwant %s", got, wantTyped)
					}
					if got, want := query(t, opts, "SELECT count(*) FROM accord_events"), fmt.Sprintf("[[%d]]", tc.pad+2); got != want {
						t.Fatalf("raw table: %s rows, want %s", got, want)
					}
				}
			})
		}
	}
}

// TestTypedRowIsTheRawRows: a good record gets a typed row only when the
// raw table holds it, not when the raw table holds another record under
// its id (a failed one, another event, the same event failed before its
// contract changed), from the same batch or an earlier one. The typed
// insert skipped only ids the typed table held, so a good record the raw
// insert skipped still got a typed row under the raw row's id: the two
// tables disagreed on what event_id a is.
func TestTypedRowIsTheRawRows(t *testing.T) {
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
				opts := testDatabase(t)
				v1 := sinktest.CompileContract(t, "iglu:com.acme/order/jsonschema/1-0-0", orderV1)
				s := openSink(t, opts, contract.NewSet([]*contract.Contract{v1}))
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
				wantRaw := fmt.Sprintf("[[a 1 %s %s %d] [b 2 fb selfdesc 1]]", tc.first.fp, protocol, map[bool]int{false: 1, true: 0}[tc.first.failed])
				if got := (query(t, opts, "SELECT event_id, request_id, fingerprint, protocol, valid FROM accord_events ORDER BY request_id")); got != wantRaw {
					t.Fatalf("raw table (event_id, request_id, fingerprint, protocol, valid):\n got %s\nwant %s", got, wantRaw)
				}
				wantTyped := "[[a 1] [b 2]]"
				if tc.first.failed {
					wantTyped = "[[b 2]]"
				}
				if got := (query(t, opts, "SELECT event_id, request_id FROM com_acme_order_1 ORDER BY request_id")); got != wantTyped {
					t.Fatalf("typed table (event_id, request_id):\n got %s\nwant %s", got, wantTyped)
				}
			})
		}
	}
}
