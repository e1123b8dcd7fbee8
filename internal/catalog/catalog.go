// Package catalog is the browsable description of a set of contracts: every
// contract with its versions, the compatibility diff and SchemaVer bump
// between consecutive versions, each version's fields (type, description,
// privacy rule), its x-accord metadata, where its events land (the sinks and
// their tables, topics or streams, named by the sinks' own naming
// functions) and one generated example event that its own validator accepts.
//
// The model is plain data, JSON-serialisable, built once from a contract set
// by Build. accord gen catalog writes it as catalog.json and as a static
// HTML site (html.go); the admin web UI renders the same model. Build is
// deterministic: the same contracts and sinks give the same model, and the
// same bytes once marshalled.
package catalog

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/contract/compat"
	"github.com/accord-events/accord/internal/sink/tables"
)

// Format names the shape of catalog.json; it changes when the shape does.
const Format = "accord-catalog/1"

// Bounds on what one contract version contributes, so that a hostile or
// enormous schema cannot make the catalog unbounded: fields past MaxFields
// are left out (Version.FieldsTruncated says so) and the walk stops
// MaxFieldDepth levels below the event.
const (
	MaxFields     = 1000
	MaxFieldDepth = 12
)

// Catalog is every contract of a set.
type Catalog struct {
	Format    string     `json:"format"`
	Contracts []Contract `json:"contracts"`
}

// Contract is one contract (vendor, name and format) and all its versions.
type Contract struct {
	// ID is vendor/name/format, the contract without its version.
	ID     string `json:"id"`
	Vendor string `json:"vendor"`
	Name   string `json:"name"`
	Format string `json:"format"`
	// Latest is the highest version.
	Latest string `json:"latest"`
	// Builtin is true for the contracts that ship with Accord (the Snowplow
	// event types and the enrichments' contexts).
	Builtin bool `json:"builtin"`
	// Versions in SchemaVer order, oldest first.
	Versions []Version `json:"versions"`
	// Steps compares each version with the one before it.
	Steps []Step `json:"steps"`
	// Gaps are versions missing from the sequence.
	Gaps []compat.Gap `json:"gaps"`
}

// Version is one version of a contract.
type Version struct {
	Version string `json:"version"`
	// Key is the schema key events name: iglu:vendor/name/format/M-R-A.
	Key string `json:"key"`
	// Source is where the version was loaded from.
	Source string `json:"source"`
	// Superseded is true when a higher MODEL of the contract exists.
	Superseded bool `json:"superseded"`

	Description string   `json:"description"`
	Owner       string   `json:"owner"`
	Team        string   `json:"team"`
	Tags        []string `json:"tags"`
	SLA         *SLA     `json:"sla,omitempty"`
	// SLAError says why x-accord.sla is no promise the alerts judge.
	SLAError string `json:"sla_error,omitempty"`
	// TrackingPlan holds the Segment event names the contract covers
	// (x-accord.segment_events); SegmentCalls the Segment call types.
	TrackingPlan []string `json:"tracking_plan"`
	SegmentCalls []string `json:"segment_calls"`
	// Destinations are the sink names x-accord.destinations declares.
	Destinations []string `json:"destinations"`

	Fields          []Field `json:"fields"`
	FieldsTruncated bool    `json:"fields_truncated,omitempty"`
	// Places are where the version's good events land.
	Places []Place `json:"places"`
	// Example is a generated event its validator accepts; ExampleError
	// says why there is none.
	Example      json.RawMessage `json:"example,omitempty"`
	ExampleError string          `json:"example_error,omitempty"`
	// Schema is the version's document as stored.
	Schema json.RawMessage `json:"schema"`
}

// SLA is x-accord.sla.
type SLA struct {
	Freshness    string `json:"freshness,omitempty"`
	VolumePerDay *int64 `json:"volume_per_day,omitempty"`
}

