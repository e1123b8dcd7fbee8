// Package sqltest holds what the tests of the SQL sinks (postgres, mysql)
// share: records to write, and the checks of what those
// sinks do alike beyond the conformance suite (internal/sink/sinktest),
// so that a fix to such a test lands once for both.
package sqltest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/sinktest"
)

// Record returns a good selfdesc record of contract key with payload and
// contexts, collected at 2026-12-04 10:00 UTC.
func Record(id, key, payload string, contexts ...event.Context) *event.Envelope {
	k, _ := contract.ParseKey(key)
	at := event.Time{Time: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)}
	return &event.Envelope{EventID: id, CollectedAt: at, Protocol: "selfdesc", Schema: key,
		Vendor: k.Vendor, Name: k.Name, Version: k.Version.String(), Valid: true, Payload: json.RawMessage(payload), Contexts: contexts}
}

// LowerCaseTimeRecords returns records l1, l2 and l3 of contract c
// (OrderKey), each an order whose property at holds 2026-12-04T10:11:12.5Z
// written as RFC 3339 also allows, with a lower-case t or z; it fails t if
// c refuses one, since a sink must store what the contract accepts.
func LowerCaseTimeRecords(t testing.TB, c *contract.Contract) []*event.Envelope {
	t.Helper()
	var records []*event.Envelope
	for i, at := range []string{"2026-12-04t10:11:12.5z", "2026-12-04t12:11:12.5+02:00", "2026-12-04T10:11:12.5z"} {
		data := `{"order_id":"o","total":1,"at":"` + at + `"}`
		if ok, err := c.Valid([]byte(data)); !ok || err != nil {
			t.Fatalf("the contract refuses %s: %v", data, err)
		}
		records = append(records, Record(fmt.Sprintf("l%d", i+1), OrderKey, data))
	}
	return records
}

// OrderKey is the contract key of the subject test's records; the sink
// stores them in the typed table com_acme_order_1 beside accord_events.
const OrderKey = "iglu:com.acme/order/jsonschema/1-0-0"

// orderBody is the schema of OrderKey in the subject test.
const orderBody = `"description": "An order was placed.", "x-accord": {"owner": "shop@example.com"},
	"type": "object", "required": ["order_id", "total"], "properties": {
	"order_id": {"type": "string", "description": "The order's id."},
	"total": {"type": "number"}}`

// SubjectHarness is what Subjects needs of a SQL sink.
type SubjectHarness struct {
	// Type and Options give the subject store: Type.Subjects(Options).
	Type    sink.Type
	Options sink.Options
	// Open returns a connected sink of Options, on a database of the
	// test's own with raw table accord_events and typed tables on,
	// knowing contracts cs. The test closes the sink (t.Cleanup).
	Open func(t *testing.T, cs sink.Contracts) sink.Sink
	// Rows returns the rows of a query as text, as fmt.Sprint prints a
	// slice of rows: [[a b] [c d]].
	Rows func(t *testing.T, query string) string
}

// Subjects checks a SQL sink's subject store: a subject's records are
// found by identity and by a pseudonym in the data or contexts; delete
// removes them from the raw table and the typed tables, and counts them
// per table.
func Subjects(t *testing.T, h SubjectHarness) {
	t.Helper()
	s := h.Open(t, contract.NewSet([]*contract.Contract{sinktest.CompileContract(t, OrderKey, orderBody)}))
	store, err := h.Type.Subjects(h.Options)
	if err != nil {
		t.Fatal(err)
	}
	const pseudonym = "hmac-sha256:k1:5d41402abc4b2a76b9719d911017c592"
	order := func(id string) *event.Envelope {
		return Record(id, OrderKey, `{"order_id":"o","total":1}`)
	}
	byUser := order("by-user")
	byUser.Identity = event.Identity{UserID: "user-1"}
	byNUID := order("by-nuid")
	byNUID.Identity = event.Identity{NetworkUserID: "anon-1"}
	byPseudonym := order("by-pseudonym")
	byPseudonym.Contexts = []event.Context{{Schema: "iglu:com.acme/user/jsonschema/1-0-0", Data: json.RawMessage(`{"id":"` + pseudonym + `"}`)}}
	failedByUser := order("failed-by-user")
	failedByUser.Identity = event.Identity{UserID: "user-1"}
	failedByUser.Valid, failedByUser.Failure = false, event.NewFailure(event.SchemaViolation, "no")
	other := order("someone-else")
	other.Identity = event.Identity{UserID: "user-2"}
	if err := s.Write(context.Background(), []*event.Envelope{byUser, byNUID, byPseudonym, failedByUser, other}); err != nil {
		t.Fatal(err)
	}
	q := sink.SubjectQuery{UserIDs: []string{"user-1"}, AnonymousIDs: []string{"anon-1"}, Pseudonyms: []string{pseudonym}}
	var ids []string
	counts, err := store.ExportSubject(context.Background(), q, func(r *event.Envelope) error {
		ids = append(ids, r.EventID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	if want := []string{"by-nuid", "by-pseudonym", "by-user", "failed-by-user"}; !slices.Equal(ids, want) || fmt.Sprint(counts) != "[{accord_events 4}]" {
		t.Errorf("export: %v %v, want %v and 4 in accord_events", ids, counts, want)
	}
	counts, err = store.DeleteSubject(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(counts) != "[{accord_events 4} {com_acme_order_1 3}]" {
		t.Errorf("delete counts: %v", counts)
	}
	for _, table := range []string{"accord_events", "com_acme_order_1"} {
		if got := h.Rows(t, "SELECT event_id FROM "+table); got != "[[someone-else]]" {
			t.Errorf("left in %s after delete: %s, want [[someone-else]]", table, got)
		}
	}
}
