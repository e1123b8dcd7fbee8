package enrich

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/enrich/enrichtest"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/pipeline"
	"github.com/accord-events/accord/internal/protocol/segment"
	"github.com/accord-events/accord/internal/protocol/snowplow"
)

// shipped loads the contracts the stage's contexts are held to, as the
// application loads them.
func shipped(t testing.TB) *contract.Set {
	t.Helper()
	sub, err := fs.Sub(Contracts, "contracts")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := contract.LoadFS(sub, "enrich")
	if err != nil {
		t.Fatal(err)
	}
	return contract.NewSet(cs)
}

// checkContext fails unless data is valid against the shipped contract
// of key.
func checkContext(t testing.TB, set *contract.Set, key string, data []byte) {
	t.Helper()
	c, err := set.Resolve(key)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	msgs, err := c.ValidateJSON(data, "/data")
	if err != nil || len(msgs) > 0 {
		t.Fatalf("%s is not valid against its contract: %s: %v %v", key, data, err, msgs)
	}
}

func decode(t testing.TB, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", data, err)
	}
	return m
}

func TestContractsShipFourKeys(t *testing.T) {
	set := shipped(t)
	for _, key := range []string{KeyUserAgent, KeyGeolocation, KeyCampaign, KeyReferer} {
		c, err := set.Resolve(key)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if c.URI != key {
			t.Errorf("%s resolves to %s", key, c.URI)
		}
	}
	if set.Len() != 4 {
		t.Errorf("%d contracts shipped, want 4", set.Len())
	}
}

func TestUserAgent(t *testing.T) {
	set := shipped(t)
	ua, err := newUserAgents(100)
	if err != nil {
		t.Fatal(err)
	}
	budget := 1 << 30
	tests := []struct {
		name, ua                   string
		browser, major, os, device string
	}{
		{name: "chrome on windows", ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.129 Safari/537.36",
			browser: "Chrome", major: "120", os: "Windows", device: "Other"},
		{name: "safari on iphone", ua: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
			browser: "Mobile Safari", major: "17", os: "iOS", device: "iPhone"},
		{name: "firefox on linux", ua: "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
			browser: "Firefox", major: "121", os: "Linux", device: "Other"},
		{name: "googlebot", ua: "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
			browser: "Googlebot", major: "2", os: "Other", device: "Spider"},
		{name: "not a user agent", ua: "}{\x00\xff<script>", browser: "Other", os: "Other", device: "Other"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := ua.context(tc.ua, &budget)
			checkContext(t, set, KeyUserAgent, data)
			got := decode(t, data)
			if got["useragent_family"] != tc.browser || got["os_family"] != tc.os || got["device_family"] != tc.device {
				t.Errorf("got %s", data)
			}
			if tc.major != "" && got["useragent_major"] != tc.major {
				t.Errorf("major: got %s", data)
			}
		})
	}
	if ua.context("", &budget) != nil {
		t.Error("an empty user agent has a context")
	}
}

// TestUserAgentHostile: a user agent of a megabyte is parsed, and cached,
// on its first 512 bytes only, and the context says so; the cache never
// holds more entries than its size.
func TestUserAgentHostile(t *testing.T) {
	set := shipped(t)
	ua, err := newUserAgents(10)
	if err != nil {
		t.Fatal(err)
	}
	budget := 1 << 30
	huge := "Mozilla/5.0 (Windows NT 10.0) Chrome/120.0 " + strings.Repeat("(a(b[c{d", 1<<17)
	data := ua.context(huge, &budget)
	checkContext(t, set, KeyUserAgent, data)
	if got := decode(t, data); got["truncated"] != true || got["useragent_family"] != "Chrome" {
		t.Errorf("got %s", data)
	}
	if keys := ua.cache.Keys(); len(keys) != 1 || len(keys[0]) != maxUserAgentBytes {
		t.Fatalf("the cache holds %d keys, the first of %d bytes; want one of %d", len(keys), len(keys[0]), maxUserAgentBytes)
	}
	for i := range 12 {
		ua.context("agent/"+strconv.Itoa(i), &budget)
	}
	if n := ua.cache.Len(); n != 10 {
		t.Errorf("cache holds %d entries, want its size, 10", n)
	}
}

