package compat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/contract/schemawalk"
	"github.com/accord-events/accord/internal/jsonpointer"
)

// Errors Diff returns for schemas it cannot compare.
var (
	// ErrCyclicRef: a local $ref leads back to a schema that contains it.
	ErrCyclicRef = errors.New("cyclic $ref")
	// ErrNotSchema: the document is not a JSON Schema (an object or boolean).
	ErrNotSchema = errors.New("not a JSON schema")
	// ErrTooComplex: expanding the schema's $refs exceeds the comparison budget.
	ErrTooComplex = errors.New("schema too complex to compare")
)

// maxSteps bounds the work one Diff does, so $refs used many times over
// cannot blow up into an exponential walk.
const maxSteps = 200_000

// maxPointer bounds how deep the walk goes, in pointer length.
const maxPointer = 20_000

// Diff compares two JSON Schema documents (drafts 4, 6, 7, 2019-09 and
// 2020-12, self-describing or not) and returns every structural change from
// old to new, each with the SchemaVer bump it needs. Annotations (self,
// $schema, title, description, examples, default, x-*) are ignored. Local
// $refs are resolved within each document; a cyclic one is refused with
// ErrCyclicRef.
func Diff(oldDoc, newDoc []byte) ([]Change, error) {
	return DiffWith(oldDoc, newDoc, Options{})
}

// Options widen what Diff can prove.
type Options struct {
	// Documents looks up other contracts: a $ref to one (an iglu: key or
	// the Iglu Central URL form) is followed into its document and
	// compared structurally, as the validator follows it. Without it, or
	// for a contract it does not hold, such a $ref is compared by name.
	Documents contract.Documents
}

// DiffWith is Diff with $refs to other contracts resolved through
// o.Documents.
func DiffWith(oldDoc, newDoc []byte, opts Options) ([]Change, error) {
	o, err := parseDoc(oldDoc)
	if err != nil {
		return nil, fmt.Errorf("old schema: %w", err)
	}
	n, err := parseDoc(newDoc)
	if err != nil {
		return nil, fmt.Errorf("new schema: %w", err)
	}
	o.uri, n.uri = "urn:accord:compat:old", "urn:accord:compat:new"
	sh := &shared{steps: new(int), docs: opts.Documents, others: map[contract.Key]*document{}}
	d := &differ{old: o, new: n, shared: sh}
	d.compare(loc{node: o.root, doc: o}, loc{node: n.root, doc: n}, "")
	if d.err != nil {
		return nil, d.err
	}
	return d.changes, nil
}

type document struct {
	root any
	// uri names the document for the validator: the contract's key for a
	// referenced contract.
	uri string
	// key is the referenced contract's key; zero for the two compared.
	key contract.Key
	// legacyRef: drafts before 2019-09, where $ref replaces its siblings.
	legacyRef bool
	// noConst: drafts 3 and 4 (Iglu's meta-schema is draft 4), which have
	// no const keyword: the validator ignores one.
	noConst bool
}

func parseDoc(b []byte) (*document, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotSchema, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the top-level value", ErrNotSchema)
	}
	d := &document{root: v}
	switch r := v.(type) {
	case bool:
	case map[string]any:
		s, _ := r["$schema"].(string)
		for _, legacy := range []string{"draft-03", "draft-04", "draft-06", "draft-07", "com.snowplowanalytics.self-desc"} {
			if strings.Contains(s, legacy) {
				d.legacyRef = true
			}
		}
		for _, old := range []string{"draft-03", "draft-04", "com.snowplowanalytics.self-desc"} {
			if strings.Contains(s, old) {
				d.noConst = true
			}
		}
	default:
		return nil, fmt.Errorf("%w: the document must be a JSON object or boolean", ErrNotSchema)
	}
	return d, nil
}

// loc is a schema node with where it is: its JSON pointer and the local
// $refs followed to reach it (to detect cycles).
type loc struct {
	node any
	ptr  string
	refs []string
	// doc is the document node is in: one of the two compared, or a
	// contract a $ref led to.
	doc *document
}

// shared is what a differ and its scratch differs share.
type shared struct {
	steps *int
	docs  contract.Documents
	// others caches the referenced contracts, parsed.
	others map[contract.Key]*document
	// valueChecks counts the validators compareValuesOnly compiled.
	valueChecks int
}

// maxValueChecks bounds the validators one Diff compiles to check enum
// values; past it the changes keep their own bumps (never a smaller one).
const maxValueChecks = 100

type differ struct {
	old, new *document
	changes  []Change
	err      error
	*shared
	// valuesChecked is set in the scratch differ that compares a schema
	// restricted to enum/const values: its own question is answered.
	valuesChecked bool
}

func (d *differ) add(ptr, prop, kind, msg string) {
	r, ok := rules[kind]
	if !ok {
		panic("compat: kind without a rule: " + kind)
	}
	d.changes = append(d.changes, Change{Pointer: ptr, Property: prop, Kind: kind, Message: msg, Bump: r.Bump})
}

func (d *differ) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

// sub compares o and n in a scratch differ and returns its changes, for
// questions such as "does n accept everything o does".
func (d *differ) sub(o, n loc, prop string, oldDoc, newDoc *document) []Change {
	s := &differ{old: oldDoc, new: newDoc, shared: d.shared}
	s.compare(o, n, prop)
	if s.err != nil {
		d.fail(s.err)
	}
	return s.changes
}

// looser reports whether n accepts every value o accepts, as far as the
// classifier can prove.
func (d *differ) looser(o, n loc, prop string) bool {
	return Needed(d.sub(o, n, prop, d.old, d.new)) == Addition
}

