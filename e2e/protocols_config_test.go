package e2e

import (
	"net/http"
	"testing"
)

// Each protocol is configured under protocols.<name>; one turned off serves
// no route (docs/api.md), while the others keep theirs.
func TestProtocolTurnedOff(t *testing.T) {
	dir := newProject(t)
	c := startCollector(t, dir, "ACCORD_PROTOCOLS_CLOUDEVENTS_ENABLED=false", "ACCORD_PROTOCOLS_SNOWPLOW_ENABLED=false")

	ce := `{"specversion":"1.0","id":"off-1","source":"/t","type":"com.example.page","dataschema":"` + pageViewKey + `","data":{"url":"https://shop.example/1"}}`
	status, _, body := c.post("/cloudevents", "application/cloudevents+json", []byte(ce))
	if status != http.StatusNotFound || contains(string(body), "POST /cloudevents") || !contains(string(body), "POST /events") {
		t.Errorf("POST /cloudevents with cloudevents off: %d %s; want 404 listing the routes served, /events and not /cloudevents", status, body)
	}
	status, _, body = c.post("/com.snowplowanalytics.snowplow/tp2", "application/json", []byte(`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[]}`))
	if status != http.StatusNotFound {
		t.Errorf("POST tp2 with snowplow off: %d %s; want 404", status, body)
	}
	status, _, body = c.post("/events", "application/json", []byte(`{"schema":"`+pageViewKey+`","data":{"url":"https://a.example/"}}`))
	if status != http.StatusOK {
		t.Errorf("POST /events: %d %s; want 200", status, body)
	}
	c.stop()
}
