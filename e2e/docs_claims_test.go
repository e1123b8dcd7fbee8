package e2e

import (
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// The lint example in docs/contracts.md is what accord contract lint prints
// for the contracts in testdata/lint/docs-example, word for word.
func TestDocsLintExampleIsTheRealOutput(t *testing.T) {
	doc, err := os.ReadFile("../docs/contracts.md")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, b := range parseBlocks(t, "../docs/contracts.md") {
		if strings.HasPrefix(b.text, "$ accord contract lint\n") {
			want = strings.Split(strings.TrimPrefix(b.text, "$ accord contract lint\n"), "\n")
		}
	}
	if want == nil {
		t.Fatalf("docs/contracts.md has no block starting with $ accord contract lint (%d bytes read)", len(doc))
	}
	dir := t.TempDir()
	copyLintTree(t, "testdata/lint/docs-example", dir)
	stdout, stderr, code := runAccord(t, dir, nil, "contract", "lint")
	got := strings.Split(strings.TrimSuffix(stdout+stderr, "\n"), "\n")
	if code != 1 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("accord contract lint: exit %d (want 1), printed:\n%s\nthe docs say:\n%s", code, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// The exit codes table in docs/operations.md: every command of accord
// --help is in it, and each command exits with each status the table gives
// in the case it names.
func TestExitCodesAsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	table := string(doc)[strings.Index(string(doc), "## Exit codes"):]
	// Every command and subcommand of accord --help is in the table.
	commandRE := regexp.MustCompile(`(?m)^  (\S+)\s{2,}`)
	var commands []string
	root, _, _ := runAccord(t, t.TempDir(), nil, "--help")
	for _, m := range commandRE.FindAllStringSubmatch(root, -1) {
		name := m[1]
		if name == "help" || name == "completion" {
			continue
		}
		sub, _, _ := runAccord(t, t.TempDir(), nil, name, "--help")
		if strings.Contains(sub, "Available Commands:") {
			for _, s := range commandRE.FindAllStringSubmatch(sub[strings.Index(sub, "Available Commands:"):], -1) {
				commands = append(commands, name+" "+s[1])
			}
			continue
		}
		commands = append(commands, name)
	}
	if len(commands) < 10 {
		t.Fatalf("found only %d commands in accord --help: %v", len(commands), commands)
	}
	for _, c := range commands {
		if !strings.Contains(table, "`accord "+c+"`") {
			t.Errorf("accord %s is not in the exit codes table of docs/operations.md", c)
		}
	}

	dir := newProject(t)
	write := func(rel, text string) string {
		path := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	write("bad.yml", "server:\n  max_body_bytes: 10\n")
	write("badcontracts.yml", "contracts:\n  unknown_contexts: maybe\n")
	write("good.json", `{"order_id": "ord-1", "total": 5, "currency": "EUR", "items": [{"sku": "a", "quantity": 1}]}`)
	write("bad.json", `{"order_id": "ord-1", "total": -5}`)
	write("broken/com.acme/broken/jsonschema/1-0-0", "{")
	write("empty.ndjson", "")
	write("afile", "")
	lintErrors := filepath.Join(dir, "lint-errors")
	copyLintTree(t, "testdata/lint/docs-example/contracts", lintErrors)
	// An Iglu checkout to pull from, into a directory of its own whose cart
	// 1-0-0 holds another document, so pulling that one is refused.
	copyLintTree(t, "testdata/lint/docs-example/contracts", filepath.Join(dir, "repo", "schemas"))
	write("pulled/com.acme/cart/jsonschema/1-0-0", `{"self": {"vendor": "com.acme", "name": "cart", "format": "jsonschema", "version": "1-0-0"}, "type": "object"}`)
	checkout := filepath.Join("contracts", "com.example", "checkout_completed", "jsonschema", "1-0-0")

	// Before a collector ran, there is no spool to read.
	cases := []struct {
		args []string
		code int
	}{
		{[]string{"init", "afile/sub"}, 2},
		{[]string{"version"}, 0},
		{[]string{"config", "reference"}, 0},
		{[]string{"config", "check"}, 0},
		{[]string{"config", "check", "--config", "bad.yml"}, 1},
		{[]string{"validate", "--schema", checkoutKey, "good.json"}, 0},
		{[]string{"validate", "--schema", checkoutKey, "bad.json"}, 1},
		{[]string{"validate", "good.json"}, 2},
		{[]string{"validate", "--config", "badcontracts.yml", "--schema", checkoutKey, "good.json"}, 2},
		{[]string{"contract", "lint"}, 0},
		{[]string{"contract", "lint", lintErrors}, 1},
		{[]string{"contract", "lint", "--format", "bogus"}, 2},
		{[]string{"contract", "diff", checkout, checkout}, 0},
		{[]string{"contract", "diff", "nope", "nope"}, 2},
		{[]string{"contract", "check"}, 0},
		{[]string{"contract", "check", "broken"}, 1},
		{[]string{"contract", "check", "nowhere"}, 2},
		{[]string{"contract", "pull", "--contracts", "pulled", "--from", "repo", "iglu:com.acme/checkout/jsonschema/1-0-0"}, 0},
		{[]string{"contract", "pull", "--contracts", "pulled", "--from", "repo", "iglu:com.acme/cart/jsonschema/1-0-0"}, 1},
		{[]string{"contract", "pull"}, 2},
		{[]string{"contract", "publish", "broken", "--registry", "http://127.0.0.1:1", "--key", "k"}, 1},
		{[]string{"contract", "publish", "--registry", "http://127.0.0.1:1", "--key", "k"}, 2},
		{[]string{"replay", "--dead-letter", "empty.ndjson"}, 0},
		{[]string{"replay", "--dead-letter", "missing.ndjson"}, 1},
		{[]string{"replay", "--from-sink", "nope"}, 2},
		{[]string{"spool", "status"}, 1},
		{[]string{"spool", "status", "--format", "bogus"}, 2},
		{[]string{"tables", "plan"}, 0},
		{[]string{"tables", "plan", "--sink", "nope"}, 2},
		{[]string{"tables", "apply"}, 0},
		{[]string{"tables", "apply", "--sink", "nope"}, 2},
		{[]string{"loadgen", "--body", "missing.ndjson"}, 2},
		{[]string{"gen", "sql", "--dialect", "postgres"}, 0},
		{[]string{"gen", "sql", "--dialect", "postgres", "--contracts", "broken"}, 1},
		{[]string{"gen", "sql", "--dialect", "oracle"}, 2},
		{[]string{"gen", "dbt", "--dialect", "postgres", "--out", "gen-dbt"}, 0},
		{[]string{"gen", "dbt", "--dialect", "postgres", "--out", "gen-dbt-broken", "--contracts", "broken"}, 1},
		{[]string{"gen", "dbt", "--dialect", "postgres"}, 2},
		{[]string{"gen", "sdk", "--lang", "go", "--out", "gen-sdk"}, 0},
		{[]string{"gen", "sdk", "--lang", "go", "--out", "gen-sdk-broken", "--contracts", "broken"}, 1},
		{[]string{"gen", "sdk", "--lang", "cobol", "--out", "gen-sdk"}, 2},
		{[]string{"gen", "catalog", "--out", "gen-catalog"}, 0},
		{[]string{"gen", "catalog", "--out", "gen-catalog-broken", "--contracts", "broken"}, 1},
		{[]string{"gen", "catalog"}, 2},
		{[]string{"load"}, 2},
		{[]string{"no-such-command"}, 2},
		{[]string{"validate", "--no-such-flag"}, 2},
	}
	for _, tc := range cases {
		if _, stderr, code := runAccord(t, dir, nil, tc.args...); code != tc.code {
			t.Errorf("accord %s: exit %d; the table says %d\n%s", strings.Join(tc.args, " "), code, tc.code, stderr)
		}
	}
	// With a collector running: loadgen against it, spool status refused;
	// once it stopped, spool status reads the spool.
	c := startCollector(t, dir)
	if out, stderr, code := runAccord(t, dir, nil, "loadgen", "--url", c.URL+"/events", "--requests", "2", "--concurrency", "1", "--batch", "2"); code != 0 {
		t.Errorf("accord loadgen: exit %d\n%s%s", code, out, stderr)
	}
	if _, stderr, code := runAccord(t, dir, nil, "spool", "status"); code != 1 || !strings.Contains(stderr, "GET /stats") {
		t.Errorf("accord spool status beside a running collector: exit %d; want 1\n%s", code, stderr)
	}
	c.stop()
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"spool", "status"}, 0},
		{[]string{"subject", "export", "--user-id", "nobody"}, 0},
		{[]string{"subject", "delete", "--user-id", "nobody"}, 0},
		{[]string{"subject", "export"}, 2},
		{[]string{"subject", "delete", "--user-id", "nobody", "--format", "bogus"}, 2},
	} {
		if _, stderr, code := runAccord(t, dir, nil, tc.args...); code != tc.code {
			t.Errorf("accord %s: exit %d; the table says %d\n%s", strings.Join(tc.args, " "), code, tc.code, stderr)
		}
	}
}

