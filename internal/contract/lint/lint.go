// Package lint checks a contracts directory before anything ships: that each
// file is a well-formed, self-describing JSON Schema in its right place, that
// each contract's versions have no gaps, and that Accord's vocabularies in it
// (the x-accord metadata and the x-accord-pii privacy rules) and the
// descriptions people read are right. Every finding names a rule, a file and
// a line, and says how to fix it.
package lint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/contract/compat"
	"github.com/accord-events/accord/internal/contract/schemawalk"
	"github.com/accord-events/accord/internal/jsonpointer"
	"github.com/accord-events/accord/internal/privacy"
)

// Severity is how much a finding matters: an error fails the lint, a warning
// does not.
type Severity string

// Severities. Off is only a setting: a check set to off reports nothing.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
	Off     Severity = "off"
)

// Rule ids. They are stable: scripts and docs refer to them.
const (
	RuleJSON                = "json"
	RuleLayout              = "layout"
	RuleSelfMissing         = "self-missing"
	RuleSelfInvalid         = "self-invalid"
	RuleSelfMismatch        = "self-mismatch"
	RuleMetaSchema          = "meta-schema"
	RuleVersionFirst        = "version-first"
	RuleVersionGap          = "version-gap"
	RuleMetadataMissing     = "x-accord-missing"
	RuleMetadataUnknownKey  = "x-accord-unknown-key"
	RuleMetadataInvalid     = "x-accord-invalid"
	RulePrivacyUnknownKey   = "pii-unknown-key"
	RulePrivacyInvalid      = "pii-invalid"
	RulePrivacyKeepChars    = "pii-keep-chars"
	RulePrivacyRestricted   = "pii-restricted-keep"
	RulePrivacyPublic       = "pii-public-action"
	RuleSchemaDescription   = "schema-description"
	RulePropertyDescription = "property-description"
	RulePlaceholder         = "placeholder"
	RuleRecursiveCombinator = "recursive-combinator"
)

// Placeholder starts the texts accord contract new leaves for people to
// fill in; lint reports each one still there (rule placeholder).
const Placeholder = "TODO:"

// Rule describes one check.
type Rule struct {
	ID string
	// Severity is the rule's severity; for the description rules it is the
	// default, which contracts.lint.require_descriptions changes.
	Severity Severity
	Check    string
}

// Rules lists every check lint makes, in the order docs/contracts.md gives.
var Rules = []Rule{
	{RuleJSON, Error, "the file is a JSON object"},
	{RuleLayout, Error, "the file sits at {vendor}/{name}/jsonschema/{M-R-A} (optionally .json)"},
	{RuleSelfMissing, Error, `the schema has a "self" block`},
	{RuleSelfInvalid, Error, "the self block's vendor, name, format and version form a valid key"},
	{RuleSelfMismatch, Error, "the self block names the same vendor, name, format and version as the file's path"},
	{RuleMetaSchema, Error, "the schema is valid against its meta-schema and compiles"},
	{RuleVersionFirst, Error, "a contract's first version is 1-0-0"},
	{RuleVersionGap, Error, "no version is skipped between two versions of a contract"},
	{RuleMetadataMissing, Error, "the schema has an x-accord block"},
	{RuleMetadataUnknownKey, Error, "x-accord holds only the keys of its vocabulary"},
	{RuleMetadataInvalid, Error, "x-accord's values are valid, and owner is set"},
	{RulePrivacyUnknownKey, Error, "x-accord-pii holds only class, action and keep_chars"},
	{RulePrivacyInvalid, Error, "x-accord-pii has a known class and action, and keep_chars is a whole number"},
	{RulePrivacyKeepChars, Error, "keep_chars appears only with action mask or truncate"},
	{RulePrivacyRestricted, Error, "a restricted property is not kept as sent"},
	{RulePrivacyPublic, Warning, "a public property is kept as sent"},
	{RuleSchemaDescription, Warning, "the schema has a top-level description"},
	{RulePropertyDescription, Warning, "every property has a description"},
	{RulePlaceholder, Warning, "no description, owner or team is still a placeholder (TODO: ...) left by accord contract new"},
	{RuleRecursiveCombinator, Warning, "no combinator leads back to the same schema several ways, which makes the work of checking an event grow with its nesting"},
}

