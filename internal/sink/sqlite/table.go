package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/bits"
	"strings"

	"github.com/accord-events/accord/internal/event"
)

// column is one column of a records table.
type column struct {
	name string
	decl string // type and constraints
	// text columns are bound as bytes from a reused buffer and cast to
	// TEXT in the statement: bound as they are they would be BLOBs, which
	// SQLite's JSON functions read as JSONB and reject.
	text bool
}

// columns returns the columns of a records table, in the order appendArgs
// binds them. Timestamps are TEXT in event.TimeLayout, which sorts as time
// does, or NULL when unknown; nested parts are JSON text. The failed table
// adds the failure and the original input.
func columns(failed bool) []column {
	cols := []column{
		// A record without an id gets a NULL event_id, which SQLite allows in a
		// PRIMARY KEY and never counts as a duplicate, so it is kept.
		{"event_id", "TEXT PRIMARY KEY", false},
		{"request_id", "TEXT NOT NULL", false},
		{"collected_at", "TEXT", true},
		{"sent_at", "TEXT", true},
		{"created_at", "TEXT", true},
		{"event_time", "TEXT", true},
		{"protocol", "TEXT NOT NULL", false},
		{"schema", "TEXT NOT NULL", false},
		{"vendor", "TEXT NOT NULL", false},
		{"name", "TEXT NOT NULL", false},
		{"version", "TEXT NOT NULL", false},
		{"namespace", "TEXT NOT NULL", false},
		{"valid", "INTEGER NOT NULL", false},
		{"payload", "TEXT", true},
		{"contexts", "TEXT NOT NULL", true},
		{"attributes", "TEXT", true},
		{"source", "TEXT NOT NULL", true},
		{"identity", "TEXT NOT NULL", true},
		{"collector", "TEXT NOT NULL", true},
		{"fingerprint", "TEXT NOT NULL", false},
		// Added after the first release: tables created before it get the
		// column from addMissingColumns.
		{"replayed_at", "TEXT", true},
	}
	if failed {
		cols = append(cols,
			column{"failure_type", "TEXT", false},
			column{"failure", "TEXT", true},
			column{"raw", "TEXT", false},
			column{"raw_encoding", "TEXT", false},
		)
	}
	return cols
}

// span locates one encoded value in the write buffer; start < 0 is NULL.
type span struct{ start, end int }

// table is one records table and its insert statements.
type table struct {
	name    string
	failed  bool
	columns []column
	// spansPerRow is how many values encode puts in the buffer per record.
	spansPerRow int
	// stmts[k] inserts 1<<k rows; prepared when first needed.
	stmts []stmt
}

// stmt is what the sink needs of the driver's prepared statement.
type stmt interface {
	driver.Stmt
	driver.StmtExecContext
}

func newTable(ctx context.Context, conn driverConn, name string, failed bool) (*table, error) {
	t := &table{name: name, failed: failed, columns: columns(failed), spansPerRow: 9}
	if failed {
		t.spansPerRow = 10
	}
	var ddl strings.Builder
	fmt.Fprintf(&ddl, "CREATE TABLE IF NOT EXISTS %q (\n", name)
	for i, c := range t.columns {
		if i > 0 {
			ddl.WriteString(",\n")
		}
		fmt.Fprintf(&ddl, "\t%s %s", c.name, c.decl)
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
		if have[c.name] {
			continue
		}
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("ALTER TABLE %q ADD COLUMN %s TEXT", t.name, c.name), nil); err != nil {
			return fmt.Errorf("add column %s to %s: %w", c.name, t.name, err)
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
	k := bits.Len(uint(rows)) - 1
	if k < len(t.stmts) && t.stmts[k] != nil {
		return t.stmts[k], nil
	}
	ds, err := conn.PrepareContext(ctx, t.insertSQL(rows))
	if err != nil {
		return nil, fmt.Errorf("prepare insert into %s: %w", t.name, err)
	}
	stmt, ok := ds.(stmt)
	if !ok {
		ds.Close()
		return nil, fmt.Errorf("prepare insert into %s: driver statement %T lacks ExecContext", t.name, ds)
	}
	for len(t.stmts) <= k {
		t.stmts = append(t.stmts, nil)
	}
	t.stmts[k] = stmt
	return stmt, nil
}

// insertSQL returns an INSERT of rows records that skips event_ids already
// stored.
func (t *table) insertSQL(rows int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "INSERT INTO %q (", t.name)
	for i, c := range t.columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.name)
	}
	b.WriteString(") VALUES ")
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for i, c := range t.columns {
			if i > 0 {
				b.WriteString(", ")
			}
			if c.text {
				b.WriteString("CAST(? AS TEXT)")
			} else {
				b.WriteByte('?')
			}
		}
		b.WriteByte(')')
	}
	b.WriteString(" ON CONFLICT (event_id) DO NOTHING")
	return b.String()
}