// TestUserAgentParsesPerRequest: one request parses at most
// max_parses_per_request user agents the cache does not hold; the events
// beyond get no user-agent context, and cached ones cost nothing.
func TestUserAgentParsesPerRequest(t *testing.T) {
	o := DefaultOptions()
	o.UserAgent.Enabled, o.UserAgent.MaxParsesPerRequest = true, 2
	s, err := New(o, Policy{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	request := func(uas ...string) (withContext int) {
		evs := make([]pipeline.Event, len(uas))
		for i, ua := range uas {
			evs[i] = pipeline.Event{Envelope: event.Envelope{Valid: true, Protocol: "snowplow", Attributes: json.RawMessage(`{"ua":"` + ua + `"}`)}, Input: &event.Input{}}
		}
		s.Process(pipeline.Request{}, evs)
		for _, ev := range evs {
			withContext += len(ev.Envelope.Contexts)
		}
		return withContext
	}
	if n := request("a/1", "b/1", "c/1", "d/1", "a/1"); n != 3 {
		t.Errorf("%d of 5 events (4 distinct agents, budget 2) have a context, want 3", n)
	}
	if n := request("a/1", "b/1", "a/1", "b/1", "e/1"); n != 5 {
		t.Errorf("%d of 5 events (2 cached agents, 1 new) have a context, want 5", n)
	}
}

// TestUserAgentParsesPerSecond: the whole stage parses at most
// max_parses_per_second user agents the cache does not hold, as many at
// once, and regains them as time passes.
func TestUserAgentParsesPerSecond(t *testing.T) {
	ua, err := newUserAgents(100)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1e9, 0)
	ua.rate = newParseRate(3, func() time.Time { return now })
	parsed := func(agents ...string) (n int) {
		budget := 1 << 30
		for _, a := range agents {
			if ua.context(a, &budget) != nil {
				n++
			}
		}
		return n
	}
	if n := parsed("a/1", "b/1", "c/1", "d/1", "e/1"); n != 3 {
		t.Errorf("%d of 5 new agents parsed at once, want 3", n)
	}
	if n := parsed("a/1", "b/1", "c/1"); n != 3 {
		t.Errorf("%d of 3 cached agents, want 3: a cached one costs nothing", n)
	}
	now = now.Add(400 * time.Millisecond)
	if n := parsed("d/1", "e/1"); n != 1 {
		t.Errorf("%d of 2 new agents parsed 0.4 s later (1.2 regained), want 1", n)
	}
	now = now.Add(time.Hour)
	if n := parsed("e/1", "f/1", "g/1", "h/1"); n != 3 {
		t.Errorf("%d of 4 new agents parsed an hour later, want 3 (no more saved up than one second's)", n)
	}
}

func TestCampaign(t *testing.T) {
	set := shipped(t)
	tests := []struct {
		name, url string
		want      map[string]any // nil: no context
	}{
		{name: "utm", url: "https://shop.example/p?utm_source=newsletter&utm_medium=email&utm_campaign=spring%20sale&utm_term=shoes&utm_content=hero&utm_id=42",
			want: map[string]any{"source": "newsletter", "medium": "email", "campaign": "spring sale", "term": "shoes", "content": "hero", "id": "42"}},
		{name: "click id", url: "https://shop.example/?gclid=abc123", want: map[string]any{"click_id": "abc123", "click_id_param": "gclid", "network": "Google"}},
		{name: "first click id wins", url: "/?fbclid=f1&msclkid=m1", want: map[string]any{"click_id": "f1", "click_id_param": "fbclid", "network": "Meta"}},
		{name: "linkedin and plus", url: "https://a.example/x?li_fat_id=l+1&utm_source=a+b", want: map[string]any{"source": "a b", "click_id": "l 1", "click_id_param": "li_fat_id", "network": "LinkedIn"}},
		{name: "first of a repeat wins", url: "https://a.example/?utm_source=one&utm_source=two", want: map[string]any{"source": "one"}},
		{name: "fragment is not query", url: "https://a.example/#?utm_source=x", want: nil},
		{name: "query after fragment ignored", url: "https://a.example/?a=1#utm_source=x", want: nil},
		{name: "no campaign", url: "https://a.example/?q=1", want: nil},
		{name: "names are case-sensitive", url: "https://a.example/?UTM_SOURCE=x&GCLID=y", want: nil},
		{name: "empty values", url: "https://a.example/?utm_source=&gclid=", want: nil},
		{name: "bad escape left out", url: "https://a.example/?utm_source=%zz&utm_medium=cpc", want: map[string]any{"medium": "cpc"}},
		{name: "not a URL", url: "%%%?utm_source=%", want: nil},
		{name: "empty", url: "", want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := campaign(tc.url)
			if tc.want == nil {
				if data != nil {
					t.Fatalf("got %s, want none", data)
				}
				return
			}
			checkContext(t, set, KeyCampaign, data)
			got := decode(t, data)
			if len(got) != len(tc.want) {
				t.Errorf("got %s, want %v", data, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s: got %v, want %v (%s)", k, got[k], v, data)
				}
			}
		})
	}
}

