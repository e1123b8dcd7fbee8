package contract

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/event"
)

// treeAnyOf is a tree node whose children may be a node, a leaf or the
// whole contract: three ways back to the same schema at every level. The
// stock validator tries each at each level and keeps every failure: for
// the 171-byte event treeEvent(10, "1") it took 1.7 s and returned 43,232
// messages (before the memoized walk).
const treeAnyOf = `"definitions":{` +
	`"node":{"type":"object","properties":{"name":{"type":"string"},"c":{"anyOf":[{"$ref":"#/definitions/node"},{"$ref":"#/definitions/leaf"},{"$ref":"#"}]}}},` +
	`"leaf":{"type":"object","properties":{"c":{"$ref":"#/definitions/node"}},"required":["name"]}},` +
	`"anyOf":[{"$ref":"#/definitions/node"},{"$ref":"#/definitions/leaf"}]`

// treeEvent nests depth nodes, the innermost holding leaf as its child.
func treeEvent(depth int, leaf string) []byte {
	return []byte(strings.Repeat(`{"name":"n","c":`, depth) + leaf + strings.Repeat("}", depth))
}

func TestExposure(t *testing.T) {
	for _, tc := range []struct {
		name, meta, body string
		exposed          bool
	}{
		{"recursive anyOf of three ways back", iglu, treeAnyOf, true},
		{"oneOf of recursive arrays", iglu, `"oneOf":[{"type":"array","items":{"$ref":"#"}},{"type":"array","items":{"$ref":"#"},"maxItems":5},{"type":"integer"}]`, true},
		{"allOf of two ways back", d7, `"properties":{"c":{"allOf":[{"$ref":"#"},{"$ref":"#"}]}}`, true},
		{"patternProperties beside a property, both back", d7, `"properties":{"a":{"$ref":"#"}},"patternProperties":{"^a":{"$ref":"#"}}`, true},
		{"items and contains both back", d2020, `"items":{"$ref":"#"},"contains":{"$ref":"#"}`, true},
		{"a ref cycle in place", d7, `"allOf":[{"$ref":"#"}]`, true},
		{"$dynamicRef back through the anchor", d2020, `"$dynamicAnchor":"n","anyOf":[{"type":"null"},{"type":"object","properties":{"a":{"$dynamicRef":"#n"},"b":{"$dynamicRef":"#n"}}}]`, false},
		{"$dynamicRef twice in place", d2020, `"$dynamicAnchor":"n","properties":{"a":{"anyOf":[{"$dynamicRef":"#n"},{"$dynamicRef":"#n"}]}}`, true},
		{"a tree of children", iglu, `"type":"object","properties":{"name":{"type":"string"},"children":{"type":"array","items":{"$ref":"#"}}},"required":["name"]`, false},
		{"a nullable recursive union", iglu, `"properties":{"next":{"anyOf":[{"type":"null"},{"$ref":"#"}]}}`, false},
		{"a linked list by oneOf", d7, `"oneOf":[{"type":"null"},{"type":"object","properties":{"next":{"$ref":"#"}},"required":["next"]}]`, false},
		{"anyOf of two unrelated definitions", iglu, `"definitions":{"a":{"type":"string"},"b":{"type":"integer"}},"properties":{"x":{"anyOf":[{"$ref":"#/definitions/a"},{"$ref":"#/definitions/b"}]}}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := compileKeyword(t, tc.meta, tc.body)
			exposed, where := exposure(c.validators().schema)
			if exposed != tc.exposed {
				t.Fatalf("exposed = %v (at %q), want %v", exposed, where, tc.exposed)
			}
			if exposed && !strings.HasPrefix(where, c.URI) {
				t.Errorf("where = %q, want a location in %s", where, c.URI)
			}
		})
	}
}

// No contract Accord ships or tests against is exposed: their events keep
// the stock validator's messages.
func TestExposureOfRealContracts(t *testing.T) {
	for _, c := range loadDiffContracts(t) {
		if exposed, where := exposure(c.validators().schema); exposed {
			t.Errorf("%s is exposed at %s", c.URI, where)
		}
	}
}

// The event that took the stock validator seconds is decided and worded
// by the memoized walk in work linear in its size, at every depth, valid or
// invalid, with the stock validator's verdict.
func TestExposedContractWorkIsLinear(t *testing.T) {
	c := compileKeyword(t, iglu, treeAnyOf)
	sp := c.slowPath()
	if !sp.exposed {
		t.Fatal("the contract is not found exposed")
	}
	for _, depth := range []int{1, 4, 10, 100, 3000} {
		for _, tc := range []struct {
			leaf  string
			valid bool
		}{{`{"name":"x"}`, true}, {"1", false}, {`{"name":5,"c":1}`, false}} {
			raw := treeEvent(depth, tc.leaf)
			msgs, decided, work, err := c.validateExposed(sp, raw, "/data")
			if err != nil || !decided {
				t.Fatal(decided, err)
			}
			// A unit per schema decided at each place, per member and
			// per byte of a string: the tree reaches each place through
			// five schemas, each reading one member name or two.
			if limit := 12 * len(raw); work > limit {
				t.Errorf("depth %d, %s: work %d, want at most %d (12 a byte)", depth, tc.leaf, work, limit)
			}
			if (len(msgs) == 0) != tc.valid {
				t.Fatalf("depth %d, %s: %d messages, want valid %v: %v", depth, tc.leaf, len(msgs), tc.valid, msgs)
			}
			if valid, err := c.Valid(raw); err != nil || valid != tc.valid {
				t.Errorf("depth %d, %s: Valid = %v, %v", depth, tc.leaf, valid, err)
			}
			if got, err := c.ValidateJSON(raw, "/data"); err != nil || !sameMessages(got, msgs) {
				t.Errorf("depth %d: ValidateJSON gave %v, %v; the memoized walk %v", depth, got, err, msgs)
			}
			if len(msgs) > maxFailures {
				t.Errorf("depth %d: %d messages, more than %d", depth, len(msgs), maxFailures)
			}
			if depth <= 4 {
				// The stock validator is still quick here: same verdict,
				// and every failure it finds is among ours.
				value, err := DecodeValue(raw)
				if err != nil {
					t.Fatal(err)
				}
				stock := c.Validate(value, "/data")
				if (len(stock) == 0) != tc.valid {
					t.Fatalf("depth %d, %s: the stock validator disagrees: %v", depth, tc.leaf, stock)
				}
				if missing := notAmong(stock, msgs); len(missing) > 0 {
					t.Errorf("depth %d, %s: the stock validator's failures %v are not among ours %v", depth, tc.leaf, missing, msgs)
				}
			}
		}
	}
}

// The deepest failure is named with its place and keyword, and each anyOf
// on the way says that none of its branches held.
func TestExposedContractMessages(t *testing.T) {
	c := compileKeyword(t, iglu, treeAnyOf)
	msgs, err := c.ValidateJSON(treeEvent(10, `{"name":5,"c":1}`), "/data")
	if err != nil {
		t.Fatal(err)
	}
	deep := "/data" + strings.Repeat("/c", 10)
	want := []event.Message{
		{InstancePath: deep + "/name", SchemaPath: "/definitions/node/properties/name/type", Keyword: "type", Message: deep + "/name must be string, but is number"},
		{InstancePath: deep + "/c", SchemaPath: "/definitions/node/type", Keyword: "type", Message: deep + "/c must be object, but is number"},
		{InstancePath: deep + "/c", SchemaPath: "/definitions/node/properties/c/anyOf", Keyword: "anyOf", Message: deep + "/c: matches none of the 3 schemas of anyOf"},
		{InstancePath: "/data", SchemaPath: "/anyOf", Keyword: "anyOf", Message: "/data: matches none of the 2 schemas of anyOf"},
	}
	for _, w := range want {
		w.Schema = c.URI
		if !slices.Contains(msgs, w) {
			t.Errorf("no message %+v among %d:\n%s", w, len(msgs), messageLines(msgs))
		}
	}
	if len(msgs) > 60 {
		t.Errorf("%d messages for ten levels:\n%s", len(msgs), messageLines(msgs))
	}
}

// An event the memoized walk cannot decide under an exposed contract goes
// to the stock validator only when counting that validator's work on it
// shows it within stockBound; otherwise it fails, with a message that says
// why, instead of taking seconds of a core.
func TestExposedContractUndecided(t *testing.T) {
	c := compileKeyword(t, d2020, `"type":"object","properties":{"c":{"anyOf":[{"$ref":"#"},{"$ref":"#"}]},"u":{"unevaluatedProperties":false}}`)
	sp := c.slowPath()
	if !sp.exposed {
		t.Fatal("not exposed")
	}
	nest := func(depth int, leaf string) []byte {
		return []byte(strings.Repeat(`{"c":`, depth) + leaf + strings.Repeat("}", depth))
	}
	// Shallow: the stock validator's work is small, and it decides.
	for _, raw := range [][]byte{nest(3, `{"u":{}}`), nest(3, `{"u":{"x":1}}`)} {
		msgs, decided, _, err := c.validateExposed(sp, raw, "/data")
		value, _ := DecodeValue(raw)
		if err != nil || !decided || !sameMessages(msgs, c.Validate(value, "/data")) {
			t.Errorf("%s: decided %v, %v, messages %v; want the stock validator's %v", raw, decided, err, msgs, c.Validate(value, "/data"))
		}
	}
	// Deep: 2^40 paths to the innermost object.
	raw := nest(40, `{"u":{}}`)
	m := newMemoWalk(sp, raw)
	if m.verdict() != fastUnsure {
		t.Fatal("the memoized walk decides unevaluatedProperties")
	}
	if w := m.stockWork(c.validators().schema, 0, stockBound(raw)); w <= stockBound(raw) {
		t.Fatalf("the stock validator's work on 2^40 paths counted %d, within %d", w, stockBound(raw))
	}
	if limit := 16*len(raw) + stockBound(raw); m.work > limit {
		t.Errorf("the walks' work %d, want at most %d", m.work, limit)
	}
	msgs, err := c.ValidateJSON(raw, "/data")
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || !strings.Contains(msgs[0].Message, "within its work bound") || !strings.Contains(msgs[0].Message, "accord contract lint") {
		t.Fatalf("messages %v, want one saying the event could not be checked", msgs)
	}
	if ok, err := c.Valid(raw); ok || err != nil {
		t.Errorf("Valid = %v, %v; want false as ValidateJSON", ok, err)
	}
	if _, err := c.ValidateJSON(raw[:len(raw)-1], "/data"); err == nil {
		t.Error("no error for text that is not JSON")
	}
	// What the memoized walk decides is decided as usual.
	if msgs, err := c.ValidateJSON(nest(40, "1"), "/data"); err != nil || len(msgs) == 0 || strings.Contains(msgs[0].Message, "work bound") {
		t.Errorf("an invalid event: %v, %v", msgs, err)
	}
}

// notAmong returns the messages of want (as a set) that got lacks.
func notAmong(want, got []event.Message) []event.Message {
	var out []event.Message
	for _, w := range want {
		if !slices.Contains(got, w) && !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

func messageLines(msgs []event.Message) string {
	var b strings.Builder
	for _, m := range msgs {
		fmt.Fprintf(&b, "  %s %s %s: %s\n", m.InstancePath, m.SchemaPath, m.Keyword, m.Message)
	}
	return b.String()
}

// BenchmarkExposedTree is ValidateJSON on the tree contract with the
// ten-level event that took the stock validator 1.7 s (43,232 messages).
func BenchmarkExposedTree(b *testing.B) {
	c := compileKeyword(b, iglu, treeAnyOf)
	for _, tc := range []struct{ name, leaf string }{{"Valid", `{"name":"x"}`}, {"Invalid", "1"}} {
		raw := treeEvent(10, tc.leaf)
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			_, _, work, _ := c.validateExposed(c.slowPath(), raw, "/data")
			for b.Loop() {
				if _, err := c.ValidateJSON(raw, "/data"); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(work)/float64(len(raw)), "work/byte")
		})
	}
}

// exposedContracts are contracts whose combinators lead back to themselves
// several ways, each with a few events.
var exposedContracts = []struct{ meta, body string }{
	{iglu, treeAnyOf},
	{iglu, `"oneOf":[{"type":"array","items":{"$ref":"#"}},{"type":"array","items":{"$ref":"#"},"maxItems":5},{"type":"integer"}]`},
	{d7, `"type":"object","properties":{"c":{"allOf":[{"$ref":"#"},{"$ref":"#"}]},"s":{"type":"string","maxLength":3}},"required":["s"]`},
	{d2020, `"type":"object","properties":{"c":{"anyOf":[{"$ref":"#"},{"$ref":"#"}]},"u":{"unevaluatedProperties":false}}`},
	{d2019, `"type":["object","array","integer"],"items":{"$ref":"#"},"contains":{"anyOf":[{"$ref":"#"},{"type":"integer","multipleOf":3}]},"patternProperties":{"^a":{"$ref":"#"}},"properties":{"ab":{"not":{"$ref":"#"}}}`},
}

// FuzzExposedContracts sends any bytes as the event of an exposed contract,
// as an attacker would: the memoized walk's work stays linear in them, its
// verdict is the stock validator's wherever that validator can still be run
// (six levels of nesting at most), and an invalid event gets messages.
func FuzzExposedContracts(f *testing.F) {
	for i := range exposedContracts {
		for _, s := range []string{`{"name":"n","c":{"c":1}}`, `[[[1]],[2,[3]]]`, `{"s":"ab","c":{"s":"abcd"}}`, `{"c":{"c":{"u":{}}}}`, `{"ab":{"a":[3]}}`, `[]`} {
			f.Add(uint8(i), []byte(s))
		}
	}
	f.Add(uint8(0), treeEvent(10, "1"))
	contracts := make([]*Contract, len(exposedContracts))
	for i, e := range exposedContracts {
		contracts[i] = compileKeyword(f, e.meta, e.body)
		if !contracts[i].slowPath().exposed {
			f.Fatalf("%s is not exposed", e.body)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, raw []byte) {
		c := contracts[int(which)%len(contracts)]
		if len(raw) == 0 || !isData(raw) {
			return
		}
		sp := c.slowPath()
		msgs, decided, work, err := c.validateExposed(sp, raw, "/data")
		if err != nil {
			t.Fatalf("%q is data, but: %v", raw, err)
		}
		// The memoized walk and, for what it leaves, the count of the
		// stock validator's work, each within its budget.
		if limit := len(raw)*memoBudgetPerByte + memoBudgetBase; work > limit {
			t.Fatalf("%q: work %d, over %d", raw, work, limit)
		}
		if len(msgs) > maxFailures {
			t.Fatalf("%q: %d messages", raw, len(msgs))
		}
		if nesting(raw) > 6 {
			return // the stock validator's work could be exponential
		}
		value, err := DecodeValue(raw)
		if err != nil {
			t.Fatal(err)
		}
		stockValid := c.validators().schema.Validate(value) == nil
		if !decided {
			return
		}
		if stockValid != (len(msgs) == 0) {
			t.Fatalf("%s on %q: %d messages (%v); the stock validator says valid %v", c.URI, raw, len(msgs), msgs, stockValid)
		}
		if valid, err := c.Valid(raw); err != nil || valid != stockValid {
			t.Fatalf("%q: Valid = %v, %v; the stock validator says %v", raw, valid, err, stockValid)
		}
	})
}

// nesting is how deeply arrays and objects nest in raw.
func nesting(raw []byte) int {
	depth, deepest := 0, 0
	inString, escaped := false, false
	for _, c := range raw {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}
