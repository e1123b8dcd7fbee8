package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"regexp/syntax"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/jsonpointer"
)

// ErrNoExample is wrapped by Example's error when no generated candidate
// is valid against the contract.
var ErrNoExample = errors.New("no valid example could be generated")

// Bounds on generating one example: its nesting, the properties and array
// items it fills, and the work in all.
const (
	maxExampleDepth = 10
	maxExampleItems = 3
	maxExampleSteps = 20_000
)

// Example generates an event for c from its schema and returns it as JSON,
// once c's own validator accepts it. It tries the event with every
// property filled first, then with the required ones only.
func Example(c *contract.Contract) (json.RawMessage, error) {
	root, err := decode(c.Document)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", c.URI, err)
	}
	var last string
	for _, full := range []bool{true, false} {
		for _, branch := range []int{0, 1, 2} {
			g := &generator{root: root, full: full, branch: branch}
			v := g.value(root, "", 0)
			if g.steps > maxExampleSteps {
				return nil, fmt.Errorf("%w for %s: the schema is too large to generate from", ErrNoExample, c.URI)
			}
			b, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("%w for %s: %v", ErrNoExample, c.URI, err)
			}
			msgs, err := c.ValidateJSON(b, "")
			if err == nil && len(msgs) == 0 {
				return b, nil
			}
			if len(msgs) > 0 {
				last = msgs[0].Message
			}
		}
	}
	return nil, fmt.Errorf("%w for %s: %s", ErrNoExample, c.URI, last)
}

type generator struct {
	root any
	// full fills optional properties too.
	full bool
	// branch is the anyOf/oneOf branch preferred (modulo their count).
	branch int
	steps  int
}

// merged returns s with its local $refs followed and its allOf folded in,
// so one schema holds every constraint the value must meet.
func (g *generator) merged(s map[string]any, depth int) map[string]any {
	for i := 0; i < maxRefHops; i++ {
		ref, ok := s["$ref"].(string)
		if !ok || !strings.HasPrefix(ref, "#") {
			break
		}
		t, ok := jsonpointer.Resolve(g.root, ref[1:])
		tm, isMap := t.(map[string]any)
		if !ok || !isMap {
			break
		}
		m := map[string]any{}
		for k, v := range tm {
			m[k] = v
		}
		for k, v := range s {
			if k != "$ref" {
				m[k] = v
			}
		}
		s = m
	}
	all, ok := s["allOf"].([]any)
	if !ok || depth > maxExampleDepth {
		return s
	}
	m := map[string]any{}
	for k, v := range s {
		if k != "allOf" {
			m[k] = v
		}
	}
	for _, sub := range all {
		sm, ok := sub.(map[string]any)
		if !ok {
			continue
		}
		mergeInto(m, g.merged(sm, depth+1))
	}
	return m
}

// mergeInto adds src's constraints to dst: properties and required are
// united, other keywords taken from src where dst lacks them.
func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		switch k {
		case "properties":
			dp, _ := dst[k].(map[string]any)
			np := map[string]any{}
			for n, s := range dp {
				np[n] = s
			}
			if sp, ok := v.(map[string]any); ok {
				for n, s := range sp {
					if _, have := np[n]; !have {
						np[n] = s
					}
				}
			}
			dst[k] = np
		case "required":
			dr, _ := dst[k].([]any)
			sr, _ := v.([]any)
			dst[k] = append(append([]any(nil), dr...), sr...)
		default:
			if _, have := dst[k]; !have {
				dst[k] = v
			}
		}
	}
}

func (g *generator) value(schema any, ptr string, depth int) any {
	g.steps++
	if g.steps > maxExampleSteps || depth > maxExampleDepth {
		return nil
	}
	s, ok := schema.(map[string]any)
	if !ok {
		return "example" // true (or a malformed schema): anything goes
	}
	s = g.merged(s, depth)
	if c, ok := s["const"]; ok {
		return c
	}
	if e, ok := s["enum"].([]any); ok && len(e) > 0 {
		for _, v := range e {
			if v != nil {
				return v
			}
		}
		return e[0]
	}
	for _, kw := range []string{"oneOf", "anyOf"} {
		if list, ok := s[kw].([]any); ok && len(list) > 0 {
			b, _ := list[g.branch%len(list)].(map[string]any)
			m := map[string]any{}
			for k, v := range s {
				if k != kw {
					m[k] = v
				}
			}
			if b != nil {
				mergeInto(m, g.merged(b, depth+1))
			}
			return g.value(m, ptr, depth)
		}
	}
	switch typeOf(s) {
	case "null":
		return nil
	case "boolean":
		return true
	case "integer":
		return g.number(s, true)
	case "number":
		return g.number(s, false)
	case "array":
		return g.array(s, ptr, depth)
	case "object":
		return g.object(s, ptr, depth)
	}
	return stringFor(s)
}