// encode appends r's timestamps and nested parts to buf, noting where each
// is in spans: spansPerRow spans per record.
func (t *table) encode(buf []byte, spans []span, r *event.Envelope) ([]byte, []span) {
	for _, tm := range [...]event.Time{r.CollectedAt, r.SentAt, r.CreatedAt, r.EventTime} {
		if tm.IsZero() {
			spans = append(spans, span{-1, -1})
			continue
		}
		start := len(buf)
		buf = tm.UTC().AppendFormat(buf, event.TimeLayout)
		spans = append(spans, span{start, len(buf)})
	}
	start := len(buf)
	buf = event.AppendContexts(buf, r.Contexts)
	spans = append(spans, span{start, len(buf)})
	start = len(buf)
	buf = r.Source.AppendJSON(buf)
	spans = append(spans, span{start, len(buf)})
	start = len(buf)
	buf = r.Identity.AppendJSON(buf)
	spans = append(spans, span{start, len(buf)})
	start = len(buf)
	buf = r.Collector.AppendJSON(buf)
	spans = append(spans, span{start, len(buf)})
	if r.ReplayedAt.IsZero() {
		spans = append(spans, span{-1, -1})
	} else {
		start = len(buf)
		buf = r.ReplayedAt.UTC().AppendFormat(buf, event.TimeLayout)
		spans = append(spans, span{start, len(buf)})
	}
	if t.failed {
		if r.Failure == nil {
			spans = append(spans, span{-1, -1})
		} else {
			start = len(buf)
			buf = r.Failure.AppendJSON(buf)
			spans = append(spans, span{start, len(buf)})
		}
	}
	return buf, spans
}

// appendArgs appends the statement arguments for r, in column order, taking
// the values encode put in buf from spans.
func (t *table) appendArgs(args []driver.NamedValue, r *event.Envelope, buf []byte, spans []span) []driver.NamedValue {
	at := func(i int) any {
		sp := spans[i]
		if sp.start < 0 {
			return nil
		}
		return buf[sp.start:sp.end:sp.end]
	}
	first := len(args)
	args = appendValues(args,
		nullIfEmpty(r.EventID),
		r.RequestID,
		at(0), at(1), at(2), at(3),
		r.Protocol,
		r.Schema,
		r.Vendor,
		r.Name,
		r.Version,
		r.Namespace,
		r.Valid,
		rawJSON(r.Payload),
		at(4),
		rawJSON(r.Attributes),
		at(5), at(6), at(7),
		r.Fingerprint,
		at(8),
	)
	if t.failed {
		var failureType any
		if r.Failure != nil {
			failureType = string(r.Failure.Type)
		}
		var raw, rawEncoding any
		if r.RawEncoding != "" {
			raw, rawEncoding = r.Raw, r.RawEncoding
		}
		args = appendValues(args, failureType, at(9), raw, rawEncoding)
	}
	for i := first; i < len(args); i++ {
		args[i].Ordinal = i + 1
	}
	return args
}

// appendValues appends values as positional arguments; the caller numbers
// them.
func appendValues(args []driver.NamedValue, values ...any) []driver.NamedValue {
	for _, v := range values {
		args = append(args, driver.NamedValue{Value: v})
	}
	return args
}

// rawJSON is raw JSON as an argument: NULL when empty, bytes otherwise
// (the statement casts them to TEXT).
func rawJSON(raw []byte) any {
	if len(raw) == 0 {
		return nil
	}
	return raw
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (t *table) close() error {
	var errs []error
	for _, s := range t.stmts {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	return errors.Join(errs...)
}
