package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The collector-wide policy through the real binary: a Sec-GPC request and
// a Segment message whose consent field says no are stored without any
// identifier or IP address; SP-Anonymous on CloudEvents (not a Snowplow
// route) drops the IP address; the user agent is dropped everywhere; a
// request with no signal keeps its ids.
func TestPrivacyPolicyEndToEnd(t *testing.T) {
	dir := newProject(t)
	c := startCollector(t, dir,
		"ACCORD_PRIVACY_USER_AGENT=drop",
		"ACCORD_PRIVACY_CONSENT_0_KIND=gpc",
		"ACCORD_PRIVACY_CONSENT_1_KIND=segment",
		"ACCORD_PRIVACY_CONSENT_1_NAME=/context/consent/analytics",
		"ACCORD_PRIVACY_CONSENT_1_VALUE=false",
		"ACCORD_PROTOCOLS_SEGMENT_SOURCES_0_NAME=web",
		"ACCORD_PROTOCOLS_SEGMENT_SOURCES_0_WRITE_KEY=seg-key-1",
		"ACCORD_PROTOCOLS_SEGMENT_SOURCES_0_UNPLANNED=flag",
	)
	selfdesc := func(id string) []byte {
		return []byte(`{"schema":"` + pageViewKey + `","event_id":"` + id + `","user_id":"user-9","anonymous_id":"anon-9","data":{"url":"https://shop.example/"}}`)
	}
	track := func(id, consent string) []byte {
		return []byte(`{"type":"track","event":"Anything","messageId":"` + id + `","userId":"user-9","anonymousId":"anon-9","context":{"ip":"203.0.113.9","consent":{"analytics":` + consent + `}}}`)
	}
	for _, r := range []struct {
		path, contentType string
		body              []byte
		headers           []string
	}{
		{"/events", "application/json", selfdesc("gpc-1"), []string{"Sec-GPC", "1"}},
		{"/events", "application/json", selfdesc("plain-1"), nil},
		{"/v1/track", "application/json", track("seg-no", "false"), []string{"Authorization", segBasic("seg-key-1")}},
		{"/v1/track", "application/json", track("seg-yes", "true"), []string{"Authorization", segBasic("seg-key-1")}},
		{"/cloudevents", "application/cloudevents+json", []byte(`{"specversion":"1.0","id":"ce-anon","source":"/s","type":"t","dataschema":"` + pageViewKey + `","data":{"url":"https://shop.example/"}}`), []string{"SP-Anonymous", "*"}},
	} {
		if status, _, resp := c.post(r.path, r.contentType, r.body, r.headers...); status >= 300 {
			t.Fatalf("POST %s: %d %s", r.path, status, resp)
		}
	}
	waitDelivered(t, c, 10*time.Second)
	c.stop()
	db := openStore(t, dir)
	for _, tc := range []struct {
		id       string
		ip       string
		identity string
	}{
		{"gpc-1", "", `{"user_id":"","anonymous_id":"","network_user_id":""}`},
		{"plain-1", "127.0.0.1", `{"user_id":"user-9","anonymous_id":"anon-9","network_user_id":""}`},
		{"seg-no", "", `{"user_id":"","anonymous_id":"","network_user_id":""}`},
		{"seg-yes", "127.0.0.1", `{"user_id":"user-9","anonymous_id":"anon-9","network_user_id":""}`},
		{"ce-anon", "", `{"user_id":"","anonymous_id":"","network_user_id":""}`},
	} {
		var source, identity string
		err := db.QueryRow(`SELECT source, identity FROM events WHERE event_id = ? UNION ALL SELECT source, identity FROM failed_events WHERE event_id = ?`, tc.id, tc.id).Scan(&source, &identity)
		if err != nil {
			t.Errorf("%s: %v", tc.id, err)
			continue
		}
		var src struct {
			IP        string `json:"ip"`
			UserAgent string `json:"user_agent"`
		}
		if err := json.Unmarshal([]byte(source), &src); err != nil {
			t.Fatal(err)
		}
		if src.IP != tc.ip || src.UserAgent != "" || identity != tc.identity {
			t.Errorf("%s: ip %q user agent %q identity %s; want ip %q, no user agent, identity %s", tc.id, src.IP, src.UserAgent, identity, tc.ip, tc.identity)
		}
	}
	// The Segment message's own context.ip goes with the consent too.
	for id, want := range map[string]string{"seg-no": "", "seg-yes": "203.0.113.9"} {
		var ip string
		if err := db.QueryRow(`SELECT json_extract(attributes, '$.context.ip') FROM events WHERE event_id = ? UNION ALL SELECT json_extract(attributes, '$.context.ip') FROM failed_events WHERE event_id = ?`, id, id).Scan(&ip); err != nil || ip != want {
			t.Errorf("%s: attributes.context.ip %q (%v), want %q", id, ip, err, want)
		}
	}
}

// accord replay honours the privacy marker: a failed record whose user id
// was pseudonymised is replayed once its contract is fixed, and the stored
// pseudonym is the one first made, with the same marker, not an HMAC of it.
func TestPrivacyReplayDoesNotApplyTwice(t *testing.T) {
	dir := newProject(t)
	c := startCollector(t, dir)
	if status, _, resp := c.post("/events", "application/json", userEvent("ord-9", "user-1", "gold", "")); status >= 500 || !contains(string(resp), "schema_violation") {
		t.Fatalf("invalid event: %d %s", status, resp)
	}
	waitDelivered(t, c, 10*time.Second)
	c.stop()
	db := openStore(t, dir)
	var failedAttrs string
	if err := db.QueryRow(`SELECT attributes FROM failed_events`).Scan(&failedAttrs); err != nil || !strings.Contains(failedAttrs, `"accord_privacy"`) {
		t.Fatalf("failed record's attributes %q (%v), want the privacy marker", failedAttrs, err)
	}
	// Fix the contract: gold becomes a plan.
	path := filepath.Join(dir, "contracts", "com.example", "user", "jsonschema", "1-0-0")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fixed := strings.Replace(string(doc), `"pro"`, `"pro", "gold"`, 1)
	if fixed == string(doc) {
		t.Fatalf("the user contract has no \"pro\" plan to extend:\n%s", doc)
	}
	if err := os.WriteFile(path, []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, stderr, code := runAccord(t, dir, nil, "replay", "--from-sink", "store"); code != 0 || !strings.Contains(out, "1 now good") {
		t.Fatalf("replay: exit %d\n%s%s", code, out, stderr)
	}
	var id, attrs string
	if err := db.QueryRow(`SELECT json_extract(contexts, '$[0].data.id'), attributes FROM events`).Scan(&id, &attrs); err != nil {
		t.Fatal(err)
	}
	if want := pseudonym(t, dir, "user-1"); id != want {
		t.Errorf("replayed user id %s, want the pseudonym first made, %s", id, want)
	}
	if attrs != failedAttrs {
		t.Errorf("replayed attributes %s, want the failed record's %s", attrs, failedAttrs)
	}
}
