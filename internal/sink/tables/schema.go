package tables

import (
	"errors"
	"strings"

	"github.com/accord-events/accord/internal/contract"
)

// Want is one typed table a schema plan brings up to date: a contract
// version and the context contracts ("vendor/name/MODEL") whose columns it
// needs.
type Want struct {
	Contract *contract.Contract
	Contexts []string
}

// Migration is a plan for one schema (a PostgreSQL schema, a MySQL
// database): the statements that bring its tables up to the contracts.
type Migration struct {
	Steps []Step
	// Bound are the typed tables as they are once the steps ran, by
	// contract ("vendor/name/MODEL").
	Bound map[string]*Table
}

// SchemaPlan is what planning a whole schema needs beside the wants: the
// catalog as read, and the sink's choices.
type SchemaPlan struct {
	Dialect Dialect
	Model   Options
	// Live is the catalog, by table name; PlanSchema updates it as the
	// plan leaves it.
	Live map[string]*Live
	// LiveContextsOnly keeps only the context columns a table already
	// has: plan-only never needs DDL for a context the events start to
	// carry (its data stays in the raw table until a sink in auto mode
	// adds the column).
	LiveContextsOnly bool
	// Explain, when set, gives the steps of an existing table their
	// reasons (see Explain); it is called with the contract planned.
	Explain func(steps []Step, c *contract.Contract)
}

// PlanSchema plans each wanted typed table against the catalog; a typed
// table wanted twice (two versions of a MODEL) is planned against the
// catalog as the first plan leaves it. Contracts whose events are not
// objects get no table (their records stay in the raw table).
func PlanSchema(p SchemaPlan, wants []Want) (*Migration, error) {
	m := &Migration{Bound: map[string]*Table{}}
	d := p.Dialect
	for _, w := range wants {
		if p.LiveContextsOnly {
			w.Contexts = existing(d, p.Live, w)
		}
		want, err := FromContract(d, w.Contract, w.Contexts, p.Model)
		if errors.Is(err, ErrNotObject) {
			continue
		}
		if err != nil {
			return nil, err
		}
		steps, bound := Plan(d, want, p.Live[want.Name])
		if len(steps) > 0 && p.Live[want.Name] != nil && p.Explain != nil {
			p.Explain(steps, w.Contract)
		}
		m.Steps = append(m.Steps, steps...)
		if prev := m.Bound[bound.Contract]; prev != nil {
			bound = Merge(prev, bound)
		}
		m.Bound[bound.Contract] = bound
		p.Live[want.Name] = after(d, p.Live[want.Name], bound)
	}
	return m, nil
}

// existing is the contexts of w whose columns its table has.
func existing(d Dialect, live map[string]*Live, w Want) []string {
	k := w.Contract.Key
	t := live[TableName(d, k.Vendor, k.Name, k.Version.Model)]
	var out []string
	for _, cx := range w.Contexts {
		if t != nil {
			if _, ok := t.Columns[ContextColumn(d, cx)]; ok {
				out = append(out, cx)
			}
		}
	}
	return out
}

// Merge returns the columns of a and b, each source once, b's binding
// winning: the typed table as two versions of a MODEL see it.
func Merge(a, b *Table) *Table {
	out := *b
	seen := map[string]bool{}
	for _, c := range b.Columns {
		seen[sourceKey(c.Source)] = true
	}
	out.Columns = append([]Column(nil), b.Columns...)
	for _, c := range a.Columns {
		if !seen[sourceKey(c.Source)] {
			out.Columns = append(out.Columns, c)
		}
	}
	return &out
}

func sourceKey(s Source) string {
	switch {
	case s.Envelope != "":
		return "e:" + s.Envelope
	case s.Context != "":
		return "c:" + s.Context
	}
	return "p:" + strings.Join(s.Path, "\x00")
}

// after is live as it is once bound's columns exist.
func after(d Dialect, live *Live, bound *Table) *Live {
	out := &Live{Name: bound.Name, Columns: map[string]LiveColumn{}}
	if live != nil {
		for n, c := range live.Columns {
			out.Columns[n] = c
		}
	}
	for _, c := range bound.Columns {
		lc, ok := out.Columns[c.Name]
		if !ok || (c.Nullable && !lc.Nullable) {
			out.Columns[c.Name] = LiveColumn{Type: d.ColumnType(c.Kind), Nullable: c.Nullable || ok}
		}
	}
	return out
}

// builtinSources start the Source of the contracts built into Accord (the
// Snowplow contexts and the enrichments', loaded by internal/app's
// builtinContracts under these names): they get a typed table when their
// first event comes, not at every start.
var builtinSources = []string{"snowplow:", "enrich:"}

// Builtin reports whether c is built into Accord.
func Builtin(c *contract.Contract) bool {
	for _, p := range builtinSources {
		if strings.HasPrefix(c.Source, p) {
			return true
		}
	}
	return false
}

// Lister lists contracts (registry.Resolver and the collector's contracts
// do).
type Lister interface {
	Contracts() []*contract.Contract
}

// Listed is a typed table for every contract cs lists, for planning at
// start; nil when cs cannot list.
func Listed(cs any) []Want {
	l, ok := cs.(Lister)
	if !ok {
		return nil
	}
	return WantsOf(l.Contracts())
}

// WantsOf is a typed table for each contract but the built-in ones.
func WantsOf(contracts []*contract.Contract) []Want {
	var wants []Want
	for _, c := range contracts {
		if !Builtin(c) {
			wants = append(wants, Want{Contract: c})
		}
	}
	return wants
}
