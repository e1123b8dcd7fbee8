package e2e

import (
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strings"
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

// A mobile tracker's screen view with the entities the Android and iOS
// trackers 6 attach by default (platform, application, screen, session,
// lifecycle) lands good on the quickstart; and a user's own contract of a
// shipped key, in contracts.dir, takes the shipped one's place.
func TestSnowplowMobileDefaultsAndOverride(t *testing.T) {
	const (
		mobileApp = "iglu:com.snowplowanalytics.mobile/application/jsonschema/1-0-0"
		screen    = "iglu:com.snowplowanalytics.mobile/screen/jsonschema/1-0-0"
	)
	entities := func(app string) string {
		return `{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1","data":[` +
			`{"schema":"iglu:com.snowplowanalytics.snowplow/mobile_context/jsonschema/1-0-3","data":{"osType":"android","osVersion":"14","deviceManufacturer":"Google","deviceModel":"Pixel 8","carrier":"Vodafone","networkType":"wifi","networkTechnology":"LTE","batteryLevel":76,"batteryState":"charging","isPortrait":true,"resolution":"1080x2400","scale":2.625,"language":"en"}},` +
			`{"schema":"` + mobileApp + `","data":` + app + `},` +
			`{"schema":"` + screen + `","data":{"name":"Catalog","id":"1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e","activity":"CatalogActivity"}},` +
			`{"schema":"iglu:com.snowplowanalytics.mobile/application_lifecycle/jsonschema/1-0-0","data":{"isVisible":true,"index":1}},` +
			`{"schema":"iglu:com.snowplowanalytics.snowplow/client_session/jsonschema/1-0-2","data":{"userId":"6e1f9f7c-3d2a-4b5e-8f60-7a8b9c0d1e2f","sessionId":"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","eventIndex":4,"sessionIndex":2,"previousSessionId":null,"storageMechanism":"SQLITE","firstEventId":"1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e","firstEventTimestamp":"2026-12-04T09:15:02.187Z"}}]}`
	}
	screenView := `{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{"schema":"iglu:com.snowplowanalytics.mobile/screen_view/jsonschema/1-0-0",` +
		`"data":{"name":"ProductDetail","id":"8e3b1c52-5a7d-4c1e-9f0a-2b6d4e8c1a37","type":"detail","previousName":"Catalog","previousId":"1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e","transitionType":"push"}}}`
	b64 := base64.StdEncoding.EncodeToString
	// An event as the Android tracker posts it: ue_px and cx, base64 with
	// padding.
	event := func(eid, app string) string {
		return `{"e":"ue","p":"mob","tv":"andr-6.0.7","tna":"app","aid":"shop-android","eid":"` + eid + `","dtm":"1764838502187","stm":"1764838502300",` +
			`"ue_px":"` + b64([]byte(screenView)) + `","cx":"` + b64([]byte(entities(app))) + `"}`
	}
	send := func(c *collector, events ...string) collectResponse {
		t.Helper()
		body := `{"schema":"` + spPayloadDataKey + `","data":[` + strings.Join(events, ",") + `]}`
		status, _, respBody := c.post("/com.snowplowanalytics.snowplow/tp2", "application/json; charset=utf-8", []byte(body))
		if status != http.StatusOK {
			t.Fatalf("tp2: %d %s", status, respBody)
		}
		return decodeInto[collectResponse](t, respBody)
	}
	const withBuild, withoutBuild = `{"version":"5.2.0","build":"1042"}`, `{"version":"5.2.0"}`

	t.Run("shipped", func(t *testing.T) {
		dir := newProject(t)
		c := startCollector(t, dir)
		good, bad := spUUID(), spUUID()
		if r := send(c, event(good, withBuild), event(bad, withoutBuild)); r.Good != 1 || r.Failed != 1 {
			t.Fatalf("%+v, want the default entities good and the application without build failed", r)
		}
		waitDelivered(t, c, 30*time.Second)
		db := openStore(t, dir)
		if r := spOne(t, db, "events", good); !r.Valid || len(r.Contexts) != 5 || r.Schema != "iglu:com.snowplowanalytics.mobile/screen_view/jsonschema/1-0-0" {
			t.Errorf("screen view: valid %v schema %s contexts %d, want good with its 5 entities", r.Valid, r.Schema, len(r.Contexts))
		}
		if f := spOne(t, db, "failed_events", bad); f.FailureType != "schema_violation" || len(f.Failure.Messages) == 0 || !strings.Contains(f.Failure.Messages[0].Message, "build") {
			t.Errorf("application without build: %q %+v, want schema_violation naming build", f.FailureType, f.Failure)
		}
		c.stop()
	})

	t.Run("user's file of the same key wins", func(t *testing.T) {
		dir := newProject(t)
		// The team's own application entity: no build, a store instead.
		own := `{"$schema":"http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
"self":{"vendor":"com.snowplowanalytics.mobile","name":"application","format":"jsonschema","version":"1-0-0"},
"description":"Our app entity.","x-accord":{"owner":"mobile-team"},
"type":"object","properties":{"version":{"type":"string","description":"App version."}},"required":["version"],"additionalProperties":false}`
		p := filepath.Join(dir, "contracts", "com.snowplowanalytics.mobile", "application", "jsonschema")
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, "1-0-0"), []byte(own), 0o644); err != nil {
			t.Fatal(err)
		}
		c := startCollector(t, dir)
		good, bad := spUUID(), spUUID()
		if r := send(c, event(good, withoutBuild), event(bad, withBuild)); r.Good != 1 || r.Failed != 1 {
			t.Fatalf("%+v, want the user's contract applied: without build good, with build failed", r)
		}
		waitDelivered(t, c, 30*time.Second)
		db := openStore(t, dir)
		if r := spOne(t, db, "events", good); !r.Valid {
			t.Errorf("application without build is not good under the user's contract")
		}
		if f := spOne(t, db, "failed_events", bad); f.FailureType != "schema_violation" || len(f.Failure.Messages) == 0 || !strings.Contains(f.Failure.Messages[0].Message, "build") {
			t.Errorf("application with build: %q %+v, want schema_violation naming build", f.FailureType, f.Failure)
		}
		// The registry API serves the user's document under the key.
		status, _, got := httpDo(t, http.MethodGet, c.URL+"/api/schemas/com.snowplowanalytics.mobile/application/jsonschema/1-0-0", nil)
		if status != http.StatusOK || !strings.Contains(got, "Our app entity.") {
			t.Errorf("GET the key: %d %s, want the user's document", status, got)
		}
		c.stop()
	})
}

