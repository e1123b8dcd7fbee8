package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHostileSegmentIDsAreScopedBySource: a Segment message id one source
// (or whoever holds its write key) sent does not make another source's
// message with that id a duplicate; a true resend from the same source
// still is; and ids of 20 KB are deduplicated like short ones (they are
// remembered as digests: internal/protocol/segment's TestDedupMemoryPerID
// measures the bytes an id costs).
func TestHostileSegmentIDsAreScopedBySource(t *testing.T) {
	dir := newProject(t)
	env := append(segEnv(), "ACCORD_PROTOCOLS_SEGMENT_SOURCES_2_NAME=ios", "ACCORD_PROTOCOLS_SEGMENT_SOURCES_2_WRITE_KEY=ios-key")
	c := startCollector(t, dir, env...)
	track := func(key, id, event string) {
		t.Helper()
		body := `{"messageId":"` + id + `","userId":"user-1","event":"` + event + `","properties":{}}`
		if status, _, resp := c.post(segTrackPath, "application/json", []byte(body), "Authorization", segBasic(key)); status != http.StatusOK {
			t.Fatalf("track from %s: %d %.200s", key, status, resp)
		}
	}
	dups := func() uint64 { return c.protocolCounts()[segDuplicateKey] }

	track(segWebKey, "claimed-1", "Web Thing") // the web source's key claims the id first
	track("ios-key", "claimed-1", "App Opened")
	if n := dups(); n != 0 {
		t.Fatalf("a message of another source with a claimed id was dropped as a duplicate (%d)", n)
	}
	track("ios-key", "claimed-1", "App Opened") // the ios library retrying
	if n := dups(); n != 1 {
		t.Errorf("a resend from the same source: %d duplicates, want 1", n)
	}

	long := strings.Repeat("z", 20<<10)
	for _, id := range []string{"a" + long, "b" + long} {
		track("ios-key", id, "Long Id")
	}
	track("ios-key", "a"+long, "Long Id")
	if n := dups(); n != 2 {
		t.Errorf("a resend of a 20 KB id: %d duplicates in all, want 2", n)
	}
	c.stop()
}

// TestHostileEventIDClaims: an unauthenticated /events request names an
// event id first; a Segment message later sent with that id (by a source
// holding its write key) is stored all the same, under a new event_id
// with the id it was sent with as original_event_id; a true resend of it
// (after a restart, so Segment's own dedup has forgotten it) and of the
// claim are still stored once.
func TestHostileEventIDClaims(t *testing.T) {
	dir := newProject(t)
	const id = "7e0c6f1a-claimed"
	claim := []byte(`{"schema":"` + pageViewKey + `","data":{"url":"https://evil.example/"},"event_id":"` + id + `"}`)
	message := []byte(`{"messageId":"` + id + `","userId":"user-1","event":"Order Placed","properties":{"total":5}}`)
	send := func(c *collector) {
		t.Helper()
		if status, _, body := c.post("/events", "application/json", claim); status != http.StatusOK {
			t.Fatalf("claim: %d %s", status, body)
		}
		if status, _, body := c.post(segTrackPath, "application/json", message, "Authorization", segBasic(segWebKey)); status != http.StatusOK {
			t.Fatalf("segment: %d %s", status, body)
		}
		waitDelivered(t, c, 30*time.Second)
	}
	c := startCollector(t, dir, segEnv()...)
	send(c)
	c.stop()
	c = startCollector(t, dir, segEnv()...)
	send(c) // both resent: the claim by its client, the message by its library
	c.stop()

	db := openStore(t, dir)
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM events`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d events stored (%v), want the claim and the message once each", n, err)
	}
	var claimProto string
	if err := db.QueryRow(`SELECT protocol FROM events WHERE event_id = ? AND original_event_id IS NULL`, id).Scan(&claimProto); err != nil || claimProto != "selfdesc" {
		t.Errorf("the claim under its id: %q %v", claimProto, err)
	}
	var newID, proto, payload string
	if err := db.QueryRow(`SELECT event_id, protocol, payload FROM events WHERE original_event_id = ?`, id).Scan(&newID, &proto, &payload); err != nil {
		t.Fatalf("the Segment message was not stored under a new id: %v", err)
	}
	if newID == id || proto != "segment" || !strings.Contains(payload, `"total":5`) {
		t.Errorf("the Segment message: event_id %s, protocol %s, payload %s", newID, proto, payload)
	}
}

// TestHostileEventIDClaimsBeforeASignedWebhook: an unauthenticated /events
// request names the id of a Stripe event before Stripe delivers it; the
// signed delivery is stored under a new event_id with original_event_id,
// and Stripe's retry of it (signed again) is stored once.
func TestHostileEventIDClaimsBeforeASignedWebhook(t *testing.T) {
	dir := newProject(t)
	c := startCollector(t, dir,
		"ACCORD_PROTOCOLS_WEBHOOKS_0_NAME=stripe",
		"ACCORD_PROTOCOLS_WEBHOOKS_0_ARBITRARY=true",
		"ACCORD_PROTOCOLS_WEBHOOKS_0_SIGNATURE_KIND=stripe",
		"ACCORD_PROTOCOLS_WEBHOOKS_0_SIGNATURE_SECRET="+whStripeSecret)
	const id = "evt_claimed_1"
	claim := []byte(`{"schema":"` + pageViewKey + `","data":{"url":"https://evil.example/"},"event_id":"` + id + `"}`)
	if status, _, body := c.post("/events", "application/json", claim); status != http.StatusOK {
		t.Fatalf("claim: %d %s", status, body)
	}
	waitDelivered(t, c, 30*time.Second)
	delivery := []byte(`{"id":"` + id + `","object":"event","type":"charge.succeeded","data":{"amount":4200}}`)
	for range 2 { // the delivery and Stripe's retry
		status, _, body := c.post("/webhooks/stripe", "application/json", delivery, "Stripe-Signature", whStripeSignature(time.Now(), delivery))
		if status != http.StatusOK {
			t.Fatalf("signed delivery: %d %s", status, body)
		}
		waitDelivered(t, c, 30*time.Second)
	}
	c.stop()

	db := openStore(t, dir)
	if n := spCount(t, db, "events", "protocol = 'webhook'"); n != 1 {
		t.Fatalf("%d webhook events stored, want the delivery once", n)
	}
	var newID, original, payload string
	if err := db.QueryRow(`SELECT event_id, coalesce(original_event_id, ''), payload FROM events WHERE protocol = 'webhook'`).Scan(&newID, &original, &payload); err != nil {
		t.Fatal(err)
	}
	if newID == id || original != id || !strings.Contains(payload, `"amount":4200`) {
		t.Errorf("the signed delivery: event_id %s, original_event_id %q, payload %s", newID, original, payload)
	}
	if n := spCount(t, db, "events", "event_id = ? AND protocol = 'selfdesc'", id); n != 1 {
		t.Errorf("the claim: %d rows", n)
	}
}
