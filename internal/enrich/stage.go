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
	"fmt"
	"io/fs"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/accord-events/accord/internal/contract"
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
	// keys are the context keys of the enrichments switched on.
	keys       []string
	userAgents *userAgents
	// maxParses is enrich.user_agent.max_parses_per_request.
	maxParses int
	geo       *geoDB
	geoBefore bool
	campaign  bool
	referers  *referers
	// contracts are the shipped contracts of the keys switched on, by key,
	// compiled once in New: every context an enrichment builds is checked
	// against its own before it is attached (see attach).
	contracts map[string]*contract.Contract
	log       *slog.Logger
	// invalid counts the contexts dropped for not validating; loggedAt
	// throttles their warning to one every invalidLogEvery (unix
	// nanoseconds).
	invalid  atomic.Uint64
	loggedAt atomic.Int64
}

// invalidLogEvery is how often at most a context that does not validate is
// logged: it is a bug in Accord that may hit every event, and one line in
// a while says it as well as a line per event.
const invalidLogEvery = 10 * time.Second

// shippedContracts compiles the contracts in Contracts, by key. They are
// tested: an error is a broken build.
func shippedContracts() (map[string]*contract.Contract, error) {
	sub, err := fs.Sub(Contracts, "contracts")
	if err != nil {
		return nil, err
	}
	cs, err := contract.LoadFS(sub, "enrich")
	if err != nil {
		return nil, fmt.Errorf("enrichment contracts: %w", err)
	}
	byKey := make(map[string]*contract.Contract, len(cs))
	for _, c := range cs {
		byKey[c.URI] = c
	}
	return byKey, nil
}

var _ pipeline.Stage = (*Stage)(nil)

// Policy is what the enrichments need to know of the privacy policy that
// runs before them, beyond what it leaves on each record.
type Policy struct {
	// DropsUserAgent is privacy.user_agent: drop. No user agent is parsed
	// then, not even one a tracker put in the event (Snowplow's ua,
	// Segment's context.userAgent), which the policy does not remove.
	DropsUserAgent bool
}

// New builds the stage for the enrichments opts switches on, opening the
// geolocation database (an error names the key and the fix). logger (nil:
// none) hears of a context that does not validate against its contract.
func New(opts Options, policy Policy, logger *slog.Logger) (*Stage, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if policy.DropsUserAgent {
		opts.UserAgent.Enabled = false
	}
	s := &Stage{campaign: opts.Campaign.Enabled, geoBefore: opts.Geo.BeforeAnonymising, maxParses: opts.UserAgent.MaxParsesPerRequest}
	if opts.UserAgent.Enabled {
		ua, err := newUserAgents(opts.UserAgent.CacheSize)
		if err != nil {
			return nil, err
		}
		ua.rate = newParseRate(opts.UserAgent.MaxParsesPerSecond, time.Now)
		s.userAgents = ua
		s.keys = append(s.keys, KeyUserAgent)
	}
	if opts.Geo.Enabled {
		g, err := openGeo(opts.Geo.Database)
		if err != nil {
			return nil, err
		}
		s.geo = g
		s.keys = append(s.keys, KeyGeolocation)
	}
	if opts.Campaign.Enabled {
		s.keys = append(s.keys, KeyCampaign)
	}
	if opts.Referer.Enabled {
		s.referers = newReferers(opts.Referer)
		s.keys = append(s.keys, KeyReferer)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s.log = logger
	shipped, err := shippedContracts()
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	s.contracts = make(map[string]*contract.Contract, len(s.keys))
	for _, key := range s.keys {
		c := shipped[key]
		if c == nil {
			_ = s.Close()
			return nil, fmt.Errorf("enrichment contracts: none ships for %s", key)
		}
		s.contracts[key] = c
	}
	return s, nil
}

// Invalid is how many contexts the enrichments built and dropped for not
// validating against their contract since the stage was built: zero
// unless Accord has a bug.
func (s *Stage) Invalid() uint64 { return s.invalid.Load() }

// valid reports whether data validates against the contract of key. A
// context that does not is Accord's bug, not the sender's: it is dropped
// (the event keeps its other contexts and stays valid), counted, and
// logged with the key and where the validator found the problem at most
// once every invalidLogEvery.
func (s *Stage) valid(key string, data []byte) bool {
	c := s.contracts[key]
	if ok, err := c.Valid(data); ok && err == nil {
		return true
	}
	n := s.invalid.Add(1)
	if now := time.Now().UnixNano(); now-s.loggedAt.Load() > int64(invalidLogEvery) {
		s.loggedAt.Store(now)
		// Where and which keyword, not the validator's sentence: that
		// quotes the value, which comes from what the sender sent. Only
		// a context that is logged pays for the stock validator's
		// messages.
		where, keyword := "", "not JSON"
		if msgs, err := c.ValidateJSON(data, ""); err == nil && len(msgs) > 0 {
			where, keyword = msgs[0].InstancePath, msgs[0].Keyword
		}
		s.log.Error("enrichment context does not validate against its contract; dropped it (a bug in Accord: please report it)",
			"key", key, "instance_path", where, "keyword", keyword, "dropped_since_start", n)
	}
	return false
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
	var had [4]bool // by the index of the key in s.keys
	if req.Replay {
		// A stored record already has what was found when it was
		// collected, from what the request then carried: it is kept, not
		// looked up again from what the record kept (less, after the
		// privacy policy) nor added twice.
		for _, c := range env.Contexts {
			for k, key := range s.keys {
				had[k] = had[k] || c.Schema == key
			}
		}
	} else {
		env.Contexts = s.withoutOwnKeys(env.Contexts)
	}
	// wants reports whether the enrichment of key is to run: not when a
	// replayed record already has its context.
	wants := func(key string) bool {
		for k, own := range s.keys {
			if own == key {
				return !had[k]
			}
		}
		return false
	}
	f := readFields(env)
	var added [4]event.Context
	n := 0
	add := func(key string, data []byte) {
		if data != nil && s.valid(key, data) {
			added[n] = event.Context{Schema: key, Data: data}
			n++
		}
	}
	if s.userAgents != nil && wants(KeyUserAgent) {
		add(KeyUserAgent, s.userAgents.context(userAgent(req, env, f), parses))
	}
	if s.geo != nil && wants(KeyGeolocation) {
		if ip, how := s.address(req, env); ip != "" {
			add(KeyGeolocation, s.geo.context(ip, how))
		}
	}
	if s.campaign && wants(KeyCampaign) {
		add(KeyCampaign, campaign(f.pageURL))
	}
	if s.referers != nil && wants(KeyReferer) {
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

// withoutOwnKeys returns contexts without those of the enrichments
// switched on, which a client has no business sending: the record's
// context of such a key is Accord's own. The slice is copied only when
// there is one to remove.
func (s *Stage) withoutOwnKeys(contexts []event.Context) []event.Context {
	own := func(c event.Context) bool {
		for _, key := range s.keys {
			if c.Schema == key {
				return true
			}
		}
		return false
	}
	for i := range contexts {
		if own(contexts[i]) {
			kept := make([]event.Context, 0, len(contexts)-1)
			for _, c := range contexts {
				if !own(c) {
					kept = append(kept, c)
				}
			}
			return kept
		}
	}
	return contexts
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
