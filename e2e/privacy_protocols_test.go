package e2e

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const signupKey = "iglu:com.example/signup/jsonschema/1-0-0"

// signupContract governs four properties, one per action kind: a hash, an
// hmac, a mask and a redact. Segment's "Signed Up" maps onto it.
const signupContract = `{
  "$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
  "self": {"vendor": "com.example", "name": "signup", "format": "jsonschema", "version": "1-0-0"},
  "description": "A sign-up.",
  "x-accord": {"owner": "growth@example.com", "segment_events": ["Signed Up"]},
  "type": "object",
  "properties": {
    "email": {"type": "string", "description": "e-mail", "x-accord-pii": {"class": "restricted", "action": "hash"}},
    "name": {"type": "string", "description": "name", "x-accord-pii": {"class": "confidential", "action": "hmac"}},
    "phone": {"type": "string", "description": "phone", "x-accord-pii": {"class": "confidential", "action": "mask", "keep_chars": 3}},
    "note": {"type": "string", "description": "free text", "x-accord-pii": {"class": "restricted", "action": "redact"}},
    "plan": {"enum": ["free", "pro"], "description": "plan"}
  },
  "required": ["email", "plan"]
}`

// The raw values: none may be found in anything Accord writes.
var rawPII = map[string]string{
	"email": "alice.raw@example.org",
	"name":  "Alice Rawname",
	"phone": "+15550001234",
	"note":  "note-raw-secret-7",
}

func signupData(plan string) map[string]string {
	d := map[string]string{"plan": plan}
	for k, v := range rawPII {
		d[k] = v
	}
	return d
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wireRecorder is an HTTP endpoint that keeps every body it is sent and
// refuses it (400), so that the http sink dead-letters every record.
type wireRecorder struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (w *wireRecorder) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.mu.Lock()
	w.bodies = append(w.bodies, b)
	w.mu.Unlock()
	// Echo the body in the error, as some endpoints do: it reaches the
	// log, the dead letter's cause and /stats.
	http.Error(rw, "refused: "+string(b), http.StatusBadRequest)
}

func (w *wireRecorder) all() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Join(w.bodies, []byte("\n"))
}

