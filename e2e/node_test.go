package e2e

// End-to-end tests with the real Node.js client libraries: Snowplow's node
// tracker, Segment's analytics-node and the CloudEvents SDK. Each test starts
// the accord binary, runs a script of e2e/node that sends events with one
// library and prints what it sent, waits until the sinks have delivered, and
// reads what landed in the SQLite store, field by field. The libraries are
// pinned in e2e/node/package-lock.json and installed by scripts/test
// (npm ci --prefix e2e/node). Run them alone with
//
//	go test ./e2e -run TestNode -v

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/event/eventtest"
	"github.com/accord-events/accord/internal/testenv"
)

// nodeDir holds the client scripts and the package.json of their libraries.
const nodeDir = "node"

// nodeBinary returns the path of node. Without node the test is skipped,
// except in CI (CI=true), where a missing node is a broken machine.
func nodeBinary(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Missing(t, "node is not on PATH (%v); install Node.js 20 or later to run the Node.js client tests", err)
	}
	if _, err := os.Stat(filepath.Join(nodeDir, "node_modules")); err != nil {
		t.Fatalf("e2e/node/node_modules is missing (%v): run npm ci --prefix e2e/node (scripts/test does it)", err)
	}
	return node
}

// nodeExec runs a script of e2e/node with extra environment and returns its
// output; err is the script's failure (an *exec.ExitError for a non-zero
// exit).
func nodeExec(t *testing.T, node, script string, env ...string) (stdout, stderr string, err error) {
	t.Helper()
	return nodeExecIn(t, nodeDir, node, script, env...)
}

// nodeExecIn runs a script of the directory dir (relative to e2e).
func nodeExecIn(t *testing.T, dir, node, script string, env ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("node %s did not finish within 2 minutes\nstderr:\n%s", script, errb.String())
	}
	return out.String(), errb.String(), err
}

// nodeRun runs a script that must succeed and decodes the JSON summary it
// prints.
func nodeRun[T any](t *testing.T, node, script string, env ...string) T {
	t.Helper()
	stdout, stderr, err := nodeExec(t, node, script, env...)
	if err != nil {
		t.Fatalf("node %s: %v\nstdout:\n%s\nstderr:\n%s", script, err, stdout, stderr)
	}
	var summary T
	if err := json.Unmarshal([]byte(stdout), &summary); err != nil {
		t.Fatalf("node %s printed no JSON summary: %v\nstdout:\n%s\nstderr:\n%s", script, err, stdout, stderr)
	}
	return summary
}

