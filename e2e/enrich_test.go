package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/enrich/enrichtest"
	analytics "github.com/segmentio/analytics-go/v3"
)

const (
	enrUserAgent = "iglu:dev.accord/ua_parser_context/jsonschema/1-0-0"
	enrGeo       = "iglu:dev.accord/geolocation/jsonschema/1-0-0"
	enrCampaign  = "iglu:dev.accord/campaign/jsonschema/1-0-0"
	enrReferer   = "iglu:dev.accord/referer/jsonschema/1-0-0"

	enrChrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.129 Safari/537.36"
	enrIPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)

// enrichEnv switches every enrichment on, with the geolocation database
// at mmdb and X-Forwarded-For trusted so the tests choose the client IP.
func enrichEnv(mmdb string) []string {
	return []string{
		"ACCORD_ENRICH_USER_AGENT_ENABLED=true",
		"ACCORD_ENRICH_USER_AGENT_CACHE_SIZE=100",
		"ACCORD_ENRICH_GEO_ENABLED=true",
		"ACCORD_ENRICH_GEO_DATABASE=" + mmdb,
		"ACCORD_ENRICH_CAMPAIGN_ENABLED=true",
		"ACCORD_ENRICH_REFERER_ENABLED=true",
		"ACCORD_ENRICH_REFERER_INTERNAL_DOMAINS=pay.example",
		"ACCORD_SERVER_TRUST_FORWARDED=true",
	}
}

// enrContexts returns a record's contexts by schema key.
func enrContexts(r spRecord) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, c := range r.Contexts {
		key, _ := c["schema"].(string)
		data, _ := c["data"].(map[string]any)
		out[key] = data
	}
	return out
}

