// Package redact removes credentials from what Accord prints or stores: the
// userinfo and query string of URLs (where sink and backend URLs carry
// passwords and tokens) and the password of PostgreSQL connection strings.
// It is the one place that knows how; logs, /stats, dead letters and error
// answers all go through it.
package redact

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Mask replaces what was removed.
const Mask = "REDACTED"

// URL returns raw with its userinfo and query string replaced by Mask. A
// string that does not parse as a URL with a scheme and host is returned
// with anything that looks like userinfo or a query masked all the same.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Opaque != "" {
		return crude(raw)
	}
	if u.User == nil && u.RawQuery == "" && !u.ForceQuery {
		return raw
	}
	if u.User != nil {
		u.User = url.User(Mask)
	}
	if u.RawQuery != "" || u.ForceQuery {
		u.RawQuery, u.ForceQuery = Mask, false
	}
	return u.String()
}

// crude masks userinfo and query in a string url.Parse refused (a URL cut
// by the text around it, or with a bad escape), so that a malformed URL is
// no way around redaction.
func crude(raw string) string {
	out := raw
	if scheme, rest, ok := strings.Cut(raw, "://"); ok {
		end := strings.IndexAny(rest, "/?#")
		host := rest
		if end >= 0 {
			host = rest[:end]
		}
		if at := strings.LastIndex(host, "@"); at >= 0 {
			out = scheme + "://" + Mask + "@" + rest[at+1:]
		}
	}
	if i := strings.IndexByte(out, '?'); i >= 0 {
		frag := ""
		if j := strings.IndexByte(out[i:], '#'); j >= 0 {
			frag = out[i+j:]
		}
		out = out[:i+1] + Mask + frag
	}
	return out
}

// urlInText finds URLs in free text: a scheme, "://", then anything up to
// whitespace or a quote (errors quote URLs: Post "http://...": ...).
var urlInText = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.\-]*://[^\s"'<>` + "`" + `]+`)

// passwordInText finds password=... in PostgreSQL keyword/value connection
// strings, quoted or not.
var passwordInText = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s'"` + "`" + `]+)`)

// String redacts every URL and connection-string password in s.
func String(s string) string {
	if strings.Contains(s, "://") {
		s = urlInText.ReplaceAllStringFunc(s, func(m string) string {
			// Punctuation that ends a sentence or a wrapping is not part
			// of the URL; keep it outside.
			trimmed := strings.TrimRight(m, ".,;:)]}")
			return URL(trimmed) + m[len(trimmed):]
		})
	}
	if containsFold(s, "password") {
		s = passwordInText.ReplaceAllString(s, "${1}"+Mask)
	}
	return s
}

// Error is String of err's text; "" for a nil err.
func Error(err error) string {
	if err == nil {
		return ""
	}
	return String(err.Error())
}

// MaxStoredError bounds the text of an error where Accord keeps or logs
// it (a log line, /stats, a dead letter): a sink's error can quote the
// value it refused, and values are chosen by clients.
const MaxStoredError = 1024

// BoundedError is Error cut to MaxStoredError bytes (at a UTF-8 boundary),
// saying how much was cut.
func BoundedError(err error) string {
	return Bounded(Error(err))
}

// Bounded is s cut to MaxStoredError bytes (at a UTF-8 boundary), saying
// how much was cut: for a text a client chose that Accord shows or keeps.
func Bounded(s string) string {
	if len(s) <= MaxStoredError {
		return s
	}
	cut := MaxStoredError
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("... (%d bytes cut)", len(s)-cut)
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), sub)
}

// redactValue redacts a string, error or Stringer attribute.
func redactValue(a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindString:
		if s := a.Value.String(); mayHold(s) {
			a.Value = slog.StringValue(String(s))
		}
	case slog.KindAny:
		switch v := a.Value.Any().(type) {
		case error:
			a.Value = slog.StringValue(BoundedError(v))
		case interface{ String() string }:
			if s := v.String(); mayHold(s) {
				a.Value = slog.StringValue(String(s))
			}
		}
	}
	return a
}

// mayHold is a cheap test for text String could change.
func mayHold(s string) bool {
	return strings.Contains(s, "://") || containsFold(s, "password")
}

// Handler wraps h so that every record's message and attributes (string,
// error and Stringer values, in groups and those added with With) are
// redacted: no log line carries a credential, whatever a caller passes.
func Handler(h slog.Handler) slog.Handler { return handler{h} }

type handler struct{ h slog.Handler }

func (h handler) Enabled(ctx context.Context, l slog.Level) bool { return h.h.Enabled(ctx, l) }

func (h handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, String(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return h.h.Handle(ctx, out)
}

func (h handler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = redactAttr(a)
	}
	return handler{h.h.WithAttrs(red)}
}

func (h handler) WithGroup(name string) slog.Handler { return handler{h.h.WithGroup(name)} }

func redactAttr(a slog.Attr) slog.Attr {
	a.Value = a.Value.Resolve()
	if a.Value.Kind() == slog.KindGroup {
		g := a.Value.Group()
		red := make([]slog.Attr, len(g))
		for i, ga := range g {
			red[i] = redactAttr(ga)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(red...)}
	}
	return redactValue(a)
}
