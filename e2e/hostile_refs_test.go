package e2e

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hostileRefSchema is a contract named name whose property x is a $ref.
func hostileRefSchema(name, ref string) string {
	return `{"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
		"self": {"vendor": "com.hostile", "name": "` + name + `", "format": "jsonschema", "version": "1-0-0"},
		"type": "object", "properties": {"x": {"$ref": "` + ref + `"}}}`
}

// boundedRequest sends a request that must be answered within 10s: a
// contract that makes the server block on a FIFO fails it.
func boundedRequest(t *testing.T, method, url string, body string, headers ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestHostileContractRefsReadNoFiles: a contract's $ref to a file (a
// readable secret, a FIFO, /proc) or to any URL outside the registry is
// refused at registry write, at start and at hot reload, and never blocks;
// a $ref to another contract of the registry works.
func TestHostileContractRefsReadNoFiles(t *testing.T) {
	dir := newProject(t)
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.json")
	const secretText = "hostile-secret-4f1c"
	if err := os.WriteFile(secret, []byte(`{"enum": ["`+secretText+`"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(outside, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}

	// At load: contracts.dir holds a contract with a file $ref, one whose
	// $schema is a FIFO, and a FIFO in place of a contract file.
	writeContract(t, dir, "iglu:com.hostile/atload/jsonschema/1-0-0", hostileRefSchema("atload", "file://"+secret))
	writeContract(t, dir, "iglu:com.hostile/schemafifo/jsonschema/1-0-0",
		strings.Replace(hostileRefSchema("schemafifo", "#"), "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#", "file://"+fifo, 1))
	pipeDir := filepath.Join(dir, "contracts", "com.hostile", "pipe", "jsonschema")
	if err := os.MkdirAll(pipeDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(pipeDir, "1-0-0"), 0o644); err != nil {
		t.Fatal(err)
	}

	c := startCollector(t, dir, "ACCORD_CONTRACTS_API_KEYS=k1", "ACCORD_CONTRACTS_RELOAD_INTERVAL=100ms")
	logs := c.logs.String()
	for _, want := range []string{"com.hostile/atload", "com.hostile/schemafifo", "com.hostile/pipe"} {
		if !contains(logs, want) {
			t.Errorf("start: no log line about %s\n%s", want, logs)
		}
	}
	if !contains(logs, "$ref outside the registry") || !contains(logs, "not a regular file") {
		t.Errorf("start: logs do not say why the contracts were refused\n%s", logs)
	}
	for _, name := range []string{"atload", "schemafifo", "pipe"} {
		if status, body := boundedRequest(t, "GET", c.URL+"/api/schemas/com.hostile/"+name+"/jsonschema/1-0-0", ""); status != http.StatusNotFound {
			t.Errorf("GET %s: %d %s, want 404", name, status, body)
		}
	}

	// At registry write: each hostile $ref is refused with 422 and a
	// sentence saying where a $ref may point; nothing leaks the secret.
	refs := map[string]string{
		"file":     "file://" + secret,
		"fifo":     "file://" + fifo,
		"proc":     "file:///proc/self/fd/1",
		"http":     "http://127.0.0.1:1/x.json",
		"unknown":  "iglu:com.hostile/missing/jsonschema/1-0-0",
		"fragment": "file://" + secret + "#/enum",
	}
	for name, ref := range refs {
		status, body := boundedRequest(t, "PUT", c.URL+"/api/schemas/com.hostile/w"+name+"/jsonschema/1-0-0",
			hostileRefSchema("w"+name, ref), "apikey", "k1")
		if status != http.StatusUnprocessableEntity || !contains(body, "$ref outside the registry") {
			t.Errorf("PUT with $ref %s: %d %s, want 422 naming the refused $ref", ref, status, body)
		}
		if contains(body, secretText) {
			t.Errorf("PUT with $ref %s: answer shows the file's content: %s", ref, body)
		}
	}

	// A $ref to another contract of the registry, as an iglu: key and in
	// the Iglu Central URL form, is resolved and used by validation.
	for name, ref := range map[string]string{
		"byiglu":    "iglu:com.example/user/jsonschema/1-0-0",
		"bycentral": "http://iglucentral.com/schemas/com.example/user/jsonschema/1-0-0",
	} {
		status, body := boundedRequest(t, "PUT", c.URL+"/api/schemas/com.hostile/"+name+"/jsonschema/1-0-0",
			hostileRefSchema(name, ref), "apikey", "k1")
		if status/100 != 2 {
			t.Fatalf("PUT with $ref %s: %d %s", ref, status, body)
		}
		valid := `{"schema": "iglu:com.hostile/` + name + `/jsonschema/1-0-0", "data": {"x": {"id": "u1"}}}`
		invalid := `{"schema": "iglu:com.hostile/` + name + `/jsonschema/1-0-0", "data": {"x": {"plan": "gold"}}}`
		eventually(t, 10*time.Second, name+" serves", func() bool {
			status, body := boundedRequest(t, "POST", c.URL+"/api/validation/validate/instance", valid, "Content-Type", "application/json")
			return status == http.StatusOK && contains(body, `"valid":true`)
		})
		if status, body := boundedRequest(t, "POST", c.URL+"/api/validation/validate/instance", invalid, "Content-Type", "application/json"); !contains(body, `"valid":false`) || !contains(body, `must be one of`) {
			t.Errorf("validate against %s: an instance breaking the referenced contract: %d %s", name, status, body)
		}
	}

	// Hot reload: a contract with a FIFO $ref dropped into contracts.dir
	// does not block reloading; a good contract added after it is served.
	writeContract(t, dir, "iglu:com.hostile/reloadfifo/jsonschema/1-0-0", hostileRefSchema("reloadfifo", "file://"+fifo))
	writeContract(t, dir, "iglu:com.hostile/later/jsonschema/1-0-0", hostileRefSchema("later", "#/properties"))
	eventually(t, 10*time.Second, "a contract added after a FIFO $ref is served", func() bool {
		status, _ := boundedRequest(t, "GET", c.URL+"/api/schemas/com.hostile/later/jsonschema/1-0-0", "")
		return status == http.StatusOK
	})
	if status, _ := boundedRequest(t, "GET", c.URL+"/api/schemas/com.hostile/reloadfifo/jsonschema/1-0-0", ""); status != http.StatusNotFound {
		t.Errorf("reloadfifo served: %d", status)
	}
	c.stop()

	// accord contract lint names the refused $ref too.
	stdout, stderr, code := runAccord(t, dir, nil, "contract", "lint")
	if code == 0 || !contains(stdout+stderr, "$ref outside the registry") {
		t.Errorf("contract lint: exit %d, output does not name the refused $ref:\n%s%s", code, stdout, stderr)
	}

	// And the next start is not blocked either.
	c = startCollector(t, dir)
	c.stop()
}