func child(l loc, node any, keys ...string) loc {
	return loc{node: node, ptr: jsonpointer.Append(l.ptr, keys...), refs: l.refs, doc: l.doc}
}

// resolve follows $refs until it reaches a schema without one: local ones
// within their document, and those to other contracts into the contract's
// document when Options.Documents holds it.
func (d *differ) resolve(l loc, doc *document) (loc, bool) {
	if l.doc == nil {
		l.doc = doc
	}
	for {
		doc = l.doc
		m, ok := l.node.(map[string]any)
		if !ok {
			return l, true
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return l, true
		}
		target, fragment, local := "", "", strings.HasPrefix(ref, "#")
		switch {
		case local && (len(ref) == 1 || ref[1] == '/'):
			target = ref[1:]
		case local:
			return l, true // an anchor: compared as a string
		default:
			other, frag, ok := d.other(ref)
			if !ok {
				return l, true // not a contract the registry holds: compared as a string
			}
			if frag != "" && frag[0] != '/' {
				return l, true
			}
			doc, fragment = other, frag
		}
		if u, err := url.PathUnescape(target + fragment); err == nil {
			if local {
				target = u
			} else {
				fragment = u
			}
		}
		seen := target
		if !local {
			seen = doc.uri + "#" + fragment
		} else if doc.key != (contract.Key{}) {
			seen = doc.uri + "#" + target
		}
		for _, s := range l.refs {
			if s == seen {
				d.fail(fmt.Errorf("%w: %q at %s leads back to %s; compat cannot compare recursive schemas", ErrCyclicRef, ref, pointerOrRoot(l.ptr), pointerOrRoot(seen)))
				return l, false
			}
		}
		if !local {
			target = fragment
		}
		node, ok := jsonpointer.Resolve(doc.root, target)
		if !ok {
			d.fail(fmt.Errorf("$ref %q at %s: no such location in the document", ref, pointerOrRoot(l.ptr)))
			return l, false
		}
		refs := append(append([]string(nil), l.refs...), seen)
		siblings := map[string]any{}
		for k, v := range m {
			if k != "$ref" && !schemawalk.Annotation(k) {
				siblings[k] = v
			}
		}
		if len(siblings) == 0 || l.doc.legacyRef {
			l = loc{node: node, ptr: target, refs: refs, doc: doc}
			continue
		}
		// 2019-09 and later: $ref applies beside its siblings. Merging them
		// is the same as allOf when they share no keyword and none of the
		// keywords that read each other.
		tm, ok := node.(map[string]any)
		if !ok {
			d.fail(fmt.Errorf("$ref %q at %s: a $ref to a boolean schema beside other keywords is not supported", ref, pointerOrRoot(l.ptr)))
			return l, false
		}
		if doc != l.doc {
			d.fail(fmt.Errorf("$ref %q at %s: keywords beside a $ref to another contract are not supported by compat; move them into an allOf", ref, pointerOrRoot(l.ptr)))
			return l, false
		}
		merged := map[string]any{}
		for k, v := range tm {
			merged[k] = v
		}
		for k, v := range siblings {
			if _, clash := tm[k]; clash || interacting[k] {
				d.fail(fmt.Errorf("$ref %q at %s: keyword %q beside a $ref is not supported by compat; move it into the referenced schema or an allOf", ref, pointerOrRoot(l.ptr), k))
				return l, false
			}
			merged[k] = v
		}
		l = loc{node: merged, ptr: l.ptr, refs: refs, doc: doc}
	}
}

// other returns the contract a $ref names (iglu: or Iglu Central URL form)
// when Options.Documents holds it, parsed once per Diff, and the $ref's
// fragment.
func (d *differ) other(ref string) (*document, string, bool) {
	if d.docs == nil {
		return nil, "", false
	}
	k, ok := contract.RefKey(ref)
	if !ok {
		return nil, "", false
	}
	_, frag, _ := strings.Cut(ref, "#")
	if doc, ok := d.others[k]; ok {
		return doc, frag, doc != nil
	}
	raw, ok := d.docs(k)
	var doc *document
	if ok {
		if parsed, err := parseDoc(raw); err == nil {
			doc = parsed
			doc.uri, doc.key = k.String(), k
		}
	}
	if len(d.others) < maxOtherDocs {
		d.others[k] = doc
	}
	return doc, frag, doc != nil
}

// maxOtherDocs bounds the referenced contracts one Diff parses and keeps.
const maxOtherDocs = 1000

// maxEnumValues bounds the old values compareValuesOnly validates.
const maxEnumValues = 10_000

