package e2e

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	analytics "github.com/segmentio/analytics-go/v3"
)

// The Segment sources the tests configure, and the contract whose tracking
// plan covers "Order Completed".
const (
	segWebKey       = "seg-test-key"
	segBlockKey     = "seg-block-key"
	segOrderKey     = "iglu:com.acme/order_completed/jsonschema/1-0-0"
	segOrderEvent   = "Order Completed"
	segLibraryName  = "analytics-go"
	segBatchPath    = "/v1/batch"
	segTrackPath    = "/v1/track"
	segTimeLayout   = "2006-01-02T15:04:05.000000Z"
	segUnknownKey   = "segment.unknown_write_key"
	segDuplicateKey = "segment.duplicates"
)

const segOrderContract = `{
	"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
	"description": "A customer completed an order.",
	"self": {"vendor": "com.acme", "name": "order_completed", "format": "jsonschema", "version": "1-0-0"},
	"x-accord": {"owner": "checkout-team@acme.example", "segment_events": ["Order Completed"]},
	"type": "object",
	"properties": {
		"order_id": {"type": "string", "minLength": 1, "description": "The order id."},
		"total": {"type": "number", "minimum": 0, "description": "Order total."},
		"currency": {"type": "string", "pattern": "^[A-Z]{3}$", "description": "ISO 4217 currency code."},
		"products": {
			"type": "array",
			"description": "What was bought.",
			"items": {
				"type": "object",
				"properties": {
					"sku": {"type": "string", "description": "Product SKU."},
					"quantity": {"type": "integer", "minimum": 1, "description": "How many."}
				},
				"required": ["sku", "quantity"],
				"additionalProperties": false
			}
		}
	},
	"required": ["order_id", "total", "currency"],
	"additionalProperties": false
}`

// segEnv configures two sources: web flags unplanned messages, server
// blocks them.
func segEnv() []string {
	return []string{
		"ACCORD_PROTOCOLS_SEGMENT_SOURCES_0_NAME=web",
		"ACCORD_PROTOCOLS_SEGMENT_SOURCES_0_WRITE_KEY=" + segWebKey,
		"ACCORD_PROTOCOLS_SEGMENT_SOURCES_0_UNPLANNED=flag",
		"ACCORD_PROTOCOLS_SEGMENT_SOURCES_1_NAME=server",
		"ACCORD_PROTOCOLS_SEGMENT_SOURCES_1_WRITE_KEY=" + segBlockKey,
		"ACCORD_PROTOCOLS_SEGMENT_SOURCES_1_UNPLANNED=block",
	}
}

// segResults is what the library's callback reports, by message id.
type segResults struct {
	mu      sync.Mutex
	ok      map[string]bool
	failed  map[string]error
	logLine []string
}

func (r *segResults) Success(m analytics.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ok[segMessageID(m)] = true
}

func (r *segResults) Failure(m analytics.Message, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed[segMessageID(m)] = err
}

func (r *segResults) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logLine = append(r.logLine, fmt.Sprintf(format, args...))
}

func (r *segResults) Errorf(format string, args ...any) { r.Logf("error: "+format, args...) }

func segMessageID(m analytics.Message) string {
	switch m := m.(type) {
	case analytics.Track:
		return m.MessageId
	case analytics.Identify:
		return m.MessageId
	case analytics.Page:
		return m.MessageId
	case analytics.Screen:
		return m.MessageId
	case analytics.Group:
		return m.MessageId
	case analytics.Alias:
		return m.MessageId
	}
	return fmt.Sprintf("%T", m)
}

// segSend sends msgs with a real analytics-go client using writeKey, closes
// it (which flushes every batch) and returns what its callback reported.
func segSend(t *testing.T, c *collector, writeKey string, msgs ...analytics.Message) *segResults {
	t.Helper()
	res := &segResults{ok: map[string]bool{}, failed: map[string]error{}}
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	client, err := analytics.NewWithConfig(writeKey, analytics.Config{
		Endpoint:  c.URL,
		BatchSize: 3,
		Interval:  50 * time.Millisecond,
		Transport: transport,
		Callback:  res,
		Logger:    res,
		// A refused batch is not retried for long: the client is closed
		// right after sending.
		RetryAfter: func(int) time.Duration { return 10 * time.Millisecond },
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if err := client.Enqueue(m); err != nil {
			t.Fatalf("enqueue %T: %v", m, err)
		}
	}
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	return res
}

// segBasic is the Authorization header Segment's libraries send.
func segBasic(writeKey string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(writeKey+":"))
}

