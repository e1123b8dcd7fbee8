// Package sdk generates typed tracking libraries from contracts: for each
// contract version a type whose fields carry the contract's descriptions, a
// validator that checks on the client what the collector would check, with
// messages shaped like the collector's, and a small client that sends
// self-describing events to Accord (Go, TypeScript, Python); and typed
// wrappers over the trackers people already run (Snowplow's, Segment's).
//
// Every generator reads the same model (Build): contracts sorted by vendor,
// name and version, each version's schema reduced to a rule tree of the
// keywords the client checks. The output is a set of files, each a pure
// function of the contracts, so generating twice gives the same bytes.
package sdk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/contract/schemawalk"
	"github.com/accord-events/accord/internal/jsonpointer"
	"github.com/accord-events/accord/internal/protocol/segment"
)

// Kind is what a value of a schema is, as the generated types see it.
type Kind uint8

const (
	// Any: the schema allows several JSON types or says nothing of its
	// type; the generated type is the language's "any value".
	Any Kind = iota
	String
	Integer
	Number
	Boolean
	// Object: an object with declared properties (a generated type).
	Object
	// Map: an object without declared properties.
	Map
	Array
)

// maxDepth bounds how deep the model follows nested schemas and local
// $refs, and maxNodes how many schemas it reduces per contract version
// (recursive $refs could otherwise multiply them): past either, a schema
// becomes Any, checked by the collector only.
const (
	maxDepth = 16
	maxNodes = 2000
)

// Node is one schema of a contract, reduced to what the generated code
// needs: its type, its description and the constraints checked client-side.
type Node struct {
	Kind     Kind
	Nullable bool
	// Description is the schema's "description".
	Description string
	// Props are an Object's properties, sorted by name.
	Props []*Prop
	// Items is an Array's item schema (nil: any items).
	Items *Node
	// TypeName is an Object's generated type name (without language
	// decoration), unique within the generated package.
	TypeName string
	// Rule is the reduced schema the generated validator interprets.
	Rule map[string]any
	// Unchecked lists the keywords of this schema that can reject a value
	// but are left to the collector (oneOf, a remote $ref, ...), sorted.
	Unchecked []string
}

// Prop is one property of an object schema.
type Prop struct {
	// Name is the property's name in JSON.
	Name     string
	Required bool
	Node     *Node
}

// Version is one version of a contract.
type Version struct {
	Key contract.Key
	// URI is the contract's key, iglu:vendor/name/jsonschema/M-R-A.
	URI string
	// TypeName is the generated type's name: the contract's name and its
	// version, such as CheckoutCompletedV1_0_0.
	TypeName string
	// Description is the schema's description, else x-accord's.
	Description string
	// SupersededBy is the URI of the latest version of a higher MODEL, when
	// there is one: this version is deprecated.
	SupersededBy string
	Root         *Node
}

// Contract is every version of one vendor/name, oldest first.
type Contract struct {
	Vendor, Name string
	// File is the base name (no extension) of the generated file holding
	// the contract: letters, digits and '_', unique in the package.
	File     string
	Versions []*Version
}

// TrackingEvent is one Segment event name of the contracts' tracking plans
// and the contract version it is validated against (as the collector's
// Segment protocol picks it: the latest version declaring a plan).
type TrackingEvent struct {
	Event   string
	Version *Version
	// FuncName is the wrapper function's base name (PascalCase).
	FuncName string
}

// Model is what every generator reads.
type Model struct {
	Contracts []*Contract
	// Tracking is the Segment tracking plan, by event name.
	Tracking []TrackingEvent
}

// Versions returns every version of every contract, in order.
func (m *Model) Versions() []*Version {
	var out []*Version
	for _, c := range m.Contracts {
		out = append(out, c.Versions...)
	}
	return out
}

