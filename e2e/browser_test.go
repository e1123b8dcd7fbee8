package e2e

// End-to-end tests in a real browser: Snowplow's browser tracker (with its
// common plugins) and Segment's analytics-next, bundled with esbuild from
// the versions pinned in e2e/browser/package-lock.json, run in headless
// Chromium (Debian's chromium, driven by playwright-core) on pages served
// by this test from another origin than the collector. scripts/test
// installs Chromium and the npm packages. Run them alone with
//
//	go test ./e2e -run TestBrowser -v

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/testenv"
)

// browserDir holds the page scripts, the driver and the package.json of the
// browser libraries.
const browserDir = "browser"

// chromiumBinary returns the path of Debian's chromium. Without it the test
// is skipped, except in CI (CI=true), where a missing browser is a broken
// machine.
func chromiumBinary(t *testing.T) string {
	t.Helper()
	path := os.Getenv("ACCORD_TEST_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		testenv.Missing(t, "chromium is missing (%v); apt-get install -y chromium to run the browser tests", err)
	}
	if _, err := os.Stat(filepath.Join(browserDir, "node_modules")); err != nil {
		t.Fatalf("e2e/browser/node_modules is missing (%v): run npm ci --prefix e2e/browser (scripts/test does it)", err)
	}
	return path
}

// browserSummary is what drive.mjs prints.
type browserSummary struct {
	Pages []struct {
		Context, Origin, Collector, Mode string
		Tracked                          []struct{ Eid, E string }
		Acked                            []string
		Failures                         []any
		PageErrors                       []string
	}
	Beacon  string
	Segment map[string]string
	// Cookies is, per browser context (cross, same), what the browser did
	// with the collector's sp cookie.
	Cookies map[string]struct {
		Set []struct {
			Line           string
			BlockedReasons []string
		}
		Sent int
	}
}

// browserContexts are a record's contexts, decoded.
type browserContexts []struct {
	Schema string         `json:"schema"`
	Data   map[string]any `json:"data"`
}

const (
	spWebPage       = "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0"
	spEcommerceKey  = "iglu:com.snowplowanalytics.snowplow.ecommerce/"
	spEcommerceAct  = spEcommerceKey + "snowplow_ecommerce_action/jsonschema/1-0-2"
	spBrowserSchema = "iglu:com.snowplowanalytics.snowplow/"
	spMediaKey      = "iglu:com.snowplowanalytics.snowplow.media/"
)

