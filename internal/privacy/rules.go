package privacy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/accord-events/accord/internal/jsonpointer"
	"github.com/accord-events/accord/internal/jsonscan"
	"github.com/cespare/xxhash/v2"
)

// Rule is one x-accord-pii rule.
type Rule struct {
	Class     string `json:"class"`
	Action    Action `json:"action"`
	KeepChars int    `json:"keep_chars,omitempty"`
}

// stricter reports whether r governs a value more strictly than o.
func (r Rule) stricter(o Rule) bool {
	rs, os := strictness(r.Action), strictness(o.Action)
	if rs != os {
		return rs > os
	}
	return r.KeepChars < o.KeepChars
}

// Rules are a contract's privacy rules, compiled: a tree following the
// shape of the data, each node the rule for the value at that path (if any)
// and the nodes of its members and items. The zero value (and nil) governs
// nothing.
type Rules struct {
	root *node
	// paths lists each governed path and its rule, for people and tests.
	paths []Path
	// hmac says some rule is hmac: the stage needs a key.
	hmac bool
	// fingerprint identifies the paths and their rules (Fingerprint).
	fingerprint uint64
}

// Path is one governed location: a JSON Pointer into the data, where "*"
// stands for every member not named (additionalProperties) and "-" for
// every array item.
type Path struct {
	Pointer string
	Rule    Rule
}

type node struct {
	rule  *Rule
	props map[string]*node
	other *node // members not in props (additionalProperties)
	items *node // every array item
}

// maxRefDepth bounds how many $refs deep the rules are looked for: a
// recursive schema (a tree of categories) is governed to this depth.
const maxRefDepth = 32

// maxRecursion bounds how often one $ref is followed within itself: a
// recursive schema (a tree of categories) is governed this many levels
// deep, and deeper levels keep their values (docs/privacy.md says so).
const maxRecursion = 4

// maxWalk bounds the schema nodes one contract's compilation visits, so a
// schema whose $refs branch at every level cannot make it take forever.
const maxWalk = 100000

// Compile reads the x-accord-pii rules of a contract's schema document.
// Only $refs within the document ("#...") are followed; a rule in another
// contract a $ref names is not seen (the registry refuses other refs
// anyway). It returns nil when no rule changes any value.
func Compile(doc []byte) (*Rules, error) {
	if withoutRules(doc) {
		return nil, nil
	}
	return compileDoc(doc)
}

// compileDoc is Compile without its shortcut: it decodes and walks doc.
func compileDoc(doc []byte) (*Rules, error) {
	var root any
	if err := json.Unmarshal(doc, &root); err != nil {
		return nil, fmt.Errorf("read the contract's schema: %w", err)
	}
	c := compiler{root: root, refs: map[string]int{}}
	n := &node{}
	if err := c.walk(root, n, ""); err != nil {
		return nil, err
	}
	if !n.prune() {
		return nil, nil
	}
	r := &Rules{root: n}
	n.list("", func(p Path) {
		r.paths = append(r.paths, p)
		r.hmac = r.hmac || p.Rule.Action == HMAC
	})
	sort.Slice(r.paths, func(i, j int) bool { return r.paths[i].Pointer < r.paths[j].Pointer })
	d := xxhash.New()
	for _, p := range r.paths {
		fmt.Fprintf(d, "%s\x00%s\x00%d\x00", p.Pointer, p.Rule.Action, p.Rule.KeepChars)
	}
	r.fingerprint = d.Sum64()
	return r, nil
}

// Fingerprint identifies the rules: the same paths with the same actions
// give the same number, any change another.
func (r *Rules) Fingerprint() uint64 {
	if r == nil {
		return 0
	}
	return r.fingerprint
}

// Paths returns each governed path with its rule, sorted by pointer.
func (r *Rules) Paths() []Path {
	if r == nil {
		return nil
	}
	return r.paths
}

// UsesHMAC reports whether some rule is hmac.
func (r *Rules) UsesHMAC() bool { return r != nil && r.hmac }

