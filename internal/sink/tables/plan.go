package tables

import (
	"fmt"
	"strings"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/contract/compat"
)

// Step is one DDL statement of a plan, and why.
type Step struct {
	// Table is the table the statement changes.
	Table string
	// Contract and Version are the contract ("vendor/name/MODEL") and
	// version the table is brought up to.
	Contract, Version string
	Statement         string
	// Source is the column the statement adds or changes; zero for a
	// statement about the whole table.
	Source Source
	// Reason is the contract change that needs the statement, as
	// compat.Diff reports it between the version the table was last
	// migrated for and this one ("property_added_optional: ..."); empty
	// when unknown (a new table, a context first seen).
	Reason string
}

// Plan returns the DDL that brings live (nil when the table does not
// exist) up to want, and want as it will be once the DDL ran: the columns
// the sink writes, under the names and kinds the database holds them in.
//
// It never drops or narrows a column, so it is safe to run for an older
// version of a contract than the table was built for:
//
//   - a column missing from live is added, nullable (rows already there
//     read NULL);
//   - a column live holds NOT NULL that want lets be NULL becomes nullable
//     (an ALTER that rewrites nothing);
//   - a column whose live kind holds want's (Kind.Holds: an integer
//     property in a double precision column, anything in JSON) is kept as
//     it is;
//   - otherwise (a property whose type widened, integer to number) want's
//     values go to a new column, <name>_<kind> (amount_double), added if
//     missing; the old column keeps the rows written before.
//
// Columns of live that want lacks (properties of a newer version, or
// removed from the contract) are left alone: rows written now read NULL
// there.
func Plan(d Dialect, want *Table, live *Live) ([]Step, *Table) {
	step := func(stmt string) Step {
		return Step{Table: want.Name, Contract: want.Contract, Version: want.Version, Statement: stmt}
	}
	if live == nil {
		var steps []Step
		for _, s := range d.CreateTable(want) {
			steps = append(steps, step(s))
		}
		return steps, want
	}
	bound := *want
	bound.Columns = make([]Column, 0, len(want.Columns))
	var steps []Step
	for _, c := range want.Columns {
		name, kind, have := resolve(d, c, live)
		c.Name, c.Kind = name, kind
		switch {
		case !have:
			c.Nullable = true
			for _, s := range d.AddColumn(want.Name, c) {
				st := step(s)
				st.Source = c.Source
				steps = append(steps, st)
			}
		case !live.Columns[name].Nullable && c.Nullable:
			st := step(d.DropNotNull(want.Name, c))
			st.Source = c.Source
			steps = append(steps, st)
		}
		bound.Columns = append(bound.Columns, c)
	}
	return steps, &bound
}

// resolve picks the live column that holds c's values: c's own name when
// its kind holds c's, else <name>_<kind>, else that name with a hash. have
// is false when the column must be added.
func resolve(d Dialect, c Column, live *Live) (name string, kind Kind, have bool) {
	candidates := []string{c.Name}
	if lc, ok := live.Columns[c.Name]; ok {
		if k, known := d.KindOf(lc.Type); known && k.Holds(c.Kind) {
			return c.Name, k, true
		}
		widened := Sanitize(d, c.Name+"_"+c.Kind.String())
		candidates = []string{widened, Disambiguate(d, widened, c.Name)}
	}
	for _, n := range candidates {
		lc, ok := live.Columns[n]
		if !ok {
			return n, c.Kind, false
		}
		if k, known := d.KindOf(lc.Type); known && k.Holds(c.Kind) {
			return n, k, true
		}
	}
	// Both names are taken by columns that cannot hold the values (made
	// by hand): JSON in the first one that can, or a last, hashed name.
	last := Disambiguate(d, c.Name, c.Name+"/"+c.Kind.String()+"/json")
	if lc, ok := live.Columns[last]; ok {
		k, _ := d.KindOf(lc.Type)
		return last, k, true
	}
	return last, c.Kind, false
}

// Explain sets each step's Reason from the changes Accord's compatibility
// diff (compat.Diff, the one contract lint runs) finds between prev, the
// contract version the table was last migrated for, and next: a column's
// step gets the change to its property or to the object holding it. It
// returns the diff's error, leaving the steps without reasons, for a pair
// it cannot compare.
func Explain(steps []Step, prev, next *contract.Contract) error {
	if prev == nil || next == nil {
		return nil
	}
	changes, err := compat.Diff(prev.Document, next.Document)
	if err != nil {
		return err
	}
	for i := range steps {
		path := steps[i].Source.Path
		if len(path) == 0 {
			continue
		}
		// The deepest change on the column's property or an object above it.
		best := -1
		for j, c := range changes {
			for n := len(path); n > 0; n-- {
				if c.Property == strings.Join(path[:n], ".") {
					if best < 0 || len(changes[best].Property) < len(c.Property) {
						best = j
					}
					break
				}
			}
		}
		if best >= 0 {
			steps[i].Reason = changes[best].Kind + ": " + changes[best].Message
		}
	}
	return nil
}

// OutOfDateError is a write that needs a typed table migrated while the
// sink is plan-only. It is transient: the write succeeds once someone runs
// `accord tables apply`. The database sinks share it so that the message
// (and what it tells the operator to run) is the same for all of them.
type OutOfDateError struct {
	Table string
	Steps []Step
}

func (e *OutOfDateError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "typed table %s is out of date and tables is plan-only: run `accord tables apply` (accord tables plan shows it); the plan is:", e.Table)
	for _, s := range e.Steps {
		b.WriteString("\n  " + s.Statement + ";")
	}
	return b.String()
}
