package sqlite

import (
	"context"
	"database/sql/driver"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/columns"
	"github.com/accord-events/accord/internal/sink/tables"
)

// A typed table's row is computed in Go from the record as the good table
// stores it and bound to one prepared INSERT ... VALUES per table, run for
// each good row the batch adds. The typed inserts used to be INSERT ...
// SELECT statements that read the batch's rows back from the good table
// and took each column out of the event data with SQLite's JSON
// operators, which parsed the data again for every column: 46 % of a
// write's CPU on BenchmarkTypedWrite. The values are the ones those
// operators give (typedvalue.go); TestTypedRowsMatchSQL and
// FuzzTypedRows compare the two ways on the same records. The envelope
// columns a typed row copies are not bound again: the insert reads them
// from the good row just written, by event_id (joinedOf), when the good
// table gives back what it was given (goodGivesBack). Binding them was
// about 14,000 instructions a row of BenchmarkTypedWrite, each text
// copied into C memory and freed; the join costs about half that.

// typedPlan is how a row of one typed table is written.
type typedPlan struct {
	table *tables.Table
	// values are the expressions of the columns' values, in order, as
	// the insert's VALUES list.
	values string
	// into is the insert's start, up to its first row's values;
	// inserts[k] the insert of 1<<k rows, built when first needed.
	into    string
	inserts []string
	// valuesInGo is values with each time column's strftime left out,
	// for rows whose times were all made in Go (stamps); "" for a plan
	// without such a column. insertsInGo are its inserts (insertOf).
	valuesInGo  string
	insertsInGo []string
	cols        []typedCol
	// payloadArg is the ordinal the event data's text is bound to for
	// the columns SQLite computes (typedCol.sql); 0 when none does. The
	// statement then numbers its parameters (?N); else they are
	// anonymous, which the driver binds without reading each one's name
	// back (a string allocated per parameter and row), and a time
	// column's value is bound twice (stamps).
	payloadArg int
	stamps     []bool
	// ddl is the table's definition as the file holds it, read at
	// schema version ddlVersion ("" until read); madeHere says it is the
	// one the sink makes, whose checks surelyPasses knows (typedcheck.go).
	ddl        string
	ddlVersion int64
	madeHere   bool
	// The joined insert takes the envelope columns a row copies from the
	// good row just written, found by event_id, instead of binding each
	// value a second time (joinedOf): joinedSelect is its select list,
	// joinedValues a row's VALUES list (event_id and the columns computed
	// in Go), joinedKey the VALUES column of event_id; joinedSelect is ""
	// for a plan without it (a column SQLite computes, no event_id).
	// copied[j] says the j-th argument of a row of insert is one the
	// joined insert reads from the good row instead.
	joinedSelect, joinedValues string
	joinedKey                  int
	joinedInserts              []string
	copied                     []bool
	// joinedValuesInGo and joinedInsertsInGo are joinedValues and
	// joinedInserts as valuesInGo is values.
	joinedValuesInGo  string
	joinedInsertsInGo []string
}

// A time column's value (stamps) is timestampExpr of a parameter,
// COALESCE(strftime(fmt, upper(?)), ?), fmt the form SQLite keeps times
// in, its two parameters bound apart. A time already in that form and in
// UTC is bound to the second parameter and NULL to the first (appendArgs):
// strftime of NULL is NULL. Rows whose times are all so go in an insert
// with COALESCE(?, ?) in its place, the same value without calling a
// function: SQLite keeps a statement journal for a statement that inserts
// several rows and calls a function (any function may fail halfway, and
// SQLite would then undo the statement alone), about 1,500 instructions a
// row of BenchmarkTypedWrite. COALESCE is no function call: SQLite
// computes it inline. INSERT OR FAIL does not spare the journal: it
// changes what a constraint's failure does, not a function's.
var stampExpr = timestampExpr("?")

const stampInGoExpr = "COALESCE(?, ?)"

// typedCol is where one column's value comes from.
type typedCol struct {
	kind tables.Kind
	// envelope is the index of the good table's column the value is a
	// copy of, or -1.
	envelope int
	// path is a payload property's path.
	path []string
	// sql: SQLite computes the value from the bound event data with the
	// column's former expression (pathExpr), for a path with a label
	// Go does not read as SQLite's JSON paths do.
	sql bool
	// iglu and bare are the prefixes of the schema keys of a context
	// column's contexts; both empty for any other column.
	iglu, bare string
}

