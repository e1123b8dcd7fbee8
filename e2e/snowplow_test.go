package e2e

import (
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	spmemory "github.com/snowplow/snowplow-golang-tracker/v3/pkg/storage/memory"
	sp "github.com/snowplow/snowplow-golang-tracker/v3/tracker"

	"github.com/accord-events/accord/internal/event"
)

// Contracts the Snowplow tests use: the built-in ones Accord ships for the
// tp2 event types, one self-describing event written into the project, and
// the context accord init writes.
const (
	spPageViewKey        = "iglu:com.snowplowanalytics.snowplow/page_view/jsonschema/1-0-0"
	spStructuredKey      = "iglu:com.snowplowanalytics.snowplow/structured_event/jsonschema/1-0-0"
	spTransactionKey     = "iglu:com.snowplowanalytics.snowplow/transaction/jsonschema/1-0-0"
	spTransactionItemKey = "iglu:com.snowplowanalytics.snowplow/transaction_item/jsonschema/1-0-0"
	spURIRedirectKey     = "iglu:com.snowplowanalytics.snowplow/uri_redirect/jsonschema/1-0-0"
	spLinkClickKey       = "iglu:com.acme/link_click/jsonschema/1-0-0"
	spUserContextKey     = "iglu:com.example/user/jsonschema/1-0-0"
	spPayloadDataKey     = "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4"
	spTrackerVersion     = "golang-3.1.0"
)

const spLinkClickContract = `{
	"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
	"description": "A visitor clicked a link on the site.",
	"self": {"vendor": "com.acme", "name": "link_click", "format": "jsonschema", "version": "1-0-0"},
	"x-accord": {"owner": "web-team@acme.example"},
	"type": "object",
	"properties": {
		"target_url": {"type": "string", "minLength": 1, "description": "Where the link goes."},
		"element_id": {"type": "string", "description": "The id of the link element."}
	},
	"required": ["target_url"],
	"additionalProperties": false
}`

// spRecord is one row of the events or failed_events table, its JSON
// columns decoded. The Segment tests read records with it too.
type spRecord struct {
	EventID, RequestID, Protocol, Schema, Vendor, Name, Version, Namespace string
	Valid                                                                  bool
	CreatedAt, SentAt                                                      sql.NullString
	Payload                                                                any
	PayloadText                                                            string
	Contexts                                                               []map[string]any
	Attributes                                                             map[string]any
	Identity, Source                                                       map[string]string
	// Failed records only.
	FailureType, Raw, RawEncoding string
	Failure                       event.Failure
}

