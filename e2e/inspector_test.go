package e2e

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/event"
)

// inspSignupKey's contract hashes email and drops phone: the inspector must
// never show either as sent.
const inspSignupKey = "iglu:com.acme/member_signup/jsonschema/1-0-0"

func inspSignupContract(minAge int) string {
	return fmt.Sprintf(`{"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
 "self": {"vendor": "com.acme", "name": "member_signup", "format": "jsonschema", "version": "1-0-0"},
 "type": "object",
 "properties": {
  "email": {"type": "string", "x-accord-pii": {"class": "restricted", "action": "hash"}},
  "phone": {"type": "string", "x-accord-pii": {"class": "restricted", "action": "drop"}},
  "age": {"type": "integer", "minimum": %d}
 },
 "required": ["email", "age"], "additionalProperties": false}`, minAge)
}

func inspSignupEvent(id, email, phone string, age int) string {
	return fmt.Sprintf(`{"schema": %q, "event_id": %q, "data": {"email": %q, "phone": %q, "age": %d}}`, inspSignupKey, id, email, phone, age)
}

// streamEvents opens GET /inspector/stream?query and sends each event
// (name and data) on the channel until the test ends.
func streamEvents(t *testing.T, base, query string, headers ...string) <-chan [2]string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/inspector/stream"+query, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		t.Fatalf("inspector stream: %d", resp.StatusCode)
	}
	out := make(chan [2]string, 4096)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var name, data string
		for sc.Scan() {
			switch line := sc.Text(); {
			case line == "":
				if name != "" {
					out <- [2]string{name, data}
				}
				name, data = "", ""
			case strings.HasPrefix(line, "event: "):
				name = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				data += line[len("data: "):]
			}
		}
	}()
	return out
}

// nextRecord returns the next record event's envelope, and all the text
// the stream carried up to it.
func nextRecord(t *testing.T, events <-chan [2]string, seen *strings.Builder) event.Envelope {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("the inspector stream ended")
			}
			seen.WriteString(ev[1])
			if ev[0] != "record" {
				continue
			}
			var env event.Envelope
			if err := json.Unmarshal([]byte(ev[1]), &env); err != nil {
				t.Fatalf("record %s: %v", ev[1], err)
			}
			return env
		case <-deadline:
			t.Fatal("no record on the inspector stream within 30s")
		}
	}
}

// The inspector shows the records as stored, after the contract's privacy
// rules: the hashed email as its hash, the dropped phone not at all, in
// good and failed records alike; a failed record carries its messages with
// the JSON pointer of the offending field; filters select.
func TestInspectorShowsStoredRecordsNeverRawGovernedValues(t *testing.T) {
	dir := newProject(t)
	writeContract(t, dir, inspSignupKey, inspSignupContract(0))
	c := startCollector(t, dir)
	all := streamEvents(t, c.URL, "")
	failedOnly := streamEvents(t, c.URL, "?valid=failed&contract="+url.QueryEscape("iglu:com.acme/"))
	var seen strings.Builder
	// The hello comes first on both.
	for _, s := range []<-chan [2]string{all, failedOnly} {
		if ev := <-s; ev[0] != "hello" {
			t.Fatalf("first event %v; want hello", ev)
		}
	}
	const email, phone = "alice.secret@example.com", "+15550001234"
	if status, _, resp := c.post("/events", "application/json", []byte(inspSignupEvent("good-1", email, phone, 30))); status != 200 {
		t.Fatalf("good event: %d %s", status, resp)
	}
	if status, _, resp := c.post("/events", "application/json", []byte(inspSignupEvent("bad-1", email, phone, -3))); status != 400 && status != 200 {
		t.Fatalf("failed event: %d %s", status, resp)
	}
	good := nextRecord(t, all, &seen)
	bad := nextRecord(t, all, &seen)
	if good.EventID != "good-1" || !good.Valid || bad.EventID != "bad-1" || bad.Valid {
		t.Fatalf("records %s (valid %v), %s (valid %v); want good-1 good, bad-1 failed", good.EventID, good.Valid, bad.EventID, bad.Valid)
	}
	var data map[string]any
	if err := json.Unmarshal(good.Payload, &data); err != nil {
		t.Fatal(err)
	}
	if h, _ := data["email"].(string); !strings.HasPrefix(h, "sha256:") {
		t.Errorf("the good record's email is %q; want its hash", data["email"])
	}
	if _, ok := data["phone"]; ok {
		t.Errorf("the good record kept the dropped phone: %v", data)
	}
	if bad.Failure == nil || bad.Failure.Type != event.SchemaViolation || !slices.ContainsFunc(bad.Failure.Messages, func(m event.Message) bool { return m.InstancePath == "/data/age" }) {
		t.Errorf("the failed record's failure: %+v; want schema_violation at /data/age", bad.Failure)
	}
	if f := nextRecord(t, failedOnly, &seen); f.EventID != "bad-1" {
		t.Errorf("the failed-only stream showed %s first; want bad-1", f.EventID)
	}
	for _, raw := range []string{email, phone, "alice.secret"} {
		if strings.Contains(seen.String(), raw) {
			t.Fatalf("the inspector showed the governed value %q:\n%s", raw, seen.String())
		}
	}
}

