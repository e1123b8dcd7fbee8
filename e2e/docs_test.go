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
	c := startCollector(t, dir)
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
	c.stop()
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
