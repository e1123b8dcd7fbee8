package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrSignature is wrapped by every error Verify returns for a delivery whose
// signature is missing, malformed, wrong or stale: the server answers such a
// request 401 and counts it, and records nothing.
var ErrSignature = errors.New("webhook signature verification failed")

// Signature headers.
const (
	HeaderGitHub = "X-Hub-Signature-256"
	HeaderStripe = "Stripe-Signature"
)

// sha256Prefix starts GitHub's signature, and may start a generic one.
const sha256Prefix = "sha256="

// Verify checks that body was signed as sig says, with the headers of the
// request that carried it; now is the collector's clock, against which a
// Stripe timestamp is held. It returns nil when the signature is valid or
// sig.Kind is empty, an error wrapping ErrSignature saying what is wrong
// with the request otherwise, and an error that does not wrap ErrSignature
// when sig itself is unusable (an unknown kind or an empty secret, which
// Source.Validate refuses): such a request is refused too, as a fault of
// ours.
//
// body must be the bytes the provider signed: the request body as received,
// after only the decompression of a Content-Encoding the provider applied
// after signing. MACs are compared in constant time.
func Verify(sig Signature, header http.Header, body []byte, now time.Time) error {
	switch sig.Kind {
	case KindNone:
		return nil
	case KindGitHub, KindStripe, KindHMAC:
	default:
		return fmt.Errorf("signature.kind %q is not a signature kind; use github, stripe or hmac", sig.Kind)
	}
	if sig.Secret == "" {
		return fmt.Errorf("signature.secret is empty, so deliveries cannot be verified; set it to the secret the provider signs with")
	}
	switch sig.Kind {
	case KindGitHub:
		return verifyGitHub(sig.Secret, header, body)
	case KindStripe:
		return verifyStripe(sig.Secret, sig.tolerance(), header.Get(HeaderStripe), body, now)
	default:
		return verifyHMAC(sig.Secret, sig.Header, header, body)
	}
}

func verifyGitHub(secret string, header http.Header, body []byte) error {
	v := header.Get(HeaderGitHub)
	if v == "" {
		return fmt.Errorf("%w: the %s header is missing; set the webhook's secret in GitHub so that it signs deliveries, or unset signature.kind to accept unsigned ones",
			ErrSignature, HeaderGitHub)
	}
	hexMAC, ok := strings.CutPrefix(v, sha256Prefix)
	if !ok {
		return fmt.Errorf("%w: the %s header does not start with %q; it must be sha256= and 64 hex digits", ErrSignature, HeaderGitHub, sha256Prefix)
	}
	var got [sha256.Size]byte
	if !decodeMAC(got[:], hexMAC) {
		return fmt.Errorf("%w: the %s header is not sha256= and 64 hex digits", ErrSignature, HeaderGitHub)
	}
	if !hmac.Equal(got[:], sign(secret, nil, body)) {
		return fmt.Errorf("%w: the %s header does not match the body; check that signature.secret is the webhook's secret in GitHub", ErrSignature, HeaderGitHub)
	}
	return nil
}

func verifyHMAC(secret, name string, header http.Header, body []byte) error {
	v := strings.TrimSpace(header.Get(name))
	if v == "" {
		return fmt.Errorf("%w: the %s header (signature.header) is missing; have the sender sign deliveries in it, or unset signature.kind to accept unsigned ones",
			ErrSignature, name)
	}
	if len(v) > len(sha256Prefix) && strings.EqualFold(v[:len(sha256Prefix)], sha256Prefix) {
		v = v[len(sha256Prefix):]
	}
	var got [sha256.Size]byte
	if !decodeMAC(got[:], v) {
		return fmt.Errorf("%w: the %s header is not 64 hex digits (optionally after sha256=); it must carry the hex HMAC-SHA256 of the body", ErrSignature, name)
	}
	if !hmac.Equal(got[:], sign(secret, nil, body)) {
		return fmt.Errorf("%w: the %s header does not match the body; check that signature.secret is the secret the sender signs with", ErrSignature, name)
	}
	return nil
}

