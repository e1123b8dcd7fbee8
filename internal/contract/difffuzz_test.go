package contract

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/jsonscan"
)

// Differential fuzzing of the compiled validator (fast.go) against the stock
// validator (santhosh-tekuri/jsonschema): on real contracts (the Snowplow
// contracts Accord ships, the scaffold's, the drafts testdata, an Iglu
// Central schema) and on contracts generated in Iglu's shapes, with events
// generated from the schema and pushed over its edges (diffgen_test.go), and
// with the fuzz bytes as the event. Whenever the compiled validator decides,
// it decides as the stock validator does; ValidateJSON reports messages
// exactly when the stock validator finds the event invalid, and they are the
// stock validator's messages.

// diffVerdict is the compiled validator's answer.
type diffVerdict int

const (
	diffUnsure diffVerdict = iota
	diffValid
	diffInvalid
)

func (v diffVerdict) String() string { return [...]string{"unsure", "valid", "invalid"}[v] }

// fastVerdictOf asks the compiled validator about raw (as ValidateJSON
// passes it: empty raw is null).
func fastVerdictOf(c *Contract, raw []byte) diffVerdict {
	if c.validators().fast == nil {
		return diffUnsure
	}
	switch c.validators().fast.verdict(raw) {
	case fastValid:
		return diffValid
	case fastInvalid:
		return diffInvalid
	}
	return diffUnsure
}

// diffResult is what one comparison found.
type diffResult struct {
	fast       diffVerdict
	json       bool // raw is JSON
	stockValid bool
}

// checkDiff holds the compiled validator, Valid and ValidateJSON to the
// stock validator's verdict on raw. "Valid" must always agree, for ValidateJSON
// trusts it whatever it is given; "invalid" must agree on event data as the
// collector reads it (jsonscan), the only input the verdict is defined on:
// an object that repeats a member name may be invalid by its first value
// where the stock validator keeps the last.
func checkDiff(t testing.TB, c *Contract, raw []byte) diffResult {
	t.Helper()
	norm := raw
	if len(norm) == 0 {
		norm = []byte("null")
	}
	res := diffResult{fast: fastVerdictOf(c, norm)}
	value, err := DecodeValue(norm)
	if err != nil {
		if res.fast == diffValid {
			t.Fatalf("%s: the compiled validator says %q is valid, but it is not JSON: %v", c.URI, raw, err)
		}
		if msgs, err := c.ValidateJSON(raw, "/data"); err == nil {
			t.Fatalf("%s: ValidateJSON(%q) gave no error for text that is not JSON (messages %v)", c.URI, raw, msgs)
		}
		return res
	}
	res.json = true
	stockErr := c.validators().schema.Validate(value)
	res.stockValid = stockErr == nil
	switch {
	case res.fast == diffValid && !res.stockValid:
		t.Fatalf("%s: the compiled validator says %q is valid; the stock validator says %v", c.URI, raw, stockErr)
	case res.fast == diffInvalid && res.stockValid && isData(norm):
		t.Fatalf("%s: the compiled validator says %q is invalid; the stock validator says it is valid", c.URI, raw)
	}
	checkMemoAgrees(t, c, norm, res.stockValid, stockErr)
	undecided := false
	if sp := c.slowPath(); sp.exposed {
		_, decided, _, _ := c.validateExposed(sp, norm, "/data")
		undecided = !decided
	}
	if isData(norm) && !undecided {
		// Valid takes the compiled validator's invalid too.
		if valid, err := c.Valid(raw); err != nil || valid != res.stockValid {
			t.Fatalf("%s: Valid(%q) = %v, %v; the stock validator says %v", c.URI, raw, valid, err, stockErr)
		}
	}
	msgs, err := c.ValidateJSON(raw, "/data")
	if err != nil {
		t.Fatalf("%s: ValidateJSON(%q): %v, but it is JSON", c.URI, raw, err)
	}
	if c.slowPath().exposed {
		// The memoized walk words the messages (checkMemoAgrees holds
		// its verdict); one it cannot decide fails whatever the stock
		// validator says.
		if undecided {
			if len(msgs) != 1 || !strings.Contains(msgs[0].Message, "work bound") {
				t.Fatalf("%s: ValidateJSON(%q) undecided, but its messages are %v", c.URI, raw, msgs)
			}
			return res
		}
		if res.stockValid != (len(msgs) == 0) {
			t.Fatalf("%s: ValidateJSON(%q) gave %d messages (%v) under an exposed contract; the stock validator says %v", c.URI, raw, len(msgs), msgs, stockErr)
		}
		return res
	}
	if res.stockValid != (len(msgs) == 0) {
		t.Fatalf("%s: ValidateJSON(%q) gave %d messages (%v); the stock validator says %v", c.URI, raw, len(msgs), msgs, stockErr)
	}
	if want := c.Validate(value, "/data"); !sameMessages(msgs, want) {
		t.Fatalf("%s: ValidateJSON(%q) worded its messages %v; the stock validator's are %v", c.URI, raw, msgs, want)
	}
	return res
}

