package sdk

import (
	"strings"

	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/tables"
)

// maxIdentifier bounds a generated identifier or file name: a longer one is
// cut and ends in a hash of what it was made from (sink.Shorten).
const maxIdentifier = 96

// Identifier turns s (a contract name, a property name, a Segment event
// name) into a PascalCase identifier every target language accepts: ASCII
// letters and digits only, words split at anything else and at case
// changes kept, a leading digit prefixed with 'X', an empty result "X". It
// never is a reserved word in Go, TypeScript or Python: those are all
// lower case or, in Python, True/False/None, which get a trailing 'X'.
func Identifier(s string) string {
	var b strings.Builder
	upper := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
			if upper {
				c -= 'a' - 'A'
			}
			b.WriteByte(c)
			upper = false
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			if b.Len() == 0 && c >= '0' && c <= '9' {
				b.WriteByte('X')
			}
			b.WriteByte(c)
			upper = c >= '0' && c <= '9'
		default:
			upper = true
		}
	}
	out := b.String()
	switch out {
	case "":
		return "X"
	case "True", "False", "None":
		out += "X"
	}
	return strings.ReplaceAll(sink.Shorten(out, s, maxIdentifier), "-", "_")
}

// FileName turns s into a file base name: lower-case ASCII letters, digits
// and '_' (tables.Sanitize's alphabet, so "..", "/" and "\" never survive),
// never empty, never starting with a digit or a dot, at most maxIdentifier
// bytes. A Python module name too: it starts with a letter and "_" joins
// the vendor and name, so it is never a keyword.
func FileName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + ('a' - 'A'))
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_':
			b.WriteByte(c)
		default:
			b.WriteByte('_')
		}
	}
	out := "c_" + b.String()
	return strings.ReplaceAll(sink.Shorten(out, s, maxIdentifier), "-", "_")
}

// namer hands out names unique in one generated package: the second text
// to ask for a name already taken gets it with the hash of the text
// appended, so the same contracts always give the same names.
type namer struct {
	taken map[string]string // lower-cased name -> the text that took it
}

func newNamer() *namer { return &namer{taken: map[string]string{}} }

// unique returns candidate, or candidate with a hash of whole when another
// whole took it (case-insensitively: files on macOS and Windows, and
// Python modules there, do not tell case apart).
func (n *namer) unique(candidate, whole string) string {
	name := candidate
	for i := 0; ; i++ {
		key := strings.ToLower(name)
		if by, taken := n.taken[key]; !taken || by == whole {
			n.taken[key] = whole
			return name
		}
		name = candidate + "_" + tables.Hash(whole+strings.Repeat("#", i))
	}
}
