package e2e

import (
	"encoding/base64"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// adminDo sends method url with headers (name, value, ...) and returns the
// status, headers and body.
func adminDo(t *testing.T, method, url string, headers ...string) (int, http.Header, string) {
	t.Helper()
	return httpDo(t, method, url, nil, headers...)
}

// noCORS fails when h carries any CORS header.
func noCORS(t *testing.T, what string, h http.Header) {
	t.Helper()
	for k := range h {
		if strings.HasPrefix(k, "Access-Control-") {
			t.Errorf("%s: carries %s: %s", what, k, h.Get(k))
		}
	}
}

var adminListeningRE = regexp.MustCompile(`msg="admin listening" .*addr=(\S+)`)

// adminURL waits for the admin's own listener (admin.addr) in c's logs.
func adminURL(t *testing.T, c *collector) string {
	t.Helper()
	var url string
	eventually(t, 10*time.Second, "the admin listens on its own address", func() bool {
		if m := adminListeningRE.FindStringSubmatch(c.logs.String()); m != nil {
			url = "http://" + m[1]
			return true
		}
		return false
	})
	return url
}

var foreignOrigins = []string{"https://evil.example", "null"}

// A page on another origin can send events but read no admin route: with
// the default configuration (CORS for any origin, admin on the collector's
// port) the admin answers carry no CORS header, and the collection routes
// answer * without credentials.
func TestHostileAdminCORS(t *testing.T) {
	c := startCollector(t, newProject(t))
	for _, origin := range foreignOrigins {
		for _, tc := range []struct{ method, path string }{
			{"GET", "/stats"},
			{"GET", "/api/schemas"},
			{"GET", "/api/schemas/com.example/page_view/jsonschema/1-0-0"},
			{"OPTIONS", "/stats"},
			{"OPTIONS", "/api/schemas"},
			{"OPTIONS", "/api/cache/purge"},
		} {
			status, h, body := adminDo(t, tc.method, c.URL+tc.path, "Origin", origin, "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "authorization")
			noCORS(t, tc.method+" "+tc.path+" from "+origin, h)
			if tc.method == "GET" && status != 200 {
				t.Errorf("GET %s: %d %s", tc.path, status, body)
			}
		}
		// The collection routes: readable by any page, never with credentials.
		status, h, body := c.post("/events", "application/json", []byte(pageViewEvent), "Origin", origin)
		if status != 200 || h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("POST /events from %s: %d allow-origin %q credentials %q: %s", origin, status, h.Get("Access-Control-Allow-Origin"), h.Get("Access-Control-Allow-Credentials"), body)
		}
		status, h, _ = adminDo(t, "OPTIONS", c.URL+"/events", "Origin", origin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type")
		if status != 204 || h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("preflight /events from %s: %d %v", origin, status, h)
		}
	}
}

// A browser on a listed origin sends events with cookies as before: its
// origin is echoed with credentials, and the admin routes still carry no
// CORS header for it.
func TestHostileAdminListedOrigin(t *testing.T) {
	c := startCollector(t, newProject(t), "ACCORD_SERVER_CORS_ORIGINS=https://shop.example")
	status, h, body := c.post("/events", "application/json", []byte(pageViewEvent), "Origin", "https://shop.example", "Cookie", "sp=abc")
	if status != 200 || h.Get("Access-Control-Allow-Origin") != "https://shop.example" || h.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("POST /events from the listed origin: %d %v %s", status, h, body)
	}
	for _, origin := range append(foreignOrigins, "https://shop.example") {
		_, h, _ := adminDo(t, "GET", c.URL+"/stats", "Origin", origin)
		noCORS(t, "GET /stats from "+origin, h)
	}
	status, h, _ = adminDo(t, "OPTIONS", c.URL+"/events", "Origin", "null", "Access-Control-Request-Method", "POST")
	if status != 403 || h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from null with a listed origin only: %d %v", status, h)
	}
}

