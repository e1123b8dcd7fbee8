package postgres

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
// on event_id (docs/sinks/postgres.md): unlike the SQLite sink
// (docs/security.md, "Event ids nobody can steal"), it does not store
// another event naming a held id under a new id with original_event_id.
// It skips it the same way whether the holder came in the same batch or
// an earlier one, so it has not the SQLite sink's flaw fixed in 5b3250a
// (only a claim met within one batch was dropped there), but it drops
// every claim: should claims reach this sink, these cases say what
// changes. A batch is copied whole (COPY) and inserted by one statement a
// table: it has no insert boundary for a duplicate to straddle.
func TestSameEventIDInOneBatch(t *testing.T) {
	for _, failed := range []bool{false, true} {
		for _, tc := range []struct {
			name   string
			before []sent // stored by an earlier batch
			last   sent   // the batch is a, b, last
		}{
			{"another fingerprint, no id held", nil, sent{id: "a", fp: "other", req: "3"}},
			{"another protocol, no id held", nil, sent{id: "a", fp: "fa", req: "3", protocol: "webhook"}},
			{"another fingerprint, b held", []sent{{id: "b", fp: "fb", req: "2"}}, sent{id: "a", fp: "other", req: "3"}},
			{"another fingerprint, a held", []sent{{id: "a", fp: "fa", req: "1"}}, sent{id: "a", fp: "other", req: "3"}},
			{"a resend, no id held", nil, sent{id: "a", fp: "fa", req: "3"}},
			{"a resend, b held", []sent{{id: "b", fp: "fb", req: "2"}}, sent{id: "a", fp: "fa", req: "3"}},
		} {
			t.Run(fmt.Sprintf("%s/failed %v", tc.name, failed), func(t *testing.T) {
				opts := testSchema(t)
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
				batch := []sent{{id: "a", fp: "fa", req: "1", failed: failed}, {id: "b", fp: "fb", req: "2", failed: failed}, tc.last}
				wantRaw := fmt.Sprintf("[[a - 1 fa selfdesc %v] [b - 2 fb selfdesc %v]]", !failed, !failed)
				wantTyped := "[[a 1 o-1] [b 2 o-2]]"
				if failed {
					wantTyped = "[]"
				}
				for range 2 { // the batch, then the batch again
					if err := s.Write(ctx, records(batch)); err != nil {
						t.Fatal(err)
					}
					if got := show(query(t, opts, "SELECT event_id, coalesce(original_event_id, '-'), request_id, fingerprint, protocol, valid FROM accord_events ORDER BY request_id")); got != wantRaw {
						t.Fatalf("raw table (event_id, original_event_id, request_id, fingerprint, protocol, valid):\n got %s\nwant %s", got, wantRaw)
					}
					if got := show(query(t, opts, "SELECT event_id, request_id, order_id FROM com_acme_order_1 ORDER BY request_id")); got != wantTyped {
						t.Fatalf("typed table (event_id, request_id, order_id):\n got %s\nwant %s", got, wantTyped)
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
				opts := testSchema(t)
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
				wantRaw := fmt.Sprintf("[[a 1 %s %s %v] [b 2 fb selfdesc true]]", tc.first.fp, protocol, !tc.first.failed)
				if got := show(query(t, opts, "SELECT event_id, request_id, fingerprint, protocol, valid FROM accord_events ORDER BY request_id")); got != wantRaw {
					t.Fatalf("raw table (event_id, request_id, fingerprint, protocol, valid):\n got %s\nwant %s", got, wantRaw)
				}
				wantTyped := "[[a 1] [b 2]]"
				if tc.first.failed {
					wantTyped = "[[b 2]]"
				}
				if got := show(query(t, opts, "SELECT event_id, request_id FROM com_acme_order_1 ORDER BY request_id")); got != wantTyped {
					t.Fatalf("typed table (event_id, request_id):\n got %s\nwant %s", got, wantTyped)
				}
			})
		}
	}
}
