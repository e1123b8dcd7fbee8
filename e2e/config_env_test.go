package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every list key can be set whole from the environment, in YAML flow
// syntax, as docs/configuration.md says: contract backends, Segment
// sources, webhook sources, the sinks, and a list of strings. The collector
// runs on them: an event of a contract only the Iglu backend holds is good,
// a Segment call with the source's write key and a webhook delivery are
// stored, in the file sink the environment configured.
func TestWholeListsFromTheEnvironment(t *testing.T) {
	repo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/schemas/com.remote/sku_viewed/jsonschema/1-0-0" {
			fmt.Fprint(w, rbSchema("com.remote", "sku_viewed"))
			return
		}
		http.NotFound(w, r)
	}))
	defer repo.Close()
	dir := newProject(t)
	good, failed := filepath.Join(dir, "good.ndjson"), filepath.Join(dir, "failed.ndjson")
	c := startCollector(t, dir,
		`ACCORD_CONTRACTS_BACKENDS=[{type: iglu, url: "`+repo.URL+`"}]`,
		`ACCORD_PROTOCOLS_SEGMENT_SOURCES=[{name: web, write_key: wk-env-1}]`,
		`ACCORD_PROTOCOLS_WEBHOOKS=[{name: hooks, arbitrary: true}]`,
		`ACCORD_SINKS=[{name: out, type: file, options: {good_path: "`+good+`", failed_path: "`+failed+`"}}]`,
		// An indexed variable changes an entry of a list set whole.
		`ACCORD_SINKS_0_DELIVERY_LINGER=10ms`,
		`ACCORD_SERVER_CORS_ORIGINS=[https://a.example, "https://b.example"]`,
	)
	if got := rbSend(t, c, "iglu:com.remote/sku_viewed/jsonschema/1-0-0", `{"sku":"A-1"}`); got.Good != 1 {
		t.Errorf("event of a contract in the backend set from the environment: %+v", got)
	}
	track := []byte(`{"type":"track","event":"Env Listed","messageId":"env-list-1","anonymousId":"a1","properties":{}}`)
	if status, _, body := c.post("/v1/track", "application/json", track, "Authorization", segBasic("wk-env-1")); status != http.StatusOK {
		t.Errorf("segment call with the write key set from the environment: %d %s", status, body)
	}
	if status, _, body := c.post("/webhooks/hooks", "application/json", []byte(`{"ping":1}`)); status/100 != 2 {
		t.Errorf("delivery to the webhook source set from the environment: %d %s", status, body)
	}
	c.stop()
	lines := readNDJSON(t, good)
	if len(lines) != 3 {
		t.Fatalf("the file sink set from the environment holds %d good records; want 3", len(lines))
	}
	for _, want := range []string{`"protocol":"selfdesc"`, `"protocol":"segment"`, `"protocol":"webhook"`} {
		if !strings.Contains(string(joinLines(lines)), want) {
			t.Errorf("no good record with %s in the file sink", want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "accord-data", "accord.db")); err == nil {
		t.Errorf("the sinks list set from the environment did not replace the file's sqlite sink")
	}
}

func joinLines(lines [][]byte) []byte {
	var b []byte
	for _, l := range lines {
		b = append(append(b, l...), '\n')
	}
	return b
}