// typeOf picks the type to generate: the first non-null type listed, else
// what the keywords present suggest, else string.
func typeOf(s map[string]any) string {
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
	for _, t := range types {
		if t != "null" {
			return t
		}
	}
	if len(types) > 0 {
		return "null"
	}
	for kw, t := range map[string]string{"properties": "object", "required": "object", "additionalProperties": "object",
		"items": "array", "prefixItems": "array", "minItems": "array", "minimum": "number", "maximum": "number",
		"exclusiveMinimum": "number", "exclusiveMaximum": "number", "multipleOf": "number"} {
		if _, ok := s[kw]; ok {
			return t
		}
	}
	return "string"
}

func (g *generator) object(s map[string]any, ptr string, depth int) any {
	out := map[string]any{}
	props, _ := s["properties"].(map[string]any)
	req := map[string]bool{}
	if list, ok := s["required"].([]any); ok {
		for _, r := range list {
			if name, ok := r.(string); ok {
				req[name] = true
			}
		}
	}
	names := make([]string, 0, len(props))
	for name := range props {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if g.full || req[name] {
			out[name] = g.value(props[name], jsonpointer.Append(ptr, "properties", name), depth+1)
		}
	}
	for name := range req {
		if _, ok := out[name]; !ok {
			out[name] = g.value(additional(s), ptr, depth+1)
		}
	}
	return out
}

func additional(s map[string]any) any {
	if ap, ok := s["additionalProperties"]; ok {
		return ap
	}
	return true
}

func (g *generator) array(s map[string]any, ptr string, depth int) any {
	n := 0
	if g.full {
		n = 1
	}
	if m, ok := intOf(s["minItems"]); ok && m > int64(n) {
		n = int(min(m, maxExampleItems))
	}
	if m, ok := intOf(s["maxItems"]); ok && int64(n) > m {
		n = int(m)
	}
	out := make([]any, 0, n)
	tuple, _ := s["prefixItems"].([]any)
	if list, ok := s["items"].([]any); ok {
		tuple = list
	}
	if len(tuple) > n {
		n = min(len(tuple), maxExampleItems)
	}
	for i := 0; i < n; i++ {
		var item any = true
		if i < len(tuple) {
			item = tuple[i]
		} else if it, ok := s["items"]; ok {
			if _, isList := it.([]any); !isList {
				item = it
			} else if ai, ok := s["additionalItems"]; ok {
				item = ai
			}
		}
		v := g.value(item, ptr, depth+1)
		if unique, _ := s["uniqueItems"].(bool); unique && i > 0 {
			v = vary(v, i)
		}
		out = append(out, v)
	}
	return out
}

// vary makes the i-th generated item differ from the first, for
// uniqueItems: numbers are offset, strings suffixed.
func vary(v any, i int) any {
	switch t := v.(type) {
	case string:
		return t + strconv.Itoa(i)
	case json.Number:
		if f, err := t.Float64(); err == nil {
			return json.Number(strconv.FormatFloat(f+float64(i), 'f', -1, 64))
		}
	case int64:
		return t + int64(i)
	case float64:
		return t + float64(i)
	}
	return v
}

func intOf(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	if err != nil {
		f, ferr := n.Float64()
		if ferr != nil || f != math.Trunc(f) {
			return 0, false
		}
		return int64(f), true
	}
	return i, true
}

func ratOf(v any) (*big.Rat, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return nil, false
	}
	return new(big.Rat).SetString(string(n))
}

// number picks a value within the bounds: the lower bound when there is
// one (stepped past an exclusive one), else 1 clamped below the upper
// bound, rounded up to multipleOf.
func (g *generator) number(s map[string]any, integer bool) any {
	v := big.NewRat(1, 1)
	lo, hasLo := ratOf(s["minimum"])
	exLo := false
	if x, ok := ratOf(s["exclusiveMinimum"]); ok && (!hasLo || x.Cmp(lo) >= 0) {
		lo, hasLo, exLo = x, true, true
	} else if b, _ := s["exclusiveMinimum"].(bool); b && hasLo {
		exLo = true
	}
	hi, hasHi := ratOf(s["maximum"])
	exHi := false
	if x, ok := ratOf(s["exclusiveMaximum"]); ok && (!hasHi || x.Cmp(hi) <= 0) {
		hi, hasHi, exHi = x, true, true
	} else if b, _ := s["exclusiveMaximum"].(bool); b && hasHi {
		exHi = true
	}
	step := big.NewRat(1, 1)
	if !integer {
		step = big.NewRat(1, 2)
	}
	switch {
	case hasLo:
		v.Set(lo)
		if exLo {
			v.Add(v, step)
		}
	case hasHi && hi.Cmp(v) <= 0:
		v.Set(hi)
		if exHi {
			v.Sub(v, step)
		}
	}
	if integer && !v.IsInt() {
		q := new(big.Int).Quo(v.Num(), v.Denom())
		if v.Sign() > 0 {
			q.Add(q, big.NewInt(1))
		}
		v.SetInt(q)
	}
	if m, ok := ratOf(s["multipleOf"]); ok && m.Sign() > 0 {
		q := new(big.Rat).Quo(v, m)
		n := new(big.Int).Quo(q.Num(), q.Denom())
		if !q.IsInt() && q.Sign() > 0 {
			n.Add(n, big.NewInt(1))
		}
		v.Mul(new(big.Rat).SetInt(n), m)
	}
	if v.IsInt() {
		return json.Number(v.Num().String())
	}
	f, _ := v.Float64()
	return json.Number(strconv.FormatFloat(f, 'f', -1, 64))
}

