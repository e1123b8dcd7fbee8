package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// docBlock is a fenced code block in a Markdown file.
type docBlock struct {
	file string
	line int
	lang string
	text string
	// expect is the fenced block right after this one, when there is one.
	expect *docBlock
}

var fenceRE = regexp.MustCompile("^```(\\S*)\\s*$")

func parseBlocks(t *testing.T, path string) []*docBlock {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []*docBlock
	var cur *docBlock
	var body []string
	textSince := false // prose between the previous block and this one
	for i, line := range strings.Split(string(data), "\n") {
		m := fenceRE.FindStringSubmatch(line)
		switch {
		case cur == nil && m != nil:
			cur = &docBlock{file: path, line: i + 1, lang: m[1]}
			body = nil
		case cur != nil && line == "```":
			cur.text = strings.Join(body, "\n")
			if len(blocks) > 0 && !textSince && blocks[len(blocks)-1].expect == nil {
				blocks[len(blocks)-1].expect = cur
			}
			blocks = append(blocks, cur)
			cur = nil
			textSince = false
		case cur != nil:
			body = append(body, line)
		case strings.TrimSpace(line) != "":
			textSince = true
		}
	}
	return blocks
}

// volatile keys differ on every run; their values are not compared.
var volatile = map[string]bool{"event_id": true, "request_id": true, "collected_at": true, "event_time": true, "fingerprint": true, "version": true, "host": true, "user_agent": true, "ip": true}