// memoPaths holds a memoized walk's nodes for each contract the
// differential tests check, exposed or not: every contract's events test it.
var memoPaths sync.Map // *Contract -> *slowPath

// checkMemoAgrees holds the memoized walk (fastmemo.go) to the stock
// validator's verdict on raw as checkDiff holds the compiled validator, and
// its failures to being there exactly when it says invalid.
func checkMemoAgrees(t testing.TB, c *Contract, raw []byte, stockValid bool, stockErr error) {
	t.Helper()
	sp, ok := memoPaths.Load(c)
	if !ok {
		sp, _ = memoPaths.LoadOrStore(c, newSlowPath(c.validators().schema, true))
	}
	m := newMemoWalk(sp.(*slowPath), raw)
	v := m.verdict()
	switch {
	case v == fastValid && !stockValid:
		t.Fatalf("%s: the memoized walk says %q is valid; the stock validator says %v", c.URI, raw, stockErr)
	case v == fastInvalid && stockValid && isData(raw):
		t.Fatalf("%s: the memoized walk says %q is invalid; the stock validator says it is valid", c.URI, raw)
	case v == fastUnsure && c.validators().fast != nil && c.validators().fast.verdict(raw) != fastUnsure && m.work <= m.budget && isData(raw):
		// Unsure only where the compiled validator is: the walks
		// decide the same, one of them once per place.
		t.Fatalf("%s: the memoized walk is unsure of %q; the compiled validator says %s", c.URI, raw, c.validators().fast.verdict(raw))
	}
	if v != fastInvalid || !isData(raw) {
		return
	}
	msgs, _, _, err := c.validateExposed(sp.(*slowPath), raw, "/data")
	if err != nil || len(msgs) == 0 || len(msgs) > maxFailures {
		t.Fatalf("%s: the memoized walk says %q is invalid but words %d failures (%v)", c.URI, raw, len(msgs), err)
	}
	for _, msg := range msgs {
		if msg.Keyword == "" && !strings.HasSuffix(msg.Message, "is not allowed by the contract") {
			t.Fatalf("%s: a failure of %q names no keyword: %+v", c.URI, raw, msg)
		}
	}
}

// isData reports whether raw is event data as the collector reads it.
func isData(raw []byte) bool {
	_, _, err := jsonscan.Document(raw, 0)
	return err == nil
}

// sameMessages compares two lists of messages as sets: messages with the
// same paths may come in either order.
func sameMessages(a, b []event.Message) bool {
	order := func(x, y event.Message) int {
		return cmp.Or(cmp.Compare(x.InstancePath, y.InstancePath), cmp.Compare(x.SchemaPath, y.SchemaPath), cmp.Compare(x.Message, y.Message))
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.SortFunc(a, order)
	slices.SortFunc(b, order)
	return slices.Equal(a, b)
}

// diffContracts are the real contracts the differential fuzzers use: the
// Snowplow contracts Accord ships, an Iglu Central schema, the scaffold's
// examples, the drafts testdata and the benchmark's contract. Loaded once,
// through LoadDir, as the collector loads them.
var diffContracts = sync.OnceValues(func() ([]*Contract, error) {
	var out []*Contract
	for _, dir := range []string{"../protocol/snowplow/contracts", "../../e2e/testdata/iglu-central/schemas", "../scaffold/template/contracts", "testdata/contracts"} {
		cs, _, err := LoadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", dir, err)
		}
		out = append(out, cs...)
	}
	c, err := Compile(benchDoc, Key{}, "bench")
	if err != nil {
		return nil, err
	}
	return append(out, c), nil
})

func loadDiffContracts(t testing.TB) []*Contract {
	t.Helper()
	cs, err := diffContracts()
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) < 100 {
		t.Fatalf("only %d contracts loaded for the differential tests", len(cs))
	}
	return cs
}