// checked reports whether the column has a CHECK constraint: all but
// event_id's (columnDecl).
func (c *typedCol) checked() bool { return c.envelope != keyIndex }

// passesByMaking reports whether the column copies JSON the sink makes
// itself, which passes the column's check whatever the record holds
// (sinkJSON), so that surelyPasses need not parse it.
func (c *typedCol) passesByMaking() bool {
	if c.kind != tables.JSON {
		return false
	}
	for _, i := range sinkJSON {
		if c.envelope == i {
			return true
		}
	}
	return false
}

// sinkJSON are the good table's columns whose JSON the sink makes from
// strings alone: event.Source's, Identity's and Collector's AppendJSON
// write an object of string members, each string by
// jsonscan.AppendString (invalid UTF-8 as U+FFFD, every control
// character escaped), so the text is valid JSON whatever the record holds,
// and starts with '{', which NUMERIC affinity leaves as it is. Parsing it
// again for the check of each typed row was about 2,000 instructions a
// row of BenchmarkTypedWrite, more with a real user agent.
// TestSinkJSONPassesItsCheck holds it to SQLite's check.
var sinkJSON = [...]int{goodIndex["source"], goodIndex["identity"], goodIndex["collector"]}

// goodIndex is the index of each good-table column by name.
var goodIndex = func() map[string]int {
	m := map[string]int{}
	for i, c := range columns.Good() {
		m[c.Name] = i
	}
	return m
}()

// contextsIndex and keyIndex are the good table's contexts and event_id
// columns.
var contextsIndex, keyIndex = goodIndex["contexts"], goodIndex[columns.Key]

// goLabel reports whether a label of a property path is one Go looks up
// as SQLite's -> and ->> operators do: by the member's name, decoded,
// compared byte for byte. The operators turn a label into a JSON path
// (jsonExtractFunc): one of letters, digits and '_' as $.label, one like
// [N] as an array index, any other as $."label", in which a '\' is an
// escape and a '"' ends the name, and an empty one is no path at all.
// Those go to SQLite (typedCol.sql).
func goLabel(p string) bool {
	if p == "" || !plainLabel(p) || strings.ContainsAny(p, "\\\x00") {
		return false
	}
	return !(p[0] == '[' && len(p) >= 3 && p[len(p)-1] == ']')
}

// newTypedPlan builds the insert of t's rows and where each value comes
// from.
func newTypedPlan(t *tables.Table) (*typedPlan, error) {
	p := &typedPlan{table: t, cols: make([]typedCol, len(t.Columns)), stamps: make([]bool, len(t.Columns))}
	names := make([]string, len(t.Columns))
	exprs := make([]string, len(t.Columns))
	var sqlCols []int
	for i, c := range t.Columns {
		names[i] = quoteIdent(c.Name)
		tc := typedCol{kind: c.Kind, envelope: -1}
		switch {
		case c.Source.Envelope != "":
			idx, ok := goodIndex[c.Source.Envelope]
			if !ok {
				return nil, fmt.Errorf("typed table %s: column %s copies %q, which the good table lacks", t.Name, c.Name, c.Source.Envelope)
			}
			tc.envelope = idx
		case c.Source.Context != "":
			parts := strings.SplitN(c.Source.Context, "/", 3)
			if len(parts) != 3 {
				return nil, fmt.Errorf("typed table %s: column %s: context %q is not vendor/name/MODEL", t.Name, c.Name, c.Source.Context)
			}
			tc.bare = parts[0] + "/" + parts[1] + "/jsonschema/" + parts[2] + "-"
			tc.iglu = "iglu:" + tc.bare
		default:
			tc.path = c.Source.Path
			for _, l := range c.Source.Path {
				if !goLabel(l) {
					tc.sql = true
				}
			}
			if len(c.Source.Path) == 0 {
				tc.sql = true
			}
		}
		if tc.sql {
			sqlCols = append(sqlCols, i)
		}
		p.stamps[i] = c.Kind == tables.Timestamp && tc.envelope < 0 && !tc.sql
		p.cols[i] = tc
	}
	if len(sqlCols) > 0 {
		p.payloadArg = len(t.Columns) + 1
		clear(p.stamps)
	}
	inGo := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		arg := "?"
		if p.payloadArg > 0 {
			arg = "?" + strconv.Itoa(i+1)
		}
		switch {
		case p.cols[i].sql:
			// Its own ordinal stays bound (to NULL), unused.
			exprs[i] = pathExpr(c, "?"+strconv.Itoa(p.payloadArg))
		case c.Kind == tables.Timestamp && p.cols[i].envelope < 0:
			if p.payloadArg > 0 {
				exprs[i] = timestampExpr(arg)
			} else {
				exprs[i] = stampExpr
			}
		default:
			exprs[i] = arg
		}
		inGo[i] = exprs[i]
		if p.stamps[i] {
			inGo[i] = stampInGoExpr
		}
	}
	p.values = strings.Join(exprs, ", ")
	p.into = "INSERT INTO " + quoteIdent(t.Name) + " (" + strings.Join(names, ", ") + ") VALUES "
	if slices.Contains(p.stamps, true) {
		p.valuesInGo = strings.Join(inGo, ", ")
	}
	if p.payloadArg == 0 {
		p.planJoined(names, exprs, inGo)
	}
	return p, nil
}