// A mistake in a list set from the environment, or a misspelt key in the
// file, is answered with the key's path and the nearest valid key.
func TestConfigurationMistakesNameTheKeyAndTheFix(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  []string
		want []string
	}{
		{"typo in the file", "server:\n  adrr: \":80\"\n", nil, []string{"line 2: server.adrr: unknown key; did you mean server.addr?"}},
		{"typo in a list entry", "contracts:\n  backends:\n    - {type: iglu, urll: http://x}\n", nil, []string{"line 3: contracts.backends[0].urll: unknown key; did you mean contracts.backends[0].url?"}},
		{"typo in a protocol", "protocols:\n  segment:\n    sorces: []\n", nil, []string{"protocols.segment.sorces: unknown key; did you mean protocols.segment.sources?"}},
		{"nothing near", "log:\n  colour: red\n", nil, []string{"log.colour: unknown key; the keys here are format, level"}},
		{"typo in a list from the environment", "", []string{"ACCORD_PROTOCOLS_WEBHOOKS=[{name: gh, arbitrary: true, shema: x}]"},
			[]string{"ACCORD_PROTOCOLS_WEBHOOKS: protocols.webhooks[0].shema: unknown key; did you mean protocols.webhooks[0].schema?"}},
		{"a list that is not YAML", "", []string{"ACCORD_CONTRACTS_BACKENDS=[{type: iglu"}, []string{"ACCORD_CONTRACTS_BACKENDS:", "YAML flow syntax"}},
		{"a bad entry from the environment", "", []string{"ACCORD_CONTRACTS_BACKENDS=[{type: oracle}]"}, []string{"contracts.backends[0].type"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "accord.yml"), []byte(tc.file), 0o644); err != nil {
				t.Fatal(err)
			}
			_, stderr, code := runAccordEnv(t, dir, tc.env, nil, "config", "check")
			if code != 1 {
				t.Fatalf("accord config check: exit %d; want 1\n%s", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("output lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// Each command validates the part of the configuration it uses: with the
// Segment write key and the webhook secret left to environment variables
// that are not set, the collector refuses to start, naming them, but lint,
// validate, replay, spool status and contract pull run (after a collector
// ran with them).
func TestCommandsCheckOnlyTheConfigurationTheyUse(t *testing.T) {
	dir := newProject(t)
	conf := "protocols:\n  segment:\n    sources:\n      - {name: web}\n  webhooks:\n    - {name: gh, arbitrary: true, signature: {kind: github}}\n"
	if err := os.WriteFile(filepath.Join(dir, "only.yml"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	event := filepath.Join(dir, "event.json")
	if err := os.WriteFile(event, []byte(`{"order_id": 1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// The collector ran with the secrets set, so the spool exists.
	c := startCollector(t, dir, "ACCORD_CONFIG=only.yml", "ACCORD_PROTOCOLS_SEGMENT_SOURCES_0_WRITE_KEY=wk-1", "ACCORD_PROTOCOLS_WEBHOOKS_0_SIGNATURE_SECRET=s3")
	c.stop()
	deadLetters := filepath.Join(dir, "none.ndjson")
	if err := os.WriteFile(deadLetters, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"contract", "lint"}, 0},
		{[]string{"validate", "--schema", checkoutKey, event}, 1},
		{[]string{"replay", "--dead-letter", deadLetters}, 0},
		{[]string{"spool", "status"}, 0},
		{[]string{"subject", "export", "--user-id", "nobody"}, 0},
		{[]string{"contract", "pull", "--from", absPath(t, pullRepo), "--vendor", "com.example.mobile"}, 0},
	} {
		_, stderr, code := runAccord(t, dir, nil, append(tc.args, "--config", "only.yml")...)
		if code != tc.code || strings.Contains(stderr, "write_key") || strings.Contains(stderr, "signature.secret") {
			t.Errorf("accord %v: exit %d (want %d); it must not ask for secrets it never uses:\n%s", tc.args, code, tc.code, stderr)
		}
	}
	for _, args := range [][]string{{"config", "check"}, {"serve", "--addr", "127.0.0.1:0"}} {
		_, stderr, code := runAccord(t, dir, nil, append(args, "--config", "only.yml")...)
		if code == 0 || !strings.Contains(stderr, "protocols.segment.sources[0].write_key") || !strings.Contains(stderr, "protocols.webhooks[0].signature.secret") {
			t.Errorf("accord %v: exit %d; want a refusal naming both secrets:\n%s", args, code, stderr)
		}
	}
}

// accord validate resolves contracts as the collector does (contracts.dir
// and contracts.backends from accord.yml) and reads the payload with the
// collector's JSON reader: an object repeating a member name fails, as the
// collector fails it.
func TestValidateJudgesAsTheCollector(t *testing.T) {
	repo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/schemas/com.remote/sku_viewed/jsonschema/1-0-0" {
			fmt.Fprint(w, rbSchema("com.remote", "sku_viewed"))
			return
		}
		http.NotFound(w, r)
	}))
	defer repo.Close()
	dir := newProject(t)
	if err := os.Rename(filepath.Join(dir, "contracts"), filepath.Join(dir, "elsewhere")); err != nil {
		t.Fatal(err)
	}
	conf := "contracts:\n  dir: elsewhere\n  backends:\n    - {type: iglu, url: \"" + repo.URL + "\"}\n"
	if err := os.WriteFile(filepath.Join(dir, "accord.yml"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"local.json":    `{"order_id": "ord-1", "total": 5, "currency": "EUR", "items": [{"sku": "a", "quantity": 1}]}`,
		"remote.json":   `{"sku": "A-1"}`,
		"repeated.json": `{"sku": "A-1", "sku": "too long by far"}`,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	remote := "iglu:com.remote/sku_viewed/jsonschema/1-0-0"
	for _, tc := range []struct {
		schema, file string
		code         int
		want         string
	}{
		{checkoutKey, "local.json", 0, "valid: " + checkoutKey},
		{remote, "remote.json", 0, "valid: " + remote},
		{remote, "repeated.json", 1, "payload_format_violation"},
	} {
		stdout, stderr, code := runAccord(t, dir, nil, "validate", "--schema", tc.schema, tc.file)
		if code != tc.code || !strings.Contains(stdout, tc.want) {
			t.Errorf("accord validate %s %s: exit %d (want %d), output lacks %q:\n%s%s", tc.schema, tc.file, code, tc.code, tc.want, stdout, stderr)
		}
	}
	// The collector on the same configuration answers the same.
	c := startCollector(t, dir)
	status, _, body := c.post("/events", "application/json", []byte(`{"schema":"`+remote+`","data":`+files["repeated.json"]+`}`))
	if status == http.StatusOK || !strings.Contains(string(body), "payload_format_violation") {
		t.Errorf("the collector on the repeated member name: %d %s; want payload_format_violation as accord validate says", status, body)
	}
	c.stop()
}
