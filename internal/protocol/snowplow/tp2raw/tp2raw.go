// Package tp2raw reads and rewrites the JSON documents a Snowplow tp2 event
// carries in its fields (ue_pr, ue_px, co, cx), in the raw input the
// snowplow protocol keeps for it; the privacy stage uses it to transform a
// failed event's raw input by the contracts' rules.
package tp2raw

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/accord-events/accord/internal/jsonscan"
)

// errNotRaw is returned by RewritePayloads for raw input that is neither
// form the protocol keeps.
var errNotRaw = errors.New("not a tp2 event object or query string")

// RewritePayloads returns raw, one event's raw input as the protocol keeps
// it (the tp2 event object of a POST body, or the query string of GET /i),
// with the JSON document of every ue_pr, ue_px, co and cx field replaced by
// what rewrite makes of it, encoded as the field was: JSON text in ue_pr
// and co, base64url without padding (what trackers send) in ue_px and cx.
// Every other field is kept as sent. Each field is decoded once.
//
// plain holds every field value as text (the others decoded from JSON or
// percent-encoding, the payload fields as rewritten), separated by NUL, so
// that a caller can look for values that must not remain in out.
//
// It fails when a payload field cannot be read (not a string, JSON text
// that is not UTF-8, not percent-encoded or base64 text), when rewrite
// fails, or when raw is not a JSON object and not a query string.
func RewritePayloads(raw []byte, rewrite func(field string, doc []byte) ([]byte, error)) (out, plain []byte, err error) {
	start := jsonscan.SkipSpace(raw, 0)
	if start < len(raw) && raw[start] == '{' {
		return rewriteObject(raw, start, rewrite)
	}
	return rewriteQuery(raw, rewrite)
}

// Readable reports whether raw, one event's raw input, is in a form
// RewritePayloads reads and every payload field in it holds one JSON
// document: then rules can find every value of the event's data and
// contexts in it.
func Readable(raw []byte) bool {
	_, _, err := RewritePayloads(raw, func(_ string, doc []byte) ([]byte, error) {
		start, end, err := jsonscan.Document(doc, 0)
		if err == nil && jsonscan.SkipSpace(doc, end) != len(doc) {
			err = errNotRaw
		}
		return doc[start:end], err
	})
	return err == nil
}

// payloadField reports whether name carries a JSON document, and whether
// it is base64-encoded.
func payloadField(name string) (payload, encoded bool) {
	switch name {
	case "ue_pr", "co":
		return true, false
	case "ue_px", "cx":
		return true, true
	}
	return false, false
}

