package e2e

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rwRequest sends a request with headers (name, value, ...) to the
// collector and returns the status and the body.
func rwRequest(t *testing.T, c *collector, method, path string, body []byte, headers ...string) (int, string) {
	t.Helper()
	status, _, answer := httpDo(t, method, c.URL+path, body, headers...)
	return status, strings.TrimSpace(answer)
}

// rwUser is the project's user contract at version with its plan enum
// set to plans.
func rwUser(t *testing.T, dir, version, plans string) []byte {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(dir, "contracts", "com.example", "user", "jsonschema", "1-0-0"))
	if err != nil {
		t.Fatal(err)
	}
	doc = bytes.Replace(doc, []byte(`"version": "1-0-0"`), []byte(`"version": "`+version+`"`), 1)
	return bytes.Replace(doc, []byte(`"enum": ["free", "pro", "enterprise"]`), []byte(`"enum": [`+plans+`]`), 1)
}

// rwCopyTree copies the listed files of a contract fixture tree into dir.
func rwCopyTree(t *testing.T, tree, dir string, files ...string) {
	t.Helper()
	for _, f := range files {
		doc, err := os.ReadFile(filepath.Join(fixtureDir(t, tree), f))
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, doc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRegistryWriteOnServe writes schemas through the registry API of a real
// accord serve with hot reload off: what it accepts is stored in
// contracts.dir and served, and events use it, at once.
func TestRegistryWriteOnServe(t *testing.T) {
	dir := newProject(t)
	c := startCollector(t, dir, "ACCORD_CONTRACTS_API_KEYS=k1,k2", "ACCORD_CONTRACTS_RELOAD_INTERVAL=0")
	const user = "/api/schemas/com.example/user/jsonschema/"
	honest := rwUser(t, dir, "1-0-1", `"free", "pro", "enterprise", "team"`)

	if status, body := rwRequest(t, c, "PUT", user+"1-0-1", honest); status != http.StatusUnauthorized || !contains(body, "needs an API key") {
		t.Fatalf("PUT without a key: %d %s", status, body)
	}
	if status, body := rwRequest(t, c, "PUT", user+"1-0-1", honest, "apikey", "nope"); status != http.StatusUnauthorized || !contains(body, "not one of contracts.api_keys") {
		t.Fatalf("PUT with a wrong key: %d %s", status, body)
	}
	if status, body := rwRequest(t, c, "PUT", user+"1-0-1", []byte(`{"self": {"vendor": "com.example"}}`), "apikey", "k1"); status != http.StatusUnprocessableEntity || !contains(body, "does not compile") {
		t.Fatalf("PUT a broken schema: %d %s", status, body)
	}
	dishonest := rwUser(t, dir, "1-0-1", `"pro", "enterprise"`)
	status, body := rwRequest(t, c, "PUT", user+"1-0-1", dishonest, "apikey", "k1")
	if status != http.StatusConflict || !contains(body, "declares ADDITION over 1-0-0 but its changes need REVISION; publish it as 1-1-0") ||
		!contains(body, `"kind":"enum_value_removed"`) || !contains(body, `"property":"plan"`) || !contains(body, `"bump":"REVISION"`) {
		t.Fatalf("PUT a dishonest bump: %d %s", status, body)
	}
	if status, body := rwRequest(t, c, "PUT", user+"1-0-2", rwUser(t, dir, "1-0-2", `"free", "pro", "enterprise", "team"`), "apikey", "k1"); status != http.StatusConflict || !contains(body, `"missing":"1-0-1"`) {
		t.Fatalf("PUT past a gap: %d %s", status, body)
	}

	status, body = rwRequest(t, c, "PUT", user+"1-0-1", honest, "Authorization", "Bearer k2")
	stored := filepath.Join(dir, "contracts", "com.example", "user", "jsonschema", "1-0-1")
	if status != http.StatusCreated || !contains(body, `"key":"iglu:com.example/user/jsonschema/1-0-1"`) || !contains(body, `"location":"`+strings.TrimPrefix(stored, dir+"/")+`"`) {
		t.Fatalf("PUT an honest bump: %d %s", status, body)
	}
	if got, err := os.ReadFile(stored); err != nil || !bytes.Equal(got, honest) {
		t.Fatalf("stored file: %v %s", err, got)
	}
	if status, body := rwRequest(t, c, "GET", user+"1-0-1", nil); status != http.StatusOK || body != strings.TrimSpace(string(honest)) {
		t.Fatalf("GET the new version: %d %s", status, body)
	}
	status, _, resp := c.post("/events", "application/json", []byte(`{"schema": "iglu:com.example/page_view/jsonschema/1-0-0", "data": {"url": "https://shop.example/"},
		"contexts": [{"schema": "iglu:com.example/user/jsonschema/1-0-1", "data": {"id": "u-1", "plan": "team"}}]}`))
	if r := decodeInto[collectResponse](t, resp); status != http.StatusOK || r.Good != 1 {
		t.Fatalf("an event using the new version: %d %s", status, resp)
	}
	if status, body := rwRequest(t, c, "PUT", user+"1-0-1", honest, "apikey", "k1"); status != http.StatusOK || !contains(body, `"status":"unchanged"`) {
		t.Fatalf("PUT the same again: %d %s", status, body)
	}
	if status, body := rwRequest(t, c, "PUT", user+"1-0-1", dishonest, "apikey", "k1"); status != http.StatusConflict || !contains(body, "already exists with another document") {
		t.Fatalf("PUT another document for an existing version: %d %s", status, body)
	}
	created := bytes.ReplaceAll(rwUser(t, dir, "1-0-0", `"free"`), []byte(`"name": "user"`), []byte(`"name": "member"`))
	if status, body := rwRequest(t, c, "POST", "/api/schemas", created, "apikey", "k1"); status != http.StatusCreated || !contains(body, `"key":"iglu:com.example/member/jsonschema/1-0-0"`) {
		t.Fatalf("POST a new contract: %d %s", status, body)
	}
	if !contains(c.logs.String(), `msg="schema published"`) {
		t.Errorf("no log line for the writes\n%s", c.logs)
	}
	c.stop()

	// Without contracts.api_keys, writes are refused and say how to
	// turn them on.
	c = startCollector(t, dir)
	if status, body := rwRequest(t, c, "PUT", user+"1-0-2", rwUser(t, dir, "1-0-2", `"free", "pro", "enterprise", "team", "staff"`), "apikey", "k1"); status != http.StatusForbidden ||
		!contains(body, "contracts.api_keys (ACCORD_CONTRACTS_API_KEYS)") {
		t.Fatalf("PUT with writes off: %d %s", status, body)
	}
	c.stop()
}

// TestContractPublish publishes a contracts tree to a real accord serve:
// new versions are sent, a second run finds them unchanged, and a dishonest
// bump stops the publish with the registry's reason.
func TestContractPublish(t *testing.T) {
	dir := newProject(t)
	c := startCollector(t, dir, "ACCORD_CONTRACTS_API_KEYS=k1")
	tree := t.TempDir()
	const cart = "com.example/cart/jsonschema/"
	rwCopyTree(t, "honest", tree, cart+"1-0-0", cart+"1-0-1")
	withKey := []string{"ACCORD_REGISTRY_KEY=k1"}

	out, errOut, code := runAccordEnv(t, dir, withKey, nil, "contract", "publish", tree, "--registry", c.URL)
	if code != 0 || !contains(out, "published iglu:com.example/cart/jsonschema/1-0-0\npublished iglu:com.example/cart/jsonschema/1-0-1\npublished 2, unchanged 0\n") {
		t.Fatalf("first publish: exit %d\n%s%s", code, out, errOut)
	}
	for _, v := range []string{"1-0-0", "1-0-1"} {
		want, _ := os.ReadFile(filepath.Join(tree, cart+v))
		if status, body := rwRequest(t, c, "GET", "/api/schemas/"+cart+v, nil); status != http.StatusOK || body != strings.TrimSpace(string(want)) {
			t.Errorf("GET %s after the publish: %d %s", v, status, body)
		}
		if _, err := os.Stat(filepath.Join(dir, "contracts", cart+v)); err != nil {
			t.Errorf("not stored in contracts.dir: %v", err)
		}
	}

	out, errOut, code = runAccord(t, dir, nil, "contract", "publish", tree, "--registry", c.URL+"/", "--key", "k1")
	if code != 0 || !contains(out, "unchanged iglu:com.example/cart/jsonschema/1-0-0\nunchanged iglu:com.example/cart/jsonschema/1-0-1\npublished 0, unchanged 2\n") {
		t.Fatalf("second publish: exit %d\n%s%s", code, out, errOut)
	}

	rwCopyTree(t, "dishonest", tree, cart+"1-0-2")
	out, errOut, code = runAccordEnv(t, dir, withKey, nil, "contract", "publish", tree, "--registry", c.URL)
	for _, want := range []string{
		"refused iglu:com.example/cart/jsonschema/1-0-2: 409 Conflict: iglu:com.example/cart/jsonschema/1-0-2 declares ADDITION over 1-0-1 but its changes need REVISION; publish it as 1-1-0",
		"com.example/cart/jsonschema: 1-0-1 -> 1-0-2 declares ADDITION but its changes need REVISION:",
		"REVISION  max_length_added  items[].sku at /definitions/item/properties/sku/maxLength",
		"published 0, unchanged 2\n",
	} {
		if !contains(out, want) {
			t.Errorf("dishonest publish: output lacks %q", want)
		}
	}
	if code != 1 || !contains(errOut, "the registry refused iglu:com.example/cart/jsonschema/1-0-2 (409 Conflict)") {
		t.Errorf("dishonest publish: exit %d, stderr %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "contracts", cart+"1-0-2")); err == nil {
		t.Errorf("the refused 1-0-2 was stored")
	}

	out, errOut, code = runAccord(t, dir, nil, "contract", "publish", tree, "--registry", c.URL, "--key", "k2")
	if code != 1 || !contains(out, "refused iglu:com.example/cart/jsonschema/1-0-2: 401 Unauthorized: the API key is not one of contracts.api_keys") {
		t.Errorf("publish with a wrong key: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := runAccord(t, dir, nil, "contract", "publish", tree, "--registry", c.URL); code != 2 || !contains(errOut, "pass --key or set ACCORD_REGISTRY_KEY") {
		t.Errorf("publish without a key: exit %d, stderr %s", code, errOut)
	}
	c.stop()
}