// With admin.auth every admin route answers 401 without its credentials and
// 200 with them, purges included; the collection routes and the health
// checks stay open.
func TestHostileAdminAuth(t *testing.T) {
	c := startCollector(t, newProject(t), "ACCORD_ADMIN_AUTH_TOKEN=my-admin-token",
		"ACCORD_ADMIN_AUTH_USERNAME=ops", "ACCORD_ADMIN_AUTH_PASSWORD=pa55word", "ACCORD_CONTRACTS_API_KEYS=my-key")
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("ops:pa55word"))
	routes := []struct{ method, path string }{
		{"GET", "/stats"},
		{"GET", "/metrics"},
		{"GET", "/api/schemas"},
		{"GET", "/api/schemas/com.example/page_view/jsonschema/1-0-0"},
		{"POST", "/api/cache/purge"},
		{"DELETE", "/api/cache/purge"},
	}
	for _, tc := range routes {
		for _, creds := range [][]string{
			nil,
			{"Authorization", "Bearer wrong"},
			{"Authorization", "Bearer my-admin-token-and-more"},
			{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("ops:wrong"))},
		} {
			status, h, body := adminDo(t, tc.method, c.URL+tc.path, append(creds, "Origin", "https://evil.example")...)
			if status != 401 || h.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s with %q: %d %s, want 401 with a challenge", tc.method, tc.path, creds, status, body)
			}
			noCORS(t, "401 of "+tc.path, h)
		}
		for _, creds := range [][]string{{"Authorization", "Bearer my-admin-token"}, {"Authorization", basic}} {
			if status, _, body := adminDo(t, tc.method, c.URL+tc.path, creds...); status != 200 {
				t.Errorf("%s %s with %s: %d %s", tc.method, tc.path, creds[1][:6], status, body)
			}
		}
	}
	// The documented answer without credentials.
	if status, _, body := adminDo(t, "GET", c.URL+"/stats"); status != 401 || !contains(body, `"error":"admin routes need credentials: send Authorization: Bearer with admin.auth.token, or basic auth with admin.auth.username and admin.auth.password"`) {
		t.Errorf("GET /stats without credentials: %d %s", status, body)
	}
	// Registry clients hold an API key: it opens the registry API (and
	// purges), not the rest of the admin surface.
	if status, _, body := adminDo(t, "GET", c.URL+"/api/schemas", "apikey", "my-key"); status != 200 {
		t.Errorf("GET /api/schemas with an API key: %d %s", status, body)
	}
	if status, _, body := adminDo(t, "POST", c.URL+"/api/cache/purge", "apikey", "my-key"); status != 200 {
		t.Errorf("purge with an API key: %d %s", status, body)
	}
	if status, _, body := adminDo(t, "GET", c.URL+"/stats", "apikey", "my-key"); status != 401 {
		t.Errorf("GET /stats with an API key: %d %s, want 401", status, body)
	}
	// The admin token does not write schemas: writes keep their keys.
	doc := `{"$schema":"http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#","self":{"vendor":"com.example","name":"admin_probe","format":"jsonschema","version":"1-0-0"},"type":"object"}`
	status, _, body := c.post("/api/schemas", "application/json", []byte(doc), "Authorization", "Bearer my-admin-token")
	if status != 401 || !contains(string(body), "contracts.api_keys") {
		t.Errorf("a write with the admin token only: %d %s, want 401 naming contracts.api_keys", status, body)
	}
	// Ingestion and health stay open.
	if status, _, body := c.post("/events", "application/json", []byte(pageViewEvent)); status != 200 {
		t.Errorf("POST /events without credentials: %d %s", status, body)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if status, _, body := adminDo(t, "GET", c.URL+p); status != 200 {
			t.Errorf("GET %s without credentials: %d %s", p, status, body)
		}
	}
}

