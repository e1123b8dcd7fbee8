package webhook

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/protocol"
)

// benchPush is a GitHub push delivery of typical size (about 4 KB).
var benchPush = []byte(`{"ref":"refs/heads/main","before":"9049f1265b7d61be4a8904a9a27120d2064dab3b","after":"0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",` +
	`"repository":{"id":186853002,"node_id":"MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=","name":"shop","full_name":"acme/shop","private":true,` +
	`"owner":{"name":"acme","email":null,"login":"acme","id":21031067,"type":"Organization","site_admin":false},` +
	`"html_url":"https://github.com/acme/shop","description":"The shop","fork":false,"default_branch":"main","topics":["shop","go"]},` +
	`"pusher":{"name":"ada","email":"ada@example.com"},"sender":{"login":"ada","id":21031067,"type":"User","site_admin":false},` +
	`"created":false,"deleted":false,"forced":false,"base_ref":null,"compare":"https://github.com/acme/shop/compare/9049f1265b7d...0d1a26e67d8f",` +
	`"commits":[` + strings.Repeat(`{"id":"0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c","tree_id":"f9d2a07e9488b91af2641b26b9407fe22a451433","distinct":true,`+
	`"message":"Update the checkout page\n\nThe total now includes shipping.","timestamp":"2024-05-01T12:30:00+02:00",`+
	`"url":"https://github.com/acme/shop/commit/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",`+
	`"author":{"name":"Ada","email":"ada@example.com","username":"ada"},"committer":{"name":"GitHub","email":"noreply@github.com","username":"web-flow"},`+
	`"added":[],"removed":[],"modified":["web/checkout.html","web/checkout.js"]},`, 4) +
	`{"id":"1","message":"x"}],"head_commit":null}`)

func benchHeader() http.Header {
	return headers(
		"Content-Type", "application/json",
		"User-Agent", "GitHub-Hookshot/044aadd",
		"X-GitHub-Event", "push",
		"X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958",
		"X-GitHub-Hook-ID", "292430182",
	)
}

func BenchmarkDecodeJSON(b *testing.B) {
	src := Source{Name: "github", Schema: pushSchema}
	req := &protocol.Request{Header: benchHeader(), MediaType: MediaJSON, Body: benchPush}
	b.SetBytes(int64(len(benchPush)))
	b.ReportAllocs()
	for b.Loop() {
		ins, err := Decode(req, src)
		if err != nil || len(ins) != 1 {
			b.Fatalf("Decode: %v, %d inputs", err, len(ins))
		}
	}
}

func BenchmarkVerifyGitHub(b *testing.B) {
	sig := Signature{Kind: KindGitHub, Secret: "It's a Secret to Everybody"}
	h := benchHeader()
	h.Set(HeaderGitHub, "sha256="+hexMAC(b, sig.Secret, string(benchPush)))
	now := time.Now()
	b.SetBytes(int64(len(benchPush)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Verify(sig, h, benchPush, now); err != nil {
			b.Fatal(err)
		}
	}
}
