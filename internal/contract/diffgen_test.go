package contract

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The generators of the differential fuzz tests (difffuzz_test.go). Random
// bytes almost never make a valid event of a real contract, so the fuzz
// bytes drive choices instead: which branch of a oneOf, whether an optional
// property is sent, and at each value whether to send a plain valid one or
// one just over an edge the schema draws (one character past maxLength, a
// number at a bound, a value outside the enum, a required member missing, a
// repeated member name, an escaped or oddly spelled value). Every choice
// defaults to the plain one when the bytes run out, so a short input is a
// valid event and the fuzzer's mutations move it across edges one by one.

// fuzzSource hands out choices read from fuzz bytes; once they run out every
// choice is 0, the plain one.
type fuzzSource struct {
	b []byte
	i int
}

func (s *fuzzSource) byte() byte {
	if s.i >= len(s.b) {
		return 0
	}
	c := s.b[s.i]
	s.i++
	return c
}

// intn returns a choice in [0, n).
func (s *fuzzSource) intn(n int) int {
	switch {
	case n <= 1:
		return 0
	case n <= 256:
		return int(s.byte()) % n
	}
	return (int(s.byte())<<8 | int(s.byte())) % n
}

// oneIn is true about once in n choices, and never once the bytes run out.
func (s *fuzzSource) oneIn(n int) bool { return s.intn(n) == n-1 }

func pick[T any](s *fuzzSource, list []T) T { return list[s.intn(len(list))] }

// jv is a generated JSON value. Objects keep their members in order and may
// repeat a name; raw is text written as it is (a number's spelling, bytes
// that are not UTF-8, deep nesting).
type jv struct {
	kind    byte // 'o' object, 'a' array, 's' string, 'r' raw text
	members []jmember
	items   []*jv
	str     string
	raw     string
}

type jmember struct {
	name string
	val  *jv
}

func rawJV(text string) *jv { return &jv{kind: 'r', raw: text} }
func strJV(s string) *jv    { return &jv{kind: 's', str: s} }

// toJV turns a decoded JSON value (an enum member, a const) into a jv.
func toJV(v any) *jv {
	switch v := v.(type) {
	case map[string]any:
		o := &jv{kind: 'o'}
		for _, k := range slices.Sorted(maps.Keys(v)) {
			o.members = append(o.members, jmember{k, toJV(v[k])})
		}
		return o
	case []any:
		a := &jv{kind: 'a'}
		for _, x := range v {
			a.items = append(a.items, toJV(x))
		}
		return a
	case string:
		return strJV(v)
	case json.Number:
		return rawJV(string(v))
	case bool:
		return rawJV(strconv.FormatBool(v))
	case float64:
		return rawJV(strconv.FormatFloat(v, 'g', -1, 64))
	}
	return rawJV("null")
}

// jsonValue is toJV with the member order shuffled and numbers spelled
// another way now and then: const and enum compare values, not text.
func (g *instGen) jsonValue(v any) *jv {
	j := toJV(v)
	g.respell(j)
	return j
}

func (g *instGen) respell(j *jv) {
	switch j.kind {
	case 'o':
		for i := len(j.members) - 1; i > 0; i-- {
			k := g.src.intn(i + 1)
			j.members[i], j.members[k] = j.members[k], j.members[i]
		}
		for _, m := range j.members {
			g.respell(m.val)
		}
	case 'a':
		for _, it := range j.items {
			g.respell(it)
		}
	case 'r':
		j.raw = g.spellNumber(j.raw)
	}
}

// spellNumber now and then writes a number another way with the same
// value (1 as 1.0 or 1e0, 2.5 as 2.50).
func (g *instGen) spellNumber(text string) string {
	if text == "" || (text[0] != '-' && (text[0] < '0' || text[0] > '9')) || !g.src.oneIn(6) {
		return text
	}
	hasExp := strings.ContainsAny(text, "eE")
	switch g.src.intn(3) {
	case 0:
		if !hasExp && strings.Contains(text, ".") {
			return text + "0"
		}
		if !hasExp {
			return text + ".0"
		}
	case 1:
		if text == "0" {
			return "-0"
		}
	}
	if hasExp {
		return text
	}
	return text + pick(g.src, []string{"e0", "E+0", "e-0"})
}

