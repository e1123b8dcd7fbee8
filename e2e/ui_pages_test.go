package e2e

import (
	"encoding/json"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/check"
)

// The contracts the UI tests browse: checkout_started in three versions
// (an optional field added, then cart_id's type changed), with its owner, SLA,
// tracking-plan names and a governed email; and a contract whose texts
// are markup, which every page must show as text.
const (
	uiCheckoutKey = "iglu:com.acme/checkout_started/jsonschema/"
	uiXSSKey      = "iglu:com.acme/xss_probe/jsonschema/1-0-0"
	uiXSSText     = `<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">`
)

func uiCheckout(version, extra string) string {
	return `{"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
  "self": {"vendor": "com.acme", "name": "checkout_started", "format": "jsonschema", "version": "` + version + `"},
  "x-accord": {"owner": "checkout-team@acme.test", "team": "checkout", "description": "Sent when a shopper opens the checkout.",
    "tags": ["commerce"], "sla": {"freshness": "15m", "volume_per_day": 5000}, "segment_events": ["Checkout Started"]},
  "type": "object",
  "properties": {
    "cart_id": {"type": "string", "description": "The cart being checked out."},
    "total": {"type": "number", "minimum": 0, "description": "What the shopper pays, in the currency's units."},
    "email": {"type": "string", "format": "email", "description": "The shopper's email address.",
      "x-accord-pii": {"class": "restricted", "action": "hmac"}}` + extra + `
  },
  "required": ["cart_id", "total"],
  "additionalProperties": false}`
}

// writeUIContracts writes checkout_started's versions in dir's contracts,
// and with probe the contract whose texts are markup.
func writeUIContracts(t *testing.T, dir string, probe bool) {
	t.Helper()
	writeContract(t, dir, uiCheckoutKey+"1-0-0", uiCheckout("1-0-0", ""))
	writeContract(t, dir, uiCheckoutKey+"1-0-1", uiCheckout("1-0-1", `,
    "coupon": {"type": "string", "description": "A coupon code, when one was entered."}`))
	writeContract(t, dir, uiCheckoutKey+"2-0-0", strings.Replace(uiCheckout("2-0-0", `,
    "coupon": {"type": "string", "description": "A coupon code, when one was entered."}`), `"cart_id": {"type": "string"`, `"cart_id": {"type": "integer"`, 1))
	if !probe {
		return
	}
	text, _ := json.Marshal(uiXSSText)
	writeContract(t, dir, uiXSSKey, `{"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
  "self": {"vendor": "com.acme", "name": "xss_probe", "format": "jsonschema", "version": "1-0-0"},
  "x-accord": {"owner": `+string(text)+`, "description": `+string(text)+`, "segment_events": [`+string(text)+`]},
  "type": "object",
  "properties": {"note": {"type": "string", "description": `+string(text)+`}}}`)
}

