// Package pull imports schemas from an Iglu repository (an iglu-server, a
// static repository over HTTP, or a local checkout of one) into a contracts
// directory: it selects schemas by key, by vendor or all, judges each
// (not JSON Schema, invalid, already there, different from the file there)
// and writes those it may, atomically, in the layout accord serve loads.
//
// The repository is not trusted: what it lists and sends is bounded in
// size and count, and every name it gives is checked before it becomes a
// path.
package pull

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/accord-events/accord/internal/atomicfile"
	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/contract/compat"
	"github.com/accord-events/accord/internal/registry"
)

// Bounds on one pull, whatever the source sends: Iglu Central holds a few
// thousand schemas of a few KiB each.
const (
	MaxSchemas    = 10_000
	MaxTotalBytes = 256 << 20
)

// Selection says which schemas to pull: those named by Keys, those of
// Vendors, or All.
type Selection struct {
	Keys    []contract.Key
	Vendors []string
	All     bool
}

// Action is what a pull does with one schema.
type Action string

// Actions.
const (
	// Add writes a schema the contracts directory does not have.
	Add Action = "add"
	// Replace overwrites a different file of the same key (Force only).
	Replace Action = "replace"
	// Unchanged: the directory already holds the same document.
	Unchanged Action = "unchanged"
	// Skip: not a JSON Schema, or not a schema at all; nothing to do.
	Skip Action = "skip"
	// Refuse: a schema that was asked for but cannot be pulled (invalid,
	// unsafe, not found, or different from the file there without Force).
	Refuse Action = "refuse"
)

// Item is the judgement of one schema.
type Item struct {
	// Schema names it: its Iglu URI, or what the source listed when that
	// is not one.
	Schema string
	Action Action
	// Reason says why, for Skip, Refuse and Replace.
	Reason string
	// File is where it is (or would be) written in the contracts directory.
	File string
	doc  []byte
}

// Plan is what a pull would do, item by item, sorted by contract and
// version.
type Plan struct {
	Source string
	Items  []Item
}

// Count returns how many items have action a.
func (p *Plan) Count(a Action) int {
	n := 0
	for _, it := range p.Items {
		if it.Action == a {
			n++
		}
	}
	return n
}

// Options tune a pull.
type Options struct {
	// Dir is the contracts directory.
	Dir string
	// Force replaces a file whose document differs from the source's.
	Force bool
	// maxTotalBytes is MaxTotalBytes, smaller in tests.
	maxTotalBytes int
}

// Prepare fetches the selected schemas and judges each against the
// contracts directory; it writes nothing. The error is for a pull that
// cannot go on (the source unreachable, a bound passed); a schema that
// cannot be pulled is an item with action Refuse.
func Prepare(ctx context.Context, src Source, sel Selection, opts Options) (*Plan, error) {
	if len(sel.Keys) == 0 && len(sel.Vendors) == 0 && !sel.All {
		return nil, errors.New("nothing selected: name schemas by key, by vendor, or all")
	}
	plan := &Plan{Source: src.Name()}
	entries, refused, err := selectEntries(ctx, src, sel)
	if err != nil {
		return nil, err
	}
	plan.Items = append(plan.Items, refused...)
	if len(entries) > MaxSchemas {
		return nil, fmt.Errorf("%s: %d schemas selected, more than %d; pull fewer at a time (by vendor or key)", src.Name(), len(entries), MaxSchemas)
	}

	// Fetch everything first, so that a pull that cannot finish writes
	// nothing, and so that the schemas pulled together can refer to one
	// another.
	type fetched struct {
		e   entry
		doc []byte
	}
	var docs []fetched
	batch := map[contract.Key][]byte{}
	total, limit := 0, MaxTotalBytes
	if opts.maxTotalBytes > 0 {
		limit = opts.maxTotalBytes
	}
	for _, e := range entries {
		if e.format != "jsonschema" {
			plan.Items = append(plan.Items, Item{Schema: e.uri(), Action: Skip,
				Reason: fmt.Sprintf("format %s is not JSON Schema; Accord's contracts are JSON Schemas", quote(e.format))})
			continue
		}
		doc, err := src.Fetch(ctx, e)
		switch {
		case errors.Is(err, registry.ErrNotFound):
			plan.Items = append(plan.Items, Item{Schema: e.uri(), Action: Refuse, Reason: "not found in " + src.Name()})
			continue
		case errors.Is(err, registry.ErrDocumentTooLarge):
			plan.Items = append(plan.Items, Item{Schema: e.uri(), Action: Refuse, Reason: fmt.Sprintf("larger than %d bytes, which no schema is", registry.MaxDocumentSize)})
			continue
		case errors.Is(err, errNotRegular):
			plan.Items = append(plan.Items, Item{Schema: e.uri(), Action: Refuse, Reason: err.Error()})
			continue
		case err != nil:
			return nil, fmt.Errorf("fetch %s from %s: %w", e.uri(), src.Name(), err)
		}
		if len(doc) > registry.MaxDocumentSize {
			plan.Items = append(plan.Items, Item{Schema: e.uri(), Action: Refuse, Reason: fmt.Sprintf("larger than %d bytes, which no schema is", registry.MaxDocumentSize)})
			continue
		}
		if total += len(doc); total > limit {
			return nil, fmt.Errorf("%s: the schemas fetched pass %d bytes; pull fewer at a time (by vendor or key)", src.Name(), limit)
		}
		docs = append(docs, fetched{e, doc})
		batch[e.key] = doc
	}

	// $refs resolve among the schemas pulled together, then in the
	// contracts directory, as they will when accord serve loads them.
	onDisk := contract.DirDocuments(opts.Dir)
	others := func(k contract.Key) ([]byte, bool) {
		if doc, ok := batch[k]; ok {
			return doc, true
		}
		return onDisk(k)
	}
	for _, f := range docs {
		plan.Items = append(plan.Items, judge(f.e, f.doc, others, opts))
	}
	sortItems(plan.Items)
	return plan, nil
}

