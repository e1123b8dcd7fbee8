package enrich

import (
	"encoding/json"
	"net"
	"strings"
)

// KeyReferer is the key of the referer enrichment's context.
const KeyReferer = "iglu:dev.accord/referer/jsonschema/1-0-0"

// The media of a referrer.
const (
	MediumSearch   = "search"
	MediumSocial   = "social"
	MediumEmail    = "email"
	MediumInternal = "internal"
	MediumUnknown  = "unknown"
)

// refererContext is the data of KeyReferer.
type refererContext struct {
	Medium string `json:"medium"`
	Source string `json:"source,omitempty"`
	Host   string `json:"host"`
	Term   string `json:"term,omitempty"`
}

// BuiltinSources is the list of known sources the referer enrichment
// starts from; enrich.referer.sources adds to it. docs/enrichment.md
// prints it (TestEnrichmentDocListsSources).
func BuiltinSources() []RefererSource {
	return []RefererSource{
		{Name: "Google", Medium: MediumSearch, Domains: []string{"google.*"}, Params: []string{"q"}},
		{Name: "Bing", Medium: MediumSearch, Domains: []string{"bing.com"}, Params: []string{"q"}},
		{Name: "DuckDuckGo", Medium: MediumSearch, Domains: []string{"duckduckgo.com"}, Params: []string{"q"}},
		{Name: "Yahoo!", Medium: MediumSearch, Domains: []string{"search.yahoo.com", "search.yahoo.co.jp"}, Params: []string{"p"}},
		{Name: "Yandex", Medium: MediumSearch, Domains: []string{"yandex.*", "ya.ru"}, Params: []string{"text"}},
		{Name: "Baidu", Medium: MediumSearch, Domains: []string{"baidu.com"}, Params: []string{"wd", "word"}},
		{Name: "Ecosia", Medium: MediumSearch, Domains: []string{"ecosia.org"}, Params: []string{"q"}},
		{Name: "Brave", Medium: MediumSearch, Domains: []string{"search.brave.com"}, Params: []string{"q"}},
		{Name: "Qwant", Medium: MediumSearch, Domains: []string{"qwant.com"}, Params: []string{"q"}},
		{Name: "Startpage", Medium: MediumSearch, Domains: []string{"startpage.com"}, Params: []string{"query"}},
		{Name: "Naver", Medium: MediumSearch, Domains: []string{"search.naver.com"}, Params: []string{"query"}},
		{Name: "Seznam", Medium: MediumSearch, Domains: []string{"seznam.cz"}, Params: []string{"q"}},
		{Name: "Ask", Medium: MediumSearch, Domains: []string{"ask.com"}, Params: []string{"q"}},
		{Name: "Facebook", Medium: MediumSocial, Domains: []string{"facebook.com", "fb.me", "m.facebook.com", "l.facebook.com"}},
		{Name: "Instagram", Medium: MediumSocial, Domains: []string{"instagram.com"}},
		{Name: "X", Medium: MediumSocial, Domains: []string{"twitter.com", "t.co", "x.com"}},
		{Name: "LinkedIn", Medium: MediumSocial, Domains: []string{"linkedin.com", "lnkd.in"}},
		{Name: "Reddit", Medium: MediumSocial, Domains: []string{"reddit.com"}},
		{Name: "Pinterest", Medium: MediumSocial, Domains: []string{"pinterest.*"}},
		{Name: "YouTube", Medium: MediumSocial, Domains: []string{"youtube.com", "youtu.be"}},
		{Name: "TikTok", Medium: MediumSocial, Domains: []string{"tiktok.com"}},
		{Name: "Hacker News", Medium: MediumSocial, Domains: []string{"news.ycombinator.com"}},
		{Name: "Mastodon", Medium: MediumSocial, Domains: []string{"mastodon.social"}},
		{Name: "Threads", Medium: MediumSocial, Domains: []string{"threads.net"}},
		{Name: "Bluesky", Medium: MediumSocial, Domains: []string{"bsky.app"}},
		{Name: "VK", Medium: MediumSocial, Domains: []string{"vk.com"}},
		{Name: "Weibo", Medium: MediumSocial, Domains: []string{"weibo.com"}},
		{Name: "WhatsApp", Medium: MediumSocial, Domains: []string{"whatsapp.com", "wa.me"}},
		{Name: "Telegram", Medium: MediumSocial, Domains: []string{"t.me", "telegram.org"}},
		{Name: "Gmail", Medium: MediumEmail, Domains: []string{"mail.google.com"}},
		{Name: "Outlook.com", Medium: MediumEmail, Domains: []string{"outlook.live.com", "outlook.office.com", "outlook.office365.com"}},
		{Name: "Yahoo! Mail", Medium: MediumEmail, Domains: []string{"mail.yahoo.com"}},
		{Name: "Proton Mail", Medium: MediumEmail, Domains: []string{"mail.proton.me"}},
		{Name: "AOL Mail", Medium: MediumEmail, Domains: []string{"mail.aol.com"}},
		{Name: "Yandex Mail", Medium: MediumEmail, Domains: []string{"mail.yandex.*"}},
		{Name: "Zoho Mail", Medium: MediumEmail, Domains: []string{"mail.zoho.com"}},
	}
}

