package protocol

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

var testAllow = []string{"shop.example.com", "*.cdn.example.com", "Docs.Example.org.", "bücher.example", "xn--caf-dma.example", "::1"}

func TestRedirectAllowed(t *testing.T) {
	tests := []struct {
		name   string
		target string
		// want is the URL to redirect to; empty when refused.
		want string
		// why is part of the refusal's message.
		why string
	}{
		{name: "listed host", target: "https://shop.example.com/thanks?order=1#top", want: "https://shop.example.com/thanks?order=1#top"},
		{name: "http", target: "http://shop.example.com/", want: "http://shop.example.com/"},
		{name: "no path", target: "https://shop.example.com", want: "https://shop.example.com"},
		{name: "upper-case host and scheme", target: "HTTPS://SHOP.Example.COM/A", want: "https://shop.example.com/A"},
		{name: "port ignored", target: "https://shop.example.com:8443/", want: "https://shop.example.com:8443/"},
		{name: "trailing dot", target: "https://shop.example.com./", want: "https://shop.example.com/"},
		{name: "entry upper-case with trailing dot", target: "https://docs.example.org/x", want: "https://docs.example.org/x"},
		{name: "wildcard subdomain", target: "https://img.cdn.example.com/a.png", want: "https://img.cdn.example.com/a.png"},
		{name: "wildcard deeper subdomain", target: "https://a.b.cdn.example.com/", want: "https://a.b.cdn.example.com/"},
		{name: "IDN as listed", target: "https://bücher.example/", want: "https://b%C3%BCcher.example/"},
		{name: "IDN percent-encoded", target: "https://b%C3%BCcher.example/", want: "https://b%C3%BCcher.example/"},
		{name: "punycode as listed", target: "https://xn--caf-dma.example/", want: "https://xn--caf-dma.example/"},
		{name: "IPv6 as listed", target: "http://[::1]:8080/", want: "http://[::1]:8080/"},

		{name: "userinfo naming the allowed host", target: "https://shop.example.com@evil.com/", why: "userinfo"},
		{name: "userinfo with password", target: "https://user:pw@shop.example.com/", why: "userinfo"},
		{name: "backslash before @", target: "https://evil.com\\@shop.example.com", why: "backslash"},
		{name: "backslash as slash", target: "https:\\\\evil.com", why: "backslash"},
		{name: "allowed host as a prefix", target: "https://shop.example.com.evil.com/", why: "not in the redirect allow list"},
		{name: "allowed host as a suffix without dot", target: "https://evilshop.example.com/", why: "not in the redirect allow list"},
		{name: "wildcard does not cover its domain", target: "https://cdn.example.com/", why: "not in the redirect allow list"},
		{name: "wildcard with an empty label", target: "https://.cdn.example.com/", why: "not a host name"},
		{name: "javascript", target: "javascript:alert(1)", why: `scheme is "javascript"`},
		{name: "data", target: "data:text/html,<script>alert(1)</script>", why: `scheme is "data"`},
		{name: "ftp", target: "ftp://shop.example.com/", why: `scheme is "ftp"`},
		{name: "protocol-relative", target: "//evil.com", why: "protocol-relative"},
		{name: "protocol-relative to an allowed host", target: "//shop.example.com/", why: "protocol-relative"},
		{name: "relative path", target: "/thanks", why: "not an absolute URL"},
		{name: "no slashes", target: "https:evil.com", why: "has no host"},
		{name: "three slashes", target: "https:///evil.com", why: "has no host"},
		{name: "empty", target: "", why: "empty"},
		{name: "tab inside scheme", target: "java\tscript:alert(1)", why: "control character 0x09"},
		{name: "newline", target: "https://shop.example.com/\r\nSet-Cookie: a=b", why: "control character 0x0d"},
		{name: "NUL", target: "https://shop.example.com\x00.evil.com/", why: "control character 0x00"},
		{name: "DEL", target: "https://shop.example.com/\x7f", why: "control character 0x7f"},
		{name: "leading space", target: " https://evil.com/", why: "not a URL"},
		{name: "bad port", target: "https://shop.example.com:http/", why: "not a URL"},
		{name: "punycode not listed in Unicode", target: "https://xn--bcher-kva.example/", why: "not in the redirect allow list"},
		{name: "Unicode not listed in punycode", target: "https://café.example/", why: "not in the redirect allow list"},
		{name: "fullwidth solidus", target: "https://evil.com\uff0f.cdn.example.com/", why: "not a host name"},
		{name: "ideographic full stop", target: "https://evil\u3002cdn.example.com/", why: "not a host name"},
		{name: "sub-delimiter in host", target: "https://evil.com&.cdn.example.com/", why: "not a host name"},
		{name: "IPv6 zone", target: "http://[::1%25eth0]/", why: "not a host name"},
		{name: "IPv6 not listed", target: "http://[::2]/", why: "not in the redirect allow list"},
		{name: "invalid UTF-8 host", target: "https://%FF.cdn.example.com/", why: "not a host name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := RedirectAllowed(tc.target, testAllow)
			if tc.want != "" {
				if err != nil {
					t.Fatalf("RedirectAllowed(%q) refused: %v", tc.target, err)
				}
				if got := u.String(); got != tc.want {
					t.Errorf("RedirectAllowed(%q) = %q, want %q", tc.target, got, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("RedirectAllowed(%q) allowed %q", tc.target, u)
			}
			if u != nil {
				t.Errorf("refused, but returned URL %q", u)
			}
			if !errors.Is(err, ErrRedirectNotAllowed) {
				t.Errorf("error %v does not wrap ErrRedirectNotAllowed", err)
			}
			if !strings.Contains(err.Error(), tc.why) {
				t.Errorf("error %q does not say %q", err, tc.why)
			}
		})
	}
}

func TestRedirectAllowedEmptyList(t *testing.T) {
	for _, allow := range [][]string{nil, {""}, {"*."}, {"*"}} {
		if u, err := RedirectAllowed("https://shop.example.com/", allow); err == nil {
			t.Errorf("allow list %q allowed %q", allow, u)
		}
	}
}

// FuzzRedirectAllowed holds RedirectAllowed to its promise for any target
// and allow-list entry: what it allows is an http(s) URL to a listed host,
// which reads back the same. The seed corpus is in
// testdata/fuzz/FuzzRedirectAllowed.
func FuzzRedirectAllowed(f *testing.F) {
	f.Fuzz(func(t *testing.T, target, entry string) {
		allow := []string{entry, "shop.example.com", "*.cdn.example.com"}
		u, err := RedirectAllowed(target, allow)
		if err != nil {
			if u != nil || !errors.Is(err, ErrRedirectNotAllowed) {
				t.Fatalf("refusal returned %v and %v", u, err)
			}
			return
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			t.Fatalf("allowed scheme %q in %q", u.Scheme, target)
		}
		if u.User != nil || u.Opaque != "" {
			t.Fatalf("allowed %q with userinfo or no host", target)
		}
		if strings.ContainsAny(target, "\\") || strings.HasPrefix(target, "//") {
			t.Fatalf("allowed %q", target)
		}
		for _, c := range []byte(target) {
			if c < 0x20 || c == 0x7f {
				t.Fatalf("allowed %q with a control character", target)
			}
		}
		host := u.Hostname()
		if !listed(host, allow) {
			t.Fatalf("allowed %q: host %q is not listed in %q", target, host, allow)
		}
		// The URL the client is sent to reads back to the same host, and
		// is itself allowed.
		s := u.String()
		back, err := url.Parse(s)
		if err != nil || back.Hostname() != host || back.User != nil {
			t.Fatalf("%q (from %q) reads back as %v, %v", s, target, back, err)
		}
		again, err := RedirectAllowed(s, allow)
		if err != nil || again.String() != s {
			t.Fatalf("%q (from %q) is not allowed again unchanged: %v, %v", s, target, again, err)
		}
	})
}

// listed is the allow-list rule, written plainly.
func listed(host string, allow []string) bool {
	for _, e := range allow {
		e = strings.TrimSuffix(strings.ToLower(e), ".")
		if host == e && e != "" {
			return true
		}
		if strings.HasPrefix(e, "*.") && len(e) > 2 {
			parent := e[1:] // ".example.com"
			if strings.HasSuffix(host, parent) && len(host) > len(parent) {
				return true
			}
		}
	}
	return false
}