// spQuery returns the records of table (events or failed_events) matching
// where, such as "event_id = ?".
func spQuery(t *testing.T, db *sql.DB, table, where string, args ...any) []spRecord {
	t.Helper()
	failed := table == "failed_events"
	cols := "event_id, request_id, protocol, schema, vendor, name, version, namespace, valid, created_at, sent_at, payload, contexts, attributes, identity, source"
	if failed {
		cols += ", failure_type, failure, raw, raw_encoding"
	}
	rows, err := db.Query("SELECT "+cols+" FROM "+table+" WHERE "+where+" ORDER BY collected_at", args...)
	if err != nil {
		t.Fatalf("query %s: %v", table, err)
	}
	defer rows.Close()
	var out []spRecord
	for rows.Next() {
		var r spRecord
		var eventID, payload, attributes, failureType, failure, raw, rawEncoding sql.NullString
		var contexts, identity, source string
		dest := []any{&eventID, &r.RequestID, &r.Protocol, &r.Schema, &r.Vendor, &r.Name, &r.Version, &r.Namespace, &r.Valid,
			&r.CreatedAt, &r.SentAt, &payload, &contexts, &attributes, &identity, &source}
		if failed {
			dest = append(dest, &failureType, &failure, &raw, &rawEncoding)
		}
		if err := rows.Scan(dest...); err != nil {
			t.Fatalf("scan %s: %v", table, err)
		}
		r.EventID, r.PayloadText = eventID.String, payload.String
		r.FailureType, r.Raw, r.RawEncoding = failureType.String, raw.String, rawEncoding.String
		spUnmarshal(t, "payload", payload, &r.Payload)
		spUnmarshal(t, "contexts", sql.NullString{String: contexts, Valid: true}, &r.Contexts)
		spUnmarshal(t, "attributes", attributes, &r.Attributes)
		spUnmarshal(t, "identity", sql.NullString{String: identity, Valid: true}, &r.Identity)
		spUnmarshal(t, "source", sql.NullString{String: source, Valid: true}, &r.Source)
		spUnmarshal(t, "failure", failure, &r.Failure)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func spUnmarshal(t *testing.T, column string, s sql.NullString, v any) {
	t.Helper()
	if !s.Valid {
		return
	}
	if err := json.Unmarshal([]byte(s.String), v); err != nil {
		t.Fatalf("column %s is not JSON: %v\n%s", column, err, s.String)
	}
}

// spOne returns the one record of table with the event id, failing the test
// when there is not exactly one.
func spOne(t *testing.T, db *sql.DB, table, eventID string) spRecord {
	t.Helper()
	recs := spQuery(t, db, table, "event_id = ?", eventID)
	if len(recs) != 1 {
		t.Fatalf("%d records with event_id %s in %s, want 1", len(recs), eventID, table)
	}
	return recs[0]
}

// spCount counts the rows of table matching where.
func spCount(t *testing.T, db *sql.DB, table, where string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM "+table+" WHERE "+where, args...).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// spJSON decodes a JSON literal for comparisons with decoded columns.
func spJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON in the test: %v: %s", err, s)
	}
	return v
}

// spEqualJSON reports got and want, both decoded JSON, differing.
func spEqualJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	// Round-trip got so that typed values ([]map[string]any) compare as
	// decoded JSON does.
	g, _ := json.Marshal(got)
	var norm any
	_ = json.Unmarshal(g, &norm)
	if !reflect.DeepEqual(norm, want) {
		w, _ := json.Marshal(want)
		t.Errorf("%s = %s, want %s", what, g, w)
	}
}

// spTime formats a tp2 millisecond timestamp as the envelope writes times.
func spTime(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000000Z")
}

// spSends records what the emitter's callback reports.
type spSends struct {
	mu               sync.Mutex
	ok, failed       int
	failedStatusSeen []int
}

// spTracker is a Snowplow golang tracker whose emitter sends to a collector
// and can be waited on.
type spTracker struct {
	*sp.Tracker
	emitter *sp.Emitter
	sends   *spSends
}

// spNewTracker returns a tracker sending to hostPort with requestType (GET or
// POST), as the subject.
func spNewTracker(t *testing.T, hostPort, requestType string, subject *sp.Subject) *spTracker {
	t.Helper()
	sends := &spSends{}
	transport := &http.Transport{}
	t.Cleanup(transport.CloseIdleConnections)
	emitter := sp.InitEmitter(
		sp.RequireCollectorUri(hostPort),
		sp.RequireStorage(*spmemory.Init()),
		sp.OptionRequestType(requestType),
		sp.OptionHttpClient(&http.Client{Transport: transport, Timeout: 10 * time.Second}),
		sp.OptionCallback(func(ok, failed []sp.CallbackResult) {
			sends.mu.Lock()
			defer sends.mu.Unlock()
			for _, r := range ok {
				sends.ok += r.Count
			}
			for _, r := range failed {
				sends.failed += r.Count
				sends.failedStatusSeen = append(sends.failedStatusSeen, r.Status)
			}
		}),
	)
	tr := sp.InitTracker(
		sp.RequireEmitter(emitter),
		sp.OptionSubject(subject),
		sp.OptionAppId("shop-"+strings.ToLower(requestType)),
		sp.OptionNamespace("sp-e2e"),
	)
	return &spTracker{Tracker: tr, emitter: emitter, sends: sends}
}

// send tracks with track and waits until the emitter has sent every stored
// event: the emitter sends from a goroutine, which Stop waits for, and an
// event added while its loop was ending waits for the next Flush.
func (st *spTracker) send(t *testing.T, track func()) {
	t.Helper()
	track()
	for attempt := 0; ; attempt++ {
		if st.emitter.SendChannel != nil {
			st.emitter.Stop()
		}
		if len(st.emitter.Storage.GetAllEventRows()) == 0 {
			break
		}
		if attempt == 20 {
			st.sends.mu.Lock()
			defer st.sends.mu.Unlock()
			t.Fatalf("the emitter could not send its events: %d failed, statuses %v", st.sends.failed, st.sends.failedStatusSeen)
		}
		time.Sleep(50 * time.Millisecond)
		st.emitter.Flush()
	}
	st.sends.mu.Lock()
	defer st.sends.mu.Unlock()
	if st.sends.failed > 0 {
		t.Fatalf("the collector refused %d of the tracker's events: statuses %v", st.sends.failed, st.sends.failedStatusSeen)
	}
}