// segContextLibrary returns attributes.context.library.name of a record.
func segContextLibrary(r spRecord) any {
	ctx, _ := r.Attributes["context"].(map[string]any)
	lib, _ := ctx["library"].(map[string]any)
	return lib["name"]
}

// TestSegmentLibraryEndToEnd sends every Segment call with analytics-go and
// checks each record field by field.
func TestSegmentLibraryEndToEnd(t *testing.T) {
	dir := newProject(t)
	writeContract(t, dir, segOrderKey, segOrderContract)
	c := startCollector(t, dir, segEnv()...)

	ts := func(sec int) time.Time { return time.Date(2026, 5, 1, 12, 30, sec, 123e6, time.UTC) }
	ctx := &analytics.Context{
		IP:     net.ParseIP("203.0.113.9"),
		Locale: "en-GB",
		Page:   analytics.PageInfo{URL: "https://shop.example.com/checkout", Title: "Checkout"},
	}
	planned := analytics.Track{
		MessageId: "seg-track-planned", UserId: "user-1", AnonymousId: "anon-1", Event: segOrderEvent, Timestamp: ts(1), Context: ctx,
		Properties: analytics.NewProperties().Set("order_id", "ord-1").Set("total", 42.5).Set("currency", "EUR").
			Set("products", []map[string]any{{"sku": "sku-1", "quantity": 2}}),
		Integrations: analytics.NewIntegrations().EnableAll().Disable("Mixpanel"),
	}
	unplanned := analytics.Track{
		MessageId: "seg-track-unplanned", UserId: "user-1", Event: "Newsletter Subscribed", Timestamp: ts(2),
		Properties: analytics.NewProperties().Set("list", "weekly"),
	}
	broken := analytics.Track{
		MessageId: "seg-track-broken", UserId: "user-1", Event: segOrderEvent, Timestamp: ts(3),
		Properties: analytics.NewProperties().Set("order_id", "ord-2").Set("total", -5).Set("currency", "euro"),
	}
	identify := analytics.Identify{
		MessageId: "seg-identify", UserId: "user-1", Timestamp: ts(4),
		Traits: analytics.NewTraits().SetEmail("ada@example.com").SetName("Ada").Set("plan", "pro"),
	}
	page := analytics.Page{
		MessageId: "seg-page", AnonymousId: "anon-1", Name: "Pricing", Timestamp: ts(5),
		Properties: analytics.NewProperties().SetURL("https://shop.example.com/pricing").SetTitle("Pricing"),
	}
	screen := analytics.Screen{
		MessageId: "seg-screen", UserId: "user-1", Name: "Home", Timestamp: ts(6),
		Properties: analytics.NewProperties().Set("variant", "b"),
	}
	group := analytics.Group{
		MessageId: "seg-group", UserId: "user-1", GroupId: "acme-inc", Timestamp: ts(7),
		Traits: analytics.NewTraits().SetName("Acme Inc").Set("employees", 100),
	}
	alias := analytics.Alias{MessageId: "seg-alias", PreviousId: "anon-1", UserId: "user-1", Timestamp: ts(8)}

	res := segSend(t, c, segWebKey, planned, unplanned, broken, identify, page, screen, group, alias)
	if len(res.ok) != 8 || len(res.failed) != 0 {
		t.Fatalf("analytics-go: %d sent, failed %v; log %v", len(res.ok), res.failed, res.logLine)
	}
	waitDelivered(t, c, 30*time.Second)
	db := openStore(t, dir)

	cases := []struct {
		name, id, schema, userID, anonymousID string
		payload                               string
		attrs                                 map[string]any
		planned                               bool
		created                               time.Time
		ownContext                            bool
	}{
		{name: "planned track", id: "seg-track-planned", schema: segOrderKey, userID: "user-1", anonymousID: "anon-1", planned: true, created: ts(1), ownContext: true,
			payload: `{"order_id":"ord-1","total":42.5,"currency":"EUR","products":[{"sku":"sku-1","quantity":2}]}`,
			attrs:   map[string]any{"type": "track", "event": segOrderEvent, "integrations": map[string]any{"all": true, "Mixpanel": false}}},
		{name: "unplanned track", id: "seg-track-unplanned", userID: "user-1", created: ts(2),
			payload: `{"list":"weekly"}`, attrs: map[string]any{"type": "track", "event": "Newsletter Subscribed"}},
		{name: "identify", id: "seg-identify", userID: "user-1", created: ts(4),
			payload: `{"email":"ada@example.com","name":"Ada","plan":"pro"}`, attrs: map[string]any{"type": "identify"}},
		{name: "page", id: "seg-page", anonymousID: "anon-1", created: ts(5),
			payload: `{"url":"https://shop.example.com/pricing","title":"Pricing"}`, attrs: map[string]any{"type": "page", "name": "Pricing"}},
		{name: "screen", id: "seg-screen", userID: "user-1", created: ts(6),
			payload: `{"variant":"b"}`, attrs: map[string]any{"type": "screen", "name": "Home"}},
		{name: "group", id: "seg-group", userID: "user-1", created: ts(7),
			payload: `{"name":"Acme Inc","employees":100}`, attrs: map[string]any{"type": "group", "groupId": "acme-inc"}},
		{name: "alias", id: "seg-alias", userID: "user-1", created: ts(8),
			payload: `{}`, attrs: map[string]any{"type": "alias", "previousId": "anon-1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := spOne(t, db, "events", tc.id)
			if !r.Valid || r.Protocol != "segment" || r.Schema != tc.schema {
				t.Errorf("valid %v protocol %q schema %q, want good segment record of %q", r.Valid, r.Protocol, r.Schema, tc.schema)
			}
			if r.Identity["user_id"] != tc.userID || r.Identity["anonymous_id"] != tc.anonymousID || r.Identity["network_user_id"] != "" {
				t.Errorf("identity %v, want user_id %q anonymous_id %q", r.Identity, tc.userID, tc.anonymousID)
			}
			spEqualJSON(t, "payload", r.Payload, spJSON(t, tc.payload))
			if r.CreatedAt.String != tc.created.Format(segTimeLayout) || !r.SentAt.Valid {
				t.Errorf("created_at %q sent_at %v, want created_at %s (the message timestamp) and the batch's sentAt", r.CreatedAt.String, r.SentAt, tc.created.Format(segTimeLayout))
			}
			if r.Source["path"] != segBatchPath || !strings.HasPrefix(r.Source["user_agent"], "analytics-go") {
				t.Errorf("source %v, want the library's batch request", r.Source)
			}
			if r.Attributes["source"] != "web" {
				t.Errorf("attributes.source = %v, want web", r.Attributes["source"])
			}
			for k, v := range tc.attrs {
				spEqualJSON(t, "attributes."+k, r.Attributes[k], v)
			}
			unplanned, ok := r.Attributes["unplanned"]
			if tc.planned && ok {
				t.Errorf("planned message marked unplanned: %v", r.Attributes)
			}
			if !tc.planned && unplanned != true {
				t.Errorf("attributes.unplanned = %v, want true (source web flags unplanned messages)", unplanned)
			}
			if tc.ownContext {
				spEqualJSON(t, "attributes.context", r.Attributes["context"],
					spJSON(t, `{"ip":"203.0.113.9","locale":"en-GB","page":{"url":"https://shop.example.com/checkout","title":"Checkout"}}`))
			} else if segContextLibrary(r) != segLibraryName {
				t.Errorf("attributes.context = %v, want the batch's context naming the library", r.Attributes["context"])
			}
		})
	}

	t.Run("planned event breaking its contract", func(t *testing.T) {
		if n := spCount(t, db, "events", "event_id = ?", "seg-track-broken"); n != 0 {
			t.Errorf("the broken event is stored good too")
		}
		r := spOne(t, db, "failed_events", "seg-track-broken")
		if r.FailureType != "schema_violation" || r.Schema != segOrderKey || r.Protocol != "segment" || !strings.Contains(r.Raw, `"messageId":"seg-track-broken"`) {
			t.Errorf("failure_type %q schema %q protocol %q raw %q", r.FailureType, r.Schema, r.Protocol, r.Raw)
		}
		// Every problem is listed, not only the first. (Accord points at
		// /data/..., the properties as the envelope's payload, rather
		// than /properties/... in the message as sent.)
		var found []string
		for _, m := range r.Failure.Messages {
			_, field, _ := strings.Cut(strings.TrimPrefix(m.InstancePath, "/"), "/")
			found = append(found, field+" "+m.Keyword+" "+m.SchemaPath)
		}
		if want := "currency pattern /properties/currency/pattern, total minimum /properties/total/minimum"; strings.Join(found, ", ") != want {
			t.Errorf("failure messages %q, want %q: %+v", found, want, r.Failure.Messages)
		}
	})
	c.stop()
}

