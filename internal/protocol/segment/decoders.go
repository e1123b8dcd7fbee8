package segment

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/jsonscan"
	"github.com/accord-events/accord/internal/protocol"
)

// Path is the route of every Segment call: /v1/track ... /v1/batch.
const Path = "/v1/{call}"

// Options configures the Segment endpoints.
type Options struct {
	Enabled     bool          `yaml:"enabled" doc:"Serve Segment's HTTP tracking API: POST /v1/track, identify, page, screen, group, alias and batch."`
	Sources     []Source      `yaml:"sources" doc:"The Segment sources that may send, each with its write key; a request with any other key is refused with 401 and nothing is stored."`
	DedupWindow time.Duration `yaml:"dedup_window" doc:"How long a messageId is remembered: a message sent again within it (a library retrying) is dropped and counted under protocols in GET /stats; 0 turns deduplication off."`
	DedupMaxIDs int           `yaml:"dedup_max_ids" doc:"Most message ids remembered; beyond it the oldest are forgotten, bounding memory (about 100 bytes an id)."`
	Limits      `yaml:",inline"`
}

// Source is one Segment source.
type Source struct {
	Name      string `yaml:"name" doc:"Name of the source, such as web or ios, kept on every record's attributes as source."`
	WriteKey  string `yaml:"write_key" doc:"The source's write key, sent by the libraries as HTTP Basic user name or as writeKey in the body; best set from the environment."`
	Unplanned Policy `yaml:"unplanned" doc:"What happens to a message no contract's tracking plan covers: allow (stored good, without a contract; the default when empty), flag (stored good, marked unplanned in attributes) or block (stored failed as unplanned_event)."`
}

// DefaultOptions returns the defaults: on, no sources (so every request is
// refused until one is configured), a day's dedup window of up to a
// million ids, and Segment's size limits.
func DefaultOptions() Options {
	return Options{Enabled: true, DedupWindow: 24 * time.Hour, DedupMaxIDs: 1_000_000, Limits: DefaultLimits()}
}

// Validate reports every problem, keys relative to protocols.segment.
func (o Options) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	keys := map[string]int{}
	for i, s := range o.Sources {
		key := fmt.Sprintf("sources[%d]", i)
		if s.Name == "" {
			bad(key+".name", "must not be empty; name the source, such as web")
		}
		if s.WriteKey == "" {
			bad(key+".write_key", "must not be empty; set it to the source's write key (from the environment: ACCORD_PROTOCOLS_SEGMENT_SOURCES_%d_WRITE_KEY)", i)
		} else if j, dup := keys[s.WriteKey]; dup {
			bad(key+".write_key", "is the same as sources[%d]'s; each source needs its own key", j)
		}
		keys[s.WriteKey] = i
		if err := s.Unplanned.Validate(); err != nil && s.Unplanned != "" {
			bad(key+".unplanned", "%q is not a policy; use allow, flag or block", string(s.Unplanned))
		}
	}
	if o.DedupWindow < 0 {
		bad("dedup_window", "%s must not be negative; use 0 to turn deduplication off, or a window such as 24h", o.DedupWindow)
	}
	if o.DedupWindow > 0 && o.DedupMaxIDs < 1 {
		bad("dedup_max_ids", "%d must be at least 1 while dedup_window is set, such as 1000000", o.DedupMaxIDs)
	}
	if err := o.Limits.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Decoders answers Segment libraries: it checks the write key, reads the
// messages, drops the ones already seen, and maps each to its contract
// through the tracking plan the contracts declare, applying the source's
// policy to what the plan does not cover. Its Handle is a
// protocol.Decoder.
type Decoders struct {
	opts      Options
	byKey     map[[sha256.Size]byte]Source
	decoder   Decoder
	dedup     *Dedup
	contracts protocol.ContractSet
	counters  *protocol.Counters
	now       func() time.Time

	planMu sync.Mutex
	plan   atomic.Pointer[planAt]
	// PlanProblems reports a tracking plan that could not be built whole
	// (two contracts claiming one event); the entries in conflict are left
	// out. Set it before serving; nil ignores them.
	PlanProblems func(error)
}

type planAt struct {
	generation uint64
	plan       *Plan
}

// NewDecoders returns the Segment decoders for validated options.
func NewDecoders(opts Options, contracts protocol.ContractSet, counters *protocol.Counters) *Decoders {
	c := &Decoders{
		opts:      opts,
		byKey:     make(map[[sha256.Size]byte]Source, len(opts.Sources)),
		decoder:   Decoder{Limits: opts.Limits},
		dedup:     NewDedup(opts.DedupWindow, opts.DedupMaxIDs),
		contracts: contracts,
		counters:  counters,
		now:       time.Now,
	}
	for _, s := range opts.Sources {
		c.byKey[sha256.Sum256([]byte(s.WriteKey))] = s
	}
	return c
}