// TestCampaignBounded: a long value is cut to the contract's length, and
// a URL longer than what is read gives no context.
func TestCampaignBounded(t *testing.T) {
	set := shipped(t)
	data := campaign("https://a.example/?utm_source=" + strings.Repeat("é", 1000))
	checkContext(t, set, KeyCampaign, data)
	if campaign("https://a.example/?utm_source=a&x="+strings.Repeat("y", maxFieldBytes)) != nil {
		t.Error("a URL beyond maxFieldBytes was read")
	}
}

func TestReferer(t *testing.T) {
	set := shipped(t)
	r := newReferers(RefererOptions{
		InternalDomains: []string{"Pay.Example"},
		Sources: []RefererSource{
			{Name: "Intranet Search", Medium: MediumSearch, Domains: []string{"search.corp.example"}, Params: []string{"s"}},
			{Name: "Not Bing", Medium: MediumSocial, Domains: []string{"bing.com"}},
		},
	})
	const page = "https://shop.example/p?x=1"
	tests := []struct {
		name, referrer, page string
		want                 map[string]any
	}{
		{name: "google with term", referrer: "https://www.google.co.uk/search?q=red+shoes&hl=en", want: map[string]any{"medium": "search", "source": "Google", "host": "www.google.co.uk", "term": "red shoes"}},
		{name: "google without term", referrer: "https://www.google.com/", want: map[string]any{"medium": "search", "source": "Google", "host": "www.google.com"}},
		{name: "google lookalike", referrer: "https://google.evil-site.example/", want: map[string]any{"medium": "unknown", "host": "google.evil-site.example"}},
		{name: "yahoo term param", referrer: "https://search.yahoo.com/search?p=boots", want: map[string]any{"medium": "search", "source": "Yahoo!", "host": "search.yahoo.com", "term": "boots"}},
		{name: "social subdomain", referrer: "https://l.facebook.com/l.php?u=x", want: map[string]any{"medium": "social", "source": "Facebook", "host": "l.facebook.com"}},
		{name: "protocol-relative", referrer: "//t.co/abc", want: map[string]any{"medium": "social", "source": "X", "host": "t.co"}},
		{name: "longer than read", referrer: "https://www.google.com/search?q=" + strings.Repeat("a", maxFieldBytes), want: nil},
		{name: "t.co", referrer: "https://t.co/abc", want: map[string]any{"medium": "social", "source": "X", "host": "t.co"}},
		{name: "email", referrer: "https://mail.google.com/mail/u/0/", want: map[string]any{"medium": "email", "source": "Gmail", "host": "mail.google.com"}},
		{name: "same host is internal", referrer: "https://shop.example/basket", want: map[string]any{"medium": "internal", "host": "shop.example"}},
		{name: "port and case", referrer: "HTTPS://Shop.Example:443/basket", want: map[string]any{"medium": "internal", "host": "shop.example"}},
		{name: "configured internal subdomain", referrer: "https://checkout.pay.example/done", want: map[string]any{"medium": "internal", "host": "checkout.pay.example"}},
		{name: "configured source", referrer: "https://search.corp.example/?s=handbook", want: map[string]any{"medium": "search", "source": "Intranet Search", "host": "search.corp.example", "term": "handbook"}},
		{name: "configured wins over built-in", referrer: "https://www.bing.com/search?q=x", want: map[string]any{"medium": "social", "source": "Not Bing", "host": "www.bing.com"}},
		{name: "unknown", referrer: "https://blog.example/post", want: map[string]any{"medium": "unknown", "host": "blog.example"}},
		{name: "userinfo is not the host", referrer: "https://www.google.com@evil.example/", want: map[string]any{"medium": "unknown", "host": "evil.example"}},
		{name: "ip address", referrer: "http://[2001:DB8::1]:8080/", want: map[string]any{"medium": "unknown", "host": "2001:db8::1"}},
		{name: "no referrer", referrer: "", want: nil},
		{name: "not http", referrer: "javascript://alert(1)", want: nil},
		{name: "relative", referrer: "/basket", want: nil},
		{name: "bad host", referrer: "https://a b.example/", want: nil},
		{name: "page unknown: same host is not known", referrer: "https://shop.example/", page: "-", want: map[string]any{"medium": "unknown", "host": "shop.example"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := page
			if tc.page != "" {
				p = tc.page
			}
			data := r.context(tc.referrer, p)
			if tc.want == nil {
				if data != nil {
					t.Fatalf("got %s, want none", data)
				}
				return
			}
			checkContext(t, set, KeyReferer, data)
			got := decode(t, data)
			if len(got) != len(tc.want) {
				t.Errorf("got %s, want %v", data, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s: got %v, want %v (%s)", k, got[k], v, data)
				}
			}
		})
	}
}