// What docs/envelope.md, docs/protocols/pixel.md and docs/contracts.md say of
// records: ids Accord generates are UUIDv7; the pixel's raw is its query
// re-encoded; an oversized Segment message keeps all of itself when sent
// alone and 1 KiB in a batch; a contract a backend could not supply fails
// the event naming the backend and its error, redacted.
func TestDocsRecordClaims(t *testing.T) {
	dir := newProject(t)
	c := startCollector(t, dir,
		`ACCORD_PROTOCOLS_SEGMENT_SOURCES=[{name: web, write_key: wk-claims}]`,
		`ACCORD_CONTRACTS_BACKENDS=[{type: iglu, url: "http://user:hunter2@127.0.0.1:1"}]`,
		// What each protocol keeps, before the privacy policy withholds
		// raw input that is not JSON (its default).
		"ACCORD_PRIVACY_FAILED_RAW=keep")
	if status, _, body := c.post("/events", "application/json", []byte(`{"schema":"`+pageViewKey+`","data":{"url":"https://shop.example/"}}`)); status != http.StatusOK {
		t.Fatalf("%d %s", status, body)
	}
	status, _, body := httpDo(t, http.MethodGet, c.URL+"/px/com.nope/thing/1-0-0?b=2&a=x%20y&c=%7E", nil)
	if status != http.StatusOK {
		t.Fatalf("pixel: %d %s", status, body)
	}
	big := strings.Repeat("y", 40000)
	single := []byte(`{"type":"track","event":"Big","anonymousId":"a","messageId":"claims-1","properties":{"x":"` + big + `"}}`)
	if status, _, body := c.post("/v1/track", "application/json", single, "Authorization", segBasic("wk-claims")); status != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized single Segment call: %d %s", status, body)
	}
	batch := []byte(`{"batch":[{"type":"track","event":"Big","anonymousId":"a","messageId":"claims-2","properties":{"x":"` + big + `"}}]}`)
	if status, _, body := c.post("/v1/batch", "application/json", batch, "Authorization", segBasic("wk-claims")); status != http.StatusOK {
		t.Fatalf("Segment batch with an oversized message: %d %s", status, body)
	}
	status, _, resp := c.post("/events", "application/json", []byte(`{"schema":"iglu:com.remote/gone/jsonschema/1-0-0","data":{}}`))
	if status != http.StatusOK || !strings.Contains(string(resp), "registry backend") || !strings.Contains(string(resp), "connection refused") || strings.Contains(string(resp), "hunter2") {
		t.Errorf("an event whose contract the backend could not supply: %d %s; want the backend named, its error, no password", status, resp)
	}
	waitDelivered(t, c, 10*time.Second)
	c.stop()

	db := openStore(t, dir)
	var id string
	if err := db.QueryRow(`SELECT event_id FROM events WHERE schema = ?`, pageViewKey).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if u, err := uuid.Parse(id); err != nil || u.Version() != 7 {
		t.Errorf("the event_id Accord generated, %s, is not a UUIDv7 (%v)", id, err)
	}
	rows, err := db.Query(`SELECT protocol, failure_type, raw, failure FROM failed_events`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var protocol, failureType, raw, failure string
		if err := rows.Scan(&protocol, &failureType, &raw, &failure); err != nil {
			t.Fatal(err)
		}
		switch {
		case protocol == "pixel":
			seen["pixel"] = true
			if raw != "a=x+y&b=2&c=~" {
				t.Errorf("the pixel's raw is %q; docs/protocols/pixel.md says a=x+y&b=2&c=~", raw)
			}
		case protocol == "segment" && strings.Contains(raw, "claims-1"):
			seen["single"] = true
			if len(raw) < 40000 || strings.Contains(raw, "wk-claims") {
				t.Errorf("an oversized single Segment message keeps %d bytes of raw (want all of it, without its write key)", len(raw))
			}
		case protocol == "segment":
			seen["batch"] = true
			if len(raw) != 1024 {
				t.Errorf("an oversized Segment message in a batch keeps %d bytes of raw; want its first 1 KiB", len(raw))
			}
		case protocol == "selfdesc":
			seen["backend"] = true
			if !strings.Contains(failure, "registry backend") || strings.Contains(failure, "hunter2") {
				t.Errorf("the failed record of an unreachable backend: %s", failure)
			}
		}
	}
	if len(seen) != 4 {
		t.Errorf("found the failed records %v; want pixel, single, batch and backend", seen)
	}
}

