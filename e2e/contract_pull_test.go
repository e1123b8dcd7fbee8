package e2e

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// pullRepo is a static Iglu repository laid out as Iglu Central, with a
// schema in Avro and one that does not compile beside valid ones.
const pullRepo = "../internal/registry/pull/testdata/repo"

// pullIgluServer is a test double of an iglu-server's read API (a real
// iglu-server needs a JVM and its own PostgreSQL, which this machine does
// not run): GET /api/schemas lists the schema URIs of pullRepo as a JSON
// array, GET /api/schemas/{vendor}/{name}/{format}/{version} answers one,
// and every request must carry the apikey header key, as an iglu-server
// wants for private schemas.
func pullIgluServer(t *testing.T, key string) *httptest.Server {
	t.Helper()
	root := filepath.Join(pullRepo, "schemas")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("apikey") != key {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"message":"Not authorized"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		rel := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/api/schemas"), "/")
		if rel == "" {
			var uris []string
			_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					r, _ := filepath.Rel(root, p)
					uris = append(uris, "iglu:"+filepath.ToSlash(r))
				}
				return err
			})
			_ = json.NewEncoder(w).Encode(uris)
			return
		}
		doc, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil || strings.Contains(rel, "..") {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"message":"The schema is not found"}`))
			return
		}
		_, _ = w.Write(doc)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func absPath(t *testing.T, path string) string {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// staticIglu serves a directory as a static Iglu repository.
func staticIglu(t *testing.T, dir string) *httptest.Server {
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)
	return srv
}

// The real binary pulls schemas from each kind of repository into a
// project, and accord serve then validates events against them.
func TestContractPullThenServe(t *testing.T) {
	dir := newProject(t)
	static := staticIglu(t, pullRepo)
	const apiKey = "pull-read-key-7f3a"
	server := pullIgluServer(t, apiKey)
	keyEnv := []string{"ACCORD_IGLU_API_KEY=" + apiKey}

	// A static repository over HTTP, by key.
	out, stderr, code := runAccord(t, dir, nil, "contract", "pull", "--from", static.URL, "iglu:com.acme/ad_click/jsonschema/1-0-0")
	if code != 0 || !strings.Contains(out, "added iglu:com.acme/ad_click/jsonschema/1-0-0 -> contracts/com.acme/ad_click/jsonschema/1-0-0\n") {
		t.Fatalf("pull by key from a static repository: exit %d\n%s%s", code, out, stderr)
	}
	// ... which cannot be listed.
	_, stderr, code = runAccord(t, dir, nil, "contract", "pull", "--from", static.URL, "--vendor", "com.acme")
	if code != 2 || !strings.Contains(stderr, "static Iglu repository, which cannot be listed") {
		t.Errorf("pull a vendor from a static repository: exit %d: %s", code, stderr)
	}

	// An iglu-server, every com.acme schema: a dry run writes nothing.
	out, stderr, code = runAccordEnv(t, dir, keyEnv, nil, "contract", "pull", "--from", server.URL, "--api", "--vendor", "com.acme", "--dry-run")
	for _, want := range []string{
		"skipped iglu:com.acme/ad_click/avro/1-0-0: format \"avro\" is not JSON Schema",
		"unchanged iglu:com.acme/ad_click/jsonschema/1-0-0\n",
		"would add iglu:com.acme/customer/jsonschema/1-0-0 -> contracts/com.acme/customer/jsonschema/1-0-0\n",
		"refused iglu:com.acme/broken/jsonschema/1-0-0: invalid: ",
		"nothing written: would add 3, would replace 0, 1 unchanged, 1 skipped, 1 refused\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run: no %q in\n%s", want, out)
		}
	}
	if code != 1 || !strings.Contains(stderr, "1 schema refused") {
		t.Errorf("dry run with a refused schema: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "contracts/com.acme/customer")); err == nil {
		t.Fatal("the dry run wrote a schema")
	}

	// Now for real.
	out, stderr, code = runAccordEnv(t, dir, keyEnv, nil, "contract", "pull", "--from", server.URL, "--api", "--vendor", "com.acme")
	if code != 1 || !strings.Contains(out, "3 added, 0 replaced, 1 unchanged, 1 skipped, 1 refused\n") {
		t.Fatalf("pull a vendor from an iglu-server: exit %d\n%s%s", code, out, stderr)
	}
	// The files written are linted, and only they.
	lintPart := out[strings.Index(out, "lint of the files written:\n"):]
	if !strings.Contains(lintPart, "contracts/com.acme/customer/jsonschema/1-0-0:1:1: error x-accord-missing") ||
		strings.Contains(lintPart, "ad_click/jsonschema/1-0-0:") || !strings.Contains(lintPart, "linted 3 files: 3 errors") {
		t.Errorf("lint of what was written:\n%s", lintPart)
	}
	if strings.Contains(out+stderr, apiKey) {
		t.Errorf("the API key was printed:\n%s%s", out, stderr)
	}

	c := startCollector(t, dir)
	for _, tc := range []struct {
		schema, data string
		good         bool
	}{
		{"iglu:com.acme/customer/jsonschema/1-0-0", `{"id":"c-1","address":{"city":"Lyon","country":"FR"}}`, true},
		{"iglu:com.acme/customer/jsonschema/1-0-0", `{"id":"c-1","address":{"country":"France"}}`, false},
		{"iglu:com.acme/ad_click/jsonschema/1-0-1", `{"targetUrl":"https://acme.example/sale","clickId":"k1"}`, true},
		{"iglu:com.acme/ad_click/jsonschema/1-0-0", `{"targetUrl":""}`, false},
	} {
		got := rbSend(t, c, tc.schema, tc.data)
		if tc.good && got.Good != 1 || !tc.good && (got.Failed != 1 || got.Failures[0].Type != "schema_violation") {
			t.Errorf("%s %s: %+v", tc.schema, tc.data, got)
		}
	}
	c.stop()
}

// The API key, and a password or query in --from, never reach the output,
// whatever goes wrong: a redirect to another host is refused before the key is
// sent there.
func TestContractPullKeepsTheKeySecret(t *testing.T) {
	var mu sync.Mutex
	var leaked []string
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		leaked = append(leaked, r.Header.Get("apikey"))
		mu.Unlock()
		_, _ = w.Write([]byte(`[]`))
	}))
	defer elsewhere.Close()
	redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusFound)
	}))
	defer redirecting.Close()
	dir := newProject(t)
	const secret = "do-not-print-9c1e"
	from := strings.Replace(redirecting.URL, "http://", "http://user:"+secret+"@", 1) + "/?token=" + secret
	out, stderr, code := runAccordEnv(t, dir, []string{"ACCORD_IGLU_API_KEY=" + secret}, nil, "contract", "pull", "--from", from, "--api", "--all")
	if code != 2 || !strings.Contains(stderr, "the api key is sent only to") {
		t.Errorf("exit %d: %s%s", code, out, stderr)
	}
	if strings.Contains(out+stderr, secret) {
		t.Errorf("a secret was printed:\n%s%s", out, stderr)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(leaked) != 0 {
		t.Errorf("the other host was asked %d times", len(leaked))
	}
}

// The commands of docs/contracts.md's "Pulling from Iglu" section run as
// written, in a project holding a checkout at ./acme-iglu, against a
// static repository standing in for iglucentral.com and an iglu-server
// double standing in for https://iglu.acme.com, and print what the docs
// show.
func TestDocsContractPull(t *testing.T) {
	const doc = "../docs/contracts.md"
	data, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	start, end := -1, len(lines)
	for i, l := range lines {
		if l == "## Pulling from Iglu" {
			start = i + 1
		} else if start >= 0 && strings.HasPrefix(l, "## ") {
			end = i + 1
			break
		}
	}
	if start < 0 {
		t.Fatal(`docs/contracts.md has no "## Pulling from Iglu" section`)
	}

	dir := newProject(t)
	if out, err := exec.Command("cp", "-r", pullRepo, filepath.Join(dir, "acme-iglu")).CombinedOutput(); err != nil {
		t.Fatalf("copy the checkout: %v %s", err, out)
	}
	central := staticIglu(t, "testdata/iglu-central")
	const apiKey = "docs-read-key"
	acme := pullIgluServer(t, apiKey)
	urls := strings.NewReplacer("http://iglucentral.com", central.URL, "https://iglu.acme.com", acme.URL)
	back := strings.NewReplacer(central.URL, "http://iglucentral.com", acme.URL, "https://iglu.acme.com")
	path := filepath.Dir(accordBin) + string(os.PathListSeparator) + os.Getenv("PATH")

	ran := 0
	for _, b := range parseBlocks(t, doc) {
		if b.line < start || b.line > end || b.lang != "sh" || !strings.Contains(b.text, "accord contract ") {
			continue
		}
		ran++
		cmd := exec.Command("bash", "-c", urls.Replace(b.text)+" 2>&1")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PATH="+path, "ACCORD_IGLU_API_KEY="+apiKey)
		out, _ := cmd.Output() // the exit status is the tests' above; here, the output
		if b.expect == nil || b.expect.lang != "text" {
			t.Errorf("line %d: the command has no output shown after it", b.line)
			continue
		}
		if got, want := strings.TrimSpace(back.Replace(string(out))), strings.TrimSpace(b.expect.text); got != want {
			t.Errorf("line %d: output differs from the one documented at line %d\ngot:\n%s\ndocumented:\n%s", b.line, b.expect.line, got, want)
		}
	}
	if ran < 4 {
		t.Errorf("ran %d accord contract examples; want the 4 the section shows (3 pulls, 1 lint)", ran)
	}
}
