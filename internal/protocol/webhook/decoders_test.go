package webhook

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/protocol"
)

// whRequest is a delivery POSTed to /webhooks/{source} with a JSON body.
func whRequest(source, body string, header http.Header) *protocol.Request {
	if header == nil {
		header = http.Header{}
	}
	return &protocol.Request{
		Method: http.MethodPost, Path: "/webhooks/" + source, Header: header, MediaType: MediaJSON, Body: []byte(body),
		PathValue: func(name string) string {
			if name == "source" {
				return source
			}
			return ""
		},
	}
}

func TestCollectorHandle(t *testing.T) {
	const (
		ghSecret     = "gh-secret"
		stripeSecret = "whsec_test"
		hmacSecret   = "generic-secret"
		push         = `{"ref":"refs/heads/main","commits":[{"id":"c1"}]}`
		stripeEvent  = `{"id":"evt_1","object":"event","type":"charge.succeeded"}`
	)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	sources := []Source{
		{Name: "github", Schema: pushSchema, Signature: Signature{Kind: KindGitHub, Secret: ghSecret}},
		{Name: "stripe", Arbitrary: true, Signature: Signature{Kind: KindStripe, Secret: stripeSecret}},
		{Name: "anything", Arbitrary: true, Signature: Signature{Kind: KindHMAC, Secret: hmacSecret, Header: "X-Signature"}},
		{Name: "open", Schema: pushSchema},
		// Not valid (Validate refuses it), to see a fault of ours refused.
		{Name: "nosecret", Schema: pushSchema, Signature: Signature{Kind: KindGitHub}},
	}
	ghSig := "sha256=" + hexMAC(t, ghSecret, push)
	tests := []struct {
		name   string
		source string
		body   string
		header http.Header

		// For a delivery read:
		schema    string
		arbitrary bool
		eventID   string
		attrs     string

		// For a request refused or rejected:
		status  int
		refused bool
		reason  string
	}{
		{name: "unknown source", source: "gitlab", body: push, header: headers(HeaderGitHub, ghSig),
			status: http.StatusNotFound, refused: true, reason: "unknown_source"},
		{name: "source names are case-sensitive", source: "GitHub", body: push, header: headers(HeaderGitHub, ghSig),
			status: http.StatusNotFound, refused: true, reason: "unknown_source"},
		{name: "github good signature", source: "github", body: push,
			header: headers(HeaderGitHub, ghSig, "X-GitHub-Delivery", "d-1", "X-GitHub-Event", "push", "Authorization", "token x"),
			schema: pushSchema, eventID: "d-1", attrs: `{"source":"github","headers":{"x-github-delivery":"d-1","x-github-event":"push"}}`},
		{name: "github missing signature", source: "github", body: push, status: http.StatusUnauthorized, refused: true, reason: "bad_signature"},
		{name: "github signed with another secret", source: "github", body: push, header: headers(HeaderGitHub, "sha256="+hexMAC(t, "other", push)),
			status: http.StatusUnauthorized, refused: true, reason: "bad_signature"},
		{name: "github body changed after signing", source: "github", body: strings.Replace(push, "main", "evil", 1), header: headers(HeaderGitHub, ghSig),
			status: http.StatusUnauthorized, refused: true, reason: "bad_signature"},
		{name: "github sha1 signature only", source: "github", body: push, header: headers("X-Hub-Signature", "sha1=0000000000000000000000000000000000000000"),
			status: http.StatusUnauthorized, refused: true, reason: "bad_signature"},
		{name: "github bad signature on a body that is not JSON", source: "github", body: `{not json`, header: headers(HeaderGitHub, ghSig),
			status: http.StatusUnauthorized, refused: true, reason: "bad_signature"},
		{name: "github good signature on a body that is not JSON", source: "github", body: `{not json`, header: headers(HeaderGitHub, "sha256="+hexMAC(t, ghSecret, `{not json`)),
			status: http.StatusBadRequest},
		{name: "stripe good signature", source: "stripe", body: stripeEvent, header: headers(HeaderStripe, stripeHeader(t, now.Add(-time.Minute), stripeEvent, stripeSecret)),
			arbitrary: true, eventID: "evt_1", attrs: `{"source":"stripe","headers":{}}`},
		{name: "stripe timestamp too old", source: "stripe", body: stripeEvent, header: headers(HeaderStripe, stripeHeader(t, now.Add(-10*time.Minute), stripeEvent, stripeSecret)),
			status: http.StatusUnauthorized, refused: true, reason: "bad_signature"},
		{name: "stripe timestamp in the future", source: "stripe", body: stripeEvent, header: headers(HeaderStripe, stripeHeader(t, now.Add(10*time.Minute), stripeEvent, stripeSecret)),
			status: http.StatusUnauthorized, refused: true, reason: "bad_signature"},
		{name: "stripe github-style signature", source: "stripe", body: stripeEvent, header: headers(HeaderGitHub, "sha256="+hexMAC(t, stripeSecret, stripeEvent)),
			status: http.StatusUnauthorized, refused: true, reason: "bad_signature"},
		{name: "hmac good signature", source: "anything", body: `{"a":1}`, header: headers("X-Signature", hexMAC(t, hmacSecret, `{"a":1}`), "X-Webhook-Id", "w-1"),
			arbitrary: true, eventID: "w-1", attrs: `{"source":"anything","headers":{"x-webhook-id":"w-1"}}`},
		{name: "hmac good signature with sha256= prefix", source: "anything", body: `{"a":1}`, header: headers("X-Signature", "sha256="+hexMAC(t, hmacSecret, `{"a":1}`)),
			arbitrary: true, attrs: `{"source":"anything","headers":{}}`},
		{name: "hmac missing signature", source: "anything", body: `{"a":1}`, status: http.StatusUnauthorized, refused: true, reason: "bad_signature"},
		{name: "hmac signature of another body", source: "anything", body: `{"a":2}`, header: headers("X-Signature", hexMAC(t, hmacSecret, `{"a":1}`)),
			status: http.StatusUnauthorized, refused: true, reason: "bad_signature"},
		{name: "unsigned source", source: "open", body: push, schema: pushSchema, attrs: `{"source":"open","headers":{}}`},
		{name: "source without a secret is refused as our fault", source: "nosecret", body: push, header: headers(HeaderGitHub, "sha256="+hexMAC(t, "", push)),
			status: http.StatusInternalServerError, refused: true, reason: "signature_config"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewDecoders(sources)
			c.now = func() time.Time { return now }
			inputs, reply, err := c.Handle(whRequest(tc.source, tc.body, tc.header))
			if reply != nil {
				t.Errorf("reply %+v, want nil (the JSON report)", reply)
			}
			if tc.status != 0 {
				var perr *protocol.Error
				if !errors.As(err, &perr) {
					t.Fatalf("error %v, want a *protocol.Error", err)
				}
				if perr.Status != tc.status || perr.Refused != tc.refused || perr.Reason != tc.reason {
					t.Errorf("status %d refused %v reason %q, want %d %v %q (%v)", perr.Status, perr.Refused, perr.Reason, tc.status, tc.refused, tc.reason, err)
				}
				if perr.Failure == nil || len(perr.Failure.Messages) == 0 || perr.Failure.Messages[0].Message == "" {
					t.Errorf("error %v does not say what is wrong", err)
				}
				if inputs != nil {
					t.Errorf("%d inputs returned with the error", len(inputs))
				}
				return
			}
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if len(inputs) != 1 {
				t.Fatalf("%d inputs, want 1", len(inputs))
			}
			in := inputs[0]
			if in.Failure != nil || in.SchemaKey != tc.schema || in.Arbitrary != tc.arbitrary {
				t.Errorf("schema %q arbitrary %v failure %+v, want %q %v", in.SchemaKey, in.Arbitrary, in.Failure, tc.schema, tc.arbitrary)
			}
			if string(in.Data) != tc.body || string(in.Raw) != tc.body {
				t.Errorf("data %s raw %s, want the body %s", in.Data, in.Raw, tc.body)
			}
			if in.EventID != tc.eventID {
				t.Errorf("event id %q, want %q", in.EventID, tc.eventID)
			}
			if string(in.Attributes) != tc.attrs {
				t.Errorf("attributes %s, want %s", in.Attributes, tc.attrs)
			}
		})
	}
}