// instGen generates instances of one schema document.
type instGen struct {
	src  *fuzzSource
	root any
	// nodes bounds the values generated, so an instance stays small
	// whatever the schema's recursion.
	nodes int
	// edgeOdds: one value in edgeOdds is an edge value.
	edgeOdds int
}

func newInstGen(src *fuzzSource, root any) *instGen {
	return &instGen{src: src, root: root, nodes: 200, edgeOdds: 12}
}

// instance generates one instance and writes it as JSON text.
func (g *instGen) instance() []byte {
	v := g.value(g.root, 0)
	return g.write(nil, v, 0)
}

// resolve follows a local $ref; nil when it goes elsewhere.
func (g *instGen) resolve(ref string) any {
	if ref == "#" || ref == "" {
		return g.root
	}
	if !strings.HasPrefix(ref, "#/") {
		return nil
	}
	cur := g.root
	for _, tok := range strings.Split(ref[2:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		if cur, ok = m[tok]; !ok {
			return nil
		}
	}
	return cur
}

// flat is a schema with its $ref, allOf and one branch of its anyOf, oneOf
// and if/then/else folded in: what a generated value aims to satisfy.
type flat struct {
	m     map[string]any
	never bool // a false schema was folded in
}

func (g *instGen) flatten(s any, depth int) flat {
	f := flat{m: map[string]any{}}
	g.fold(&f, s, depth)
	return f
}

func (g *instGen) fold(f *flat, s any, depth int) {
	if depth > 12 {
		return
	}
	if b, ok := s.(bool); ok {
		f.never = f.never || !b
		return
	}
	m, ok := s.(map[string]any)
	if !ok {
		return
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		switch k {
		case "$ref":
			if r, ok := v.(string); ok {
				if t := g.resolve(r); t != nil {
					g.fold(f, t, depth+1)
				}
			}
		case "allOf":
			if list, ok := v.([]any); ok {
				for _, sub := range list {
					g.fold(f, sub, depth+1)
				}
			}
		case "anyOf", "oneOf":
			if list, ok := v.([]any); ok && len(list) > 0 {
				g.fold(f, pick(g.src, list), depth+1)
			}
		case "if":
			if g.src.intn(2) == 0 {
				g.fold(f, v, depth+1)
				g.fold(f, m["then"], depth+1)
			} else {
				g.fold(f, m["else"], depth+1)
			}
		case "then", "else", "not", "definitions", "$defs":
		case "properties", "patternProperties", "dependencies", "dependentRequired", "dependentSchemas":
			props, ok := v.(map[string]any)
			if !ok {
				continue
			}
			have, _ := f.m[k].(map[string]any)
			if have == nil {
				have = map[string]any{}
				f.m[k] = have
			}
			for name, ps := range props {
				if _, dup := have[name]; !dup {
					have[name] = ps
				}
			}
		case "required":
			list, _ := v.([]any)
			have, _ := f.m[k].([]any)
			f.m[k] = append(slices.Clip(have), list...)
		case "type":
			if have, ok := f.m[k]; ok {
				if both := intersectTypes(have, v); len(both) > 0 {
					f.m[k] = both
				}
				continue
			}
			f.m[k] = v
		default:
			if _, have := f.m[k]; !have {
				f.m[k] = v
			}
		}
	}
}

func typeList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, t := range v {
			if s, ok := t.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func intersectTypes(a, b any) []any {
	bs := typeList(b)
	var out []any
	for _, t := range typeList(a) {
		if slices.Contains(bs, t) || (t == "integer" && slices.Contains(bs, "number")) {
			out = append(out, t)
		} else if t == "number" && slices.Contains(bs, "integer") {
			out = append(out, "integer")
		}
	}
	return out
}

func (f flat) num(k string) (float64, bool) {
	n, ok := f.m[k].(json.Number)
	if !ok {
		return 0, false
	}
	x, err := strconv.ParseFloat(string(n), 64)
	return x, err == nil && !math.IsInf(x, 0)
}

func (f flat) count(k string) int {
	x, ok := f.num(k)
	if !ok || x < 0 || x > 1000 {
		return -1
	}
	return int(x)
}

// value generates a value for schema s.
func (g *instGen) value(s any, depth int) *jv {
	g.nodes--
	// Six levels: under a recursive anyOf of three branches each level
	// triples the stock validator's work (and its messages: 206,670 for
	// ten levels, 8 s), which would make the fuzzer crawl.
	if g.nodes < 0 || depth > 6 {
		return rawJV("null")
	}
	f := g.flatten(s, 0)
	if f.never {
		return g.anyValue(depth)
	}
	if g.src.oneIn(g.edgeOdds) {
		return g.edge(f, depth)
	}
	if e, ok := f.m["const"]; ok {
		return g.jsonValue(e)
	}
	if list, ok := f.m["enum"].([]any); ok && len(list) > 0 {
		return g.jsonValue(pick(g.src, list))
	}
	switch g.typeOf(f) {
	case "object":
		return g.object(f, depth)
	case "array":
		return g.array(f, depth)
	case "string":
		return strJV(g.str(f))
	case "integer":
		return rawJV(g.spellNumber(g.number(f, true)))
	case "number":
		return rawJV(g.spellNumber(g.number(f, false)))
	case "boolean":
		return rawJV(pick(g.src, []string{"true", "false"}))
	case "null":
		return rawJV("null")
	}
	return g.anyValue(depth)
}

// typeOf picks one of the schema's types, or guesses one from its keywords.
func (g *instGen) typeOf(f flat) string {
	if ts := typeList(f.m["type"]); len(ts) > 0 {
		return pick(g.src, ts)
	}
	has := func(keys ...string) bool {
		for _, k := range keys {
			if _, ok := f.m[k]; ok {
				return true
			}
		}
		return false
	}
	switch {
	case has("properties", "required", "additionalProperties", "patternProperties", "minProperties", "maxProperties", "dependencies", "dependentRequired"):
		return "object"
	case has("items", "prefixItems", "contains", "minItems", "maxItems", "uniqueItems"):
		return "array"
	case has("maxLength", "minLength", "pattern", "format"):
		return "string"
	case has("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"):
		return "number"
	}
	return ""
}

// anyValue is a small value of any type.
func (g *instGen) anyValue(depth int) *jv {
	switch g.src.intn(7) {
	case 0:
		return strJV(pick(g.src, plainWords))
	case 1:
		return rawJV(pick(g.src, edgeNumbers))
	case 6:
		return strJV(pick(g.src, escapeWords))
	case 2:
		return rawJV(pick(g.src, []string{"true", "false"}))
	case 3:
		return rawJV("null")
	case 4:
		if depth < 6 {
			return &jv{kind: 'a', items: []*jv{g.anyValue(depth + 1)}}
		}
	case 5:
		if depth < 6 {
			return &jv{kind: 'o', members: []jmember{{pick(g.src, memberNames), g.anyValue(depth + 1)}}}
		}
	}
	return rawJV("0")
}

func (g *instGen) object(f flat, depth int) *jv {
	o := &jv{kind: 'o'}
	props, _ := f.m["properties"].(map[string]any)
	required := map[string]bool{}
	for _, r := range typeList(f.m["required"]) {
		required[r] = true
	}
	has := map[string]bool{}
	add := func(name string, s any) {
		if has[name] {
			return
		}
		has[name] = true
		o.members = append(o.members, jmember{name, g.value(s, depth+1)})
	}
	for _, name := range slices.Sorted(maps.Keys(props)) {
		if required[name] || g.src.intn(4) != 3 {
			add(name, props[name])
		}
	}
	for _, name := range slices.Sorted(maps.Keys(required)) {
		add(name, g.propertySchema(f, name))
	}
	// What a present member makes required.
	for _, k := range []string{"dependencies", "dependentRequired"} {
		deps, _ := f.m[k].(map[string]any)
		for _, name := range slices.Sorted(maps.Keys(deps)) {
			if !has[name] {
				continue
			}
			for _, r := range typeList(deps[name]) {
				add(r, g.propertySchema(f, r))
			}
		}
	}
	if pp, ok := f.m["patternProperties"].(map[string]any); ok && len(pp) > 0 && g.src.intn(2) == 1 {
		p := pick(g.src, slices.Sorted(maps.Keys(pp)))
		add(g.regexSample(p), pp[p])
	}
	if g.additionalAllowed(f) {
		for extra := 0; g.src.oneIn(3) || len(o.members) < f.count("minProperties"); extra++ {
			if extra > 8 {
				break
			}
			name := pick(g.src, memberNames)
			add(name, g.propertySchema(f, name))
		}
	}
	// Shuffle: members in any order.
	for i := len(o.members) - 1; i > 0; i-- {
		j := g.src.intn(i + 1)
		o.members[i], o.members[j] = o.members[j], o.members[i]
	}
	return o
}

func (g *instGen) additionalAllowed(f flat) bool {
	ap, ok := f.m["additionalProperties"]
	if b, isBool := ap.(bool); ok && isBool && !b {
		return false
	}
	up, ok := f.m["unevaluatedProperties"]
	if b, isBool := up.(bool); ok && isBool && !b {
		return false
	}
	return true
}

// propertySchema is the schema a member of that name is held to: its
// property's, else additionalProperties (true when absent).
func (g *instGen) propertySchema(f flat, name string) any {
	if props, ok := f.m["properties"].(map[string]any); ok {
		if s, ok := props[name]; ok {
			return s
		}
	}
	if ap, ok := f.m["additionalProperties"]; ok {
		return ap
	}
	return true
}

func (g *instGen) array(f flat, depth int) *jv {
	a := &jv{kind: 'a'}
	lo, hi := f.count("minItems"), f.count("maxItems")
	if lo < 0 {
		lo = 0
	}
	if hi < 0 || hi > lo+3 {
		hi = lo + 3
	}
	n := lo + g.src.intn(hi-lo+1)
	tuple, _ := f.m["prefixItems"].([]any)
	items := f.m["items"]
	if list, ok := items.([]any); ok { // draft 4-7 tuple form
		tuple, items = list, f.m["additionalItems"]
	}
	for i := 0; i < n; i++ {
		var s any = true
		switch {
		case i < len(tuple):
			s = tuple[i]
		case items != nil:
			s = items
		}
		a.items = append(a.items, g.value(s, depth+1))
	}
	if c, ok := f.m["contains"]; ok && g.src.intn(4) != 3 {
		at := g.src.intn(len(a.items) + 1)
		a.items = slices.Insert(a.items, at, g.value(c, depth+1))
	}
	return a
}

// str generates a string for the schema's format, pattern or lengths.
func (g *instGen) str(f flat) string {
	if name, ok := f.m["format"].(string); ok {
		if samples := formatSamples[name]; len(samples) > 0 {
			return pick(g.src, samples)
		}
	}
	if p, ok := f.m["pattern"].(string); ok {
		return g.regexSample(p)
	}
	s := pick(g.src, plainWords)
	if lo := f.count("minLength"); lo > 0 {
		for utf8.RuneCountInString(s) < lo {
			s += pick(g.src, []string{"x", "é", "日", "😀"})
		}
	}
	if hi := f.count("maxLength"); hi >= 0 && utf8.RuneCountInString(s) > hi {
		s = string([]rune(s)[:hi])
	}
	return s
}

// number generates a number within the schema's bounds, as a multiple of
// its multipleOf when it has one, spelled in one of JSON's ways.
func (g *instGen) number(f flat, integer bool) string {
	lo, hasLo := f.num("minimum")
	hi, hasHi := f.num("maximum")
	if x, ok := f.num("exclusiveMinimum"); ok && (!hasLo || x >= lo) {
		lo, hasLo = x+1, true
	}
	if x, ok := f.num("exclusiveMaximum"); ok && (!hasHi || x <= hi) {
		hi, hasHi = x-1, true
	}
	if !hasLo {
		lo = math.Min(-5, hi-10)
	}
	if !hasHi {
		hi = lo + 100
	}
	if hi < lo {
		hi = lo
	}
	if m, ok := f.num("multipleOf"); ok && m > 0 {
		k := math.Ceil(lo / m)
		if top := math.Floor(hi / m); top > k {
			k += float64(g.src.intn(int(math.Min(top-k, 1000)) + 1))
		}
		return strconv.FormatFloat(k*m, 'g', -1, 64)
	}
	var x float64
	switch g.src.intn(4) {
	case 0:
		x = lo + float64(g.src.intn(int(math.Min(hi-lo, 1e6))+1))
	case 1:
		x = lo
	case 2:
		x = hi
	case 3:
		x = lo + (hi-lo)*float64(g.src.intn(100))/100
	}
	if integer {
		x = math.Ceil(x)
		if x > hi {
			x = math.Floor(hi)
		}
	}
	text := strconv.FormatFloat(x, 'f', -1, 64)
	if integer || x == math.Trunc(x) {
		text = strconv.FormatFloat(x, 'f', 0, 64)
	}
	return text
}

// edge generates a value just over (or just on) an edge of the schema.
func (g *instGen) edge(f flat, depth int) *jv {
	typ := g.typeOf(f)
	switch g.src.intn(5) {
	case 0: // a value of another type, or null
		return pick(g.src, []*jv{rawJV("null"), strJV("1"), rawJV("1"), rawJV("1.5"), rawJV("true"), {kind: 'o'}, {kind: 'a'}})
	case 1: // outside the enum or const, by a little
		for _, k := range []string{"const", "enum"} {
			v, ok := f.m[k]
			if !ok {
				continue
			}
			if list, ok := v.([]any); ok && k == "enum" && len(list) > 0 {
				v = pick(g.src, list)
			}
			return g.nearby(v)
		}
	case 2: // deep nesting
		n := 1 + g.src.intn(300)
		open, close := "[", "]"
		if g.src.intn(2) == 1 {
			open, close = `{"a":`, "}"
		}
		return rawJV(strings.Repeat(open, n) + pick(g.src, []string{"1", "null", `"x"`, "{}"}) + strings.Repeat(close, n))
	}
	switch typ {
	case "string":
		return strJV(g.edgeString(f))
	case "integer", "number":
		return rawJV(g.edgeNumber(f, typ == "integer"))
	case "object":
		return g.edgeObject(f, depth)
	case "array":
		return g.edgeArray(f, depth)
	}
	return rawJV(pick(g.src, edgeNumbers))
}

// nearby is a value close to v but not equal to it.
func (g *instGen) nearby(v any) *jv {
	switch v := v.(type) {
	case string:
		return strJV(pick(g.src, []string{v + "x", strings.ToUpper(v), strings.TrimSpace(v + " "), v + "\u0000", ""}))
	case json.Number:
		return rawJV(pick(g.src, []string{string(v) + "1", string(v) + ".0", string(v) + "e0", "-" + string(v), "0"}))
	case map[string]any:
		o := toJV(v)
		switch {
		case len(o.members) > 0 && g.src.intn(2) == 0:
			o.members = o.members[1:]
		default:
			o.members = append(o.members, jmember{"zz", rawJV("1")})
		}
		return o
	case []any:
		a := toJV(v)
		if len(a.items) > 0 && g.src.intn(2) == 0 {
			a.items = a.items[:len(a.items)-1]
		} else {
			a.items = append(a.items, rawJV("null"))
		}
		return a
	case bool:
		return rawJV(strconv.FormatBool(!v))
	}
	return rawJV(`"null"`)
}

func (g *instGen) edgeString(f flat) string {
	s := g.str(f)
	switch g.src.intn(6) {
	case 0:
		if hi := f.count("maxLength"); hi >= 0 {
			return strings.Repeat(pick(g.src, []string{"a", "é", "😀"}), hi+g.src.intn(2))
		}
	case 1:
		if lo := f.count("minLength"); lo > 0 {
			return strings.Repeat("b", lo-1)
		}
	case 2: // one character off: a format or a pattern just missed
		if s == "" {
			return "\t"
		}
		r := []rune(s)
		i := g.src.intn(len(r))
		switch g.src.intn(4) {
		case 0:
			r[i] = pick(g.src, []rune{'x', '9', ' ', '-', ':', 'Z', '/', '.', 'é'})
		case 1:
			r = slices.Delete(r, i, i+1)
		case 2:
			r = slices.Insert(r, i, pick(g.src, []rune{'0', 'a', '\n', '@', '%'}))
		case 3:
			return s + "\n"
		}
		return string(r)
	case 3:
		if g.src.intn(2) == 0 {
			return pick(g.src, escapeWords)
		}
		return pick(g.src, []string{"", " ", "\u2028", "\ufeff", "a\u0000b", "\ud7ff", "\U0010ffff", string([]byte{0xff, 'a'}), string([]byte{0xed, 0xa0, 0x80})})
	}
	return s
}

func (g *instGen) edgeNumber(f flat, integer bool) string {
	var bounds []string
	for _, k := range []string{"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"} {
		if n, ok := f.m[k].(json.Number); ok {
			x, _ := strconv.ParseFloat(string(n), 64)
			bounds = append(bounds, string(n), fmtFloat(x+1), fmtFloat(x-1), fmtFloat(x+0.5), fmtFloat(math.Nextafter(x, math.Inf(1))),
				fmtFloat(math.Nextafter(x, math.Inf(-1))), string(n)+".0", string(n)+"e0", fmtFloat(x*3+0.1))
		}
	}
	if len(bounds) > 0 && g.src.intn(3) != 2 {
		return pick(g.src, bounds)
	}
	if integer && g.src.intn(2) == 0 {
		return pick(g.src, []string{"1.0", "1e2", "1E+2", "-0", "-0.0", "2.5", "1e-2", "9007199254740993", "18446744073709551616"})
	}
	return pick(g.src, edgeNumbers)
}

func fmtFloat(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

func (g *instGen) edgeObject(f flat, depth int) *jv {
	o := g.object(f, depth)
	switch g.src.intn(4) {
	case 0: // a member missing (often a required one)
		if len(o.members) > 0 {
			i := g.src.intn(len(o.members))
			o.members = slices.Delete(o.members, i, i+1)
		}
	case 1: // a member no property names
		o.members = append(o.members, jmember{pick(g.src, []string{"zz_extra", "", "__proto__", "A", "x_1"}), g.anyValue(depth + 1)})
	case 2: // a member name repeated, with another value before or after
		if len(o.members) > 0 {
			m := o.members[g.src.intn(len(o.members))]
			other := jmember{m.name, g.anyValue(depth + 1)}
			if g.src.intn(2) == 0 {
				o.members = append(o.members, other)
			} else {
				o.members = append([]jmember{other}, o.members...)
			}
		}
	case 3: // one member too many
		if hi := f.count("maxProperties"); hi >= 0 {
			for i := 0; len(o.members) <= hi && i < hi+2; i++ {
				o.members = append(o.members, jmember{fmt.Sprintf("p%d", i), rawJV("0")})
			}
		}
	}
	return o
}

func (g *instGen) edgeArray(f flat, depth int) *jv {
	a := g.array(f, depth)
	switch g.src.intn(4) {
	case 0:
		if len(a.items) > 0 {
			a.items = a.items[:len(a.items)-1]
		}
	case 1: // one repeated, for uniqueItems
		if len(a.items) > 0 {
			a.items = append(a.items, a.items[g.src.intn(len(a.items))])
		} else {
			a.items = append(a.items, rawJV("1"), rawJV("1.0"))
		}
	case 2:
		if hi := f.count("maxItems"); hi >= 0 {
			for len(a.items) <= hi {
				a.items = append(a.items, g.value(f.m["items"], depth+1))
			}
		}
	case 3:
		a.items = append(a.items, g.anyValue(depth+1))
	}
	return a
}

// regexSample generates a string that pattern p matches (for the common
// constructs: classes, repeats, alternation, anchors), or something close.
func (g *instGen) regexSample(p string) string {
	re, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return "x"
	}
	var sb strings.Builder
	g.regexWrite(&sb, re, 0)
	return sb.String()
}

func (g *instGen) regexWrite(sb *strings.Builder, re *syntax.Regexp, depth int) {
	if depth > 20 || sb.Len() > 200 {
		return
	}
	repeat := func(lo, hi int) {
		if hi < 0 || hi > lo+3 {
			hi = lo + 3
		}
		for n := lo + g.src.intn(hi-lo+1); n > 0; n-- {
			g.regexWrite(sb, re.Sub[0], depth+1)
		}
	}
	switch re.Op {
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			if re.Flags&syntax.FoldCase != 0 && g.src.intn(2) == 1 {
				r = []rune(strings.ToUpper(string(r)))[0]
			}
			sb.WriteRune(r)
		}
	case syntax.OpCharClass:
		if len(re.Rune) >= 2 {
			i := 2 * g.src.intn(len(re.Rune)/2)
			lo, hi := re.Rune[i], re.Rune[i+1]
			sb.WriteRune(lo + rune(g.src.intn(int(min(hi-lo+1, 26)))))
		}
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		sb.WriteRune(pick(g.src, []rune{'a', 'Z', '0', ' ', 'é', '-'}))
	case syntax.OpCapture:
		g.regexWrite(sb, re.Sub[0], depth+1)
	case syntax.OpStar:
		repeat(0, 2)
	case syntax.OpPlus:
		repeat(1, 3)
	case syntax.OpQuest:
		repeat(0, 1)
	case syntax.OpRepeat:
		repeat(re.Min, re.Max)
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			g.regexWrite(sb, sub, depth+1)
		}
	case syntax.OpAlternate:
		g.regexWrite(sb, pick(g.src, re.Sub), depth+1)
	}
}