// The retention statements of docs/sinks.md run against the store while
// nothing else holds it, and remove what they say.
func TestDocsRetentionStatements(t *testing.T) {
	dir := newProject(t)
	c := startCollector(t, dir)
	for i := 0; i < 3; i++ {
		c.post("/events", "application/json", []byte(fmt.Sprintf(`{"schema":"%s","data":{"url":"https://shop.example/%d"}}`, pageViewKey, i)))
	}
	c.post("/events", "application/json", []byte(`{"schema":"iglu:com.example/nope/jsonschema/1-0-0","data":{}}`))
	waitDelivered(t, c, 10*time.Second)
	c.stop()
	var statements string
	for _, b := range parseBlocks(t, "../docs/sinks.md") {
		if strings.Contains(b.text, "DELETE FROM events") {
			statements = b.text
		}
	}
	if statements == "" {
		t.Fatal("docs/sinks.md has no retention statements")
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "accord-data", "accord.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The docs' cut-off is in the past; run them with one in the future,
	// so that they remove every record.
	future := regexp.MustCompile(`'\d{4}-\d\d-\d\dT[^']*'`).ReplaceAllString(statements, "'2999-01-01T00:00:00Z'")
	for _, stmt := range strings.Split(future, ";") {
		if stmt = strings.TrimSpace(regexp.MustCompile(`--[^\n]*`).ReplaceAllString(stmt, "")); stmt != "" {
			if _, err := db.Exec(stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
	}
	var good, failed int
	if err := db.QueryRow(`SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM failed_events)`).Scan(&good, &failed); err != nil || good+failed != 0 {
		t.Errorf("after the retention statements: %d good, %d failed (%v); want none", good, failed, err)
	}
}
