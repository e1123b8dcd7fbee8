// Package enrich is the pipeline stage that adds what Accord can tell about
// an event beyond what was sent: the user agent parsed, the IP address's
// location, campaign attribution from the page URL, and where the visit came
// from. Each enrichment is switched on in the enrich: section and attaches
// one context whose contract ships with Accord (Contracts), so enriched
// records validate, document and type like any other.
//
// It runs after the privacy stage and reads each record as privacy left it:
// an IP address the policy anonymised is looked up anonymised, one it
// dropped is not looked up at all (see GeoOptions.BeforeAnonymising).
package enrich

import (
	"embed"
	"time"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/pipeline"
)

// Contracts holds the contracts of the contexts the enrichments attach,
// laid out as a contracts directory under "contracts":
// contracts/dev.accord/{name}/jsonschema/1-0-0. The application loads
// them into the registry beside the user's contracts, where the registry
// API serves them.
//
//go:embed contracts
var Contracts embed.FS

// Stage is the pipeline stage running the enrichments switched on. It is
// safe for concurrent use; Close releases the geolocation database.
type Stage struct {
	userAgents *userAgents
	// maxParses is enrich.user_agent.max_parses_per_request.
	maxParses int
	geo       *geoDB
	geoBefore bool
	campaign  bool
	referers  *referers
}

var _ pipeline.Stage = (*Stage)(nil)

// New builds the stage for the enrichments opts switches on, opening the
// geolocation database (an error names the key and the fix).
func New(opts Options) (*Stage, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	s := &Stage{campaign: opts.Campaign.Enabled, geoBefore: opts.Geo.BeforeAnonymising, maxParses: opts.UserAgent.MaxParsesPerRequest}
	if opts.UserAgent.Enabled {
		ua, err := newUserAgents(opts.UserAgent.CacheSize)
		if err != nil {
			return nil, err
		}
		ua.rate = newParseRate(opts.UserAgent.MaxParsesPerSecond, time.Now)
		s.userAgents = ua
	}
	if opts.Geo.Enabled {
		g, err := openGeo(opts.Geo.Database)
		if err != nil {
			return nil, err
		}
		s.geo = g
	}
	if opts.Referer.Enabled {
		s.referers = newReferers(opts.Referer)
	}
	return s, nil
}

// Close releases the geolocation database; the stage must not run after.
func (s *Stage) Close() error {
	if s.geo == nil {
		return nil
	}
	return s.geo.Close()
}

// Process implements pipeline.Stage: each valid event gets the contexts of
// the enrichments that found something, after those it was sent with.
// Failed events are left alone: their record is for fixing the sender.
func (s *Stage) Process(req pipeline.Request, events []pipeline.Event) {
	// The request's budget of user agents parsed: a cached one is free.
	parses := s.maxParses
	for i := range events {
		if env := &events[i].Envelope; env.Valid {
			s.enrich(&req, env, &parses)
		}
	}
}

func (s *Stage) enrich(req *pipeline.Request, env *event.Envelope, parses *int) {
	f := readFields(env)
	var added [4]event.Context
	n := 0
	add := func(key string, data []byte) {
		if data != nil {
			added[n] = event.Context{Schema: key, Data: data}
			n++
		}
	}
	if s.userAgents != nil {
		add(KeyUserAgent, s.userAgents.context(userAgent(req, env, f), parses))
	}
	if s.geo != nil {
		if ip, how := s.address(req, env); ip != "" {
			add(KeyGeolocation, s.geo.context(ip, how))
		}
	}
	if s.campaign {
		add(KeyCampaign, campaign(f.pageURL))
	}
	if s.referers != nil {
		add(KeyReferer, s.referers.context(f.referrer, f.pageURL))
	}
	if n == 0 {
		return
	}
	// A new array: the record's contexts may share the protocol's, which
	// stages only read.
	have := len(env.Contexts)
	env.Contexts = append(env.Contexts[:have:have], added[:n]...)
}

// userAgent is the user agent to parse: the one the tracker reports for
// the event, else the request's. None when the privacy policy dropped the
// request's: the record keeps no user agent, and its parsed form would say
// much of it.
func userAgent(req *pipeline.Request, env *event.Envelope, f fields) string {
	if req.Source.UserAgent != "" && env.Source.UserAgent == "" {
		return ""
	}
	if f.userAgent != "" {
		return f.userAgent
	}
	return env.Source.UserAgent
}

// address is the IP address to look up and which one it is: the record's,
// as the privacy policy left it, or with before_anonymising the one the
// request came from, but only when the record still keeps one (the policy
// anonymised it rather than dropped it).
func (s *Stage) address(req *pipeline.Request, env *event.Envelope) (string, string) {
	stored := env.Source.IP
	if stored == "" {
		return "", ""
	}
	if s.geoBefore && req.Source.IP != "" && req.Source.IP != stored {
		return req.Source.IP, lookedUpBeforeAnonymising
	}
	return stored, lookedUpStored
}