// Handle reads one Segment call.
func (c *Decoders) Handle(req *protocol.Request) ([]event.Input, *protocol.Reply, error) {
	call := req.PathValue("call")
	key, ok := WriteKey(req)
	if !ok {
		return nil, nil, protocol.Refusef(http.StatusUnauthorized, "missing_write_key",
			"the request carries no write key; send it as the HTTP Basic user name (as Segment's libraries do) or as writeKey in the body")
	}
	// Looked up by digest: how long the lookup takes depends on the
	// digest of what was sent, not on how much of a real key it matches.
	src, ok := c.byKey[sha256.Sum256([]byte(key))]
	if !ok {
		return nil, nil, protocol.Refusef(http.StatusUnauthorized, "unknown_write_key",
			"the write key is not one of protocols.segment.sources; check the key the library was set up with")
	}
	msgs, err := c.decoder.Decode(req, call)
	if err != nil {
		var perr *protocol.Error
		if errors.As(err, &perr) && !perr.Refused {
			// The body is stored as a failed record: without the key.
			perr.Raw = redactWriteKey(req.Body, key)
		}
		return nil, nil, err
	}
	now := c.now()
	plan := c.currentPlan()
	inputs := make([]event.Input, 0, len(msgs))
	var ids []string
	// The ids of the batch so far, to drop a message repeated within it:
	// a set, so that a batch of n messages costs n lookups, not n*n/2
	// comparisons (9,500 messages took 0.3 s that way).
	var inBatch map[string]struct{}
	if len(msgs) > 1 {
		inBatch = make(map[string]struct{}, len(msgs))
	}
	for _, m := range msgs {
		in := m.Input
		in.Attributes = withSource(in.Attributes, src.Name, false)
		if in.Failure != nil {
			inputs = append(inputs, in)
			continue
		}
		_, again := inBatch[in.EventID]
		if c.dedup.Has(src.Name, in.EventID, now) || (in.EventID != "" && again) {
			c.counters.Add(Name+".duplicates", 1)
			continue
		}
		if in.EventID != "" {
			ids = append(ids, in.EventID)
			if inBatch != nil {
				inBatch[in.EventID] = struct{}{}
			}
		}
		if schema, ok := plan.Lookup(m.Call, m.Event); ok {
			in.SchemaKey = schema
		} else {
			switch src.Unplanned {
			case Flag:
				in.Arbitrary = true
				in.Attributes = withSource(m.Input.Attributes, src.Name, true)
			case Block:
				in.Failure = event.NewFailure(event.UnplannedEvent, fmt.Sprintf(
					"no contract's tracking plan covers this %s%s; list it in a contract's x-accord segment_events (or its call in segment_calls), or set this source's unplanned policy to allow or flag",
					m.Call, quoted(m.Event)))
			default:
				in.Arbitrary = true
			}
		}
		inputs = append(inputs, in)
	}
	reply := &protocol.Reply{Stored: func() {
		for _, id := range ids {
			c.dedup.Add(src.Name, id, now)
		}
	}}
	return inputs, reply, nil
}

// redactWriteKey returns body without its top-level writeKey when body is a
// JSON object. A body that is not one (cut short, say) cannot lose the
// member, so key, the write key the request was authenticated with, is
// taken out of it wherever its text appears, as sent or JSON-escaped.
func redactWriteKey(body []byte, key string) []byte {
	start := jsonscan.SkipSpace(body, protocol.SkipBOM(body))
	if start < len(body) && body[start] == '{' {
		// Skip: a body whose data repeats a member name is still an object.
		if end, err := jsonscan.Skip(body, start); err == nil {
			return withoutWriteKey(body, start, end)
		}
	}
	if key == "" {
		return body
	}
	out := bytes.ReplaceAll(body, []byte(key), []byte(redactedKey))
	if lit := jsonscan.AppendString(nil, key); string(lit[1:len(lit)-1]) != key {
		out = bytes.ReplaceAll(out, lit[1:len(lit)-1], []byte(redactedKey))
	}
	return out
}

// redactedKey stands in for a write key taken out of a stored body.
const redactedKey = "REDACTED"

func quoted(name string) string {
	if name == "" {
		return ""
	}
	return fmt.Sprintf(" %q", name)
}

func newer(a, b contract.SchemaVer) bool {
	if a.Model != b.Model {
		return a.Model > b.Model
	}
	if a.Revision != b.Revision {
		return a.Revision > b.Revision
	}
	return a.Addition > b.Addition
}