// write writes v as JSON, choosing spacing and escapes from the source.
func (g *instGen) write(b []byte, v *jv, depth int) []byte {
	space := func(b []byte) []byte {
		if g.src.oneIn(8) {
			return append(b, pick(g.src, []string{" ", "\n", "\t ", "\r\n"})...)
		}
		return b
	}
	switch v.kind {
	case 'o':
		b = append(b, '{')
		for i, m := range v.members {
			if i > 0 {
				b = append(b, ',')
			}
			b = space(b)
			b = g.writeString(b, m.name)
			b = space(b)
			b = append(b, ':')
			b = space(b)
			b = g.write(b, m.val, depth+1)
		}
		return append(space(b), '}')
	case 'a':
		b = append(b, '[')
		for i, it := range v.items {
			if i > 0 {
				b = append(b, ',')
			}
			b = space(b)
			b = g.write(b, it, depth+1)
		}
		return append(space(b), ']')
	case 's':
		return g.writeString(b, v.str)
	}
	return append(b, v.raw...)
}

// writeString writes s as a JSON string: mostly plain, sometimes with
// characters escaped that need not be (\u0061, \/), which only a decoder
// reads as the same string.
func (g *instGen) writeString(b []byte, s string) []byte {
	mode := 0
	if g.src.oneIn(20) {
		mode = 1 + g.src.intn(2)
	}
	b = append(b, '"')
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			b = append(b, s[i]) // a byte that is not UTF-8, sent as it is
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r < 0x20:
			b = fmt.Appendf(b, `\u%04x`, r)
		case mode == 1 && r < 0x80:
			b = fmt.Appendf(b, `\u%04X`, r)
		case mode == 2 && r > 0xffff:
			r1, r2 := utf16Pair(r)
			b = fmt.Appendf(b, `\u%04x\u%04x`, r1, r2)
		case mode == 2 && r == '/':
			b = append(b, '\\', '/')
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}