// nodePackageVersion returns the installed version of an npm package of
// e2e/node, which the libraries write on what they send.
func nodePackageVersion(t *testing.T, pkg string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(nodeDir, "node_modules", pkg, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(data, &p); err != nil || p.Version == "" {
		t.Fatalf("read the version of %s: %v", pkg, err)
	}
	return p.Version
}

// nodeRecord is one row of the store, good (events) or failed
// (failed_events), its JSON columns decoded.
type nodeRecord struct {
	EventID    string
	Valid      bool
	Protocol   string
	Schema     string
	Namespace  string
	CreatedAt  string
	SentAt     sql.NullString
	Payload    string
	Contexts   string // JSON, as stored
	Attributes map[string]any
	Identity   nodeIdentity
	Source     struct {
		Path string `json:"path"`
	}
	FailureType string // empty for a good record
	Failure     string
}

// nodeIdentity is a record's identity.
type nodeIdentity struct {
	UserID        string `json:"user_id"`
	AnonymousID   string `json:"anonymous_id"`
	NetworkUserID string `json:"network_user_id"`
}

// nodeRecords returns every record of protocol in the project's store, good
// and failed, by event id; an event id stored twice fails the test.
func nodeRecords(t *testing.T, dir, protocol string) map[string]nodeRecord {
	t.Helper()
	db := openStore(t, dir)
	const cols = `event_id, valid, protocol, schema, namespace, created_at, sent_at, payload, contexts, attributes, identity, source`
	rows, err := db.Query(`SELECT `+cols+`, '', '' FROM events WHERE protocol = ?
		UNION ALL SELECT `+cols+`, failure_type, failure FROM failed_events WHERE protocol = ?`, protocol, protocol)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	recs := map[string]nodeRecord{}
	for rows.Next() {
		var r nodeRecord
		var createdAt, payload, attributes sql.NullString
		var identity, source string
		if err := rows.Scan(&r.EventID, &r.Valid, &r.Protocol, &r.Schema, &r.Namespace, &createdAt, &r.SentAt, &payload,
			&r.Contexts, &attributes, &identity, &source, &r.FailureType, &r.Failure); err != nil {
			t.Fatal(err)
		}
		r.CreatedAt, r.Payload = createdAt.String, payload.String
		if err := json.Unmarshal([]byte(identity), &r.Identity); err != nil {
			t.Fatalf("%s: identity is not a JSON object: %v: %s", r.EventID, err, identity)
		}
		if err := json.Unmarshal([]byte(source), &r.Source); err != nil {
			t.Fatalf("%s: source is not a JSON object: %v: %s", r.EventID, err, source)
		}
		if attributes.Valid {
			if err := json.Unmarshal([]byte(attributes.String), &r.Attributes); err != nil {
				t.Fatalf("%s: attributes is not a JSON object: %v: %s", r.EventID, err, attributes.String)
			}
		}
		if _, dup := recs[r.EventID]; dup {
			t.Errorf("event %s is stored more than once", r.EventID)
		}
		recs[r.EventID] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return recs
}

// nodeRecordOf returns the record of id, failing the test when there is none.
func nodeRecordOf(t *testing.T, recs map[string]nodeRecord, what, id string) nodeRecord {
	t.Helper()
	r, ok := recs[id]
	if !ok {
		t.Fatalf("%s (event_id %s) is not in the store", what, id)
	}
	return r
}

// nodeSameJSON reports whether two JSON texts hold the same value.
func nodeSameJSON(t *testing.T, got, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %s: %v", want, err)
	}
	return json.Unmarshal([]byte(got), &g) == nil && reflect.DeepEqual(g, w)
}

// nodeCheck asserts valid and schema, and that the payload is exactly
// wantPayload (JSON), unless wantPayload is empty.
func nodeCheck(t *testing.T, what string, r nodeRecord, valid bool, schema, wantPayload string) {
	t.Helper()
	if r.Valid != valid || (valid && r.FailureType != "") {
		t.Errorf("%s: valid = %v (failure %q), want %v", what, r.Valid, r.FailureType, valid)
	}
	if r.Schema != schema {
		t.Errorf("%s: schema = %q, want %q", what, r.Schema, schema)
	}
	if wantPayload != "" && !nodeSameJSON(t, r.Payload, wantPayload) {
		t.Errorf("%s: payload = %s, want %s", what, r.Payload, wantPayload)
	}
}

// nodeAttr asserts one attribute, following a dotted path into objects.
func nodeAttr(t *testing.T, what string, r nodeRecord, path string, want any) {
	t.Helper()
	var v any = r.Attributes
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			v = nil
			break
		}
		v = m[k]
	}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("%s: attributes.%s = %#v, want %#v (attributes %v)", what, path, v, want, r.Attributes)
	}
}

// nodeCheckEnvelopes stops the collector and validates every record the
// file sink wrote against the envelope's JSON Schema.
func nodeCheckEnvelopes(t *testing.T, c *collector, dir string) {
	t.Helper()
	c.stop()
	for _, name := range []string{"good.ndjson", "failed.ndjson"} {
		for _, l := range readNDJSON(t, filepath.Join(dir, "accord-data", name)) {
			eventtest.CheckJSON(t, l)
		}
	}
}

var nodeUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

const (
	nodeSnowplowPageView    = "iglu:com.snowplowanalytics.snowplow/page_view/jsonschema/1-0-0"
	nodeSnowplowStructured  = "iglu:com.snowplowanalytics.snowplow/structured_event/jsonschema/1-0-0"
	nodeSnowplowTransaction = "iglu:com.snowplowanalytics.snowplow/transaction/jsonschema/1-0-0"
	nodeSnowplowItem        = "iglu:com.snowplowanalytics.snowplow/transaction_item/jsonschema/1-0-0"
)