// Finding is one problem in one file.
type Finding struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Column   int      `json:"column"`
	Message  string   `json:"message"`
}

// Options tunes the checks.
type Options struct {
	// RequireDescriptions is the severity of a missing description; Off
	// (or empty) skips the check.
	RequireDescriptions Severity
	// ImportedVendors are vendors whose schemas a team imports (from Iglu
	// Central or a partner's repository, with accord contract pull) rather
	// than owns: those schemas carry no x-accord block and are not the
	// team's to document, so the metadata and description rules pass over
	// them. Every other check (JSON, layout, self, meta-schema, privacy,
	// the version chain) still applies.
	ImportedVendors []string
}

// Report is the outcome of linting a directory.
type Report struct {
	// Files is how many files were linted.
	Files    int
	Findings []Finding
	// Skipped counts the files in Iglu's other formats (avro, thrift,
	// protobuf), which lint passes over.
	Skipped contract.Skipped
}

// Count returns how many findings have severity s.
func (r *Report) Count(s Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == s {
			n++
		}
	}
	return n
}

// For returns the part of the report about files (paths as the report
// names them): what a tool that wrote those files into a linted directory
// shows of the lint.
func (r *Report) For(files []string) *Report {
	keep := make(map[string]bool, len(files))
	for _, f := range files {
		keep[f] = true
	}
	out := &Report{Files: len(files), Findings: []Finding{}}
	for _, f := range r.Findings {
		if keep[f.File] {
			out.Findings = append(out.Findings, f)
		}
	}
	return out
}

// Linter lints contracts. It is safe for concurrent use.
type Linter struct {
	opts  Options
	vocab *vocabularies
}

// New returns a Linter with opts.
func New(opts Options) (*Linter, error) {
	switch opts.RequireDescriptions {
	case "", Off, Error, Warning:
	default:
		return nil, fmt.Errorf("require descriptions %q: use error, warning or off", opts.RequireDescriptions)
	}
	v, err := compileVocabularies()
	if err != nil {
		return nil, err
	}
	return &Linter{opts: opts, vocab: v}, nil
}

// version is one file's place in its contract's history.
type version struct {
	contract string // vendor/name/format
	ver      contract.SchemaVer
	file     string
	at       position // of self.version, where a gap is reported
}

// Dir lints every file under dir, skipping dot files and dot directories as
// accord serve does. Findings name files as dir joined with their path in it.
// The error is for a directory that cannot be read at all.
func (l *Linter) Dir(dir string) (*Report, error) {
	r := &Report{Findings: []Finding{}, Skipped: contract.Skipped{}}
	var versions []version
	others := contract.DirDocuments(dir)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == dir {
				return err
			}
			r.Findings = append(r.Findings, Finding{Rule: RuleJSON, Severity: Error, File: path, Line: 1, Column: 1,
				Message: fmt.Sprintf("cannot be read: %v; fix its permissions or remove it", err)})
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") && path != dir {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if f, ok := contract.OtherFormat(filepath.ToSlash(rel)); ok {
			r.Skipped[f]++
			return nil
		}
		doc, err := contract.ReadContractFile(path)
		if err != nil {
			r.Findings = append(r.Findings, Finding{Rule: RuleJSON, Severity: Error, File: path, Line: 1, Column: 1,
				Message: fmt.Sprintf("cannot be read: %v; fix its permissions or remove it", err)})
			return nil
		}
		r.Files++
		findings, v := l.file(path, filepath.ToSlash(rel), doc, others)
		r.Findings = append(r.Findings, findings...)
		if v != nil {
			versions = append(versions, *v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("lint contracts in %s: %w", dir, err)
	}
	r.Findings = append(r.Findings, gaps(versions)...)
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, b := r.Findings[i], r.Findings[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		return a.Rule < b.Rule
	})
	return r, nil
}

