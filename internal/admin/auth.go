package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/accord-events/accord/internal/web"
)

// digest is a secret as credentials are compared: its SHA-256, so every
// comparison is of 32 bytes whatever the lengths, and takes the same time
// (subtle.ConstantTimeCompare returns at once on a length mismatch, which
// tells an attacker the length of a key).
type digest [sha256.Size]byte

func digestOf(s string) digest { return sha256.Sum256([]byte(s)) }

func (d digest) equal(s string) bool {
	given := digestOf(s)
	return subtle.ConstantTimeCompare(d[:], given[:]) == 1
}

// credentials are the secrets admin requests may hold.
type credentials struct {
	token          *digest // admin.auth.token
	user, password *digest // admin.auth.username and password
	apiKeys        []digest
}

func newCredentials(auth Auth, apiKeys []string) credentials {
	var c credentials
	if auth.Token != "" {
		d := digestOf(auth.Token)
		c.token = &d
	}
	if auth.Username != "" {
		u, p := digestOf(auth.Username), digestOf(auth.Password)
		c.user, c.password = &u, &p
	}
	for _, k := range apiKeys {
		c.apiKeys = append(c.apiKeys, digestOf(k))
	}
	return c
}

// adminAuth reports whether admin.auth asks for credentials.
func (c credentials) adminAuth() bool { return c.token != nil || c.user != nil }

// admin reports whether r holds admin.auth's token or basic credentials.
func (c credentials) admin(r *http.Request) bool {
	if c.token != nil {
		if tok, ok := bearer(r); ok && c.token.equal(tok) {
			return true
		}
	}
	if c.user != nil {
		if u, p, ok := r.BasicAuth(); ok {
			// Both compared, always, so the time says nothing of which
			// one was wrong.
			userOK, passOK := c.user.equal(u), c.password.equal(p)
			return userOK && passOK
		}
	}
	return false
}

// apiKey reports whether r holds one of contracts.api_keys, in an apikey
// header (iglu-server's) or as Authorization: Bearer; every key is
// compared, so the time says nothing of which one matched.
func (c credentials) apiKey(r *http.Request) bool {
	key := r.Header.Get("apikey")
	if key == "" {
		key, _ = bearer(r)
	}
	if key == "" {
		return false
	}
	given := digestOf(key)
	match := 0
	for _, k := range c.apiKeys {
		match |= subtle.ConstantTimeCompare(k[:], given[:])
	}
	return match == 1
}

func bearer(r *http.Request) (string, bool) {
	auth := r.Header.Get("Authorization")
	const prefix = "Bearer "
	if len(auth) <= len(prefix) || !strings.EqualFold(auth[:len(prefix)], prefix) {
		return "", false
	}
	return strings.TrimSpace(auth[len(prefix):]), true
}

// registryRoute reports whether r is for the registry API, whose clients
// (Iglu resolvers, igluctl, accord contract publish) hold an API key rather
// than the admin token: there a key of contracts.api_keys stands for admin
// credentials too.
func registryRoute(r *http.Request) bool {
	return r.URL.Path == "/api" || strings.HasPrefix(r.URL.Path, "/api/")
}

// authorize lets r through when admin.auth is off or r holds its
// credentials (or, on the registry API, an API key); otherwise it answers
// 401 and reports false.
func (a *Admin) authorize(w http.ResponseWriter, r *http.Request) bool {
	c := a.creds
	if !c.adminAuth() || c.admin(r) || registryRoute(r) && c.apiKey(r) {
		return true
	}
	var ways []string
	if c.token != nil {
		w.Header().Add("WWW-Authenticate", `Bearer realm="accord admin"`)
		ways = append(ways, "Authorization: Bearer with admin.auth.token")
	}
	if c.user != nil {
		w.Header().Add("WWW-Authenticate", `Basic realm="accord admin", charset="UTF-8"`)
		ways = append(ways, "basic auth with admin.auth.username and admin.auth.password")
	}
	if registryRoute(r) && len(c.apiKeys) > 0 {
		ways = append(ways, "a key of contracts.api_keys (apikey header or Authorization: Bearer)")
	}
	web.WriteError(w, r, http.StatusUnauthorized, web.ErrorBody{Error: "admin routes need credentials: send " + strings.Join(ways, ", or ")})
	return false
}