// TestNodeSnowplow sends with @snowplow/node-tracker: over POST a batch of a
// page view, a structured event, a self-describing event with a context, an
// ecommerce transaction and its item, and a self-describing event that breaks
// its contract; over GET a page view and a self-describing event with a
// context.
func TestNodeSnowplow(t *testing.T) {
	node := nodeBinary(t)
	tv := "node-" + nodePackageVersion(t, "@snowplow/node-tracker")
	dir := newProject(t)
	c := startCollector(t, dir, "ACCORD_SINKS_1_NAME=files", "ACCORD_SINKS_1_TYPE=file")

	sent := nodeRun[struct {
		Events []struct{ Name, Tracker, EID string }
		// Requests counts the HTTP requests the trackers made.
		Requests int
	}](t, node, "snowplow.mjs", "ACCORD_URL="+c.URL)
	eid := map[string]string{}
	for _, e := range sent.Events {
		eid[e.Name] = e.EID
	}
	// One POST carried the six events of the post tracker; GET sends one event a request.
	if len(sent.Events) != 8 || sent.Requests != 3 {
		t.Fatalf("the script sent %d events in %d requests, want 8 in 3: %+v", len(sent.Events), sent.Requests, sent)
	}

	waitDelivered(t, c, 30*time.Second)
	recs := nodeRecords(t, dir, "snowplow")
	if len(recs) != len(sent.Events) {
		t.Errorf("the store holds %d Snowplow records, want %d", len(recs), len(sent.Events))
	}

	const created = "2026-11-25T08:30:00.123000Z"
	// The example user contract marks id hmac (docs/privacy.md).
	userContext := `[{"schema":"` + userKey + `","data":{"id":"` + pseudonym(t, dir, "user-42") + `","plan":"pro"}}]`
	for _, tc := range []struct {
		name    string
		valid   bool
		schema  string
		payload string
		attrs   map[string]any // besides the tracker's own, checked for every event
	}{
		{"page_view", true, nodeSnowplowPageView,
			`{"page_url":"https://shop.example/products/42","page_title":"Product 42","referrer":"https://search.example/?q=shirt"}`,
			map[string]any{"e": "pv", "url": "https://shop.example/products/42", "page": "Product 42", "refr": "https://search.example/?q=shirt"}},
		{"structured_event", true, nodeSnowplowStructured,
			`{"category":"basket","action":"add","label":"sku-42","property":"size-m","value":12.5}`,
			map[string]any{"e": "se"}},
		{"checkout_completed", true, checkoutKey,
			`{"order_id":"ord-sp-1","total":25.5,"currency":"EUR","items":[{"sku":"sku-42","quantity":2,"price":12.75}]}`,
			map[string]any{"e": "ue"}},
		{"transaction", true, nodeSnowplowTransaction,
			`{"order_id":"ord-sp-1","total":25.5,"affiliation":"web-shop","tax":4.25,"shipping":0,"city":"Lyon","state":"Rhone","country":"FR","currency":"EUR"}`,
			map[string]any{"e": "tr"}},
		{"transaction_item", true, nodeSnowplowItem,
			`{"order_id":"ord-sp-1","sku":"sku-42","name":"T-shirt","category":"apparel","price":12.75,"quantity":2,"currency":"EUR"}`,
			map[string]any{"e": "ti"}},
		{"checkout_invalid", false, checkoutKey,
			`{"order_id":"ord-sp-2","total":-1,"currency":"EUR","items":[{"sku":"sku-1","quantity":1}]}`,
			map[string]any{"e": "ue"}},
		{"page_view_get", true, nodeSnowplowPageView,
			`{"page_url":"https://shop.example/basket","page_title":"Basket"}`,
			map[string]any{"e": "pv", "url": "https://shop.example/basket", "page": "Basket"}},
		{"checkout_completed_get", true, checkoutKey,
			`{"order_id":"ord-sp-3","total":9,"currency":"USD","items":[{"sku":"sku-3","quantity":1}]}`,
			map[string]any{"e": "ue"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !nodeUUID.MatchString(eid[tc.name]) {
				t.Fatalf("the tracker's event id %q is not a UUID", eid[tc.name])
			}
			r := nodeRecordOf(t, recs, tc.name, eid[tc.name])
			nodeCheck(t, tc.name, r, tc.valid, tc.schema, tc.payload)
			if r.Protocol != "snowplow" || r.CreatedAt != created || !r.SentAt.Valid {
				t.Errorf("protocol %q created_at %q sent_at %v, want snowplow, %s (dtm) and the tracker's stm", r.Protocol, r.CreatedAt, r.SentAt, created)
			}
			for k, v := range tc.attrs {
				nodeAttr(t, tc.name, r, k, v)
			}
			nodeAttr(t, tc.name, r, "tv", tv)
			nodeAttr(t, tc.name, r, "p", "srv")
			nodeAttr(t, tc.name, r, "aid", "accord-e2e")
			for _, mapped := range []string{"eid", "tna", "uid", "duid", "nuid", "dtm", "stm", "ue_px", "ue_pr", "co", "cx"} {
				if _, ok := r.Attributes[mapped]; ok {
					t.Errorf("attributes.%s is kept, but it lands in its own envelope field: %v", mapped, r.Attributes)
				}
			}
			wantContexts := "[]"
			if strings.HasPrefix(tc.name, "checkout_completed") {
				wantContexts = userContext
			}
			if !nodeSameJSON(t, r.Contexts, wantContexts) {
				t.Errorf("contexts = %s, want %s", r.Contexts, wantContexts)
			}
			if strings.HasSuffix(tc.name, "_get") {
				// The GET tracker sets only a user id; the collector gives
				// each request without its cookie a new network user id.
				if r.Namespace != "shop-get" || r.Source.Path != "/i" {
					t.Errorf("namespace %q path %q, want shop-get and /i", r.Namespace, r.Source.Path)
				}
				if r.Identity.UserID != "user-43" || r.Identity.AnonymousID != "" || !nodeUUID.MatchString(r.Identity.NetworkUserID) {
					t.Errorf("identity %+v, want user-43, no anonymous id and a network user id from the collector", r.Identity)
				}
				return
			}
			if r.Namespace != "shop-post" || r.Source.Path != "/com.snowplowanalytics.snowplow/tp2" {
				t.Errorf("namespace %q path %q, want shop-post and /com.snowplowanalytics.snowplow/tp2", r.Namespace, r.Source.Path)
			}
			if want := (nodeIdentity{"user-42", "duid-42", "5f0a2d3e-8c1b-4e9a-9d4f-2b6c8e1a7f30"}); r.Identity != want {
				t.Errorf("identity %+v, want %+v (uid, duid and the tracker's nuid)", r.Identity, want)
			}
			nodeAttr(t, tc.name, r, "sid", "0c7d3f5a-1e2b-4c6d-8f9a-0b1c2d3e4f50")
			nodeAttr(t, tc.name, r, "vid", "3")
		})
	}
	if r := recs[eid["checkout_invalid"]]; r.FailureType != "schema_violation" || !strings.Contains(r.Failure, `"instance_path":"/data/total"`) {
		t.Errorf("the event breaking its contract: failure %q %s, want schema_violation at /data/total", r.FailureType, r.Failure)
	}

	nodeCheckEnvelopes(t, c, dir)
}