// formatExamples are values of the formats Accord asserts.
var formatExamples = map[string]string{
	"date-time":             "2026-01-02T03:04:05Z",
	"date":                  "2026-01-02",
	"time":                  "03:04:05Z",
	"duration":              "PT15M",
	"email":                 "someone@example.com",
	"idn-email":             "someone@example.com",
	"hostname":              "www.example.com",
	"idn-hostname":          "www.example.com",
	"ipv4":                  "192.0.2.1",
	"ipv6":                  "2001:db8::1",
	"uri":                   "https://www.example.com/page",
	"uri-reference":         "/page",
	"iri":                   "https://www.example.com/page",
	"iri-reference":         "/page",
	"uri-template":          "https://www.example.com/{id}",
	"uuid":                  "123e4567-e89b-42d3-a456-426614174000",
	"json-pointer":          "/a/b",
	"relative-json-pointer": "0/a",
	"regex":                 "^[a-z]+$",
}

// stringFor returns a string meeting the schema's format, pattern and
// lengths where it can.
func stringFor(s map[string]any) string {
	minLen, hasMin := intOf(s["minLength"])
	maxLen, hasMax := intOf(s["maxLength"])
	fit := func(v string) string {
		n := int64(utf8.RuneCountInString(v))
		if hasMin && n < minLen {
			v += strings.Repeat("x", int(min(minLen-n, 10_000)))
		}
		if hasMax && int64(utf8.RuneCountInString(v)) > maxLen {
			r := []rune(v)
			v = string(r[:max(maxLen, 0)])
		}
		return v
	}
	if f, ok := s["format"].(string); ok {
		if v, ok := formatExamples[f]; ok {
			return v
		}
	}
	if p, ok := s["pattern"].(string); ok {
		re, err := regexp.Compile(p)
		if err == nil {
			for extra := 0; extra < 64; extra++ {
				v, ok := fromPattern(p, extra)
				if !ok {
					break
				}
				n := int64(utf8.RuneCountInString(v))
				if hasMax && n > maxLen {
					break
				}
				if (!hasMin || n >= minLen) && re.MatchString(v) {
					return v
				}
			}
		}
	}
	return fit("example")
}

// fromPattern generates a string that the regular expression matches,
// repeating each repetition extra times beyond its minimum (so longer
// strings can be asked for). ok is false for a pattern Go cannot parse.
func fromPattern(pattern string, extra int) (string, bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	budget := 4096
	var gen func(r *syntax.Regexp)
	gen = func(r *syntax.Regexp) {
		if budget <= 0 {
			return
		}
		budget--
		switch r.Op {
		case syntax.OpLiteral:
			for _, c := range r.Rune {
				b.WriteRune(c)
			}
		case syntax.OpCharClass:
			b.WriteRune(pickRune(r.Rune))
		case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
			b.WriteByte('a')
		case syntax.OpCapture:
			gen(r.Sub[0])
		case syntax.OpConcat:
			for _, sub := range r.Sub {
				gen(sub)
			}
		case syntax.OpAlternate:
			gen(r.Sub[0])
		case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
			lo, hi := 0, -1
			switch r.Op {
			case syntax.OpPlus:
				lo = 1
			case syntax.OpQuest:
				hi = 1
			case syntax.OpRepeat:
				lo, hi = r.Min, r.Max
			}
			n := lo + extra
			if hi >= 0 && n > hi {
				n = hi
			}
			for i := 0; i < n && i < 256; i++ {
				gen(r.Sub[0])
			}
		}
	}
	gen(re)
	return b.String(), true
}

// pickRune picks a character from a class given as [lo, hi] pairs,
// preferring a letter or digit.
func pickRune(ranges []rune) rune {
	for _, want := range [][2]rune{{'a', 'z'}, {'A', 'Z'}, {'0', '9'}} {
		for i := 0; i+1 < len(ranges); i += 2 {
			lo, hi := ranges[i], ranges[i+1]
			if lo <= want[1] && hi >= want[0] {
				return max(lo, want[0])
			}
		}
	}
	for i := 0; i+1 < len(ranges); i += 2 {
		if ranges[i] >= ' ' {
			return ranges[i]
		}
		if ranges[i+1] >= ' ' {
			return ' '
		}
	}
	if len(ranges) > 0 {
		return ranges[0]
	}
	return 'a'
}