// TestRefererHostileHost: a host of hundreds of labels costs a bounded
// number of lookups and is unknown.
func TestRefererHostileHost(t *testing.T) {
	r := newReferers(RefererOptions{})
	host := strings.Repeat("a.", 120) + "google.com"
	data := r.context("https://"+host+"/", "")
	if got := decode(t, data); got["medium"] != "unknown" {
		t.Errorf("got %s", data)
	}
	if r.context("https://"+strings.Repeat("a", 300)+".example/", "") != nil {
		t.Error("a host longer than 253 bytes was classified")
	}
}

func TestGeo(t *testing.T) {
	set := shipped(t)
	g, err := openGeo(enrichtest.WriteCityDB(t, enrichtest.Cities))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	tests := []struct {
		name, ip, city, network string
	}{
		{name: "v4", ip: "81.2.69.160", city: "London", network: "81.2.69.0/24"},
		{name: "v4 anonymised", ip: "81.2.69.0", city: "London", network: "81.2.69.0/24"},
		{name: "v4-mapped v6", ip: "::ffff:203.0.113.9", city: "Sydney", network: "203.0.113.0/24"},
		{name: "v6", ip: "2001:db8:1::5", city: "Berlin", network: "2001:db8::/32"},
		{name: "v6 with zone", ip: "2001:db8::1%eth0", city: "Berlin", network: "2001:db8::/32"},
		{name: "not in the database", ip: "8.8.8.8"},
		{name: "not an address", ip: "81.2.69"},
		{name: "garbage", ip: "\x00\xff" + strings.Repeat("1", 100)},
		{name: "empty", ip: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := g.context(tc.ip, lookedUpStored)
			if tc.city == "" {
				if data != nil {
					t.Fatalf("got %s, want none", data)
				}
				return
			}
			checkContext(t, set, KeyGeolocation, data)
			got := decode(t, data)
			if got["city"] != tc.city || got["network"] != tc.network || got["looked_up"] != "stored" {
				t.Errorf("got %s", data)
			}
		})
	}
	data := g.context("81.2.69.1", lookedUpStored)
	want := `{"continent_code":"EU","country_code":"GB","country_name":"United Kingdom","region_code":"ENG","region_name":"England","city":"London","postal_code":"EC1A","latitude":51.5142,"longitude":-0.0931,"accuracy_radius_km":10,"time_zone":"Europe/London","network":"81.2.69.0/24","looked_up":"stored"}`
	if string(data) != want {
		t.Errorf("got  %s\nwant %s", data, want)
	}
}