// TestUICatalog, in the browser under the proxy's prefix: the search
// filters the list as the user types; a contract's page shows its
// versions, fields with their privacy rule, owner, SLA, tracking-plan
// names, live volume and failure rate, an example event, and the diff
// between two versions with each change's SchemaVer bump (the last pick's,
// though an earlier pick is answered after it); a contract
// whose texts are markup shows them as text, and nothing in them runs.
func TestUICatalog(t *testing.T) {
	dir := newProject(t)
	writeUIContracts(t, dir, true)
	s := startUI(t, dir)
	// Live volume: two good events and one failed of 1-0-0.
	for _, b := range []string{
		`{"schema":"` + uiCheckoutKey + `1-0-0","data":{"cart_id":"c1","total":3}}`,
		`{"schema":"` + uiCheckoutKey + `1-0-0","data":{"cart_id":"c2","total":4}}`,
		`{"schema":"` + uiCheckoutKey + `1-0-0","data":{"cart_id":"c3","total":-1}}`,
	} {
		if status, _, body := s.post("/events", "application/json", []byte(b)); status != http.StatusOK {
			t.Fatalf("send: %d %s", status, body)
		}
	}
	check.Eventually(t, 30*time.Second, "the three events counted", func() bool {
		for _, c := range s.stats().Contracts {
			if c.Schema == uiCheckoutKey+"1-0-0" && c.Good == 2 && c.Failed == 1 {
				return true
			}
		}
		return false
	})
	shots := uiShots(t)
	type catalogResult struct {
		Search struct {
			All, Checkout, Nothing, TrackingPlan int
			Status                               string
			Rows                                 []string
		}
		Contract struct {
			Heading, Key, Volume, Example string
			Versions                      []string
			Fields                        map[string]string
			Facts                         map[string]string
			Compare                       struct {
				Default, Picked    []string
				Verdict, AfterLate string
			}
		}
		XSS struct {
			Pwned          any
			InjectedImages int
			Text           string
			Pages          []string
		}
		Problems []string
	}
	out := runUIScript[catalogResult](t, s, "ui-catalog.mjs", shots,
		"CHECKOUT_ID=com.acme/checkout_started/jsonschema", "XSS_ID=com.acme/xss_probe/jsonschema", "XSS_TEXT="+uiXSSText)
	if len(out.Problems) > 0 {
		t.Errorf("problems in the browser:\n  %s", strings.Join(out.Problems, "\n  "))
	}
	// The search: the default list (the project's and these contracts, no
	// built-in ones), filtered as one types.
	if out.Search.All < 4 {
		t.Errorf("the catalog lists %d contracts, want at least 4", out.Search.All)
	}
	if out.Search.Checkout != 2 || !slicesHave(out.Search.Rows, "com.acme/checkout_started/jsonschema") {
		t.Errorf("typing \"checkout\" left %d rows %v, want checkout_started and the project's checkout_completed", out.Search.Checkout, out.Search.Rows)
	}
	if out.Search.Nothing != 0 {
		t.Errorf("a query matching nothing left %d rows", out.Search.Nothing)
	}
	if out.Search.TrackingPlan != 1 {
		t.Errorf("searching a tracking-plan name (\"Checkout Started\") left %d rows, want 1", out.Search.TrackingPlan)
	}
	ct := out.Contract
	if ct.Heading != "checkout_started" || ct.Key != uiCheckoutKey+"2-0-0" {
		t.Errorf("contract page: heading %q key %q", ct.Heading, ct.Key)
	}
	if strings.Join(ct.Versions, ",") != "2-0-0,1-0-1,1-0-0" {
		t.Errorf("versions %v", ct.Versions)
	}
	if !strings.Contains(ct.Fields["email"], "restricted") || !strings.Contains(ct.Fields["email"], "HMAC") {
		t.Errorf("the email field's row says %q, want its PII class and action", ct.Fields["email"])
	}
	if !strings.Contains(ct.Fields["cart_id"], "integer") || !strings.Contains(ct.Fields["cart_id"], "required") {
		t.Errorf("the cart_id field's row says %q", ct.Fields["cart_id"])
	}
	for fact, want := range map[string]string{"Owner": "checkout-team@acme.test", "Team": "checkout", "Service level (SLA)": "fresh within 15m, about 5000 events a day", "Tracking-plan names": "Checkout Started"} {
		if !strings.Contains(ct.Facts[fact], want) {
			t.Errorf("%s shows %q, want %q", fact, ct.Facts[fact], want)
		}
	}
	if ct.Volume != "3 events, 33.3 % failed" {
		t.Errorf("volume %q, want 3 events, 33.3 %% failed", ct.Volume)
	}
	var ex map[string]any
	if err := json.Unmarshal([]byte(ct.Example), &ex); err != nil || ex["cart_id"] == nil {
		t.Errorf("example event %q: %v", ct.Example, err)
	}
	// 1-0-1 -> 2-0-0 changed cart_id's type: MODEL, and 2-0-0 is one.
	if !slicesHave(ct.Compare.Default, "cart_id") || !slicesHave(ct.Compare.Default, "MODEL") || !strings.Contains(ct.Compare.Verdict, "tells the truth") {
		t.Errorf("compare 1-0-1 -> 2-0-0: %v, verdict %q", ct.Compare.Default, ct.Compare.Verdict)
	}
	if !slicesHave(ct.Compare.Picked, "coupon") || !slicesHave(ct.Compare.Picked, "ADDITION") {
		t.Errorf("compare 1-0-0 -> 1-0-1: %v, want coupon added (ADDITION)", ct.Compare.Picked)
	}
	// The answer to the earlier pick, 1-0-0 -> 2-0-0, came last and did
	// not replace the one picked.
	if !strings.Contains(ct.Compare.AfterLate, "1-0-0 → 1-0-1") {
		t.Errorf("after a late answer to an earlier pick the page shows %q, want 1-0-0 → 1-0-1", ct.Compare.AfterLate)
	}
	// The markup in contract texts stayed text.
	if out.XSS.Pwned != nil || out.XSS.InjectedImages != 0 {
		t.Errorf("contract text ran or became markup: window.__pwned=%v, %d injected images", out.XSS.Pwned, out.XSS.InjectedImages)
	}
	if !strings.Contains(out.XSS.Text, uiXSSText) {
		t.Errorf("the contract's description is not shown as text: %q", out.XSS.Text)
	}
	if len(out.XSS.Pages) < 3 {
		t.Errorf("the probe was looked at on %v, want the catalog, the contract page and the playground", out.XSS.Pages)
	}
	checkPNG(t, shots, "ui-contract.png")
	s.checkInsidePrefix(t)
}