// Contracts of TestNodeSegment's tracking plan: a track by its event name,
// and the page and identify calls by their type.
const (
	nodeOrderCompleted = `{
	"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
	"description": "A customer placed an order, sent as the Segment track Order Completed.",
	"self": {"vendor": "com.example", "name": "order_completed", "format": "jsonschema", "version": "1-0-0"},
	"x-accord": {"owner": "checkout-team@example.com", "segment_events": ["Order Completed"]},
	"type": "object",
	"properties": {
		"order_id": {"type": "string", "minLength": 1, "description": "The shop's order id."},
		"total": {"type": "number", "minimum": 0, "description": "Order total, in currency units."},
		"currency": {"type": "string", "pattern": "^[A-Z]{3}$", "description": "ISO 4217 currency code."}
	},
	"required": ["order_id", "total", "currency"],
	"additionalProperties": false
}`
	nodePageViewed = `{
	"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
	"description": "A person viewed a page, sent as any Segment page call.",
	"self": {"vendor": "com.example", "name": "page_viewed", "format": "jsonschema", "version": "1-0-0"},
	"x-accord": {"owner": "web-team@example.com", "segment_calls": ["page"]},
	"type": "object",
	"properties": {
		"url": {"type": "string", "format": "uri", "description": "The page's full URL."},
		"title": {"type": "string", "description": "The page's title."}
	},
	"required": ["url"]
}`
	nodeUserTraits = `{
	"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
	"description": "What is known of a user, sent as the traits of a Segment identify call.",
	"self": {"vendor": "com.example", "name": "user_traits", "format": "jsonschema", "version": "1-0-0"},
	"x-accord": {"owner": "identity-team@example.com", "segment_calls": ["identify"]},
	"type": "object",
	"properties": {
		"email": {"type": "string", "format": "email", "description": "The user's email address."},
		"plan": {"enum": ["free", "pro", "enterprise"], "description": "The user's subscription plan."}
	},
	"required": ["email"],
	"additionalProperties": false
}`
)