// compareValuesOnly compares a schema that allowed only the values of an
// enum or const with its new version, and reports whether it did. The
// old schema accepted those values and nothing else, so the new one
// accepts every old event exactly when it accepts each of them: a
// constraint added beside the enum (type string beside an enum of
// strings, a maxLength every value meets) needs no REVISION then. The
// structural changes are still listed where they need no more than an
// ADDITION; those that would need more are replaced by one change,
// enum_values_still_valid, saying why they do not.
func (d *differ) compareValuesOnly(o, n loc, prop string) bool {
	om, ok := o.node.(map[string]any)
	if !ok {
		return false
	}
	restricting := om
	if o.doc != nil && o.doc.noConst {
		// A const is no restriction in these drafts: only an enum is.
		restricting = map[string]any{}
		if e, ok := om["enum"]; ok {
			restricting["enum"] = e
		}
	}
	vals, has := valueSet(restricting)
	if !has || len(vals) > maxEnumValues {
		return false
	}
	if _, ok := n.node.(map[string]any); !ok {
		return false
	}
	s := &differ{old: d.old, new: d.new, shared: d.shared, valuesChecked: true}
	s.compare(o, n, prop)
	if s.err != nil {
		d.fail(s.err)
		return true
	}
	if Needed(s.changes) == Addition || !d.acceptsAll(n, vals) {
		d.changes = append(d.changes, s.changes...)
		return true
	}
	var kinds []string
	for _, c := range s.changes {
		if c.Bump == Addition {
			d.changes = append(d.changes, c)
		} else if !slices.Contains(kinds, c.Kind) {
			kinds = append(kinds, c.Kind)
		}
	}
	shown := strings.Join(sortedKeys(vals), ", ")
	if len(shown) > 200 {
		shown = shown[:200] + "..."
	}
	d.add(n.ptr, prop, "enum_values_still_valid", where(prop)+" allowed only "+shown+", and each of them is valid under the new schema, so "+strings.Join(kinds, ", ")+" rejects no old event")
	return true
}

// acceptsAll reports whether the schema at n accepts every value, by the
// validator the collector uses; false when it cannot be compiled.
func (d *differ) acceptsAll(n loc, vals map[string]any) bool {
	doc := n.doc
	if doc == nil {
		doc = d.new
	}
	if d.valueChecks >= maxValueChecks {
		return false
	}
	d.valueChecks++
	valid, err := contract.SubschemaValidator(doc.root, doc.uri, n.ptr, d.docs)
	if err != nil {
		return false
	}
	for _, v := range vals {
		if !valid(v) {
			return false
		}
	}
	return true
}

var interacting = map[string]bool{
	"properties": true, "patternProperties": true, "additionalProperties": true, "unevaluatedProperties": true,
	"items": true, "prefixItems": true, "additionalItems": true, "unevaluatedItems": true,
	"if": true, "then": true, "else": true, "contains": true, "minContains": true, "maxContains": true,
}

func pointerOrRoot(p string) string {
	if p == "" {
		return "the root"
	}
	return p
}

// validation keywords compared generically: added needs a REVISION, removed an
// ADDITION, changed a REVISION. Keywords outside JSON Schema are ignored, as
// validators ignore them.
var genericKeywords = []string{
	"propertyNames", "dependencies", "dependentRequired", "dependentSchemas", "contains", "minContains", "maxContains",
	"if", "then", "else", "unevaluatedProperties", "unevaluatedItems", "contentEncoding", "contentMediaType",
	"$dynamicRef", "$recursiveRef", "anyOf", "oneOf", "not",
}

func where(prop string) string {
	if prop == "" {
		return "the event"
	}
	return "property " + prop
}

func joinProp(prop, name string) string {
	if prop == "" {
		return name
	}
	return prop + "." + name
}

// compare appends the changes from o to n, both at instance path prop.
func (d *differ) compare(o, n loc, prop string) {
	if d.err != nil {
		return
	}
	*d.steps++
	if *d.steps > maxSteps || len(n.ptr)+len(o.ptr) > maxPointer {
		d.fail(ErrTooComplex)
		return
	}
	var ok bool
	if o, ok = d.resolve(o, d.old); !ok {
		return
	}
	if n, ok = d.resolve(n, d.new); !ok {
		return
	}
	if !d.valuesChecked && d.compareValuesOnly(o, n, prop) {
		return
	}
	ob, oIsBool := o.node.(bool)
	nb, nIsBool := n.node.(bool)
	if oIsBool && !ob {
		if !(nIsBool && !nb) {
			d.add(n.ptr, prop, "schema_opened", where(prop)+" was forbidden (false) and now accepts values")
		}
		return
	}
	if nIsBool && !nb {
		d.add(n.ptr, prop, "schema_closed", where(prop)+" is now forbidden (false): every value is rejected")
		return
	}
	if oIsBool && nIsBool {
		return // both true
	}
	om, oIsMap := o.node.(map[string]any)
	nm, nIsMap := n.node.(map[string]any)
	if oIsBool {
		om, oIsMap = map[string]any{}, true
	}
	if nIsBool {
		nm, nIsMap = map[string]any{}, true
	}
	if !oIsMap || !nIsMap {
		// Not a schema (a malformed document): compare as values.
		if canon(o.node) != canon(n.node) {
			d.add(n.ptr, prop, "keyword_changed", where(prop)+" changed in a way that could not be proven compatible")
		}
		return
	}
	d.compareType(om, nm, o, n, prop)
	d.compareValues(om, nm, o, n, prop)
	d.compareObject(om, nm, o, n, prop)
	d.compareArray(om, nm, o, n, prop)
	d.compareBounds(om, nm, o, n, prop)
	d.compareStrings(om, nm, o, n, prop)
	d.compareAllOf(om, nm, o, n, prop)
	d.compareGeneric(om, nm, o, n, prop)
}

// Type sets are over JSON value kinds, with numbers split into integers and
// other numbers, so "integer" is a subset of "number".
const (
	tNull = 1 << iota
	tBoolean
	tObject
	tArray
	tString
	tInteger
	tFraction
	tAll = 1<<iota - 1
)

func typeSet(v any) (int, bool) {
	one := func(s string) (int, bool) {
		switch s {
		case "null":
			return tNull, true
		case "boolean":
			return tBoolean, true
		case "object":
			return tObject, true
		case "array":
			return tArray, true
		case "string":
			return tString, true
		case "integer":
			return tInteger, true
		case "number":
			return tInteger | tFraction, true
		case "any":
			return tAll, true
		}
		return 0, false
	}
	switch t := v.(type) {
	case string:
		return one(t)
	case []any:
		set := 0
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				return 0, false
			}
			b, ok := one(s)
			if !ok {
				return 0, false
			}
			set |= b
		}
		return set, true
	}
	return 0, false
}

