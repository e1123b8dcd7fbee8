package e2e

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/event/eventtest"
)

const (
	checkoutKey = "iglu:com.example/checkout_completed/jsonschema/1-0-0"
	userKey     = "iglu:com.example/user/jsonschema/1-0-0"
	pageViewKey = "iglu:com.example/page_view/jsonschema/1-0-0"
)

type collectResponse struct {
	Received int `json:"received"`
	Good     int `json:"good"`
	Failed   int `json:"failed"`
	Failures []struct {
		Index    int             `json:"index"`
		EventID  string          `json:"event_id"`
		Type     string          `json:"type"`
		Messages []event.Message `json:"messages"`
	} `json:"failures"`
}

type errorResponse struct {
	Error     string         `json:"error"`
	Failure   *event.Failure `json:"failure"`
	EventID   string         `json:"event_id"`
	RequestID string         `json:"request_id"`
}

func decodeInto[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("response is not the expected JSON: %v\n%s", err, body)
	}
	return v
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSelfDescribingEndToEnd(t *testing.T) {
	dir := newProject(t)
	c := startCollector(t, dir,
		"ACCORD_SERVER_MAX_BODY_BYTES=4096",
		"ACCORD_SINKS_1_NAME=files", "ACCORD_SINKS_1_TYPE=file",
	)

	goodEvent := `{"schema":"` + checkoutKey + `","data":{"order_id":"ord-1","total":25.5,"currency":"EUR","items":[{"sku":"sku-1","quantity":2,"price":12.75}]},` +
		`"contexts":[{"schema":"` + userKey + `","data":{"id":"user-1","plan":"pro"}}],` +
		`"event_id":"7d1f5b8e-1c2a-4b3c-9d4e-5f6a7b8c9d0e","created_at":"2026-11-25T09:00:00Z","sent_at":"2026-11-25T09:00:03Z","namespace":"shop","user_id":"user-1","anonymous_id":"anon-9"}`
	badEvent := `{"schema":"` + checkoutKey + `","data":{"order_id":"ord-2","total":-5,"currency":"euro","items":[]}}`

	// One good event, with everything a client can send.
	status, hdr, body := c.post("/events", "application/json", []byte(goodEvent),
		"X-Request-Id", "req-good", "User-Agent", "e2e-agent/1.0", "Referer", "https://shop.example/cart", "Origin", "https://shop.example")
	if status != http.StatusOK || hdr.Get("X-Request-Id") != "req-good" {
		t.Fatalf("good event: %d %v %s", status, hdr, body)
	}
	if r := decodeInto[collectResponse](t, body); r.Received != 1 || r.Good != 1 || r.Failed != 0 || len(r.Failures) != 0 {
		t.Fatalf("good event response %+v", r)
	}

	// An array: one good, one that breaks its contract three ways.
	status, _, body = c.post("/events", "application/json", []byte(`[`+strings.Replace(goodEvent, "7d1f5b8e", "8d1f5b8e", 1)+`,`+badEvent+`]`))
	r := decodeInto[collectResponse](t, body)
	if status != http.StatusOK || r.Received != 2 || r.Good != 1 || r.Failed != 1 || r.Failures[0].Index != 1 || r.Failures[0].Type != "schema_violation" {
		t.Fatalf("array: %d %+v", status, r)
	}
	paths := map[string]string{}
	for _, m := range r.Failures[0].Messages {
		paths[m.InstancePath] = m.Keyword
	}
	if paths["/data/total"] != "minimum" || paths["/data/currency"] != "pattern" || paths["/data/items"] != "minItems" {
		t.Errorf("schema violation messages %+v", r.Failures[0].Messages)
	}
	badEventID := r.Failures[0].EventID

	// NDJSON with a broken line between two good ones: the neighbours land.
	ndjson := `{"schema":"` + pageViewKey + `","data":{"url":"https://shop.example/a"}}` + "\n" + `{not json` + "\n\n" +
		`{"schema":"` + pageViewKey + `","data":{"url":"https://shop.example/b","title":"B"}}` + "\n"
	status, _, body = c.post("/events", "application/x-ndjson", []byte(ndjson))
	r = decodeInto[collectResponse](t, body)
	if status != http.StatusOK || r.Received != 3 || r.Good != 2 || r.Failed != 1 || r.Failures[0].Type != "payload_format_violation" {
		t.Fatalf("ndjson: %d %+v", status, r)
	}

	// A gzip body.
	status, _, body = c.post("/events", "application/json", gzipped(t, []byte(`{"schema":"`+pageViewKey+`","data":{"url":"https://shop.example/gz"}}`)), "Content-Encoding", "gzip")
	if r := decodeInto[collectResponse](t, body); status != http.StatusOK || r.Good != 1 {
		t.Fatalf("gzip: %d %s", status, body)
	}

	// An event naming a contract that does not exist.
	status, _, body = c.post("/events", "application/json", []byte(`{"schema":"iglu:com.example/nope/jsonschema/1-0-0","data":{}}`))
	if r := decodeInto[collectResponse](t, body); status != http.StatusOK || r.Failed != 1 || r.Failures[0].Type != "schema_not_found" {
		t.Fatalf("unknown schema: %d %s", status, body)
	}

	// Requests that cannot be read at all are refused and still stored.
	refusals := []struct {
		name        string
		contentType string
		body        []byte
		headers     []string
		status      int
		failure     string
	}{
		{"not JSON", "application/json", []byte(`this is not json`), nil, http.StatusBadRequest, "payload_format_violation"},
		{"over the size limit", "application/json", bytes.Repeat([]byte("x"), 5000), nil, http.StatusRequestEntityTooLarge, "size_violation"},
		{"unsupported content type", "application/xml", []byte(`<event/>`), nil, http.StatusUnsupportedMediaType, "payload_format_violation"},
		{"broken gzip", "application/json", []byte(`not gzip`), []string{"Content-Encoding", "gzip"}, http.StatusBadRequest, "payload_format_violation"},
	}
	refusedIDs := map[string]string{}
	for _, tc := range refusals {
		status, hdr, body := c.post("/events", tc.contentType, tc.body, tc.headers...)
		e := decodeInto[errorResponse](t, body)
		if status != tc.status || hdr.Get("Content-Type") != "application/json" || e.Error == "" || e.Failure == nil || e.Failure.Type != event.FailureType(tc.failure) || e.EventID == "" || e.RequestID == "" {
			t.Errorf("%s: %d %s", tc.name, status, body)
		}
		refusedIDs[tc.failure+"/"+tc.name] = e.EventID
	}

	// A wrong method is refused with a JSON body and stores nothing.
	req, _ := http.NewRequest(http.MethodGet, c.URL+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("GET /events: %d %v", resp.StatusCode, resp.Header)
	}

	c.stop()

	// Every record, good and failed, conforms to the envelope schema.
	goodLines := readNDJSON(t, filepath.Join(dir, "accord-data", "good.ndjson"))
	failedLines := readNDJSON(t, filepath.Join(dir, "accord-data", "failed.ndjson"))
	for _, l := range append(append([][]byte{}, goodLines...), failedLines...) {
		eventtest.CheckJSON(t, l)
	}
	if len(goodLines) != 5 || len(failedLines) != 7 {
		t.Errorf("file sink holds %d good and %d failed records, want 5 and 7", len(goodLines), len(failedLines))
	}

	db := openStore(t, dir)
	var goodRows, failedRows int
	if err := db.QueryRow(`SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM failed_events)`).Scan(&goodRows, &failedRows); err != nil {
		t.Fatal(err)
	}
	if goodRows != 5 || failedRows != 7 {
		t.Errorf("SQLite holds %d good and %d failed rows, want 5 and 7", goodRows, failedRows)
	}

	// Every field of the first good event, as SQLite holds it.
	var (
		eventID, requestID, collectedAt, sentAt, createdAt, eventTime, protocol, schema, vendor, name, version, namespace string
		valid                                                                                                             int
		payload, contexts, source, identity, collector, fingerprint                                                       string
		attributes                                                                                                        *string
	)
	err = db.QueryRow(`SELECT event_id, request_id, collected_at, sent_at, created_at, event_time, protocol, schema, vendor, name, version, namespace, valid,
		payload, contexts, attributes, source, identity, collector, fingerprint FROM events WHERE event_id = ?`, "7d1f5b8e-1c2a-4b3c-9d4e-5f6a7b8c9d0e").Scan(
		&eventID, &requestID, &collectedAt, &sentAt, &createdAt, &eventTime, &protocol, &schema, &vendor, &name, &version, &namespace, &valid,
		&payload, &contexts, &attributes, &source, &identity, &collector, &fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	collected, err := time.Parse(event.TimeLayout, collectedAt)
	if err != nil || time.Since(collected) > 5*time.Minute || time.Since(collected) < 0 {
		t.Errorf("collected_at %q", collectedAt)
	}
	wantEventTime := collected.Add(-3 * time.Second).Format(event.TimeLayout)
	checks := map[string][2]string{
		"request_id": {requestID, "req-good"},
		"sent_at":    {sentAt, "2026-11-25T09:00:03.000000Z"},
		"created_at": {createdAt, "2026-11-25T09:00:00.000000Z"},
		"event_time": {eventTime, wantEventTime},
		"protocol":   {protocol, "selfdesc"},
		"schema":     {schema, checkoutKey},
		"vendor":     {vendor, "com.example"},
		"name":       {name, "checkout_completed"},
		"version":    {version, "1-0-0"},
		"namespace":  {namespace, "shop"},
		"payload":    {payload, `{"order_id":"ord-1","total":25.5,"currency":"EUR","items":[{"sku":"sku-1","quantity":2,"price":12.75}]}`},
		"contexts":   {contexts, `[{"schema":"` + userKey + `","data":{"id":"` + pseudonym(t, dir, "user-1") + `","plan":"pro"}}]`},
		"source":     {source, `{"ip":"127.0.0.1","user_agent":"e2e-agent/1.0","referer":"https://shop.example/cart","origin":"https://shop.example","path":"/events"}`},
		"identity":   {identity, `{"user_id":"user-1","anonymous_id":"anon-9","network_user_id":""}`},
	}
	for col, gw := range checks {
		if gw[0] != gw[1] {
			t.Errorf("%s = %s, want %s", col, gw[0], gw[1])
		}
	}
	// The user context's id is governed (hmac): the record says which
	// rules and key it carries, and nothing else is in its attributes.
	if valid != 1 || attributes == nil || !regexp.MustCompile(`^\{"accord_privacy":\{"rules":"[0-9a-f]{16}","key_id":"k1"\}\}$`).MatchString(*attributes) || len(fingerprint) == 0 {
		t.Errorf("valid %d attributes %v fingerprint %q", valid, attributes, fingerprint)
	}
	var coll event.Collector
	if err := json.Unmarshal([]byte(collector), &coll); err != nil || coll.Name != "accord" || coll.Env != "development" || coll.Version == "" || coll.Host == "" {
		t.Errorf("collector %s", collector)
	}
	// Nested parts are queryable with SQLite's JSON functions.
	var sku string
	var qty int
	if err := db.QueryRow(`SELECT json_extract(payload, '$.items[0].sku'), json_extract(payload, '$.items[0].quantity') FROM events WHERE event_id = ?`, eventID).Scan(&sku, &qty); err != nil || sku != "sku-1" || qty != 2 {
		t.Errorf("json_extract: %q %d %v", sku, qty, err)
	}

	// The failed record: every column, keeping the original event and saying why.
	var failureType, failure, raw, rawEncoding string
	var fSent, fCreated, fAttributes *string
	err = db.QueryRow(`SELECT request_id, collected_at, sent_at, created_at, event_time, protocol, schema, vendor, name, version, namespace, valid,
		payload, contexts, attributes, source, identity, collector, fingerprint, failure_type, failure, raw, raw_encoding FROM failed_events WHERE event_id = ?`, badEventID).Scan(
		&requestID, &collectedAt, &fSent, &fCreated, &eventTime, &protocol, &schema, &vendor, &name, &version, &namespace, &valid,
		&payload, &contexts, &fAttributes, &source, &identity, &collector, &fingerprint, &failureType, &failure, &raw, &rawEncoding)
	if err != nil {
		t.Fatal(err)
	}
	failedChecks := map[string][2]string{
		"protocol":     {protocol, "selfdesc"},
		"schema":       {schema, checkoutKey},
		"vendor":       {vendor, "com.example"},
		"name":         {name, "checkout_completed"},
		"version":      {version, "1-0-0"},
		"namespace":    {namespace, "default"},
		"event_time":   {eventTime, collectedAt},
		"payload":      {payload, `{"order_id":"ord-2","total":-5,"currency":"euro","items":[]}`},
		"contexts":     {contexts, `[]`},
		"identity":     {identity, `{"user_id":"","anonymous_id":"","network_user_id":""}`},
		"failure_type": {failureType, "schema_violation"},
		"raw":          {raw, badEvent},
		"raw_encoding": {rawEncoding, "text"},
	}
	for col, gw := range failedChecks {
		if gw[0] != gw[1] {
			t.Errorf("failed record %s = %s, want %s", col, gw[0], gw[1])
		}
	}
	if valid != 0 || fSent != nil || fCreated != nil || fAttributes != nil || requestID == "" || fingerprint == "" || !contains(source, `"path":"/events"`) || !contains(collector, `"name":"accord"`) {
		t.Errorf("failed record: valid %d sent %v created %v attributes %v request %q fingerprint %q source %s collector %s", valid, fSent, fCreated, fAttributes, requestID, fingerprint, source, collector)
	}
	var f event.Failure
	if err := json.Unmarshal([]byte(failure), &f); err != nil || f.Type != event.SchemaViolation || len(f.Messages) != 3 {
		t.Fatalf("failure column %s: %v", failure, err)
	}
	for _, m := range f.Messages {
		if m.Schema != checkoutKey || m.InstancePath == "" || m.SchemaPath == "" || m.Keyword == "" || m.Message == "" {
			t.Errorf("failure message lacks a part: %+v", m)
		}
	}
	// Refused requests are stored too, without the body: it is not JSON,
	// which privacy.failed_raw: drop (the default) withholds.
	for what, id := range refusedIDs {
		var ft, raw string
		if err := db.QueryRow(`SELECT failure_type, raw FROM failed_events WHERE event_id = ?`, id).Scan(&ft, &raw); err != nil {
			t.Errorf("%s: not stored: %v", what, err)
			continue
		}
		if !strings.HasPrefix(what, ft+"/") {
			t.Errorf("%s stored as %s", what, ft)
		}
		if ft == "size_violation" && raw != "" {
			t.Errorf("size violation keeps %d bytes of a body that is not JSON, want none", len(raw))
		}
	}
}

func TestRestartKeepsStoreAndDeduplicates(t *testing.T) {
	dir := newProject(t)
	ev := []byte(`{"schema":"` + pageViewKey + `","data":{"url":"https://shop.example/"},"event_id":"dup-1"}`)
	for range 2 {
		c := startCollector(t, dir)
		if status, _, body := c.post("/events", "application/json", ev); status != http.StatusOK {
			t.Fatalf("%d %s", status, body)
		}
		c.stop()
	}
	var n int
	if err := openStore(t, dir).QueryRow(`SELECT count(*) FROM events WHERE event_id = 'dup-1'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("event sent twice across a restart is stored %d times (%v), want once", n, err)
	}
}
