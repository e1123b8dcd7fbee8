package sqlite

import (
	"context"
	"testing"

	"github.com/accord-events/accord/internal/event"
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