func spStr(s string) *string   { return &s }
func spF64(f float64) *float64 { return &f }
func spI64(i int64) *int64     { return &i }
func spUUID() string           { return uuid.NewString() }
func spIsUUID(s string) bool   { _, err := uuid.Parse(s); return err == nil && len(s) == 36 }
func spQS(kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return q.Encode()
}

// TestSnowplowTrackerEndToEnd sends every kind of event the Snowplow golang
// tracker has, by POST and by GET, and checks each record field by field.
func TestSnowplowTrackerEndToEnd(t *testing.T) {
	dir := newProject(t)
	writeContract(t, dir, spLinkClickKey, spLinkClickContract)
	c := startCollector(t, dir)
	hostPort := strings.TrimPrefix(c.URL, "http://")

	type sent struct {
		requestType, userID, domainUserID, appID string
		pv, se, ue, tr, badContext               string
		items                                    [2]string
		dtm                                      int64
	}
	var sends []sent
	for _, requestType := range []string{"POST", "GET"} {
		s := sent{
			requestType: requestType, userID: "user-" + strings.ToLower(requestType), domainUserID: spUUID(),
			appID: "shop-" + strings.ToLower(requestType),
			pv:    spUUID(), se: spUUID(), ue: spUUID(), tr: spUUID(), badContext: spUUID(), items: [2]string{spUUID(), spUUID()},
			dtm: time.Date(2026, 3, 14, 15, 9, 26, 535e6, time.UTC).UnixMilli(),
		}
		subject := sp.InitSubject()
		subject.SetUserId(s.userID)
		subject.SetDomainUserId(s.domainUserID)
		subject.SetLanguage("en-GB")
		subject.SetTimeZone("Europe/London")
		subject.SetScreenResolution(1920, 1080)
		tr := spNewTracker(t, hostPort, requestType, subject)

		tr.send(t, func() {
			tr.TrackPageView(sp.PageViewEvent{
				PageUrl: spStr("https://shop.example.com/products?id=7"), PageTitle: spStr("Product 7"),
				Referrer: spStr("https://search.example/?q=shoes"), EventId: spStr(s.pv), Timestamp: spI64(s.dtm),
			})
		})
		tr.send(t, func() {
			tr.TrackStructEvent(sp.StructuredEvent{
				Category: spStr("shop"), Action: spStr("add-to-basket"), Label: spStr("red shoes"), Property: spStr("size 42"),
				Value: spF64(12.5), EventId: spStr(s.se), Timestamp: spI64(s.dtm),
			})
		})
		tr.send(t, func() {
			tr.TrackSelfDescribingEvent(sp.SelfDescribingEvent{
				Event: sp.InitSelfDescribingJson(spLinkClickKey, map[string]any{"target_url": "https://shop.example.com/sale", "element_id": "banner"}),
				Contexts: []sp.SelfDescribingJson{
					*sp.InitSelfDescribingJson(spUserContextKey, map[string]any{"id": "user-42", "plan": "pro"}),
				},
				EventId: spStr(s.ue), Timestamp: spI64(s.dtm),
			})
		})
		// A context that breaks its contract fails the event.
		tr.send(t, func() {
			tr.TrackSelfDescribingEvent(sp.SelfDescribingEvent{
				Event: sp.InitSelfDescribingJson(spLinkClickKey, map[string]any{"target_url": "https://shop.example.com/sale"}),
				Contexts: []sp.SelfDescribingJson{
					*sp.InitSelfDescribingJson(spUserContextKey, map[string]any{"id": "user-42", "plan": "gold"}),
				},
				EventId: spStr(s.badContext), Timestamp: spI64(s.dtm),
			})
		})
		tr.send(t, func() {
			tr.TrackEcommerceTransaction(sp.EcommerceTransactionEvent{
				OrderId: spStr("order-" + s.requestType), TotalValue: spF64(99.9), Affiliation: spStr("web-shop"),
				TaxValue: spF64(16.65), Shipping: spF64(4.95), City: spStr("London"), State: spStr("England"),
				Country: spStr("GB"), Currency: spStr("GBP"), EventId: spStr(s.tr), Timestamp: spI64(s.dtm),
				Items: []sp.EcommerceTransactionItemEvent{
					{Sku: spStr("sku-red-42"), Name: spStr("Red shoes"), Category: spStr("shoes"), Price: spF64(39.95), Quantity: spI64(2), EventId: spStr(s.items[0])},
					{Sku: spStr("sku-sock"), Price: spF64(5), Quantity: spI64(1), EventId: spStr(s.items[1])},
				},
			})
		})
		sends = append(sends, s)
	}

	waitDelivered(t, c, 30*time.Second)
	db := openStore(t, dir)

	for _, s := range sends {
		t.Run(s.requestType, func(t *testing.T) {
			path := map[string]string{"POST": "/com.snowplowanalytics.snowplow/tp2", "GET": "/i"}[s.requestType]
			// common checks what every event of the tracker carries.
			common := func(name string, r spRecord, schema, e string) {
				t.Helper()
				if !r.Valid || r.Protocol != "snowplow" || r.Schema != schema || r.Namespace != "sp-e2e" {
					t.Errorf("%s: valid %v protocol %q schema %q namespace %q", name, r.Valid, r.Protocol, r.Schema, r.Namespace)
				}
				key := strings.Split(strings.TrimPrefix(schema, "iglu:"), "/")
				if r.Vendor != key[0] || r.Name != key[1] || r.Version != key[3] {
					t.Errorf("%s: vendor %q name %q version %q, want the parts of %s", name, r.Vendor, r.Name, r.Version, schema)
				}
				if r.CreatedAt.String != spTime(s.dtm) {
					t.Errorf("%s: created_at %q, want %s (dtm)", name, r.CreatedAt.String, spTime(s.dtm))
				}
				if !r.SentAt.Valid {
					t.Errorf("%s: sent_at is null; the tracker sends stm", name)
				}
				if r.Identity["user_id"] != s.userID || r.Identity["anonymous_id"] != s.domainUserID || !spIsUUID(r.Identity["network_user_id"]) {
					t.Errorf("%s: identity %v, want user_id %s (uid), anonymous_id %s (duid) and a network_user_id from the sp cookie", name, r.Identity, s.userID, s.domainUserID)
				}
				if r.Source["ip"] != "127.0.0.1" || r.Source["path"] != path || !strings.HasPrefix(r.Source["user_agent"], "Go-http-client/") {
					t.Errorf("%s: source %v", name, r.Source)
				}
				want := map[string]string{"aid": s.appID, "p": "srv", "tv": spTrackerVersion, "e": e, "lang": "en-GB", "tz": "Europe/London", "res": "1920x1080"}
				for k, v := range want {
					if r.Attributes[k] != v {
						t.Errorf("%s: attributes.%s = %v, want %q (all: %v)", name, k, r.Attributes[k], v, r.Attributes)
					}
				}
				// Fields the envelope holds elsewhere are not repeated in attributes.
				for _, k := range []string{"eid", "dtm", "stm", "uid", "duid", "tna", "ue_px", "cx", "se_ca", "tr_id", "ti_sk"} {
					if _, ok := r.Attributes[k]; ok {
						t.Errorf("%s: attributes.%s is set (%v); it belongs to the envelope's own fields or payload", name, k, r.Attributes[k])
					}
				}
			}

			pv := spOne(t, db, "events", s.pv)
			common("page view", pv, spPageViewKey, "pv")
			spEqualJSON(t, "page view payload", pv.Payload, spJSON(t, `{"page_url":"https://shop.example.com/products?id=7","page_title":"Product 7","referrer":"https://search.example/?q=shoes"}`))
			if len(pv.Contexts) != 0 || pv.Attributes["url"] != "https://shop.example.com/products?id=7" || pv.Attributes["page"] != "Product 7" {
				t.Errorf("page view: contexts %v, attributes %v", pv.Contexts, pv.Attributes)
			}

			se := spOne(t, db, "events", s.se)
			common("structured event", se, spStructuredKey, "se")
			spEqualJSON(t, "structured event payload", se.Payload, spJSON(t, `{"category":"shop","action":"add-to-basket","label":"red shoes","property":"size 42","value":12.5}`))

			ue := spOne(t, db, "events", s.ue)
			common("self-describing event", ue, spLinkClickKey, "ue")
			spEqualJSON(t, "self-describing event payload", ue.Payload, spJSON(t, `{"target_url":"https://shop.example.com/sale","element_id":"banner"}`))
			spEqualJSON(t, "self-describing event contexts", ue.Contexts, spJSON(t, `[{"schema":"`+spUserContextKey+`","data":{"id":"`+pseudonym(t, dir, "user-42")+`","plan":"pro"}}]`))

			tr := spOne(t, db, "events", s.tr)
			common("transaction", tr, spTransactionKey, "tr")
			spEqualJSON(t, "transaction payload", tr.Payload, spJSON(t, `{"order_id":"order-`+s.requestType+`","affiliation":"web-shop","total":99.9,"tax":16.65,"shipping":4.95,"city":"London","state":"England","country":"GB","currency":"GBP"}`))

			item := spOne(t, db, "events", s.items[0])
			common("transaction item 1", item, spTransactionItemKey, "ti")
			spEqualJSON(t, "transaction item 1 payload", item.Payload, spJSON(t, `{"order_id":"order-`+s.requestType+`","sku":"sku-red-42","name":"Red shoes","category":"shoes","price":39.95,"quantity":2,"currency":"GBP"}`))
			item2 := spOne(t, db, "events", s.items[1])
			common("transaction item 2", item2, spTransactionItemKey, "ti")
			spEqualJSON(t, "transaction item 2 payload", item2.Payload, spJSON(t, `{"order_id":"order-`+s.requestType+`","sku":"sku-sock","price":5.00,"quantity":1,"currency":"GBP"}`))

			bad := spOne(t, db, "failed_events", s.badContext)
			if bad.Valid || bad.FailureType != "schema_violation" || bad.Schema != spLinkClickKey || bad.Protocol != "snowplow" || bad.Identity["user_id"] != s.userID {
				t.Errorf("event with a bad context: valid %v failure_type %q schema %q protocol %q identity %v", bad.Valid, bad.FailureType, bad.Schema, bad.Protocol, bad.Identity)
			}
			if m := bad.Failure.Messages; len(m) != 1 || m[0].Schema != spUserContextKey || m[0].InstancePath != "/contexts/0/data/plan" || m[0].Keyword != "enum" {
				t.Errorf("event with a bad context: failure messages %+v, want one enum problem at /contexts/0/data/plan", m)
			}
			// Its user context's id is marked hmac: the raw input keeps the
			// event with the context inside co or cx transformed by the same
			// rules (docs/privacy.md), and the contexts are transformed.
			if contexts := spRawContexts(t, bad.Raw); !strings.Contains(contexts, pseudonym(t, dir, "user-42")) || strings.Contains(contexts, "user-42\"") ||
				strings.Contains(bad.Raw, "user-42") || strings.Contains(fmt.Sprint(bad.Contexts), "user-42") {
				t.Errorf("event with a bad context: raw %q (%s), its contexts %s, record's contexts %s, want the id pseudonymised and no user-42", bad.Raw, bad.RawEncoding, contexts, bad.Contexts)
			}
		})
	}
	if n := spCount(t, db, "failed_events", "protocol = 'snowplow'"); n != len(sends) {
		t.Errorf("%d failed snowplow records, want only the %d events with a bad context: %+v", n, len(sends), spQuery(t, db, "failed_events", "protocol = 'snowplow'"))
	}
	c.stop()
}