// Build reads contracts into the model. Contracts compiled by the contract
// package have keys of letters, digits, '-', '_' and '.', but nothing more is
// assumed of them: every identifier and file name is made from them through
// Identifier and FileName.
func Build(contracts []*contract.Contract) (*Model, error) {
	sorted := append([]*contract.Contract(nil), contracts...)
	sort.Slice(sorted, func(i, j int) bool { return keyLess(sorted[i].Key, sorted[j].Key) })
	m := &Model{}
	names := newNamer()
	files := newNamer()
	byURI := map[string]*Version{}
	var cur *Contract
	for _, c := range sorted {
		if cur == nil || cur.Vendor != c.Key.Vendor || cur.Name != c.Key.Name {
			cur = &Contract{Vendor: c.Key.Vendor, Name: c.Key.Name}
			cur.File = files.unique(FileName(c.Key.Vendor+"_"+c.Key.Name), c.Key.Vendor+"/"+c.Key.Name)
			m.Contracts = append(m.Contracts, cur)
		}
		doc, err := contract.DecodeValue(c.Document)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.URI, err)
		}
		root, _ := doc.(map[string]any)
		v := &Version{Key: c.Key, URI: c.URI}
		v.TypeName = names.unique(Identifier(c.Key.Name)+"V"+strings.ReplaceAll(c.Key.Version.String(), "-", "_"), c.URI)
		v.Description = str(root["description"])
		if v.Description == "" {
			if xa, ok := root["x-accord"].(map[string]any); ok {
				v.Description = str(xa["description"])
			}
		}
		b := &builder{doc: root, names: names}
		v.Root = b.node(root, "", v.TypeName, "", 0)
		cur.Versions = append(cur.Versions, v)
		byURI[c.URI] = v
	}
	for _, c := range m.Contracts {
		latest := c.Versions[len(c.Versions)-1]
		for _, v := range c.Versions {
			if v.Key.Version.Model < latest.Key.Version.Model {
				v.SupersededBy = latest.URI
			}
		}
	}
	plan, _ := segment.PlanOf(contracts) // a conflict goes where the collector sends it
	funcs := newNamer()
	for _, ev := range plan.Events() {
		key, _ := plan.Lookup("track", ev)
		v := byURI[key]
		if v == nil {
			continue
		}
		m.Tracking = append(m.Tracking, TrackingEvent{Event: ev, Version: v, FuncName: funcs.unique(Identifier(ev), ev)})
	}
	return m, nil
}