// TestEnrichmentEndToEnd: with every enrichment on and a City database
// built by the test, Snowplow and Segment events carrying user agents,
// referrers and campaign parameters land good in SQLite with Accord's
// contexts, validated against the contracts the binary ships and the
// registry API serves.
func TestEnrichmentEndToEnd(t *testing.T) {
	dir := newProject(t)
	writeContract(t, dir, segOrderKey, segOrderContract)
	mmdb := enrichtest.WriteCityDB(t, enrichtest.Cities)
	c := startCollector(t, dir, append(enrichEnv(mmdb), segEnv()...)...)

	// Snowplow: a page view whose tracker reports the user agent, from
	// London by Google with a campaign; one from Berlin (IPv6) by an
	// internal page, its user agent only in the header.
	fromGoogle, internal := spUUID(), spUUID()
	body := `{"schema":"` + spPayloadDataKey + `","data":[` +
		`{"e":"pv","p":"web","tv":"js-4.10.1","eid":"` + fromGoogle + `","url":"https://shop.example.com/?utm_source=google&utm_medium=cpc&utm_campaign=spring&gclid=Cj0K","refr":"https://www.google.de/search?q=red+shoes","ua":"` + enrChrome + `"}]}`
	status, _, resp := c.post("/com.snowplowanalytics.snowplow/tp2", "application/json", []byte(body), "X-Forwarded-For", "81.2.69.160", "User-Agent", "curl/8.0")
	if status != http.StatusOK {
		t.Fatalf("tp2: %d %s", status, resp)
	}
	body = `{"schema":"` + spPayloadDataKey + `","data":[` +
		`{"e":"pv","p":"web","tv":"js-4.10.1","eid":"` + internal + `","url":"https://shop.example.com/basket","refr":"https://checkout.pay.example/done"}]}`
	status, _, resp = c.post("/com.snowplowanalytics.snowplow/tp2", "application/json", []byte(body), "X-Forwarded-For", "2001:db8::7", "User-Agent", enrIPhone)
	if status != http.StatusOK {
		t.Fatalf("tp2: %d %s", status, resp)
	}

	// Segment: the page and user agent in context, as analytics.js and
	// the server libraries send them.
	track := analytics.Track{
		MessageId: "enr-seg-track", UserId: "user-1", Event: segOrderEvent, Timestamp: time.Now(),
		Context: &analytics.Context{UserAgent: enrIPhone, Page: analytics.PageInfo{
			URL: "https://shop.example.com/checkout?utm_source=newsletter&utm_medium=email&fbclid=IwAR", Referrer: "https://l.facebook.com/l.php?u=x",
		}},
		Properties: analytics.NewProperties().Set("order_id", "ord-1").Set("total", 42.5).Set("currency", "EUR"),
	}
	if res := segSend(t, c, segWebKey, track); len(res.failed) > 0 {
		t.Fatalf("segment: %v", res.failed)
	}
	waitDelivered(t, c, 30*time.Second)
	db := openStore(t, dir)

	r := spOne(t, db, "events", fromGoogle)
	cx := enrContexts(r)
	if !r.Valid || len(r.Contexts) != 4 {
		t.Fatalf("snowplow from Google: valid %v, contexts %v; want good with four", r.Valid, r.Contexts)
	}
	if ua := cx[enrUserAgent]; ua["useragent_family"] != "Chrome" || ua["os_family"] != "Windows" {
		t.Errorf("user agent (the tracker's ua, not the header's curl): %v", ua)
	}
	if g := cx[enrGeo]; g["city"] != "London" || g["country_code"] != "GB" || g["looked_up"] != "stored" {
		t.Errorf("geolocation: %v", g)
	}
	if cp := cx[enrCampaign]; cp["source"] != "google" || cp["medium"] != "cpc" || cp["campaign"] != "spring" || cp["click_id"] != "Cj0K" || cp["network"] != "Google" {
		t.Errorf("campaign: %v", cp)
	}
	if rf := cx[enrReferer]; rf["medium"] != "search" || rf["source"] != "Google" || rf["term"] != "red shoes" || rf["host"] != "www.google.de" {
		t.Errorf("referer: %v", rf)
	}

	r = spOne(t, db, "events", internal)
	cx = enrContexts(r)
	if !r.Valid || cx[enrCampaign] != nil {
		t.Errorf("snowplow internal: valid %v contexts %v, want good without a campaign", r.Valid, r.Contexts)
	}
	if ua := cx[enrUserAgent]; ua["device_family"] != "iPhone" || ua["os_family"] != "iOS" {
		t.Errorf("user agent from the header: %v", ua)
	}
	if g := cx[enrGeo]; g["city"] != "Berlin" || g["network"] != "2001:db8::/32" {
		t.Errorf("geolocation of an IPv6 address: %v", g)
	}
	if rf := cx[enrReferer]; rf["medium"] != "internal" || rf["host"] != "checkout.pay.example" {
		t.Errorf("referer from enrich.referer.internal_domains: %v", rf)
	}

	r = spOne(t, db, "events", "enr-seg-track")
	cx = enrContexts(r)
	if !r.Valid || r.Protocol != "segment" {
		t.Fatalf("segment: valid %v protocol %s", r.Valid, r.Protocol)
	}
	if ua := cx[enrUserAgent]; ua["useragent_family"] != "Mobile Safari" {
		t.Errorf("segment user agent from context.userAgent: %v", ua)
	}
	if cp := cx[enrCampaign]; cp["source"] != "newsletter" || cp["medium"] != "email" || cp["click_id_param"] != "fbclid" {
		t.Errorf("segment campaign from context.page.url: %v", cp)
	}
	if rf := cx[enrReferer]; rf["medium"] != "social" || rf["source"] != "Facebook" {
		t.Errorf("segment referer from context.page.referrer: %v", rf)
	}
	if cx[enrGeo] != nil {
		t.Errorf("segment from 127.0.0.1 has a geolocation: %v", cx[enrGeo])
	}

	// The contracts of the contexts are the registry's like any other, and
	// docs/enrichment.md lists their keys.
	doc, err := os.ReadFile("../docs/enrichment.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{enrUserAgent, enrGeo, enrCampaign, enrReferer} {
		if !strings.Contains(string(doc), "`"+key+"`") {
			t.Errorf("docs/enrichment.md does not list %s", key)
		}
		path := "/api/schemas/" + strings.TrimPrefix(key, "iglu:")
		status, _, got := httpDo(t, http.MethodGet, c.URL+path, nil)
		var doc struct {
			Self struct{ Vendor, Name string } `json:"self"`
		}
		if status != http.StatusOK || json.Unmarshal([]byte(got), &doc) != nil || doc.Self.Vendor != "dev.accord" {
			t.Errorf("GET %s: %d %s", path, status, got)
		}
	}
	// Every context above validated against its contract as it was
	// attached: none was dropped (docs/enrichment.md).
	if got, ok := metricValue(scrape(t, c, ""), "accord_enrichment_invalid_contexts_total", nil); !ok || got != 0 {
		t.Errorf("accord_enrichment_invalid_contexts_total = %v (present %v); want 0", got, ok)
	}
	c.stop()
}