// spGet sends GET path?query with headers (name, value pairs) and does not
// follow redirects.
func spGet(t *testing.T, c *collector, pathAndQuery string, headers ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.URL+pathAndQuery, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// spCookie returns the Set-Cookie of name in resp, or nil.
func spCookie(resp *http.Response, name string) *http.Cookie {
	for _, ck := range resp.Cookies() {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

// TestSnowplowCollectorBehaviour checks, over plain HTTP, what lies around
// the events: the network user id cookie, SP-Anonymous, redirects, CORS, and
// events that fail.
func TestSnowplowCollectorBehaviour(t *testing.T) {
	dir := newProject(t)
	// The shop's origin is listed, so its answers carry credentials, as
	// Snowplow's browser tracker (which sends its cookie) needs.
	// failed_raw: keep, so that failed records show the query refused
	// (the default withholds raw input that is not JSON).
	c := startCollector(t, dir, "ACCORD_PROTOCOLS_SNOWPLOW_REDIRECT_ALLOW=shop.example.com", "ACCORD_SERVER_CORS_ORIGINS=https://shop.example.com", "ACCORD_PRIVACY_FAILED_RAW=keep")
	pv := func(eid string) string {
		return "/i?" + spQS("e", "pv", "p", "web", "tv", "js-3.24.0", "url", "https://shop.example.com/", "eid", eid)
	}

	// The cookie: set on the first request, sent back on the next.
	first, second, anon, anonWithCookie := spUUID(), spUUID(), spUUID(), spUUID()
	resp := spGet(t, c, pv(first))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/gif" {
		t.Fatalf("GET /i: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ck := spCookie(resp, "sp")
	if ck == nil {
		t.Fatalf("GET /i set no sp cookie: %v", resp.Header.Values("Set-Cookie"))
	}
	if !spIsUUID(ck.Value) || !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteNoneMode || ck.Path != "/" || ck.MaxAge != 365*24*3600 {
		t.Errorf("sp cookie: %q (value %q HttpOnly %v Secure %v SameSite %v Path %q MaxAge %d)", resp.Header.Get("Set-Cookie"), ck.Value, ck.HttpOnly, ck.Secure, ck.SameSite, ck.Path, ck.MaxAge)
	}
	nuid := ck.Value
	resp = spGet(t, c, pv(second), "Cookie", "sp="+nuid)
	if again := spCookie(resp, "sp"); resp.StatusCode != http.StatusOK || again == nil || again.Value != nuid {
		t.Errorf("GET /i with the cookie: %d, Set-Cookie %v; want the same id renewed", resp.StatusCode, resp.Header.Values("Set-Cookie"))
	}

	// SP-Anonymous: no cookie, no IP, no network user id, even with a cookie sent.
	for _, tc := range []struct {
		name, eid string
		headers   []string
	}{
		{"SP-Anonymous", anon, []string{"SP-Anonymous", "*"}},
		{"SP-Anonymous with a cookie", anonWithCookie, []string{"SP-Anonymous", "*", "Cookie", "sp=" + nuid}},
	} {
		resp := spGet(t, c, pv(tc.eid), tc.headers...)
		if resp.StatusCode != http.StatusOK || len(resp.Header.Values("Set-Cookie")) != 0 {
			t.Errorf("%s: %d, Set-Cookie %v; want 200 without a cookie", tc.name, resp.StatusCode, resp.Header.Values("Set-Cookie"))
		}
	}

	// Redirects: allowed targets are followed and recorded; others refused.
	landing := "https://shop.example.com/landing?ref=news"
	resp = spGet(t, c, "/r/tp2?"+spQS("u", landing), "X-Request-Id", "sp-redirect")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != landing {
		t.Errorf("redirect to an allowed host: %d Location %q, want 302 to %s", resp.StatusCode, resp.Header.Get("Location"), landing)
	}
	if spCookie(resp, "sp") == nil {
		t.Errorf("redirect set no sp cookie: %v", resp.Header.Values("Set-Cookie"))
	}
	redirectEvent := spUUID()
	resp = spGet(t, c, "/r/tp2?"+spQS("e", "se", "p", "web", "tv", "js-3.24.0", "se_ca", "email", "se_ac", "click", "eid", redirectEvent, "u", landing))
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != landing {
		t.Errorf("redirect with an event: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	refused := []struct{ name, target string }{
		{"other host", "https://evil.com/"},
		{"allowed host as a prefix", "https://shop.example.com.evil.com/"},
		{"userinfo", "https://shop.example.com@evil.com/"},
		{"protocol-relative", "//evil.com/"},
		{"javascript", "javascript:alert(1)"},
	}
	for i, tc := range refused {
		resp := spGet(t, c, "/r/tp2?"+spQS("u", tc.target), "X-Request-Id", fmt.Sprintf("sp-refused-%d", i))
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Errorf("redirect to %s (%s): %d Location %q, want 400 and no Location", tc.target, tc.name, resp.StatusCode, resp.Header.Get("Location"))
		}
	}

	// A batch with a good event, one without e and one with a broken ue_px.
	good, noE, badBase64 := spUUID(), spUUID(), spUUID()
	noEJSON := `{"p":"web","tv":"js-3.24.0","eid":"` + noE + `","url":"https://shop.example.com/"}`
	body := `{"schema":"` + spPayloadDataKey + `","data":[` +
		`{"e":"pv","p":"web","tv":"js-3.24.0","eid":"` + good + `","url":"https://shop.example.com/cart"},` + noEJSON + `,` +
		`{"e":"ue","p":"web","tv":"js-3.24.0","eid":"` + badBase64 + `","ue_px":"%%not*base64%%"}]}`
	status, hdr, respBody := c.post("/com.snowplowanalytics.snowplow/tp2", "application/json", []byte(body), "Origin", "https://shop.example.com")
	r := decodeInto[collectResponse](t, respBody)
	if status != http.StatusOK || r.Received != 3 || r.Good != 1 || r.Failed != 2 || len(r.Failures) != 2 ||
		r.Failures[0].Index != 1 || r.Failures[0].Type != "protocol_violation" || r.Failures[1].Index != 2 || r.Failures[1].Type != "payload_format_violation" {
		t.Errorf("tp2 batch: %d %s", status, respBody)
	}
	if hdr.Get("Access-Control-Allow-Origin") != "https://shop.example.com" {
		t.Errorf("POST with Origin: Access-Control-Allow-Origin %q, want the origin echoed", hdr.Get("Access-Control-Allow-Origin"))
	}

	// CORS preflight.
	req, err := http.NewRequest(http.MethodOptions, c.URL+"/com.snowplowanalytics.snowplow/tp2", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", "https://shop.example.com")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	req.Header.Set("X-Request-Id", "sp-preflight")
	presp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	presp.Body.Close()
	// Snowplow's browser tracker sends its cookie (credentials), so the
	// origin is echoed, never *, and credentials are allowed.
	if presp.StatusCode != http.StatusNoContent || presp.Header.Get("Access-Control-Allow-Origin") != "https://shop.example.com" ||
		presp.Header.Get("Access-Control-Allow-Credentials") != "true" ||
		!strings.Contains(presp.Header.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.EqualFold(presp.Header.Get("Access-Control-Allow-Headers"), "content-type") {
		t.Errorf("preflight: %d %v", presp.StatusCode, presp.Header)
	}

	waitDelivered(t, c, 30*time.Second)
	db := openStore(t, dir)

	t.Run("cookie", func(t *testing.T) {
		for _, eid := range []string{first, second} {
			rec := spOne(t, db, "events", eid)
			if rec.Identity["network_user_id"] != nuid || rec.Source["ip"] != "127.0.0.1" {
				t.Errorf("event %s: identity %v source %v, want network_user_id %s (the cookie's)", eid, rec.Identity, rec.Source, nuid)
			}
			spEqualJSON(t, "pixel page view payload", rec.Payload, spJSON(t, `{"page_url":"https://shop.example.com/"}`))
			if rec.Schema != spPageViewKey || rec.Protocol != "snowplow" || rec.Source["path"] != "/i" || rec.Attributes["p"] != "web" || rec.Attributes["tv"] != "js-3.24.0" {
				t.Errorf("event %s: schema %s protocol %s source %v attributes %v", eid, rec.Schema, rec.Protocol, rec.Source, rec.Attributes)
			}
		}
	})
	t.Run("SP-Anonymous", func(t *testing.T) {
		for _, eid := range []string{anon, anonWithCookie} {
			rec := spOne(t, db, "events", eid)
			if rec.Source["ip"] != "" || rec.Identity["network_user_id"] != "" || !rec.Valid {
				t.Errorf("anonymous event %s: source %v identity %v valid %v; want no IP and no network user id", eid, rec.Source, rec.Identity, rec.Valid)
			}
		}
	})
	t.Run("redirect", func(t *testing.T) {
		recs := spQuery(t, db, "events", "request_id = ?", "sp-redirect")
		if len(recs) != 1 {
			t.Fatalf("%d records for the redirect, want 1", len(recs))
		}
		rec := recs[0]
		if rec.Schema != spURIRedirectKey || !rec.Valid || rec.Protocol != "snowplow" || rec.Source["path"] != "/r/tp2" || !spIsUUID(rec.Identity["network_user_id"]) {
			t.Errorf("redirect record: schema %s valid %v protocol %s source %v identity %v", rec.Schema, rec.Valid, rec.Protocol, rec.Source, rec.Identity)
		}
		spEqualJSON(t, "redirect payload", rec.Payload, spJSON(t, `{"uri":"`+landing+`"}`))

		withEvent := spOne(t, db, "events", redirectEvent)
		if withEvent.Schema != spStructuredKey || withEvent.Source["path"] != "/r/tp2" {
			t.Errorf("redirect with an event: schema %s source %v", withEvent.Schema, withEvent.Source)
		}
		spEqualJSON(t, "redirect event payload", withEvent.Payload, spJSON(t, `{"category":"email","action":"click"}`))
		if _, ok := withEvent.Attributes["u"]; ok {
			t.Errorf("redirect with an event keeps its target in attributes.u: %v", withEvent.Attributes)
		}
		if n := spCount(t, db, "events", "schema = ?", spURIRedirectKey); n != 1 {
			t.Errorf("%d uri_redirect records, want 1 (only the allowed redirect without an event)", n)
		}

		for i, tc := range refused {
			id := fmt.Sprintf("sp-refused-%d", i)
			if n := spCount(t, db, "events", "request_id = ?", id); n != 0 {
				t.Errorf("refused redirect to %s: %d good records", tc.target, n)
			}
			failed := spQuery(t, db, "failed_events", "request_id = ?", id)
			if len(failed) != 1 || failed[0].FailureType != "protocol_violation" || !strings.Contains(failed[0].Raw, url.QueryEscape(tc.target)) {
				t.Errorf("refused redirect to %s (%s): failed records %+v, want one protocol_violation keeping the query", tc.target, tc.name, failed)
			}
		}
	})
	t.Run("failures", func(t *testing.T) {
		if rec := spOne(t, db, "events", good); rec.Schema != spPageViewKey || rec.Source["origin"] != "https://shop.example.com" {
			t.Errorf("good event of the batch: schema %s source %v", rec.Schema, rec.Source)
		}
		missing := spOne(t, db, "failed_events", noE)
		if missing.Valid || missing.FailureType != "protocol_violation" || missing.Protocol != "snowplow" || missing.Raw != noEJSON || missing.RawEncoding != "text" {
			t.Errorf("event without e: valid %v failure_type %q protocol %q raw %q (%s)", missing.Valid, missing.FailureType, missing.Protocol, missing.Raw, missing.RawEncoding)
		}
		if missing.Failure.Type != event.ProtocolViolation || len(missing.Failure.Messages) == 0 || missing.Failure.Messages[0].InstancePath != "/e" {
			t.Errorf("event without e: failure %+v, want a message at /e", missing.Failure)
		}
		b64 := spOne(t, db, "failed_events", badBase64)
		if b64.FailureType != "payload_format_violation" || len(b64.Failure.Messages) == 0 || b64.Failure.Messages[0].InstancePath != "/ue_px" || !strings.Contains(b64.Raw, "%%not*base64%%") {
			t.Errorf("event with a broken ue_px: failure_type %q failure %+v raw %q", b64.FailureType, b64.Failure, b64.Raw)
		}
	})
	t.Run("preflight stores nothing", func(t *testing.T) {
		if n := spCount(t, db, "events", "request_id = 'sp-preflight'") + spCount(t, db, "failed_events", "request_id = 'sp-preflight'"); n != 0 {
			t.Errorf("the preflight stored %d records", n)
		}
	})
	c.stop()
}

// spRawContexts returns the contexts document a failed record's raw input
// (a tp2 event object, or a GET query string) carries in co or cx.
func spRawContexts(t *testing.T, raw string) string {
	t.Helper()
	fields := map[string]string{}
	if strings.HasPrefix(raw, "{") {
		if err := json.Unmarshal([]byte(raw), &fields); err != nil {
			t.Errorf("raw %q: %v", raw, err)
		}
	} else {
		q, err := url.ParseQuery(raw)
		if err != nil {
			t.Errorf("raw %q: %v", raw, err)
		}
		for name := range q {
			fields[name] = q.Get(name)
		}
	}
	if co, ok := fields["co"]; ok {
		return co
	}
	b, err := base64.RawURLEncoding.DecodeString(fields["cx"])
	if err != nil {
		t.Errorf("raw %q: cx is not base64url without padding: %v", raw, err)
	}
	return string(b)
}