// Field is one property of the event data, at any depth.
type Field struct {
	// Path is the property's path in words: "address.city", "items[].sku".
	Path string `json:"path"`
	// Pointer is the JSON pointer of its schema in the document.
	Pointer string `json:"pointer"`
	// Type is the JSON Schema type(s), joined with "|"; "any" for none.
	Type   string `json:"type"`
	Format string `json:"format,omitempty"`
	// Required is true when the property's parent object requires it.
	Required    bool   `json:"required"`
	Description string `json:"description"`
	// Enum lists the allowed values, when there is an enum or a const.
	Enum []json.RawMessage `json:"enum,omitempty"`
	PII  *PII              `json:"pii,omitempty"`
}

// PII is a property's x-accord-pii rule.
type PII struct {
	Class     string `json:"class"`
	Action    string `json:"action"`
	KeepChars *int   `json:"keep_chars,omitempty"`
}

// Step is the comparison of two versions of a contract.
type Step struct {
	From     string          `json:"from"`
	To       string          `json:"to"`
	Declared compat.Bump     `json:"declared"`
	Needed   compat.Bump     `json:"needed"`
	Honest   bool            `json:"honest"`
	Changes  []compat.Change `json:"changes"`
	Error    string          `json:"error,omitempty"`
}

// Place is where a contract version's good events land in one sink.
type Place struct {
	Sink string `json:"sink"`
	Type string `json:"type"`
	// Kind is what Name names: table, topic, subject, stream,
	// routing_key, file or endpoint.
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// Sink is a configured sink as the catalog sees it: its name and type, and
// where it puts a contract version's good events.
type Sink struct {
	Name string
	Type string
	// Places returns where a good event of the contract version lands.
	Places func(c *contract.Contract) []Place
}

// Options shape Build.
type Options struct {
	// Sinks receive the good events (those whose records are all or good).
	Sinks []Sink
	// Documents resolves $refs to other contracts for the diffs; nil
	// resolves them among the contracts given to Build.
	Documents contract.Documents
}

// Build describes contracts. It never fails: a version whose example or
// diff cannot be made says so in the model.
func Build(contracts []*contract.Contract, o Options) *Catalog {
	groups := map[string][]*contract.Contract{}
	for _, c := range contracts {
		id := c.Key.Vendor + "/" + c.Key.Name + "/" + c.Key.Format
		groups[id] = append(groups[id], c)
	}
	ids := make([]string, 0, len(groups))
	for id := range groups {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	docs := o.Documents
	if docs == nil {
		docs = contract.DocumentsOf(contracts)
	}
	cat := &Catalog{Format: Format, Contracts: make([]Contract, 0, len(ids))}
	for _, id := range ids {
		vs := groups[id]
		sort.Slice(vs, func(i, j int) bool { return compat.Less(vs[i].Key.Version, vs[j].Key.Version) })
		k := vs[0].Key
		top := vs[len(vs)-1].Key.Version.Model
		cc := Contract{ID: id, Vendor: k.Vendor, Name: k.Name, Format: k.Format, Latest: vs[len(vs)-1].Version,
			Builtin: tables.Builtin(vs[0]), Versions: make([]Version, 0, len(vs)), Steps: []Step{}, Gaps: []compat.Gap{}}
		vers := make([]contract.SchemaVer, len(vs))
		for i, c := range vs {
			vers[i] = c.Key.Version
			v := describe(c, o.Sinks)
			v.Superseded = c.Key.Version.Model < top
			cc.Versions = append(cc.Versions, v)
			if i > 0 {
				cc.Steps = append(cc.Steps, compare(vs[i-1].Key.Version, c.Key.Version, vs[i-1].Document, c.Document, docs))
			}
		}
		cc.Gaps = append(cc.Gaps, compat.Gaps(id, vers)...)
		cat.Contracts = append(cat.Contracts, cc)
	}
	return cat
}

func compare(from, to contract.SchemaVer, fromDoc, toDoc []byte, docs contract.Documents) Step {
	s := Step{From: from.String(), To: to.String(), Changes: []compat.Change{}}
	if compat.Less(to, from) {
		s.Declared = compat.Model
	} else {
		s.Declared = compat.Declared(from, to)
	}
	changes, err := diff(fromDoc, toDoc, docs)
	if err != nil {
		s.Error = fmt.Sprintf("compare %s with %s: %v", s.From, s.To, err)
		s.Needed = compat.Model
	} else {
		if changes != nil {
			s.Changes = changes
		}
		s.Needed = compat.Needed(changes)
	}
	s.Honest = s.Declared >= s.Needed
	return s
}

// Find returns the contract of id (vendor/name/format), or nil.
func (c *Catalog) Find(id string) *Contract {
	i := sort.Search(len(c.Contracts), func(i int) bool { return c.Contracts[i].ID >= id })
	if i < len(c.Contracts) && c.Contracts[i].ID == id {
		return &c.Contracts[i]
	}
	return nil
}

// Version returns the version v (M-R-A) of the contract, or nil.
func (c *Contract) Version(v string) *Version {
	for i := range c.Versions {
		if c.Versions[i].Version == v {
			return &c.Versions[i]
		}
	}
	return nil
}

// Compare diffs any two versions of the contract (from need not be older
// than to: the declared bump of a step down is MODEL). $refs to other
// contracts are resolved through docs (nil: left unresolved, and a change
// to one needs a REVISION).
func (c *Contract) Compare(from, to string, docs contract.Documents) (Step, error) {
	a, b := c.Version(from), c.Version(to)
	if a == nil || b == nil {
		missing := from
		if a != nil {
			missing = to
		}
		return Step{}, fmt.Errorf("%s has no version %s", c.ID, missing)
	}
	fv, _ := contract.ParseSchemaVer(from)
	tv, _ := contract.ParseSchemaVer(to)
	return compare(fv, tv, a.Schema, b.Schema, docs), nil
}

// describe builds the version's entry.
func describe(c *contract.Contract, sinks []Sink) Version {
	v := Version{Version: c.Version, Key: c.URI, Source: c.Source, Tags: []string{}, TrackingPlan: []string{},
		SegmentCalls: []string{}, Destinations: []string{}, Fields: []Field{}, Places: []Place{},
		Schema: append(json.RawMessage(nil), c.Document...)}
	root, err := decode(c.Document)
	m, _ := root.(map[string]any)
	if err == nil && m != nil {
		meta, _ := m["x-accord"].(map[string]any)
		v.Owner = str(meta["owner"])
		v.Team = str(meta["team"])
		v.Description = str(meta["description"])
		if v.Description == "" {
			v.Description = str(m["description"])
		}
		v.Tags = strs(meta["tags"])
		v.TrackingPlan = strs(meta["segment_events"])
		v.SegmentCalls = strs(meta["segment_calls"])
		v.Destinations = strs(meta["destinations"])
		v.Fields, v.FieldsTruncated = fields(m)
	}
	// The SLA is read as the alert rules read it, so the catalog shows the
	// promise they judge, or why they judge none.
	if sla, err := c.SLA(); err != nil {
		v.SLAError = err.Error()
	} else if sla.Freshness > 0 || sla.VolumePerDay != nil {
		v.SLA = &SLA{Freshness: sla.FreshnessText, VolumePerDay: sla.VolumePerDay}
	}
	for _, s := range sinks {
		if s.Places != nil {
			v.Places = append(v.Places, s.Places(c)...)
		}
	}
	ex, err := Example(c)
	if err != nil {
		v.ExampleError = err.Error()
	} else {
		v.Example = ex
	}
	return v
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func strs(v any) []string {
	out := []string{}
	list, _ := v.([]any)
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// joinTypes renders a type keyword: "string", "string|null", "any".
func joinTypes(t any) string {
	switch t := t.(type) {
	case string:
		return t
	case []any:
		var parts []string
		for _, x := range t {
			if s, ok := x.(string); ok {
				parts = append(parts, s)
			}
		}
		if len(parts) > 0 {
			return strings.Join(parts, "|")
		}
	}
	return ""
}
