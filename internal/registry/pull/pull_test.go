package pull

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/registry"
	"github.com/accord-events/accord/internal/testenv"
)

// repo is a static Iglu repository laid out as Iglu Central: two versions
// of com.acme/ad_click, the same in Avro (not JSON Schema), an address and
// a customer whose $ref names the address, a schema that does not compile
// (com.acme/broken), and com.example.mobile/screen_view of another vendor.
const repo = "testdata/repo"

// fakeIgluServer is a test double of an iglu-server's read API (a real
// iglu-server is a JVM service with PostgreSQL that cannot run here),
// built from what its source serves: GET /api/schemas lists the schema
// URIs the caller may read, as a JSON array of strings;
// GET /api/schemas/{vendor}/{name}/{format}/{version} answers the schema,
// or 404 with a message for a schema that is absent or private to another
// key. It serves the schemas of repo; private vendors need the key.
type fakeIgluServer struct {
	key     string
	private map[string]bool
	// extra entries the listing holds besides repo's schemas, and
	// documents served for them.
	extra     []string
	extraDocs map[string][]byte

	mu   sync.Mutex
	keys []string // the apikey header of each request
}

func (f *fakeIgluServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.keys = append(f.keys, r.Header.Get("apikey"))
	f.mu.Unlock()
	authorized := f.key != "" && r.Header.Get("apikey") == f.key
	w.Header().Set("Content-Type", "application/json")
	notFound := func() {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"message":"The schema is not found"}`))
	}
	path := strings.TrimPrefix(r.URL.Path, "/api/schemas")
	if path == "" || path == "/" {
		var uris []string
		_ = filepath.WalkDir(filepath.Join(repo, "schemas"), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(filepath.Join(repo, "schemas"), p)
			vendor, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
			if !f.private[vendor] || authorized {
				uris = append(uris, "iglu:"+filepath.ToSlash(rel))
			}
			return nil
		})
		_ = json.NewEncoder(w).Encode(append(uris, f.extra...))
		return
	}
	rel := strings.TrimPrefix(path, "/")
	if doc, ok := f.extraDocs[rel]; ok {
		_, _ = w.Write(doc)
		return
	}
	vendor, _, _ := strings.Cut(rel, "/")
	doc, err := os.ReadFile(filepath.Join(repo, "schemas", filepath.FromSlash(rel)))
	if err != nil || strings.Contains(rel, "..") || (f.private[vendor] && !authorized) {
		notFound()
		return
	}
	_, _ = w.Write(doc)
}

func (f *fakeIgluServer) sentKeys() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.keys...)
}

func httpSource(t *testing.T, base string, opts registry.IgluOptions) Source {
	t.Helper()
	g, err := registry.NewIglu(base, opts)
	if err != nil {
		t.Fatal(err)
	}
	return HTTP{Iglu: g}
}

func staticSource(t *testing.T) Source {
	srv := httptest.NewServer(http.FileServer(http.Dir(repo)))
	t.Cleanup(srv.Close)
	return httpSource(t, srv.URL, registry.IgluOptions{})
}

func serverSource(t *testing.T, f *fakeIgluServer, key string) Source {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return httpSource(t, srv.URL, registry.IgluOptions{API: true, APIKey: key})
}

func dirSource(t *testing.T) Source {
	d, err := NewDir(repo)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustKeys(t *testing.T, keys ...string) []contract.Key {
	t.Helper()
	var out []contract.Key
	for _, s := range keys {
		k, err := contract.ParseKey(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, k)
	}
	return out
}

// actions is a plan as "action schema" lines.
func actions(p *Plan) []string {
	var out []string
	for _, it := range p.Items {
		out = append(out, string(it.Action)+" "+it.Schema)
	}
	return out
}

func reasonOf(p *Plan, schema string) string {
	for _, it := range p.Items {
		if it.Schema == schema {
			return it.Reason
		}
	}
	return ""
}

func equalLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// allOfRepo is what pulling all of repo into an empty directory does.
var allOfRepo = []string{
	"skip iglu:com.acme/ad_click/avro/1-0-0",
	"add iglu:com.acme/ad_click/jsonschema/1-0-0",
	"add iglu:com.acme/ad_click/jsonschema/1-0-1",
	"add iglu:com.acme/address/jsonschema/1-0-0",
	"refuse iglu:com.acme/broken/jsonschema/1-0-0",
	"add iglu:com.acme/customer/jsonschema/1-0-0",
	"add iglu:com.example.mobile/screen_view/jsonschema/1-0-0",
}

func TestPullAll(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  func(t *testing.T) Source
	}{
		{"local checkout", dirSource},
		{"iglu-server", func(t *testing.T) Source { return serverSource(t, &fakeIgluServer{}, "") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := filepath.Join(t.TempDir(), "contracts")
			src := tc.src(t)
			plan, err := Prepare(ctx, src, Selection{All: true}, Options{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			equalLines(t, "plan", actions(plan), allOfRepo)
			if r := reasonOf(plan, "iglu:com.acme/ad_click/avro/1-0-0"); !strings.Contains(r, `format "avro" is not JSON Schema`) {
				t.Errorf("why the Avro schema is skipped: %q", r)
			}
			if r := reasonOf(plan, "iglu:com.acme/broken/jsonschema/1-0-0"); !strings.Contains(r, "invalid: ") || !strings.Contains(r, `"objekt"`) {
				t.Errorf("why the broken schema is refused: %q", r)
			}
			if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("Prepare wrote to the contracts directory: %v", err)
			}

			written, err := Write(plan)
			if err != nil {
				t.Fatal(err)
			}
			if len(written) != 5 {
				t.Fatalf("written %v; want the 5 added", written)
			}
			for _, f := range written {
				rel, _ := filepath.Rel(dir, f)
				want, _ := os.ReadFile(filepath.Join(repo, "schemas", rel))
				got, _ := os.ReadFile(f)
				if !contract.SameDocument(got, want) {
					t.Errorf("%s holds %s; want the repository's document", f, got)
				}
			}
			// What accord serve loads: every file written compiles, at its key.
			loaded, problems, err := contract.LoadDir(dir)
			if err != nil || len(problems) > 0 || len(loaded) != 5 {
				t.Fatalf("load the pulled contracts: %d loaded, problems %v, err %v", len(loaded), problems, err)
			}

			again, err := Prepare(ctx, src, Selection{All: true}, Options{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			equalLines(t, "plan of a second pull", actions(again), []string{
				"skip iglu:com.acme/ad_click/avro/1-0-0",
				"unchanged iglu:com.acme/ad_click/jsonschema/1-0-0",
				"unchanged iglu:com.acme/ad_click/jsonschema/1-0-1",
				"unchanged iglu:com.acme/address/jsonschema/1-0-0",
				"refuse iglu:com.acme/broken/jsonschema/1-0-0",
				"unchanged iglu:com.acme/customer/jsonschema/1-0-0",
				"unchanged iglu:com.example.mobile/screen_view/jsonschema/1-0-0",
			})
		})
	}
}

func TestPullByKey(t *testing.T) {
	sources := map[string]func(t *testing.T) Source{
		"local checkout": dirSource,
		"static http":    staticSource,
		"iglu-server":    func(t *testing.T) Source { return serverSource(t, &fakeIgluServer{}, "") },
	}
	for name, newSource := range sources {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			src := newSource(t)
			// The customer's $ref names the address, which is neither
			// pulled with it nor in the directory.
			plan, err := Prepare(ctx, src, Selection{Keys: mustKeys(t,
				"iglu:com.acme/customer/jsonschema/1-0-0",
				"iglu:com.acme/ad_click/jsonschema/1-0-1",
				"iglu:com.acme/ad_click/jsonschema/1-0-1", // asked twice, pulled once
				"iglu:com.acme/nothing/jsonschema/1-0-0",
			)}, Options{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			equalLines(t, "plan", actions(plan), []string{
				"add iglu:com.acme/ad_click/jsonschema/1-0-1",
				"refuse iglu:com.acme/customer/jsonschema/1-0-0",
				"refuse iglu:com.acme/nothing/jsonschema/1-0-0",
			})
			if r := reasonOf(plan, "iglu:com.acme/customer/jsonschema/1-0-0"); !strings.Contains(r, "$ref outside the registry") || !strings.Contains(r, "com.acme/address/jsonschema/1-0-0") {
				t.Errorf("why the customer is refused: %q", r)
			}
			if r := reasonOf(plan, "iglu:com.acme/nothing/jsonschema/1-0-0"); !strings.HasPrefix(r, "not found in ") {
				t.Errorf("why an absent key is refused: %q", r)
			}

			// Pulled together, the $ref resolves among them.
			plan, err = Prepare(ctx, src, Selection{Keys: mustKeys(t,
				"iglu:com.acme/customer/jsonschema/1-0-0", "iglu:com.acme/address/jsonschema/1-0-0")}, Options{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			equalLines(t, "plan with the address", actions(plan), []string{
				"add iglu:com.acme/address/jsonschema/1-0-0",
				"add iglu:com.acme/customer/jsonschema/1-0-0",
			})
		})
	}
}

func TestPullByVendor(t *testing.T) {
	for name, src := range map[string]func(t *testing.T) Source{
		"local checkout": dirSource,
		"iglu-server":    func(t *testing.T) Source { return serverSource(t, &fakeIgluServer{}, "") },
	} {
		t.Run(name, func(t *testing.T) {
			plan, err := Prepare(context.Background(), src(t), Selection{
				Vendors: []string{"com.example.mobile", "com.nobody"},
				Keys:    mustKeys(t, "iglu:com.acme/address/jsonschema/1-0-0"),
			}, Options{Dir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			equalLines(t, "plan", actions(plan), []string{
				"add iglu:com.acme/address/jsonschema/1-0-0",
				"add iglu:com.example.mobile/screen_view/jsonschema/1-0-0",
				"refuse vendor com.nobody",
			})
			if r := reasonOf(plan, "vendor com.nobody"); !strings.HasSuffix(r, "holds no schema of this vendor") {
				t.Errorf("why an absent vendor is refused: %q", r)
			}
		})
	}
}

// A static repository over HTTP has no index, so only keys can be pulled
// from it; the error says what to do instead.
func TestPullStaticHTTPHasNoListing(t *testing.T) {
	src := staticSource(t)
	for _, sel := range []Selection{{All: true}, {Vendors: []string{"com.acme"}}} {
		_, err := Prepare(context.Background(), src, sel, Options{Dir: t.TempDir()})
		if !errors.Is(err, ErrNotListable) || !strings.Contains(err.Error(), "git clone") || !strings.Contains(err.Error(), "by key") {
			t.Errorf("%+v: %v; want ErrNotListable saying to pull by key or from a checkout", sel, err)
		}
	}
}

func TestPullExistingFiles(t *testing.T) {
	ctx := context.Background()
	key := "iglu:com.acme/address/jsonschema/1-0-0"
	sel := Selection{Keys: mustKeys(t, key)}
	src := dirSource(t)
	source, err := os.ReadFile(filepath.Join(repo, "schemas/com.acme/address/jsonschema/1-0-0"))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("the same document, laid out otherwise, as .json", func(t *testing.T) {
		dir := t.TempDir()
		var v any
		_ = json.Unmarshal(source, &v)
		compact, _ := json.Marshal(v)
		file := filepath.Join(dir, "com.acme/address/jsonschema/1-0-0.json")
		writeFile(t, file, compact)
		plan, err := Prepare(ctx, src, sel, Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		equalLines(t, "plan", actions(plan), []string{"unchanged " + key})
		if plan.Items[0].File != file {
			t.Errorf("file %s; want the .json one there", plan.Items[0].File)
		}
	})

	t.Run("another document", func(t *testing.T) {
		dir := t.TempDir()
		file := filepath.Join(dir, "com.acme/address/jsonschema/1-0-0")
		edited := []byte(strings.Replace(string(source), `"maxLength": 128`, `"maxLength": 64`, 1))
		writeFile(t, file, edited)
		plan, err := Prepare(ctx, src, sel, Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		equalLines(t, "plan without --force", actions(plan), []string{"refuse " + key})
		if r := plan.Items[0].Reason; !strings.Contains(r, "exists with another document") || !strings.Contains(r, "--force") {
			t.Errorf("why: %q", r)
		}
		if _, err := Write(plan); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(file); string(got) != string(edited) {
			t.Fatal("a refused schema overwrote the file there")
		}

		plan, err = Prepare(ctx, src, sel, Options{Dir: dir, Force: true})
		if err != nil {
			t.Fatal(err)
		}
		equalLines(t, "plan with --force", actions(plan), []string{"replace " + key})
		if _, err := Write(plan); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(file); string(got) != string(source) {
			t.Errorf("after --force the file holds %s; want the repository's", got)
		}
	})
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// An iglu-server lists and serves private schemas only to a key that may
// read them; the key goes in the apikey header.
func TestPullPrivateSchemasNeedTheAPIKey(t *testing.T) {
	f := &fakeIgluServer{key: "read-key-1", private: map[string]bool{"com.example.mobile": true}}
	sel := Selection{Vendors: []string{"com.example.mobile"}}
	plan, err := Prepare(context.Background(), serverSource(t, f, ""), sel, Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	equalLines(t, "plan without the key", actions(plan), []string{"refuse vendor com.example.mobile"})
	plan, err = Prepare(context.Background(), serverSource(t, f, "read-key-1"), sel, Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	equalLines(t, "plan with the key", actions(plan), []string{"add iglu:com.example.mobile/screen_view/jsonschema/1-0-0"})
	keys := f.sentKeys()
	if keys[len(keys)-1] != "read-key-1" {
		t.Errorf("apikey headers sent: %q", keys)
	}
}

// What an iglu-server lists is not trusted: a name that would climb out of
// the contracts directory, hide in it, or carry control characters is
// refused and nothing is written for it; a name that is not a schema path
// is skipped.
func TestHostileListing(t *testing.T) {
	doc := func(vendor, name string) []byte {
		return []byte(`{"$schema":"` + contract.IgluMetaSchemaURI + `","self":{"vendor":"` + vendor + `","name":"` + name + `","format":"jsonschema","version":"1-0-0"},"type":"object"}`)
	}
	f := &fakeIgluServer{
		extra: []string{
			"iglu:../escaped/jsonschema/1-0-0",
			"iglu:com.acme/../jsonschema/1-0-0",
			"iglu:.hidden/thing/jsonschema/1-0-0",
			"iglu:com.acme/\x1b[31mred/jsonschema/1-0-0",
			"iglu:com.acme/a/b/jsonschema/1-0-0",
			"iglu:com.acme/zero/jsonschema/01-0-0",
			"iglu:com.acme/" + strings.Repeat("n", 2000) + "/jsonschema/1-0-0",
		},
		extraDocs: map[string][]byte{
			"../escaped/jsonschema/1-0-0":    doc("..", "escaped"),
			".hidden/thing/jsonschema/1-0-0": doc(".hidden", "thing"),
		},
	}
	parent := t.TempDir()
	dir := filepath.Join(parent, "project", "contracts")
	plan, err := Prepare(context.Background(), serverSource(t, f, ""), Selection{All: true}, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var refused, skipped []string
	for _, it := range plan.Items {
		if strings.ContainsAny(it.Schema+it.Reason, "\x1b\n") {
			t.Errorf("a control character reaches the report: %q: %q", it.Schema, it.Reason)
		}
		if len(it.Schema) > 200 {
			t.Errorf("a long name is printed whole: %d bytes", len(it.Schema))
		}
		switch {
		case it.Action == Refuse && strings.HasPrefix(it.Reason, "the source names it unsafely"):
			refused = append(refused, it.Schema)
		case it.Action == Skip && strings.Contains(it.Reason, "is not at {vendor}/{name}/{format}/{version}"):
			skipped = append(skipped, it.Schema)
		}
	}
	if len(refused) != 6 || len(skipped) != 1 {
		t.Errorf("refused as unsafe %q, skipped %q; want 6 and 1", refused, skipped)
	}
	if _, err := Write(plan); err != nil {
		t.Fatal(err)
	}
	var files []string
	_ = filepath.WalkDir(parent, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(files)
	equalLines(t, "files written", files, []string{
		"com.acme/ad_click/jsonschema/1-0-0",
		"com.acme/ad_click/jsonschema/1-0-1",
		"com.acme/address/jsonschema/1-0-0",
		"com.acme/customer/jsonschema/1-0-0",
		"com.example.mobile/screen_view/jsonschema/1-0-0",
	})
}

// What a repository sends is bounded: a schema larger than any schema is
// refused, a listing of more schemas than a pull takes stops the pull, and
// a repository that does not answer stops it at the timeout.
func TestHostileSizesAndTime(t *testing.T) {
	t.Run("a huge document", func(t *testing.T) {
		huge := append([]byte(`{"description":"`), make([]byte, registry.MaxDocumentSize)...)
		f := &fakeIgluServer{extraDocs: map[string][]byte{"com.acme/huge/jsonschema/1-0-0": huge}}
		plan, err := Prepare(context.Background(), serverSource(t, f, ""), Selection{Keys: mustKeys(t, "iglu:com.acme/huge/jsonschema/1-0-0")}, Options{Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		equalLines(t, "plan", actions(plan), []string{"refuse iglu:com.acme/huge/jsonschema/1-0-0"})
		if r := plan.Items[0].Reason; !strings.Contains(r, "larger than 1048576 bytes") {
			t.Errorf("why: %q", r)
		}
	})
	t.Run("a listing of too many schemas", func(t *testing.T) {
		f := &fakeIgluServer{}
		for i := 0; i <= MaxSchemas; i++ {
			f.extra = append(f.extra, "iglu:com.many/s"+strings.Repeat("x", i%7)+itoa(i)+"/jsonschema/1-0-0")
		}
		_, err := Prepare(context.Background(), serverSource(t, f, ""), Selection{All: true}, Options{Dir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), "more than 10000") {
			t.Errorf("err %v; want the pull refused for its size", err)
		}
	})
	t.Run("more bytes in all than a pull takes", func(t *testing.T) {
		dir := t.TempDir()
		_, err := Prepare(context.Background(), dirSource(t), Selection{All: true}, Options{Dir: dir, maxTotalBytes: 1000})
		if err == nil || !strings.Contains(err.Error(), "the schemas fetched pass 1000 bytes") {
			t.Errorf("err %v; want the pull stopped at its bound", err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("a pull that stopped wrote %d entries", len(entries))
		}
	})
	t.Run("a listing larger than a listing is", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`["`))
			chunk := []byte(strings.Repeat("x", 1<<20))
			for i := 0; i < 17; i++ {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}))
		defer srv.Close()
		_, err := Prepare(context.Background(), httpSource(t, srv.URL, registry.IgluOptions{API: true}), Selection{All: true}, Options{Dir: t.TempDir()})
		if !errors.Is(err, registry.ErrDocumentTooLarge) || !strings.Contains(err.Error(), "larger than 16777216 bytes") {
			t.Errorf("err %v; want the listing refused for its size", err)
		}
	})
	t.Run("a repository that does not answer", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
		defer srv.Close()
		src := httpSource(t, srv.URL, registry.IgluOptions{Timeout: 200 * time.Millisecond})
		start := time.Now()
		_, err := Prepare(context.Background(), src, Selection{Keys: mustKeys(t, "iglu:com.acme/address/jsonschema/1-0-0")}, Options{Dir: t.TempDir()})
		if err == nil || time.Since(start) > 10*time.Second {
			t.Errorf("err %v after %s; want a timeout", err, time.Since(start))
		}
	})
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// A checkout is read as plain files only: a link (which could lead out of
// it) and a FIFO (which would block the read) are refused, each for itself.
func TestDirReadsOnlyPlainFiles(t *testing.T) {
	root := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret")
	writeFile(t, outside, []byte(`{"not":"yours"}`))
	linked := filepath.Join(root, "schemas/com.acme/linked/jsonschema/1-0-0")
	if err := os.MkdirAll(filepath.Dir(linked), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, linked); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(root, "schemas/com.acme/fifo/jsonschema/1-0-0")
	if err := os.MkdirAll(filepath.Dir(fifo), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := mkfifo(fifo); err != nil {
		testenv.Missing(t, "no FIFOs here: %v", err)
	}
	src, err := NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := Prepare(context.Background(), src, Selection{All: true}, Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	equalLines(t, "plan", actions(plan), []string{
		"refuse iglu:com.acme/fifo/jsonschema/1-0-0",
		"refuse iglu:com.acme/linked/jsonschema/1-0-0",
	})
	for _, it := range plan.Items {
		if !strings.Contains(it.Reason, "not a regular file") {
			t.Errorf("%s: %q", it.Schema, it.Reason)
		}
	}
}

func mkfifo(path string) error { return syscall.Mkfifo(path, 0o644) }

func TestPrepareNeedsASelection(t *testing.T) {
	if _, err := Prepare(context.Background(), dirSource(t), Selection{}, Options{Dir: t.TempDir()}); err == nil {
		t.Fatal("a pull of nothing ran")
	}
}
