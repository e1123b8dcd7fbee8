package enrich

import (
	"errors"
	"fmt"
	"strings"
)

// Options is the enrich: section of the configuration. Every enrichment is
// off by default: each costs time per event (see docs/performance.md) and
// adds data a deployment may not want to keep.
type Options struct {
	UserAgent UserAgentOptions `yaml:"user_agent" doc:"Parse the event's user agent into browser, operating system and device (context iglu:dev.accord/ua_parser_context/jsonschema/1-0-0)."`
	Geo       GeoOptions       `yaml:"geo" doc:"Look the event's IP address up in a MaxMind-format database (context iglu:dev.accord/geolocation/jsonschema/1-0-0)."`
	Campaign  CampaignOptions  `yaml:"campaign" doc:"Read campaign attribution (utm_* and click ids) from the page URL (context iglu:dev.accord/campaign/jsonschema/1-0-0)."`
	Referer   RefererOptions   `yaml:"referer" doc:"Classify the page's referrer as search, social, email, internal or unknown (context iglu:dev.accord/referer/jsonschema/1-0-0)."`
}

// UserAgentOptions configures the user-agent enrichment.
type UserAgentOptions struct {
	Enabled   bool `yaml:"enabled" doc:"Turn the user-agent enrichment on."`
	CacheSize int  `yaml:"cache_size" doc:"How many distinct user agents keep their parsed result (least recently used ones are forgotten). Parsing one takes milliseconds (the ua-parser rules are hundreds of regular expressions); a cached one under a microsecond. An entry is the user agent (at most 512 bytes) and its context (at most about 3.5 KiB by the contract's lengths, usually under 400 bytes)."`
	// MaxParsesPerRequest bounds the work one request can cause.
	MaxParsesPerRequest int `yaml:"max_parses_per_request" doc:"How many user agents the cache does not hold one request may have parsed; the events of the request beyond it get no user-agent context. It bounds what a batch of events each with a new user agent costs (a few milliseconds each). A browser or app sends one user agent per batch; raise it for a server relaying many users' events in one batch."`
	// MaxParsesPerSecond bounds the work all requests together can cause.
	MaxParsesPerSecond int `yaml:"max_parses_per_second" doc:"How many user agents the cache does not hold the whole collector parses per second, on average (as many at once); events beyond get no user-agent context. At 1.5 to 5 ms of CPU a parse, the default of 100 bounds parsing to half a core, whatever clients send. Cached user agents are not counted."`
}

// GeoOptions configures the geolocation enrichment.
type GeoOptions struct {
	Enabled           bool   `yaml:"enabled" doc:"Turn the geolocation enrichment on; database must then name the file."`
	Database          string `yaml:"database" doc:"Path of a MaxMind-format (.mmdb) City or Country database, such as GeoLite2-City.mmdb. It is read at start: a missing or corrupt file stops accord serve with an error. Accord downloads nothing."`
	BeforeAnonymising bool   `yaml:"before_anonymising" doc:"Look up the IP address as it arrived instead of as the privacy policy left it (anonymised): a finer location, from an address the record does not keep. An address the policy dropped (or consent withdrew) is never looked up. See docs/enrichment.md for the trade-off."`
}

// CampaignOptions configures the campaign enrichment.
type CampaignOptions struct {
	Enabled bool `yaml:"enabled" doc:"Turn the campaign enrichment on."`
}

// RefererOptions configures the referer enrichment.
type RefererOptions struct {
	Enabled         bool            `yaml:"enabled" doc:"Turn the referer enrichment on."`
	InternalDomains []string        `yaml:"internal_domains" doc:"Domains whose referrers are internal besides the page's own host, such as your other sites or your payment provider's return page; a domain covers its subdomains."`
	Sources         []RefererSource `yaml:"sources" doc:"Known sources added to the built-in list (docs/enrichment.md lists it); an entry here wins over a built-in one for the same domain."`
}

