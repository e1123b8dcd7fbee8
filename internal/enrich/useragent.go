package enrich

import (
	"encoding/json"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/ua-parser/uap-go/uaparser"
)

// KeyUserAgent is the key of the user-agent enrichment's context.
const KeyUserAgent = "iglu:dev.accord/ua_parser_context/jsonschema/1-0-0"

// maxUserAgentBytes is how much of a user agent is parsed (and cached):
// real ones are under 400 bytes (in-app browsers the longest), and the
// ua-parser rules run in time linear in the input (Go's regexp), so a
// longer one would only cost more (at this length, several times what a
// common one costs).
const maxUserAgentBytes = 512

// userAgents parses user agents with the ua-parser project's rules (the
// ones Snowplow's ua_parser enrichment uses), keeping the encoded context
// of the cacheSize most recently seen in an LRU cache.
type userAgents struct {
	parser *uaparser.Parser
	cache  *lru.Cache[string, []byte]
	// rate bounds the parses of the whole process, nil for none.
	rate *parseRate
}

// parseRate is a token bucket of parses: perSecond on average, as many at
// once. A parse costs milliseconds of CPU, so without it a stream of
// requests each with a new user agent would spend the machine on parsing.
type parseRate struct {
	mu        sync.Mutex
	perSecond float64
	tokens    float64
	last      time.Time
	now       func() time.Time
}

func newParseRate(perSecond int, now func() time.Time) *parseRate {
	return &parseRate{perSecond: float64(perSecond), tokens: float64(perSecond), last: now(), now: now}
}

// take reports whether a parse may run now, and counts it.
func (r *parseRate) take() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if elapsed := now.Sub(r.last); elapsed > 0 {
		r.tokens = min(r.perSecond, r.tokens+elapsed.Seconds()*r.perSecond)
	}
	r.last = now
	if r.tokens < 1 {
		return false
	}
	r.tokens--
	return true
}

func newUserAgents(cacheSize int) (*userAgents, error) {
	// The parser's own caches hold every distinct line it saw, up to their
	// size, three times over: ours in front of it is the one that counts,
	// so they are made as small as the library allows.
	p, err := uaparser.New(uaparser.WithCacheSize(1))
	if err != nil {
		return nil, err
	}
	c, err := lru.New[string, []byte](cacheSize)
	if err != nil {
		return nil, err
	}
	return &userAgents{parser: p, cache: c}, nil
}

// uaContext is the data of KeyUserAgent.
type uaContext struct {
	UserAgentFamily  string `json:"useragent_family"`
	UserAgentMajor   string `json:"useragent_major,omitempty"`
	UserAgentMinor   string `json:"useragent_minor,omitempty"`
	UserAgentPatch   string `json:"useragent_patch,omitempty"`
	UserAgentVersion string `json:"useragent_version,omitempty"`
	OSFamily         string `json:"os_family"`
	OSMajor          string `json:"os_major,omitempty"`
	OSMinor          string `json:"os_minor,omitempty"`
	OSPatch          string `json:"os_patch,omitempty"`
	OSPatchMinor     string `json:"os_patch_minor,omitempty"`
	OSVersion        string `json:"os_version,omitempty"`
	DeviceFamily     string `json:"device_family"`
	DeviceBrand      string `json:"device_brand,omitempty"`
	DeviceModel      string `json:"device_model,omitempty"`
	Truncated        bool   `json:"truncated,omitempty"`
}

// context returns the context's data for ua, nil for an empty one, or for
// one the cache does not hold once parses (the request's budget of
// parsing) is spent; a parse takes one from it. The result is shared with
// the cache: callers never change it.
func (u *userAgents) context(ua string, parses *int) []byte {
	if ua == "" {
		return nil
	}
	truncated := len(ua) > maxUserAgentBytes
	if truncated {
		ua = cut(ua, maxUserAgentBytes)
	}
	if data, ok := u.cache.Get(ua); ok {
		return data
	}
	if *parses <= 0 || (u.rate != nil && !u.rate.take()) {
		return nil
	}
	*parses--
	// A key of its own: ua may point into a larger buffer (a request's
	// attributes) that the cache must not keep alive.
	key := strings.Clone(ua)
	data := u.parse(key, truncated)
	u.cache.Add(key, data)
	return data
}

func (u *userAgents) parse(ua string, truncated bool) []byte {
	// The three parts one after the other: Parser.Parse starts three
	// goroutines per call, which costs more than it saves here.
	b := u.parser.ParseUserAgent(ua)
	o := u.parser.ParseOs(ua)
	d := u.parser.ParseDevice(ua)
	c := uaContext{
		UserAgentFamily: cut(b.Family, 256), UserAgentMajor: cut(b.Major, 64), UserAgentMinor: cut(b.Minor, 64), UserAgentPatch: cut(b.Patch, 64),
		UserAgentVersion: cut(b.ToString(), 512),
		OSFamily:         cut(o.Family, 256), OSMajor: cut(o.Major, 64), OSMinor: cut(o.Minor, 64), OSPatch: cut(o.Patch, 64), OSPatchMinor: cut(o.PatchMinor, 64),
		OSVersion:    cut(o.ToString(), 512),
		DeviceFamily: cut(d.Family, 256), DeviceBrand: cut(d.Brand, 256), DeviceModel: cut(d.Model, 256),
		Truncated: truncated,
	}
	data, err := json.Marshal(c)
	if err != nil {
		// Strings and a bool always marshal.
		panic(err)
	}
	return data
}

// cut returns s cut to at most n bytes, at a character boundary, so that a
// contract's maxLength (counted in characters) holds.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
