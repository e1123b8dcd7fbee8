package tables

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/contract/compat"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
)

// Tracker is what a database sink knows of its typed tables between
// batches: the versions and contexts each was planned for and the
// statement that inserts into it, so that a batch plans (and migrates)
// only what is new to it. It is safe for concurrent use; planning is
// serialised.
type Tracker struct {
	contracts sink.Contracts
	logger    *slog.Logger
	// insert builds the statement that writes a batch into a table; nil
	// for a sink that uses Tables.
	insert func(*Table) string

	mu    sync.Mutex
	typed map[string]*tracked
	// changed is closed when the contracts change: every typed table is
	// planned again before its next write.
	changed <-chan struct{}
}

type tracked struct {
	versions map[string]bool
	contexts map[string]bool
	table    *Table
	insert   string
}

// group is the good records of one contract MODEL in a batch.
type group struct {
	versions map[string]*contract.Contract
	contexts map[string]bool
}

// NewTracker returns a tracker of the typed tables of cs's contracts;
// insert builds a table's insert statement (nil for a sink that uses
// Tables).
func NewTracker(cs sink.Contracts, logger *slog.Logger, insert func(*Table) string) *Tracker {
	t := &Tracker{contracts: cs, logger: logger, insert: insert, typed: map[string]*tracked{}}
	if cs != nil {
		t.changed = cs.Changed()
	}
	return t
}

// Inserts returns the insert statements of the typed tables records need.
// Those not known yet, or needing columns for a version or context new to
// them, are planned first by plan, which returns the migration it ran (or
// an error: with tables: plan-only, the table is out of date).
func (t *Tracker) Inserts(ctx context.Context, records []*event.Envelope, plan func(context.Context, []Want) (*Migration, error)) ([]string, error) {
	var inserts []string
	err := t.track(ctx, records, plan, func(_ string, tr *tracked) {
		if tr.insert != "" {
			inserts = append(inserts, tr.insert)
		}
	})
	return inserts, err
}

// Tables is Inserts for a sink that builds each row itself: the typed
// tables records need, by contract MODEL ("vendor/name/MODEL",
// AppendKey), planned first as Inserts plans them. A table is the same
// *Table until it is planned again.
func (t *Tracker) Tables(ctx context.Context, records []*event.Envelope, plan func(context.Context, []Want) (*Migration, error)) (map[string]*Table, error) {
	var out map[string]*Table
	err := t.track(ctx, records, plan, func(key string, tr *tracked) {
		if tr.table != nil {
			if out == nil {
				out = map[string]*Table{}
			}
			out[key] = tr.table
		}
	})
	return out, err
}

