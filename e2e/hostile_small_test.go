package e2e

import (
	"net/http"
	"testing"
)

// TestHostileTruncatedSegmentBodyKeepsNoWriteKey sends Segment bodies that
// authenticate with writeKey and cannot be read (cut short, or with data
// repeating a member name): the failed record stores the body without the
// key.
func TestHostileTruncatedSegmentBodyKeepsNoWriteKey(t *testing.T) {
	dir := newProject(t)
	c := startCollector(t, dir, segEnv()...)
	bodies := []string{
		`{"writeKey":"` + segWebKey + `","batch":[{"type":"track","event":"E","userId":"u1","properties":{"a":1`,
		`{"batch":[{"type":"track","event":"E","userId":"u1"}],"sentAt":"soon","writeKey":"` + segWebKey + `"`,
	}
	for _, body := range bodies {
		status, _, resp := c.post(segBatchPath, "text/plain", []byte(body))
		if status != http.StatusBadRequest {
			t.Fatalf("status %d, want 400: %s", status, resp)
		}
	}
	c.stop()
	db := openStore(t, dir)
	if n := spCount(t, db, "failed_events", "protocol = 'segment'"); n != len(bodies) {
		t.Fatalf("%d failed Segment records, want %d", n, len(bodies))
	}
	if n := spCount(t, db, "failed_events", "instr(raw, ?) > 0", segWebKey); n != 0 {
		t.Errorf("%d failed records keep the write key in raw", n)
	}
}

// TestHostileMalformedQueryRefused sends Snowplow GET hits whose query holds
// a malformed %-escape or ;-joined pairs: they are refused and stored with
// the query as sent (under privacy.failed_raw: keep; the default withholds
// raw input that is not JSON), not stored as valid hits without the
// unreadable pair.
func TestHostileMalformedQueryRefused(t *testing.T) {
	dir := newProject(t)
	c := startCollector(t, dir, "ACCORD_PRIVACY_FAILED_RAW=keep")
	queries := []string{"e=pv&p=web&tv=js-3.24.0&url=%zz", "e=pv;p=web;tv=js-3.24.0"}
	for _, q := range queries {
		resp, err := http.Get(c.URL + "/i?" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("/i?%s: status %d, want 400", q, resp.StatusCode)
		}
	}
	c.stop()
	db := openStore(t, dir)
	if n := spCount(t, db, "events", "1 = 1"); n != 0 {
		t.Errorf("%d hits stored as valid", n)
	}
	for _, q := range queries {
		if n := spCount(t, db, "failed_events", "failure_type = 'payload_format_violation' AND raw = ?", q); n != 1 {
			t.Errorf("%d failed records keep %q, want 1", n, q)
		}
	}
}

// TestHostileNumberBeyondFloat64 sends 1e999999, beyond any 64-bit float:
// one rule on every protocol, the event is refused with a message saying so.
func TestHostileNumberBeyondFloat64(t *testing.T) {
	dir := newProject(t)
	c := startCollector(t, dir)
	good := `{"schema":"` + checkoutKey + `","data":{"order_id":"o-1","total":5,"currency":"EUR","items":[{"sku":"s","quantity":1}]}}`
	huge := `{"schema":"` + checkoutKey + `","data":{"order_id":"o-2","total":1e999999,"currency":"EUR","items":[{"sku":"s","quantity":1}]}}`
	status, _, body := c.post("/events", "application/json", []byte("["+good+","+huge+"]"))
	resp := decodeInto[collectResponse](t, body)
	if status != http.StatusOK || resp.Good != 1 || resp.Failed != 1 || resp.Failures[0].Type != "payload_format_violation" ||
		!contains(resp.Failures[0].Messages[0].Message, "beyond the range of a 64-bit float") {
		t.Errorf("/events: status %d %+v, want the second event refused as beyond float64", status, resp)
	}
	ue := `{\"schema\":\"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0\",\"data\":{\"schema\":\"` + checkoutKey + `\",\"data\":{\"order_id\":\"o-3\",\"total\":1e999999,\"currency\":\"EUR\",\"items\":[{\"sku\":\"s\",\"quantity\":1}]}}}`
	sp := `{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[{"e":"ue","p":"web","tv":"js-3.24.0","ue_pr":"` + ue + `"}]}`
	status, _, body = c.post("/com.snowplowanalytics.snowplow/tp2", "application/json", []byte(sp))
	resp = decodeInto[collectResponse](t, body)
	if status != http.StatusOK || resp.Failed != 1 || resp.Failures[0].Type != "payload_format_violation" ||
		!contains(resp.Failures[0].Messages[0].Message, "beyond the range of a 64-bit float") {
		t.Errorf("Snowplow: status %d %+v, want the event refused as beyond float64", status, resp)
	}
	c.stop()
	if n := spCount(t, openStore(t, dir), "events", "json_extract(payload, '$.order_id') IN ('o-2', 'o-3')"); n != 0 {
		t.Errorf("%d events with 1e999999 stored as good", n)
	}
}
