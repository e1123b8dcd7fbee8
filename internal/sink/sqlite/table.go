package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"unsafe"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink/columns"
)

// decl is how a column is declared in a records table. Timestamps are TEXT
// in event.TimeLayout, which sorts as time does, or NULL when unknown;
// nested parts are JSON text.
func decl(c columns.Column) string {
	typ := "TEXT"
	if c.Type == columns.Bool {
		typ = "INTEGER"
	}
	switch {
	case c.Name == columns.Key:
		// SQLite allows NULL in a PRIMARY KEY and never counts it as a
		// duplicate, so a record without an id is kept.
		return typ + " PRIMARY KEY"
	case c.Nullable:
		return typ
	}
	return typ + " NOT NULL"
}

// table is one records table and its insert statements.
type table struct {
	name    string
	columns []columns.Column
	// stmts[k] inserts 1<<k rows; prepared when first needed.
	stmts []stmt
	// held[k] looks up 1<<k event ids (heldIDs); prepared when first
	// needed.
	held []queryStmt
}

// stmt is what the sink needs of the driver's prepared statement.
type stmt interface {
	driver.Stmt
	driver.StmtExecContext
}

func newTable(ctx context.Context, conn driverConn, name string, failed bool) (*table, error) {
	t := &table{name: name, columns: columns.Good()}
	if failed {
		t.columns = columns.Failed()
	}
	var ddl strings.Builder
	fmt.Fprintf(&ddl, "CREATE TABLE IF NOT EXISTS %q (\n", name)
	for i, c := range t.columns {
		if i > 0 {
			ddl.WriteString(",\n")
		}
		fmt.Fprintf(&ddl, "\t%s %s", c.Name, decl(c))
	}
	ddl.WriteString("\n)")
	stmts := []string{
		ddl.String(),
		fmt.Sprintf("CREATE INDEX IF NOT EXISTS %q ON %q (collected_at)", name+"_collected_at", name),
		fmt.Sprintf("CREATE INDEX IF NOT EXISTS %q ON %q (schema)", name+"_schema", name),
	}
	for _, q := range stmts {
		if _, err := conn.ExecContext(ctx, q, nil); err != nil {
			return nil, fmt.Errorf("create table %s: %w", name, err)
		}
	}
	if err := t.addMissingColumns(ctx, conn); err != nil {
		return nil, err
	}
	// Finds an event stored under a new id because another held its id
	// (see settleClaims); partial, as almost every row has none.
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE INDEX IF NOT EXISTS %q ON %q (original_event_id) WHERE original_event_id IS NOT NULL", name+"_original_event_id", name), nil); err != nil {
		return nil, fmt.Errorf("create table %s: %w", name, err)
	}
	// Preparing the one-row insert now checks that a table that already
	// existed has the columns Accord writes.
	if _, err := t.stmt(ctx, conn, 1); err != nil {
		return nil, err
	}
	return t, nil
}

// addMissingColumns adds the columns a table created by an older Accord
// lacks. Columns are only ever added, nullable, so old rows read as NULL.
func (t *table) addMissingColumns(ctx context.Context, conn driverConn) error {
	rows, err := conn.QueryContext(ctx, fmt.Sprintf("SELECT name FROM pragma_table_info(%s)", quoteLiteral(t.name)), nil)
	if err != nil {
		return fmt.Errorf("read columns of %s: %w", t.name, err)
	}
	have := map[string]bool{}
	row := make([]driver.Value, 1)
	for rows.Next(row) == nil {
		if name, ok := row[0].(string); ok {
			have[name] = true
		}
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("read columns of %s: %w", t.name, err)
	}
	for _, c := range t.columns {
		if have[c.Name] {
			continue
		}
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("ALTER TABLE %q ADD COLUMN %s TEXT", t.name, c.Name), nil); err != nil {
			return fmt.Errorf("add column %s to %s: %w", c.Name, t.name, err)
		}
	}
	return nil
}

