package lint

import (
	"encoding/json"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/accord-events/accord/internal/jsonpointer"
)

// position is a place in a file: 1-based line and column (in characters).
type position struct {
	Line, Column int
}

// positions maps every JSON pointer in a document to where it starts in the
// file's text: an object member to its key, an array element and the root to
// their value. Findings name a pointer; this turns it into a line and column
// an editor or a GitHub annotation can jump to. doc must be valid JSON.
type positions struct {
	doc        []byte
	lineStarts []int
	at         map[string]int // pointer -> byte offset
}

func newPositions(doc []byte) *positions {
	p := &positions{doc: doc, lineStarts: []int{0}, at: map[string]int{}}
	for i, c := range doc {
		if c == '\n' {
			p.lineStarts = append(p.lineStarts, i+1)
		}
	}
	s := scanner{b: doc}
	s.space()
	p.at[""] = s.i
	s.value("", p.at)
	return p
}

// offset returns where a byte offset is in the text.
func (p *positions) offset(off int) position {
	line := sort.Search(len(p.lineStarts), func(i int) bool { return p.lineStarts[i] > off }) - 1
	if line < 0 {
		line = 0
	}
	start := p.lineStarts[line]
	if off > len(p.doc) {
		off = len(p.doc)
	}
	return position{Line: line + 1, Column: utf8.RuneCount(p.doc[start:off]) + 1}
}

// of returns where pointer is, or where its nearest ancestor in the document
// is when it names something absent (a missing key is reported at its
// parent).
func (p *positions) of(pointer string) position {
	for {
		if off, ok := p.at[pointer]; ok {
			return p.offset(off)
		}
		parent, ok := jsonpointer.Parent(pointer)
		if !ok {
			return position{Line: 1, Column: 1}
		}
		pointer = parent
	}
}

// scanner walks valid JSON, recording where each member and element starts.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) value(pointer string, at map[string]int) {
	if s.i >= len(s.b) {
		return
	}
	switch s.b[s.i] {
	case '{':
		s.i++
		for {
			s.space()
			if s.i >= len(s.b) || s.b[s.i] == '}' {
				s.i++
				return
			}
			if s.b[s.i] == ',' {
				s.i++
				continue
			}
			keyStart := s.i
			raw := s.str()
			var key string
			if err := json.Unmarshal(raw, &key); err != nil {
				key = string(raw)
			}
			child := jsonpointer.Append(pointer, key)
			at[child] = keyStart
			s.space()
			if s.i < len(s.b) && s.b[s.i] == ':' {
				s.i++
			}
			s.space()
			s.value(child, at)
		}
	case '[':
		s.i++
		for n := 0; ; {
			s.space()
			if s.i >= len(s.b) || s.b[s.i] == ']' {
				s.i++
				return
			}
			if s.b[s.i] == ',' {
				s.i++
				continue
			}
			child := jsonpointer.AppendIndex(pointer, n)
			at[child] = s.i
			s.value(child, at)
			n++
		}
	case '"':
		s.str()
	default:
		for s.i < len(s.b) && !strings.ContainsRune(",}] \t\r\n", rune(s.b[s.i])) {
			s.i++
		}
	}
}

// str consumes a string token and returns it, quotes included.
func (s *scanner) str() []byte {
	start := s.i
	s.i++ // opening quote
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			s.i += 2
			continue
		case '"':
			s.i++
			return s.b[start:s.i]
		}
		s.i++
	}
	return s.b[start:]
}