// docs/protocols/snowplow.md lists every schema Accord ships, by its full
// key or in the table's short form (sp/, mobile/, ecommerce/, media/ and the name
// and version).
func TestSnowplowShippedSchemasDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/protocols/snowplow.md")
	if err != nil {
		t.Fatal(err)
	}
	dir := newProject(t)
	c := startCollector(t, dir)
	status, _, body := httpDo(t, http.MethodGet, c.URL+"/api/schemas", nil)
	if status != http.StatusOK {
		t.Fatalf("GET /api/schemas: %d %s", status, body)
	}
	short := strings.NewReplacer("iglu:com.snowplowanalytics.snowplow.ecommerce/", "ecommerce/", "iglu:com.snowplowanalytics.snowplow/", "sp/",
		"iglu:com.snowplowanalytics.snowplow.media/", "media/", "iglu:com.snowplowanalytics.mobile/", "mobile/", "iglu:", "", "/jsonschema/", "/")
	shipped := 0
	for _, key := range decodeInto[[]string](t, []byte(body)) {
		if strings.HasPrefix(key, "iglu:com.example/") {
			continue // the quickstart's own
		}
		shipped++
		if strings.HasPrefix(key, "iglu:dev.accord/") {
			continue // the enrichments' contexts, listed in docs/enrichment.md (TestEnrichmentEndToEnd)
		}
		if !strings.Contains(string(doc), "`"+key+"`") && !strings.Contains(string(doc), "`"+short.Replace(key)+"`") {
			t.Errorf("%s (%s) is shipped but not listed in docs/protocols/snowplow.md", key, short.Replace(key))
		}
	}
	if shipped != 101 {
		t.Errorf("%d shipped schemas, docs/api.md says 101", shipped)
	}
	c.stop()
}