// withSource adds the source's name (and, for a flagged message,
// "unplanned": true) to a message's attributes object.
func withSource(attrs []byte, source string, unplanned bool) []byte {
	extra, _ := json.Marshal(source)
	head := `{"source":` + string(extra)
	if unplanned {
		head += `,"unplanned":true`
	}
	if len(attrs) < 2 || strings.TrimSpace(string(attrs[1:len(attrs)-1])) == "" {
		return []byte(head + "}")
	}
	out := make([]byte, 0, len(head)+len(attrs)+1)
	out = append(out, head...)
	out = append(out, ',')
	return append(out, attrs[1:]...)
}

// currentPlan returns the tracking plan of the contracts as they are now,
// building it again when they have changed.
func (c *Decoders) currentPlan() *Plan {
	gen := c.contracts.Generation()
	if p := c.plan.Load(); p != nil && p.generation == gen {
		return p.plan
	}
	c.planMu.Lock()
	defer c.planMu.Unlock()
	if p := c.plan.Load(); p != nil && p.generation == gen {
		return p.plan
	}
	plan, err := PlanOf(c.contracts.Contracts())
	if err != nil && c.PlanProblems != nil {
		c.PlanProblems(err)
	}
	c.plan.Store(&planAt{generation: gen, plan: plan})
	return plan
}

// PlanOf builds the tracking plan the contracts declare in their x-accord
// block: "segment_events": ["Order Completed"], "segment_calls": ["identify"].
// Of the versions of one contract, the latest that declares a plan is used,
// so events go to the newest version. An event name or call type claimed by
// two contracts goes to the first by key and the conflict is reported in
// the error; everything else is in the plan.
func PlanOf(contracts []*contract.Contract) (*Plan, error) {
	latest := map[string]PlanEntry{}
	versions := map[string]contract.SchemaVer{}
	for _, ct := range contracts {
		var doc struct {
			Accord struct {
				Events []string `json:"segment_events"`
				Calls  []string `json:"segment_calls"`
			} `json:"x-accord"`
		}
		if err := json.Unmarshal(ct.Document, &doc); err != nil || len(doc.Accord.Events)+len(doc.Accord.Calls) == 0 {
			continue
		}
		name := ct.Key.Vendor + "/" + ct.Key.Name
		if v, ok := versions[name]; ok && !newer(ct.Key.Version, v) {
			continue
		}
		versions[name] = ct.Key.Version
		latest[name] = PlanEntry{SchemaKey: ct.URI, Events: doc.Accord.Events, Calls: doc.Accord.Calls}
	}
	names := make([]string, 0, len(latest))
	for n := range latest {
		names = append(names, n)
	}
	sort.Strings(names)
	p := &Plan{events: map[string]string{}, calls: map[string]string{}}
	var errs []error
	for _, n := range names {
		e := latest[n]
		for _, ev := range e.Events {
			if other, dup := p.events[ev]; dup {
				errs = append(errs, fmt.Errorf("event %q is covered by both %s and %s; it goes to %s until one of them stops listing it", ev, other, e.SchemaKey, other))
				continue
			}
			if ev != "" {
				p.events[ev] = e.SchemaKey
			}
		}
		for _, call := range e.Calls {
			if callOf(call) == "" {
				errs = append(errs, fmt.Errorf("%s lists call type %q; use %s", e.SchemaKey, call, callList))
				continue
			}
			if other, dup := p.calls[call]; dup {
				errs = append(errs, fmt.Errorf("call type %s is covered by both %s and %s; it goes to %s until one of them stops listing it", call, other, e.SchemaKey, other))
				continue
			}
			p.calls[call] = e.SchemaKey
		}
	}
	if len(errs) > 0 {
		return p, fmt.Errorf("tracking plan: %w", errors.Join(errs...))
	}
	return p, nil
}

// PlannedSchema returns the contract plan assigns to a record of a Segment
// message (its attributes' type and event or name), or "" when plan covers
// none: accord replay uses it for unplanned_event records once a contract
// lists them.
func PlannedSchema(plan *Plan, rec *event.Envelope) string {
	var attrs struct {
		Type  string `json:"type"`
		Event string `json:"event"`
		Name  string `json:"name"`
	}
	if rec.Protocol != Name || json.Unmarshal(rec.Attributes, &attrs) != nil {
		return ""
	}
	ev := attrs.Event
	if ev == "" {
		ev = attrs.Name
	}
	key, _ := plan.Lookup(attrs.Type, ev)
	return key
}