// contractDocument decodes a contract's document as the generators read it.
func contractDocument(t testing.TB, c *Contract) any {
	t.Helper()
	doc, err := DecodeValue(c.Document)
	if err != nil {
		t.Fatalf("%s: %v", c.URI, err)
	}
	return doc
}

// FuzzDiffSnowplowSchemas generates events for a real contract (which picks
// it) from the fuzz bytes: mostly valid, pushed over the schema's edges.
func FuzzDiffSnowplowSchemas(f *testing.F) {
	contracts := loadDiffContracts(f)
	docs := make([]any, len(contracts))
	for i, c := range contracts {
		docs[i] = contractDocument(f, c)
	}
	for i := range contracts {
		f.Add(uint16(i), []byte{})
		f.Add(uint16(i), []byte{0, 1, 2, 3, 0, 0, 0, 11, 4, 3, 2, 1, 0, 255, 0, 7})
	}
	f.Fuzz(func(t *testing.T, which uint16, data []byte) {
		i := int(which) % len(contracts)
		src := &fuzzSource{b: data}
		for range 3 {
			raw := newInstGen(src, docs[i]).instance()
			checkDiff(t, contracts[i], raw)
			if allocationSample(data) {
				checkFastAllocations(t, contracts[i], raw)
			}
			if src.i >= len(src.b) {
				break
			}
		}
	})
}

// FuzzDiffGeneratedSchemas generates a contract in Iglu's shapes from the
// fuzz bytes, compiles it as the collector does, and generates events for
// it from the rest of the bytes.
func FuzzDiffGeneratedSchemas(f *testing.F) {
	rng := rand.New(rand.NewPCG(15, 3))
	for range 16 {
		seed := make([]byte, 64)
		for i := range seed {
			seed[i] = byte(rng.Uint32())
		}
		f.Add(seed)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		src := &fuzzSource{b: data}
		doc := genContract(src)
		c, err := Compile(doc, Key{}, "generated")
		if err != nil {
			return // a schema its meta-schema refuses: not a contract
		}
		schema, err := DecodeValue(c.Document)
		if err != nil {
			t.Fatal(err)
		}
		for range 4 {
			raw := newInstGen(src, schema).instance()
			if src.oneIn(10) {
				raw = src.b[src.i:] // the rest of the bytes, as they are
				src.i = len(src.b)
			}
			checkDiff(t, c, raw)
			if allocationSample(data) {
				checkFastAllocations(t, c, raw)
			}
			if src.i >= len(src.b) {
				break
			}
		}
	})
}

// FuzzDiffRawBytes takes the fuzz bytes as the event itself, for a real
// contract: what no generator writes (broken JSON, odd escapes, deep
// nesting) reaches the compiled validator's scanner this way.
func FuzzDiffRawBytes(f *testing.F) {
	contracts := loadDiffContracts(f)
	for i, c := range contracts {
		src := &fuzzSource{}
		f.Add(uint16(i), newInstGen(src, contractDocument(f, c)).instance())
	}
	for i, s := range fastSeeds {
		f.Add(uint16(i*7), []byte(s))
	}
	f.Fuzz(func(t *testing.T, which uint16, data []byte) {
		c := contracts[int(which)%len(contracts)]
		checkDiff(t, c, data)
		if allocationSample(data) {
			checkFastAllocations(t, c, data)
		}
	})
}

// diffTally counts comparisons by the compiled validator's verdict and the
// stock validator's.
type diffTally struct {
	n, json, stockValid, valid, invalid, unsure int
}

func (d *diffTally) add(r diffResult) {
	d.n++
	if r.json {
		d.json++
	}
	if r.stockValid {
		d.stockValid++
	}
	switch r.fast {
	case diffValid:
		d.valid++
	case diffInvalid:
		d.invalid++
	default:
		d.unsure++
	}
}

func (d diffTally) decided() float64 { return float64(d.valid+d.invalid) / float64(max(d.n, 1)) }

func (d diffTally) String() string {
	return fmt.Sprintf("%d events (%d valid per the stock validator): compiled validator valid %d, invalid %d, unsure %d (decides %.0f%%)",
		d.n, d.stockValid, d.valid, d.invalid, d.unsure, 100*d.decided())
}