// quoteLiteral quotes s as an SQL string literal.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// chunkSize returns how many of n records (n > 0) the next INSERT carries:
// the largest power of two no larger than n or max, so that a table needs at
// most log2(max)+1 prepared statements.
func chunkSize(n, max int) int {
	return 1 << (bits.Len(uint(min(n, max))) - 1)
}

// stmt returns the statement that inserts rows records (a power of two).
func (t *table) stmt(ctx context.Context, conn driverConn, rows int) (stmt, error) {
	return preparedFor(ctx, conn, &t.stmts, rows, "prepare insert into", t.name, func() string { return t.insertSQL(rows) })
}

// preparedFor returns the statement cached for n (a power of two) in
// cache, preparing query() and caching it when first needed; what and
// table name the statement in its errors.
func preparedFor[S driver.Stmt](ctx context.Context, conn driverConn, cache *[]S, n int, what, table string, query func() string) (S, error) {
	var zero S
	k := bits.Len(uint(n)) - 1
	if k < len(*cache) && any((*cache)[k]) != nil {
		return (*cache)[k], nil
	}
	st, err := prepareAs[S](ctx, conn, query())
	if err != nil {
		return zero, fmt.Errorf("%s %s: %w", what, table, err)
	}
	for len(*cache) <= k {
		*cache = append(*cache, zero)
	}
	(*cache)[k] = st
	return st, nil
}

// prepareAs prepares query on conn as an S: the methods the sink needs
// of the driver's statement.
func prepareAs[S driver.Stmt](ctx context.Context, conn driverConn, query string) (S, error) {
	var zero S
	ds, err := conn.PrepareContext(ctx, query)
	if err != nil {
		return zero, err
	}
	st, ok := ds.(S)
	if !ok {
		ds.Close()
		return zero, fmt.Errorf("driver statement %T lacks the methods needed", ds)
	}
	return st, nil
}

// insertSQL returns an INSERT of rows records that skips event_ids already
// stored. OR FAIL: a row a constraint refuses (a NOT NULL column given
// NULL) ends the statement with the error and leaves the rows before it,
// which Write's rollback of the whole transaction removes, as it does on
// any error. With the default, ABORT, SQLite keeps a statement journal of
// every page a multi-row insert changes, to undo the statement alone:
// 2 % of BenchmarkWrite100's instructions, to undo what the rollback
// undoes anyway.
func (t *table) insertSQL(rows int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "INSERT OR FAIL INTO %q (", t.name)
	for i, c := range t.columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.Name)
	}
	b.WriteString(") VALUES ")
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for i := range t.columns {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('?')
		}
		b.WriteByte(')')
	}
	b.WriteString(" ON CONFLICT (event_id) DO NOTHING")
	return b.String()
}

// appendArgs appends the statement arguments for r, in column order,
// encoding what is bound as text into buf.
func (t *table) appendArgs(args []driver.NamedValue, values []columns.Value, buf []byte, r *event.Envelope) ([]driver.NamedValue, []columns.Value, []byte) {
	values, buf = columns.Append(values[:0], buf, t.columns, r)
	for i, v := range values {
		var arg any
		switch {
		case v.Null:
		case t.columns[i].Type == columns.Text:
			arg = v.Text
		case t.columns[i].Type == columns.Bool:
			arg = v.Bool
		case t.columns[i].Type == columns.Time:
			start := len(buf)
			buf = event.AppendLayout(buf, v.Time)
			arg = textOf(buf[start:])
		default:
			arg = textOf(v.JSON)
		}
		args = append(args, driver.NamedValue{Ordinal: len(args) + 1, Value: arg})
	}
	return args, values, buf
}

// textOf binds b, from the write buffer or the record, as TEXT without
// copying it here: the driver copies it into SQLite as it binds, and
// neither changes before the statement has run. Bound as []byte it would
// be a BLOB, which SQLite's JSON functions read as JSONB and reject; it
// was cast to TEXT in the statement instead, which copied every value a
// second time inside SQLite.
func textOf(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func (t *table) close() error {
	var errs []error
	for _, s := range t.stmts {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	for _, s := range t.held {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	return errors.Join(errs...)
}