// judge decides what to do with one fetched schema.
func judge(e entry, doc []byte, others contract.Documents, opts Options) Item {
	it := Item{Schema: e.key.String(), doc: doc}
	if _, err := contract.CompileWith(doc, e.key, e.key.String(), others); err != nil {
		it.Action = Refuse
		it.Reason = "invalid: " + strings.TrimPrefix(err.Error(), contract.ErrInvalidContract.Error()+": ")
		return it
	}
	base := filepath.Join(opts.Dir, filepath.FromSlash(e.key.Path()))
	it.File = base
	for _, path := range []string{base, base + ".json"} {
		if _, err := os.Lstat(path); err != nil {
			continue
		}
		it.File = path
		old, err := contract.ReadContractFile(path)
		switch {
		case err == nil && contract.SameDocument(old, doc):
			it.Action = Unchanged
		case opts.Force:
			it.Action = Replace
			it.Reason = "the file there has another document; replaced (--force)"
		default:
			it.Action = Refuse
			it.Reason = fmt.Sprintf("%s exists with another document; a published Iglu schema never changes, so one of the two was edited: compare them, and pull again with --force to take the source's", path)
			if err != nil {
				it.Reason = fmt.Sprintf("%s exists but cannot be read (%v); fix or remove it, or pull again with --force to replace it", path, err)
			}
		}
		return it
	}
	it.Action = Add
	return it
}

// selectEntries returns the entries sel names in src, and an item for each
// thing asked for that cannot be pulled at all (an unsafe name the source
// listed, a vendor it does not hold).
func selectEntries(ctx context.Context, src Source, sel Selection) ([]entry, []Item, error) {
	var entries []entry
	var refused []Item
	seen := map[string]bool{}
	for _, k := range sel.Keys {
		if err := k.CheckFilePath(); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", k, err)
		}
		if !seen[k.String()] {
			seen[k.String()] = true
			entries = append(entries, entry{listed: k.String(), vendor: k.Vendor, name: k.Name, format: k.Format, version: k.Version.String(), key: k})
		}
	}
	if len(sel.Vendors) == 0 && !sel.All {
		return entries, nil, nil
	}
	listed, err := src.List(ctx)
	if err != nil {
		return nil, nil, err
	}
	if len(listed) > MaxSchemas {
		return nil, nil, fmt.Errorf("%s lists %d schemas, more than %d; pull by key", src.Name(), len(listed), MaxSchemas)
	}
	vendors := map[string]int{}
	for _, v := range sel.Vendors {
		vendors[v] = 0
	}
	for _, s := range listed {
		vendor, _, _ := strings.Cut(strings.TrimPrefix(s, "iglu:"), "/")
		_, wanted := vendors[vendor]
		if !sel.All && !wanted {
			continue
		}
		if wanted {
			vendors[vendor]++
		}
		e, err := parseEntry(s)
		var layout errLayout
		switch {
		case errors.As(err, &layout):
			refused = append(refused, Item{Schema: quote(s), Action: Skip, Reason: err.Error()})
			continue
		case err != nil:
			refused = append(refused, Item{Schema: quote(s), Action: Refuse, Reason: "the source names it unsafely: " + err.Error()})
			continue
		}
		if !seen[e.uri()] {
			seen[e.uri()] = true
			entries = append(entries, e)
		}
	}
	for _, v := range sel.Vendors {
		if vendors[v] == 0 {
			refused = append(refused, Item{Schema: "vendor " + v, Action: Refuse, Reason: src.Name() + " holds no schema of this vendor"})
		}
	}
	return entries, refused, nil
}

// sortItems orders items by contract, then by SchemaVer, so a contract's
// versions read in order; what is not a schema path sorts by its text.
func sortItems(items []Item) {
	type sortKey struct {
		id     string
		ver    contract.SchemaVer
		hasVer bool
	}
	keyOf := func(s string) sortKey {
		p := strings.TrimPrefix(s, "iglu:")
		if i := strings.LastIndexByte(p, '/'); i >= 0 {
			if v, err := contract.ParseSchemaVer(p[i+1:]); err == nil {
				return sortKey{p[:i], v, true}
			}
		}
		return sortKey{id: s}
	}
	sort.SliceStable(items, func(i, j int) bool {
		a, b := keyOf(items[i].Schema), keyOf(items[j].Schema)
		if a.id != b.id {
			return a.id < b.id
		}
		if a.hasVer != b.hasVer {
			return a.hasVer
		}
		if a.hasVer && a.ver != b.ver {
			return compat.Less(a.ver, b.ver)
		}
		return items[i].Schema < items[j].Schema
	})
}

// Write writes the plan's Add and Replace items to their files, each
// atomically (a reader, and accord serve's hot reload, sees the old file or
// the new one, never a part), and returns the files written.
func Write(plan *Plan) ([]string, error) {
	var written []string
	for _, it := range plan.Items {
		if it.Action != Add && it.Action != Replace {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(it.File), 0o755); err != nil {
			return written, fmt.Errorf("write %s: %w", it.Schema, err)
		}
		if err := atomicfile.Write(it.File, it.doc, 0o644); err != nil {
			return written, fmt.Errorf("write %s: %w", it.Schema, err)
		}
		written = append(written, it.File)
	}
	return written, nil
}
