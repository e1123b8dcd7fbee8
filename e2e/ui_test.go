package e2e

// The web UI (docs/ui.md) in a real browser: Debian's chromium driven by
// playwright-core (the scripts e2e/browser/ui-*.mjs) against the real
// binary, served under a path prefix by a reverse proxy as an operator
// would put it behind one, with admin.auth on. With -update the tests
// rewrite the screenshots docs/ui.md shows (docs/images/ui-*.png):
//
//	go test ./e2e -run 'TestUI' -update

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/delivery"
)

// uiPrefix is where the reverse proxy serves Accord in the UI tests.
const uiPrefix = "/tools/accord"

const (
	uiUser     = "ops"
	uiPassword = "ui-e2e-pa55"
)

// uiServer is a collector with admin.auth on, reached directly and through
// a reverse proxy that serves it under uiPrefix.
type uiServer struct {
	*collector
	// Base is the UI's URL through the proxy: http://127.0.0.1:P/tools/accord/ui/.
	Base string
	mu   sync.Mutex
	// outside are the paths the browser asked the proxy for outside
	// uiPrefix: a URL in the UI that is not relative.
	outside []string
}

// startUI starts a collector in dir (a new project when empty) with the
// admin credentials and extra environment, and the proxy in front of it.
func startUI(t *testing.T, dir string, env ...string) *uiServer {
	t.Helper()
	if dir == "" {
		dir = newProject(t)
	}
	c := startCollector(t, dir, append([]string{"ACCORD_ADMIN_AUTH_USERNAME=" + uiUser, "ACCORD_ADMIN_AUTH_PASSWORD=" + uiPassword}, env...)...)
	target, err := url.Parse(c.URL)
	if err != nil {
		t.Fatal(err)
	}
	s := &uiServer{collector: c}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.URL.Path = strings.TrimPrefix(r.In.URL.Path, uiPrefix)
			r.Out.URL.RawPath = ""
			r.SetXForwarded()
		},
		// Server-sent events reach the browser as they come.
		FlushInterval: -1,
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, uiPrefix+"/") {
			s.mu.Lock()
			s.outside = append(s.outside, r.Method+" "+r.URL.Path)
			s.mu.Unlock()
			http.Error(w, "outside the proxy's prefix "+uiPrefix, http.StatusNotFound)
			return
		}
		proxy.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	s.Base = "http://" + ln.Addr().String() + uiPrefix + "/ui/"
	return s
}

// stats fetches GET /stats with the admin credentials (the collector's
// own stats() sends none).
func (s *uiServer) stats() delivery.Stats {
	s.t.Helper()
	var st delivery.Stats
	s.adminJSON("/stats", &st)
	return st
}

// adminJSON decodes the answer to GET path, sent with the admin credentials.
func (s *uiServer) adminJSON(path string, v any) {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	req.SetBasicAuth(uiUser, uiPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("GET %s with the admin credentials: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		s.t.Fatalf("decode %s: %v", path, err)
	}
}

// checkInsidePrefix fails the test when the browser asked for a path
// outside the proxy's prefix.
func (s *uiServer) checkInsidePrefix(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.outside) > 0 {
		t.Errorf("the UI asked for paths outside the reverse proxy's prefix %s (a URL that is not relative): %v", uiPrefix, s.outside)
	}
}

// uiShots returns the directory a UI script writes its screenshots to; at
// the end of the test, with -update, they replace docs/images/ui-*.png.
func uiShots(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Cleanup(func() {
		if t.Failed() || !*update {
			return
		}
		shots, _ := filepath.Glob(filepath.Join(dir, "ui-*.png"))
		for _, p := range shots {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join("..", "docs", "images", filepath.Base(p)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	})
	return dir
}

// runUIScript runs e2e/browser/<script> against s with the screenshots
// going to shots, and decodes the JSON summary it prints.
func runUIScript[T any](t *testing.T, s *uiServer, script, shots string, env ...string) T {
	t.Helper()
	node := nodeBinary(t)
	chromium := chromiumBinary(t)
	env = append([]string{"CHROMIUM=" + chromium, "BASE=" + s.Base, "ADMIN_USER=" + uiUser, "ADMIN_PASSWORD=" + uiPassword, "SHOTS=" + shots}, env...)
	stdout, stderr, err := nodeExecIn(t, browserDir, node, script, env...)
	if err != nil {
		t.Fatalf("node %s: %v\nstdout:\n%s\nstderr:\n%s\ncollector:\n%s", script, err, stdout, stderr, s.logs)
	}
	var out T
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("node %s printed no JSON summary: %v\n%s\n%s", script, err, stdout, stderr)
	}
	return out
}

// checkPNG fails unless shots holds a PNG screenshot named name.
func checkPNG(t *testing.T, shots, name string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(shots, name))
	if err != nil {
		t.Errorf("no screenshot %s: %v", name, err)
		return
	}
	if len(b) < 1000 || string(b[1:4]) != "PNG" {
		t.Errorf("screenshot %s is not a PNG (%d bytes)", name, len(b))
	}
}