// gaps reports the versions missing from each contract's history.
func gaps(versions []version) []Finding {
	byContract := map[string]map[contract.SchemaVer]version{}
	for _, v := range versions {
		if byContract[v.contract] == nil {
			byContract[v.contract] = map[contract.SchemaVer]version{}
		}
		byContract[v.contract][v.ver] = v
	}
	var out []Finding
	for id, vs := range byContract {
		var list []contract.SchemaVer
		for ver := range vs {
			list = append(list, ver)
		}
		for _, g := range compat.Gaps(id, list) {
			next, _ := contract.ParseSchemaVer(g.Next)
			v := vs[next]
			f := Finding{Severity: Error, File: v.file, Line: v.at.Line, Column: v.at.Column}
			if g.After == "" {
				f.Rule = RuleVersionFirst
				f.Message = fmt.Sprintf("%s starts at %s, but a contract's first version must be 1-0-0; add %s or renumber this version to %s", id, g.Next, g.Missing, g.Missing)
			} else {
				f.Rule = RuleVersionGap
				f.Message = fmt.Sprintf("%s: %s follows %s, so %s is missing; add %s or renumber this version to %s", id, g.Next, g.After, g.Missing, g.Missing, g.Missing)
			}
			out = append(out, f)
		}
	}
	return out
}

// file lints one contract file; path names it in findings and rel is its
// path inside the contracts directory, which says what its key should be.
// The version is the file's place in its contract's history, nil when its
// path is not a contract key.
func (l *Linter) file(path, rel string, doc []byte, others contract.Documents) ([]Finding, *version) {
	f := &fileLint{l: l, path: path}
	want, pathErr := keyOfPath(rel)
	if pathErr != nil {
		f.add(RuleLayout, Error, position{1, 1}, "%v", pathErr)
	}
	root, ok := f.decode(doc)
	if !ok {
		return f.findings, nil
	}
	f.pos = newPositions(doc)
	selfOK := f.self(root, want, pathErr == nil)
	if selfOK {
		if c, err := contract.CompileWith(doc, contract.Key{}, path, others); err != nil {
			f.metaSchema(err)
		} else if where, exposed := c.Exposure(); exposed {
			f.recursiveCombinator(where)
		}
	}
	f.imported = pathErr == nil && slices.Contains(l.opts.ImportedVendors, want.Vendor)
	if !f.imported {
		f.metadata(root)
		f.descriptions(root)
	}
	f.placeholders(root, "", 0)
	f.schemaTree(root, "")
	if pathErr != nil {
		return f.findings, nil
	}
	return f.findings, &version{contract: want.Vendor + "/" + want.Name + "/" + want.Format, ver: want.Version, file: path, at: f.pos.of("/self/version")}
}

func keyOfPath(rel string) (contract.Key, error) {
	if strings.Count(rel, "/") != 3 {
		return contract.Key{}, fmt.Errorf("%s is not in the contracts layout {vendor}/{name}/jsonschema/{M-R-A}; move it there or out of the contracts directory", rel)
	}
	k, err := contract.ParseKey(rel)
	if err != nil {
		return contract.Key{}, fmt.Errorf("the path is not a contract key: %v; rename it to {vendor}/{name}/jsonschema/{M-R-A}", err)
	}
	return k, nil
}

// fileLint holds one file's findings as they are made.
type fileLint struct {
	l    *Linter
	path string
	pos  *positions
	// imported: the file's vendor is one of Options.ImportedVendors, so
	// its metadata and descriptions are not checked.
	imported bool
	findings []Finding
}

func (f *fileLint) add(rule string, sev Severity, at position, format string, args ...any) {
	f.findings = append(f.findings, Finding{Rule: rule, Severity: sev, File: f.path, Line: at.Line, Column: at.Column,
		Message: fmt.Sprintf(format, args...)})
}

