package sqlite

import (
	"context"
	"fmt"
	"testing"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink/sinktest"
)

// An event id is not first come, first served: a different event naming an
// id the store holds is stored under a new id, with the id it was sent with
// kept; a resend of either event is still stored once.
func TestWriteSettlesClaimedEventIDs(t *testing.T) {
	s, db, _ := openTest(t, nil)
	ctx := context.Background()
	claim := goodRecord("claimed-1") // an unauthenticated client names the id first
	claim.Fingerprint = "aaaa"
	real := goodRecord("claimed-1") // then the signed source sends its event
	real.Protocol, real.Fingerprint = "webhook", "bbbb"
	realCopy := *real
	if err := s.Write(ctx, []*event.Envelope{claim}); err != nil {
		t.Fatal(err)
	}
	// The real event, in a batch with a resend of itself and of the claim.
	resendClaim := *claim
	if err := s.Write(ctx, []*event.Envelope{real, &realCopy, &resendClaim}); err != nil {
		t.Fatal(err)
	}
	if real.EventID != "claimed-1" || real.OriginalEventID != "" {
		t.Errorf("the caller's record was changed: %+v", real)
	}
	// And the real event's source retrying later.
	retry := *real
	if err := s.Write(ctx, []*event.Envelope{&retry}); err != nil {
		t.Fatal(err)
	}
	type stored struct{ id, original, protocol, fingerprint string }
	rows, err := db.Query("SELECT event_id, coalesce(original_event_id, ''), protocol, fingerprint FROM events ORDER BY protocol")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []stored
	for rows.Next() {
		var r stored
		if err := rows.Scan(&r.id, &r.original, &r.protocol, &r.fingerprint); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if len(got) != 2 {
		t.Fatalf("stored %+v, want the claim and the real event once each", got)
	}
	if got[0] != (stored{"claimed-1", "", "selfdesc", "aaaa"}) {
		t.Errorf("the claim: %+v", got[0])
	}
	if r := got[1]; r.id == "claimed-1" || r.id == "" || r.original != "claimed-1" || r.protocol != "webhook" || r.fingerprint != "bbbb" {
		t.Errorf("the real event: %+v, want a new id and original_event_id claimed-1", r)
	}
}

// TestHeldIDsFoundWithoutLookingUp: a batch is inserted without looking
// its ids up first; one whose insert then skips a row is rolled back and
// written again with the lookup, as are the next lookupsAfterHeld batches,
// and nothing of the attempt stays: a resend is stored once, a claim on a
// held id under a new id, each good row with its one typed row.
func TestHeldIDsFoundWithoutLookingUp(t *testing.T) {
	order := sinktest.CompileContract(t, "iglu:com.acme/order/jsonschema/1-0-0", typedOrder)
	s, opts := openTyped(t, contract.NewSet([]*contract.Contract{order}))
	ctx := context.Background()
	rec := func(id string) *event.Envelope {
		r := typedRecord(id, "iglu:com.acme/order/jsonschema/1-0-0", `{"order_id":"o-`+id+`","total":1}`)
		r.Fingerprint = "fp-" + id
		return r
	}
	write := func(records ...*event.Envelope) {
		t.Helper()
		if err := s.Write(ctx, records); err != nil {
			t.Fatal(err)
		}
	}
	write(rec("a"), rec("b"))
	if s.lookups != 0 {
		t.Fatalf("after a batch of new ids, %d batches look their ids up, want 0", s.lookups)
	}
	// A resend of a, with c: the insert skips a, so the batch is written
	// again, looking its ids up.
	write(rec("a"), rec("c"))
	if s.lookups != lookupsAfterHeld {
		t.Fatalf("after a batch with a held id, %d batches look their ids up, want %d", s.lookups, lookupsAfterHeld)
	}
	for i := range lookupsAfterHeld {
		write(rec(fmt.Sprintf("n%d", i)))
		if want := lookupsAfterHeld - 1 - i; s.lookups != want {
			t.Fatalf("after %d batches of new ids, %d batches look their ids up, want %d", i+1, s.lookups, want)
		}
	}
	// Inserting without the lookup again: another event claiming b's id
	// (its own fingerprint), in the last chunk, and a resend of c.
	claim := rec("b")
	claim.Fingerprint = "fp-other"
	s.rowsPerInsert = 1
	write(rec("d"), rec("c"), claim)
	if s.lookups != lookupsAfterHeld {
		t.Fatalf("after the claim, %d batches look their ids up, want %d", s.lookups, lookupsAfterHeld)
	}
	want := fmt.Sprintf("[[%d %d %d 1]]", 4+lookupsAfterHeld+1, 4+lookupsAfterHeld+1, 4+lookupsAfterHeld+1)
	if got := rowsOf(t, opts, `SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM com_acme_order_1),
		(SELECT count(*) FROM events e JOIN com_acme_order_1 o USING (event_id) WHERE o.fingerprint = e.fingerprint),
		(SELECT count(*) FROM events WHERE original_event_id = 'b' AND fingerprint = 'fp-other' AND event_id <> 'b')`); got != want {
		t.Errorf("events, typed rows, typed rows of an event, claims stored under a new id: %s, want %s", got, want)
	}
}