func typeText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func (d *differ) compareType(om, nm map[string]any, o, n loc, prop string) {
	ot, oHas := om["type"]
	nt, nHas := nm["type"]
	switch {
	case !oHas && !nHas:
		return
	case !nHas:
		d.add(o.ptr+"/type", prop, "type_removed", where(prop)+" is no longer restricted to type "+typeText(ot))
		return
	case !oHas:
		d.add(n.ptr+"/type", prop, "type_added", where(prop)+" must now be of type "+typeText(nt))
		return
	}
	os, ok1 := typeSet(ot)
	ns, ok2 := typeSet(nt)
	if !ok1 || !ok2 {
		if canon(ot) != canon(nt) {
			d.add(n.ptr+"/type", prop, "type_narrowed", where(prop)+" changed type from "+typeText(ot)+" to "+typeText(nt)+", which could not be proven compatible")
		}
		return
	}
	switch {
	case os == ns:
	case ns&os == os:
		d.add(n.ptr+"/type", prop, "type_widened", where(prop)+" was widened from type "+typeText(ot)+" to "+typeText(nt))
	case ns&os == 0:
		d.add(n.ptr+"/type", prop, "type_changed", where(prop)+" changed type from "+typeText(ot)+" to "+typeText(nt)+": no old value is valid")
	default:
		d.add(n.ptr+"/type", prop, "type_narrowed", where(prop)+" was narrowed from type "+typeText(ot)+" to "+typeText(nt))
	}
}

// canon returns a canonical JSON text for v: object keys sorted, numbers
// normalised so 1 and 1.0 are the same value, as JSON Schema says.
func canon(v any) string {
	var b strings.Builder
	canonTo(&b, v)
	return b.String()
}

func canonTo(b *strings.Builder, v any) {
	switch t := v.(type) {
	case json.Number:
		if r, ok := new(big.Rat).SetString(string(t)); ok {
			b.WriteString(r.RatString())
		} else {
			b.WriteString(string(t))
		}
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteByte(':')
			canonTo(b, t[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				b.WriteByte(',')
			}
			canonTo(b, e)
		}
		b.WriteByte(']')
	default:
		vb, _ := json.Marshal(t)
		b.Write(vb)
	}
}

