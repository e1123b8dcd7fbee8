package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// With server.cors_origins set to a list, a request whose Origin is not on
// it is refused with 403 and not stored, on every collection route, even a
// simple text/plain POST that no browser preflights; the refusals are
// counted in GET /stats and logged once, not once each. A listed origin is
// served and echoed with credentials; requests without an Origin (servers,
// curl) pass; preflight answers are as before.
func TestCORSAllowListRefusesOtherOrigins(t *testing.T) {
	dir := newProject(t)
	c := startCollector(t, dir, "ACCORD_SERVER_CORS_ORIGINS=https://shop.example")
	event := func(id string) []byte {
		return []byte(`{"schema":"iglu:com.example/page_view/jsonschema/1-0-0","data":{"url":"https://shop.example/` + id + `"},"event_id":"` + id + `"}`)
	}
	const refusals = 20
	for i := 0; i < refusals; i++ {
		status, h, body := c.post("/events", "text/plain", event(fmt.Sprintf("0190a000-0000-7000-8000-%012d", i)), "Origin", "https://evil.example")
		if status != http.StatusForbidden || h.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("simple POST from an origin not on the list: %d %q %s; want 403 without CORS headers", status, h.Get("Access-Control-Allow-Origin"), body)
		}
		if i == 0 && !strings.Contains(string(body), "server.cors_origins") {
			t.Errorf("the refusal does not say what to change: %s", body)
		}
	}
	// Snowplow's route is guarded the same way.
	tp2 := []byte(`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[{"e":"pv","p":"web","tv":"js-3","url":"https://shop.example/"}]}`)
	if status, _, body := c.post("/com.snowplowanalytics.snowplow/tp2", "text/plain;charset=UTF-8", tp2, "Origin", "null"); status != http.StatusForbidden {
		t.Errorf("Snowplow POST from a null origin: %d %s; want 403", status, body)
	}

	status, h, body := c.post("/events", "text/plain", event("0190a000-0000-7000-8000-100000000001"), "Origin", "https://shop.example")
	if status != http.StatusOK || h.Get("Access-Control-Allow-Origin") != "https://shop.example" || h.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("POST from the listed origin: %d %v %s", status, h, body)
	}
	if status, _, body := c.post("/events", "application/json", event("0190a000-0000-7000-8000-100000000002")); status != http.StatusOK {
		t.Errorf("POST without an Origin (a server, curl): %d %s", status, body)
	}
	for _, tc := range []struct {
		origin string
		want   int
	}{{"https://shop.example", http.StatusNoContent}, {"https://evil.example", http.StatusForbidden}} {
		status, h, _ := httpDo(t, http.MethodOptions, c.URL+"/events", nil, "Origin", tc.origin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type")
		if status != tc.want {
			t.Errorf("preflight from %s: %d; want %d", tc.origin, status, tc.want)
		}
		if tc.want == http.StatusNoContent && h.Get("Access-Control-Allow-Origin") != tc.origin {
			t.Errorf("preflight from %s: allow-origin %q", tc.origin, h.Get("Access-Control-Allow-Origin"))
		}
	}
	counts := c.protocolCounts()
	if got := counts["selfdesc.origin_not_allowed"]; got != refusals+1 {
		t.Errorf("GET /stats protocols selfdesc.origin_not_allowed = %d; want %d (the simple POSTs and the preflight): %v", got, refusals+1, counts)
	}
	if got := counts["snowplow.origin_not_allowed"]; got != 1 {
		t.Errorf("GET /stats protocols snowplow.origin_not_allowed = %d; want 1: %v", got, counts)
	}
	// /metrics counts the same refusals, by protocol and reason.
	f := scrape(t, c, "")
	if got, _ := metricValue(f, "accord_protocol_refused_total", map[string]string{"protocol": "selfdesc", "reason": "origin_not_allowed"}); got != float64(refusals+1) {
		t.Errorf("accord_protocol_refused_total{protocol=\"selfdesc\",reason=\"origin_not_allowed\"} = %v; want %d", got, refusals+1)
	}
	c.stop()
	var good, failed int
	if err := openStore(t, dir).QueryRow(`SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM failed_events)`).Scan(&good, &failed); err != nil {
		t.Fatal(err)
	}
	if good != 2 || failed != 0 {
		t.Errorf("stored %d good and %d failed records; want the 2 from the listed origin and without one", good, failed)
	}
	if n := strings.Count(c.logs.String(), "not in server.cors_origins"); n != 1 {
		t.Errorf("the refusals were logged %d times; want once (they are counted):\n%s", n, c.logs)
	}
}
