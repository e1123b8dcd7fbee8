// Package tables derives a typed table per contract, database-neutral:
// from a contract's JSON Schema it builds a Table (sanitised names, a Kind
// per column, comments, where each column's value comes from), and Plan
// compares that with the table a live database holds and returns the DDL
// that brings the database up to it, never dropping or narrowing a column.
//
// A database plugs in through Dialect (its identifier rules, type names and
// DDL); the PostgreSQL sink is the first, and MySQL or SQLite typed tables
// reuse the model and the planner as they are. Envelope columns come from
// internal/sink/columns, the one mapping of an envelope to columns.
//
// The rules (names, types, migrations) are documented for users in
// docs/sinks/postgres.md; tests hold each of them.
package tables

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/sink/columns"
)

// Kind is what a typed column holds, whatever the database calls it.
type Kind int

// Kinds, from JSON Schema types and formats.
const (
	Text      Kind = iota // string
	BigInt                // integer
	Double                // number
	Bool                  // boolean
	Timestamp             // string, format date-time
	Date                  // string, format date
	UUID                  // string, format uuid
	JSON                  // object past the flattening depth, array, anything else
)

var kindNames = [...]string{"text", "bigint", "double", "bool", "timestamp", "date", "uuid", "json"}

// String is the kind's name, also the suffix of a column added when a
// property's type widens past what its column holds.
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return "kind" + strconv.Itoa(int(k))
	}
	return kindNames[k]
}

// Holds reports whether a column of kind k can hold every value of kind
// want without loss of meaning: its own kind, integers in a double column,
// and anything in a JSON column. Plan keeps a column that holds what a
// property now needs, and never narrows one.
func (k Kind) Holds(want Kind) bool {
	return k == want || k == JSON || (k == Double && want == BigInt)
}

// Column is one column of a typed table.
type Column struct {
	// Name is the column's identifier, sanitised for the dialect.
	Name string
	Kind Kind
	// Nullable is false only for envelope columns that are never NULL and
	// properties required all the way from the event's root.
	Nullable bool
	// Comment is the property's description; empty for none.
	Comment string
	// Source says where the value comes from: exactly one of its fields
	// is set.
	Source Source
}

// Source is where a column's value comes from in a record.
type Source struct {
	// Envelope is the name of an envelope column (internal/sink/columns).
	Envelope string
	// Path is a property's path in the event data (payload), outermost
	// first.
	Path []string
	// Context is a context contract, "vendor/name/MODEL": the column holds
	// the data of every context of that contract the event carries, as a
	// JSON array.
	Context string
}

// Table is the typed table of one contract MODEL.
type Table struct {
	// Name is the table's identifier, sanitised for the dialect.
	Name string
	// Contract is "vendor/name/MODEL", the contracts the table holds.
	Contract string
	// Version is the contract version the table was derived from.
	Version string
	// Comment is the table's comment: the contract, its description and
	// owner, and the version that created it.
	Comment string
	Columns []Column
}

// Options shape the model.
type Options struct {
	// FlattenDepth is how many levels of nested objects become columns of
	// their own ("address.city" is address_city at depth 2); deeper
	// objects are one JSON column. 1 keeps every object as JSON.
	FlattenDepth int
	// MaxColumns bounds the columns one table gets from its contract and
	// contexts (a schema with thousands of properties stops there); the
	// rest stay readable in the raw table.
	MaxColumns int
}

// DefaultOptions are the model's defaults.
func DefaultOptions() Options { return Options{FlattenDepth: 3, MaxColumns: 400} }

// Envelope names the envelope columns a typed table carries: every column
// of a good record but the event data and contexts, which become typed
// columns, and valid, which is always true there.
func Envelope() []columns.Column {
	var out []columns.Column
	for _, c := range columns.Good() {
		switch c.Name {
		case "payload", "contexts", "valid":
			continue
		}
		out = append(out, c)
	}
	return out
}