// valueSet returns the values enum and const allow, or nil when neither
// restricts them.
func valueSet(m map[string]any) (set map[string]any, has bool) {
	var sets []map[string]any
	if e, ok := m["enum"]; ok {
		s := map[string]any{}
		if arr, ok := e.([]any); ok {
			for _, v := range arr {
				s[canon(v)] = v
			}
		} else {
			s[canon(e)] = e
		}
		sets = append(sets, s)
	}
	if c, ok := m["const"]; ok {
		sets = append(sets, map[string]any{canon(c): c})
	}
	switch len(sets) {
	case 0:
		return nil, false
	case 1:
		return sets[0], true
	}
	both := map[string]any{}
	for k, v := range sets[0] {
		if _, ok := sets[1][k]; ok {
			both[k] = v
		}
	}
	return both, true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (d *differ) compareValues(om, nm map[string]any, o, n loc, prop string) {
	oset, oHas := valueSet(om)
	nset, nHas := valueSet(nm)
	_, oEnum := om["enum"]
	_, nEnum := nm["enum"]
	constOnly := !oEnum && !nEnum
	kw := func(m map[string]any) string {
		if _, ok := m["enum"]; ok {
			return "/enum"
		}
		return "/const"
	}
	switch {
	case !oHas && !nHas:
	case !nHas:
		if constOnly {
			d.add(o.ptr+"/const", prop, "const_removed", where(prop)+" is no longer fixed to "+canon(om["const"]))
		} else {
			d.add(o.ptr+kw(om), prop, "enum_removed", where(prop)+" is no longer restricted to an enum")
		}
	case !oHas:
		if constOnly {
			d.add(n.ptr+"/const", prop, "const_added", where(prop)+" is now fixed to "+canon(nm["const"]))
		} else {
			d.add(n.ptr+kw(nm), prop, "enum_added", where(prop)+" is now restricted to the values of an enum")
		}
	default:
		common := 0
		for k := range oset {
			if _, ok := nset[k]; ok {
				common++
			}
		}
		if common == 0 && len(oset) > 0 {
			if constOnly {
				d.add(n.ptr+"/const", prop, "const_changed", where(prop)+" was fixed to "+canon(om["const"])+" and is now fixed to "+canon(nm["const"]))
			} else {
				d.add(n.ptr+kw(nm), prop, "enum_replaced", where(prop)+" allows none of its old values any more")
			}
			return
		}
		for _, k := range sortedKeys(nset) {
			if _, ok := oset[k]; !ok {
				d.add(n.ptr+kw(nm), prop, "enum_value_added", where(prop)+" now also allows "+k)
			}
		}
		for _, k := range sortedKeys(oset) {
			if _, ok := nset[k]; !ok {
				d.add(o.ptr+kw(om), prop, "enum_value_removed", where(prop)+" no longer allows "+k)
			}
		}
	}
}

func stringSet(v any) map[string]bool {
	s := map[string]bool{}
	if arr, ok := v.([]any); ok {
		for _, e := range arr {
			if str, ok := e.(string); ok {
				s[str] = true
			}
		}
	}
	return s
}

// implicit returns the schema an object schema applies to a property it does
// not list: the first matching patternProperties entry, else
// additionalProperties (absent means any value). known is false when a
// pattern cannot be evaluated (Go's regexp is not ECMA 262) or more than one
// matches, since then the property must match them all.
func implicit(m map[string]any, l loc, name string) (sch loc, known bool) {
	if pp, ok := m["patternProperties"].(map[string]any); ok {
		matched := 0
		for _, pat := range sortedKeys(pp) {
			re, err := regexp.Compile(pat)
			if err != nil {
				return loc{}, false
			}
			if re.MatchString(name) {
				sch = child(l, pp[pat], "patternProperties", pat)
				matched++
			}
		}
		switch matched {
		case 0:
		case 1:
			return sch, true
		default:
			return loc{}, false
		}
	}
	if ap, ok := m["additionalProperties"]; ok {
		return child(l, ap, "additionalProperties"), true
	}
	return child(l, true, "additionalProperties"), true
}

func isFalse(v any) bool { b, ok := v.(bool); return ok && !b }

func (d *differ) compareObject(om, nm map[string]any, o, n loc, prop string) {
	oprops, _ := om["properties"].(map[string]any)
	nprops, _ := nm["properties"].(map[string]any)
	oreq, nreq := stringSet(om["required"]), stringSet(nm["required"])

	for _, name := range sortedKeys(nprops) {
		p := joinProp(prop, name)
		nl := child(n, nprops[name], "properties", name)
		ov, inOld := oprops[name]
		if inOld {
			d.compare(child(o, ov, "properties", name), nl, p)
			continue
		}
		if nreq[name] && !oreq[name] {
			d.add(nl.ptr, p, "property_added_required", "property "+p+" was added as required")
			continue
		}
		// Optional, or already required without a schema of its own: old
		// events could carry it with whatever the old schema allowed there.
		imp, known := implicit(om, o, name)
		if known && (isFalse(imp.node) || d.looser(imp, nl, p)) {
			d.add(nl.ptr, p, "property_added_optional", "property "+p+" was added as optional")
		} else {
			d.add(nl.ptr, p, "property_added_constrained", "property "+p+" was added as optional with constraints, but the old schema did not forbid it, so old events may carry values of it that the new schema rejects")
		}
	}
	for _, name := range sortedKeys(oprops) {
		if _, inNew := nprops[name]; inNew {
			continue
		}
		p := joinProp(prop, name)
		ol := child(o, oprops[name], "properties", name)
		imp, known := implicit(nm, n, name)
		switch {
		case known && isFalse(imp.node) && oreq[name]:
			d.add(ol.ptr, p, "property_removed_forbidden", "required property "+p+" was removed and the schema no longer allows it: every old event is rejected")
		case known && !isFalse(imp.node) && d.looser(ol, imp, p):
			d.add(ol.ptr, p, "property_removed", "property "+p+" was removed; the schema still accepts it as an additional property")
		default:
			d.add(ol.ptr, p, "property_removed_constrained", "property "+p+" was removed and the schema now rejects or constrains it, so old events that carry it may be rejected")
		}
	}
	for _, name := range sortedKeys(nreq) {
		if oreq[name] {
			continue
		}
		_, inOldProps := oprops[name]
		_, inNewProps := nprops[name]
		p := joinProp(prop, name)
		switch {
		case inNewProps && !inOldProps:
			// reported as property_added_required
		case !inOldProps:
			d.add(n.ptr+"/required", p, "property_added_required", "property "+p+" is now required and was not a property before")
		default:
			d.add(n.ptr+"/required", p, "required_added", "property "+p+" is now required")
		}
	}
	for _, name := range sortedKeys(oreq) {
		if nreq[name] {
			continue
		}
		_, inNewProps := nprops[name]
		_, inOldProps := oprops[name]
		if inOldProps && !inNewProps {
			continue // reported with the property's removal
		}
		d.add(o.ptr+"/required", joinProp(prop, name), "required_removed", "property "+joinProp(prop, name)+" is no longer required")
	}

	// additionalProperties: absent is true.
	oap, oHas := om["additionalProperties"]
	nap, nHas := nm["additionalProperties"]
	if !oHas {
		oap = true
	}
	if !nHas {
		nap = true
	}
	optr, nptr := o.ptr+"/additionalProperties", n.ptr+"/additionalProperties"
	switch {
	case isFalse(oap) && isFalse(nap):
	case isFalse(oap):
		d.add(nptrOr(nHas, nptr, n.ptr), prop, "additional_properties_opened", where(prop)+" now accepts properties it does not list")
	case isFalse(nap):
		d.add(nptr, prop, "additional_properties_closed", where(prop)+" no longer accepts properties it does not list (additionalProperties: false)")
	default:
		d.compare(loc{node: oap, ptr: optr, refs: o.refs, doc: o.doc}, loc{node: nap, ptr: nptr, refs: n.refs, doc: n.doc}, joinProp(prop, "*"))
	}

	opp, _ := om["patternProperties"].(map[string]any)
	npp, _ := nm["patternProperties"].(map[string]any)
	for _, pat := range sortedKeys(npp) {
		if ov, ok := opp[pat]; ok {
			d.compare(child(o, ov, "patternProperties", pat), child(n, npp[pat], "patternProperties", pat), joinProp(prop, "/"+pat+"/"))
		} else {
			d.add(jsonpointer.Append(n.ptr, "patternProperties", pat), joinProp(prop, "/"+pat+"/"), "pattern_property_added", where(prop)+" has a new patternProperties entry "+strconv.Quote(pat)+", which could not be proven compatible")
		}
	}
	for _, pat := range sortedKeys(opp) {
		if _, ok := npp[pat]; !ok {
			d.add(jsonpointer.Append(o.ptr, "patternProperties", pat), joinProp(prop, "/"+pat+"/"), "pattern_property_removed", where(prop)+" lost its patternProperties entry "+strconv.Quote(pat)+", which could not be proven compatible")
		}
	}
}

func nptrOr(has bool, p, parent string) string {
	if has {
		return p
	}
	return parent
}

func (d *differ) compareArray(om, nm map[string]any, o, n loc, prop string) {
	oi, oHas := om["items"]
	ni, nHas := nm["items"]
	_, oTuple := oi.([]any)
	_, nTuple := ni.([]any)
	_, oPrefix := om["prefixItems"]
	_, nPrefix := nm["prefixItems"]
	ip := prop + "[]"
	if oTuple || nTuple || oPrefix || nPrefix {
		same := canon(oi) == canon(ni) && canon(om["prefixItems"]) == canon(nm["prefixItems"]) && canon(om["additionalItems"]) == canon(nm["additionalItems"])
		if same {
			// Still follow $refs inside the tuple.
			for _, kw := range []string{"items", "prefixItems"} {
				oarr, _ := om[kw].([]any)
				narr, _ := nm[kw].([]any)
				for i := range oarr {
					d.compare(child(o, oarr[i], kw, strconv.Itoa(i)), child(n, narr[i], kw, strconv.Itoa(i)), prop+"["+strconv.Itoa(i)+"]")
				}
			}
			return
		}
		oarr, _ := om["items"].([]any)
		narr, _ := nm["items"].([]any)
		kw := "items"
		if oPrefix && nPrefix {
			oarr, _ = om["prefixItems"].([]any)
			narr, _ = nm["prefixItems"].([]any)
			kw = "prefixItems"
		}
		if len(oarr) == len(narr) && len(oarr) > 0 && (oTuple == nTuple) && (oPrefix == nPrefix) &&
			canon(om["additionalItems"]) == canon(nm["additionalItems"]) && (kw == "items" || canon(oi) == canon(ni)) {
			for i := range oarr {
				d.compare(child(o, oarr[i], kw, strconv.Itoa(i)), child(n, narr[i], kw, strconv.Itoa(i)), prop+"["+strconv.Itoa(i)+"]")
			}
			return
		}
		d.add(n.ptr+"/items", ip, "tuple_changed", where(prop)+" changed its tuple items, which could not be proven compatible")
		return
	}
	if oHas || nHas {
		if !oHas {
			oi = true
		}
		if !nHas {
			ni = true
		}
		d.compare(loc{node: oi, ptr: o.ptr + "/items", refs: o.refs, doc: o.doc}, loc{node: ni, ptr: n.ptr + "/items", refs: n.refs, doc: n.doc}, ip)
	}
	ou, _ := om["uniqueItems"].(bool)
	nu, _ := nm["uniqueItems"].(bool)
	switch {
	case nu && !ou:
		d.add(n.ptr+"/uniqueItems", prop, "unique_items_added", where(prop)+" must now hold unique items")
	case ou && !nu:
		d.add(o.ptr+"/uniqueItems", prop, "unique_items_removed", where(prop)+" may now hold repeated items")
	}
}

// bound is a numeric limit; exclusive bounds reject the value itself.
type bound struct {
	v         *big.Rat
	exclusive bool
	kw        string
}

func num(v any) (*big.Rat, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return nil, false
	}
	return new(big.Rat).SetString(string(n))
}