// planJoined builds the pieces of p's joined insert from its columns'
// quoted names and value expressions (inGo: without strftime).
func (p *typedPlan) planJoined(names, exprs, inGo []string) {
	sel := make([]string, 0, len(p.cols))
	var vals, valsInGo []string
	for i, c := range p.cols {
		if c.envelope >= 0 && c.envelope != keyIndex {
			sel = append(sel, "e."+quoteIdent(columns.Good()[c.envelope].Name))
			p.copied = append(p.copied, true)
			continue
		}
		vals = append(vals, exprs[i])
		valsInGo = append(valsInGo, inGo[i])
		if c.envelope == keyIndex {
			p.joinedKey = len(vals)
		}
		sel = append(sel, "v.column"+strconv.Itoa(len(vals)))
		p.copied = append(p.copied, false)
		if p.stamps[i] {
			p.copied = append(p.copied, false)
		}
	}
	if p.joinedKey == 0 || len(vals) == len(exprs) {
		p.copied = nil
		return
	}
	p.joinedSelect = "INSERT INTO " + quoteIdent(p.table.Name) + " (" + strings.Join(names, ", ") + ") SELECT " + strings.Join(sel, ", ")
	p.joinedValues = strings.Join(vals, ", ")
	if p.valuesInGo != "" {
		p.joinedValuesInGo = strings.Join(valsInGo, ", ")
	}
}

// joinedOf is the joined insert of rows rows (a power of two) beside the
// good table good: every row's event_id is one the good table's insert
// just took, so the join finds that row. CROSS JOIN keeps the VALUES the
// outer loop, each row finding its good row by the key's index. parse
// says a time of the rows is for strftime to make (insertOf).
func (p *typedPlan) joinedOf(rows int, good string, parse bool) string {
	cache, values := &p.joinedInserts, p.joinedValues
	if !parse && p.joinedValuesInGo != "" {
		cache, values = &p.joinedInsertsInGo, p.joinedValuesInGo
	}
	return ofRows(cache, rows, func(rows int) string {
		var b strings.Builder
		b.WriteString(p.joinedSelect)
		b.WriteString(" FROM (VALUES ")
		for r := range rows {
			if r > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			b.WriteString(values)
			b.WriteByte(')')
		}
		b.WriteString(") AS v CROSS JOIN ")
		b.WriteString(quoteIdent(good))
		b.WriteString(" AS e WHERE e.")
		b.WriteString(quoteIdent(columns.Key))
		b.WriteString(" = v.column")
		b.WriteString(strconv.Itoa(p.joinedKey))
		b.WriteString(" ON CONFLICT DO NOTHING")
		return b.String()
	})
}

// typedPlans returns the plan of each typed table records need, by
// contract MODEL, migrating first what they need; none with tables: off
// or without contracts.
func (s *Sink) typedPlans(ctx context.Context, records []*event.Envelope) (map[string]*typedPlan, error) {
	if s.typed == nil || s.opts.Tables == TablesOff {
		return nil, nil
	}
	byContract, err := s.typed.Tables(ctx, records, s.planTyped)
	if err != nil || len(byContract) == 0 {
		return nil, err
	}
	out := make(map[string]*typedPlan, len(byContract))
	for key, t := range byContract {
		p := s.plans[t]
		if p == nil {
			if p, err = newTypedPlan(t); err != nil {
				return nil, err
			}
			if len(s.plans) >= maxTypedStmts {
				// A table migrated is a new *Table, whose old plan is not
				// used again; drop any one.
				for old := range s.plans {
					delete(s.plans, old)
					break
				}
			}
			if s.plans == nil {
				s.plans = map[*tables.Table]*typedPlan{}
			}
			s.plans[t] = p
		}
		out[key] = p
	}
	return out, nil
}