// uiPages are the pages the navigation must list, in order.
var uiPages = []string{"catalog", "inspector", "playground", "failed", "health"}

// TestUIPages walks every page of the navigation in the browser, through
// the reverse proxy's path prefix with admin.auth on: each loads with no
// console error, no failed or refused request, nothing asked of another
// origin or outside the prefix, and its heading shown.
func TestUIPages(t *testing.T) {
	dir := newProject(t)
	writeUIContracts(t, dir, false)
	// An alert rule that the events below make fire, and one that stays
	// quiet, notifying a receiver of this test.
	var notified atomic.Int64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		notified.Add(1)
		io.Copy(io.Discard, r.Body)
	}))
	t.Cleanup(hook.Close)
	s := startUI(t, dir,
		"ACCORD_ALERTS_INTERVAL=1s",
		"UI_E2E_HOOK_URL="+hook.URL,
		"ACCORD_ALERTS_RECEIVERS=[{name: team-hook, url_env: UI_E2E_HOOK_URL}]",
		"ACCORD_ALERTS_RULES=[{name: checkout-failures, kind: failed_ratio, contract: com.acme/checkout_started, threshold: 0.3, min_events: 2, window: 10m, receivers: [team-hook]}, {name: spool-filling, kind: spool_fill, threshold: 0.8, receivers: [team-hook]}]")
	// A few events, so that the pages show counts.
	for _, b := range []string{
		`{"schema":"` + uiCheckoutKey + `2-0-0","data":{"cart_id":1,"total":3}}`,
		`{"schema":"` + uiCheckoutKey + `2-0-0","data":{"cart_id":"c2","total":4}}`,
		`{"schema":"iglu:com.example/page_view/jsonschema/1-0-0","data":{"url":"https://shop.example/"}}`,
	} {
		if status, _, body := s.post("/events", "application/json", []byte(b)); status != http.StatusOK {
			t.Fatalf("send: %d %s", status, body)
		}
	}
	check.Eventually(t, 30*time.Second, "checkout-failures firing and notified", func() bool {
		var a struct {
			Rules []struct{ Name, State string }
		}
		s.adminJSON("/stats/alerts", &a)
		for _, r := range a.Rules {
			if r.Name == "checkout-failures" && r.State == "firing" {
				return notified.Load() > 0
			}
		}
		return false
	})
	shots := uiShots(t)
	type pageResult struct {
		Page, Title, Heading, Current, URL, Text string
		Problems                                 []string
	}
	out := runUIScript[struct{ Pages []pageResult }](t, s, "ui-pages.mjs", shots)
	var got []string
	for _, p := range out.Pages {
		got = append(got, p.Page)
		if len(p.Problems) > 0 {
			t.Errorf("page %s: %s", p.Page, strings.Join(p.Problems, "\n  "))
		}
		if strings.TrimSpace(p.Heading) == "" {
			t.Errorf("page %s shows no heading", p.Page)
		}
		if p.Current != "page" {
			t.Errorf("page %s: its navigation link is not marked current", p.Page)
		}
		if !strings.HasPrefix(p.URL, s.Base+"#/"+p.Page) {
			t.Errorf("page %s is at %s, want under %s", p.Page, p.URL, s.Base)
		}
		checkPNG(t, shots, "ui-"+p.Page+".png")
	}
	// What each page shows of this collector.
	for _, p := range out.Pages {
		var wants []string
		switch p.Page {
		case "catalog":
			wants = []string{"checkout_started", "checkout-team@acme.test", "page_view"}
		case "playground":
			wants = []string{"Check the event", "curl -s " + strings.TrimSuffix(s.Base, "ui/") + "events"}
		case "health":
			// The alerts, firing first; the sink of accord init; the
			// spool with its limit.
			wants = []string{"1 firing.", "checkout-failuresfailed_ratiofiring", "50% of the records of com.acme/checkout_started failed", "spool-filling", "team-hook", "store", "Delivered", "Fill", "1.0 GiB"}
		}
		for _, w := range wants {
			if !strings.Contains(p.Text, w) {
				t.Errorf("page %s does not show %q:\n%s", p.Page, w, p.Text)
			}
		}
	}
	for _, want := range uiPages {
		if !slices.Contains(got, want) {
			t.Errorf("the navigation lists %v, without %s", got, want)
		}
	}
	s.checkInsidePrefix(t)
}