// rewriteField returns what rewrite makes of the document in value, the
// text of field name, encoded as that field is, and the document itself.
func rewriteField(name, value string, encoded bool, rewrite func(string, []byte) ([]byte, error)) (string, []byte, error) {
	doc := []byte(value)
	if encoded {
		var err error
		if doc, err = DecodeBase64(value); err != nil {
			return "", nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	doc, err := rewrite(name, doc)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", name, err)
	}
	if encoded {
		return base64.RawURLEncoding.EncodeToString(doc), doc, nil
	}
	return string(doc), doc, nil
}

func rewriteObject(raw []byte, start int, rewrite func(string, []byte) ([]byte, error)) (out, plain []byte, err error) {
	out = make([]byte, 0, len(raw)+len(raw)/2)
	plain = make([]byte, 0, len(raw))
	out = append(out, '{')
	first := true
	end, err := jsonscan.Object(raw, start, func(ks, ke, vs int) (int, error) {
		ve, err := jsonscan.Skip(raw, vs)
		if err != nil {
			return ve, err
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		out = append(out, raw[ks:ke]...)
		out = append(out, ':')
		name := jsonscan.UnquoteBytes(raw[ks:ke])
		payload, encoded := payloadField(name)
		switch {
		case payload && raw[vs] != '"':
			return ve, fmt.Errorf("%s is %s, not a string", name, jsonscan.Kind(raw[vs]))
		case payload:
			value := jsonscan.UnquoteBytes(raw[vs:ve])
			if !encoded && !utf8.ValidString(value) {
				// A JSON document is UTF-8; written back as a JSON string,
				// the bytes that are not would become U+FFFD, so out would
				// no longer hold the document rewrite was given.
				return ve, fmt.Errorf("%s is not UTF-8 text", name)
			}
			text, doc, err := rewriteField(name, value, encoded, rewrite)
			if err != nil {
				return ve, err
			}
			out = jsonscan.AppendString(out, text)
			plain = append(append(plain, doc...), 0)
		case raw[vs] == '"':
			out = append(out, raw[vs:ve]...)
			plain = append(append(plain, jsonscan.UnquoteBytes(raw[vs:ve])...), 0)
		default:
			out = append(out, raw[vs:ve]...)
			plain = append(append(plain, raw[vs:ve]...), 0)
		}
		return ve, nil
	})
	if err != nil {
		return nil, nil, err
	}
	if jsonscan.SkipSpace(raw, end) != len(raw) {
		return nil, nil, errNotRaw
	}
	return append(out, '}'), plain, nil
}

// rewriteQuery rewrites a query string pair by pair, as url.ParseQuery
// splits it: each pair of a payload field is decoded, rewritten and
// percent-encoded again; the others are kept byte for byte. Every pair of
// a name is rewritten, not only the first the protocol reads.
func rewriteQuery(raw []byte, rewrite func(string, []byte) ([]byte, error)) (out, plain []byte, err error) {
	query := string(raw)
	out = make([]byte, 0, len(raw)+len(raw)/2)
	plain = make([]byte, 0, len(raw))
	for i, pair := range strings.Split(query, "&") {
		if i > 0 {
			out = append(out, '&')
		}
		key, value, _ := strings.Cut(pair, "=")
		name, kerr := url.QueryUnescape(key)
		payload, encoded := payloadField(name)
		if kerr != nil || !payload {
			out = append(out, pair...)
			if text, err := url.QueryUnescape(pair); err == nil {
				plain = append(plain, text...)
			} else {
				plain = append(plain, pair...)
			}
			plain = append(plain, 0)
			continue
		}
		text, err := url.QueryUnescape(value)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		text, doc, err := rewriteField(name, text, encoded, rewrite)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, key...)
		out = append(out, '=')
		out = append(out, url.QueryEscape(text)...)
		plain = append(append(plain, doc...), 0)
	}
	return out, plain, nil
}

var errMixedAlphabets = errors.New("it mixes the URL-safe alphabet (- and _) with the standard one (+ and /)")

// DecodeBase64 decodes s, which trackers encode with either base64 alphabet,
// padded or not: the alphabet is the one whose own characters s holds
// ('-' and '_' for URL-safe, '+' and '/' for standard), and padding is
// expected when s ends with '='. A space is read as '+', which a query string
// turns into a space when the tracker did not percent-encode it.
func DecodeBase64(s string) ([]byte, error) {
	b, err := AppendBase64(nil, s)
	if err != nil {
		return nil, err
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

// AppendBase64 is DecodeBase64 appending the decoded bytes to dst, so that
// the payloads of a request can share one buffer. On an error, dst is
// returned as it was passed.
func AppendBase64(dst []byte, s string) ([]byte, error) {
	// One vectorised search per character is far cheaper than a switch on
	// every byte (payloads are a few hundred bytes to kilobytes).
	urlSafe := strings.IndexByte(s, '-') >= 0 || strings.IndexByte(s, '_') >= 0
	std := strings.IndexByte(s, '+') >= 0 || strings.IndexByte(s, '/') >= 0 || strings.IndexByte(s, ' ') >= 0
	if urlSafe && std {
		return dst, errMixedAlphabets
	}
	padded := strings.HasSuffix(strings.TrimRight(s, "\r\n"), "=")
	if !padded {
		// What trackers send: decoded here several times faster than
		// encoding/base64 does, which reads anything else (padding, line
		// breaks) and words the errors.
		alphabet := &urlSafeValues
		if std {
			alphabet = &stdValues
		}
		if out, ok := appendRaw(dst, s, alphabet); ok {
			return out, nil
		}
	}
	var enc *base64.Encoding
	switch {
	case std && padded:
		enc = base64.StdEncoding
	case std:
		enc = base64.RawStdEncoding
	case padded:
		enc = base64.URLEncoding
	default:
		enc = base64.RawURLEncoding
	}
	if std {
		s = strings.ReplaceAll(s, " ", "+")
	}
	// The encoder only reads its input: s's bytes are not copied.
	b, err := enc.AppendDecode(dst, unsafe.Slice(unsafe.StringData(s), len(s)))
	if err != nil {
		var ce base64.CorruptInputError
		if errors.As(err, &ce) {
			return dst, fmt.Errorf("illegal data at byte offset %d", int64(ce))
		}
		return dst, err
	}
	return b, nil
}

// AppendURLSafe appends what s decodes to as unpadded URL-safe base64,
// what trackers send, exactly as AppendBase64 would, and reports true; for
// anything else (a character of no or of the other alphabet, padding, a
// length no base64 has) it returns dst as it was and false, and
// AppendBase64 reads s as it reads it. A caller holding what may be such
// text (a JSON string whose end is not known yet) decodes it at once.
func AppendURLSafe(dst []byte, s string) ([]byte, bool) {
	return appendRaw(dst, s, &urlSafeValues)
}

// The characters of each alphabet, as tables of what each byte adds to a
// group of four characters (24 bits) in each of the four places: a byte
// outside the alphabet sets bit 31. stdValues reads a space as '+' (see
// DecodeBase64).
var urlSafeValues, stdValues = base64Values("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 0),
	base64Values("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", ' ')

const notBase64 = 1 << 31

func base64Values(alphabet string, plus byte) (t [4][256]uint32) {
	for place := range t {
		for c := range t[place] {
			t[place][c] = notBase64
		}
		shift := 18 - 6*place
		for v := range len(alphabet) {
			t[place][alphabet[v]] = uint32(v) << shift
		}
		if plus != 0 {
			t[place][plus] = 62 << shift
		}
	}
	return t
}

// appendRaw appends what s decodes to as unpadded base64 of the alphabet
// t, as base64.RawURLEncoding and RawStdEncoding decode it (the unused bits
// of the last character ignored), eight characters at a time
// (appendGroups8), then four, each a table lookup. It returns false, and dst as it was, for any byte
// outside the alphabet and for a length no base64 has: encoding/base64
// then says what is wrong.
func appendRaw(dst []byte, s string, t *[4][256]uint32) ([]byte, bool) {
	if len(s)%4 == 1 {
		return dst, false
	}
	n := len(dst)
	out := slices.Grow(dst, len(s)/4*3+2)[:n+len(s)*6/8]
	w := out[n:]
	groups, bad := appendGroups8(w, s, t)
	i := 8 * groups
	w = w[6*groups:]
	for ; i+4 <= len(s) && len(w) >= 3; i += 4 {
		// Fixed-length windows: no bounds check inside.
		in, o := s[i:i+4], w[:3]
		x := t[0][in[0]] | t[1][in[1]] | t[2][in[2]] | t[3][in[3]]
		bad |= x
		o[0], o[1], o[2] = byte(x>>16), byte(x>>8), byte(x)
		w = w[3:]
	}
	// Two or three characters left: one or two bytes.
	switch rest := s[i:]; len(rest) {
	case 2:
		x := t[0][rest[0]] | t[1][rest[1]]
		bad |= x
		w[0] = byte(x >> 16)
	case 3:
		x := t[0][rest[0]] | t[1][rest[1]] | t[2][rest[2]]
		bad |= x
		w[0], w[1] = byte(x>>16), byte(x>>8)
	}
	if bad&notBase64 != 0 {
		return dst, false
	}
	return out, true
}

// appendGroups8 decodes s into w eight characters at a time, each group
// written as one word of eight bytes whose last two the next group
// overwrites: half the loop's overhead and a third of the stores of four
// characters at a time. It stops while eight bytes still fit in w, so
// nothing is written beyond what s decodes to, and returns the number of
// groups decoded and the bits of their characters' values ORed (notBase64
// set for a character outside the alphabet). It is a function of its own
// so that its few values stay in registers.
func appendGroups8(w []byte, s string, t *[4][256]uint32) (groups int, bad uint32) {
	for len(s) >= 8 && len(w) >= 8 {
		x := t[0][s[0]] | t[1][s[1]] | t[2][s[2]] | t[3][s[3]]
		y := t[0][s[4]] | t[1][s[5]] | t[2][s[6]] | t[3][s[7]]
		bad |= x | y
		binary.BigEndian.PutUint64(w, uint64(x)<<40|uint64(y)<<16)
		s, w = s[8:], w[6:]
		groups++
	}
	return groups, bad
}