// Without admin.auth, keys of contracts.api_keys guard purges as they guard
// writes.
func TestHostileAdminPurgeNeedsKey(t *testing.T) {
	c := startCollector(t, newProject(t), "ACCORD_CONTRACTS_API_KEYS=my-key")
	for _, creds := range [][]string{nil, {"apikey", "not-my-key"}, {"apikey", "my-ke"}} {
		for _, method := range []string{"POST", "DELETE"} {
			if status, _, body := adminDo(t, method, c.URL+"/api/cache/purge", creds...); status != 401 || !contains(body, "contracts.api_keys") {
				t.Errorf("%s purge with %q: %d %s, want 401", method, creds, status, body)
			}
		}
	}
	if status, _, body := adminDo(t, "POST", c.URL+"/api/cache/purge", "Authorization", "Bearer my-key"); status != 200 || !contains(body, `"loaded":`) {
		t.Errorf("purge with the key: %d %s", status, body)
	}
	if status, _, body := adminDo(t, "GET", c.URL+"/api/schemas"); status != 200 {
		t.Errorf("reads stay open without admin.auth: %d %s", status, body)
	}
}

// With admin.addr the admin routes move there: the collector's port no
// longer serves them, and takes events as before.
func TestHostileAdminOwnAddress(t *testing.T) {
	c := startCollector(t, newProject(t), "ACCORD_ADMIN_ADDR=127.0.0.1:0")
	admin := adminURL(t, c)
	for _, p := range []string{"/stats", "/metrics", "/api/schemas", "/api/schemas/com.example/page_view/jsonschema/1-0-0"} {
		if status, h, body := adminDo(t, "GET", admin+p, "Origin", "https://evil.example"); status != 200 {
			t.Errorf("GET %s on admin.addr: %d %s", p, status, body)
		} else {
			noCORS(t, "admin.addr "+p, h)
		}
		if status, _, body := adminDo(t, "GET", c.URL+p); status != 404 {
			t.Errorf("GET %s on the collector's port: %d %s, want 404", p, status, body)
		}
	}
	if status, _, body := adminDo(t, "POST", c.URL+"/api/cache/purge"); status != 404 {
		t.Errorf("purge on the collector's port: %d %s, want 404", status, body)
	}
	if status, _, body := adminDo(t, "POST", admin+"/api/cache/purge"); status != 200 {
		t.Errorf("purge on admin.addr: %d %s", status, body)
	}
	status, h, body := c.post("/events", "application/json", []byte(pageViewEvent), "Origin", "https://shop.example")
	if status != 200 || h.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("POST /events on the collector's port: %d %v %s", status, h, body)
	}
	if status, _, body := adminDo(t, "POST", admin+"/events"); status != 404 {
		t.Errorf("POST /events on admin.addr: %d %s, want 404", status, body)
	}
	c.stop()
	if !contains(c.logs.String(), `msg=stopped`) {
		t.Errorf("no clean stop with two listeners:\n%s", c.logs)
	}
}

// Admin routes that any host can reach without auth are warned about at
// start, naming the key; on loopback they are not.
func TestHostileAdminExposedWarning(t *testing.T) {
	c := startCollector(t, newProject(t), "ACCORD_ADMIN_ADDR=0.0.0.0:0")
	adminURL(t, c)
	if logs := c.logs.String(); !contains(logs, "level=WARN") || !contains(logs, "admin routes are open") || !contains(logs, "key=admin.addr") {
		t.Errorf("no warning for admin routes on every interface without auth:\n%s", logs)
	}
	quiet := startCollector(t, newProject(t))
	if logs := quiet.logs.String(); contains(logs, "admin routes are open") {
		t.Errorf("warning for admin routes on loopback:\n%s", logs)
	}
}

// pageViewEvent is a valid event of the project's page_view contract.
const pageViewEvent = `{"schema":"iglu:com.example/page_view/jsonschema/1-0-0","data":{"url":"https://shop.example/"}}`