func keyLess(a, b contract.Key) bool {
	if a.Vendor != b.Vendor {
		return a.Vendor < b.Vendor
	}
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	av, bv := a.Version, b.Version
	if av.Model != bv.Model {
		return av.Model < bv.Model
	}
	if av.Revision != bv.Revision {
		return av.Revision < bv.Revision
	}
	return av.Addition < bv.Addition
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

type builder struct {
	doc   map[string]any
	names *namer
	nodes int
}

// handled are the asserting keywords the generated validators check; every
// other keyword that schemawalk says can reject a value is listed in
// Node.Unchecked and left to the collector.
var handled = map[string]bool{
	"type": true, "enum": true, "const": true, "minimum": true, "maximum": true,
	"exclusiveMinimum": true, "exclusiveMaximum": true, "minLength": true, "maxLength": true,
	"pattern": true, "format": true, "minItems": true, "maxItems": true, "items": true,
	"properties": true, "required": true, "additionalProperties": true,
}

// node reduces the schema s found at ptr. When it is an object with
// properties its type is named candidate, made unique with whole (the
// text candidate was made from) unless whole is "" (the root, whose name is
// the version's, already unique).
func (b *builder) node(v any, ptr, candidate, whole string, depth int) *Node {
	n := &Node{Rule: map[string]any{"p": ptr}}
	b.nodes++
	if b.nodes > maxNodes || depth > maxDepth {
		n.Unchecked = []string{"(nested too deep for the client)"}
		return n
	}
	s, ok := v.(map[string]any)
	if !ok {
		if bv, isBool := v.(bool); isBool && !bv {
			n.Rule["false"] = true
		}
		return n
	}
	// A local $ref is followed (bounded by depth); the referenced schema is
	// what the value must satisfy. Sibling keywords are ignored, as drafts
	// 4 and 7 do.
	if ref, ok := s["$ref"].(string); ok {
		if strings.HasPrefix(ref, "#") {
			if target, ok := jsonpointer.Resolve(b.doc, ref[1:]); ok {
				t := b.node(target, ref[1:], candidate, whole, depth+1)
				if d := str(s["description"]); d != "" && t.Description == "" {
					t.Description = d
				}
				return t
			}
		}
		n.Unchecked = []string{"$ref"}
		n.Description = str(s["description"])
		return n
	}
	n.Description = str(s["description"])
	var unchecked []string
	for k := range s {
		if schemawalk.Asserts(k) && !handled[k] {
			unchecked = append(unchecked, k)
		}
	}
	sort.Strings(unchecked)
	n.Unchecked = unchecked

	types := typesOf(s)
	if len(types) > 0 {
		n.Rule["type"] = types
	}
	nonNull := []string{}
	for _, t := range types {
		if t == "null" {
			n.Nullable = true
		} else {
			nonNull = append(nonNull, t)
		}
	}
	if enum, ok := s["enum"].([]any); ok {
		n.Rule["enum"] = enum
		if len(types) == 0 {
			nonNull = nonNull[:0]
			seen := map[string]bool{}
			for _, e := range enum {
				t := jsonType(e)
				if t == "null" {
					n.Nullable = true
					continue
				}
				if t == "integer" && seen["number"] {
					continue
				}
				if t == "number" && seen["integer"] {
					nonNull = slicesDelete(nonNull, "integer")
				}
				if !seen[t] {
					seen[t] = true
					nonNull = append(nonNull, t)
				}
			}
		}
	}
	if c, ok := s["const"]; ok {
		n.Rule["const"] = c
		if len(types) == 0 {
			if t := jsonType(c); t == "null" {
				n.Nullable = true
			} else {
				nonNull = []string{t}
			}
		}
	}
	if len(nonNull) == 1 {
		switch nonNull[0] {
		case "string":
			n.Kind = String
		case "integer":
			n.Kind = Integer
		case "number":
			n.Kind = Number
		case "boolean":
			n.Kind = Boolean
		case "array":
			n.Kind = Array
		case "object":
			n.Kind = Map
		}
	}
	if len(types) == 0 && n.Kind == Any {
		if _, ok := s["properties"].(map[string]any); ok {
			n.Kind = Map // an object is assumed where properties are declared
		}
	}
	for _, k := range []string{"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"} {
		switch x := s[k].(type) {
		case json.Number:
			n.Rule[k] = x
		case bool: // draft 4: exclusiveMinimum: true qualifies minimum
			bound := "minimum"
			if k == "exclusiveMaximum" {
				bound = "maximum"
			}
			if num, ok := s[bound].(json.Number); ok && x {
				n.Rule[k] = num
				delete(n.Rule, bound)
			}
		}
	}
	for _, k := range []string{"minLength", "maxLength", "minItems", "maxItems"} {
		if x, ok := s[k].(json.Number); ok {
			if i, err := x.Int64(); err == nil && i >= 0 {
				n.Rule[k] = i
			}
		}
	}
	if p, ok := s["pattern"].(string); ok {
		n.Rule["pattern"] = p
	}
	if f, ok := s["format"].(string); ok && knownFormats[f] {
		n.Rule["format"] = f
	}
	if props, ok := s["properties"].(map[string]any); ok && (n.Kind == Map || n.Kind == Any) {
		if n.Kind == Map {
			n.Kind = Object
			n.TypeName = candidate
			if whole != "" {
				n.TypeName = b.names.unique(candidate, whole)
			}
		}
		required := map[string]bool{}
		if req, ok := s["required"].([]any); ok {
			var names []string
			for _, r := range req {
				if rs, ok := r.(string); ok && !required[rs] {
					required[rs] = true
					names = append(names, rs)
				}
			}
			n.Rule["required"] = names
		}
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		ruleProps := map[string]any{}
		for _, k := range keys {
			child := b.node(props[k], jsonpointer.Append(ptr, "properties", k), n.TypeName+Identifier(k), n.TypeName+"/"+k, depth+1)
			ruleProps[k] = child.Rule
			if n.Kind == Object {
				n.Props = append(n.Props, &Prop{Name: k, Required: required[k], Node: child})
			}
		}
		n.Rule["properties"] = ruleProps
	} else if req, ok := s["required"].([]any); ok {
		n.Rule["required"] = req
	}
	if ap, ok := s["additionalProperties"].(bool); ok && !ap {
		n.Rule["additionalProperties"] = false
	}
	if items, ok := s["items"].(map[string]any); ok {
		child := b.node(items, jsonpointer.Append(ptr, "items"), candidate+"Item", whole+"/items", depth+1)
		n.Rule["items"] = child.Rule
		if n.Kind == Array {
			n.Items = child
		}
	}
	return n
}

func slicesDelete(s []string, v string) []string {
	out := s[:0]
	for _, x := range s {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

// knownFormats are the formats every generated validator checks; others
// are left to the collector.
var knownFormats = map[string]bool{
	"date-time": true, "date": true, "time": true, "email": true, "uri": true,
	"uuid": true, "ipv4": true, "ipv6": true, "hostname": true,
}

func typesOf(s map[string]any) []string {
	switch t := s["type"].(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			if xs, ok := x.(string); ok {
				out = append(out, xs)
			}
		}
		return out
	}
	return nil
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		if _, err := x.Int64(); err == nil {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return ""
}

// RuleJSON returns the rule tree as compact JSON with sorted keys, the form
// every generated validator embeds.
func RuleJSON(rule map[string]any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rule); err != nil {
		panic(err) // the rule holds only decoded JSON values
	}
	return strings.TrimSuffix(buf.String(), "\n")
}
