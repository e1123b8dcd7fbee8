package tables

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// hashLen is how many hex digits of a name's hash a shortened or
// disambiguated identifier carries.
const hashLen = 8

// Hash returns the first hashLen hex digits of the SHA-256 of s: the
// suffix that keeps shortened and colliding names apart.
func Hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:hashLen]
}

// Sanitize turns s (a property path, a contract's vendor and name) into an
// identifier that needs no quoting in d's SQL, by these rules, in order:
//
//  1. ASCII letters are lower-cased; every other character that is not a
//     letter, digit or '_' becomes '_' (one per character, so "é" is "_").
//  2. An empty name becomes "_"; one that starts with a digit gets a
//     leading '_'.
//  3. A reserved word of d gets a trailing '_' ("order" is "order_").
//  4. A name longer than d.MaxIdentifier() bytes is cut and ends in '_'
//     and the Hash of s, so that two long names sharing a prefix differ.
//
// The same s always gives the same name; two inputs may give the same name
// ("Order" and "order"), which Table resolves (see Disambiguate).
func Sanitize(d Dialect, s string) string {
	var b strings.Builder
	b.Grow(len(s) + 1)
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r + ('a' - 'A'))
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	name := b.String()
	if name == "" {
		name = "_"
	}
	if name[0] >= '0' && name[0] <= '9' {
		name = "_" + name
	}
	if d.Reserved(name) {
		name += "_"
	}
	return shorten(d, name, s)
}

// shorten cuts name to d's limit, ending it in '_' and the hash of from.
func shorten(d Dialect, name, from string) string {
	limit := d.MaxIdentifier()
	if len(name) <= limit {
		return name
	}
	return name[:limit-hashLen-1] + "_" + Hash(from)
}

// Disambiguate returns name with '_' and the hash of name and from
// (joined by a NUL) appended, cut to d's limit first: the name a column
// gets when its sanitised name is already taken. It always differs from
// name.
func Disambiguate(d Dialect, name, from string) string {
	suffix := "_" + Hash(name+"\x00"+from)
	if limit := d.MaxIdentifier() - len(suffix); len(name) > limit {
		name = name[:limit]
	}
	return name + suffix
}
