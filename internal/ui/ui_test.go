package ui

import (
	"bytes"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/testenv"
)

// TestCompiledUIUpToDate compiles src/ with the pinned tsc into a temporary
// directory and compares it with the committed static/js: a change to the
// TypeScript without a rebuild (npx --prefix internal/ui tsc -p
// internal/ui) fails here. Without node or internal/ui/node_modules it
// skips, except with CI=true, where it fails.
func TestCompiledUIUpToDate(t *testing.T) {
	node, err := exec.LookPath("node")
	tsc := filepath.Join("node_modules", "typescript", "bin", "tsc")
	if err == nil {
		_, err = os.Stat(tsc)
	}
	if err != nil {
		testenv.Missing(t, "cannot run tsc (%v): npm ci --prefix internal/ui to check the compiled UI", err)
	}
	out := t.TempDir()
	cmd := exec.Command(node, tsc, "-p", ".", "--outDir", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tsc: %v\n%s", err, b)
	}
	want := readTree(t, os.DirFS(out))
	got := readTree(t, os.DirFS(filepath.Join("static", "js")))
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("static/js/%s is missing: run npx --prefix internal/ui tsc -p internal/ui and commit it", name)
		case !bytes.Equal(g, w):
			t.Errorf("static/js/%s is stale (src/ changed since it was compiled): run npx --prefix internal/ui tsc -p internal/ui and commit it", name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("static/js/%s has no source in src/: delete it", name)
		}
	}
}

func readTree(t *testing.T, fsys fs.FS) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, path)
		files[path] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestNoMarkupFromStrings holds the UI to building pages from text nodes:
// no source assigns HTML from a string or evaluates one, so no contract
// text, payload or error message can become markup or code.
func TestNoMarkupFromStrings(t *testing.T) {
	banned := regexp.MustCompile(`\.(innerHTML|outerHTML)\b|insertAdjacentHTML|document\.write|\beval\(|new Function\(|createContextualFragment|DOMParser`)
	for name, b := range readTree(t, os.DirFS("src")) {
		for i, line := range strings.Split(string(b), "\n") {
			code, _, _ := strings.Cut(line, "//")
			if m := banned.FindString(code); m != "" {
				t.Errorf("src/%s:%d uses %s: build elements with dom.h and text nodes instead", name, i+1, m)
			}
		}
	}
}

// TestNoExternalRequests: the embedded assets name no other origin (no
// CDN, font or analytics URL), so the UI works offline; every script,
// style and module they load is embedded.
func TestNoExternalRequests(t *testing.T) {
	files := readTree(t, Static())
	for name, b := range files {
		if m := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`).Find(stripComments(name, b)); m != nil {
			t.Errorf("%s names another origin: %s", name, m)
		}
	}
	// Every local reference resolves to an embedded file.
	refs := map[string]*regexp.Regexp{
		".html": regexp.MustCompile(`(?:src|href)="([^"#][^"]*)"`),
		".js":   regexp.MustCompile(`(?m)^(?:import|export)\s[^;"']*\sfrom\s*["']([^"']+)["']`),
	}
	checked := 0
	for name, b := range files {
		re := refs[filepath.Ext(name)]
		if re == nil {
			continue
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			checked++
			ref := filepath.ToSlash(filepath.Join(filepath.Dir(name), string(m[1])))
			if _, ok := files[ref]; !ok {
				t.Errorf("%s refers to %s, which is not embedded", name, m[1])
			}
		}
	}
	if checked < 5 {
		t.Fatalf("only %d references found in %d embedded files: the patterns no longer match", checked, len(files))
	}
}

// stripComments drops // and /* */ comments from a script or style sheet,
// and an SVG's namespace name: they mention URLs without loading them.
func stripComments(name string, b []byte) []byte {
	switch filepath.Ext(name) {
	case ".svg":
		b = bytes.ReplaceAll(b, []byte(`xmlns="http://www.w3.org/2000/svg"`), nil)
	case ".js", ".css":
		b = regexp.MustCompile(`(?s)/\*.*?\*/`).ReplaceAll(b, nil)
		b = regexp.MustCompile(`(?m)^\s*//.*$`).ReplaceAll(b, nil)
	}
	return b
}

func TestServe(t *testing.T) {
	u := New(Deps{})
	tests := []struct {
		name, method, path string
		status             int
		location, ctype    string
		body               string
	}{
		{name: "without slash: relative redirect", method: "GET", path: "/ui", status: http.StatusFound, location: "ui/"},
		{name: "index", method: "GET", path: "/ui/", status: http.StatusOK, ctype: "text/html", body: `<script type="module" src="js/main.js">`},
		{name: "script", method: "GET", path: "/ui/js/main.js", status: http.StatusOK, ctype: "text/javascript", body: "hashchange"},
		{name: "style", method: "GET", path: "/ui/style.css", status: http.StatusOK, ctype: "text/css"},
		{name: "unknown file", method: "GET", path: "/ui/nope.js", status: http.StatusNotFound},
		{name: "post to a page", method: "POST", path: "/ui/", status: http.StatusMethodNotAllowed},
		{name: "post without slash", method: "POST", path: "/ui", status: http.StatusMethodNotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			u.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if got := rec.Header().Get("Location"); got != tc.location {
				t.Errorf("Location %q, want %q", got, tc.location)
			}
			if !strings.HasPrefix(rec.Header().Get("Content-Type"), tc.ctype) {
				t.Errorf("Content-Type %q, want %s", rec.Header().Get("Content-Type"), tc.ctype)
			}
			if !strings.Contains(rec.Body.String(), tc.body) {
				t.Errorf("body lacks %q:\n%s", tc.body, rec.Body)
			}
			csp := rec.Header().Get("Content-Security-Policy")
			if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("Content-Security-Policy %q", csp)
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("no X-Content-Type-Options: nosniff")
			}
		})
	}
}
