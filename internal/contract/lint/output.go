package lint

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Formats lists the output formats Write knows.
var Formats = []string{"text", "json", "github"}

// Write prints the report in format: text (file:line:col: severity rule:
// message, then a summary line), json (an array of findings) or github
// (GitHub Actions workflow commands, which annotate the pull request).
func Write(w io.Writer, format string, r *Report) error {
	switch format {
	case "text":
		return writeText(w, r)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r.Findings)
	case "github":
		return writeGitHub(w, r)
	}
	return fmt.Errorf("output format %q: use %s", format, strings.Join(Formats, ", "))
}

func writeText(w io.Writer, r *Report) error {
	for _, f := range r.Findings {
		if _, err := fmt.Fprintf(w, "%s:%d:%d: %s %s: %s\n", f.File, f.Line, f.Column, f.Severity, f.Rule, f.Message); err != nil {
			return err
		}
	}
	if note := r.Skipped.Note(); note != "" {
		if _, err := fmt.Fprintf(w, "note: %s\n", note); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "linted %s: %s, %s\n", count(r.Files, "file"), count(r.Count(Error), "error"), count(r.Count(Warning), "warning"))
	return err
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// GitHub's workflow commands escape these in a message and, with ':' and
// ',', in a property value.
var (
	githubMessage  = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	githubProperty = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

func writeGitHub(w io.Writer, r *Report) error {
	for _, f := range r.Findings {
		if _, err := fmt.Fprintf(w, "::%s file=%s,line=%d,col=%d,title=%s::%s\n", f.Severity, githubProperty.Replace(f.File),
			f.Line, f.Column, githubProperty.Replace(f.Rule), githubMessage.Replace(f.Message)); err != nil {
			return err
		}
	}
	return nil
}