// Issue 11's proof: PII-bearing events, valid and invalid, through every
// protocol (self-describing, CloudEvents, Snowplow GET and POST, Segment,
// webhook, pixel) and a body that is not JSON; then every byte Accord
// wrote (spool, SQLite, an NDJSON file sink, stdout, what an HTTP sink put
// on the wire, its dead letters, the log at debug level, /stats) is read,
// and none holds a raw value. The stored values are the expected hash,
// HMAC, mask and redaction, the same id gives the same pseudonym on every
// protocol, and each governed record carries the privacy marker.
func TestPrivacyNoRawValueOnDiskOrWire(t *testing.T) {
	dir := newProject(t)
	writeContract(t, dir, signupKey, signupContract)
	wire := &wireRecorder{}
	srv := httptest.NewServer(wire)
	defer srv.Close()
	cfgPath := filepath.Join(dir, "accord.yml")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg = bytes.Replace(cfg, []byte("\nsinks:\n"), []byte("\nsinks:\n"+
		"  - name: lines\n    type: file\n    options:\n      good_path: accord-data/lines/good.ndjson\n      failed_path: accord-data/lines/failed.ndjson\n"+
		"  - name: out\n    type: stdout\n"+
		"  - name: wire\n    type: http\n    options:\n      url: "+srv.URL+"/ingest\n    delivery:\n      max_attempts: 1\n"), 1)
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	c := startCollector(t, dir,
		"ACCORD_LOG_LEVEL=debug",
		"ACCORD_PRIVACY_IP_ACTION=anonymize",
		"ACCORD_PROTOCOLS_SEGMENT_SOURCES_0_NAME=web",
		"ACCORD_PROTOCOLS_SEGMENT_SOURCES_0_WRITE_KEY=seg-key-1",
		"ACCORD_PROTOCOLS_WEBHOOKS_0_NAME=signup",
		"ACCORD_PROTOCOLS_WEBHOOKS_0_SCHEMA="+signupKey,
	)

	good, bad := signupData("pro"), signupData("gold")
	selfdesc := func(d map[string]string) []byte {
		return []byte(`{"schema":"` + signupKey + `","data":` + mustJSON(t, d) + `}`)
	}
	cloudevent := func(id string, d map[string]string) []byte {
		return []byte(`{"specversion":"1.0","id":"` + id + `","source":"/signup","type":"com.example.signup","dataschema":"` + signupKey + `","datacontenttype":"application/json","data":` + mustJSON(t, d) + `}`)
	}
	unstruct := func(d map[string]string) string {
		return `{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{"schema":"` + signupKey + `","data":` + mustJSON(t, d) + `}}`
	}
	spGet := func(id string, d map[string]string) string {
		return "/i?" + url.Values{"e": {"ue"}, "p": {"web"}, "tv": {"js-3.24.0"}, "eid": {id}, "ue_pr": {unstruct(d)}}.Encode()
	}
	spPost := func(id string, d map[string]string) []byte {
		// ue_px: the event base64-encoded, where no rule can read it.
		ev := map[string]string{"e": "ue", "p": "web", "tv": "js-3.24.0", "eid": id, "ue_px": base64.RawURLEncoding.EncodeToString([]byte(unstruct(d)))}
		return []byte(`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[` + mustJSON(t, ev) + `]}`)
	}
	segment := func(id string, d map[string]string) []byte {
		return []byte(`{"type":"track","event":"Signed Up","messageId":"` + id + `","anonymousId":"anon-1","properties":` + mustJSON(t, d) + `}`)
	}
	pixel := func(id string, d map[string]string) string {
		q := url.Values{"eid": {id}}
		for k, v := range d {
			q.Set(k, v)
		}
		return "/px/com.example/signup/1-0-0?" + q.Encode()
	}
	get := func(path string) {
		t.Helper()
		resp, err := http.Get(c.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
	}
	post := func(path, contentType string, body []byte, headers ...string) {
		t.Helper()
		if status, _, resp := c.post(path, contentType, body, headers...); status >= 500 {
			t.Fatalf("POST %s: %d %s", path, status, resp)
		}
	}
	post("/events", "application/json", selfdesc(good))
	post("/events", "application/json", selfdesc(bad))
	post("/cloudevents", "application/cloudevents+json", cloudevent("ce-good", good))
	post("/cloudevents", "application/cloudevents+json", cloudevent("ce-bad", bad))
	get(spGet("sp-get-good", good))
	get(spGet("sp-get-bad", bad))
	post("/com.snowplowanalytics.snowplow/tp2", "application/json", spPost("sp-post-good", good))
	post("/com.snowplowanalytics.snowplow/tp2", "application/json", spPost("sp-post-bad", bad))
	post("/v1/track", "application/json", segment("seg-good", good), "Authorization", segBasic("seg-key-1"))
	post("/v1/track", "application/json", segment("seg-bad", bad), "Authorization", segBasic("seg-key-1"))
	post("/webhooks/signup", "application/json", []byte(mustJSON(t, good)))
	post("/webhooks/signup", "application/json", []byte(mustJSON(t, bad)))
	get(pixel("px-good", good))
	get(pixel("px-bad", bad))
	// A body that is not JSON at all, holding the values as a form would.
	post("/events", "application/json", []byte("email="+rawPII["email"]+"&name="+rawPII["name"]+"&phone="+rawPII["phone"]+"&note="+rawPII["note"]))

	const protocols = 7
	db := openStore(t, dir)
	eventually(t, 15*time.Second, "every record stored, and the http sink's dead-lettered", func() bool {
		var goodN, failedN int
		_ = db.QueryRow(`SELECT count(*) FROM events WHERE schema = ?`, signupKey).Scan(&goodN)
		_ = db.QueryRow(`SELECT count(*) FROM failed_events`).Scan(&failedN)
		dl, _ := os.ReadFile(filepath.Join(dir, "accord-data", "dead-letter", "wire.ndjson"))
		return goodN == protocols && failedN == protocols+1 && bytes.Count(dl, []byte("\n")) == 2*protocols+1
	})
	statsResp, err := http.Get(c.URL + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	stats, _ := io.ReadAll(statsResp.Body)
	statsResp.Body.Close()
	c.stop()

	// The values as stored: one pseudonym per id, on every protocol.
	salt, err := os.ReadFile(filepath.Join(dir, "secrets", "hash.salt"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(append(bytes.TrimRight(salt, "\n"), rawPII["email"]...))
	want := map[string]string{
		"email": "sha256:" + hex.EncodeToString(sum[:]),
		"name":  pseudonym(t, dir, rawPII["name"]),
		"phone": "+15*********",
		"note":  "[redacted]",
	}
	rows, err := db.Query(`SELECT protocol, payload, attributes, json_extract(source, '$.ip') FROM events WHERE schema = ?`, signupKey)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for rows.Next() {
		var protocol, payload, ip string
		var attrs sql.NullString
		if err := rows.Scan(&protocol, &payload, &attrs, &ip); err != nil {
			t.Fatal(err)
		}
		seen[protocol] = true
		var got map[string]any
		if err := json.Unmarshal([]byte(payload), &got); err != nil {
			t.Fatal(err)
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s: %s stored as %v, want %s", protocol, k, got[k], w)
			}
		}
		if !strings.Contains(attrs.String, `"accord_privacy":{"rules":"`) || !strings.Contains(attrs.String, `"key_id":"k1"`) {
			t.Errorf("%s: attributes %s lack the privacy marker", protocol, attrs.String)
		}
		if ip != "127.0.0.0" {
			t.Errorf("%s: source.ip %q, want 127.0.0.0 (anonymised)", protocol, ip)
		}
	}
	rows.Close()
	for _, p := range []string{"selfdesc", "cloudevents", "snowplow", "segment", "webhook", "pixel"} {
		if !seen[p] {
			t.Errorf("no good record of protocol %s", p)
		}
	}

	// A failed record's raw input keeps the event, its data transformed,
	// where the data is one member of it; elsewhere it is withheld.
	for protocol, wantRaw := range map[string]string{"selfdesc": want["email"], "cloudevents": want["email"], "segment": want["email"], "webhook": want["email"], "pixel": ""} {
		var raw, enc string
		if err := db.QueryRow(`SELECT raw, raw_encoding FROM failed_events WHERE protocol = ? AND schema = ?`, protocol, signupKey).Scan(&raw, &enc); err != nil {
			t.Errorf("%s: failed record: %v", protocol, err)
			continue
		}
		if wantRaw == "" && (raw != "" || enc != "withheld") || wantRaw != "" && !strings.Contains(raw, wantRaw) {
			t.Errorf("%s: failed raw %q (%s), want it %s", protocol, raw, enc, map[bool]string{true: "withheld", false: "with the transformed data"}[wantRaw == ""])
		}
	}

	// A failed Snowplow event keeps its raw input too, with the data in its
	// ue_pr (GET) or ue_px (POST) transformed and encoded as it came.
	for id, field := range map[string]string{"sp-get-bad": "ue_pr", "sp-post-bad": "ue_px"} {
		var raw, enc string
		if err := db.QueryRow(`SELECT raw, raw_encoding FROM failed_events WHERE event_id = ?`, id).Scan(&raw, &enc); err != nil {
			t.Errorf("%s: failed record: %v", id, err)
			continue
		}
		var ue string
		if field == "ue_pr" {
			q, err := url.ParseQuery(raw)
			if err != nil || q.Get("eid") != id {
				t.Errorf("%s: failed raw %q (%s), want the query as sent: %v", id, raw, enc, err)
			}
			ue = q.Get(field)
		} else {
			var ev map[string]string
			if err := json.Unmarshal([]byte(raw), &ev); err != nil || ev["eid"] != id {
				t.Errorf("%s: failed raw %q (%s), want the tp2 event as sent: %v", id, raw, enc, err)
			}
			b, err := base64.RawURLEncoding.DecodeString(ev[field])
			if err != nil {
				t.Errorf("%s: %s %q is not base64url without padding: %v", id, field, ev[field], err)
			}
			ue = string(b)
		}
		if !strings.Contains(ue, `"email":"`+want["email"]+`"`) || !strings.Contains(ue, `"plan":"gold"`) {
			t.Errorf("%s: %s in the failed raw is %q, want the data with the email hashed", id, field, ue)
		}
		for name, v := range rawPII {
			if strings.Contains(ue, v) {
				t.Errorf("%s: %s in the failed raw holds the raw %s", id, field, name)
			}
		}
	}

	// Every byte written: the data directory (spool, SQLite and its WAL,
	// the file sink, dead letters), stdout and the debug log, the wire,
	// /stats.
	written := map[string][]byte{"the log and stdout": []byte(c.logs.String()), "the http sink's wire": wire.all(), "/stats": stats}
	files := 0
	err = filepath.WalkDir(filepath.Join(dir, "accord-data"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		files++
		written[path] = b
		return err
	})
	if err != nil || files < 4 {
		t.Fatalf("read accord-data: %d files, %v", files, err)
	}
	for _, must := range []string{"spool", "dead-letter", "lines", "accord.db"} {
		found := false
		for path := range written {
			found = found || strings.Contains(path, must)
		}
		if !found {
			t.Errorf("nothing written under %s: the test reads less than it should", must)
		}
	}
	if !bytes.Contains(written["the http sink's wire"], []byte(want["email"])) || !bytes.Contains(written["the log and stdout"], []byte(want["email"])) {
		t.Errorf("the wire or stdout lack the records: the test reads less than it should")
	}
	for where, b := range written {
		for field, v := range rawPII {
			for i, form := range []string{v, url.QueryEscape(v), base64.RawURLEncoding.EncodeToString([]byte(v))} {
				if (i == 0 || form != v) && bytes.Contains(b, []byte(form)) {
					t.Errorf("%s holds the raw %s (%q)", where, field, form)
				}
			}
		}
	}
}