// matches reports whether a response matches the documented one. A
// documented "..." stands for any value, and volatile keys match anything.
func matches(got, want any) bool {
	if want == "..." {
		return true
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok || (!volatile[k] && !matches(gv, wv)) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !matches(g[i], w[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(got, want)
}

// docsCollectorEnv configures the collector the curl examples run against
// with what docs/protocols/ says they assume: the Segment sources and their
// write keys, the webhook sources and their (example) secrets, and the hosts
// redirects may go to. The pages name these values; change both together.
var docsCollectorEnv = []string{
	// docs/protocols/segment.md: one source per tracking plan policy.
	"ACCORD_PROTOCOLS_SEGMENT_SOURCES_0_NAME=docs",
	"ACCORD_PROTOCOLS_SEGMENT_SOURCES_0_WRITE_KEY=docs-write-key",
	"ACCORD_PROTOCOLS_SEGMENT_SOURCES_1_NAME=docs-review",
	"ACCORD_PROTOCOLS_SEGMENT_SOURCES_1_WRITE_KEY=docs-review-key",
	"ACCORD_PROTOCOLS_SEGMENT_SOURCES_1_UNPLANNED=flag",
	"ACCORD_PROTOCOLS_SEGMENT_SOURCES_2_NAME=docs-strict",
	"ACCORD_PROTOCOLS_SEGMENT_SOURCES_2_WRITE_KEY=docs-strict-key",
	"ACCORD_PROTOCOLS_SEGMENT_SOURCES_2_UNPLANNED=block",
	// docs/protocols/webhooks.md: a generic HMAC source with a contract,
	// GitHub and Stripe sources, and an unsigned arbitrary one.
	"ACCORD_PROTOCOLS_WEBHOOKS_0_NAME=orders",
	"ACCORD_PROTOCOLS_WEBHOOKS_0_SCHEMA=iglu:com.example/checkout_completed/jsonschema/1-0-0",
	"ACCORD_PROTOCOLS_WEBHOOKS_0_SIGNATURE_KIND=hmac",
	"ACCORD_PROTOCOLS_WEBHOOKS_0_SIGNATURE_HEADER=X-Signature",
	"ACCORD_PROTOCOLS_WEBHOOKS_0_SIGNATURE_SECRET=docs-hmac-secret",
	"ACCORD_PROTOCOLS_WEBHOOKS_1_NAME=github",
	"ACCORD_PROTOCOLS_WEBHOOKS_1_ARBITRARY=true",
	"ACCORD_PROTOCOLS_WEBHOOKS_1_SIGNATURE_KIND=github",
	"ACCORD_PROTOCOLS_WEBHOOKS_1_SIGNATURE_SECRET=docs-github-secret",
	"ACCORD_PROTOCOLS_WEBHOOKS_2_NAME=stripe",
	"ACCORD_PROTOCOLS_WEBHOOKS_2_ARBITRARY=true",
	"ACCORD_PROTOCOLS_WEBHOOKS_2_SIGNATURE_KIND=stripe",
	"ACCORD_PROTOCOLS_WEBHOOKS_2_SIGNATURE_SECRET=whsec_docs",
	"ACCORD_PROTOCOLS_WEBHOOKS_3_NAME=forms",
	"ACCORD_PROTOCOLS_WEBHOOKS_3_ARBITRARY=true",
	// docs/protocols/pixel.md and snowplow.md: redirects to the shop.
	"ACCORD_PROTOCOLS_PIXEL_REDIRECT_ALLOW=shop.example,*.shop.example",
	"ACCORD_PROTOCOLS_SNOWPLOW_REDIRECT_ALLOW=shop.example,*.shop.example",
}

// TestDocsCurlExamples runs every curl example in README.md and docs/
// against a real collector in a fresh project, and where the example shows
// the response in a json block right after it, compares the response with
// it (ignoring values that differ on every run, such as ids and times, and
// values the docs write as "..."); a text block after it must match exactly.
func TestDocsCurlExamples(t *testing.T) {
	files, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	sub, _ := filepath.Glob("../docs/*/*.md")
	files = append(append([]string{"../README.md"}, files...), sub...)

	dir := newProject(t)
	c := startCollector(t, dir, docsCollectorEnv...)
	host := strings.TrimPrefix(c.URL, "http://")

	ran := 0
	for _, f := range files {
		for _, b := range parseBlocks(t, f) {
			if (b.lang != "sh" && b.lang != "bash") || !strings.Contains(b.text, "curl ") {
				continue
			}
			ran++
			name := filepath.Base(f) + ":" + itoa(b.line)
			t.Run(name, func(t *testing.T) {
				script := strings.ReplaceAll(b.text, "localhost:8080", host)
				cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
				cmd.Dir = dir
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("%s failed: %v\n%s\n%s", name, err, script, out)
				}
				if b.expect != nil && b.expect.lang == "text" {
					if got := strings.TrimSpace(string(out)); got != strings.TrimSpace(b.expect.text) {
						t.Errorf("%s: output %q differs from the one documented at line %d: %q", name, got, b.expect.line, b.expect.text)
					}
					return
				}
				if b.expect == nil || b.expect.lang != "json" {
					return
				}
				var got, want any
				if err := json.Unmarshal(out, &got); err != nil {
					t.Fatalf("%s: response is not JSON: %v\n%s", name, err, out)
				}
				if err := json.Unmarshal([]byte(b.expect.text), &want); err != nil {
					t.Fatalf("%s: the documented response (line %d) is not JSON: %v", name, b.expect.line, err)
				}
				if !matches(got, want) {
					g, _ := json.MarshalIndent(got, "", "  ")
					w, _ := json.MarshalIndent(want, "", "  ")
					t.Errorf("%s: the response differs from the one documented at line %d\ngot:\n%s\ndocumented:\n%s", name, b.expect.line, g, w)
				}
			})
		}
	}
	if ran == 0 {
		t.Fatal("found no curl examples in the docs")
	}
	// README's typed table holds its checkout.
	db := openStore(t, dir)
	eventually(t, 10*time.Second, "README's checkout in com_example_checkout_completed_1", func() bool {
		var total float64
		var currency string
		err := db.QueryRow("SELECT total, currency FROM com_example_checkout_completed_1 WHERE order_id = 'ord-1'").Scan(&total, &currency)
		return err == nil && total == 25.5 && currency == "EUR"
	})
	c.stop()
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