// envelopeKind maps an envelope column type to a Kind.
func envelopeKind(t columns.Type) Kind {
	switch t {
	case columns.Bool:
		return Bool
	case columns.Time:
		return Timestamp
	case columns.JSON:
		return JSON
	}
	return Text
}

// TableName is the table of a contract MODEL: <vendor>_<name>_<model>,
// sanitised ("com.acme/checkout", MODEL 2: com_acme_checkout_2). When it
// must be shortened, <vendor>_<name> is cut and hashed and the MODEL kept
// whole, so the tables of one contract's MODELs still sort together.
func TableName(d Dialect, vendor, name string, model int) string {
	suffix := "_" + strconv.Itoa(model)
	base := Sanitize(limited{d, d.MaxIdentifier() - len(suffix)}, vendor+"_"+name)
	return base + suffix
}

// limited is d with a shorter identifier limit.
type limited struct {
	Dialect
	limit int
}

func (l limited) MaxIdentifier() int { return l.limit }

// ContextColumn is the column of a context contract's data:
// contexts_<vendor>_<name>_<model>, sanitised, as Snowplow's loaders name
// them.
func ContextColumn(d Dialect, key string) string {
	return Sanitize(d, "contexts_"+strings.ReplaceAll(key, "/", "_"))
}

// ContextKey returns "vendor/name/MODEL" for a context's schema key, or
// false when it is not a schema key.
func ContextKey(schema string) (string, bool) {
	k, err := contract.ParseKey(schema)
	if err != nil {
		return "", false
	}
	return k.Vendor + "/" + k.Name + "/" + strconv.Itoa(k.Version.Model), true
}

// ErrNotObject is returned for a contract whose events are not objects:
// it has no properties to make columns of.
var ErrNotObject = errors.New("contract does not describe an object")

// FromContract derives the typed table of c's MODEL as c describes it,
// with a column for each context contract in contexts ("vendor/name/MODEL").
//
// Columns come in this order, each taking the first free name: the
// envelope columns, the contexts (sorted), then the properties, shallower
// before deeper and by path. A column whose name is taken gets '_' and
// the hash of its path (Disambiguate).
func FromContract(d Dialect, c *contract.Contract, contexts []string, o Options) (*Table, error) {
	var root map[string]any
	if err := json.Unmarshal(c.Document, &root); err != nil {
		return nil, fmt.Errorf("read contract %s: %w", c.URI, err)
	}
	if !isObjectSchema(root) {
		return nil, fmt.Errorf("typed table for %s: %w", c.URI, ErrNotObject)
	}
	k := c.Key
	t := &Table{
		Name:     TableName(d, k.Vendor, k.Name, k.Version.Model),
		Contract: k.Vendor + "/" + k.Name + "/" + strconv.Itoa(k.Version.Model),
		Version:  c.Version,
	}
	t.Comment = tableComment(root, c)
	taken := map[string]bool{}
	add := func(col Column, from string) {
		if taken[col.Name] {
			col.Name = Disambiguate(d, col.Name, from)
		}
		taken[col.Name] = true
		t.Columns = append(t.Columns, col)
	}
	for _, ec := range Envelope() {
		add(Column{Name: ec.Name, Kind: envelopeKind(ec.Type), Nullable: ec.Nullable && ec.Name != columns.Key, Source: Source{Envelope: ec.Name}}, ec.Name)
	}
	ctxs := append([]string(nil), contexts...)
	sort.Strings(ctxs)
	for i, key := range ctxs {
		if i > 0 && ctxs[i-1] == key {
			continue
		}
		if len(t.Columns) >= o.MaxColumns {
			break
		}
		add(Column{Name: ContextColumn(d, key), Kind: JSON, Nullable: true, Comment: "data of the " + key + " contexts the event carries", Source: Source{Context: key}}, "contexts/"+key)
	}
	var props []property
	collect(root, nil, true, max(o.FlattenDepth, 1), &props)
	sort.SliceStable(props, func(i, j int) bool {
		if len(props[i].path) != len(props[j].path) {
			return len(props[i].path) < len(props[j].path)
		}
		return strings.Join(props[i].path, "\x00") < strings.Join(props[j].path, "\x00")
	})
	for _, p := range props {
		if len(t.Columns) >= o.MaxColumns {
			break
		}
		add(Column{Name: Sanitize(d, strings.Join(p.path, "_")), Kind: p.kind, Nullable: !p.required, Comment: p.comment, Source: Source{Path: p.path}}, strings.Join(p.path, "/"))
	}
	return t, nil
}