// randomBytes are fuzz bytes from a fixed seed, for the tests that run the
// generators without the fuzzer.
func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// The compiled validator must keep deciding the events of the contracts
// people send (the Snowplow contracts): if it regressed to leaving them all
// to the stock validator, every event would pay for decoding again and the
// fuzzers above would compare nothing. The generator must also make both
// valid and invalid events, or the comparison would be one-sided.
func TestDiffFastPathDecides(t *testing.T) {
	const perContract = 16
	// Floors: the compiled validator decides 99 % of the valid events and
	// 98 % of all (8bb4dcd); the rest hold escapes it does not decode or
	// numbers a float64 cannot compare exactly.
	const (
		minDecidedValid = 0.95 // of the events the stock validator finds valid
		minDecided      = 0.90 // of all events
	)
	rng := rand.New(rand.NewPCG(15, 3))
	var all, validOnly diffTally
	for _, c := range loadDiffContracts(t) {
		doc := contractDocument(t, c)
		for range perContract {
			src := &fuzzSource{b: randomBytes(rng, 256)}
			raw := newInstGen(src, doc).instance()
			r := checkDiff(t, c, raw)
			all.add(r)
			if r.stockValid && isData(raw) {
				validOnly.add(r)
			}
		}
	}
	t.Logf("real contracts: %v", all)
	t.Logf("of those valid (and data: no repeated member names): %v", validOnly)
	if v := float64(all.stockValid) / float64(all.n); v < 0.3 || v > 0.9 {
		t.Errorf("%.0f%% of the generated events are valid; the generator should make a mix (30%%-90%%)", 100*v)
	}
	if validOnly.decided() < minDecidedValid {
		t.Errorf("the compiled validator decides %.0f%% of valid events, below the floor of %.0f%%", 100*validOnly.decided(), 100*minDecidedValid)
	}
	if all.decided() < minDecided {
		t.Errorf("the compiled validator decides %.0f%% of events, below the floor of %.0f%%", 100*all.decided(), 100*minDecided)
	}
}

// The schema generator must make contracts that compile, and the compiled
// validator must cover a share of them, or FuzzDiffGeneratedSchemas would
// mostly test the stock validator against itself.
func TestDiffGeneratedSchemas(t *testing.T) {
	const schemas, perSchema = 60, 6
	rng := rand.New(rand.NewPCG(15, 4))
	compiled, withFast := 0, 0
	var all diffTally
	for range schemas {
		src := &fuzzSource{b: randomBytes(rng, 512)}
		doc := genContract(src)
		c, err := Compile(doc, Key{}, "generated")
		if err != nil {
			continue
		}
		compiled++
		if c.validators().fast != nil {
			withFast++
		}
		schema := contractDocument(t, c)
		for range perSchema {
			all.add(checkDiff(t, c, newInstGen(src, schema).instance()))
		}
	}
	t.Logf("generated contracts: %d of %d compile, %d with a compiled validator; %v", compiled, schemas, withFast, all)
	if compiled < schemas/2 {
		t.Errorf("only %d of %d generated contracts compile", compiled, schemas)
	}
	// It decides 96 % of them (8bb4dcd).
	if all.decided() < 0.85 {
		t.Errorf("the compiled validator decides %.0f%% of the events of generated contracts, below the floor of 85%%", 100*all.decided())
	}
	if v := float64(all.stockValid) / float64(all.n); v < 0.2 || v > 0.9 {
		t.Errorf("%.0f%% of the events generated for generated contracts are valid; want a mix", 100*v)
	}
	if withFast == 0 {
		t.Error("no generated contract has a compiled validator")
	}
}

// checkFastAllocations holds the compiled validator to a bound on its
// allocations, linear in the event's strings: a few for an error (jsonscan
// words it), the library's format check (about a dozen when a string is not
// in the form the fast path's own check takes), an escaped string or member
// name decoded (about eight, again for each branch of a oneOf that reads
// it); nothing else grows with the event.
func checkFastAllocations(t testing.TB, c *Contract, raw []byte) {
	t.Helper()
	if c.validators().fast == nil {
		return
	}
	allocs := testing.AllocsPerRun(1, func() { fastVerdictOf(c, raw) })
	if bound := 8 + 64*float64(bytes.Count(raw, []byte(`"`))/2); allocs > bound {
		t.Fatalf("%s: the compiled validator made %v allocations for %q, over the bound of %v", c.URI, allocs, raw, bound)
	}
}

// allocationSample picks the fuzz inputs whose allocations are counted: one
// in 16, by a hash of the input so that a failure reproduces. Counting stops
// the world, which would take most of the fuzzing time if done for each.
func allocationSample(data []byte) bool { return crc32.ChecksumIEEE(data)%16 == 0 }