// typedPending is the rows of one typed table a chunk of good rows gives.
type typedPending struct {
	plan *typedPlan
	// joined: the rows go in p's joined insert, their arguments
	// without the copied ones.
	joined bool
	// parse: a time of the rows is for strftime to make (insertOf).
	parse bool
	args  []driver.NamedValue
	rows  int
}

// writeTypedRows writes the typed rows of the good records just inserted
// with the arguments args (len(records) rows of the good table's
// columns), skipping those the good table already held (inserted tells).
// The rows of one table go in multi-row inserts, as the good table's do:
// a statement's trip through the driver costs more than a row.
func (s *Sink) writeTypedRows(ctx context.Context, plans map[string]*typedPlan, records []*event.Envelope, args []driver.NamedValue, inserted func(*event.Envelope) bool) error {
	n := len(s.good.columns)
	pending := s.typedPending[:0]
	defer func() {
		for i := range pending {
			clear(pending[i].args)
			pending[i] = typedPending{args: pending[i].args[:0]}
		}
		s.typedPending = pending[:0]
		clear(s.rowArgs)
	}()
	for i, r := range records {
		// Every record is asked, in order, so that a later one with an
		// earlier one's id is known for one the good table skips.
		if !inserted(r) || !r.Valid || r.Vendor == "" {
			continue
		}
		s.keyBuf = tables.AppendKey(s.keyBuf, r)
		p := plans[string(s.keyBuf)]
		if p == nil {
			continue
		}
		row, sure, err := p.appendArgs(s.rowArgs[:0], r, args[i*n:(i+1)*n], &s.members)
		s.rowArgs = row
		if err != nil {
			return err
		}
		if !sure || !p.madeHere {
			// The writing connection skips the table's checks: SQLite
			// checks this row on a copy of the table (typedcheck.go).
			if err := s.checkTypedRow(ctx, p, row); err != nil {
				return err
			}
		}
		joined := p.joinedSelect != "" && r.EventID != "" && s.goodCopies
		k := 0
		for k < len(pending) && pending[k].plan != p {
			k++
		}
		if k == len(pending) {
			if k < cap(pending) {
				pending = pending[:k+1]
				pending[k].plan = p
			} else {
				pending = append(pending, typedPending{plan: p})
			}
		} else if pending[k].joined != joined {
			// The table's rows go in the batch's order.
			if err := s.flushTyped(ctx, &pending[k]); err != nil {
				return err
			}
		}
		pending[k].joined = joined
		if joined {
			for j := range row {
				if !p.copied[j] {
					pending[k].args = append(pending[k].args, row[j])
				}
			}
		} else {
			pending[k].args = append(pending[k].args, row...)
		}
		pending[k].rows++
		pending[k].parse = pending[k].parse || p.parses(row)
		if p.payloadArg > 0 {
			// Numbered parameters: one row a statement.
			if err := s.flushTyped(ctx, &pending[k]); err != nil {
				return err
			}
		}
	}
	for i := range pending {
		if err := s.flushTyped(ctx, &pending[i]); err != nil {
			return err
		}
	}
	return nil
}

// flushTyped inserts pd's rows, in multi-row inserts, and empties it.
func (s *Sink) flushTyped(ctx context.Context, pd *typedPending) error {
	per := len(pd.args) / max(pd.rows, 1)
	for rest, rows := pd.args, pd.rows; rows > 0; {
		k := chunkSize(rows, min(rowsPerInsert, maxTypedArgs/max(per, 1)))
		if err := s.execTyped(ctx, pd.plan, pd.joined, pd.parse, k, rest[:k*per]); err != nil {
			return err
		}
		rest, rows = rest[k*per:], rows-k
	}
	clear(pd.args)
	pd.args, pd.rows, pd.parse = pd.args[:0], 0, false
	return nil
}

// maxTypedArgs keeps a typed insert's parameters under SQLite's limit
// (SQLITE_MAX_VARIABLE_NUMBER, 32,766).
const maxTypedArgs = 32766