// failedPage is GET /failed/records's answer.
type failedPage struct {
	Sources    []string          `json:"sources"`
	Source     string            `json:"source"`
	Records    []json.RawMessage `json:"records"`
	NextCursor string            `json:"next_cursor"`
}

func getFailed(t *testing.T, c *collector, query string, headers ...string) (int, failedPage, string) {
	t.Helper()
	status, _, body := httpDo(t, http.MethodGet, c.URL+"/failed/records"+query, nil, headers...)
	var p failedPage
	if status == http.StatusOK {
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatalf("failed records: %v: %s", err, body)
		}
	}
	return status, p, body
}

// Failed records are browsed page by page, by contract and failure type;
// once the contract is fixed, a replay of chosen records turns them good
// in the store, and the answer says so per record.
func TestFailedRecordsBrowseAndReplay(t *testing.T) {
	dir := newProject(t)
	// The contract's bug: ages from 18 only, when 13 is allowed.
	writeContract(t, dir, inspSignupKey, inspSignupContract(18))
	c := startCollector(t, dir)
	for i := range 7 {
		c.post("/events", "application/json", []byte(inspSignupEvent(fmt.Sprintf("teen-%d", i), "t@example.com", "", 13+i%3)))
	}
	// Another failure type, of no contract.
	c.post("/events", "application/json", []byte(`{"schema": "iglu:com.acme/nothing/jsonschema/1-0-0", "data": {}}`))

	// Delivery to the store is asynchronous: wait for all eight.
	var p failedPage
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var status int
		var body string
		status, p, body = getFailed(t, c, "?limit=200")
		if status != 200 {
			t.Fatalf("failed records: %d %s", status, body)
		}
		if len(p.Records) == 8 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d failed records in the store after 30s; want 8", len(p.Records))
		}
	}
	if p.Source != "store" || !slices.Contains(p.Sources, "store") || p.NextCursor != "" {
		t.Errorf("source %q of %v, next %q; want the store, one page", p.Source, p.Sources, p.NextCursor)
	}

	// By failure type and contract, three at a time: every record once.
	var ids []string
	query := "?type=schema_violation&contract=" + url.QueryEscape(inspSignupKey) + "&limit=3"
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		q := query
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		status, page, body := getFailed(t, c, q)
		if status != 200 || len(page.Records) > 3 {
			t.Fatalf("page %d: %d %d records %s", pages, status, len(page.Records), body)
		}
		for _, r := range page.Records {
			var env event.Envelope
			if err := json.Unmarshal(r, &env); err != nil {
				t.Fatal(err)
			}
			if env.Failure == nil || env.Failure.Type != event.SchemaViolation || env.Schema != inspSignupKey {
				t.Fatalf("the filter let through %s", r)
			}
			ids = append(ids, env.EventID)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	slices.Sort(ids)
	if want := []string{"teen-0", "teen-1", "teen-2", "teen-3", "teen-4", "teen-5", "teen-6"}; !slices.Equal(ids, want) {
		t.Fatalf("pages held %v; want %v, each once", ids, want)
	}
	if status, page, _ := getFailed(t, c, "?type=schema_not_found"); status != 200 || len(page.Records) != 1 {
		t.Fatalf("schema_not_found: %d, %d records; want the one", status, len(page.Records))
	}

	replay := func(body string, headers ...string) (int, string) {
		t.Helper()
		status, _, resp := httpDo(t, http.MethodPost, c.URL+"/failed/replay", []byte(body), append([]string{"Content-Type", "application/json"}, headers...)...)
		return status, resp
	}
	// Before the fix, a replay leaves them failed.
	status, resp := replay(`{"event_ids": ["teen-0"]}`)
	if status != 200 || !strings.Contains(resp, `"valid":false`) {
		t.Fatalf("replay before the fix: %d %s", status, resp)
	}
	// Fix the contract, reload, replay two of them.
	writeContract(t, dir, inspSignupKey, inspSignupContract(13))
	if status, _, body := httpDo(t, http.MethodPost, c.URL+"/api/cache/purge", nil); status != 200 {
		t.Fatalf("reload: %d %s", status, body)
	}
	status, resp = replay(`{"event_ids": ["teen-0", "teen-1", "no-such-id"], "contract": "` + inspSignupKey + `"}`)
	if status != 200 {
		t.Fatalf("replay: %d %s", status, resp)
	}
	var res struct {
		Report struct {
			Good    int            `json:"good"`
			Written map[string]int `json:"written"`
		} `json:"report"`
		Outcomes []struct {
			EventID string `json:"event_id"`
			Valid   bool   `json:"valid"`
		} `json:"outcomes"`
		NotFound []string `json:"not_found"`
	}
	if err := json.Unmarshal([]byte(resp), &res); err != nil {
		t.Fatal(err)
	}
	if res.Report.Good != 2 || len(res.Outcomes) != 2 || !res.Outcomes[0].Valid || !res.Outcomes[1].Valid || !slices.Equal(res.NotFound, []string{"no-such-id"}) {
		t.Fatalf("replay answered %s; want teen-0 and teen-1 good, no-such-id not found", resp)
	}
	if res.Report.Written["store"] != 2 {
		t.Errorf("written %v; want both to the store", res.Report.Written)
	}
	db := openStore(t, dir)
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM events WHERE event_id IN ('teen-0', 'teen-1')`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("good records in the store: %d, %v; want 2", n, err)
	}
	// Replayed again: the ledger keeps the store from taking them twice.
	status, resp = replay(`{"event_ids": ["teen-0"]}`)
	if status != 200 || !strings.Contains(resp, `"already_written":1`) {
		t.Fatalf("second replay: %d %s; want it already written", status, resp)
	}
}

// The failed-events API refuses what it must not do: hostile parameters
// with a short 400, a replay without a JSON body (a cross-site form), too
// many ids, and without admin.auth's credentials.
func TestFailedRecordsAPIBounds(t *testing.T) {
	c := startCollector(t, newProject(t), "ACCORD_ADMIN_AUTH_TOKEN=failed-token-0123")
	auth := []string{"Authorization", "Bearer failed-token-0123"}
	if status, _, _ := getFailed(t, c, ""); status != http.StatusUnauthorized {
		t.Errorf("without a token: %d; want 401", status)
	}
	if status, _, _ := httpDo(t, http.MethodPost, c.URL+"/failed/replay", []byte(`{"event_ids":["a"]}`), "Content-Type", "application/json"); status != http.StatusUnauthorized {
		t.Errorf("replay without a token: %d; want 401", status)
	}
	if status, _, _ := httpDo(t, http.MethodGet, c.URL+"/inspector/stream", nil); status != http.StatusUnauthorized {
		t.Errorf("stream without a token: %d; want 401", status)
	}
	if status, _, body := getFailed(t, c, "", auth...); status != 200 {
		t.Fatalf("with the token: %d %s", status, body)
	}
	for _, q := range []string{"?limit=0", "?limit=201", "?limit=x", "?cursor=abc", "?cursor=1.0", "?source=nope", "?type=nonsense",
		"?contract=" + strings.Repeat("x", 600), "?since=yesterday", "?colour=red", "?limit=1&limit=2"} {
		status, _, body := getFailed(t, c, q, auth...)
		if status != http.StatusBadRequest || len(body) > 1024 {
			t.Errorf("%s: %d %.300s; want a short 400", q, status, body)
		}
	}
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprintf("%q", fmt.Sprint("id-", i))
	}
	for _, tc := range []struct {
		name, ctype, body string
		want              int
	}{
		{"form", "application/x-www-form-urlencoded", `event_ids=a`, http.StatusUnsupportedMediaType},
		{"text", "text/plain", `{"event_ids":["a"]}`, http.StatusUnsupportedMediaType},
		{"no ids", "application/json", `{"event_ids":[]}`, http.StatusBadRequest},
		{"too many ids", "application/json", `{"event_ids":[` + strings.Join(many, ",") + `]}`, http.StatusBadRequest},
		{"unknown field", "application/json", `{"event_ids":["a"],"delete":true}`, http.StatusBadRequest},
		{"huge body", "application/json", `{"event_ids":["` + strings.Repeat("a", 100<<10) + `"]}`, http.StatusBadRequest},
		{"bad type", "application/json", `{"event_ids":["a"],"types":["x"]}`, http.StatusBadRequest},
	} {
		status, _, body := httpDo(t, http.MethodPost, c.URL+"/failed/replay", []byte(tc.body), append([]string{"Content-Type", tc.ctype}, auth...)...)
		if status != tc.want || len(body) > 1024 {
			t.Errorf("%s: %d %.300s; want %d", tc.name, status, body, tc.want)
		}
	}
}

// A page of failed records holds at most 4 MiB of records, as docs/api.md
// says: a record that would take a page over starts the next one, and
// paging still gives every record once.
func TestFailedRecordsPageBytesBound(t *testing.T) {
	c := startCollector(t, newProject(t))
	big := strings.Repeat("a", 800_000)
	for i := range 6 {
		body := fmt.Sprintf(`{"schema": "iglu:com.acme/nothing/jsonschema/1-0-0", "event_id": "big-%d", "data": {"blob": %q}}`, i, big)
		if status, _, resp := httpDo(t, http.MethodPost, c.URL+"/events", []byte(body), "Content-Type", "application/json"); status >= 500 {
			t.Fatalf("post big-%d: %d %.300s", i, status, resp)
		}
	}
	// pageAll reads every page; sizes are the bytes of each page's records.
	pageAll := func() (ids []string, sizes []int) {
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > 6 {
				t.Fatal("paging does not end")
			}
			q := "?limit=200"
			if cursor != "" {
				q += "&cursor=" + url.QueryEscape(cursor)
			}
			status, page, body := getFailed(t, c, q)
			if status != 200 {
				t.Fatalf("page %d: %d %.300s", pages, status, body)
			}
			size := 0
			for _, r := range page.Records {
				size += len(r)
				var env event.Envelope
				if err := json.Unmarshal(r, &env); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, env.EventID)
			}
			sizes = append(sizes, size)
			if cursor = page.NextCursor; cursor == "" {
				return ids, sizes
			}
		}
	}
	// Delivery to the store is asynchronous: wait for all six.
	var ids []string
	var sizes []int
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if ids, sizes = pageAll(); len(ids) == 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d failed records in the store after 60s; want 6", len(ids))
		}
	}
	for i, size := range sizes {
		if size > 4<<20 {
			t.Errorf("page %d holds %d bytes of records; at most 4 MiB", i, size)
		}
	}
	slices.Sort(ids)
	if want := []string{"big-0", "big-1", "big-2", "big-3", "big-4", "big-5"}; !slices.Equal(ids, want) {
		t.Fatalf("pages held %v; want %v, each once", ids, want)
	}
	if len(sizes) < 2 {
		t.Errorf("one page held all %d bytes; want more than one", sizes[0])
	}
}

// A store whose failed record cannot be read back (its collected_at is
// 100 KB that is no time) is answered with a bounded error, not the 200 KB
// the decoder's message quoting the value would be.
func TestFailedRecordsReadErrorIsBounded(t *testing.T) {
	dir := newProject(t)
	c := startCollector(t, dir)
	c.post("/events", "application/json", []byte(`{"schema": "iglu:com.acme/nothing/jsonschema/1-0-0", "data": {}}`))
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		status, p, body := getFailed(t, c, "")
		if status != 200 {
			t.Fatalf("failed records: %d %s", status, body)
		}
		if len(p.Records) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the failed record did not reach the store within 30s")
		}
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "accord-data", "accord.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE failed_events SET collected_at = ?`, strings.Repeat("z", 100<<10)); err != nil {
		t.Fatal(err)
	}
	status, _, body := getFailed(t, c, "")
	if status != http.StatusServiceUnavailable || len(body) > 2048 || !strings.Contains(body, "could not be read") {
		t.Errorf("a record that cannot be read back: %d, %d bytes: %.300s; want a bounded 503", status, len(body), body)
	}
}