func slicesHave(list []string, want string) bool {
	for _, s := range list {
		if strings.Contains(s, want) {
			return true
		}
	}
	return false
}

// TestUIPlayground, in the browser under the proxy's prefix: a payload
// breaking its contract shows each violation with its field, a valid one
// shows valid, nothing checked is stored, the curl the page shows, run,
// gets the answer the page showed (the collector's own), and a late
// answer to an earlier pick of the contract does not refill the data box.
func TestUIPlayground(t *testing.T) {
	dir := newProject(t)
	writeUIContracts(t, dir, true)
	s := startUI(t, dir)
	shots := uiShots(t)
	type playResult struct {
		Bad struct {
			Valid, Text, Curl, Raw string
			Paths                  []string
		}
		Good    struct{ Valid, Text string }
		NotJSON struct {
			Valid, Text string
		}
		SecondPickExample, AfterLate string
		Problems                     []string
	}
	out := runUIScript[playResult](t, s, "ui-playground.mjs", shots, "KEY="+uiCheckoutKey+"1-0-0")
	if len(out.Problems) > 0 {
		t.Errorf("problems in the browser:\n  %s", strings.Join(out.Problems, "\n  "))
	}
	if out.Bad.Valid != "false" || !slicesHave(out.Bad.Paths, "/data/total") {
		t.Errorf("a bad payload: valid=%s paths %v\n%s", out.Bad.Valid, out.Bad.Paths, out.Bad.Text)
	}
	if !strings.Contains(out.Bad.Text, "total: /data/total must be at least 0, but is -5You sent: -5") || !strings.Contains(out.Bad.Text, `"required"`) {
		t.Errorf("the violation says %q", out.Bad.Text)
	}
	if out.Good.Valid != "true" || !strings.Contains(out.Good.Text, "Valid") {
		t.Errorf("a valid payload: valid=%s %q", out.Good.Valid, out.Good.Text)
	}
	if out.NotJSON.Valid != "false" || !strings.Contains(out.NotJSON.Text, "not valid JSON") {
		t.Errorf("a payload that is not JSON: valid=%s %q", out.NotJSON.Valid, out.NotJSON.Text)
	}
	// The answer to an earlier pick, come last, left the data box as the
	// user had edited it after the later pick's example.
	if !strings.Contains(out.SecondPickExample, "cart_id") {
		t.Errorf("after picking 1-0-1 the data box holds %q, want its example", out.SecondPickExample)
	}
	if out.AfterLate != "edited by hand" {
		t.Errorf("a late answer to an earlier pick refilled the data box: %q, want the user's edit", out.AfterLate)
	}
	// Nothing checked was stored.
	st := s.stats()
	for _, c := range st.Contracts {
		if strings.HasPrefix(c.Schema, uiCheckoutKey) {
			t.Errorf("the playground's checks were stored: %+v", c)
		}
	}
	// The curl, run as shown, gets the same answer and stores the event.
	if !strings.HasPrefix(out.Bad.Curl, "curl -s "+strings.TrimSuffix(s.Base, "ui/")+"events ") {
		t.Errorf("curl %q does not send to the collector under the proxy's prefix (%s)", out.Bad.Curl, s.Base)
	}
	got, err := exec.Command("bash", "-euo", "pipefail", "-c", out.Bad.Curl).Output()
	if err != nil {
		t.Fatalf("the curl the playground shows failed: %v\n%s", err, out.Bad.Curl)
	}
	if normaliseAnswer(t, got) != normaliseAnswer(t, []byte(out.Bad.Raw)) {
		t.Errorf("the curl got\n%s\nthe playground showed\n%s", got, out.Bad.Raw)
	}
	check.Eventually(t, 30*time.Second, "the curl's event stored as failed", func() bool {
		for _, c := range s.stats().Contracts {
			if c.Schema == uiCheckoutKey+"1-0-0" && c.Failed == 1 {
				return true
			}
		}
		return false
	})
	checkPNG(t, shots, "ui-playground-violation.png")
	s.checkInsidePrefix(t)
}