// execTyped runs p's insert of rows rows (a power of two) with args, or
// its joined insert; parse says a time of the rows is for strftime to
// make (insertOf).
func (s *Sink) execTyped(ctx context.Context, p *typedPlan, joined, parse bool, rows int, args []driver.NamedValue) error {
	for i := range args {
		args[i].Ordinal = i + 1
	}
	q := p.insertOf(rows, parse)
	if joined {
		q = p.joinedOf(rows, s.good.name, parse)
	}
	st, err := s.typedStmts.prepared(ctx, s.conn, q)
	if err == nil {
		if _, err = st.ExecContext(ctx, args); err != nil {
			// Prepared afresh next time, should the statement be what
			// failed.
			s.typedStmts.drop(q)
		}
	}
	if err != nil {
		return classify(fmt.Errorf("insert into typed table %s: %w", p.table.Name, err))
	}
	return nil
}

// insertOf is the insert of rows rows (a power of two); parse says a
// time of the rows is for strftime to make, else it is the insert without
// strftime when p has one (stampExpr).
func (p *typedPlan) insertOf(rows int, parse bool) string {
	cache, values := &p.inserts, p.values
	if !parse && p.valuesInGo != "" {
		cache, values = &p.insertsInGo, p.valuesInGo
	}
	return ofRows(cache, rows, func(rows int) string {
		var b strings.Builder
		b.WriteString(p.into)
		for r := range rows {
			if r > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			b.WriteString(values)
			b.WriteByte(')')
		}
		b.WriteString(" ON CONFLICT DO NOTHING")
		return b.String()
	})
}

// ofRows returns the statement of rows rows (a power of two) from cache,
// one slot a power, building it with build the first time.
func ofRows(cache *[]string, rows int, build func(rows int) string) string {
	k := bits.Len(uint(rows)) - 1
	for len(*cache) <= k {
		*cache = append(*cache, "")
	}
	if (*cache)[k] == "" {
		(*cache)[k] = build(rows)
	}
	return (*cache)[k]
}

// parses reports whether a time of row, the arguments appendArgs gave,
// is for strftime to make: bound to the first of its two parameters.
func (p *typedPlan) parses(row []driver.NamedValue) bool {
	if p.valuesInGo == "" {
		return true
	}
	j := 0
	for i := range p.cols {
		if !p.stamps[i] {
			j++
			continue
		}
		if row[j].Value != nil {
			return true
		}
		j += 2
	}
	return false
}

// appendArgs appends the arguments of p's insert for r to args; good are
// the values r's good row was inserted with; sure reports whether every
// value surely passes its column's check (surelyPasses). A record whose data or
// contexts are not JSON (which the pipeline never lets through) is a
// permanent error: SQLite's JSON functions failed on it too.
func (p *typedPlan) appendArgs(args []driver.NamedValue, r *event.Envelope, good []driver.NamedValue, members *[]objectMember) (_ []driver.NamedValue, sure bool, err error) {
	var payload []byte // the event data, trimmed; read once a row
	payloadRead := false
	sure = true
	*members = (*members)[:0]
	for i := range p.cols {
		c := &p.cols[i]
		var v any
		switch {
		case c.envelope >= 0:
			v = good[c.envelope].Value
		case c.iglu != "":
			if v, err = contextsValue(bytesOf(good[contextsIndex].Value), c.iglu, c.bare); err != nil {
				return args, false, &sink.PermanentError{Err: fmt.Errorf("typed table %s: event %s: contexts: %w", p.table.Name, r.EventID, err)}
			}
		case c.sql:
		default:
			if !payloadRead {
				payloadRead = true
				if len(r.Payload) > 0 {
					if payload, *members, err = documentMembers(*members, r.Payload); err != nil {
						return args, false, &sink.PermanentError{Err: fmt.Errorf("typed table %s: event %s: data: %w", p.table.Name, r.EventID, err)}
					}
				}
			}
			if v, err = pathValue(payload, *members, c.path, c.kind); err != nil {
				return args, false, &sink.PermanentError{Err: fmt.Errorf("typed table %s: event %s: data: %w", p.table.Name, r.EventID, err)}
			}
		}
		if c.sql {
			sure = false // SQLite computes the value
		} else if sure && c.checked() && !c.passesByMaking() {
			sure = surelyPasses(c.kind, v)
		}
		if p.stamps[i] {
			// COALESCE(strftime(fmt, ?), ?): a time already in UTC with
			// at most milliseconds is what strftime would make of it,
			// and strftime of NULL costs no parse (about 13,000
			// instructions a value).
			in, out := v, v
			if t, ok := v.(string); ok {
				if utc, ok := utcMillis(t); ok {
					in = nil
					if len(utc) != len(t) {
						out = utc // else t itself, boxed already
					}
				}
			}
			args = append(args, driver.NamedValue{Ordinal: len(args) + 1, Value: in}, driver.NamedValue{Ordinal: len(args) + 2, Value: out})
		} else {
			args = append(args, driver.NamedValue{Ordinal: len(args) + 1, Value: v})
		}
	}
	if p.payloadArg > 0 {
		var v any
		if len(r.Payload) > 0 {
			v = textOf(r.Payload)
		}
		args = append(args, driver.NamedValue{Ordinal: p.payloadArg, Value: v})
	}
	return args, sure, nil
}