// libraryFormat finds a format the fast path checks with the library's
// check (which allocates) rather than its own.
var libraryFormat = regexp.MustCompile(`"format"\s*:\s*"(email|ipv4|ipv6|hostname|uri-reference|duration)"`)

// The compiled validator allocates nothing to confirm a typical valid event
// (no escapes) of the real contracts whose formats it checks itself; the few that
// allocate have a string its own format check does not take (a leap
// second, an IPv6 host), which the library's check then decides.
func TestDiffFastPathAllocations(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 5))
	checked, allocating := 0, 0
	for _, c := range loadDiffContracts(t) {
		if c.validators().fast == nil || libraryFormat.Match(c.Document) {
			continue
		}
		doc := contractDocument(t, c)
		for range 5 {
			raw := newInstGen(&fuzzSource{b: randomBytes(rng, 256)}, doc).instance()
			checkFastAllocations(t, c, raw)
			if fastVerdictOf(c, raw) != diffValid || bytes.IndexByte(raw, '\\') >= 0 {
				continue // an escape may be decoded into a buffer
			}
			checked++
			if testing.AllocsPerRun(3, func() { fastVerdictOf(c, raw) }) != 0 {
				allocating++
			}
		}
	}
	t.Logf("%d of %d valid events allocate", allocating, checked)
	if checked < 100 || allocating > checked/10 {
		t.Errorf("%d of %d valid events allocate; want at most a tenth, of at least 100", allocating, checked)
	}
}