// RefererSource is one known source of visits.
type RefererSource struct {
	Name    string   `yaml:"name" doc:"The source's name written to the context, such as Intranet Search."`
	Medium  string   `yaml:"medium" doc:"search, social or email."`
	Domains []string `yaml:"domains" doc:"Its host names; each covers its subdomains. A name ending in .* stands for a public suffix of one or two labels of two or three letters (google.* is google.com, google.de, google.co.uk...)."`
	// Params names the query parameters holding the search terms, for a
	// search source.
	Params []string `yaml:"params" doc:"For a search source, the query parameters of the referrer that hold the search terms, such as q."`
}

// Defaults of enrich.user_agent.
const (
	DefaultCacheSize           = 10000
	DefaultMaxParsesPerRequest = 10
	DefaultMaxParsesPerSecond  = 100
)

// MaxCacheSize bounds enrich.user_agent.cache_size: at most about 4 KiB an
// entry (usually under 1 KiB), a million entries is up to 4 GiB.
const MaxCacheSize = 1_000_000

// DefaultOptions has every enrichment off.
func DefaultOptions() Options {
	return Options{UserAgent: UserAgentOptions{CacheSize: DefaultCacheSize, MaxParsesPerRequest: DefaultMaxParsesPerRequest, MaxParsesPerSecond: DefaultMaxParsesPerSecond}}
}

// Any reports whether some enrichment is on.
func (o Options) Any() bool {
	return o.UserAgent.Enabled || o.Geo.Enabled || o.Campaign.Enabled || o.Referer.Enabled
}

// Validate checks the options' shape, naming the key under enrich.; New
// opens the database.
func (o Options) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("enrich.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c := o.UserAgent.CacheSize; c < 1 || c > MaxCacheSize {
		bad("user_agent.cache_size", "%d is out of range; use 1 to %d (the default is %d)", c, MaxCacheSize, DefaultCacheSize)
	}
	if n := o.UserAgent.MaxParsesPerRequest; n < 1 {
		bad("user_agent.max_parses_per_request", "%d is less than 1; use at least 1 (the default is %d)", n, DefaultMaxParsesPerRequest)
	}
	if n := o.UserAgent.MaxParsesPerSecond; n < 1 {
		bad("user_agent.max_parses_per_second", "%d is less than 1; use at least 1 (the default is %d)", n, DefaultMaxParsesPerSecond)
	}
	if o.Geo.Enabled && o.Geo.Database == "" {
		bad("geo.database", "is empty while enrich.geo.enabled is true; name a MaxMind-format .mmdb file, such as GeoLite2-City.mmdb")
	}
	for i, d := range o.Referer.InternalDomains {
		if normalDomain(d) == "" {
			bad(fmt.Sprintf("referer.internal_domains[%d]", i), "%q is not a host name; write a domain such as example.com", d)
		}
	}
	for i, s := range o.Referer.Sources {
		key := fmt.Sprintf("referer.sources[%d]", i)
		if s.Name == "" || len(s.Name) > 64 {
			bad(key+".name", "must be 1 to 64 bytes; name the source, such as Intranet Search")
		}
		switch s.Medium {
		case MediumSearch, MediumSocial, MediumEmail:
		default:
			bad(key+".medium", "%q is not a medium; use search, social or email", s.Medium)
		}
		if len(s.Domains) == 0 {
			bad(key+".domains", "is empty; list the source's host names, such as search.example.com")
		}
		for j, d := range s.Domains {
			if normalDomain(strings.TrimSuffix(d, ".*")) == "" {
				bad(fmt.Sprintf("%s.domains[%d]", key, j), "%q is not a host name; write a domain such as example.com or example.*", d)
			}
		}
		for j, p := range s.Params {
			if p == "" {
				bad(fmt.Sprintf("%s.params[%d]", key, j), "is empty; name a query parameter, such as q")
			}
		}
	}
	return errors.Join(errs...)
}