// decode reads the document, reporting it when it is not a JSON object.
func (f *fileLint) decode(doc []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value in the file")
	}
	if err != nil {
		at := position{1, 1}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			at = newPositionsText(doc).offset(int(se.Offset) - 1)
		} else if off := int(dec.InputOffset()); off > 0 {
			at = newPositionsText(doc).offset(off)
		}
		f.add(RuleJSON, Error, at, "the file is not valid JSON: %v; fix the syntax at this place", err)
		return nil, false
	}
	obj, ok := v.(map[string]any)
	if !ok {
		f.add(RuleJSON, Error, position{1, 1}, "the file holds a JSON %s, not an object; a contract is a JSON Schema object with a self block", jsonKind(v))
		return nil, false
	}
	return obj, true
}

// newPositionsText indexes the lines of a document that may not be JSON.
func newPositionsText(doc []byte) *positions {
	p := &positions{doc: doc, lineStarts: []int{0}}
	for i, c := range doc {
		if c == '\n' {
			p.lineStarts = append(p.lineStarts, i+1)
		}
	}
	return p
}

func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	}
	return "null"
}

var selfFields = [4]string{"vendor", "name", "format", "version"}

// self checks the self block against the path; it reports whether the block
// names a valid key, so the schema can be compiled.
func (f *fileLint) self(root map[string]any, want contract.Key, havePath bool) bool {
	raw, present := root["self"]
	s, ok := raw.(map[string]any)
	if !ok {
		at := position{1, 1}
		if present {
			at = f.pos.of("/self")
		}
		f.add(RuleSelfMissing, Error, at, `the schema has no "self" block; add "self": {"vendor": ..., "name": ..., "format": "jsonschema", "version": "1-0-0"} naming the file's path`)
		return false
	}
	var vals [4]string
	for i, k := range selfFields {
		vals[i], _ = s[k].(string)
	}
	key, err := contract.ParseKey(strings.Join(vals[:], "/"))
	if err != nil {
		fix := "make vendor, name, format and version form a key such as com.example/checkout_completed/jsonschema/1-0-0"
		if havePath {
			fix = "set them to the file's path, " + want.Path()
		}
		f.add(RuleSelfInvalid, Error, f.pos.of("/self"), "the self block does not name a valid contract: %v; %s", err, fix)
		return false
	}
	if havePath {
		wantVals := [4]string{want.Vendor, want.Name, want.Format, want.Version.String()}
		gotVals := [4]string{key.Vendor, key.Name, key.Format, key.Version.String()}
		for i, k := range selfFields {
			if gotVals[i] != wantVals[i] {
				f.add(RuleSelfMismatch, Error, f.pos.of("/self/"+k), "self.%s is %q but the file's path says %q; make them agree (rename the file, or fix self.%s)", k, vals[i], wantVals[i], k)
			}
		}
	}
	return true
}

var leadingPointer = regexp.MustCompile(`^(/\S*) `)

// metaSchema reports Compile's error, at the first place it names.
func (f *fileLint) metaSchema(err error) {
	msg := strings.TrimPrefix(err.Error(), contract.ErrInvalidContract.Error()+": ")
	at := position{1, 1}
	if _, detail, ok := strings.Cut(msg, "meta-schema: "); ok {
		if m := leadingPointer.FindStringSubmatch(detail); m != nil {
			at = f.pos.of(m[1])
		}
	}
	fix := "fix the keyword so the schema conforms to the meta-schema its $schema names"
	if !strings.Contains(msg, "meta-schema") {
		fix = "fix the schema so it compiles"
	}
	f.add(RuleMetaSchema, Error, at, "the schema is not valid JSON Schema: %s; %s", msg, fix)
}