// Which keywords a draft knows decides what the stock validator checks:
// draft 4 (and so every Iglu schema) has no const, contains, propertyNames
// or if; drafts before 2019-09 ignore a $ref's siblings, dependentRequired
// and unevaluatedProperties; 2020-12 reads items as the schema after
// prefixItems. Each keyword is tried under each draft's $schema, the
// compiled validator held to the stock validator's verdict on each event.
func TestDiffDraftKeywords(t *testing.T) {
	for _, tc := range []struct{ schema, values string }{
		{`{"const":"x"}`, `"x","y",null`},
		{`{"const":{"k":[1,"v"]}}`, `{"k":[1,"v"]},{"k":[1.0,"v"]},{"k":["v",1]},{"k":[1,"v"],"j":1}`},
		{`{"enum":[1.0,"x",null,{"k":1}]}`, `1,1.0,1e0,"x",null,{},{"k":1},{"k":1.0},"1"`},
		{`{"contains":{"type":"integer"}}`, `[1],["s"],[],"s"`},
		{`{"contains":{"const":1},"minContains":2,"maxContains":2}`, `[1],[1,1],[1,1,1],[2]`},
		{`{"propertyNames":{"maxLength":1}}`, `{"ab":1},{"a":1},{},[]`},
		{`{"if":{"type":"string"},"then":{"maxLength":1},"else":{"type":"integer"}}`, `"ab","a",1,1.5,null`},
		{`{"dependentRequired":{"b":["c"]}}`, `{"b":1},{"b":1,"c":2},{"c":1}`},
		{`{"dependentSchemas":{"b":{"required":["c"]}}}`, `{"b":1},{"b":1,"c":2}`},
		{`{"dependencies":{"b":["c"]}}`, `{"b":1},{"b":1,"c":2},{"c":1}`},
		{`{"dependencies":{"b":{"required":["c"]}}}`, `{"b":1},{"b":1,"c":2}`},
		{`{"type":"array","prefixItems":[{"type":"string"}],"items":false}`, `[1],["a"],["a",1],[]`},
		{`{"type":"array","items":[{"type":"string"}],"additionalItems":false}`, `[1],["a"],["a",1],[]`},
		{`{"$ref":"#/definitions/s","maxLength":1}`, `"ab","a",1`},
		{`{"type":"integer"}`, `1,1.0,1e2,-0,1.5,12345678901234567890`},
		{`{"minimum":1,"exclusiveMinimum":true}`, `1,2,0.5`},
		{`{"exclusiveMinimum":1}`, `1,2,1.0000000000000002`},
		{`{"format":"date-time"}`, `"x","2026-12-05T02:00:00Z",1`},
		{`{"type":"object","properties":{"b":true},"unevaluatedProperties":false}`, `{"b":1},{"c":1}`},
		{`{"uniqueItems":true}`, `[1,1.0],[{"a":1,"b":2},{"b":2,"a":1}],[1,2],["1",1]`},
		{`{"multipleOf":0.1}`, `0.3,0.30000000000000004,1e308,0`},
		{`{"not":{"type":"null"}}`, `null,1`},
		{`{"oneOf":[{"type":"integer"},{"minimum":2}]}`, `1,3,2.5,"x"`},
		{`{"anyOf":[{"type":"string","maxLength":1},{"type":"null"}]}`, `"ab","a",null,1`},
		{`{"allOf":[{"type":"string"},{"pattern":"^a"}]}`, `"ab","ba",1`},
		{`{"patternProperties":{"^x_":{"type":"integer"}},"additionalProperties":false}`, `{"x_a":1},{"x_a":"s"},{"y":1}`},
		{`{"type":["string","null"],"maxLength":2}`, `"abc","ab",null,1`},
		{`{"$ref":"#"}`, `{"a":{}},{"a":1},{"a":{"a":{"a":[]}}}`},
		// What the stock validator reads after decoding: code points, not
		// bytes or UTF-16 units; escapes; bytes that are not UTF-8 become
		// U+FFFD, one each.
		{`{"maxLength":1}`, "\"é\",\"e\u0301\",\"😀\",\"\\ud83d\\ude00\",\"\\u00e9\",\"\xff\",\"\xff\xff\",\"\\ud800\",\"\xed\xa0\x80\""},
		{`{"pattern":"^.$"}`, "\"é\",\"😀\",\"\\u00e9\",\"\xff\",\"\\ud800\",\"\\n\""},
		{`{"enum":["é","a b"]}`, `"\u00e9","e\u0301","a\u0020b","a b"`},
		{`{"format":"email"}`, `"a@b.co","\u0061@b.co","a@b.co\n"`},
		{`{"format":"uri"}`, `"https://e.com/\u00e9","https:\/\/e.com\/x","https://e.com/ x"`},
		// Numbers a float64 rounds: the stock validator compares them exactly.
		{`{"minimum":0}`, `-0,-0.0,-1e-400,0e-5,-5e-324`},
		{`{"maximum":0}`, `1e-400,0,5e-324`},
		{`{"exclusiveMinimum":0}`, `1e-400,0,-0`},
		{`{"maximum":9007199254740992}`, `9007199254740993,9007199254740992,9007199254740992.5,9.007199254740993e15`},
		{`{"maximum":1.7976931348623157e308}`, `1.7976931348623159e308,1.7976931348623157e308,1e309`},
		{`{"maximum":4e-324}`, `4.5e-324,3e-324,0,5e-324`},
		{`{"minimum":2.2250738585072014e-308}`, `2.2250738585072011e-308,2.2250738585072014e-308,1e-310`},
		{`{"multipleOf":0.01}`, `0.07,1.1,19.99,0.005,1e-2`},
		{`{"const":0}`, `-0,0.0,0e5,1e-400`},
		{`{"enum":[1e400,0.1]}`, `1e400,1E+400,0.1,0.10,1e-1,0.1000000000000000000001`},
		{`{"type":"integer","maximum":10}`, `1.0e0,1e400,10.0,1e1,1.00000000000000000001`},
		{`{"type":"object","properties":{"a b":{"type":"integer"},"é":{"type":"string"}},"required":["é"],"additionalProperties":false}`,
			`{"\u00e9":"x"},{"é":"x","a\u0020b":1},{"é":"x","a\u0020b":"1"},{"e\u0301":"x"}`},
		{`{"uniqueItems":true}`, `[0,-0],[{"a":1},{"a":1.0}],["a","\u0061"],[[1,2],[1,2.0]],[[1,2],[2,1]]`},
	} {
		for draft, uri := range draftURIs {
			head := `{"self":{"vendor":"com.fuzz","name":"drafts","format":"jsonschema","version":"1-0-0"},`
			if uri != "" {
				head += `"$schema":"` + uri + `",`
			}
			doc := head + `"definitions":{"s":{"type":"string"}},"type":"object","properties":{"a":` + tc.schema + `}}`
			c, err := Compile([]byte(doc), Key{}, "drafts")
			if err != nil {
				continue // the draft's meta-schema refuses the keyword's form
			}
			var values []json.RawMessage // each as written: escapes, spellings
			if err := json.Unmarshal([]byte("["+tc.values+"]"), &values); err != nil {
				t.Fatalf("%s: %v", tc.values, err)
			}
			t.Run(tc.schema+"/"+draftNames[draft], func(t *testing.T) {
				for _, v := range values {
					checkDiff(t, c, []byte(`{"a":`+string(v)+`}`))
				}
			})
		}
	}
}
