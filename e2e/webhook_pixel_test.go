package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"testing"
	"time"
)

const (
	whGitHubSecret = "gh-e2e-secret"
	whStripeSecret = "whsec_e2e_secret"
	whHMACSecret   = "hmac-e2e-secret"
	whPushKey      = "iglu:com.example/github_push/jsonschema/1-0-0"
	pxEmailKey     = "iglu:com.example/email_opened/jsonschema/1-0-0"
	pxPageViewKey  = "iglu:com.example/page_view/jsonschema/1-0-0"
)

// whPushContract describes the part of GitHub's push event the test sends.
const whPushContract = `{
	"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
	"description": "GitHub push webhook delivery.",
	"self": {"vendor": "com.example", "name": "github_push", "format": "jsonschema", "version": "1-0-0"},
	"x-accord": {"owner": "platform@example.com"},
	"type": "object",
	"properties": {
		"ref": {"type": "string", "description": "The ref pushed."},
		"commits": {"type": "array", "description": "The commits pushed."}
	},
	"required": ["ref"]
}`

// pxEmailContract has an integer property, which the pixel must convert
// from the query string's text.
const pxEmailContract = `{
	"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
	"description": "An e-mail was opened.",
	"self": {"vendor": "com.example", "name": "email_opened", "format": "jsonschema", "version": "1-0-0"},
	"x-accord": {"owner": "marketing@example.com"},
	"type": "object",
	"properties": {
		"campaign": {"type": "string", "description": "Campaign name."},
		"recipients": {"type": "integer", "minimum": 0, "description": "How many got the e-mail."}
	},
	"required": ["campaign"],
	"additionalProperties": false
}`

// whHMAC is the hex HMAC-SHA256 of msg with secret.
func whHMAC(secret string, msg []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(msg)
	return hex.EncodeToString(m.Sum(nil))
}

// whStripeSignature is the Stripe-Signature header of body signed at ts.
func whStripeSignature(ts time.Time, body []byte) string {
	t := strconv.FormatInt(ts.Unix(), 10)
	return "t=" + t + ",v1=" + whHMAC(whStripeSecret, append([]byte(t+"."), body...))
}

// whRecord is a row of the events table.
type whRecord struct {
	eventID, protocol, schema, payload string
	attributes                         map[string]any
}

// whRecords returns the rows of the events table (or failed_events) whose
// protocol is protocol, by event id.
func whRecords(t *testing.T, db *sql.DB, table, protocol string) map[string]whRecord {
	t.Helper()
	rows, err := db.Query(`SELECT event_id, protocol, coalesce(schema, ''), coalesce(payload, 'null'), coalesce(attributes, 'null') FROM `+table+` WHERE protocol = ?`, protocol)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]whRecord{}
	for rows.Next() {
		var r whRecord
		var attrs string
		if err := rows.Scan(&r.eventID, &r.protocol, &r.schema, &r.payload, &attrs); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(attrs), &r.attributes); err != nil {
			t.Fatalf("attributes %s: %v", attrs, err)
		}
		out[r.eventID] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// whSameJSON reports whether a and b are the same JSON value.
func whSameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal([]byte(a), &va); err != nil {
		t.Fatalf("not JSON: %s: %v", a, err)
	}
	if err := json.Unmarshal([]byte(b), &vb); err != nil {
		t.Fatalf("not JSON: %s: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}

func TestWebhookDeliveriesEndToEnd(t *testing.T) {
	dir := newProject(t)
	writeContract(t, dir, whPushKey, whPushContract)
	c := startCollector(t, dir,
		"ACCORD_PROTOCOLS_WEBHOOKS_0_NAME=github",
		"ACCORD_PROTOCOLS_WEBHOOKS_0_SCHEMA="+whPushKey,
		"ACCORD_PROTOCOLS_WEBHOOKS_0_SIGNATURE_KIND=github",
		"ACCORD_PROTOCOLS_WEBHOOKS_0_SIGNATURE_SECRET="+whGitHubSecret,
		"ACCORD_PROTOCOLS_WEBHOOKS_1_NAME=stripe",
		"ACCORD_PROTOCOLS_WEBHOOKS_1_ARBITRARY=true",
		"ACCORD_PROTOCOLS_WEBHOOKS_1_SIGNATURE_KIND=stripe",
		"ACCORD_PROTOCOLS_WEBHOOKS_1_SIGNATURE_SECRET="+whStripeSecret,
		"ACCORD_PROTOCOLS_WEBHOOKS_2_NAME=anything",
		"ACCORD_PROTOCOLS_WEBHOOKS_2_ARBITRARY=true",
		"ACCORD_PROTOCOLS_WEBHOOKS_2_SIGNATURE_KIND=hmac",
		"ACCORD_PROTOCOLS_WEBHOOKS_2_SIGNATURE_HEADER=X-Signature",
		"ACCORD_PROTOCOLS_WEBHOOKS_2_SIGNATURE_SECRET="+whHMACSecret,
	)

	push := []byte(`{"ref":"refs/heads/main","before":"0000000","commits":[{"id":"c1","message":"Fix it"}],"repository":{"full_name":"acme/shop"}}`)
	pushGz := []byte(`{"ref":"refs/heads/gz","commits":[]}`)
	noRef := []byte(`{"commits":[]}`)
	stripeEvent := []byte(`{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","object":"event","type":"charge.succeeded","data":{"object":{"id":"ch_1","amount":1250}}}`)
	staleStripe := []byte(`{"id":"evt_stale","object":"event","type":"charge.succeeded"}`)
	form := []byte("action=opened&number=7&label=bug&label=ui")
	generic := []byte(`{"kind":"ping","n":1}`)

	deliveries := []struct {
		name        string
		source      string
		contentType string
		body        []byte
		headers     []string
		status      int
	}{
		{name: "github push", source: "github", contentType: "application/json", body: push, status: http.StatusOK,
			headers: []string{"X-Hub-Signature-256", "sha256=" + whHMAC(whGitHubSecret, push), "X-GitHub-Delivery", "gh-delivery-1",
				"X-GitHub-Event", "push", "User-Agent", "GitHub-Hookshot/e2e", "Authorization", "token must-not-be-kept"}},
		{name: "github gzip body", source: "github", contentType: "application/json", body: gzipped(t, pushGz), status: http.StatusOK,
			headers: []string{"Content-Encoding", "gzip", "X-Hub-Signature-256", "sha256=" + whHMAC(whGitHubSecret, pushGz), "X-GitHub-Delivery", "gh-delivery-gz"}},
		{name: "github delivery breaking its contract", source: "github", contentType: "application/json", body: noRef, status: http.StatusOK,
			headers: []string{"X-Hub-Signature-256", "sha256=" + whHMAC(whGitHubSecret, noRef), "X-GitHub-Delivery", "gh-delivery-bad"}},
		{name: "github bad signature", source: "github", contentType: "application/json", body: push, status: http.StatusUnauthorized,
			headers: []string{"X-Hub-Signature-256", "sha256=" + whHMAC("wrong-secret", push), "X-GitHub-Delivery", "gh-delivery-forged"}},
		{name: "github no signature", source: "github", contentType: "application/json", body: push, status: http.StatusUnauthorized,
			headers: []string{"X-GitHub-Delivery", "gh-delivery-unsigned"}},
		{name: "unknown source", source: "gitlab", contentType: "application/json", body: push, status: http.StatusNotFound,
			headers: []string{"X-Hub-Signature-256", "sha256=" + whHMAC(whGitHubSecret, push), "X-GitHub-Delivery", "gh-delivery-lost"}},
		{name: "stripe event", source: "stripe", contentType: "application/json; charset=utf-8", body: stripeEvent, status: http.StatusOK,
			headers: []string{"Stripe-Signature", whStripeSignature(time.Now(), stripeEvent)}},
		{name: "stripe signed 10 minutes ago", source: "stripe", contentType: "application/json", body: staleStripe, status: http.StatusUnauthorized,
			headers: []string{"Stripe-Signature", whStripeSignature(time.Now().Add(-10*time.Minute), staleStripe)}},
		{name: "form body", source: "anything", contentType: "application/x-www-form-urlencoded", body: form, status: http.StatusOK,
			headers: []string{"X-Signature", whHMAC(whHMACSecret, form), "X-Webhook-Id", "form-1"}},
		{name: "generic hmac", source: "anything", contentType: "application/json", body: generic, status: http.StatusOK,
			headers: []string{"X-Signature", "sha256=" + whHMAC(whHMACSecret, generic), "X-Webhook-Id", "generic-1"}},
		{name: "generic hmac of another body", source: "anything", contentType: "application/json", body: []byte(`{"kind":"ping","n":2}`), status: http.StatusUnauthorized,
			headers: []string{"X-Signature", whHMAC(whHMACSecret, generic), "X-Webhook-Id", "generic-forged"}},
	}
	for _, d := range deliveries {
		status, hdr, body := c.post("/webhooks/"+d.source, d.contentType, d.body, d.headers...)
		if status != d.status {
			t.Errorf("%s: status %d, want %d: %s", d.name, status, d.status, body)
			continue
		}
		if status != http.StatusOK {
			if e := decodeInto[errorResponse](t, body); e.Error == "" || hdr.Get("Content-Type") != "application/json" {
				t.Errorf("%s: refusal %s does not say why", d.name, body)
			}
			continue
		}
		r := decodeInto[collectResponse](t, body)
		if r.Received != 1 {
			t.Errorf("%s: answer %s, want one event received", d.name, body)
		}
	}

	counts := c.protocolCounts()
	if counts["webhook.bad_signature"] < 4 {
		t.Errorf("protocols[webhook.bad_signature] = %d, want at least 4 (%v)", counts["webhook.bad_signature"], counts)
	}
	if counts["webhook.unknown_source"] < 1 {
		t.Errorf("protocols[webhook.unknown_source] = %d, want at least 1 (%v)", counts["webhook.unknown_source"], counts)
	}

	waitDelivered(t, c, 15*time.Second)
	db := openStore(t, dir)
	good := whRecords(t, db, "events", "webhook")
	failed := whRecords(t, db, "failed_events", "webhook")

	wantGood := map[string]struct {
		schema  string
		payload string
		source  string
		headers map[string]any
	}{
		"gh-delivery-1": {schema: whPushKey, payload: string(push), source: "github", headers: map[string]any{
			"content-type": "application/json", "user-agent": "GitHub-Hookshot/e2e", "x-github-delivery": "gh-delivery-1", "x-github-event": "push"}},
		"gh-delivery-gz": {schema: whPushKey, payload: string(pushGz), source: "github"},
		"evt_1NG8Du2eZvKYlo2CUI79vXWy": {payload: string(stripeEvent), source: "stripe", headers: map[string]any{
			"content-type": "application/json; charset=utf-8"}},
		"form-1":    {payload: `{"action":"opened","label":["bug","ui"],"number":"7"}`, source: "anything"},
		"generic-1": {payload: string(generic), source: "anything"},
	}
	if len(good) != len(wantGood) {
		t.Errorf("events holds %d webhook records, want %d: %v", len(good), len(wantGood), good)
	}
	for id, w := range wantGood {
		r, ok := good[id]
		if !ok {
			t.Errorf("no good record with event_id %s", id)
			continue
		}
		if r.schema != w.schema {
			t.Errorf("%s: schema %q, want %q", id, r.schema, w.schema)
		}
		if !whSameJSON(t, r.payload, w.payload) {
			t.Errorf("%s: payload %s, want %s", id, r.payload, w.payload)
		}
		if r.attributes["source"] != w.source {
			t.Errorf("%s: attributes.source %v, want %s", id, r.attributes["source"], w.source)
		}
		hdrs, _ := r.attributes["headers"].(map[string]any)
		for k, v := range w.headers {
			if hdrs[k] != v {
				t.Errorf("%s: attributes.headers[%s] = %v, want %v", id, k, hdrs[k], v)
			}
		}
		for _, secret := range []string{"x-hub-signature-256", "stripe-signature", "x-signature", "authorization"} {
			if _, kept := hdrs[secret]; kept {
				t.Errorf("%s: attributes.headers keeps %s", id, secret)
			}
		}
	}
	// The delivery that breaks its contract is kept, failed.
	if r, ok := failed["gh-delivery-bad"]; !ok || r.schema != whPushKey || !whSameJSON(t, r.payload, string(noRef)) {
		t.Errorf("failed record of the delivery without ref: %+v (found %v)", r, ok)
	} else {
		var ft string
		if err := db.QueryRow(`SELECT failure_type FROM failed_events WHERE event_id = ?`, "gh-delivery-bad").Scan(&ft); err != nil || ft != "schema_violation" {
			t.Errorf("failure_type %q (%v), want schema_violation", ft, err)
		}
	}
	// Refused deliveries leave nothing behind, good or failed.
	for _, id := range []string{"gh-delivery-forged", "gh-delivery-unsigned", "gh-delivery-lost", "evt_stale", "generic-forged"} {
		if _, ok := good[id]; ok {
			t.Errorf("refused delivery %s stored as good", id)
		}
		if _, ok := failed[id]; ok {
			t.Errorf("refused delivery %s stored as failed", id)
		}
	}
	if len(failed) != 1 {
		t.Errorf("failed_events holds %d webhook records, want 1: %v", len(failed), failed)
	}
	c.stop()
}

// pxClient does not follow redirects, so the 302 itself can be checked.
var pxClient = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// pxGet sends GET path and returns the answer with its body read.
func pxGet(t *testing.T, c *collector, method, path string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, c.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := pxClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestPixelEndToEnd(t *testing.T) {
	dir := newProject(t)
	writeContract(t, dir, pxEmailKey, pxEmailContract)
	// failed_raw: keep, so that failed records show the query refused.
	c := startCollector(t, dir, "ACCORD_PROTOCOLS_PIXEL_REDIRECT_ALLOW=shop.example.com", "ACCORD_PRIVACY_FAILED_RAW=keep")

	gifs := []struct {
		name, path string
	}{
		{"arbitrary", "/px?campaign=x"},
		{"typed page view", "/px/com.example/page_view/1-0-0?url=" + url.QueryEscape("https://a.example/") + "&eid=px-page-1"},
		{"typed integer", "/px/com.example/email_opened/1-0-0?campaign=spring&recipients=10&eid=px-email-1"},
		{"typed integer that is not one", "/px/com.example/email_opened/1-0-0?campaign=spring&recipients=ten&eid=px-email-bad"},
	}
	for _, g := range gifs {
		resp, body := pxGet(t, c, http.MethodGet, g.path)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/gif" || len(body) != 43 || !bytes.HasPrefix(body, []byte("GIF89a")) {
			t.Errorf("%s: %d %s, %d bytes, want 200 image/gif of 43 bytes", g.name, resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", g.name, cc)
		}
	}

	// A redirect to an allowed host, recorded.
	target := "https://shop.example.com/sale?utm=mail"
	resp, body := pxGet(t, c, http.MethodGet, "/px?campaign=redirected&eid=px-redirect-1&redirect="+url.QueryEscape(target))
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != target {
		t.Errorf("allowed redirect: %d to %q, want 302 to %s: %s", resp.StatusCode, resp.Header.Get("Location"), target, body)
	}
	// To any other host, refused: the collector is no open redirect.
	for _, evil := range []string{"https://evil.com/", "https://shop.example.com.evil.com/", "//evil.com/"} {
		resp, body = pxGet(t, c, http.MethodGet, "/px?campaign=evil&eid=px-evil&redirect="+url.QueryEscape(evil))
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Errorf("redirect to %s: %d to %q, want 400 and no Location: %s", evil, resp.StatusCode, resp.Header.Get("Location"), body)
		}
	}
	// A HEAD probe is not an event.
	if resp, _ = pxGet(t, c, http.MethodHead, "/px?campaign=head"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("HEAD /px: %d, want 405", resp.StatusCode)
	}

	waitDelivered(t, c, 15*time.Second)
	db := openStore(t, dir)
	good := whRecords(t, db, "events", "pixel")

	// The arbitrary hit has no event id of its own: find it by its payload.
	var arbitrary []whRecord
	for _, r := range good {
		if whSameJSON(t, r.payload, `{"campaign":"x"}`) {
			arbitrary = append(arbitrary, r)
		}
	}
	if len(arbitrary) != 1 || arbitrary[0].schema != "" {
		t.Errorf("arbitrary records with payload {\"campaign\":\"x\"}: %+v, want one without a schema", arbitrary)
	}
	if r, ok := good["px-page-1"]; !ok || r.schema != pxPageViewKey || !whSameJSON(t, r.payload, `{"url":"https://a.example/"}`) {
		t.Errorf("typed page view: %+v (found %v), want schema %s", r, ok, pxPageViewKey)
	}
	if r, ok := good["px-email-1"]; !ok || r.schema != pxEmailKey || r.payload != `{"campaign":"spring","recipients":10}` {
		t.Errorf("typed e-mail opened: %+v (found %v), want recipients stored as the integer 10", r, ok)
	}
	var recipientsType string
	if err := db.QueryRow(`SELECT json_type(payload, '$.recipients') FROM events WHERE event_id = ?`, "px-email-1").Scan(&recipientsType); err != nil || recipientsType != "integer" {
		t.Errorf("json_type of recipients %q (%v), want integer", recipientsType, err)
	}
	if r, ok := good["px-redirect-1"]; !ok || !whSameJSON(t, r.payload, `{"campaign":"redirected"}`) {
		t.Errorf("redirect hit: %+v (found %v), want it recorded without the redirect parameter", r, ok)
	}
	for _, r := range good {
		if whSameJSON(t, r.payload, `{"campaign":"head"}`) {
			t.Errorf("HEAD /px was recorded: %+v", r)
		}
	}

	// The value that is not an integer fails its contract; the refused
	// redirects are kept as failed records, never as good ones.
	failed := whRecords(t, db, "failed_events", "pixel")
	if r, ok := failed["px-email-bad"]; !ok || r.schema != pxEmailKey {
		t.Errorf("recipients=ten: %+v (found %v), want a failed record of %s", r, ok, pxEmailKey)
	}
	if _, ok := good["px-evil"]; ok {
		t.Errorf("a refused redirect was recorded as good")
	}
	var evilRaw int
	if err := db.QueryRow(`SELECT count(*) FROM failed_events WHERE protocol = 'pixel' AND failure_type = 'protocol_violation' AND raw LIKE '%evil.com%'`).Scan(&evilRaw); err != nil || evilRaw != 3 {
		t.Errorf("%d failed records of the refused redirects (%v), want 3", evilRaw, err)
	}
	c.stop()
}