// withoutRules reports, from doc's bytes alone, that Compile would find no
// rule and no error in it, so that it need not decode it: at start every
// contract's rules are read, and 10,000 contracts that name no rule took
// a quarter of a second to decode for nothing. That holds when no
// "x-accord-pii" member (or any name spelled with a \u escape) can be in
// doc, no "$ref" can send the walk back over what it walked, it holds
// fewer objects (at most one '{' each) than maxWalk, which the walk,
// visiting each object at most once, then cannot pass, and decoding it
// cannot fail: jsonscan reads it as one JSON value with no number beyond
// float64 (which encoding/json refuses to decode into one), nested no
// deeper than encoding/json allows.
func withoutRules(doc []byte) bool {
	if bytes.Contains(doc, []byte("x-accord-pii")) || bytes.Contains(doc, []byte(`\u`)) ||
		bytes.Contains(doc, []byte(`$ref"`)) || bytes.Count(doc, []byte("{")) >= maxWalk {
		return false
	}
	_, _, err := jsonscan.Document(doc, 0)
	return err == nil
}

type compiler struct {
	root any
	// refs counts the $refs being followed, by target, to stop cycles.
	refs   map[string]int
	depth  int
	walked int
}

func (c *compiler) walk(v any, n *node, at string) error {
	s, ok := v.(map[string]any)
	if !ok {
		return nil // true, false: no rule
	}
	if c.walked++; c.walked > maxWalk {
		return fmt.Errorf("%s: the schema's $refs branch too much to compile its privacy rules (more than %d schemas)", at, maxWalk)
	}
	if raw, ok := s["x-accord-pii"]; ok {
		r, err := parseRule(raw)
		if err != nil {
			return fmt.Errorf("%s/x-accord-pii: %w", at, err)
		}
		if n.rule == nil || r.stricter(*n.rule) {
			n.rule = &r
		}
	}
	if props, ok := s["properties"].(map[string]any); ok {
		for name, sub := range props {
			if n.props == nil {
				n.props = map[string]*node{}
			}
			child := n.props[name]
			if child == nil {
				child = &node{}
				n.props[name] = child
			}
			if err := c.walk(sub, child, jsonpointer.Append(at, "properties", name)); err != nil {
				return err
			}
		}
	}
	// additionalProperties governs the members properties does not name;
	// so do patternProperties' rules, whatever the pattern (stricter than
	// matching it, never weaker).
	if sub, ok := s["additionalProperties"]; ok {
		if n.other == nil {
			n.other = &node{}
		}
		if err := c.walk(sub, n.other, at+"/additionalProperties"); err != nil {
			return err
		}
	}
	if pats, ok := s["patternProperties"].(map[string]any); ok {
		for pat, sub := range pats {
			if n.other == nil {
				n.other = &node{}
			}
			if err := c.walk(sub, n.other, jsonpointer.Append(at, "patternProperties", pat)); err != nil {
				return err
			}
		}
	}
	// Items in any form govern every item: a rule on one position of a
	// tuple applies to all, which is stricter, never weaker.
	for _, kw := range []string{"items", "prefixItems", "additionalItems"} {
		sub, ok := s[kw]
		if !ok {
			continue
		}
		if n.items == nil {
			n.items = &node{}
		}
		subs, isList := sub.([]any)
		if !isList {
			subs = []any{sub}
		}
		for i, one := range subs {
			if err := c.walk(one, n.items, fmt.Sprintf("%s/%s/%d", at, kw, i)); err != nil {
				return err
			}
		}
	}
	// Branches govern the same value: their rules merge, the strictest
	// winning. if/then/else are branches too.
	for _, kw := range []string{"allOf", "anyOf", "oneOf"} {
		if subs, ok := s[kw].([]any); ok {
			for i, sub := range subs {
				if err := c.walk(sub, n, fmt.Sprintf("%s/%s/%d", at, kw, i)); err != nil {
					return err
				}
			}
		}
	}
	for _, kw := range []string{"if", "then", "else"} {
		if sub, ok := s[kw]; ok {
			if err := c.walk(sub, n, at+"/"+kw); err != nil {
				return err
			}
		}
	}
	if ref, ok := s["$ref"].(string); ok && strings.HasPrefix(ref, "#") {
		if c.refs[ref] >= maxRecursion || c.depth >= maxRefDepth {
			return nil // a recursive schema: governed to maxRecursion levels
		}
		target, ok := jsonpointer.Resolve(c.root, strings.TrimPrefix(ref, "#"))
		if !ok {
			return fmt.Errorf("%s/$ref %q names nothing in the contract", at, ref)
		}
		c.refs[ref]++
		c.depth++
		err := c.walk(target, n, at+"/$ref")
		c.depth--
		c.refs[ref]--
		return err
	}
	return nil
}