// recursiveCombinator reports a contract whose combinators lead back to
// the same schema several ways (contract.Contract.Exposure), at the
// schema it names.
func (f *fileLint) recursiveCombinator(where string) {
	pointer := ""
	if _, frag, ok := strings.Cut(where, "#"); ok {
		pointer = frag
	}
	at := f.pos.of(pointer)
	shown := pointer
	if shown == "" {
		shown = "the root"
	}
	f.add(RuleRecursiveCombinator, Warning, at, "the schema at %s is reached several ways at the same place of an event (a combinator whose branches lead back to the same schema), so checking an event costs more with each level of its nesting: Accord checks such a contract's events with work bounded by their size, but words its failure messages from the compiled schema rather than the stock validator's, and fails an event it cannot decide within that bound; give each level one way in (e.g. one $ref, or branches told apart by required members or const)", shown)
}

// metadataFixes says how to fix each x-accord key's value.
var metadataFixes = map[string]string{
	"owner":          `set owner to an email address or a team name, such as "checkout-team@example.com"`,
	"team":           "set team to the owning team's name",
	"description":    "set description to a sentence saying what the events are",
	"tags":           `make tags a list of unique lower-case words, such as ["commerce", "revenue"]`,
	"sla":            `write sla as {"freshness": "15m", "volume_per_day": 10000}: freshness a positive Go duration, volume_per_day a whole number of at least 0`,
	"segment_events": `make segment_events a list of unique Segment event names, such as ["Order Completed"]`,
	"segment_calls":  `make segment_calls a list of unique Segment call types among track, identify, page, screen, group and alias, such as ["identify"]`,
	"destinations":   `make destinations a list of unique sink names, such as ["warehouse"]`,
}

const metadataKeys = "owner, team, description, tags, sla, segment_events, segment_calls and destinations"

func (f *fileLint) metadata(root map[string]any) {
	v, ok := root["x-accord"]
	if !ok {
		f.add(RuleMetadataMissing, Error, position{1, 1}, `the schema has no x-accord metadata; add "x-accord": {"owner": "your-team@example.com", "description": "..."}`)
		return
	}
	for _, p := range check(f.l.vocab.metadata, v, "x-accord") {
		at := f.pos.of("/x-accord" + p.pointer)
		if p.unknownKey != "" {
			keys := metadataKeys
			if strings.HasPrefix(p.pointer, "/sla/") {
				keys = "freshness and volume_per_day"
			}
			f.add(RuleMetadataUnknownKey, Error, at, "%s; the keys are %s: fix its spelling or remove it", p.message, keys)
			continue
		}
		top, _, _ := strings.Cut(strings.TrimPrefix(p.pointer, "/"), "/")
		fix := metadataFixes[top]
		if top == "" {
			fix = metadataFixes["owner"]
			if !strings.Contains(p.message, `"owner"`) {
				fix = "make x-accord an object with the keys " + metadataKeys
			}
		}
		f.add(RuleMetadataInvalid, Error, at, "%s; %s", p.message, fix)
	}
}

// descriptions checks the schema's own description; properties' are checked
// as the tree is walked.
func (f *fileLint) descriptions(root map[string]any) {
	sev := f.l.opts.RequireDescriptions
	if sev == "" || sev == Off {
		return
	}
	if d, _ := root["description"].(string); strings.TrimSpace(d) == "" {
		f.add(RuleSchemaDescription, sev, position{1, 1}, `the schema has no description; add a top-level "description" saying what the event or entity is`)
	}
}

// placeholderKeys are the keys whose values accord contract new leaves as
// placeholders.
var placeholderKeys = map[string]bool{"description": true, "owner": true, "team": true}

