package e2e

import (
	"encoding/base64"
	"net/http"
	"testing"
	"time"
)

// The browser tracker's default configuration attaches the web_page context
// to every event; with nothing but the quickstart's contracts, such events
// land good against the contract Accord ships, and a malformed one fails.
func TestSnowplowWebPageContextShipped(t *testing.T) {
	const webPage = "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0"
	dir := newProject(t)
	c := startCollector(t, dir)
	cx := func(id string) string {
		ctx := `{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0","data":[{"schema":"` + webPage + `","data":{"id":"` + id + `"}}]}`
		return base64.RawURLEncoding.EncodeToString([]byte(ctx))
	}
	pageView, ping, broken := spUUID(), spUUID(), spUUID()
	viewID := spUUID()
	body := `{"schema":"` + spPayloadDataKey + `","data":[` +
		`{"e":"pv","p":"web","tv":"js-4.10.1","eid":"` + pageView + `","url":"https://shop.example.com/","page":"Shop","cx":"` + cx(viewID) + `"},` +
		`{"e":"pp","p":"web","tv":"js-4.10.1","eid":"` + ping + `","url":"https://shop.example.com/","pp_mix":"0","pp_max":"0","pp_miy":"0","pp_may":"400","cx":"` + cx(viewID) + `"},` +
		`{"e":"pv","p":"web","tv":"js-4.10.1","eid":"` + broken + `","url":"https://shop.example.com/","cx":"` + cx("page-1") + `"}]}`
	status, _, respBody := c.post("/com.snowplowanalytics.snowplow/tp2", "application/json; charset=UTF-8", []byte(body), "Origin", "https://shop.example.com")
	if r := decodeInto[collectResponse](t, respBody); status != http.StatusOK || r.Good != 2 || r.Failed != 1 {
		t.Fatalf("tp2 batch: %d %s, want 2 good and 1 failed", status, respBody)
	}
	waitDelivered(t, c, 30*time.Second)
	db := openStore(t, dir)
	for _, id := range []string{pageView, ping} {
		r := spOne(t, db, "events", id)
		if !r.Valid || len(r.Contexts) != 1 || r.Contexts[0]["schema"] != webPage {
			t.Errorf("%s: valid %v contexts %v, want good with the web_page context", id, r.Valid, r.Contexts)
		}
	}
	if f := spOne(t, db, "failed_events", broken); f.FailureType != "schema_violation" || len(f.Failure.Messages) == 0 || f.Failure.Messages[0].InstancePath != "/contexts/0/data/id" {
		t.Errorf("web_page with a bad id: %q %+v, want schema_violation at /contexts/0/data/id", f.FailureType, f.Failure)
	}
	c.stop()
}