// TestUIAuth: with admin.auth on, the UI's pages, assets and APIs answer
// 401 without credentials, with wrong ones and with the registry's API key,
// and 200 with admin.auth's.
func TestUIAuth(t *testing.T) {
	c := startCollector(t, newProject(t), "ACCORD_ADMIN_AUTH_USERNAME="+uiUser, "ACCORD_ADMIN_AUTH_PASSWORD="+uiPassword, "ACCORD_CONTRACTS_API_KEYS=registry-key")
	paths := []string{"/ui", "/ui/", "/ui/index.html", "/ui/js/main.js", "/ui/style.css"}
	for _, p := range append(paths, uiAPIPaths...) {
		for _, tc := range []struct {
			name    string
			headers []string
			want    int
		}{
			{"none", nil, http.StatusUnauthorized},
			{"wrong password", []string{"Authorization", basicAuth(uiUser, "nope")}, http.StatusUnauthorized},
			{"registry api key", []string{"apikey", "registry-key"}, http.StatusUnauthorized},
			{"bearer api key", []string{"Authorization", "Bearer registry-key"}, http.StatusUnauthorized},
		} {
			status, _, body := httpDo(t, http.MethodGet, c.URL+p, nil, tc.headers...)
			if status != tc.want {
				t.Errorf("GET %s with %s credentials: %d, want %d: %s", p, tc.name, status, tc.want, body)
			}
			if strings.Contains(body, "<script") {
				t.Errorf("GET %s with %s credentials served the page: %s", p, tc.name, body)
			}
		}
	}
	// The playground's check, which runs the collection route, is an
	// admin route too.
	if status, _, body := httpDo(t, http.MethodPost, c.URL+"/ui/api/check", []byte(`{"schema":"iglu:com.example/page_view/jsonschema/1-0-0","data":{}}`), "Content-Type", "application/json"); status != http.StatusUnauthorized {
		t.Errorf("POST /ui/api/check without credentials: %d %s", status, body)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, p := range paths {
		req, _ := http.NewRequest(http.MethodGet, c.URL+p, nil)
		req.SetBasicAuth(uiUser, uiPassword)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusMovedPermanently {
			t.Errorf("GET %s with admin credentials: %d", p, resp.StatusCode)
		}
		if loc := resp.Header.Get("Location"); loc != "" && strings.HasPrefix(loc, "/") {
			t.Errorf("GET %s redirects to %s: an absolute path leaves a reverse proxy's prefix", p, loc)
		}
	}
}

// uiAPIPaths are the UI's own data routes, which TestUIAuth checks answer
// nothing without admin credentials.
var uiAPIPaths = []string{"/stats", "/ui/api/catalog", "/ui/api/contract?id=com.example/page_view/jsonschema", "/ui/api/compare?id=com.example/page_view/jsonschema&from=1-0-0&to=1-0-0", "/ui/api/playground", "/inspector/stream", "/failed/records"}

func basicAuth(user, password string) string {
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(user, password)
	return req.Header.Get("Authorization")
}

// TestUIDocs: docs/ui.md shows every screenshot the UI tests take, and
// each image it shows is in docs/images.
func TestUIDocs(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "ui.md"))
	if err != nil {
		t.Fatal(err)
	}
	shown := map[string]bool{}
	for _, m := range regexp.MustCompile(`!\[[^\]]*\]\((images/ui-[^)]+\.png)\)`).FindAllStringSubmatch(string(doc), -1) {
		shown[filepath.Base(m[1])] = true
		if _, err := os.Stat(filepath.Join("..", "docs", m[1])); err != nil {
			t.Errorf("docs/ui.md shows %s: %v (go test ./e2e -run TestUI -update writes it)", m[1], err)
		}
	}
	for _, p := range uiPages {
		if !shown["ui-"+p+".png"] {
			t.Errorf("docs/ui.md does not show the %s page (images/ui-%s.png)", p, p)
		}
	}
}
