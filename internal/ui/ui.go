// Package ui is Accord's web UI: the pages of the admin surface (catalog,
// live inspector, playground, failed events, health) and the JSON routes
// only they use. Its assets are embedded in the binary (static/, compiled
// from src/ by tsc and committed, so go build alone builds it) and it
// fetches nothing from anywhere but the server that served it.
//
// Every URL the pages use is relative (a hash route for pages, api/... or
// ../stats for data), so the UI works unchanged behind a reverse proxy
// that serves it under a path prefix. It is mounted on the admin surface
// (admin.Handle("/ui/", ...)), behind admin.auth.
package ui

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"

	"github.com/accord-events/accord/internal/web"
)

// Prefix is where the UI is served on the admin surface.
const Prefix = "/ui/"

//go:embed static
var embedded embed.FS

// Static returns the embedded assets: index.html, style.css and js/.
func Static() fs.FS {
	sub, err := fs.Sub(embedded, "static")
	if err != nil {
		// static is embedded at build time: only a broken build gets here.
		panic(err)
	}
	return sub
}

// contentSecurityPolicy allows the pages nothing but this server's own
// scripts, styles and data: no inline script (a contract's text that
// slipped into the page as markup would not run), no other origin, no
// framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// UI serves the pages and their routes under Prefix.
type UI struct {
	mux     *http.ServeMux
	deps    Deps
	catalog *catalogCache
}

// New returns the UI serving deps. Routes of other pages' APIs are added
// with Handle.
func New(deps Deps) *UI {
	u := &UI{mux: http.NewServeMux(), deps: deps, catalog: &catalogCache{deps: deps}}
	files := http.FileServerFS(Static())
	u.mux.Handle("GET "+Prefix, http.StripPrefix(strings.TrimSuffix(Prefix, "/"), files))
	u.routeAPI()
	return u
}

// Handle serves h at pattern, which must lie under Prefix (the pages'
// APIs live under Prefix + "api/").
func (u *UI) Handle(pattern string, h http.Handler) {
	u.mux.Handle(pattern, h)
}

// ServeHTTP answers a request under Prefix, or for Prefix without its
// trailing slash, which is sent on to it by a relative redirect (an
// absolute one would leave a reverse proxy's path prefix behind).
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	// The pages change with the binary: a browser asks again each time.
	h.Set("Cache-Control", "no-cache")
	if r.URL.Path == strings.TrimSuffix(Prefix, "/") {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			web.MethodNotAllowed(w, r, "GET, HEAD")
			return
		}
		// Set by hand: http.Redirect would make the location absolute.
		h.Set("Location", strings.Trim(Prefix, "/")+"/")
		w.WriteHeader(http.StatusFound)
		return
	}
	u.mux.ServeHTTP(w, r)
}