// TestGeoDatabaseErrors: a missing, empty, truncated or foreign file stops
// the start with an error naming the key.
func TestGeoDatabaseErrors(t *testing.T) {
	good, err := os.ReadFile(enrichtest.WriteCityDB(t, enrichtest.Cities))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	corrupt := append([]byte(nil), good...)
	for i := 0; i < len(corrupt)/2; i++ { // the search tree and data, not the metadata at the end
		corrupt[i] ^= 0x5a
	}
	for name, path := range map[string]string{
		"missing":   filepath.Join(dir, "nope.mmdb"),
		"empty":     write("empty.mmdb", nil),
		"truncated": write("truncated.mmdb", good[:len(good)/2]),
		"corrupt":   write("corrupt.mmdb", corrupt),
		"not mmdb":  write("text.mmdb", []byte("GeoLite2-City, honest")),
	} {
		t.Run(name, func(t *testing.T) {
			o := DefaultOptions()
			o.Geo = GeoOptions{Enabled: true, Database: path}
			_, err := New(o, Policy{}, nil)
			if err == nil || !strings.Contains(err.Error(), "enrich.geo.database") {
				t.Fatalf("got %v, want an error naming enrich.geo.database", err)
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Options)
		errs   []string
	}{
		{name: "defaults", modify: func(*Options) {}},
		{name: "cache size zero", modify: func(o *Options) { o.UserAgent.CacheSize = 0 }, errs: []string{"enrich.user_agent.cache_size"}},
		{name: "parses per request zero", modify: func(o *Options) { o.UserAgent.MaxParsesPerRequest = 0 }, errs: []string{"enrich.user_agent.max_parses_per_request"}},
		{name: "parses per second zero", modify: func(o *Options) { o.UserAgent.MaxParsesPerSecond = 0 }, errs: []string{"enrich.user_agent.max_parses_per_second"}},
		{name: "cache size huge", modify: func(o *Options) { o.UserAgent.CacheSize = MaxCacheSize + 1 }, errs: []string{"enrich.user_agent.cache_size"}},
		{name: "geo without database", modify: func(o *Options) { o.Geo.Enabled = true }, errs: []string{"enrich.geo.database"}},
		{name: "bad internal domain", modify: func(o *Options) { o.Referer.InternalDomains = []string{"https://a.example/"} }, errs: []string{"enrich.referer.internal_domains[0]"}},
		{name: "bad source", modify: func(o *Options) {
			o.Referer.Sources = []RefererSource{{Medium: "tv", Domains: []string{"a..b"}, Params: []string{""}}}
		}, errs: []string{"sources[0].name", "sources[0].medium", "sources[0].domains[0]", "sources[0].params[0]"}},
		{name: "wildcard source", modify: func(o *Options) {
			o.Referer.Sources = []RefererSource{{Name: "S", Medium: MediumSearch, Domains: []string{"search.*"}}}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			tc.modify(&o)
			err := o.Validate()
			if len(tc.errs) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %v", tc.errs)
			}
			for _, e := range tc.errs {
				if !strings.Contains(err.Error(), e) {
					t.Errorf("%v does not name %s", err, e)
				}
			}
		})
	}
}

// process runs the stage on one record as the pipeline would hand it.
func process(s *Stage, req pipeline.Request, env event.Envelope) event.Envelope {
	env.Valid = true
	evs := []pipeline.Event{{Envelope: env, Input: &event.Input{}}}
	s.Process(req, evs)
	return evs[0].Envelope
}

func contextsByKey(t *testing.T, env event.Envelope) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, c := range env.Contexts {
		out[c.Schema] = decode(t, c.Data)
	}
	return out
}

const chromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.129 Safari/537.36"

