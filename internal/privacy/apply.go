package privacy

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
	"unicode/utf8"

	"github.com/accord-events/accord/internal/jsonscan"
)

// Redacted replaces a value whose rule is redact, and one mask or truncate
// cannot shorten (a boolean, an object, an array).
const Redacted = "[redacted]"

// Output prefixes: a pseudonym says how it was made, and an hmac one with
// which key, so a record read years later names the key to check it with.
const (
	hashPrefix = "sha256:"
	hmacPrefix = "hmac-sha256:"
)

// Secrets are what hash and hmac need: the salt and the HMAC key with its
// id. They come from the environment or files (see Options), never from the
// configuration file in clear.
type Secrets struct {
	Salt  []byte
	KeyID string
	Key   []byte
	// OldKeys are keys used before a rotation: never used to make a
	// pseudonym, only to find the ones they made (Pseudonyms).
	OldKeys []Key
}

// Key is an HMAC key and its id.
type Key struct {
	ID  string
	Key []byte
}

// Pseudonyms returns what hash and hmac make of the string id: its hash
// (when a salt is set), then its HMAC under the current key and each old
// one. They are what a record governed by those actions holds in place of
// id, so a data subject's records are found by them.
func (s *Secrets) Pseudonyms(id string) []string {
	if s == nil {
		return nil
	}
	value := jsonscan.AppendString(nil, id)
	var out []string
	add := func(secrets *Secrets, action Action) {
		a := applier{s: secrets}
		v := a.transform(nil, value, Rule{Action: action})
		out = append(out, jsonscan.UnquoteBytes(v))
	}
	if len(s.Salt) > 0 {
		add(s, Hash)
	}
	if len(s.Key) > 0 {
		add(s, HMAC)
	}
	for _, k := range s.OldKeys {
		add(&Secrets{KeyID: k.ID, Key: k.Key}, HMAC)
	}
	return out
}

// Apply appends to dst the JSON value data with r's rules applied and
// returns it. data must be one valid JSON value; a nil r copies it. A value
// whose rule is drop is removed from its object or array, or becomes null
// at the top. Hash and hmac outputs are stable (same value, salt and key:
// same pseudonym), so pseudonymised ids still join, and a value already in
// a pseudonym's form is left as it is, so applying twice changes nothing
// (replay relies on it).
func (r *Rules) Apply(dst, data []byte, s *Secrets) ([]byte, error) {
	a := applier{s: s}
	return r.applyWith(&a, dst, data)
}

func (r *Rules) applyWith(a *applier, dst, data []byte) ([]byte, error) {
	start := jsonscan.SkipSpace(data, 0)
	if r == nil || r.root == nil {
		return append(dst, data[start:]...), nil
	}
	if start >= len(data) {
		return dst, fmt.Errorf("no JSON value")
	}
	if n := r.root; n.rule != nil && n.rule.Action == Drop {
		if _, err := jsonscan.Skip(data, start); err != nil {
			return dst, err
		}
		return append(dst, "null"...), nil
	}
	dst, end, err := a.value(dst, data, start, r.root)
	if err != nil {
		return dst, err
	}
	if end = jsonscan.SkipSpace(data, end); end != len(data) {
		return dst, fmt.Errorf("data after the JSON value at offset %d", end)
	}
	return dst, nil
}

// applier applies rules with one set of secrets; it keeps its hashes to
// reuse them (the stage pools appliers). Not safe for concurrent use.
type applier struct {
	s   *Secrets
	mac hash.Hash
	sha hash.Hash
	sum []byte
}

