package e2e

import (
	"encoding/base64"
	"net/http"
	"testing"
	"time"
)

// The browser tracker's default configuration attaches the web_page context
// to every event (and client_session when its session context is on); with
// nothing but the quickstart's contracts, such events land good against the
// contracts Accord ships, and a malformed one fails.
func TestSnowplowWebPageContextShipped(t *testing.T) {
	const webPage = "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0"
	dir := newProject(t)
	c := startCollector(t, dir)
	cx := func(id string) string {
		ctx := `{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0","data":[{"schema":"` + webPage + `","data":{"id":"` + id + `"}}]}`
		return base64.RawURLEncoding.EncodeToString([]byte(ctx))
	}
	// A page ping with the session context too, as the browser tracker
	// sends it when its session context is on.
	const session = "iglu:com.snowplowanalytics.snowplow/client_session/jsonschema/1-0-2"
	withSession := func(id string) string {
		ctx := `{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0","data":[{"schema":"` + webPage + `","data":{"id":"` + id + `"}},` +
			`{"schema":"` + session + `","data":{"userId":"6e1f9f7c-3d2a-4b5e-8f60-7a8b9c0d1e2f","sessionId":"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","eventIndex":2,"sessionIndex":1,` +
			`"previousSessionId":null,"storageMechanism":"COOKIE_1","firstEventId":"1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e","firstEventTimestamp":"2026-12-04T09:15:02.187Z"}}]}`
		return base64.RawURLEncoding.EncodeToString([]byte(ctx))
	}
	pageView, ping, broken := spUUID(), spUUID(), spUUID()
	viewID := spUUID()
	body := `{"schema":"` + spPayloadDataKey + `","data":[` +
		`{"e":"pv","p":"web","tv":"js-4.10.1","eid":"` + pageView + `","url":"https://shop.example.com/","page":"Shop","cx":"` + cx(viewID) + `"},` +
		`{"e":"pp","p":"web","tv":"js-4.10.1","eid":"` + ping + `","url":"https://shop.example.com/","pp_mix":"0","pp_max":"0","pp_miy":"0","pp_may":"400","cx":"` + withSession(viewID) + `"},` +
		`{"e":"pv","p":"web","tv":"js-4.10.1","eid":"` + broken + `","url":"https://shop.example.com/","cx":"` + cx("page-1") + `"}]}`
	status, _, respBody := c.post("/com.snowplowanalytics.snowplow/tp2", "application/json; charset=UTF-8", []byte(body), "Origin", "https://shop.example.com")
	if r := decodeInto[collectResponse](t, respBody); status != http.StatusOK || r.Good != 2 || r.Failed != 1 {
		t.Fatalf("tp2 batch: %d %s, want 2 good and 1 failed", status, respBody)
	}
	waitDelivered(t, c, 30*time.Second)
	db := openStore(t, dir)
	if r := spOne(t, db, "events", pageView); !r.Valid || len(r.Contexts) != 1 || r.Contexts[0]["schema"] != webPage {
		t.Errorf("page view: valid %v contexts %v, want good with the web_page context", r.Valid, r.Contexts)
	}
	if r := spOne(t, db, "events", ping); !r.Valid || len(r.Contexts) != 2 || r.Contexts[1]["schema"] != session {
		t.Errorf("page ping: valid %v contexts %v, want good with web_page and client_session", r.Valid, r.Contexts)
	}
	if f := spOne(t, db, "failed_events", broken); f.FailureType != "schema_violation" || len(f.Failure.Messages) == 0 || f.Failure.Messages[0].InstancePath != "/contexts/0/data/id" {
		t.Errorf("web_page with a bad id: %q %+v, want schema_violation at /contexts/0/data/id", f.FailureType, f.Failure)
	}
	c.stop()
}
