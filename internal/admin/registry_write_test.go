package admin_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/accord-events/accord/internal/admin"
)

// newWritableRegistry serves a copy of the scaffold's contracts with schema
// writes taken from keys, polling turned off so that only a write's own
// reload can make what it wrote served.
func newWritableRegistry(t *testing.T, keys ...string) (*httptest.Server, string) {
	t.Helper()
	return newRegistryServer(t, func(_ string, _ *admin.Config, deps *admin.Deps) { deps.APIKeys = keys })
}

// writeReq sends a schema write with the given headers (name, value, ...).
func writeReq(t *testing.T, method, url, body string, headers ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) {
		t.Errorf("%s %s: body is not JSON: %s", method, url, b)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// userVersion is the scaffold's user contract at version, with edit
// applied to its plan enum.
func userVersion(t *testing.T, version, plans string) string {
	t.Helper()
	doc, err := os.ReadFile("../scaffold/template/contracts/com.example/user/jsonschema/1-0-0")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(doc), `"version": "1-0-0"`, `"version": "`+version+`"`, 1)
	return strings.Replace(s, `"enum": ["free", "pro", "enterprise"]`, `"enum": [`+plans+`]`, 1)
}

const (
	plans100 = `"free", "pro", "enterprise"`
	// plans101 adds a value: an ADDITION.
	plans101 = `"free", "pro", "enterprise", "team"`
	// plansRemoved removes one: a REVISION.
	plansRemoved = `"pro", "enterprise", "team"`
)

func TestRegistryWriteRefusedWithoutKeys(t *testing.T) {
	for _, tc := range []struct {
		name string
		ts   *httptest.Server
	}{
		{"no writes option", func() *httptest.Server { ts, _ := newRegistryServer(t); return ts }()},
		{"empty contracts.api_keys", func() *httptest.Server { ts, _ := newWritableRegistry(t); return ts }()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := writeReq(t, "PUT", tc.ts.URL+"/api/schemas/com.example/user/jsonschema/1-0-1", userVersion(t, "1-0-1", plans101), "apikey", "k1")
			if status != http.StatusForbidden || !strings.Contains(body, "schema writes are turned off on this server; to turn them on, list the keys that may write in contracts.api_keys") {
				t.Errorf("PUT: %d %s", status, body)
			}
			status, _, body = writeReq(t, "POST", tc.ts.URL+"/api/schemas", userVersion(t, "1-0-1", plans101), "apikey", "k1")
			if status != http.StatusForbidden {
				t.Errorf("POST: %d %s", status, body)
			}
		})
	}
}