func parseRule(raw any) (Rule, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return Rule{}, fmt.Errorf(`not an object; write it as {"class": "confidential", "action": "hmac"}`)
	}
	var r Rule
	r.Class, _ = m["class"].(string)
	a, _ := m["action"].(string)
	r.Action = Action(a)
	if !ValidClass(r.Class) {
		return Rule{}, fmt.Errorf("class %v is not one of %s", m["class"], strings.Join(Classes, ", "))
	}
	if !r.Action.Valid() {
		return Rule{}, fmt.Errorf("action %v is not one of %s", m["action"], ActionList())
	}
	if k, ok := m["keep_chars"]; ok {
		f, ok := k.(float64)
		if !ok || f < 0 || f != float64(int(f)) {
			return Rule{}, fmt.Errorf("keep_chars %v is not a whole number of at least 0", k)
		}
		r.KeepChars = int(f)
	}
	return r, nil
}

// ActionList is the actions as a sentence's list: "keep, truncate, ... or drop".
func ActionList() string {
	s := make([]string, len(Actions))
	for i, a := range Actions {
		s[i] = string(a)
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// prune removes the nodes under which no rule changes a value and reports
// whether n itself still matters.
func (n *node) prune() bool {
	if n == nil {
		return false
	}
	keep := n.rule != nil && n.rule.Action != Keep
	if n.other != nil && !n.other.prune() {
		n.other = nil
	}
	for name, c := range n.props {
		switch {
		case c.prune():
			keep = true
		case n.other != nil:
			// Named, so additionalProperties' rule is not its own.
			n.props[name] = &node{}
		default:
			delete(n.props, name)
		}
	}
	if n.items != nil && !n.items.prune() {
		n.items = nil
	}
	if n.rule != nil && n.rule.Action == Keep {
		n.rule = nil
	}
	return keep || n.other != nil || n.items != nil || len(n.props) > 0
}

func (n *node) list(at string, fn func(Path)) {
	if n.rule != nil {
		fn(Path{Pointer: at, Rule: *n.rule})
	}
	for name, c := range n.props {
		c.list(jsonpointer.Append(at, name), fn)
	}
	if n.other != nil {
		n.other.list(at+"/*", fn)
	}
	if n.items != nil {
		n.items.list(at+"/-", fn)
	}
}

// Governs reports whether a rule governs the value at pointer (within the
// data), a value inside it, or one around it: a message about that value
// could quote what the rule protects.
func (r *Rules) Governs(pointer string) bool {
	if r == nil || r.root == nil {
		return false
	}
	tokens, err := jsonpointer.Parse(pointer)
	if err != nil {
		return true
	}
	n := r.root
	for _, tok := range tokens {
		if n.rule != nil {
			return true
		}
		next, ok := n.props[tok]
		switch {
		case ok:
		case n.items != nil && isIndex(tok):
			next = n.items
		default:
			next = n.other
		}
		if next == nil {
			return false
		}
		n = next
	}
	return true // n or something below it is governed (pruned trees hold nothing else)
}

func isIndex(tok string) bool {
	if tok == "" {
		return false
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] < '0' || tok[i] > '9' {
			return false
		}
	}
	return true
}