// track plans what records need and calls each with what is known of the
// typed table of every contract MODEL they carry, under the lock.
func (t *Tracker) track(ctx context.Context, records []*event.Envelope, plan func(context.Context, []Want) (*Migration, error), each func(key string, tr *tracked)) error {
	if t.contracts == nil {
		return nil
	}
	groups := t.group(records)
	if len(groups) == 0 {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	select {
	case <-t.changed:
		clear(t.typed)
		t.changed = t.contracts.Changed()
	default:
	}
	var wants []Want
	for key, g := range groups {
		tr := t.typed[key]
		for v, c := range g.versions {
			if c == nil {
				continue
			}
			fresh := tr == nil || !tr.versions[v]
			for cx := range g.contexts {
				if tr == nil || !tr.contexts[cx] {
					fresh = true
				}
			}
			if fresh {
				wants = append(wants, Want{Contract: c, Contexts: contextsOf(tr, g)})
			}
		}
	}
	if len(wants) > 0 {
		// Versions in SchemaVer order, whatever order the map gave: the
		// insert writes a property to the column the last version planned
		// binds it to, and only the latest binding holds every version's
		// values (a property widened from integer to number goes to
		// amount_double, which holds the integers too). In map order, a
		// batch of 1-0-0 and 1-1-0 events wrote 1.5 to the bigint column
		// in some runs and failed (SQLite's CHECK) or truncated.
		slices.SortStableFunc(wants, func(x, y Want) int {
			a, b := x.Contract.Key, y.Contract.Key
			if c := strings.Compare(a.Vendor+"/"+a.Name, b.Vendor+"/"+b.Name); c != 0 {
				return c
			}
			switch {
			case compat.Less(a.Version, b.Version):
				return -1
			case compat.Less(b.Version, a.Version):
				return 1
			}
			return 0
		})
		m, err := plan(ctx, wants)
		if err != nil {
			return err
		}
		t.bind(m, groups)
	}
	for key := range groups {
		if tr := t.typed[key]; tr != nil {
			each(key, tr)
		}
	}
	return nil
}

// AppendKey writes into buf (from its start) the contract MODEL of a good
// record, "vendor/name/MODEL": the key Tables gives the record's typed
// table by.
func AppendKey(buf []byte, r *event.Envelope) []byte {
	model, _, _ := strings.Cut(r.Version, "-")
	buf = append(buf[:0], r.Vendor...)
	buf = append(buf, '/')
	buf = append(buf, r.Name...)
	buf = append(buf, '/')
	return append(buf, model...)
}

// group sorts the good records by contract MODEL, resolving each version
// and the contexts that have a contract.
func (t *Tracker) group(records []*event.Envelope) map[string]*group {
	groups := map[string]*group{}
	// The key of each context schema the batch carries, parsed once a
	// batch rather than once a record ("" for none).
	contextKeys := map[string]string{}
	var buf []byte
	for _, r := range records {
		if !r.Valid || r.Vendor == "" {
			continue
		}
		buf = AppendKey(buf, r)
		g := groups[string(buf)]
		if g == nil {
			g = &group{versions: map[string]*contract.Contract{}, contexts: map[string]bool{}}
			groups[string(buf)] = g
		}
		if _, ok := g.versions[r.Version]; !ok {
			c, err := t.contracts.Resolve(r.Schema)
			if err != nil {
				// Validated a moment ago; gone since (a registry delete).
				// The record stays in the raw table.
				t.logger.Warn("contract of a good record no longer resolves; the record goes to the raw table only", "schema", r.Schema, "err", err)
				c = nil
			}
			g.versions[r.Version] = c
		}
		unknown := unknownContexts(r.Attributes)
		for _, cx := range r.Contexts {
			// Only a context with a contract gets a column: one kept
			// under contracts.unknown_contexts names whatever schema its
			// client chose, and must not add columns. Validation listed
			// those in the record's attributes, and is not asked again:
			// with a remote registry each would be a lookup a client
			// chose, outside any request's lookup budget. Every other
			// context resolved during validation, so this is a cache hit.
			k, seen := contextKeys[cx.Schema]
			if !seen {
				k, _ = ContextKey(cx.Schema)
				contextKeys[cx.Schema] = k
			}
			if k != "" && !g.contexts[k] && !slices.Contains(unknown, cx.Schema) {
				if _, err := t.contracts.Resolve(cx.Schema); err == nil {
					g.contexts[k] = true
				}
			}
		}
	}
	return groups
}

// unknownContextsMember is how validation's list of contexts without a
// contract starts a record's attributes (pipeline.withUnknownContexts).
var unknownContextsMember = []byte(`{"unknown_contexts":`)

// unknownContexts is the schema keys of the contexts validation kept
// without a contract, read from the record's attributes; nil for nearly
// every record, which has none and costs one prefix comparison.
func unknownContexts(attrs json.RawMessage) []string {
	if !bytes.HasPrefix(attrs, unknownContextsMember) {
		return nil
	}
	var a struct {
		UnknownContexts []string `json:"unknown_contexts"`
	}
	if json.Unmarshal(attrs, &a) != nil {
		return nil
	}
	return a.UnknownContexts
}

// contextsOf is every context tr was planned for and g carries.
func contextsOf(tr *tracked, g *group) []string {
	var out []string
	if tr != nil {
		for cx := range tr.contexts {
			out = append(out, cx)
		}
	}
	for cx := range g.contexts {
		if tr == nil || !tr.contexts[cx] {
			out = append(out, cx)
		}
	}
	return out
}

// bind records what m bound for groups.
func (t *Tracker) bind(m *Migration, groups map[string]*group) {
	for key, g := range groups {
		tr := t.typed[key]
		if tr == nil {
			tr = &tracked{versions: map[string]bool{}, contexts: map[string]bool{}}
			t.typed[key] = tr
		}
		// A contract without a table (its events are not objects) is
		// remembered too, so that its records do not plan again.
		if bound := m.Bound[key]; bound != nil {
			if tr.table != nil {
				bound = Merge(tr.table, bound)
			}
			tr.table = bound
			if t.insert != nil {
				tr.insert = t.insert(bound)
			}
		}
		for v, c := range g.versions {
			if c != nil && !tr.versions[v] {
				// A record's version may share the memory of the whole
				// spool read it came in (event.DecodeEnvelopeShared):
				// what is kept is a copy.
				tr.versions[strings.Clone(v)] = true
			}
		}
		for cx := range g.contexts {
			tr.contexts[cx] = true
		}
	}
}