// TestSegmentRefusalsDuplicatesAndPolicies covers what the library does not
// show: a wrong write key, a resent messageId, and a source that blocks
// unplanned messages.
func TestSegmentRefusalsDuplicatesAndPolicies(t *testing.T) {
	dir := newProject(t)
	writeContract(t, dir, segOrderKey, segOrderContract)
	c := startCollector(t, dir, segEnv()...)
	db := openStore(t, dir)
	rows := func() int {
		return spCount(t, db, "events", "protocol = 'segment'") + spCount(t, db, "failed_events", "protocol = 'segment'")
	}
	track := func(id, event string) []byte {
		return []byte(`{"messageId":"` + id + `","userId":"user-1","event":"` + event + `","properties":{"order_id":"ord-9","total":9,"currency":"EUR"},"timestamp":"2026-05-01T12:30:00.000Z"}`)
	}

	// A first good message, so the store exists before counting.
	if status, _, body := c.post(segTrackPath, "application/json", track("seg-first", segOrderEvent), "Authorization", segBasic(segWebKey)); status != http.StatusOK {
		t.Fatalf("track: %d %s", status, body)
	}
	waitDelivered(t, c, 30*time.Second)

	t.Run("wrong write key", func(t *testing.T) {
		before := rows()
		// With the library: it is answered 401 and reports the messages failed.
		res := segSend(t, c, "not-a-key", analytics.Track{MessageId: "seg-wrong-key", UserId: "user-1", Event: segOrderEvent})
		if len(res.ok) != 0 || res.failed["seg-wrong-key"] == nil || !strings.Contains(res.failed["seg-wrong-key"].Error(), "401") {
			t.Errorf("analytics-go with a wrong key: sent %v failed %v", res.ok, res.failed)
		}
		// And by hand, on a single call.
		status, _, body := c.post(segTrackPath, "application/json", track("seg-wrong-key-2", segOrderEvent), "Authorization", segBasic("not-a-key"))
		if status != http.StatusUnauthorized {
			t.Errorf("wrong key: %d %s, want 401", status, body)
		}
		waitDelivered(t, c, 30*time.Second)
		if after := rows(); after != before {
			t.Errorf("%d records before the wrong key, %d after; nothing should be stored", before, after)
		}
		if n := float64(c.protocolCounts()[segUnknownKey]); n < 2 {
			t.Errorf("/stats protocols[%s] = %v, want at least 2", segUnknownKey, n)
		}
	})

	t.Run("duplicate messageId", func(t *testing.T) {
		for i := 0; i < 2; i++ {
			status, _, body := c.post(segTrackPath, "application/json", track("seg-dup", segOrderEvent), "Authorization", segBasic(segWebKey), "X-Request-Id", fmt.Sprintf("seg-dup-%d", i))
			if status != http.StatusOK {
				t.Fatalf("send %d: %d %s", i, status, body)
			}
			if i == 1 {
				if r := decodeInto[collectResponse](t, body); r.Received != 0 {
					t.Errorf("the resent message was taken: %s", body)
				}
			}
		}
		waitDelivered(t, c, 30*time.Second)
		recs := spQuery(t, db, "events", "event_id = 'seg-dup'")
		if len(recs) != 1 || recs[0].RequestID != "seg-dup-0" {
			t.Errorf("records of seg-dup: %+v, want the first request's only", recs)
		}
		if n := spCount(t, db, "failed_events", "event_id = 'seg-dup'"); n != 0 {
			t.Errorf("the duplicate was stored failed")
		}
		if n := float64(c.protocolCounts()[segDuplicateKey]); n < 1 {
			t.Errorf("/stats protocols[%s] = %v, want at least 1", segDuplicateKey, n)
		}
	})

	t.Run("blocked unplanned message", func(t *testing.T) {
		res := segSend(t, c, segBlockKey,
			analytics.Track{MessageId: "seg-blocked", UserId: "user-2", Event: "Coupon Applied", Properties: analytics.NewProperties().Set("coupon", "SPRING")},
			analytics.Track{MessageId: "seg-block-planned", UserId: "user-2", Event: segOrderEvent,
				Properties: analytics.NewProperties().Set("order_id", "ord-3").Set("total", 10).Set("currency", "USD")},
		)
		if len(res.ok) != 2 {
			t.Fatalf("analytics-go: sent %v failed %v", res.ok, res.failed)
		}
		waitDelivered(t, c, 30*time.Second)
		r := spOne(t, db, "failed_events", "seg-blocked")
		if r.FailureType != "unplanned_event" || r.Protocol != "segment" || r.Attributes["source"] != "server" || !strings.Contains(r.Raw, `"Coupon Applied"`) {
			t.Errorf("blocked message: failure_type %q protocol %q attributes %v raw %q", r.FailureType, r.Protocol, r.Attributes, r.Raw)
		}
		if len(r.Failure.Messages) == 0 || !strings.Contains(r.Failure.Messages[0].Message, "Coupon Applied") {
			t.Errorf("blocked message: failure %+v, want it to name the event", r.Failure)
		}
		if n := spCount(t, db, "events", "event_id = 'seg-blocked'"); n != 0 {
			t.Errorf("the blocked message is stored good too")
		}
		// The block source still takes what its plan covers.
		ok := spOne(t, db, "events", "seg-block-planned")
		if ok.Schema != segOrderKey || ok.Attributes["source"] != "server" {
			t.Errorf("planned message from the block source: schema %q attributes %v", ok.Schema, ok.Attributes)
		}
	})
	c.stop()
}