// bytesOf is the text of a good-table argument (a string bound as TEXT,
// or nil for NULL) as bytes, without copying.
func bytesOf(v any) []byte {
	s, _ := v.(string)
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// pathValue is the value of a payload property's column: the property at
// path in payload (the event data, nil when there is none) as `->>`
// gives it, or as `->` gives it for a JSON column, NULL for a JSON null;
// for a BIGINT column a real with an integer's value is that integer
// (JSON allows 2.0 for an integer), as SQLite's CAST makes it.
func pathValue(payload []byte, members []objectMember, path []string, kind tables.Kind) (any, error) {
	if payload == nil {
		return nil, nil
	}
	v, found := find(members, path[0])
	if !found {
		return nil, nil
	}
	for _, label := range path[1:] {
		if v == nil {
			return nil, nil
		}
		val, found, err := member(v, label)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, nil
		}
		v = val
	}
	if v == nil {
		return nil, nil
	}
	if kind == tables.JSON {
		if v[0] == 'n' {
			return nil, nil
		}
		return renderedText(v), nil
	}
	sv := sqlValue(v)
	if f, ok := sv.(float64); ok && kind == tables.BigInt && f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63 {
		return int64(f), nil
	}
	return sv, nil
}

// contextsValue is a context column's value: the data of every context in
// contexts (the good row's contexts, a JSON array) whose schema key starts
// with iglu or bare, as a JSON array (json_group_array of json(data)), a
// context without data giving null; NULL when there is none.
func contextsValue(contexts []byte, iglu, bare string) (any, error) {
	if len(contexts) == 0 {
		return nil, nil
	}
	arr, err := jsonValue(contexts)
	if err != nil {
		return nil, err
	}
	if arr[0] != '[' {
		return nil, errNotJSON
	}
	var out []byte
	i := skipSpace(arr, 1)
	if arr[i] == ']' {
		return nil, nil
	}
	for {
		e, err := valueEnd(arr, i)
		if err != nil {
			return nil, err
		}
		elem := arr[i:e]
		if schema, found, err := member(elem, "schema"); err != nil {
			return nil, err
		} else if found && schema[0] == '"' {
			if key, _ := sqlValue(schema).(string); strings.HasPrefix(key, iglu) || strings.HasPrefix(key, bare) {
				if out == nil {
					out = append(make([]byte, 0, len(arr)), '[')
				} else {
					out = append(out, ',')
				}
				data, found, err := member(elem, "data")
				if err != nil {
					return nil, err
				}
				if found {
					out = appendRendered(out, data)
				} else {
					out = append(out, "null"...)
				}
			}
		}
		i = skipSpace(arr, e)
		if arr[i] == ']' {
			break
		}
		i = skipSpace(arr, i+1) // ','
	}
	if out == nil {
		return nil, nil
	}
	return textOf(append(out, ']')), nil
}

// insertedBy returns whether the good table's insert (ON CONFLICT DO
// NOTHING) takes a record of the batch: not when it held the record's id
// before (held) or an earlier record of the batch has it. Only the rows it
// takes get a typed row, as when the typed inserts read back the rows the
// batch added. Called in the batch's order, once a record.
func (s *Sink) insertedBy(held map[string]bool) func(*event.Envelope) bool {
	if s.typedSeen == nil {
		s.typedSeen = map[string]bool{}
	}
	clear(s.typedSeen)
	seen := s.typedSeen
	return func(r *event.Envelope) bool {
		if r.EventID == "" {
			return true // a NULL key is never a duplicate
		}
		if held[r.EventID] || seen[r.EventID] {
			return false
		}
		seen[r.EventID] = true
		return true
	}
}