// numBound returns the effective lower (lower=true) or upper bound of m, the
// stricter of minimum and exclusiveMinimum (numeric, drafts 6+; boolean,
// draft 4). ok is false when a keyword's value is not understood.
func numBound(m map[string]any, lower bool) (b *bound, ok bool) {
	kw, xkw := "maximum", "exclusiveMaximum"
	if lower {
		kw, xkw = "minimum", "exclusiveMinimum"
	}
	stricter := func(a, c *bound) *bound {
		if a == nil {
			return c
		}
		cmp := a.v.Cmp(c.v)
		if !lower {
			cmp = -cmp
		}
		if cmp > 0 || (cmp == 0 && a.exclusive) {
			return a
		}
		return c
	}
	xv, hasX := m[xkw]
	xBool, isBool := xv.(bool)
	if v, has := m[kw]; has {
		r, ok := num(v)
		if !ok {
			return nil, false
		}
		b = &bound{v: r, exclusive: isBool && xBool, kw: kw}
	}
	if hasX && !isBool {
		r, ok := num(xv)
		if !ok {
			return nil, false
		}
		b = stricter(b, &bound{v: r, exclusive: true, kw: xkw})
	}
	return b, true
}

func (b *bound) String() string {
	op := ">="
	if b.kw == "maximum" || b.kw == "exclusiveMaximum" {
		op = "<="
	}
	if b.exclusive {
		op = op[:1]
	}
	return op + " " + b.v.RatString()
}