// TestEnrichmentGeoDatabaseRefused: a missing or corrupt database stops
// accord serve at start with an error naming the key, instead of running
// without the enrichment asked for.
func TestEnrichmentGeoDatabaseRefused(t *testing.T) {
	dir := newProject(t)
	corrupt := filepath.Join(dir, "corrupt.mmdb")
	if err := os.WriteFile(corrupt, []byte("not a MaxMind database"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(dir, "missing.mmdb"), corrupt} {
		env := append(enrichEnv(path), "ACCORD_SERVER_ADDR=127.0.0.1:0")
		_, stderr, code := runAccordEnv(t, dir, env, nil, "serve")
		if code == 0 || !strings.Contains(stderr, "enrich.geo.database "+path) {
			t.Errorf("accord serve with %s: exit %d, stderr %s; want a failure naming enrich.geo.database", path, code, stderr)
		}
	}
}

// TestEnrichmentAfterPrivacyPolicy: with the privacy policy anonymising
// addresses (two octets: 81.2.69.160 is stored as 81.2.0.0, which the test
// database does not place), geolocation looks up what the record keeps and
// finds nothing, unless before_anonymising, which looks up the address the
// request came from; an SP-Anonymous request, whose address the policy
// drops, is never looked up; privacy.user_agent: drop leaves no user agent
// to parse, not even the tracker's.
func TestEnrichmentAfterPrivacyPolicy(t *testing.T) {
	mmdb := enrichtest.WriteCityDB(t, enrichtest.Cities)
	for _, before := range []bool{false, true} {
		t.Run(map[bool]string{false: "stored", true: "before_anonymising"}[before], func(t *testing.T) {
			dir := newProject(t)
			env := append(enrichEnv(mmdb), "ACCORD_PRIVACY_IP_ACTION=anonymize", "ACCORD_PRIVACY_IP_IPV4_OCTETS=2",
				"ACCORD_PRIVACY_USER_AGENT=drop", "ACCORD_ENRICH_GEO_BEFORE_ANONYMISING="+map[bool]string{false: "false", true: "true"}[before])
			c := startCollector(t, dir, env...)
			plain, anonymous := spUUID(), spUUID()
			send := func(id string, headers ...string) {
				body := `{"schema":"` + spPayloadDataKey + `","data":[{"e":"pv","p":"web","tv":"js-4.10.1","eid":"` + id + `","url":"https://shop.example.com/?utm_source=x","ua":"` + enrChrome + `"}]}`
				status, _, resp := c.post("/com.snowplowanalytics.snowplow/tp2", "application/json", []byte(body), append([]string{"X-Forwarded-For", "81.2.69.160", "User-Agent", enrIPhone}, headers...)...)
				if status != http.StatusOK {
					t.Fatalf("tp2: %d %s", status, resp)
				}
			}
			send(plain)
			send(anonymous, "SP-Anonymous", "*")
			waitDelivered(t, c, 30*time.Second)
			db := openStore(t, dir)

			r := spOne(t, db, "events", plain)
			cx := enrContexts(r)
			if r.Source["ip"] != "81.2.0.0" {
				t.Fatalf("stored source.ip %q, want the policy's 81.2.0.0", r.Source["ip"])
			}
			g := cx[enrGeo]
			switch {
			case !before && g != nil:
				t.Errorf("geolocation %v of the anonymised address, which the database does not hold; want none", g)
			case before && (g["looked_up"] != "before_anonymising" || g["city"] != "London"):
				t.Errorf("geolocation %v, want London looked up before anonymising", g)
			}
			if cx[enrUserAgent] != nil || cx[enrCampaign] == nil {
				t.Errorf("contexts %v, want a campaign and no user agent (privacy.user_agent: drop)", r.Contexts)
			}
			r = spOne(t, db, "events", anonymous)
			if cx := enrContexts(r); r.Source["ip"] != "" || cx[enrGeo] != nil {
				t.Errorf("SP-Anonymous: source.ip %q, geolocation %v; want neither", r.Source["ip"], cx[enrGeo])
			}
			c.stop()
		})
	}
}