// verifyStripe checks a Stripe-Signature header value,
// t=<unix seconds>,v1=<hex>[,v1=<hex>...][,v0=<hex>]: the HMAC-SHA256 of
// "<t>.<body>" must equal one of the v1 signatures (Stripe sends several while
// an endpoint secret is being rolled), and t must be within tolerance of now.
// v0 and unknown schemes are ignored, as Stripe's libraries do.
func verifyStripe(secret string, tolerance time.Duration, v string, body []byte, now time.Time) error {
	if v == "" {
		return fmt.Errorf("%w: the %s header is missing; check that the endpoint is a Stripe webhook endpoint, or unset signature.kind to accept unsigned deliveries",
			ErrSignature, HeaderStripe)
	}
	var ts string
	var sigs, wellFormed int
	for rest := v; rest != ""; {
		var item string
		item, rest, _ = strings.Cut(rest, ",")
		k, val, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return fmt.Errorf("%w: the %s header is not a comma-separated list of key=value pairs such as t=1700000000,v1=<hex>", ErrSignature, HeaderStripe)
		}
		switch k {
		case "t":
			if ts != "" {
				return fmt.Errorf("%w: the %s header has more than one timestamp t", ErrSignature, HeaderStripe)
			}
			if val == "" {
				return fmt.Errorf("%w: the %s header has an empty timestamp t; it must be Unix seconds", ErrSignature, HeaderStripe)
			}
			ts = val
		case "v1":
			sigs++
			if len(val) == 2*sha256.Size && isHex(val) {
				wellFormed++
			}
		}
	}
	if ts == "" {
		return fmt.Errorf("%w: the %s header has no timestamp t", ErrSignature, HeaderStripe)
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: the %s timestamp t=%.20q is not Unix seconds", ErrSignature, HeaderStripe, ts)
	}
	if sigs == 0 {
		return fmt.Errorf("%w: the %s header has no v1 signature; Accord checks only Stripe's v1 (HMAC-SHA256) scheme", ErrSignature, HeaderStripe)
	}
	if wellFormed == 0 {
		return fmt.Errorf("%w: no v1 signature of the %s header is 64 hex digits", ErrSignature, HeaderStripe)
	}
	if !anyV1Matches(v, sign(secret, []byte(ts), body)) {
		return fmt.Errorf("%w: no v1 signature of the %s header matches the body; check that signature.secret is the endpoint's signing secret (whsec_...) in the Stripe dashboard", ErrSignature, HeaderStripe)
	}
	// The timestamp is checked once the signature is known good, so that
	// this message means a replay or a wrong clock, never a forgery.
	if age := now.Sub(time.Unix(t, 0)).Abs(); age > tolerance {
		return fmt.Errorf("%w: the %s timestamp is %s away from the collector's clock, more than signature.tolerance (%s); a replayed delivery or a clock that is off: check NTP, or raise signature.tolerance",
			ErrSignature, HeaderStripe, age.Round(time.Second), tolerance)
	}
	return nil
}

// anyV1Matches reports whether a v1 signature of a Stripe-Signature header
// value is want. It compares every one, so that the time taken does not
// depend on which one matched.
func anyV1Matches(v string, want []byte) bool {
	matched := false
	for rest := v; rest != ""; {
		var item string
		item, rest, _ = strings.Cut(rest, ",")
		k, val, _ := strings.Cut(strings.TrimSpace(item), "=")
		var got [sha256.Size]byte
		if k == "v1" && decodeMAC(got[:], val) && hmac.Equal(got[:], want) {
			matched = true
		}
	}
	return matched
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// decodeMAC decodes a hex SHA-256 MAC into dst, reporting whether s was one.
func decodeMAC(dst []byte, s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	_, err := hex.Decode(dst, []byte(s))
	return err == nil
}

// sign returns the HMAC-SHA256 with key secret of prefix "." body, or of body
// alone when prefix is nil.
func sign(secret string, prefix, body []byte) []byte {
	mac := hmac.New(sha256.New, []byte(secret))
	if prefix != nil {
		mac.Write(prefix)
		mac.Write([]byte{'.'})
	}
	mac.Write(body)
	return mac.Sum(nil)
}