// TestCollectorSignatureErrorsNameTheHeader checks that a refusal says which
// header was wrong, which is what someone setting a source up reads.
func TestCollectorSignatureErrorsNameTheHeader(t *testing.T) {
	c := NewDecoders([]Source{
		{Name: "github", Schema: pushSchema, Signature: Signature{Kind: KindGitHub, Secret: "s"}},
		{Name: "anything", Arbitrary: true, Signature: Signature{Kind: KindHMAC, Secret: "s", Header: "X-Signature"}},
	})
	tests := []struct{ source, header string }{
		{"github", HeaderGitHub},
		{"anything", "X-Signature"},
	}
	for _, tc := range tests {
		t.Run(tc.source, func(t *testing.T) {
			_, _, err := c.Handle(whRequest(tc.source, `{}`, nil))
			var perr *protocol.Error
			if !errors.As(err, &perr) || perr.Failure.Type != event.ProtocolViolation || !strings.Contains(perr.Failure.Messages[0].Message, tc.header) {
				t.Errorf("error %v does not name %s", err, tc.header)
			}
		})
	}
}

// TestCollectorForm reads a signed form delivery, as GitHub sends with
// content type application/x-www-form-urlencoded.
func TestCollectorForm(t *testing.T) {
	const body = "payload=%7B%22zen%22%3A%22Keep+it+simple.%22%7D"
	c := NewDecoders([]Source{{Name: "github", Schema: pushSchema, Signature: Signature{Kind: KindGitHub, Secret: "s"}}})
	req := whRequest("github", body, headers(HeaderGitHub, "sha256="+hexMAC(t, "s", body)))
	req.MediaType = MediaForm
	inputs, _, err := c.Handle(req)
	if err != nil || len(inputs) != 1 {
		t.Fatalf("Handle: %v, %d inputs", err, len(inputs))
	}
	if want := `{"payload":"{\"zen\":\"Keep it simple.\"}"}`; string(inputs[0].Data) != want {
		t.Errorf("data %s, want %s", inputs[0].Data, want)
	}
}
