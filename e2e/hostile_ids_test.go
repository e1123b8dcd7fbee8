package e2e

import (
	"net/http"
	"strings"
	"testing"
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
