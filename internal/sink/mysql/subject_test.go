package mysql

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
)

// A subject's records (the postgres sink's test, against MySQL) are found by identity and by a pseudonym in the data
// or contexts; delete removes them from the raw table and the typed
// tables, and counts them per table.
func TestSubjectExportAndDelete(t *testing.T) {
	opts := testDatabase(t)
	s := openSink(t, opts, contract.NewSet([]*contract.Contract{compileContract(t, "iglu:com.acme/order/jsonschema/1-0-0", orderV1)}))
	const pseudonym = "hmac-sha256:k1:5d41402abc4b2a76b9719d911017c592"
	order := func(id string) *event.Envelope {
		return record(id, "iglu:com.acme/order/jsonschema/1-0-0", `{"order_id":"o","total":1}`)
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
	store, err := Type().Subjects(opts)
	if err != nil {
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
	if got := query(t, opts, "SELECT (SELECT GROUP_CONCAT(event_id) FROM accord_events), (SELECT GROUP_CONCAT(event_id) FROM com_acme_order_1)"); got != "[[someone-else someone-else]]" {
		t.Errorf("left after delete: %v", got)
	}
}