// placeholders reports every description, owner or team still holding a
// placeholder: a warning, or an error when descriptions are required at
// error (a placeholder is a description nobody wrote).
func (f *fileLint) placeholders(v any, pointer string, depth int) {
	if depth > 64 {
		return
	}
	sev := Warning
	if f.l.opts.RequireDescriptions == Error {
		sev = Error
	}
	switch t := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(t) {
			p := jsonpointer.Append(pointer, k)
			if s, ok := t[k].(string); ok && placeholderKeys[k] && strings.HasPrefix(strings.TrimSpace(s), Placeholder) {
				f.add(RulePlaceholder, sev, f.pos.of(p), "%s is still a placeholder (%q); write the real %s", p, cut(s, 80), k)
				continue
			}
			f.placeholders(t[k], p, depth+1)
		}
	case []any:
		for i, e := range t {
			f.placeholders(e, jsonpointer.Append(pointer, strconv.Itoa(i)), depth+1)
		}
	}
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "..."
}

// privacyFixes name the vocabulary's values from package privacy, which
// defines them for the stage applying them too.
var privacyFixes = map[string]string{
	"class":      "set class to " + sentenceList(privacy.Classes),
	"action":     "set action to " + privacy.ActionList(),
	"keep_chars": "set keep_chars to a whole number of at least 0",
}

func sentenceList(s []string) string {
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

func (f *fileLint) privacy(v any, pointer string) {
	base := pointer + "/x-accord-pii"
	name := base
	problems := check(f.l.vocab.privacy, v, name)
	for _, p := range problems {
		at := f.pos.of(base + p.pointer)
		if p.unknownKey != "" {
			f.add(RulePrivacyUnknownKey, Error, at, "%s; the keys are class, action and keep_chars: fix its spelling or remove it", p.message)
			continue
		}
		top, _, _ := strings.Cut(strings.TrimPrefix(p.pointer, "/"), "/")
		fix, ok := privacyFixes[top]
		if !ok {
			fix = `write it as {"class": "confidential", "action": "hmac"}`
		}
		f.add(RulePrivacyInvalid, Error, at, "%s; %s", p.message, fix)
	}
	if len(problems) > 0 {
		return
	}
	rule := v.(map[string]any)
	class, action := rule["class"].(string), rule["action"].(string)
	if _, ok := rule["keep_chars"]; ok && !slices.Contains(privacy.KeepCharsActions, privacy.Action(action)) {
		f.add(RulePrivacyKeepChars, Error, f.pos.of(base+"/keep_chars"), "%s: keep_chars applies only to action mask or truncate, not %s; remove keep_chars or change the action", name, action)
	}
	switch {
	case class == "restricted" && privacy.Action(action) == privacy.Keep:
		f.add(RulePrivacyRestricted, Error, f.pos.of(base+"/action"), "%s: a restricted value must not be stored as sent; set action to hmac, hash, redact, mask, truncate or drop", name)
	case class == "public" && privacy.Action(action) != privacy.Keep:
		f.add(RulePrivacyPublic, Warning, f.pos.of(base+"/action"), "%s: the value is public but its action is %s; set action to keep, or raise the class if the value is sensitive", name, action)
	}
}

// schemaTree checks the privacy rules and property descriptions of the
// schema at pointer and of every schema below it.
func (f *fileLint) schemaTree(root map[string]any, pointer string) {
	schemawalk.Walk(root, pointer, func(pointer string, node map[string]any) bool {
		f.schemaNode(node, pointer)
		return true
	})
}

// schemaNode checks one schema's privacy rule and property descriptions.
func (f *fileLint) schemaNode(node map[string]any, pointer string) {
	if v, ok := node["x-accord-pii"]; ok {
		f.privacy(v, pointer)
	}
	if props, ok := node["properties"].(map[string]any); ok {
		sev := f.l.opts.RequireDescriptions
		if f.imported {
			sev = Off
		}
		for _, name := range sortedKeys(props) {
			prop, ok := props[name].(map[string]any)
			if !ok || sev == "" || sev == Off {
				continue
			}
			_, isRef := prop["$ref"]
			if d, _ := prop["description"].(string); strings.TrimSpace(d) == "" && !isRef {
				p := jsonpointer.Append(pointer, "properties", name)
				f.add(RulePropertyDescription, sev, f.pos.of(p), "property %q (%s) has no description; add a \"description\" saying what it holds", name, p)
			}
		}
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