// value appends the value at data[i] as n governs it.
func (a *applier) value(dst, data []byte, i int, n *node) ([]byte, int, error) {
	if n.rule != nil {
		end, err := jsonscan.Skip(data, i)
		if err != nil {
			return dst, end, err
		}
		return a.transform(dst, data[i:end], *n.rule), end, nil
	}
	switch {
	case data[i] == '{' && (n.props != nil || n.other != nil):
		dst = append(dst, '{')
		first := true
		end, err := jsonscan.Object(data, i, func(ks, ke, vs int) (int, error) {
			child := n.other
			if c, ok := n.props[string(jsonscan.TextBytes(data[ks:ke]))]; ok {
				child = c
			}
			if child == nil {
				end, err := jsonscan.Skip(data, vs)
				if err == nil {
					dst = member(dst, &first, data[ks:ke])
					dst = append(dst, data[vs:end]...)
				}
				return end, err
			}
			if child.rule != nil && child.rule.Action == Drop {
				return jsonscan.Skip(data, vs)
			}
			dst = member(dst, &first, data[ks:ke])
			var end int
			var err error
			dst, end, err = a.value(dst, data, vs, child)
			return end, err
		})
		return append(dst, '}'), end, err
	case data[i] == '[' && n.items != nil:
		dst = append(dst, '[')
		first := true
		end, err := jsonscan.Array(data, i, func(_, vs int) (int, error) {
			if n.items.rule != nil && n.items.rule.Action == Drop {
				return jsonscan.Skip(data, vs)
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			var end int
			var err error
			dst, end, err = a.value(dst, data, vs, n.items)
			return end, err
		})
		return append(dst, ']'), end, err
	}
	end, err := jsonscan.Skip(data, i)
	if err != nil {
		return dst, end, err
	}
	return append(dst, data[i:end]...), end, nil
}

func member(dst []byte, first *bool, key []byte) []byte {
	if !*first {
		dst = append(dst, ',')
	}
	*first = false
	dst = append(dst, key...)
	return append(dst, ':')
}

// transform appends what rule makes of the JSON value v. Null stays null
// under every action but drop: there is nothing in it to protect. Hash and
// hmac read a string's text, and any other value's JSON as sent; mask and
// truncate read a string's text or a number's digits, and redact what has
// no characters to keep (a boolean, an object, an array). Every result but
// null is a JSON string.
func (a *applier) transform(dst, v []byte, r Rule) []byte {
	if v[0] == 'n' {
		return append(dst, "null"...)
	}
	// The value's text, without a copy unless it holds escapes: an event's
	// governed values are mostly hashed or HMAC'd, which read bytes.
	text := v
	isString := v[0] == '"'
	if isString {
		text = jsonscan.TextBytes(v)
	}
	switch r.Action {
	case Keep:
		return append(dst, v...)
	case Hash:
		if isString && isPseudonym(text, hashPrefix) {
			return append(dst, v...)
		}
		if a.sha == nil {
			a.sha = sha256.New()
		}
		a.sha.Reset()
		if a.s != nil {
			a.sha.Write(a.s.Salt)
		}
		a.sha.Write(text)
		a.sum = a.sha.Sum(a.sum[:0])
		return appendDigest(dst, hashPrefix, a.sum)
	case HMAC:
		if isString && isPseudonym(text, hmacPrefix) {
			return append(dst, v...)
		}
		if a.s == nil || len(a.s.Key) == 0 {
			// The stage refuses contracts using hmac without a key; should
			// one get here, nothing is stored in clear.
			return jsonscan.AppendString(dst, Redacted)
		}
		if a.mac == nil {
			a.mac = hmac.New(sha256.New, a.s.Key)
		}
		a.mac.Reset()
		a.mac.Write(text)
		a.sum = a.mac.Sum(a.sum[:0])
		dst = append(dst, '"')
		dst = append(dst, hmacPrefix...)
		dst = append(dst, a.s.KeyID...)
		dst = append(dst, ':')
		dst = hex.AppendEncode(dst, a.sum)
		return append(dst, '"')
	case Mask, Truncate:
		if !isString && v[0] != '-' && (v[0] < '0' || v[0] > '9') || isString && string(text) == Redacted {
			return jsonscan.AppendString(dst, Redacted)
		}
		text := string(text)
		kept := prefixRunes(text, r.KeepChars)
		if r.Action == Truncate {
			return jsonscan.AppendString(dst, kept)
		}
		masked := kept + strings.Repeat("*", utf8.RuneCountInString(text)-utf8.RuneCountInString(kept))
		return jsonscan.AppendString(dst, masked)
	}
	// Redact, and drop where the value cannot be removed.
	return jsonscan.AppendString(dst, Redacted)
}

func appendDigest(dst []byte, prefix string, sum []byte) []byte {
	dst = append(dst, '"')
	dst = append(dst, prefix...)
	dst = hex.AppendEncode(dst, sum)
	return append(dst, '"')
}

// isPseudonym reports whether s is prefix, for hmac a key id and a colon,
// then 64 lower-case hex digits: what hash or hmac already made.
func isPseudonym(s []byte, prefix string) bool {
	rest, ok := bytes.CutPrefix(s, []byte(prefix))
	if !ok {
		return false
	}
	if prefix == hmacPrefix {
		id, digest, ok := bytes.Cut(rest, []byte(":"))
		if !ok || len(id) == 0 {
			return false
		}
		rest = digest
	}
	if len(rest) != 64 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// prefixRunes returns s's first n characters.
func prefixRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}