// TestNodeSegment sends every Segment call with @segment/analytics-node,
// which batches them into one POST /v1/batch: planned ones (a track by
// event name, page and identify by call type), one that breaks its
// contract, and unplanned ones, which the source's flag policy stores good
// and marked. A run with a wrong write key is refused and stores nothing.
func TestNodeSegment(t *testing.T) {
	node := nodeBinary(t)
	libVersion := nodePackageVersion(t, "@segment/analytics-node")
	dir := newProject(t)
	writeContract(t, dir, "iglu:com.example/order_completed/jsonschema/1-0-0", nodeOrderCompleted)
	writeContract(t, dir, "iglu:com.example/page_viewed/jsonschema/1-0-0", nodePageViewed)
	writeContract(t, dir, "iglu:com.example/user_traits/jsonschema/1-0-0", nodeUserTraits)
	const writeKey = "wk-node-e2e-7f3a"
	c := startCollector(t, dir,
		"ACCORD_SINKS_1_NAME=files", "ACCORD_SINKS_1_TYPE=file",
		"ACCORD_PROTOCOLS_SEGMENT_SOURCES_0_NAME=server",
		"ACCORD_PROTOCOLS_SEGMENT_SOURCES_0_WRITE_KEY="+writeKey,
		"ACCORD_PROTOCOLS_SEGMENT_SOURCES_0_UNPLANNED=flag")

	// A write key that is not a source's: the library gets a 401 and the
	// script fails.
	stdout, stderr, err := nodeExec(t, node, "segment.mjs", "ACCORD_URL="+c.URL, "SEGMENT_WRITE_KEY=not-"+writeKey)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !strings.Contains(stderr, "401") {
		t.Fatalf("with a wrong write key: %v, want a failed run reporting 401\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}

	type summary struct {
		Messages []struct{ Call, MessageID string }
		Requests []struct{ Status, Messages int }
	}
	sent := nodeRun[summary](t, node, "segment.mjs", "ACCORD_URL="+c.URL, "SEGMENT_WRITE_KEY="+writeKey)
	if len(sent.Messages) != 8 || len(sent.Requests) != 1 || sent.Requests[0].Status != 200 || sent.Requests[0].Messages != 8 {
		t.Fatalf("want the library to send the 8 messages in one batch answered 200: %+v", sent)
	}
	calls := map[string]bool{}
	for _, m := range sent.Messages {
		calls[m.Call] = true
	}
	for _, call := range []string{"track", "identify", "page", "screen", "group", "alias"} {
		if !calls[call] {
			t.Errorf("the script sent no %s", call)
		}
	}

	waitDelivered(t, c, 30*time.Second)
	recs := nodeRecords(t, dir, "segment")
	if len(recs) != len(sent.Messages) {
		t.Errorf("the store holds %d Segment records, want %d (the refused run stores none)", len(recs), len(sent.Messages))
	}

	const created = "2026-11-25T09:15:00.250000Z"
	library := map[string]any{"name": "@segment/analytics-node", "version": libVersion}
	for _, tc := range []struct {
		messageID string
		valid     bool
		schema    string // "" for an unplanned message
		payload   string // exact, unless subset
		subset    bool
		identity  nodeIdentity // Segment has no network user id
		attrs     map[string]any
	}{
		{"seg-identify-1", true, "iglu:com.example/user_traits/jsonschema/1-0-0", `{"email":"ada@example.com","plan":"pro"}`, false,
			nodeIdentity{UserID: "user-7", AnonymousID: "anon-7"}, map[string]any{"type": "identify"}},
		{"seg-track-1", true, "iglu:com.example/order_completed/jsonschema/1-0-0", `{"order_id":"ord-seg-1","total":42.5,"currency":"EUR"}`, false,
			nodeIdentity{UserID: "user-7"}, map[string]any{"type": "track", "event": "Order Completed", "context.ip": "203.0.113.7", "context.locale": "fr-FR"}},
		{"seg-track-invalid", false, "iglu:com.example/order_completed/jsonschema/1-0-0", `{"order_id":"ord-seg-2","total":"lots","currency":"EUR"}`, false,
			nodeIdentity{UserID: "user-7"}, map[string]any{"type": "track", "event": "Order Completed"}},
		{"seg-track-unplanned", true, "", `{"coupon":"WINTER"}`, false,
			nodeIdentity{AnonymousID: "anon-7"}, map[string]any{"type": "track", "event": "Coupon Applied", "unplanned": true}},
		// The library copies a page's category into its properties too:
		// the payload is checked for what the script set.
		{"seg-page-1", true, "iglu:com.example/page_viewed/jsonschema/1-0-0", `{"url":"https://shop.example/pricing","title":"Pricing"}`, true,
			nodeIdentity{AnonymousID: "anon-7"}, map[string]any{"type": "page", "name": "Pricing", "category": "Docs"}},
		{"seg-screen-1", true, "", `{"variant":"b"}`, false,
			nodeIdentity{UserID: "user-7"}, map[string]any{"type": "screen", "name": "Home", "unplanned": true}},
		{"seg-group-1", true, "", `{"name":"Acme","employees":12}`, false,
			nodeIdentity{UserID: "user-7"}, map[string]any{"type": "group", "groupId": "acct-9", "unplanned": true}},
		{"seg-alias-1", true, "", `{}`, false,
			nodeIdentity{UserID: "user-7"}, map[string]any{"type": "alias", "previousId": "anon-7", "unplanned": true}},
	} {
		t.Run(tc.messageID, func(t *testing.T) {
			r := nodeRecordOf(t, recs, tc.messageID, tc.messageID)
			if tc.subset {
				var got, want map[string]any
				_ = json.Unmarshal([]byte(r.Payload), &got)
				_ = json.Unmarshal([]byte(tc.payload), &want)
				for k, v := range want {
					if !reflect.DeepEqual(got[k], v) {
						t.Errorf("payload.%s = %#v, want %#v (payload %s)", k, got[k], v, r.Payload)
					}
				}
				nodeCheck(t, tc.messageID, r, tc.valid, tc.schema, "")
			} else {
				nodeCheck(t, tc.messageID, r, tc.valid, tc.schema, tc.payload)
			}
			if r.Protocol != "segment" || r.Namespace != "default" || r.CreatedAt != created || !r.SentAt.Valid {
				t.Errorf("protocol %q namespace %q created_at %q sent_at %v, want segment, default, %s (timestamp) and the batch's sentAt",
					r.Protocol, r.Namespace, r.CreatedAt, r.SentAt, created)
			}
			if r.Identity != tc.identity {
				t.Errorf("identity %+v, want %+v", r.Identity, tc.identity)
			}
			if r.Source.Path != "/v1/batch" {
				t.Errorf("source.path %q, want /v1/batch", r.Source.Path)
			}
			nodeAttr(t, tc.messageID, r, "source", "server")
			nodeAttr(t, tc.messageID, r, "context.library", library)
			if _, ok := tc.attrs["unplanned"]; !ok {
				nodeAttr(t, tc.messageID, r, "unplanned", nil)
			}
			for k, v := range tc.attrs {
				nodeAttr(t, tc.messageID, r, k, v)
			}
		})
	}
	if r := recs["seg-track-invalid"]; r.FailureType != "schema_violation" || !strings.Contains(r.Failure, `"instance_path":"/data/total"`) {
		t.Errorf("the track breaking its contract: failure %q %s, want schema_violation at /data/total", r.FailureType, r.Failure)
	}

	nodeCheckEnvelopes(t, c, dir)
}

// nodeMustJSON returns v as JSON.
func nodeMustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNodeCloudEvents sends checkout_completed CloudEvents with the
// CloudEvents JavaScript SDK: one in binary mode, one in structured mode and
// a batch of three whose last breaks its contract.
func TestNodeCloudEvents(t *testing.T) {
	node := nodeBinary(t)
	dir := newProject(t)
	c := startCollector(t, dir, "ACCORD_SINKS_1_NAME=files", "ACCORD_SINKS_1_TYPE=file")

	sent := nodeRun[struct {
		Events    []struct{ Mode, ID string }
		Responses []struct {
			Mode   string
			Status int
			Body   collectResponse
		}
	}](t, node, "cloudevents.mjs", "ACCORD_URL="+c.URL)
	if len(sent.Events) != 5 || len(sent.Responses) != 3 {
		t.Fatalf("want 5 events in 3 requests: %+v", sent)
	}
	for _, res := range sent.Responses {
		want := collectResponse{Received: 1, Good: 1}
		if res.Mode == "batch" {
			want = collectResponse{Received: 3, Good: 2, Failed: 1}
		}
		b := res.Body
		if res.Status != 200 || b.Received != want.Received || b.Good != want.Good || b.Failed != want.Failed {
			t.Errorf("%s mode: %d %+v, want 200 and %d received, %d good, %d failed", res.Mode, res.Status, b, want.Received, want.Good, want.Failed)
		}
		if res.Mode == "batch" && (len(b.Failures) != 1 || b.Failures[0].Index != 2 || b.Failures[0].EventID != "ce-node-batch-invalid" || b.Failures[0].Type != "schema_violation") {
			t.Errorf("batch failures %+v, want event 2, ce-node-batch-invalid, schema_violation", b.Failures)
		}
	}

	waitDelivered(t, c, 30*time.Second)
	recs := nodeRecords(t, dir, "cloudevents")
	if len(recs) != len(sent.Events) {
		t.Errorf("the store holds %d CloudEvents records, want %d", len(recs), len(sent.Events))
	}

	for _, tc := range []struct {
		id, mode, order string
		total           float64
		tenant          string
		valid           bool
	}{
		{"ce-node-binary-1", "binary", "ord-ce-b", 10, "acme", true},
		{"ce-node-structured-1", "structured", "ord-ce-s", 20, "acme", true},
		{"ce-node-batch-1", "batch", "ord-ce-1", 30, "acme", true},
		{"ce-node-batch-2", "batch", "ord-ce-2", 40, "globex", true},
		{"ce-node-batch-invalid", "batch", "ord-ce-x", -5, "acme", false},
	} {
		t.Run(tc.id, func(t *testing.T) {
			r := nodeRecordOf(t, recs, tc.mode+" event", tc.id)
			payload := string(nodeMustJSON(t, map[string]any{"order_id": tc.order, "total": tc.total, "currency": "EUR",
				"items": []map[string]any{{"sku": "sku-1", "quantity": 1, "price": tc.total}}}))
			nodeCheck(t, tc.id, r, tc.valid, checkoutKey, payload)
			if r.Protocol != "cloudevents" || r.Namespace != "default" || r.CreatedAt != "2026-11-25T08:30:00.000000Z" || r.SentAt.Valid {
				t.Errorf("protocol %q namespace %q created_at %q sent_at %v, want cloudevents, default, the event's time and none",
					r.Protocol, r.Namespace, r.CreatedAt, r.SentAt)
			}
			if r.Source.Path != "/cloudevents" || r.Identity != (nodeIdentity{}) || !nodeSameJSON(t, r.Contexts, "[]") {
				t.Errorf("source.path %q identity %+v contexts %s, want /cloudevents, no identity, no contexts", r.Source.Path, r.Identity, r.Contexts)
			}
			for k, v := range map[string]any{
				"id": tc.id, "specversion": "1.0", "source": "https://shop.example/checkout", "type": "com.example.checkout.completed",
				"subject": "order/" + tc.order, "time": "2026-11-25T08:30:00.000Z", "dataschema": checkoutKey,
				"datacontenttype": "application/json", "tenant": tc.tenant,
			} {
				nodeAttr(t, tc.id, r, k, v)
			}
			// An integer extension is a header's text in binary mode, a
			// JSON number in the others.
			var priority any = float64(3)
			if tc.mode == "binary" {
				priority = "3"
			}
			nodeAttr(t, tc.id, r, "priority", priority)
			if !tc.valid && (r.FailureType != "schema_violation" || !strings.Contains(r.Failure, `"instance_path":"/data/total"`)) {
				t.Errorf("failure %q %s, want schema_violation at /data/total", r.FailureType, r.Failure)
			}
		})
	}

	nodeCheckEnvelopes(t, c, dir)
}
