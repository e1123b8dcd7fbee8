package protocol

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrRedirectNotAllowed is wrapped by every error RedirectAllowed returns, so
// the HTTP layer can tell a refused redirect (answered 400 with the error's
// text) from its own failures.
var ErrRedirectNotAllowed = errors.New("redirect not allowed")

// RedirectAllowed checks a redirect target sent by a client (the pixel's and
// Snowplow's redirect endpoints) against the configured allow list, so that
// the collector cannot be used as an open redirect.
//
// The target must be an absolute http or https URL without userinfo, and its
// host, lower-cased, without port and without a trailing dot, must equal an
// entry of allow or, for an entry "*.example.com", be a subdomain of
// example.com at any depth (example.com itself only if it is listed too).
// Entries are host names without a port; they are compared lower-cased and
// without a trailing dot. Internationalised names are compared as given:
// "bücher.example" and its punycode "xn--bcher-kva.example" are different
// entries. Targets holding backslashes or control characters, and
// protocol-relative ones ("//evil.com"), are refused whatever their host,
// because browsers read them differently from url.Parse.
//
// The URL returned has its host normalised as compared; redirect to its
// String(), never to target as sent. The error wraps ErrRedirectNotAllowed
// and says why, in words fit for the 400 answer.
func RedirectAllowed(target string, allow []string) (*url.URL, error) {
	refuse := func(format string, args ...any) (*url.URL, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrRedirectNotAllowed}, args...)...)
	}
	if target == "" {
		return refuse("the redirect target is empty; send an absolute URL such as https://www.example.com/")
	}
	for i := 0; i < len(target); i++ {
		switch c := target[i]; {
		case c == '\\':
			return refuse("the redirect target holds a backslash at byte %d; browsers read it as a slash, so it is refused", i)
		case c < 0x20 || c == 0x7f:
			return refuse("the redirect target holds the control character %#02x at byte %d", c, i)
		}
	}
	if strings.HasPrefix(target, "//") {
		return refuse("the redirect target %q is protocol-relative; send an absolute URL starting with https://", target)
	}
	u, err := url.Parse(target)
	if err != nil {
		// url.Parse quotes the target in its message.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return refuse("the redirect target %q is not a URL: %v", target, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		if u.Scheme == "" {
			return refuse("the redirect target %q is not an absolute URL; send one starting with https://", target)
		}
		return refuse("the redirect target's scheme is %q; only http and https are allowed", u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" {
		// "https:evil.com" and "https:///evil.com" have no host for
		// url.Parse, but browsers go to evil.com.
		return refuse("the redirect target %q has no host; send an absolute URL such as https://www.example.com/", target)
	}
	if u.User != nil {
		return refuse("the redirect target %q holds userinfo (the part before @); send the URL without it", target)
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if !validHost(host) {
		return refuse("the redirect target's host %q is not a host name", u.Hostname())
	}
	if !hostAllowed(host, allow) {
		return refuse("the redirect target's host %s is not in the redirect allow list; add it (or *.%s for its subdomains) to the list if it is yours", host, parentDomain(host))
	}
	normal := host
	if strings.IndexByte(host, ':') >= 0 {
		normal = "[" + host + "]"
	}
	if port := u.Port(); port != "" {
		normal += ":" + port
	}
	u.Host = normal
	return u, nil
}

// hostAllowed reports whether host, already normalised, is named by an entry
// of allow.
func hostAllowed(host string, allow []string) bool {
	for _, entry := range allow {
		entry = strings.TrimSuffix(strings.ToLower(entry), ".")
		if suffix, ok := strings.CutPrefix(entry, "*."); ok {
			if suffix != "" && len(host) > len(suffix)+1 && strings.HasSuffix(host, suffix) && host[len(host)-len(suffix)-1] == '.' {
				return true
			}
			continue
		}
		if entry != "" && host == entry {
			return true
		}
	}
	return false
}

// validHost reports whether h is an IP address or a DNS name whose labels
// hold only letters, digits, marks, '-' and '_'. Punctuation outside ASCII is
// refused because browsers map some of it to '/', '.', '?' or '@' while
// url.Parse keeps it in the host, and a name compared as one host would then
// lead to another.
func validHost(h string) bool {
	if h == "" {
		return false
	}
	if strings.IndexByte(h, ':') >= 0 {
		a, err := netip.ParseAddr(h)
		return err == nil && a.Is6() && a.Zone() == ""
	}
	label := 0
	for _, r := range h {
		switch {
		case r == '.':
			if label == 0 {
				return false
			}
			label = 0
			continue
		case r == utf8.RuneError:
			return false
		case r < utf8.RuneSelf:
			if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_') {
				return false
			}
		case !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r):
			return false
		}
		label++
	}
	return label > 0
}

// parentDomain returns host without its first label, for the hint in a
// refusal; a host of one or two labels is its own parent.
func parentDomain(host string) string {
	if strings.Count(host, ".") < 2 {
		return host
	}
	return host[strings.IndexByte(host, '.')+1:]
}