// normaliseAnswer drops the event ids of a collector answer.
func normaliseAnswer(t *testing.T, b []byte) string {
	t.Helper()
	var v struct {
		Received, Good, Failed int
		Failures               []map[string]any
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not an answer: %v\n%s", err, b)
	}
	for _, f := range v.Failures {
		delete(f, "event_id")
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// TestUIHostile: the playground's check is bounded by server.max_body_bytes
// and stores nothing whatever it is sent; a contract whose $ref names a
// URL is never fetched (it is refused at load, and the check answers
// schema_not_found); the UI's JSON routes bound what they are asked.
func TestUIHostile(t *testing.T) {
	var fetched atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	remote := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Add(1)
		w.Write([]byte(`{"type": "string"}`))
	})}
	go remote.Serve(ln)
	t.Cleanup(func() { remote.Close() })
	dir := newProject(t)
	writeContract(t, dir, "iglu:com.hostile/remote_ref/jsonschema/1-0-0", hostileRefSchema("remote_ref", "http://"+ln.Addr().String()+"/x.json"))
	c := startCollector(t, dir, "ACCORD_SERVER_MAX_BODY_BYTES=4096")

	checkBody := func(body string) (int, string) {
		status, _, b := httpDo(t, http.MethodPost, c.URL+"/ui/api/check", []byte(body), "Content-Type", "application/json")
		return status, b
	}
	status, body := checkBody(`{"schema":"iglu:com.hostile/remote_ref/jsonschema/1-0-0","data":{"x":"y"}}`)
	if status != http.StatusOK || !strings.Contains(body, `"schema_not_found"`) {
		t.Errorf("check against the contract with a remote $ref: %d %s", status, body)
	}
	status, body = checkBody(`{"schema":"iglu:com.example/page_view/jsonschema/1-0-0","data":{"url":"https://a.example/` + strings.Repeat("a", 5000) + `"}}`)
	if status != http.StatusOK || !strings.Contains(body, `"status":413`) || !strings.Contains(body, "server.max_body_bytes") {
		t.Errorf("an oversized check: %d %s", status, body)
	}
	status, body = checkBody(`{"schema":"iglu:com.example/page_view/jsonschema/1-0-0","data":{"url":"https://a.example/"}}`)
	if status != http.StatusOK || !strings.Contains(body, `"good":1`) {
		t.Errorf("a good check: %d %s", status, body)
	}
	// Nothing reached the spool.
	if st := c.stats(); st.Spool != nil && st.Spool.Records != 0 || len(st.Contracts) != 0 {
		t.Errorf("checks were stored: spool %+v, contracts %+v", st.Spool, st.Contracts)
	}
	if n := fetched.Load(); n != 0 {
		t.Errorf("the collector fetched the remote $ref %d times", n)
	}
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/ui/api/contract", http.StatusBadRequest},
		{"/ui/api/contract?id=" + strings.Repeat("a", 600), http.StatusBadRequest},
		{"/ui/api/contract?id=com.nope/x/jsonschema", http.StatusNotFound},
		{"/ui/api/compare?id=com.example/page_view/jsonschema&from=1-0-0&to=9-9-9", http.StatusNotFound},
		{"/ui/api/compare?id=com.example/page_view/jsonschema&from=" + strings.Repeat("1", 600) + "&to=1-0-0", http.StatusBadRequest},
	} {
		if status, _, body := httpDo(t, http.MethodGet, c.URL+tc.path, nil); status != tc.want {
			t.Errorf("GET %.80s: %d, want %d: %s", tc.path, status, tc.want, body)
		}
	}
	if status, _, _ := httpDo(t, http.MethodGet, c.URL+"/ui/api/check", nil); status == http.StatusOK {
		t.Errorf("GET api/check answered 200")
	}
}
