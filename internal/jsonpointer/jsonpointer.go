// Package jsonpointer reads and writes JSON Pointers (RFC 6901): the paths
// such as "/properties/a~1b/items" that failure messages, lint findings and
// compatibility changes use to say where in a document something is, and that
// local $refs use to say which schema they mean.
//
// A pointer is "" (the whole document) or a sequence of "/"-prefixed reference
// tokens in which "~" is written "~0" and "/" is written "~1".
package jsonpointer

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrSyntax is wrapped by the errors Parse and Unescape return for text that
// is not a JSON Pointer.
var ErrSyntax = errors.New("invalid JSON pointer")

// Escape returns token as it is written inside a pointer. A token with
// neither "~" nor "/" (nearly all of them) is returned as it is, without
// allocating.
func Escape(token string) string {
	if !strings.ContainsAny(token, "~/") {
		return token
	}
	var b strings.Builder
	b.Grow(len(token) + 2)
	writeEscaped(&b, token)
	return b.String()
}

func writeEscaped(b *strings.Builder, token string) {
	for i := 0; i < len(token); i++ {
		switch c := token[i]; c {
		case '~':
			b.WriteString("~0")
		case '/':
			b.WriteString("~1")
		default:
			b.WriteByte(c)
		}
	}
}

// Unescape returns the token an escaped reference token stands for. A "~"
// followed by anything but "0" or "1" is an error.
func Unescape(token string) (string, error) {
	i := strings.IndexByte(token, '~')
	if i < 0 {
		return token, nil
	}
	var b strings.Builder
	b.Grow(len(token))
	b.WriteString(token[:i])
	for ; i < len(token); i++ {
		c := token[i]
		if c != '~' {
			b.WriteByte(c)
			continue
		}
		if i+1 == len(token) {
			return "", fmt.Errorf("%w: %q ends in a lone ~; write ~0 for ~ and ~1 for /", ErrSyntax, token)
		}
		switch token[i+1] {
		case '0':
			b.WriteByte('~')
		case '1':
			b.WriteByte('/')
		default:
			return "", fmt.Errorf("%w: %q has ~%c; write ~0 for ~ and ~1 for /", ErrSyntax, token, token[i+1])
		}
		i++
	}
	return b.String(), nil
}

// Append returns ptr with tokens appended, each escaped.
func Append(ptr string, tokens ...string) string {
	n := len(ptr)
	for _, t := range tokens {
		n += 1 + len(t)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(ptr)
	for _, t := range tokens {
		b.WriteByte('/')
		writeEscaped(&b, t)
	}
	return b.String()
}

// AppendIndex returns ptr with the array index i appended.
func AppendIndex(ptr string, i int) string {
	return ptr + "/" + strconv.Itoa(i)
}

// Format returns the pointer made of tokens (unescaped), "" for none.
func Format(tokens []string) string {
	return Append("", tokens...)
}

// Parse returns the unescaped reference tokens of ptr: none for "", which
// means the whole document.
func Parse(ptr string) ([]string, error) {
	if ptr == "" {
		return nil, nil
	}
	if ptr[0] != '/' {
		return nil, fmt.Errorf("%w: %q does not start with /", ErrSyntax, ptr)
	}
	tokens := strings.Split(ptr[1:], "/")
	for i, t := range tokens {
		u, err := Unescape(t)
		if err != nil {
			return nil, err
		}
		tokens[i] = u
	}
	return tokens, nil
}

// Parent returns the pointer one token up from ptr, and false for "" (the
// whole document has no parent).
func Parent(ptr string) (string, bool) {
	i := strings.LastIndexByte(ptr, '/')
	if i < 0 {
		return "", false
	}
	return ptr[:i], true
}

// Resolve returns the value ptr points to in doc, a document decoded into
// map[string]any, []any and scalars (as encoding/json decodes into any). It
// reports false when ptr is not a pointer or names nothing in doc; "-" (past
// an array's end) names nothing.
func Resolve(doc any, ptr string) (any, bool) {
	if ptr == "" {
		return doc, true
	}
	if ptr[0] != '/' {
		return nil, false
	}
	cur := doc
	rest := ptr[1:]
	for {
		raw, next, more := strings.Cut(rest, "/")
		tok, err := Unescape(raw)
		if err != nil {
			return nil, false
		}
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, ok := index(tok)
			if !ok || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
		if !more {
			return cur, true
		}
		rest = next
	}
}

// index parses an array index as RFC 6901 writes it: decimal digits, no
// sign, no leading zero.
func index(tok string) (int, bool) {
	if tok == "" || len(tok) > 1 && tok[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] < '0' || tok[i] > '9' {
			return 0, false
		}
	}
	i, err := strconv.Atoi(tok)
	return i, err == nil
}