func utf16Pair(r rune) (rune, rune) {
	r -= 0x10000
	return 0xd800 + (r>>10)&0x3ff, 0xdc00 + r&0x3ff
}

var (
	plainWords = []string{"a", "hello", "", "Hello World", "é", "日本語", "😀", "/path/x", "x-y_z", "123", "null"}
	// escapeWords are strings that JSON must escape.
	escapeWords = []string{`q"uote`, `back\slash`, "tab\there", "line\nbreak", "\u0000"}
	memberNames = []string{"a", "b", "id", "name", "value", "x_1", "e", "é", "", "a b", `q"k`, "A", "zz"}
	edgeNumbers = []string{"0", "-0", "1", "-1", "1.0", "1e2", "1E-2", "0.1", "-0.0", "2.5", "1e308", "1e400", "-1e400", "5e-324", "-1e-400", "1e-400", "4.5e-324", "2.2250738585072011e-308",
		"9007199254740993", "123456789012345678901234567890", "1.0000000000000001", "0.30000000000000004", "100", "1000000"}
	formatSamples = map[string][]string{
		"date-time":     {"2026-12-05T02:00:00Z", "2026-12-05T02:00:00.123+01:00", "1999-02-28T23:59:59-05:30", "2016-12-31T23:59:60Z", "2026-12-05t02:00:00z"},
		"date":          {"2026-12-05", "2024-02-29", "2023-02-29"},
		"time":          {"02:00:00Z", "23:59:59.5+01:00", "12:00:00"},
		"email":         {"a@b.co", "first.last@example.com", "x+tag@sub.example.org", `"q"@example.com`, "a@[127.0.0.1]"},
		"idn-email":     {"a@b.co", "ü@例え.jp"},
		"uri":           {"https://example.com/a?b=c#d", "urn:isbn:0451450523", "mailto:a@b.co", "http://[::1]:80/", "https://u:p@h/x", "http://example.com/%zz"},
		"uri-reference": {"/a/b", "../x", "https://e.com", "#frag", "", "a b"},
		"iri":           {"https://例え.jp/ü"},
		"iri-reference": {"/ü"},
		"uuid":          {"123e4567-e89b-12d3-a456-426614174000", "123E4567-E89B-12D3-A456-426614174000", "00000000-0000-0000-0000-000000000000"},
		"ipv4":          {"192.168.0.1", "0.0.0.0", "255.255.255.255", "01.2.3.4"},
		"ipv6":          {"::1", "2001:db8::8a2e:370:7334", "::ffff:192.0.2.1", "fe80::1%eth0"},
		"hostname":      {"example.com", "a-b.c", "localhost", "-bad.example"},
		"duration":      {"P1D", "PT1H30M", "P1Y2M3DT4H5M6S", "P1W", "PT"},
		"regex":         {"^a+$", "[a-z]", "("},
		"json-pointer":  {"/a/b", "", "/a~1b", "a"},
		"uri-template":  {"/a/{b}"},
	}
)
