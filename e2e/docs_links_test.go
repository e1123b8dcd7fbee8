package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// mdLinkRE finds the target of an inline Markdown link: [text](target).
// The text may run over lines; the target never does in these docs.
var mdLinkRE = regexp.MustCompile(`\]\(([^()\s]+)\)`)

// mdHeadingRE is an ATX heading line and its text.
var mdHeadingRE = regexp.MustCompile(`^#{1,6} (.+?)\s*#*\s*$`)

// inlineCodeRE is a code span, whose brackets are not links.
var inlineCodeRE = regexp.MustCompile("`[^`\n]*`")

// headingSlug is the anchor GitHub gives a Markdown heading: lower case,
// every character but letters, digits, '-', '_' and spaces dropped, spaces
// made hyphens. (Code spans keep their text: the backticks are dropped.)
func headingSlug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdDoc is one Markdown file's anchors and its prose (fenced blocks and
// code spans blanked, so that a '# comment' in a shell block is not a
// heading and a link-like string in code is not a link).
type mdDoc struct {
	anchors map[string]bool
	prose   string
}

func readMarkdown(t *testing.T, path string) mdDoc {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := mdDoc{anchors: map[string]bool{}}
	seen := map[string]int{}
	var prose strings.Builder
	inFence := false
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
			prose.WriteString("\n")
			continue
		}
		if inFence {
			prose.WriteString("\n")
			continue
		}
		if m := mdHeadingRE.FindStringSubmatch(line); m != nil {
			slug := headingSlug(m[1])
			// GitHub numbers a repeated heading's anchor: x, x-1, x-2.
			if n := seen[slug]; n > 0 {
				doc.anchors[slug+"-"+strconv.Itoa(n)] = true
			} else {
				doc.anchors[slug] = true
			}
			seen[slug]++
		}
		prose.WriteString(inlineCodeRE.ReplaceAllString(line, "``"))
		prose.WriteString("\n")
	}
	doc.prose = prose.String()
	return doc
}

// TestDocsLinksResolve holds every relative link in README.md and docs/
// into the repository to a file that exists and, when the link names a heading (#anchor) of a
// Markdown file, to a heading that file has: moving or renaming a section
// must move the links that point at it.
func TestDocsLinksResolve(t *testing.T) {
	files := []string{"../README.md"}
	for _, pattern := range []string{"../docs/*.md", "../docs/*/*.md"} {
		more, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, more...)
	}
	docs := map[string]mdDoc{}
	load := func(path string) mdDoc {
		path = filepath.Clean(path)
		if d, ok := docs[path]; ok {
			return d
		}
		d := readMarkdown(t, path)
		docs[path] = d
		return d
	}
	links := 0
	for _, file := range files {
		doc := load(file)
		for _, m := range mdLinkRE.FindAllStringSubmatch(doc.prose, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			links++
			path, anchor, _ := strings.Cut(target, "#")
			dest := file
			if path != "" {
				dest = filepath.Join(filepath.Dir(file), path)
				if rel, err := filepath.Rel("..", dest); err != nil || strings.HasPrefix(rel, "..") {
					// Outside the repository (the team's shared notes
					// beside it): whether it is there depends on where
					// the clone lives, not on the docs.
					continue
				}
				if _, err := os.Stat(dest); err != nil {
					t.Errorf("%s: link %q: %v", file, target, err)
					continue
				}
			}
			if anchor == "" || !strings.HasSuffix(dest, ".md") {
				continue
			}
			if !load(dest).anchors[anchor] {
				t.Errorf("%s: link %q: %s has no heading with that anchor", file, target, filepath.Clean(dest))
			}
		}
	}
	if links < 100 {
		t.Fatalf("found only %d relative links in the docs; the link pattern no longer matches how they are written", links)
	}
}

func TestHeadingSlug(t *testing.T) {
	for heading, want := range map[string]string{
		"The spool's fsync through io_uring (eighteenth session, 2026-12-06)":              "the-spools-fsync-through-io_uring-eighteenth-session-2026-12-06",
		"Where each target stands after the seventh session (2026-12-05, 18:16–21:15 UTC)": "where-each-target-stands-after-the-seventh-session-2026-12-05-18162115-utc",
		"Per-request cost of `accord serve` (issue 15, 2026-12-05)":                        "per-request-cost-of-accord-serve-issue-15-2026-12-05",
		"`sinks[i].delivery.linger`":                                                       "sinksideliverylinger",
	} {
		if got := headingSlug(heading); got != want {
			t.Errorf("headingSlug(%q) = %q, want %q", heading, got, want)
		}
	}
}
