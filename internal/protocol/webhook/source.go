package webhook

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/accord-events/accord/internal/contract"
)

// Signature kinds: how a source's deliveries are signed.
const (
	// KindNone accepts deliveries unsigned.
	KindNone = ""
	// KindGitHub checks GitHub's X-Hub-Signature-256 header.
	KindGitHub = "github"
	// KindStripe checks Stripe's Stripe-Signature header, timestamp included.
	KindStripe = "stripe"
	// KindHMAC checks a hex HMAC-SHA256 of the body in a configured header.
	KindHMAC = "hmac"
)

// DefaultSignatureTolerance is how far a Stripe signature's timestamp may be
// from the collector's clock when signature.tolerance is 0. It is the
// tolerance Stripe's own libraries use.
const DefaultSignatureTolerance = 5 * time.Minute

// exampleSchema shows the form of a contract key in messages.
const exampleSchema = "iglu:com.acme/github_push/jsonschema/1-0-0"

// Source is one configured webhook source, received at
// POST /webhooks/{name}. Its deliveries are recorded against one contract,
// or unvalidated when Arbitrary is set.
type Source struct {
	Name      string    `yaml:"name" doc:"The source's name: the {source} in POST /webhooks/{source}, made of letters, digits, '-' and '_'."`
	Schema    string    `yaml:"schema" doc:"Key of the contract every delivery is validated against, such as iglu:com.acme/github_push/jsonschema/1-0-0; leave empty when arbitrary is true."`
	Arbitrary bool      `yaml:"arbitrary" doc:"Record deliveries as they come, without a contract and unvalidated, instead of validating them against schema."`
	Signature Signature `yaml:"signature" doc:"How deliveries are signed, so that requests not sent by the provider are refused with 401."`
}

// Signature says how a source's deliveries are signed and with what secret.
type Signature struct {
	Kind      string        `yaml:"kind" doc:"Signature scheme: empty for none, github (X-Hub-Signature-256), stripe (Stripe-Signature) or hmac (a hex HMAC-SHA256 of the body in the header named by header)."`
	Secret    string        `yaml:"secret" doc:"The shared secret the provider signs deliveries with (GitHub's webhook secret, or the Stripe endpoint's signing secret starting whsec_); best set from the environment rather than written in the file."`
	Header    string        `yaml:"header" doc:"For kind hmac only: the request header carrying the hex HMAC-SHA256 of the body, with or without a sha256= prefix."`
	Tolerance time.Duration `yaml:"tolerance" doc:"For kind stripe only: how far the signed timestamp may be from the collector's clock before a delivery is refused as a replay; 0 means 5m."`
}

// String describes the signature without its secret, so that a Source can
// be logged or printed with %v safely.
func (s Signature) String() string {
	secret := "unset"
	if s.Secret != "" {
		secret = "redacted"
	}
	return fmt.Sprintf("{kind:%q secret:%s header:%q tolerance:%s}", s.Kind, secret, s.Header, s.Tolerance)
}

// GoString is String, for %#v.
func (s Signature) GoString() string { return "webhook.Signature" + s.String() }

// tolerance returns the Stripe tolerance in force.
func (s Signature) tolerance() time.Duration {
	if s.Tolerance == 0 {
		return DefaultSignatureTolerance
	}
	return s.Tolerance
}

// Validate reports every problem with the source at once, each naming its
// key relative to the source (name, schema, signature.secret, ...) and the
// fix.
func (s Source) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	switch {
	case s.Name == "":
		bad("name", "must not be empty; name the source, such as github, which receives deliveries at POST /webhooks/github")
	case !validName(s.Name):
		bad("name", "%q may hold only letters, digits, '-' and '_', as it is a URL path segment; use something like github-main", s.Name)
	}
	switch {
	case s.Schema != "" && s.Arbitrary:
		bad("schema", "must be empty when arbitrary is true; either validate deliveries against the contract in schema or record them unvalidated with arbitrary, not both")
	case s.Schema == "" && !s.Arbitrary:
		bad("schema", "must not be empty unless arbitrary is true; set it to the key of the contract deliveries are validated against, such as %s, or set arbitrary: true to record them unvalidated", exampleSchema)
	case s.Schema != "":
		if _, err := contract.ParseKey(s.Schema); err != nil {
			bad("schema", "%v; use a contract key such as %s", err, exampleSchema)
		}
	}
	sig := s.Signature
	switch sig.Kind {
	case KindNone:
		if sig.Secret != "" {
			bad("signature.secret", "is set but signature.kind is empty, so it would never be checked; set signature.kind to github, stripe or hmac, or remove the secret")
		}
	case KindGitHub, KindStripe, KindHMAC:
		if sig.Secret == "" {
			bad("signature.secret", "must not be empty when signature.kind is %s; set it to the secret the provider signs deliveries with", sig.Kind)
		}
	default:
		bad("signature.kind", "%q is not a signature kind; use github, stripe, hmac, or leave it empty to accept unsigned deliveries", sig.Kind)
	}
	switch {
	case sig.Kind == KindHMAC && sig.Header == "":
		bad("signature.header", "must not be empty when signature.kind is hmac; set it to the header carrying the signature, such as X-Signature")
	case sig.Kind == KindHMAC && !validHeaderName(sig.Header):
		bad("signature.header", "%q is not a header name; use letters, digits and '-', such as X-Signature", sig.Header)
	case sig.Kind != KindHMAC && sig.Header != "":
		bad("signature.header", "applies only when signature.kind is hmac (github and stripe use their own headers); remove it or set signature.kind to hmac")
	}
	switch {
	case sig.Tolerance < 0:
		bad("signature.tolerance", "%s must not be negative; use 0 for the default of %s, or a duration such as 10m", sig.Tolerance, DefaultSignatureTolerance)
	case sig.Tolerance != 0 && sig.Kind != KindStripe:
		bad("signature.tolerance", "applies only when signature.kind is stripe, whose signatures carry a timestamp; remove it")
	}
	return errors.Join(errs...)
}

// validName reports whether name may be a source's {source} path segment.
func validName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return name != ""
}

// validHeaderName reports whether name is an HTTP field name (an RFC 9110
// token).
func validHeaderName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return name != ""
}