// TestBrowserTrackers drives the real trackers in headless Chromium, from
// pages on other origins than the collector:
//
//   - Snowplow's browser tracker (default configuration plus the link
//     click, form, error, site tracking, snowplow ecommerce, consent and
//     media plugins) sends by POST, by GET (with the session and browser
//     entities and appVersion on) and by POST with keepalive (tracker 4's
//     stand-in for the beacon), and a page sends a navigator.sendBeacon as
//     tracker 3 did: every event lands good with its entities.
//   - Segment's analytics-next, with its settings inline, sends identify,
//     track and page to Accord's Segment routes: all good.
//   - Both are set up as README.md's quickstart says: the Snowplow tracker
//     with the collector's http:// URL, analytics.js with apiHost
//     HOST:PORT/v1 and protocol http, the pages' origins in
//     server.cors_origins.
//   - The collector's sp cookie: from a page on another site the browser
//     refuses it (third-party cookies), so every request gets a new network
//     user id; from a page on the same site (the collector on a subdomain
//     of the shop's domain, over HTTPS) it keeps it, and the network user id
//     persists across page loads; over plain HTTP it refuses it, as it is
//     Secure.
func TestBrowserTrackers(t *testing.T) {
	node := nodeBinary(t)
	chromium := chromiumBinary(t)

	// The pages: snowplow.html and segment.html with their bundled
	// scripts, served from one loopback port.
	site := t.TempDir()
	if stdout, stderr, err := nodeExecIn(t, browserDir, node, "bundle.mjs", "OUTDIR="+site); err != nil {
		t.Fatalf("bundle: %v\n%s\n%s", err, stdout, stderr)
	}
	for _, page := range []string{"snowplow.html", "segment.html"} {
		b, err := os.ReadFile(filepath.Join(browserDir, page))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(site, page), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pages := &http.Server{Handler: http.FileServer(http.Dir(site)), ReadHeaderTimeout: 10 * time.Second}
	go pages.Serve(ln)
	t.Cleanup(func() { pages.Close() })
	pagePort := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	// 127.0.0.1 and localhost are different sites; www.shop.test and
	// collector.shop.test are one site (shop.test) on two origins.
	pageCross, pageSame := "http://127.0.0.1:"+pagePort, "http://www.shop.test:"+pagePort
	pagePlain := "http://www.plain.test:" + pagePort

	const writeKey = "wk-browser-e2e-5c1d"
	dir := newProject(t)
	c := startCollector(t, dir,
		// Snowplow's browser tracker sends credentials: the pages' origins
		// are listed by name, so that Accord echoes them and allows
		// credentials (with "*" the browser would refuse the answers).
		"ACCORD_SERVER_CORS_ORIGINS="+pageCross+","+pageSame+","+pagePlain,
		"ACCORD_PROTOCOLS_SEGMENT_SOURCES_0_NAME=web",
		"ACCORD_PROTOCOLS_SEGMENT_SOURCES_0_WRITE_KEY="+writeKey)
	_, collectorPort, err := net.SplitHostPort(strings.TrimPrefix(c.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	collectorCross, collectorSame := "http://localhost:"+collectorPort, "http://collector.shop.test:"+collectorPort

	stdout, stderr, err := nodeExecIn(t, browserDir, node, "drive.mjs",
		"CHROMIUM="+chromium, "PAGE_CROSS="+pageCross, "COLLECTOR_CROSS="+collectorCross,
		"PAGE_SAME="+pageSame, "COLLECTOR_SAME="+collectorSame,
		"PAGE_PLAIN="+pagePlain, "COLLECTOR_PLAIN=http://collector.plain.test:"+collectorPort, "SEGMENT_WRITE_KEY="+writeKey)
	if err != nil {
		t.Fatalf("drive.mjs: %v\nstdout:\n%s\nstderr:\n%s\ncollector:\n%s", err, stdout, stderr, c.logs)
	}
	var sum browserSummary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("drive.mjs printed no summary: %v\n%s\n%s", err, stdout, stderr)
	}

	// What the trackers say: every event acknowledged, no other error.
	want := map[string]bool{sum.Beacon: true}
	for _, p := range sum.Pages {
		acked := map[string]bool{}
		for _, id := range p.Acked {
			acked[id] = true
		}
		for _, ev := range p.Tracked {
			want[ev.Eid] = true
			if !acked[ev.Eid] {
				t.Errorf("%s %s page: event %s (%s) was not acknowledged", p.Context, p.Mode, ev.Eid, ev.E)
			}
		}
		if len(p.Failures) > 0 {
			t.Errorf("%s %s page: request failures %v", p.Context, p.Mode, p.Failures)
		}
		wantErrors := []string(nil)
		if p.Context == "cross" {
			wantErrors = []string{"uncaught in checkout"} // the page's own, for the error plugin
		}
		if !slices.Equal(p.PageErrors, wantErrors) {
			t.Errorf("%s %s page: errors %q, want %q", p.Context, p.Mode, p.PageErrors, wantErrors)
		}
	}
	for call, id := range sum.Segment {
		if id == "" {
			t.Errorf("analytics-next gave %s no message id", call)
		}
	}

	// What landed: every event good, nothing failed.
	waitDelivered(t, c, 30*time.Second)
	var recs, segment map[string]nodeRecord
	check.Eventually(t, 30*time.Second, "every browser event in the store", func() bool {
		recs, segment = nodeRecords(t, dir, "snowplow"), nodeRecords(t, dir, "segment")
		for id := range want {
			if _, ok := recs[id]; !ok {
				return false
			}
		}
		for _, id := range sum.Segment {
			if _, ok := segment[id]; !ok {
				return false
			}
		}
		return true
	})
	if len(recs) != len(want) {
		t.Errorf("the store holds %d Snowplow records, the browser sent %d", len(recs), len(want))
	}
	for id, r := range recs {
		if !r.Valid {
			t.Errorf("event %s (%s) failed: %s %s", id, r.Schema, r.FailureType, r.Failure)
		}
	}
	contextsOf := func(r nodeRecord) map[string]map[string]any {
		var cs browserContexts
		if err := json.Unmarshal([]byte(r.Contexts), &cs); err != nil {
			t.Fatalf("%s: contexts %s: %v", r.EventID, r.Contexts, err)
		}
		m := map[string]map[string]any{}
		for _, c := range cs {
			m[c.Schema] = c.Data
		}
		return m
	}

	// Each page's events: the schemas the plugins send, each with the
	// page's web_page entity (one page view id per page) and the entities
	// the plugins attach.
	for _, p := range sum.Pages {
		schemas := map[string]int{}
		pageViewIDs := map[any]bool{}
		for _, ev := range p.Tracked {
			r := recs[ev.Eid]
			schemas[r.Schema]++
			cs := contextsOf(r)
			web, ok := cs[spWebPage]
			if !ok {
				t.Errorf("%s %s page: %s has no web_page entity: %s", p.Context, p.Mode, r.Schema, r.Contexts)
			}
			pageViewIDs[web["id"]] = true
			var needs []string
			if p.Mode == "get" {
				needs = append(needs, spBrowserSchema+"client_session/jsonschema/1-0-2", spBrowserSchema+"browser_context/jsonschema/2-0-0", spBrowserSchema+"application/jsonschema/1-0-0")
			}
			switch r.Schema {
			case spEcommerceAct:
				needs = append(needs, spEcommerceKey+"product/jsonschema/1-0-0", spEcommerceKey+"page/jsonschema/1-0-0")
			case spBrowserSchema + "consent_granted/jsonschema/1-0-0", spBrowserSchema + "consent_withdrawn/jsonschema/1-0-0":
				needs = append(needs, spBrowserSchema+"consent_document/jsonschema/1-0-0", spBrowserSchema+"gdpr/jsonschema/1-0-0")
			}
			if strings.HasPrefix(r.Schema, spMediaKey) {
				needs = append(needs, spBrowserSchema+"media_player/jsonschema/2-0-0", spMediaKey+"session/jsonschema/1-0-0")
				if strings.HasPrefix(r.Schema, spMediaKey+"ad_start") || strings.HasPrefix(r.Schema, spMediaKey+"ad_quartile") {
					needs = append(needs, spMediaKey+"ad/jsonschema/1-0-0", spMediaKey+"ad_break/jsonschema/1-0-0")
				}
			}
			for _, n := range needs {
				if _, ok := cs[n]; !ok {
					t.Errorf("%s %s page: %s lacks %s: %s", p.Context, p.Mode, r.Schema, n, r.Contexts)
				}
			}
		}
		if len(pageViewIDs) != 1 {
			t.Errorf("%s %s page: page view ids %v, want one", p.Context, p.Mode, pageViewIDs)
		}
		wantSchemas := map[string]int{spBrowserSchema + "page_view/jsonschema/1-0-0": 1}
		if p.Context == "cross" {
			for k, n := range map[string]int{
				"link_click/jsonschema/1-0-1": 1, "submit_form/jsonschema/1-0-0": 1, "site_search/jsonschema/1-0-0": 1,
				"timing/jsonschema/1-0-0": 1, "social_interaction/jsonschema/1-0-0": 1, "structured_event/jsonschema/1-0-0": 1,
				"application_error/jsonschema/1-0-1": 2, "consent_granted/jsonschema/1-0-0": 1, "consent_withdrawn/jsonschema/1-0-0": 1,
			} {
				wantSchemas[spBrowserSchema+k] = n
			}
			for _, e := range []string{"ready", "ad_break_start", "ad_start", "ad_quartile", "ad_complete", "ad_break_end", "play", "volume_change", "quality_change", "pause", "end"} {
				wantSchemas[spMediaKey+e+"_event/jsonschema/1-0-0"] = 1
			}
			wantSchemas[checkoutKey] = 1
			wantSchemas[spEcommerceAct] = 3 // product view, add to cart, transaction
		}
		for k, n := range wantSchemas {
			if schemas[k] != n {
				t.Errorf("%s %s page: %d events of %s, want %d (all: %v)", p.Context, p.Mode, schemas[k], k, n, schemas)
			}
		}
		if p.Context == "cross" && (schemas[spBrowserSchema+"focus_form/jsonschema/1-0-0"] == 0 || schemas[spBrowserSchema+"change_form/jsonschema/1-0-0"] == 0) {
			t.Errorf("%s %s page: no focus_form or change_form event: %v", p.Context, p.Mode, schemas)
		}
	}
	if r := recs[sum.Beacon]; r.Schema != spBrowserSchema+"page_view/jsonschema/1-0-0" {
		t.Errorf("beacon: schema %q, want a page view", r.Schema)
	}

	// Segment: identify, track and page through the short paths.
	for call, path := range map[string]string{"identify": "/v1/i", "track": "/v1/t", "page": "/v1/p"} {
		r, ok := segment[sum.Segment[call]]
		if !ok {
			t.Errorf("segment %s (%s) is not in the store", call, sum.Segment[call])
			continue
		}
		if !r.Valid || r.Source.Path != path {
			t.Errorf("segment %s: valid %v (%s %s) path %q, want good through %s", call, r.Valid, r.FailureType, r.Failure, r.Source.Path, path)
		}
	}
	if len(segment) != 3 {
		t.Errorf("%d Segment records, want 3", len(segment))
	}

	// The sp cookie, as docs/protocols/snowplow.md records it. Cross-site,
	// the browser refuses it as a third-party cookie (reason
	// UserPreferences: a fresh Chromium profile blocks third-party
	// cookies), so no request carries it back and each request gets a new
	// network user id; the tracker's own first-party cookie keeps the
	// domain user id (anonymous_id).
	cross, same := sum.Cookies["cross"], sum.Cookies["same"]
	if len(cross.Set) == 0 || cross.Sent != 0 {
		t.Errorf("cross-site: %d Set-Cookie answers, %d requests carried sp; want the cookie set and never sent back", len(cross.Set), cross.Sent)
	}
	for _, s := range cross.Set {
		// Not for SecureOnly: a plain HTTP answer from localhost may set a
		// Secure cookie (unlike the plain.test host below).
		if !strings.Contains(s.Line, "SameSite=None") || !strings.Contains(s.Line, "Secure") ||
			!slices.Contains(s.BlockedReasons, "UserPreferences") || slices.Contains(s.BlockedReasons, "SecureOnly") {
			t.Errorf("cross-site Set-Cookie %q refused for %q, want SameSite=None; Secure refused as a third-party cookie (UserPreferences) alone", s.Line, s.BlockedReasons)
		}
	}
	nuids, duids := map[string]bool{}, map[string]bool{}
	for _, p := range sum.Pages {
		if p.Context != "cross" {
			continue
		}
		for _, ev := range p.Tracked {
			nuids[recs[ev.Eid].Identity.NetworkUserID] = true
			duids[recs[ev.Eid].Identity.AnonymousID] = true
		}
	}
	if len(nuids) < 3 || len(duids) != 1 {
		t.Errorf("cross-site: %d network user ids, %d domain user ids; want a new network user id per request and one domain user id", len(nuids), len(duids))
	}
	// Same site (the collector on the shop's subdomain, HTTPS): the browser
	// keeps the cookie as Accord sets it by default and sends it back, so
	// both page loads share one network user id.
	if len(same.Set) == 0 || len(same.Set[0].BlockedReasons) != 0 || same.Sent == 0 {
		t.Errorf("same-site: Set-Cookie %+v, %d requests carried sp; want the cookie kept and sent back", same.Set, same.Sent)
	}
	sameNuids := map[string]bool{}
	for _, p := range sum.Pages {
		if p.Context == "same" {
			for _, ev := range p.Tracked {
				sameNuids[recs[ev.Eid].Identity.NetworkUserID] = true
			}
		}
	}
	if len(sameNuids) != 1 {
		t.Errorf("same-site: network user ids %v across two page loads, want one", sameNuids)
	}
	// Same site over plain HTTP: the browser refuses the cookie because it
	// is Secure (reason SecureOnly).
	plain := sum.Cookies["plain"]
	if len(plain.Set) == 0 || plain.Sent != 0 {
		t.Errorf("plain HTTP: %d Set-Cookie answers, %d requests carried sp; want the cookie set and never sent back", len(plain.Set), plain.Sent)
	}
	for _, s := range plain.Set {
		if !slices.Contains(s.BlockedReasons, "SecureOnly") {
			t.Errorf("plain HTTP Set-Cookie %q refused for %q, want SecureOnly", s.Line, s.BlockedReasons)
		}
	}
	c.stop()
}