type property struct {
	path     []string
	kind     Kind
	required bool
	comment  string
}

// collect appends the columns of the object schema s, at path, to out;
// required says every object on the way is required.
func collect(s map[string]any, path []string, required bool, depth int, out *[]property) {
	props, _ := s["properties"].(map[string]any)
	req := map[string]bool{}
	if list, ok := s["required"].([]any); ok {
		for _, r := range list {
			if name, ok := r.(string); ok {
				req[name] = true
			}
		}
	}
	for name, v := range props {
		ps, ok := v.(map[string]any)
		if !ok {
			continue // a boolean schema: no type to go by, and rare
		}
		p := append(append([]string(nil), path...), name)
		kind, nullable := kindOf(ps)
		isReq := required && req[name] && !nullable
		if isObjectSchema(ps) && len(p) < depth {
			if _, hasProps := ps["properties"].(map[string]any); hasProps {
				collect(ps, p, isReq, depth, out)
				continue
			}
		}
		desc, _ := ps["description"].(string)
		*out = append(*out, property{path: p, kind: kind, required: isReq, comment: desc})
	}
}

// kindOf maps a property schema to a Kind, and says whether null is one of
// its types.
func kindOf(s map[string]any) (Kind, bool) {
	var types []string
	switch t := s["type"].(type) {
	case string:
		types = []string{t}
	case []any:
		for _, x := range t {
			if name, ok := x.(string); ok {
				types = append(types, name)
			}
		}
	}
	nullable := false
	var kinds []string
	for _, t := range types {
		if t == "null" {
			nullable = true
		} else {
			kinds = append(kinds, t)
		}
	}
	if len(kinds) != 1 {
		// No type, or several: JSON holds whatever comes. A missing type
		// also means null may come.
		return JSON, nullable || len(kinds) == 0
	}
	switch kinds[0] {
	case "string":
		switch s["format"] {
		case "date-time":
			return Timestamp, nullable
		case "date":
			return Date, nullable
		case "uuid":
			return UUID, nullable
		}
		return Text, nullable
	case "integer":
		return BigInt, nullable
	case "number":
		return Double, nullable
	case "boolean":
		return Bool, nullable
	}
	return JSON, nullable
}

func isObjectSchema(s map[string]any) bool {
	switch t := s["type"].(type) {
	case string:
		return t == "object"
	case []any:
		for _, x := range t {
			if x == "object" {
				return true
			}
		}
		return false
	}
	_, ok := s["properties"].(map[string]any)
	return ok
}

// tableComment says what the table holds: the contract, its description
// and owner (x-accord), and the version that created it.
func tableComment(root map[string]any, c *contract.Contract) string {
	parts := []string{"Accord typed table of " + c.Key.Vendor + "/" + c.Key.Name + " MODEL " + strconv.Itoa(c.Key.Version.Model) + ", created for " + c.Version}
	meta, _ := root["x-accord"].(map[string]any)
	desc, _ := meta["description"].(string)
	if desc == "" {
		desc, _ = root["description"].(string)
	}
	// Parts are joined with ". ": a description's own closing full stop
	// would double it.
	if desc = strings.TrimSuffix(strings.TrimSpace(desc), "."); desc != "" {
		parts = append(parts, desc)
	}
	if owner, _ := meta["owner"].(string); owner != "" {
		parts = append(parts, "owner: "+owner)
	}
	return strings.Join(parts, ". ")
}
