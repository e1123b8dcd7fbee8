package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// hexMAC is the hex HMAC-SHA256 of msg with key secret, computed here
// independently of the code under test.
func hexMAC(t testing.TB, secret, msg string) string {
	t.Helper()
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// stripeHeader returns a Stripe-Signature value for body signed at ts with
// each of secrets, in order.
func stripeHeader(t testing.TB, ts time.Time, body string, secrets ...string) string {
	t.Helper()
	unix := strconv.FormatInt(ts.Unix(), 10)
	h := "t=" + unix
	for _, s := range secrets {
		h += ",v1=" + hexMAC(t, s, unix+"."+body)
	}
	return h
}

func headers(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// TestVerifyGitHubDocumentedVector checks the example GitHub gives in
// "Validating webhook deliveries".
func TestVerifyGitHubDocumentedVector(t *testing.T) {
	const want = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	sig := Signature{Kind: KindGitHub, Secret: "It's a Secret to Everybody"}
	if err := Verify(sig, headers(HeaderGitHub, want), []byte("Hello, World!"), time.Now()); err != nil {
		t.Fatalf("GitHub's documented signature refused: %v", err)
	}
	if got := "sha256=" + hex.EncodeToString(sign(sig.Secret, nil, []byte("Hello, World!"))); got != want {
		t.Errorf("signed as %s, want %s", got, want)
	}
	if err := Verify(sig, headers(HeaderGitHub, want), []byte("Hello, World?"), time.Now()); !errors.Is(err, ErrSignature) {
		t.Errorf("another body accepted with GitHub's documented signature: %v", err)
	}
}

func TestVerify(t *testing.T) {
	const (
		secret = "s3cret"
		body   = `{"action":"opened","number":1}`
	)
	now := time.Unix(1_700_000_000, 0)
	github := Signature{Kind: KindGitHub, Secret: secret}
	stripe := Signature{Kind: KindStripe, Secret: secret}
	generic := Signature{Kind: KindHMAC, Secret: secret, Header: "X-Signature"}
	good := hexMAC(t, secret, body)
	unix := strconv.FormatInt(now.Unix(), 10)
	stripeGood := hexMAC(t, secret, unix+"."+body)

	tests := []struct {
		name   string
		sig    Signature
		header http.Header
		body   string
		// wantErr is empty for a delivery that must be accepted, else
		// words the error must contain.
		wantErr string
		// config marks an error of configuration, not wrapping
		// ErrSignature.
		config bool
	}{
		{name: "no signature configured", sig: Signature{}, header: headers(), body: body},
		{name: "no signature configured ignores a bad header", sig: Signature{}, header: headers(HeaderGitHub, "sha256=00"), body: body},

		{name: "github valid", sig: github, header: headers(HeaderGitHub, "sha256="+good), body: body},
		{name: "github valid upper-case hex", sig: github, header: headers(HeaderGitHub, "sha256="+strings.ToUpper(good)), body: body},
		{name: "github header name in any case", sig: github, header: http.Header{"X-Hub-Signature-256": {"sha256=" + good}}, body: body},
		{name: "github missing", sig: github, header: headers("X-Hub-Signature", "sha1=abc"), body: body, wantErr: "X-Hub-Signature-256 header is missing"},
		{name: "github without prefix", sig: github, header: headers(HeaderGitHub, good), body: body, wantErr: `does not start with "sha256="`},
		{name: "github malformed hex", sig: github, header: headers(HeaderGitHub, "sha256="+strings.Repeat("z", 64)), body: body, wantErr: "not sha256= and 64 hex digits"},
		{name: "github truncated", sig: github, header: headers(HeaderGitHub, "sha256="+good[:40]), body: body, wantErr: "not sha256= and 64 hex digits"},
		{name: "github wrong secret", sig: github, header: headers(HeaderGitHub, "sha256="+hexMAC(t, "other", body)), body: body, wantErr: "does not match the body; check that signature.secret"},
		{name: "github body changed", sig: github, header: headers(HeaderGitHub, "sha256="+good), body: body + " ", wantErr: "does not match the body"},

		{name: "stripe valid", sig: stripe, header: headers(HeaderStripe, stripeHeader(t, now, body, secret)), body: body},
		{name: "stripe several v1, the second matches", sig: stripe, header: headers(HeaderStripe, stripeHeader(t, now, body, "old-secret", secret)), body: body},
		{name: "stripe several v1, the first matches", sig: stripe, header: headers(HeaderStripe, stripeHeader(t, now, body, secret, "new-secret")), body: body},
		{name: "stripe with v0 and spaces", sig: stripe, header: headers(HeaderStripe, "t="+unix+", v1="+stripeGood+", v0="+strings.Repeat("0", 64)), body: body},
		{name: "stripe timestamp after the signatures", sig: stripe, header: headers(HeaderStripe, "v1=zz,v1="+stripeGood+",t="+unix), body: body},
		{name: "stripe 4 minutes old", sig: stripe, header: headers(HeaderStripe, stripeHeader(t, now.Add(-4*time.Minute), body, secret)), body: body},
		{name: "stripe 6 minutes old within a tolerance of 10m", sig: Signature{Kind: KindStripe, Secret: secret, Tolerance: 10 * time.Minute},
			header: headers(HeaderStripe, stripeHeader(t, now.Add(-6*time.Minute), body, secret)), body: body},
		{name: "stripe missing", sig: stripe, header: headers(HeaderGitHub, "sha256="+good), body: body, wantErr: "Stripe-Signature header is missing"},
		{name: "stripe too old", sig: stripe, header: headers(HeaderStripe, stripeHeader(t, now.Add(-6*time.Minute), body, secret)), body: body,
			wantErr: "timestamp is 6m0s away from the collector's clock, more than signature.tolerance (5m0s)"},
		{name: "stripe too far in the future", sig: stripe, header: headers(HeaderStripe, stripeHeader(t, now.Add(time.Hour), body, secret)), body: body,
			wantErr: "timestamp is 1h0m0s away"},
		{name: "stripe timestamp far off the clock", sig: stripe, header: headers(HeaderStripe, "t=-9223372036854775808,v1="+hexMAC(t, secret, "-9223372036854775808."+body)), body: body,
			wantErr: "more than signature.tolerance"},
		{name: "stripe wrong secret", sig: stripe, header: headers(HeaderStripe, stripeHeader(t, now, body, "other", "another")), body: body,
			wantErr: "no v1 signature of the Stripe-Signature header matches the body; check that signature.secret"},
		{name: "stripe signature of another timestamp", sig: stripe, header: headers(HeaderStripe, "t="+strconv.FormatInt(now.Unix()-1, 10)+",v1="+stripeGood), body: body,
			wantErr: "matches the body"},
		{name: "stripe only v0", sig: stripe, header: headers(HeaderStripe, "t="+unix+",v0="+stripeGood), body: body, wantErr: "no v1 signature;"},
		{name: "stripe no timestamp", sig: stripe, header: headers(HeaderStripe, "v1="+stripeGood), body: body, wantErr: "has no timestamp t"},
		{name: "stripe empty timestamp", sig: stripe, header: headers(HeaderStripe, "t=,v1="+stripeGood), body: body, wantErr: "empty timestamp"},
		{name: "stripe timestamp not a number", sig: stripe, header: headers(HeaderStripe, "t=yesterday,v1="+stripeGood), body: body, wantErr: `t="yesterday" is not Unix seconds`},
		{name: "stripe two timestamps", sig: stripe, header: headers(HeaderStripe, "t="+unix+",t="+unix+",v1="+stripeGood), body: body, wantErr: "more than one timestamp"},
		{name: "stripe not key=value", sig: stripe, header: headers(HeaderStripe, "t="+unix+","+stripeGood), body: body, wantErr: "not a comma-separated list of key=value pairs"},
		{name: "stripe malformed v1", sig: stripe, header: headers(HeaderStripe, "t="+unix+",v1=abc,v1="+strings.Repeat("g", 64)), body: body, wantErr: "no v1 signature of the Stripe-Signature header is 64 hex digits"},

		{name: "hmac valid", sig: generic, header: headers("X-Signature", good), body: body},
		{name: "hmac valid with prefix", sig: generic, header: headers("X-Signature", "sha256="+good), body: body},
		{name: "hmac valid with upper-case prefix and spaces", sig: generic, header: headers("x-signature", " SHA256="+good+" "), body: body},
		{name: "hmac missing", sig: generic, header: headers(HeaderGitHub, "sha256="+good), body: body, wantErr: "X-Signature header (signature.header) is missing"},
		{name: "hmac malformed", sig: generic, header: headers("X-Signature", "sha1="+good), body: body, wantErr: "not 64 hex digits"},
		{name: "hmac wrong secret", sig: generic, header: headers("X-Signature", hexMAC(t, "other", body)), body: body, wantErr: "does not match the body"},
		{name: "hmac empty body", sig: generic, header: headers("X-Signature", hexMAC(t, secret, "")), body: ""},

		{name: "unknown kind", sig: Signature{Kind: "gitlab", Secret: secret}, header: headers(), body: body, wantErr: `signature.kind "gitlab" is not a signature kind`, config: true},
		{name: "empty secret", sig: Signature{Kind: KindHMAC, Header: "X-Signature"}, header: headers("X-Signature", hexMAC(t, "", body)), body: body, wantErr: "signature.secret is empty", config: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(tc.sig, tc.header, []byte(tc.body), now)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Verify accepted the delivery, want an error saying %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not say %q", err, tc.wantErr)
			}
			if errors.Is(err, ErrSignature) == tc.config {
				t.Errorf("errors.Is(%q, ErrSignature) = %t, want %t", err, !tc.config, !tc.config)
			}
		})
	}
}
