package sqlite

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
)

// A subject's records are found by identity (user id; anonymous or network
// user id) and by a pseudonym anywhere in the data or contexts, in both
// tables; delete removes exactly those and counts them per table.
func TestSubjectExportAndDelete(t *testing.T) {
	s, db, opts := openTest(t, nil)
	const pseudonym = "hmac-sha256:k1:5d41402abc4b2a76b9719d911017c592ae5d41402abc4b2a76b9719d911017c5"
	byUser := goodRecord("by-user")
	byUser.Identity = event.Identity{UserID: "user-1"}
	byNUID := goodRecord("by-nuid")
	byNUID.Identity = event.Identity{NetworkUserID: "anon-1"}
	byPseudonym := goodRecord("by-pseudonym")
	byPseudonym.Identity = event.Identity{}
	byPseudonym.Contexts = []event.Context{{Schema: "iglu:com.acme/user/jsonschema/1-0-0", Data: json.RawMessage(`{"id":"` + pseudonym + `"}`)}}
	failedByUser := failedRecord("failed-by-user")
	failedByUser.Identity = event.Identity{UserID: "user-1"}
	other := goodRecord("someone-else")
	otherFailed := failedRecord("someone-else-failed")
	if err := s.Write(context.Background(), []*event.Envelope{byUser, byNUID, byPseudonym, failedByUser, other, otherFailed}); err != nil {
		t.Fatal(err)
	}
	store, err := Type().Subjects(&opts)
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
	if want := []string{"by-nuid", "by-pseudonym", "by-user", "failed-by-user"}; !slices.Equal(ids, want) {
		t.Errorf("exported %v, want %v", ids, want)
	}
	wantCounts := []sink.StoreCount{{Store: "events", Count: 3}, {Store: "failed_events", Count: 1}}
	if !slices.Equal(counts, wantCounts) {
		t.Errorf("export counts %v, want %v", counts, wantCounts)
	}

	counts, err = store.DeleteSubject(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(counts, wantCounts) {
		t.Errorf("delete counts %v, want %v", counts, wantCounts)
	}
	if n, f := count(t, db, "events"), count(t, db, "failed_events"); n != 1 || f != 1 {
		t.Errorf("after delete: %d good and %d failed records, want someone else's 1 and 1", n, f)
	}
	// Deleting again finds nothing; a query naming nobody matches nothing.
	if counts, err = store.DeleteSubject(context.Background(), q); err != nil || counts[0].Count+counts[1].Count != 0 {
		t.Errorf("second delete: %v, %v", counts, err)
	}
	if counts, err = store.DeleteSubject(context.Background(), sink.SubjectQuery{}); err != nil || counts[0].Count+counts[1].Count != 0 {
		t.Errorf("empty query deleted %v, %v", counts, err)
	}
}

// An id holding SQL or LIKE syntax is a value, never part of the query.
func TestSubjectIDIsAValue(t *testing.T) {
	s, db, opts := openTest(t, nil)
	if err := s.Write(context.Background(), []*event.Envelope{goodRecord("a"), goodRecord("b")}); err != nil {
		t.Fatal(err)
	}
	store, _ := Type().Subjects(&opts)
	for _, id := range []string{"' OR 1=1 --", "%", "user-%"} {
		counts, err := store.DeleteSubject(context.Background(), sink.SubjectQuery{UserIDs: []string{id}, Pseudonyms: []string{id}})
		if err != nil || counts[0].Count != 0 {
			t.Errorf("id %q deleted %v (%v)", id, counts, err)
		}
	}
	if n := count(t, db, "events"); n != 2 {
		t.Errorf("%d records left, want 2", n)
	}
}

// The subject commands and replay's reader open the file the sink writes,
// whatever its path holds: a '#', '?' or '%' in a path is not URI syntax.
// Before, they read a path like "a#1/accord.db" as "a" (creating an empty
// database there) and reported the subject's records as none, deleted.
func TestSubjectAndReadFailedOpenPathsWithURISyntax(t *testing.T) {
	for _, dir := range []string{"a#1", "b?mode=memory", "c%41"} {
		t.Run(dir, func(t *testing.T) {
			s, db, opts := openTest(t, func(o *Options) { o.Path = filepath.Join(t.TempDir(), dir, "accord.db") })
			mine := goodRecord("mine")
			mine.Identity = event.Identity{UserID: "user-1"}
			failed := failedRecord("failed")
			if err := s.Write(context.Background(), []*event.Envelope{mine, failed}); err != nil {
				t.Fatal(err)
			}
			store, err := Type().Subjects(&opts)
			if err != nil {
				t.Fatal(err)
			}
			q := sink.SubjectQuery{UserIDs: []string{"user-1"}}
			var exported []string
			if _, err := store.ExportSubject(context.Background(), q, func(r *event.Envelope) error {
				exported = append(exported, r.EventID)
				return nil
			}); err != nil || !slices.Equal(exported, []string{"mine"}) {
				t.Errorf("export from %s: %v, %v; want [mine]", opts.Path, exported, err)
			}
			var read []string
			if err := ReadFailed(context.Background(), opts, sink.FailedQuery{}, func(r *event.Envelope) error {
				read = append(read, r.EventID)
				return nil
			}); err != nil || !slices.Equal(read, []string{"failed"}) {
				t.Errorf("read failed records from %s: %v, %v; want [failed]", opts.Path, read, err)
			}
			counts, err := store.DeleteSubject(context.Background(), q)
			if err != nil || counts[0].Count != 1 {
				t.Errorf("delete from %s: %v, %v; want 1 record removed", opts.Path, counts, err)
			}
			if n := count(t, db, "events"); n != 0 {
				t.Errorf("after delete the sink's file still holds %d good records", n)
			}
		})
	}
}
