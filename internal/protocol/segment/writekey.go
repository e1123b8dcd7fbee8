package segment

import (
	"encoding/base64"
	"errors"
	"strings"

	"github.com/accord-events/accord/internal/jsonscan"
	"github.com/accord-events/accord/internal/protocol"
)

// WriteKey returns the write key a request was sent with, the credential
// that says which source it comes from: the user name of HTTP Basic
// authentication (Segment's libraries send "Authorization: Basic " +
// base64(writeKey + ":"), with an empty password), or else the body's
// top-level "writeKey" (analytics.js sends it there with text/plain
// beacons, which cannot carry headers). ok is false when the request
// carries neither.
//
// The body is read only as far as its first top-level writeKey: WriteKey
// does not check the rest of it, Decode does.
func WriteKey(req *protocol.Request) (key string, ok bool) {
	if key, ok := basicUser(req.Header.Get("Authorization")); ok {
		return key, true
	}
	return bodyWriteKey(req.Body)
}

// basicUser returns the non-empty user name of a Basic Authorization header.
func basicUser(h string) (string, bool) {
	const scheme = "basic "
	if len(h) < len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return "", false
	}
	enc := strings.TrimSpace(h[len(scheme):])
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		// Some hand-written clients leave the padding out.
		if raw, err = base64.RawStdEncoding.DecodeString(enc); err != nil {
			return "", false
		}
	}
	// RFC 7617: user-id ":" password; the user name cannot hold a colon.
	user, _, _ := strings.Cut(string(raw), ":")
	return user, user != ""
}

// errFound stops the walk of a body once its write key is found.
var errFound = errors.New("write key found")

// bodyWriteKey returns the first top-level writeKey string of a JSON object
// body.
func bodyWriteKey(body []byte) (string, bool) {
	start := jsonscan.SkipSpace(body, protocol.SkipBOM(body))
	if start == len(body) || body[start] != '{' {
		return "", false
	}
	var key string
	_, err := jsonscan.Object(body, start, func(ks, ke, vs int) (int, error) {
		ve, err := jsonscan.Value(body, vs)
		if err != nil || body[vs] != '"' || !isName(body[ks:ke], "writeKey") {
			return ve, err
		}
		key = jsonscan.UnquoteBytes(body[vs:ve])
		return ve, errFound
	})
	if !errors.Is(err, errFound) || key == "" {
		return "", false
	}
	return key, true
}

// isName reports whether the string literal lit (a member name as sent)
// reads name.
func isName(lit []byte, name string) bool {
	if jsonscan.HasEscape(lit) {
		return jsonscan.UnquoteBytes(lit) == name
	}
	return string(lit[1:len(lit)-1]) == name
}