func (d *differ) compareBounds(om, nm map[string]any, o, n loc, prop string) {
	for _, lower := range []bool{true, false} {
		name := "maximum"
		if lower {
			name = "minimum"
		}
		ob, ok1 := numBound(om, lower)
		nb, ok2 := numBound(nm, lower)
		if !ok1 || !ok2 {
			for _, kw := range []string{name, "exclusive" + strings.ToUpper(name[:1]) + name[1:]} {
				if canon(om[kw]) != canon(nm[kw]) {
					d.add(n.ptr+"/"+kw, prop, name+"_tightened", where(prop)+" changed its "+kw+" in a way that could not be proven compatible")
				}
			}
			continue
		}
		switch {
		case ob == nil && nb == nil:
		case nb == nil:
			d.add(o.ptr+"/"+ob.kw, prop, name+"_removed", where(prop)+" no longer has a "+name+" ("+ob.String()+")")
		case ob == nil:
			d.add(n.ptr+"/"+nb.kw, prop, name+"_added", where(prop)+" must now be "+nb.String())
		default:
			cmp := nb.v.Cmp(ob.v) // >0: new lower bound is higher
			if !lower {
				cmp = -cmp
			}
			switch {
			case cmp == 0 && nb.exclusive == ob.exclusive:
			case cmp < 0 || (cmp == 0 && ob.exclusive):
				d.add(n.ptr+"/"+nb.kw, prop, name+"_loosened", where(prop)+" must now be "+nb.String()+", was "+ob.String())
			default:
				d.add(n.ptr+"/"+nb.kw, prop, name+"_tightened", where(prop)+" must now be "+nb.String()+", was "+ob.String())
			}
		}
	}

	for _, lim := range []struct{ kw, kind string }{
		{"minLength", "min_length"}, {"maxLength", "max_length"}, {"minItems", "min_items"},
		{"maxItems", "max_items"}, {"minProperties", "min_properties"}, {"maxProperties", "max_properties"},
	} {
		ov, oHas := om[lim.kw]
		nv, nHas := nm[lim.kw]
		isMin := strings.HasPrefix(lim.kw, "min")
		or, ok1 := num(ov)
		nr, ok2 := num(nv)
		// minX: 0 is no limit.
		if isMin {
			if oHas && ok1 && or.Sign() == 0 {
				oHas = false
			}
			if nHas && ok2 && nr.Sign() == 0 {
				nHas = false
			}
		}
		switch {
		case !oHas && !nHas:
		case !nHas:
			d.add(o.ptr+"/"+lim.kw, prop, lim.kind+"_removed", where(prop)+" no longer has a "+lim.kw+" ("+canon(ov)+")")
		case !oHas:
			d.add(n.ptr+"/"+lim.kw, prop, lim.kind+"_added", where(prop)+" now has a "+lim.kw+" of "+canon(nv))
		case !ok1 || !ok2:
			if canon(ov) != canon(nv) {
				d.add(n.ptr+"/"+lim.kw, prop, lim.kind+"_tightened", where(prop)+" changed its "+lim.kw+" in a way that could not be proven compatible")
			}
		default:
			cmp := nr.Cmp(or)
			if !isMin {
				cmp = -cmp
			}
			switch {
			case cmp == 0:
			case cmp < 0:
				d.add(n.ptr+"/"+lim.kw, prop, lim.kind+"_loosened", where(prop)+" "+lim.kw+" went from "+canon(ov)+" to "+canon(nv))
			default:
				d.add(n.ptr+"/"+lim.kw, prop, lim.kind+"_tightened", where(prop)+" "+lim.kw+" went from "+canon(ov)+" to "+canon(nv))
			}
		}
	}

	omo, oHas := om["multipleOf"]
	nmo, nHas := nm["multipleOf"]
	switch {
	case !oHas && !nHas:
	case !nHas:
		d.add(o.ptr+"/multipleOf", prop, "multiple_of_removed", where(prop)+" no longer has to be a multiple of "+canon(omo))
	case !oHas:
		d.add(n.ptr+"/multipleOf", prop, "multiple_of_added", where(prop)+" must now be a multiple of "+canon(nmo))
	default:
		or, ok1 := num(omo)
		nr, ok2 := num(nmo)
		if ok1 && ok2 && or.Cmp(nr) == 0 {
			return
		}
		if ok1 && ok2 && nr.Sign() != 0 {
			q := new(big.Rat).Quo(or, nr)
			if q.IsInt() {
				d.add(n.ptr+"/multipleOf", prop, "multiple_of_loosened", where(prop)+" must now be a multiple of "+canon(nmo)+", was "+canon(omo))
				return
			}
		}
		d.add(n.ptr+"/multipleOf", prop, "multiple_of_changed", where(prop)+" must now be a multiple of "+canon(nmo)+", was "+canon(omo)+": not every old value is")
	}
}

func (d *differ) compareStrings(om, nm map[string]any, o, n loc, prop string) {
	for _, kw := range []string{"format", "pattern"} {
		ov, oHas := om[kw]
		nv, nHas := nm[kw]
		switch {
		case !oHas && !nHas:
		case !nHas:
			d.add(o.ptr+"/"+kw, prop, kw+"_removed", where(prop)+" no longer has to match "+kw+" "+canon(ov))
		case !oHas:
			d.add(n.ptr+"/"+kw, prop, kw+"_added", where(prop)+" must now match "+kw+" "+canon(nv))
		case canon(ov) != canon(nv):
			d.add(n.ptr+"/"+kw, prop, kw+"_changed", where(prop)+" must now match "+kw+" "+canon(nv)+" instead of "+canon(ov))
		}
	}
}

