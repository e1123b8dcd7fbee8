package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/redact"
)

// MaxDocumentSize bounds a schema document fetched over HTTP: a contract is
// a few KiB, so a larger answer is a misconfigured server, not a contract.
const MaxDocumentSize = 1 << 20

// maxListSize bounds the answer of an iglu-server listing: 10,000 keys of
// about 60 bytes each fit many times over.
const maxListSize = 16 << 20

// DefaultIgluTimeout bounds one HTTP request when IgluOptions.Timeout is zero.
const DefaultIgluTimeout = 10 * time.Second

// maxIgluRedirects bounds the redirects one request follows (a static
// repository behind a CDN redirects once or twice, never more).
const maxIgluRedirects = 5

// ErrDocumentTooLarge is wrapped by the error for an answer larger than its
// bound (MaxDocumentSize for a schema).
var ErrDocumentTooLarge = errors.New("answer too large")

// IgluOptions configure an Iglu backend.
type IgluOptions struct {
	// API selects the iglu-server API layout ({base}/api/schemas/...); when
	// false the repository is static, laid out as Iglu Central is
	// ({base}/schemas/...).
	API bool
	// APIKey is sent in the "apikey" header, in API mode, for private
	// schemas.
	APIKey string
	// Timeout bounds one request (default 10s).
	Timeout time.Duration
	// Client makes the requests (default: a new http.Client). Unless it
	// has its own CheckRedirect, at most 5 redirects are followed, and
	// none to another host while an APIKey is set, so the key goes only
	// to the repository named.
	Client *http.Client
}

// Iglu is a Backend reading an Iglu schema repository over HTTP.
type Iglu struct {
	base   string // without a trailing slash
	api    bool
	apiKey string
	client *http.Client
	tmo    time.Duration
}

// NewIglu returns a backend for the Iglu repository at baseURL, such as
// http://iglucentral.com or https://iglu.example.com (API mode).
func NewIglu(baseURL string, opts IgluOptions) (*Iglu, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("iglu repository url %q is not an http(s) URL; set it as https://host[/path]", baseURL)
	}
	if opts.Timeout < 0 {
		return nil, fmt.Errorf("iglu repository %s: timeout %s is negative; set a duration such as 10s, or 0 for the default", baseURL, opts.Timeout)
	}
	if opts.APIKey != "" && !opts.API {
		return nil, fmt.Errorf("iglu repository %s: an api key is set but the repository is static; set api: true for an iglu-server, or drop the key", baseURL)
	}
	g := &Iglu{base: strings.TrimRight(baseURL, "/"), api: opts.API, apiKey: opts.APIKey, client: opts.Client, tmo: opts.Timeout}
	// A copy, so the redirect policy applies to a client given too
	// without changing it for its other users.
	client := http.Client{}
	if opts.Client != nil {
		client = *opts.Client
	}
	if client.CheckRedirect == nil {
		client.CheckRedirect = g.checkRedirect
	}
	g.client = &client
	if g.tmo == 0 {
		g.tmo = DefaultIgluTimeout
	}
	return g, nil
}

// checkRedirect bounds redirects, and keeps the API key from reaching any
// host but the repository's: net/http forwards custom headers such as
// apikey on a redirect, even to another host. An https repository is not
// followed down to http either, where the key would cross the network in
// the clear.
func (g *Iglu) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxIgluRedirects {
		return fmt.Errorf("stopped after %d redirects", maxIgluRedirects)
	}
	if g.apiKey == "" {
		return nil
	}
	first := via[0].URL
	if req.URL.Host != first.Host || (first.Scheme == "https" && req.URL.Scheme != "https") {
		return fmt.Errorf("redirected to %s, which is not the repository's host; the api key is sent only to %s://%s: set the repository url to where it redirects if you trust it",
			redact.URL(req.URL.String()), first.Scheme, first.Host)
	}
	return nil
}

// Name is the repository's base URL.
// It names the backend in errors, logs and contract sources, so it is
// redacted: a repository URL may carry a password or a token.
func (g *Iglu) Name() string { return redact.URL(g.base) }

func (g *Iglu) schemasURL() string {
	if g.api {
		return g.base + "/api/schemas"
	}
	return g.base + "/schemas"
}

// Fetch GETs the key's schema; a 404 is ErrNotFound.
func (g *Iglu) Fetch(ctx context.Context, key contract.Key) ([]byte, error) {
	// ParseKey allows "." and "..", which in a URL path would name another
	// resource; no Iglu repository holds such a key.
	for _, p := range [3]string{key.Vendor, key.Name, key.Format} {
		if p == "." || p == ".." {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
		}
	}
	body, err := g.get(ctx, g.schemasURL()+"/"+key.Path(), MaxDocumentSize)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", err, key)
	}
	return body, err
}

// List returns the keys an iglu-server holds. A static repository cannot be
// listed: List returns nil.
func (g *Iglu) List(ctx context.Context) ([]contract.Key, error) {
	if !g.api {
		return nil, nil
	}
	uris, err := g.ListURIs(ctx)
	if err != nil {
		return nil, err
	}
	keys := make([]contract.Key, 0, len(uris))
	for _, u := range uris {
		k, err := contract.ParseKey(u)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", g.schemasURL(), err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// API reports whether the repository is an iglu-server (listable) rather
// than a static one.
func (g *Iglu) API() bool { return g.api }

// ListURIs returns the schema URIs an iglu-server lists
// (GET /api/schemas), as it sends them: each is the server's say, so the
// caller parses and judges every one. A static repository has no listing.
func (g *Iglu) ListURIs(ctx context.Context) ([]string, error) {
	if !g.api {
		return nil, fmt.Errorf("%s is a static repository, which has no listing", g.Name())
	}
	body, err := g.get(ctx, g.schemasURL(), maxListSize)
	if err != nil {
		return nil, err
	}
	var uris []string
	if err := json.Unmarshal(body, &uris); err != nil {
		return nil, fmt.Errorf("list %s: answer is not a JSON array of schema URIs: %w", g.schemasURL(), err)
	}
	return uris, nil
}

// get GETs u and returns its body, at most limit bytes. A 404 is ErrNotFound.
func (g *Iglu) get(ctx context.Context, u string, limit int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, g.tmo)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", u, err)
	}
	req.Header.Set("Accept", "application/json")
	if g.apiKey != "" {
		req.Header.Set("apikey", g.apiKey)
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", u, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		// Drain a little so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, ErrNotFound
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return nil, fmt.Errorf("get %s: server answered %s", u, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("get %s: read body: %w", u, err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("get %s: %w: larger than %d bytes", u, ErrDocumentTooLarge, limit)
	}
	return body, nil
}
