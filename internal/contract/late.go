package contract

import (
	"errors"
	"sync"
	"unicode/utf8"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/jsonscan"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Contracts loaded late. Compiling a contract with the stock library at
// load was most of the work of loading a contracts directory (issue 15
// point 5: 10,000 contracts), and the validators it builds are most of the
// memory the loaded contracts keep; yet most contracts of a large
// directory see no event for a long time, and many never do. So a contract
// file (compileLoaded) whose document the library could only refuse for
// breaking its draft's meta-schema is checked at load against that
// meta-schema by the compiled validator, and its validators are built on
// its first event (sync.Once per contract; the events that arrive
// meanwhile wait for it).
//
// What the library refuses besides a meta-schema violation comes from
// $refs and ids (an unresolvable or refused $ref, a duplicate or
// malformed id or anchor), the keys of patternProperties (not regular
// expressions, which the draft-04 meta-schema does not check), a $schema
// it cannot load, and what its compiler cannot hold; lateEligible leaves
// every document that could hold one of them to the library at load, as
// does the check whenever the compiled validator is not certain the
// document conforms (a number beyond float64, a repeated member name, a
// keyword it does not implement). So every contract the library refuses
// is refused at load, with the library's words (TestLateCompileAsAtLoad
// over the repository's contracts, FuzzLateCompile).

// lateDrafts maps the "$schema" of a document that may be compiled late
// to the meta-schema the library checks it against: the Iglu meta-schema
// is draft 4's.
var lateDrafts = map[string]string{
	IgluMetaSchemaURI:                         "http://json-schema.org/draft-04/schema#",
	"http://json-schema.org/draft-04/schema#": "http://json-schema.org/draft-04/schema#",
	"http://json-schema.org/draft-07/schema#": "http://json-schema.org/draft-07/schema#",
}

// lateMeta holds the compiled validators of the meta-schemas in
// lateDrafts, compiled once, as the library compiles them to check a
// schema (formats asserted).
var lateMeta = sync.OnceValue(func() map[string]*fastNode {
	m := map[string]*fastNode{}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for _, url := range lateDrafts {
		if m[url] != nil {
			continue
		}
		s, err := c.Compile(url)
		if err != nil {
			panic("compile the library's meta-schema " + url + ": " + err.Error())
		}
		m[url] = compileFast(s)
	}
	return m
})

// lateRefused are the member names lateEligible refuses anywhere in a
// document: the keywords the library resolves or registers (a property of
// one of these names counts too), and patternProperties.
var lateRefused = map[string]bool{
	"$ref": true, "$id": true, "$anchor": true, "$dynamicRef": true, "$dynamicAnchor": true,
	"$recursiveRef": true, "$recursiveAnchor": true, "$vocabulary": true, "patternProperties": true,
}

// lateEligible reports whether the decoded document holds nothing the
// library could refuse but a meta-schema violation: no member named in
// lateRefused at any depth, "$schema" at the top only (a subschema's
// "$schema" is loaded too), and no "id" with a string value (draft 4's
// id; a property named id, whose value is a schema, is fine). Names are
// read decoded, so a \u escape cannot hide one. doc must be valid UTF-8
// (the decoder would replace what is not, and the check of the meta-schema
// reads the bytes).
func lateEligible(doc []byte, value any) bool {
	m, ok := value.(map[string]any)
	return ok && utf8.Valid(doc) && lateMembers(m, true)
}

func lateMembers(m map[string]any, top bool) bool {
	for k, v := range m {
		if lateRefused[k] || (k == "$schema" && !top) {
			return false
		}
		if _, isString := v.(string); isString && k == "id" {
			return false
		}
		if !lateValue(v) {
			return false
		}
	}
	return true
}

func lateValue(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		return lateMembers(v, false)
	case []any:
		for _, e := range v {
			if !lateValue(e) {
				return false
			}
		}
	}
	return true
}

// metaConforms reports whether the compiled validator of a meta-schema is
// certain that doc conforms to it: doc is one JSON value as jsonscan reads
// it (no repeated member name, no number beyond float64), valid against
// the meta-schema.
func metaConforms(meta *fastNode, doc []byte) bool {
	if meta == nil {
		return false
	}
	i := jsonscan.SkipSpace(doc, 0)
	if i >= len(doc) {
		return false
	}
	// utf8ok: lateEligible, the only caller's gate, checked doc is UTF-8.
	w := fastWalk{budget: CheckBudget(len(doc)), strict: true, utf8ok: true}
	end, v := meta.check(&w, doc, i)
	return end >= 0 && v == fastValid && jsonscan.SkipSpace(doc, end) == len(doc)
}

// compileLoaded is CompileWith for a contract file of a contracts
// directory: a document the library could refuse only for breaking its
// meta-schema, and which the compiled validator finds conforms to it, is
// compiled on its first event; every other one is compiled now, as
// CompileWith does.
func compileLoaded(doc []byte, want Key, source string, others Documents) (*Contract, error) {
	key, value, err := decodeContract(doc, want)
	if err != nil {
		return nil, err
	}
	if lateEligible(doc, value) {
		if s, ok := value.(map[string]any)["$schema"].(string); ok && metaConforms(lateMeta()[lateDrafts[s]], doc) {
			return newContract(key, source, doc, nil), nil
		}
	}
	schema, err := compileSchema(key, value, others)
	if err != nil {
		return nil, err
	}
	return newContract(key, source, doc, schema), nil
}

// errNotCompiled is the error of a Contract that was not built by a
// compile.
var errNotCompiled = errors.New("the contract was not compiled")

// compileLate builds the validators of a contract loaded late, once; an
// event that arrives while another builds them waits for it.
func (c *Contract) compileLate() *validators {
	if c.late == nil {
		return &validators{err: errNotCompiled}
	}
	c.late.Do(func() {
		v := &validators{}
		key, value, err := decodeContract(c.Document, c.Key)
		if err == nil {
			v.schema, err = compileSchema(key, value, nil)
		}
		if err != nil {
			v.err = err
		} else {
			v.fast = compileFast(v.schema)
		}
		c.ready.Store(v)
	})
	return c.ready.Load()
}

// failure is the message of every event of a contract loaded late whose
// compile failed after all: a bug, since the load's checks are to leave
// no compile that can fail to later; the event fails, saying why.
func (v *validators) failure(uri, instancePrefix string) []event.Message {
	return []event.Message{{Schema: uri, InstancePath: instancePrefix,
		Message: "the contract could not be compiled on its first event, though its load found nothing wrong: " + v.err.Error()}}
}