// A Segment message a source blocked as unplanned is recovered by accord
// replay once a contract lists it in its tracking plan.
func TestSegmentReplayOfUnplannedEvents(t *testing.T) {
	dir := newProject(t)
	env := []string{"ACCORD_PROTOCOLS_SEGMENT_SOURCES_0_NAME=server", "ACCORD_PROTOCOLS_SEGMENT_SOURCES_0_WRITE_KEY=replay-key",
		"ACCORD_PROTOCOLS_SEGMENT_SOURCES_0_UNPLANNED=block"}
	c := startCollector(t, dir, env...)
	body := `{"type":"track","event":"Coupon Applied","messageId":"coupon-1","userId":"u-1","properties":{"code":"SPRING"},"timestamp":"2026-12-01T10:00:00Z"}`
	status, _, resp := c.post("/v1/track", "application/json", []byte(body), "Authorization", segBasic("replay-key"))
	if status != http.StatusOK || !strings.Contains(string(resp), `"type":"unplanned_event"`) {
		t.Fatalf("%d %s", status, resp)
	}
	waitDelivered(t, c, 10*time.Second)
	c.stop()
	writeContract(t, dir, "iglu:com.example/coupon_applied/jsonschema/1-0-0", `{
  "$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
  "self": {"vendor": "com.example", "name": "coupon_applied", "format": "jsonschema", "version": "1-0-0"},
  "x-accord": {"owner": "growth@example.com", "segment_events": ["Coupon Applied"]},
  "type": "object", "properties": {"code": {"type": "string"}}, "required": ["code"], "additionalProperties": false}`)
	out, stderr, code := runAccordEnv(t, dir, env, nil, "replay", "--from-sink", "store", "--type", "unplanned_event")
	if code != 0 || !strings.Contains(out, "1 now good") {
		t.Fatalf("replay: exit %d\n%s%s", code, out, stderr)
	}
	var schema, replayed string
	if err := openStore(t, dir).QueryRow("SELECT schema, replayed_at FROM events WHERE event_id = 'coupon-1'").Scan(&schema, &replayed); err != nil {
		t.Fatalf("the replayed message is not in events: %v", err)
	}
	if schema != "iglu:com.example/coupon_applied/jsonschema/1-0-0" || replayed == "" {
		t.Errorf("replayed record: schema %q, replayed_at %q", schema, replayed)
	}
}