func allOn(t *testing.T, before bool) *Stage {
	t.Helper()
	o := DefaultOptions()
	o.UserAgent.Enabled, o.Campaign.Enabled, o.Referer.Enabled = true, true, true
	o.Geo = GeoOptions{Enabled: true, Database: enrichtest.WriteCityDB(t, enrichtest.Cities), BeforeAnonymising: before}
	s, err := New(o, Policy{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestStageProtocols: each protocol's page, referrer and user agent are
// read where it carries them, and the contexts come after those sent.
func TestStageProtocols(t *testing.T) {
	s := allOn(t, false)
	sent := []event.Context{{Schema: "iglu:com.acme/user/jsonschema/1-0-0", Data: json.RawMessage(`{"id":"u1"}`)}}
	src := event.Source{IP: "81.2.69.160", UserAgent: "curl/8.0"}
	tests := []struct {
		name     string
		env      event.Envelope
		browser  string
		campaign string
		medium   string
	}{
		{name: "snowplow", env: event.Envelope{Protocol: "snowplow", Source: src, Contexts: sent,
			Attributes: json.RawMessage(`{"e":"pv","ip":"203.0.113.9","url":"https://shop.example/?utm_campaign=s1","refr":"https://www.google.com/search?q=x","ua":"` + chromeUA + `"}`)},
			browser: "Chrome", campaign: "s1", medium: "search"},
		{name: "segment", env: event.Envelope{Protocol: "segment", Source: src, Contexts: sent,
			Attributes: json.RawMessage(`{"type":"page","context":{"userAgent":"` + chromeUA + `","page":{"url":"https://shop.example/?utm_campaign=s2","referrer":"https://t.co/x"}}}`)},
			browser: "Chrome", campaign: "s2", medium: "social"},
		{name: "selfdesc uses the request", env: event.Envelope{Protocol: "selfdesc", Source: event.Source{IP: "81.2.69.160", UserAgent: chromeUA, Referer: "https://shop.example/?utm_campaign=s3"}, Contexts: sent},
			browser: "Chrome", campaign: "s3"},
		{name: "snowplow without ua uses the header", env: event.Envelope{Protocol: "snowplow", Source: src, Contexts: sent, Attributes: json.RawMessage(`{"e":"pv","url":7}`)},
			browser: "curl"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := process(s, pipeline.Request{Source: tc.env.Source}, tc.env)
			if got.Contexts[0].Schema != sent[0].Schema {
				t.Fatalf("the sent context is not first: %+v", got.Contexts)
			}
			set := shipped(t)
			for _, c := range got.Contexts[1:] {
				checkContext(t, set, c.Schema, c.Data)
			}
			cx := contextsByKey(t, got)
			if cx[KeyUserAgent]["useragent_family"] != tc.browser {
				t.Errorf("user agent: %v", cx[KeyUserAgent])
			}
			// The record's source.ip, never an address in the event (the
			// Snowplow case carries ip, which the database places in Sydney).
			if cx[KeyGeolocation]["city"] != "London" {
				t.Errorf("geolocation: %v", cx[KeyGeolocation])
			}
			if tc.campaign != "" && cx[KeyCampaign]["campaign"] != tc.campaign || tc.campaign == "" && cx[KeyCampaign] != nil {
				t.Errorf("campaign: %v", cx[KeyCampaign])
			}
			if tc.medium != "" && cx[KeyReferer]["medium"] != tc.medium || tc.medium == "" && cx[KeyReferer] != nil {
				t.Errorf("referer: %v", cx[KeyReferer])
			}
		})
	}
	if len(sent) != 1 || cap(sent) != 1 {
		t.Fatal("the sent contexts were changed")
	}
}

// TestStageAfterPrivacy: the stage reads what the privacy policy left.
func TestStageAfterPrivacy(t *testing.T) {
	arrived := event.Source{IP: "81.2.69.160", UserAgent: chromeUA}
	tests := []struct {
		name     string
		before   bool
		stored   event.Source // what privacy left on the record
		lookedUp string       // "" for no geolocation
		network  string
		ua       bool
	}{
		{name: "kept", stored: arrived, lookedUp: "stored", network: "81.2.69.0/24", ua: true},
		{name: "anonymised", stored: event.Source{IP: "81.2.0.0", UserAgent: chromeUA}, ua: true}, // 81.2.0.0 is not in the test database
		{name: "anonymised, before_anonymising", before: true, stored: event.Source{IP: "81.2.0.0", UserAgent: chromeUA}, lookedUp: "before_anonymising", network: "81.2.69.0/24", ua: true},
		{name: "dropped", stored: event.Source{UserAgent: chromeUA}, ua: true},
		{name: "dropped, before_anonymising", before: true, stored: event.Source{UserAgent: chromeUA}, ua: true},
		{name: "user agent dropped", stored: event.Source{IP: "81.2.69.160"}, lookedUp: "stored", network: "81.2.69.0/24"},
	}
	// One stage per setting: building one compiles the ua-parser rules.
	stages := map[bool]*Stage{false: allOn(t, false), true: allOn(t, true)}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := stages[tc.before]
			got := contextsByKey(t, process(s, pipeline.Request{Source: arrived}, event.Envelope{Protocol: "selfdesc", Source: tc.stored}))
			geo := got[KeyGeolocation]
			switch {
			case tc.lookedUp == "" && geo != nil:
				t.Errorf("geolocation %v, want none", geo)
			case tc.lookedUp != "" && (geo["looked_up"] != tc.lookedUp || geo["network"] != tc.network):
				t.Errorf("geolocation %v, want looked_up %s network %s", geo, tc.lookedUp, tc.network)
			}
			if (got[KeyUserAgent] != nil) != tc.ua {
				t.Errorf("user agent context %v, want one: %v", got[KeyUserAgent], tc.ua)
			}
		})
	}
}