func (d *differ) compareAllOf(om, nm map[string]any, o, n loc, prop string) {
	oa, oHas := om["allOf"].([]any)
	na, nHas := nm["allOf"].([]any)
	if !oHas && !nHas {
		if canon(om["allOf"]) != canon(nm["allOf"]) {
			d.add(n.ptr+"/allOf", prop, "keyword_changed", where(prop)+" changed its allOf, which could not be proven compatible")
		}
		return
	}
	if len(oa) == len(na) {
		for i := range oa {
			d.compare(child(o, oa[i], "allOf", strconv.Itoa(i)), child(n, na[i], "allOf", strconv.Itoa(i)), prop)
		}
		return
	}
	// Different lengths: pair up equivalent conjuncts; what is left was
	// added (stricter) or removed (looser).
	matchedOld := make([]bool, len(oa))
	for j := range na {
		found := false
		for i := range oa {
			if !matchedOld[i] && len(d.sub(child(o, oa[i], "allOf", strconv.Itoa(i)), child(n, na[j], "allOf", strconv.Itoa(j)), prop, d.old, d.new)) == 0 {
				matchedOld[i], found = true, true
				break
			}
		}
		if !found {
			d.add(n.ptr+"/allOf/"+strconv.Itoa(j), prop, "all_of_added", where(prop)+" must now also match allOf/"+strconv.Itoa(j))
		}
	}
	for i := range oa {
		if !matchedOld[i] {
			d.add(o.ptr+"/allOf/"+strconv.Itoa(i), prop, "all_of_removed", where(prop)+" no longer has to match the old allOf/"+strconv.Itoa(i))
		}
	}
}

func (d *differ) compareGeneric(om, nm map[string]any, o, n loc, prop string) {
	for _, kw := range genericKeywords {
		ov, oHas := om[kw]
		nv, nHas := nm[kw]
		switch {
		case !oHas && !nHas:
		case !nHas:
			d.add(o.ptr+"/"+kw, prop, "keyword_removed", where(prop)+" no longer has "+kw)
		case !oHas:
			d.add(n.ptr+"/"+kw, prop, "keyword_added", where(prop)+" now has "+kw+", which could not be proven compatible")
		default:
			d.compareKeyword(kw, ov, nv, o, n, prop)
		}
	}
	// A $ref to another document is compared by name.
	oref, _ := om["$ref"].(string)
	nref, _ := nm["$ref"].(string)
	if oref != nref {
		d.add(n.ptr+"/$ref", prop, "ref_changed", where(prop)+" now refers to "+strconv.Quote(nref)+" instead of "+strconv.Quote(oref)+"; compat does not follow $refs to other documents")
	}
}

func (d *differ) compareKeyword(kw string, ov, nv any, o, n loc, prop string) {
	ptr := n.ptr + "/" + kw
	switch kw {
	case "anyOf":
		oa, ok1 := ov.([]any)
		na, ok2 := nv.([]any)
		if !ok1 || !ok2 {
			break
		}
		if len(oa) == len(na) {
			for i := range oa {
				d.compare(child(o, oa[i], kw, strconv.Itoa(i)), child(n, na[i], kw, strconv.Itoa(i)), prop)
			}
			return
		}
		matchedNew := make([]bool, len(na))
		for i := range oa {
			found := false
			for j := range na {
				if !matchedNew[j] && len(d.sub(child(o, oa[i], kw, strconv.Itoa(i)), child(n, na[j], kw, strconv.Itoa(j)), prop, d.old, d.new)) == 0 {
					matchedNew[j], found = true, true
					break
				}
			}
			if !found {
				d.add(o.ptr+"/anyOf/"+strconv.Itoa(i), prop, "any_of_removed", where(prop)+" lost the anyOf branch anyOf/"+strconv.Itoa(i)+": values only it matched are rejected")
			}
		}
		for j := range na {
			if !matchedNew[j] {
				d.add(ptr+"/"+strconv.Itoa(j), prop, "any_of_added", where(prop)+" gained the anyOf branch anyOf/"+strconv.Itoa(j))
			}
		}
		return
	case "oneOf":
		oa, ok1 := ov.([]any)
		na, ok2 := nv.([]any)
		if ok1 && ok2 && len(oa) == len(na) {
			same := true
			for i := range oa {
				if len(d.sub(child(o, oa[i], kw, strconv.Itoa(i)), child(n, na[i], kw, strconv.Itoa(i)), prop, d.old, d.new)) != 0 {
					same = false
				}
			}
			if same {
				return
			}
		}
		d.add(ptr, prop, "one_of_changed", where(prop)+" changed its oneOf, which could not be proven compatible (a looser branch can make a value match two)")
		return
	case "not":
		if len(d.sub(child(o, ov, kw), child(n, nv, kw), prop, d.old, d.new)) != 0 {
			d.add(ptr, prop, "not_changed", where(prop)+" changed its not, which could not be proven compatible")
		}
		return
	case "dependentSchemas":
		om, ok1 := ov.(map[string]any)
		nm, ok2 := nv.(map[string]any)
		if ok1 && ok2 && len(om) == len(nm) {
			same := true
			for k, v := range om {
				w, ok := nm[k]
				if !ok || len(d.sub(child(o, v, kw, k), child(n, w, kw, k), prop, d.old, d.new)) != 0 {
					same = false
				}
			}
			if same {
				return
			}
		}
		d.add(ptr, prop, "keyword_changed", where(prop)+" changed its "+kw+", which could not be proven compatible")
		return
	}
	if schemawalk.ShapeOf(kw) == schemawalk.One {
		// propertyNames, contains, if, then, else, unevaluated*: unchanged
		// when the subschemas compare equal.
		if len(d.sub(child(o, ov, kw), child(n, nv, kw), prop, d.old, d.new)) == 0 {
			return
		}
		d.add(ptr, prop, "keyword_changed", where(prop)+" changed its "+kw+", which could not be proven compatible")
		return
	}
	if canon(ov) != canon(nv) {
		d.add(ptr, prop, "keyword_changed", where(prop)+" changed its "+kw+", which could not be proven compatible")
	}
}