// referers classifies referrers. It is read-only once built.
type referers struct {
	// exact maps a domain to its source; wild maps the name before .* of
	// the wildcard entries.
	exact    map[string]*RefererSource
	wild     map[string]*RefererSource
	internal []string
}

func newReferers(o RefererOptions) *referers {
	r := &referers{exact: map[string]*RefererSource{}, wild: map[string]*RefererSource{}}
	// The configured sources after the built-in ones: for the same domain,
	// the later entry wins.
	all := append(BuiltinSources(), o.Sources...)
	for i := range all {
		s := &all[i]
		for _, d := range s.Domains {
			if name, ok := strings.CutSuffix(d, ".*"); ok {
				r.wild[normalDomain(name)] = s
			} else {
				r.exact[normalDomain(d)] = s
			}
		}
	}
	for _, d := range o.InternalDomains {
		r.internal = append(r.internal, normalDomain(d))
	}
	return r
}

// context returns the context's data for a referrer seen on a page, nil
// when there is no referrer or its host cannot be read.
func (r *referers) context(referrer, pageURL string) []byte {
	host := hostOf(referrer)
	if host == "" {
		return nil
	}
	c := refererContext{Host: host, Medium: MediumUnknown}
	switch {
	case host == hostOf(pageURL) || r.isInternal(host):
		c.Medium = MediumInternal
	default:
		if s := r.source(host); s != nil {
			c.Medium, c.Source = s.Medium, s.Name
			if len(s.Params) > 0 {
				c.Term = searchTerm(referrer, s.Params)
			}
		}
	}
	data, err := json.Marshal(c)
	if err != nil {
		panic(err) // strings always marshal
	}
	return data
}

func (r *referers) isInternal(host string) bool {
	for _, d := range r.internal {
		if withinDomain(host, d) {
			return true
		}
	}
	return false
}

// maxLabels bounds the suffixes of a host looked up: real hosts have few
// labels, a hostile one may have a hundred.
const maxLabels = 8

// source returns the known source of host: the entry for the host itself
// or its nearest parent domain, or a wildcard entry whose name is one of
// its labels followed by a short public suffix.
func (r *referers) source(host string) *RefererSource {
	h := host
	for n := 0; n < maxLabels; n++ {
		if s, ok := r.exact[h]; ok {
			return s
		}
		if name, suffix, ok := strings.Cut(h, "."); ok && looksLikePublicSuffix(suffix) {
			if s, ok := r.wild[name]; ok {
				return s
			}
		}
		_, parent, ok := strings.Cut(h, ".")
		if !ok {
			break
		}
		h = parent
	}
	return nil
}

// looksLikePublicSuffix reports whether s is one or two labels of at most
// three letters (com, de, co.uk, com.au): what the .* of google.* stands
// for, and not the rest of a longer name (google.evil.example).
func looksLikePublicSuffix(s string) bool {
	labels := strings.Split(s, ".")
	if len(labels) > 2 {
		return false
	}
	for _, l := range labels {
		if len(l) < 2 || len(l) > 3 {
			return false
		}
	}
	return true
}

// withinDomain reports whether host is domain or one of its subdomains.
func withinDomain(host, domain string) bool {
	return host == domain || (strings.HasSuffix(host, domain) && host[len(host)-len(domain)-1] == '.')
}

// hostOf returns the lower-cased host of an absolute http(s) URL (or a
// protocol-relative one), without port or trailing dot; "" when there is
// none or it is not a host name or IP address.
func hostOf(rawURL string) string {
	if len(rawURL) > maxFieldBytes {
		return ""
	}
	rest := rawURL
	if i := strings.Index(rest, "//"); i >= 0 {
		scheme := strings.ToLower(rest[:i])
		if scheme != "http:" && scheme != "https:" && scheme != "" {
			return ""
		}
		rest = rest[i+2:]
	} else {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#\\"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 { // userinfo
		rest = rest[i+1:]
	}
	if h, _, err := net.SplitHostPort(rest); err == nil {
		rest = h
	} else {
		rest = strings.TrimSuffix(strings.TrimPrefix(rest, "["), "]")
	}
	return normalDomain(rest)
}

// normalDomain returns d lower-cased without a trailing dot, "" when it is
// not a host name (letters, digits, '-', '_' and dots, at most 253 bytes)
// or an IP address.
func normalDomain(d string) string {
	d = strings.TrimSuffix(d, ".")
	if d == "" || len(d) > 253 {
		return ""
	}
	if ip := net.ParseIP(d); ip != nil {
		return ip.String()
	}
	for i := 0; i < len(d); i++ {
		c := d[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		case c == '.' && i > 0 && d[i-1] != '.':
		case c >= 'A' && c <= 'Z':
			return normalDomain(strings.ToLower(d))
		default:
			return ""
		}
	}
	return d
}

// searchTerm returns the first non-empty value of params in the
// referrer's query.
func searchTerm(referrer string, params []string) string {
	var term string
	eachPair(query(referrer), func(key, value string) {
		if term != "" || value == "" {
			return
		}
		for _, p := range params {
			if key == p {
				term = cut(value, 256)
				return
			}
		}
	})
	return term
}
