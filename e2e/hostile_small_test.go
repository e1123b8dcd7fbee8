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