func TestRegistryWrite(t *testing.T) {
	ts, dir := newWritableRegistry(t, "k1", "k2")
	schemas := ts.URL + "/api/schemas"
	user := func(v string) string { return schemas + "/com.example/user/jsonschema/" + v }
	pageView, err := os.ReadFile(filepath.Join(dir, "com.example/page_view/jsonschema/1-0-0"))
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, pageView); err != nil {
		t.Fatal(err)
	}
	key := []string{"apikey", "k1"}
	// The cases run in order: each sees what the ones before it wrote.
	tests := []struct {
		name, method, url, body string
		headers                 []string
		status                  int
		want                    []string
	}{
		{name: "no key", method: "PUT", url: user("1-0-1"), body: userVersion(t, "1-0-1", plans101), status: 401,
			want: []string{"writing schemas needs an API key; send one of contracts.api_keys in an apikey header or as Authorization: Bearer KEY"}},
		{name: "wrong key", method: "PUT", url: user("1-0-1"), body: userVersion(t, "1-0-1", plans101), headers: []string{"apikey", "k3"}, status: 401,
			want: []string{"the API key is not one of contracts.api_keys"}},
		{name: "wrong bearer", method: "PUT", url: user("1-0-1"), body: userVersion(t, "1-0-1", plans101), headers: []string{"Authorization", "Bearer k"}, status: 401},
		{name: "not JSON", method: "PUT", url: user("1-0-1"), body: `{"self":`, headers: key, status: 422, want: []string{"the schema does not compile: invalid contract: not a JSON object"}},
		{name: "no self block", method: "POST", url: schemas, body: `{"type": "object"}`, headers: key, status: 422, want: []string{`no \"self\" block`}},
		{name: "breaks its meta-schema", method: "PUT", url: user("1-0-1"),
			body: strings.Replace(userVersion(t, "1-0-1", plans101), `"type": "object"`, `"type": 12`, 1), headers: key, status: 422,
			want: []string{"the schema does not compile: invalid contract:"}},
		{name: "self block and path disagree", method: "PUT", url: user("1-0-2"), body: userVersion(t, "1-0-1", plans101), headers: key, status: 422,
			want: []string{"the self block names com.example/user/jsonschema/1-0-1 but the path names com.example/user/jsonschema/1-0-2; make them agree"}},
		{name: "bad key in path", method: "PUT", url: user("one"), body: userVersion(t, "1-0-1", plans101), headers: key, status: 400, want: []string{"is not a schema key"}},
		{name: "existing version, same document laid out otherwise", method: "PUT", url: schemas + "/com.example/page_view/jsonschema/1-0-0", body: compact.String(), headers: key, status: 200,
			want: []string{`"key":"iglu:com.example/page_view/jsonschema/1-0-0"`, `"status":"unchanged"`}},
		{name: "existing version, another document", method: "PUT", url: user("1-0-0"), body: userVersion(t, "1-0-0", plans101), headers: key, status: 409,
			want: []string{"iglu:com.example/user/jsonschema/1-0-0 already exists with another document"}},
		{name: "gap", method: "PUT", url: user("1-0-2"), body: userVersion(t, "1-0-2", plans101), headers: key, status: 409,
			want: []string{"iglu:com.example/user/jsonschema/1-0-2 would leave a gap: 1-0-1 is missing after 1-0-0; publish 1-0-1 first",
				`"gaps":[{"contract":"com.example/user/jsonschema","after":"1-0-0","next":"1-0-2","missing":"1-0-1"}]`}},
		{name: "new contract not starting at 1-0-0", method: "POST", url: schemas,
			body: strings.ReplaceAll(userVersion(t, "2-0-0", plans100), `"name": "user"`, `"name": "member"`), headers: key, status: 409,
			want: []string{"a contract starts at 1-0-0; publish 1-0-0 first"}},
		{name: "dishonest bump", method: "PUT", url: user("1-0-1"), body: userVersion(t, "1-0-1", plansRemoved), headers: key, status: 409,
			want: []string{"iglu:com.example/user/jsonschema/1-0-1 declares ADDITION over 1-0-0 but its changes need REVISION; publish it as 1-1-0",
				`"kind":"enum_value_removed"`, `"property":"plan"`, `"pointer":"/properties/plan/enum"`, `"bump":"REVISION"`, `"needed":"REVISION"`, `"declared":"ADDITION"`}},
		{name: "honest bump", method: "PUT", url: user("1-0-1"), body: userVersion(t, "1-0-1", plans101), headers: key, status: 201,
			want: []string{`"key":"iglu:com.example/user/jsonschema/1-0-1"`, `"location":"` + filepath.Join(dir, "com.example/user/jsonschema/1-0-1") + `"`, `"status":"created"`}},
		{name: "the same again", method: "PUT", url: user("1-0-1"), body: userVersion(t, "1-0-1", plans101), headers: []string{"Authorization", "Bearer k2"}, status: 200,
			want: []string{`"status":"unchanged"`}},
		{name: "a revision, by POST", method: "POST", url: schemas, body: userVersion(t, "1-1-0", plansRemoved), headers: []string{"Authorization", "bearer k2"}, status: 201,
			want: []string{`"key":"iglu:com.example/user/jsonschema/1-1-0"`}},
		{name: "new contract", method: "POST", url: schemas,
			body: strings.ReplaceAll(userVersion(t, "1-0-0", plans100), `"name": "user"`, `"name": "member"`), headers: key, status: 201,
			want: []string{`"key":"iglu:com.example/member/jsonschema/1-0-0"`}},
		{name: "an addition to the new contract", method: "PUT", url: schemas + "/com.example/member/jsonschema/1-0-1",
			body: strings.ReplaceAll(userVersion(t, "1-0-1", `"free", "pro", "enterprise", "team", "staff"`), `"name": "user"`, `"name": "member"`), headers: key, status: 201},
		{name: "a vendor that climbs out of the contracts directory", method: "POST", url: schemas,
			body: strings.ReplaceAll(userVersion(t, "1-0-0", plans100), `"vendor": "com.example"`, `"vendor": ".."`), headers: key, status: 422,
			want: []string{`\"..\" cannot be a vendor or name`}},
		{name: "wrong method", method: "DELETE", url: user("1-0-1"), headers: key, status: 405, want: []string{"use GET, HEAD, PUT"}},
		{name: "wrong method on the list", method: "PATCH", url: schemas, headers: key, status: 405, want: []string{"use GET, HEAD, POST"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, h, body := writeReq(t, tc.method, tc.url, tc.body, tc.headers...)
			if status != tc.status {
				t.Fatalf("status %d, want %d; body %s", status, tc.status, body)
			}
			if ct := h.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if status == 401 && h.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("body %s\ndoes not contain %s", body, w)
				}
			}
		})
	}

	// What was accepted is served at once, exactly as sent, and stored.
	for v, plans := range map[string]string{"1-0-1": plans101, "1-1-0": plansRemoved} {
		status, body := doAPI(t, "GET", user(v), "")
		if status != 200 || body != userVersion(t, v, plans) {
			t.Errorf("GET %s: %d %s", v, status, body)
		}
		stored, err := os.ReadFile(filepath.Join(dir, "com.example/user/jsonschema", v))
		if err != nil || string(stored) != userVersion(t, v, plans) {
			t.Errorf("stored %s: %v %s", v, err, stored)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "com.example/user/jsonschema/1-0-2")); err == nil {
		t.Errorf("the refused 1-0-2 was stored")
	}
	// No temporary file is left behind.
	err = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".") {
			t.Errorf("left behind: %s", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A version slipped in before an existing one must leave that one's bump
// honest too.
func TestRegistryWriteJudgesTheNextVersion(t *testing.T) {
	ts, dir := newWritableRegistry(t, "k1")
	// 1-0-2 exists (with 1-0-0 and a gap): it adds "team", an ADDITION.
	if err := os.WriteFile(filepath.Join(dir, "com.example/user/jsonschema/1-0-2"), []byte(userVersion(t, "1-0-2", plans101)), 0o644); err != nil {
		t.Fatal(err)
	}
	// With keys configured a purge needs one too.
	if status, _, body := writeReq(t, "POST", ts.URL+"/api/cache/purge", "", "apikey", "k1"); status != 200 {
		t.Fatalf("purge: %d %s", status, body)
	}
	// 1-0-1 adds "staff", which 1-0-2 then removes: a REVISION from 1-0-1 to 1-0-2.
	status, _, body := writeReq(t, "PUT", ts.URL+"/api/schemas/com.example/user/jsonschema/1-0-1",
		userVersion(t, "1-0-1", `"free", "pro", "enterprise", "staff"`), "apikey", "k1")
	if status != 409 || !strings.Contains(body, "1-0-2 declares ADDITION over 1-0-1 but the changes between them need REVISION") || !strings.Contains(body, `"kind":"enum_value_removed"`) {
		t.Fatalf("PUT 1-0-1: %d %s", status, body)
	}
	// Filling the gap honestly is accepted: the hole it leaves after itself
	// was there before.
	status, _, body = writeReq(t, "PUT", ts.URL+"/api/schemas/com.example/user/jsonschema/1-0-1", userVersion(t, "1-0-1", plans100), "apikey", "k1")
	if status != 201 {
		t.Fatalf("PUT honest 1-0-1: %d %s", status, body)
	}
}

// Concurrent writes of one new version store it once: one is created, the
// others find it unchanged.
func TestRegistryWriteConcurrent(t *testing.T) {
	ts, _ := newWritableRegistry(t, "k1")
	doc := userVersion(t, "1-0-1", plans101)
	const n = 8
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("PUT", ts.URL+"/api/schemas/com.example/user/jsonschema/1-0-1", strings.NewReader(doc))
			req.Header.Set("apikey", "k1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	if count[201] != 1 || count[200] != n-1 {
		t.Errorf("statuses %v, want one 201 and %d 200s", count, n-1)
	}
}