// TestStageLeavesFailedEvents: a failed event's record gets nothing.
func TestStageLeavesFailedEvents(t *testing.T) {
	s := allOn(t, false)
	evs := []pipeline.Event{{Envelope: event.Envelope{Protocol: "selfdesc", Source: event.Source{IP: "81.2.69.160", UserAgent: chromeUA}}, Input: &event.Input{}}}
	s.Process(pipeline.Request{}, evs)
	if len(evs[0].Envelope.Contexts) != 0 {
		t.Errorf("a failed event was enriched: %+v", evs[0].Envelope.Contexts)
	}
}

// TestProtocolNames: the names the stage switches on are those the
// protocol packages give their events.
func TestProtocolNames(t *testing.T) {
	if protocolSnowplow != snowplow.Name || protocolSegment != segment.Name {
		t.Errorf("the stage reads %q and %q, the protocols are %q and %q", protocolSnowplow, protocolSegment, snowplow.Name, segment.Name)
	}
}

// TestStageOwnKeys: a context of an enrichment's key that the client sent
// is removed when that enrichment is on (the record's is Accord's own) and
// kept when it is off; a replayed record keeps the contexts it was
// enriched with when collected, and gets none twice.
func TestStageOwnKeys(t *testing.T) {
	o := DefaultOptions()
	o.Campaign.Enabled, o.Referer.Enabled = true, true
	s, err := New(o, Policy{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	forged := []event.Context{
		{Schema: "iglu:com.acme/user/jsonschema/1-0-0", Data: json.RawMessage(`{"id":"u1"}`)},
		{Schema: KeyCampaign, Data: json.RawMessage(`{"source":"forged"}`)},
		{Schema: KeyGeolocation, Data: json.RawMessage(`{"looked_up":"stored","city":"Client-sent"}`)},
	}
	env := event.Envelope{Protocol: "snowplow", Contexts: forged,
		Attributes: json.RawMessage(`{"url":"https://shop.example/?utm_source=real","refr":"https://t.co/x"}`)}
	got := process(s, pipeline.Request{}, env)
	var keys []string
	for _, c := range got.Contexts {
		keys = append(keys, c.Schema)
	}
	want := []string{"iglu:com.acme/user/jsonschema/1-0-0", KeyGeolocation, KeyCampaign, KeyReferer}
	if strings.Join(keys, " ") != strings.Join(want, " ") {
		t.Fatalf("contexts %v, want %v (the forged campaign removed, geolocation, which is off, kept)", keys, want)
	}
	if cx := contextsByKey(t, got); cx[KeyCampaign]["source"] != "real" {
		t.Errorf("campaign %v", cx[KeyCampaign])
	}
	if forged[1].Schema != KeyCampaign {
		t.Error("the sent contexts were changed")
	}

	// Replayed: the record as stored, its referrer since gone (say).
	stored := got
	stored.Attributes = json.RawMessage(`{"url":"https://shop.example/?utm_source=changed"}`)
	again := process(s, pipeline.Request{Replay: true}, stored)
	if len(again.Contexts) != len(got.Contexts) {
		t.Fatalf("replayed: %d contexts, want the %d it was stored with", len(again.Contexts), len(got.Contexts))
	}
	if cx := contextsByKey(t, again); cx[KeyCampaign]["source"] != "real" || cx[KeyReferer]["source"] != "X" {
		t.Errorf("replayed: %v, want the contexts found at collection", cx)
	}
}

// TestStagePolicyDropsUserAgent: with privacy.user_agent: drop no user
// agent is parsed, not even the tracker's in the event.
func TestStagePolicyDropsUserAgent(t *testing.T) {
	o := DefaultOptions()
	o.UserAgent.Enabled, o.Campaign.Enabled = true, true
	s, err := New(o, Policy{DropsUserAgent: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := contextsByKey(t, process(s, pipeline.Request{}, event.Envelope{Protocol: "snowplow",
		Attributes: json.RawMessage(`{"ua":"` + chromeUA + `","url":"https://a.example/?utm_source=x"}`)}))
	if got[KeyUserAgent] != nil || got[KeyCampaign] == nil {
		t.Errorf("got %v, want a campaign and no user agent", got)
	}
}
