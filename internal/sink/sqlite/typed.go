package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/columns"
	"github.com/accord-events/accord/internal/sink/tables"
)

// Typed tables: besides its good and failed tables, the sink keeps each
// good record in the typed table of its contract MODEL, derived from the
// contract by internal/sink/tables (the model the postgres and mysql sinks
// use) with SQLite's Dialect, so that a quickstart database has a
// queryable table per contract.

// Dialect is SQLite's tables.Dialect. SQLite stores any value in any
// column unless told otherwise, so every typed column carries a CHECK
// constraint on its values: a value the column cannot hold fails the write
// (and goes to the dead letter) instead of being stored as whatever it is.
// The sink's own connection skips them and makes the same checks before
// each insert (typedcheck.go); they stay in the tables for every other
// writer.
type Dialect struct{}

var _ tables.Dialect = Dialect{}

var sqliteReserved = map[string]bool{}

func init() {
	// SQLite's keywords (sqlite3_keyword_name).
	for _, w := range strings.Fields(`abort action add after all alter always analyze and as asc attach autoincrement
		before begin between by cascade case cast check collate column commit conflict constraint create cross
		current current_date current_time current_timestamp database default deferrable deferred delete desc detach
		distinct do drop each else end escape except exclude exclusive exists explain fail filter first following for
		foreign from full generated glob group groups having if ignore immediate in index indexed initially inner
		insert instead intersect into is isnull join key last left like limit match materialized natural no not
		nothing notnull null nulls of offset on or order others outer over partition plan pragma preceding primary
		query raise range recursive references regexp reindex release rename replace restrict returning right
		rollback row rows savepoint select set table temp temporary then ties to transaction trigger unbounded union
		unique update using vacuum values view virtual when where window with without`) {
		sqliteReserved[w] = true
	}
}

// MaxIdentifier: SQLite has no limit; 64, as MySQL's, keeps names the same
// length everywhere.
func (Dialect) MaxIdentifier() int { return 64 }

// Reserved reports whether word is an SQLite keyword.
func (Dialect) Reserved(word string) bool { return sqliteReserved[word] }

// Quote quotes an identifier.
func (Dialect) Quote(ident string) string { return quoteIdent(ident) }

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// typedTypes are the declared types of typed columns: SQLite keeps the
// name as written (so the catalog tells the kinds apart) and gives it an
// affinity (INTEGER, REAL, NUMERIC).
var typedTypes = map[tables.Kind]string{
	tables.Text:      "TEXT",
	tables.BigInt:    "BIGINT",
	tables.Double:    "DOUBLE",
	tables.Bool:      "BOOLEAN",
	tables.Timestamp: "TIMESTAMP",
	tables.Date:      "DATE",
	tables.UUID:      "UUID",
	tables.JSON:      "JSON",
}

// ColumnType is the declared type of a kind.
func (Dialect) ColumnType(k tables.Kind) string { return typedTypes[k] }

// KindOf maps a declared type back to its kind.
func (Dialect) KindOf(t string) (tables.Kind, bool) {
	for k, name := range typedTypes {
		if strings.EqualFold(name, t) {
			return k, true
		}
	}
	return 0, false
}

// valueCheck is the constraint on a column's values: the storage class its kind
// needs, and for times, dates and UUIDs their shape.
func valueCheck(c tables.Column) string {
	q := quoteIdent(c.Name)
	switch c.Kind {
	case tables.BigInt:
		return "typeof(" + q + ") IN ('integer', 'null')"
	case tables.Double:
		return "typeof(" + q + ") IN ('real', 'integer', 'null')"
	case tables.Bool:
		return q + " IS NULL OR " + q + " IN (0, 1)"
	case tables.Timestamp:
		return q + " IS NULL OR (typeof(" + q + ") = 'text' AND julianday(" + q + ") IS NOT NULL)"
	case tables.Date:
		// date() is NULL for no date, and a NULL check passes: coalesce.
		return q + " IS NULL OR (typeof(" + q + ") = 'text' AND coalesce(date(" + q + ") = " + q + ", 0))"
	case tables.UUID:
		return q + " IS NULL OR (typeof(" + q + ") = 'text' AND length(" + q + ") = 36)"
	case tables.JSON:
		return q + " IS NULL OR json_valid(" + q + ")"
	}
	return "typeof(" + q + ") IN ('text', 'null')"
}

// event_id has no index in a typed table, and no check: the good table's
// primary key already keeps one row an id (the sink writes a typed row
// only for a good row its insert took), and a typed row's event_id is the
// good row's. An index there cost as much as the good table's own:
// trackers send random UUIDv4s, so each row's entry lands on a random page
// of the index, which SQLite writes whole to the WAL and again at the
// checkpoint. With such ids (loadgen --client-ids), dropping it doubled
// what a backlog drains at, 9,240-10,707 records/s to 19,076-20,629, and
// halved the bytes written a record (3 interleaved runs each;
// docs/performance-log.md, twelfth session). A typed table an earlier Accord
// made keeps its primary key (keyDeclBefore).
func columnDecl(d Dialect, c tables.Column) string {
	if c.Source.Envelope == columns.Key {
		return quoteIdent(c.Name) + " TEXT"
	}
	// Every other column is nullable: SQLite cannot make a column
	// nullable later without rebuilding its table.
	return quoteIdent(c.Name) + " " + d.ColumnType(c.Kind) + " CHECK (" + valueCheck(c) + ")"
}

// keyDeclBefore is how an Accord before the twelfth performance session
// declared a typed table's event_id: its primary key.
const keyDeclBefore = " TEXT PRIMARY KEY"

// CreateTable creates t, its event_id without an index (columnDecl).
// SQLite has no comments: the table's is in accord_migrations.
func (d Dialect) CreateTable(t *tables.Table) []string {
	decls := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		decls[i] = columnDecl(d, c)
	}
	return []string{"CREATE TABLE " + quoteIdent(t.Name) + " (" + strings.Join(decls, ", ") + ")"}
}

// AddColumn adds c.
func (d Dialect) AddColumn(table string, c tables.Column) []string {
	return []string{"ALTER TABLE " + quoteIdent(table) + " ADD COLUMN " + columnDecl(d, c)}
}

// DropNotNull is never needed for the tables the sink creates (every
// column but event_id is nullable); for a NOT NULL column made by hand it
// changes nothing, and a record missing the value fails there.
func (Dialect) DropNotNull(table string, c tables.Column) string {
	// A block comment, not "--": printed as a script, the statement's
	// ';' must not end up inside the comment.
	return "SELECT 1 /* " + strings.ReplaceAll(table+"."+c.Name, "*/", "* /") + " stays NOT NULL: SQLite cannot relax it in place */"
}

// typedMigrations records every DDL statement of the typed tables, with
// the contract, version and table it was for; subject deletes and
// retention find the typed tables there.
const typedMigrations = "accord_migrations"

const migrationsDDL = `CREATE TABLE IF NOT EXISTS accord_migrations (id INTEGER PRIMARY KEY, table_name TEXT NOT NULL,
	contract TEXT NOT NULL, version TEXT NOT NULL, statement TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), reason TEXT)`

// plainLabel reports whether SQLite's -> and ->> operators find the
// member called p by its name.
func plainLabel(p string) bool { return !strings.HasPrefix(p, "$") && !strings.Contains(p, `"`) }

// node is the JSON text of the value at path in the JSON base (an SQL
// expression), NULL when it is missing. A label SQLite's -> operator
// reads as a path ('$...') or cannot find (one with '"') is looked up with
// json_each instead.
func node(base string, path []string) string {
	expr := base
	for _, p := range path {
		if !plainLabel(p) {
			expr = "(SELECT CASE j.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN 'null'" +
				" WHEN 'object' THEN j.value WHEN 'array' THEN j.value ELSE json_quote(j.value) END FROM json_each(" + expr + ") j WHERE j.key = " + quoteLiteral(p) + ")"
			continue
		}
		expr = "(" + expr + " -> " + quoteLiteral(p) + ")"
	}
	return expr
}

// pathExpr is the SQL expression of the value of c, a payload property's
// column, in payload (an SQL expression of the event data's JSON text):
// what the typed inserts computed for every column before the values
// were computed in Go (typedrow.go), and still compute for the rare
// property whose name SQLite's JSON paths read in their own way
// (goLabel).
func pathExpr(c tables.Column, payload string) string {
	n := node(payload, c.Source.Path)
	// v is the value as SQL. A plain last label is read with ->> from its
	// parent in one step, rather than extracted as JSON text by -> and
	// that text parsed again by ->> '$': the same value (both operators
	// read a label the same way) at half the JSON calls.
	v := "(" + n + " ->> '$')"
	if last := len(c.Source.Path) - 1; last >= 0 && plainLabel(c.Source.Path[last]) {
		v = "(" + node(payload, c.Source.Path[:last]) + " ->> " + quoteLiteral(c.Source.Path[last]) + ")"
	}
	switch c.Kind {
	case tables.BigInt:
		// JSON allows 2.0 for an integer.
		return "CASE WHEN typeof(" + v + ") = 'real' AND " + v + " = CAST(" + v + " AS INTEGER) THEN CAST(" + v + " AS INTEGER) ELSE " + v + " END"
	case tables.Bool:
		// ->> reads JSON true as 1 and false as 0; anything else is
		// kept as it is, for the column's check to refuse.
		return v
	case tables.Timestamp:
		return timestampExpr(v)
	case tables.JSON:
		return "NULLIF(" + n + ", 'null')"
	}
	return v
}

// timestampExpr is a time column's value from v, the property's SQL
// value: in UTC, as the good table's times; a text that is no time goes
// to the column as it is, and fails its check. SQLite's own strftime
// computes it, on the value bound, so that every date form SQLite reads
// (and every one it refuses) is stored as before. upper: RFC 3339, and
// so a contract's date-time, allows a lower-case t and z, which strftime
// does not read ("2026-12-04t10:11:12z" would fail the column's check
// and dead-letter a valid event); upper changes no other letter a time
// SQLite reads has.
func timestampExpr(v string) string {
	return "COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', upper(" + v + ")), " + v + ")"
}

// planTyped plans wants against the file's catalog. With tables: auto it
// applies the plan, in a transaction of its own (SQLite's DDL is
// transactional), before the batch's: the tracker then knows tables that
// exist, whatever becomes of the batch. With tables: plan-only a plan
// with steps is a tables.OutOfDateError, transient until someone runs
// `accord tables apply`.
func (s *Sink) planTyped(ctx context.Context, wants []tables.Want) (*tables.Migration, error) {
	if s.opts.Tables == TablesPlanOnly {
		live, err := s.catalog(ctx)
		if err != nil {
			return nil, fmt.Errorf("plan typed tables: %w", err)
		}
		m, err := tables.PlanSchema(tables.SchemaPlan{Dialect: Dialect{}, Model: tables.DefaultOptions(), Live: live, LiveContextsOnly: true}, wants)
		if err != nil {
			return nil, fmt.Errorf("plan typed tables: %w", err)
		}
		if len(m.Steps) > 0 {
			return nil, &tables.OutOfDateError{Table: m.Steps[0].Table, Steps: m.Steps}
		}
		return m, nil
	}
	m, err := s.applyTyped(ctx, wants)
	if err != nil {
		return nil, err
	}
	for _, st := range m.Steps {
		s.logger.Info("sqlite sink: migrated", "table", st.Table, "contract", st.Contract, "version", st.Version, "statement", st.Statement)
	}
	return m, nil
}

// applyTyped plans wants and runs the plan in one IMMEDIATE transaction:
// a second writer on the file (another collector, accord tables apply)
// waits for it, so their DDL never races.
func (s *Sink) applyTyped(ctx context.Context, wants []tables.Want) (*tables.Migration, error) {
	nctx := context.WithoutCancel(ctx)
	if _, err := s.conn.ExecContext(nctx, "BEGIN IMMEDIATE", nil); err != nil {
		_, _ = s.conn.ExecContext(context.Background(), "ROLLBACK", nil)
		return nil, fmt.Errorf("migrate typed tables: begin: %w", err)
	}
	m, err := s.migrateTyped(nctx, wants)
	if err != nil {
		return nil, s.rollback(fmt.Errorf("migrate typed tables: %w", err))
	}
	if _, err := s.conn.ExecContext(nctx, "COMMIT", nil); err != nil {
		return nil, s.rollback(fmt.Errorf("migrate typed tables: commit: %w", err))
	}
	return m, nil
}

// watchFrom returns the channel of the next contract change, taken at
// Connect, for watch; nil without contracts or with tables: plan-only or
// off. Connect creates no typed table: each is created before the first
// batch that carries its contract's events (Tracker.Tables). Creating the
// table of every listed contract at start took minutes with 10,000
// contracts (390 MB of empty tables), holding the sink's lock, so that a
// SIGTERM in that time waited for it past shutdown_timeout.
func (s *Sink) watchFrom() <-chan struct{} {
	if s.contracts == nil || s.opts.Tables != TablesAuto {
		return nil
	}
	return s.contracts.Changed()
}

// watch brings the typed tables the file has up to the contracts whenever
// they change after changed (tables: auto), so that a bumped contract's
// new column exists before its first event; a contract without a table
// gets none until its first event. Close stops it.
func (s *Sink) watch(changed <-chan struct{}) {
	if changed == nil {
		return
	}
	s.stopWatch = tables.Watch(s.contracts, changed, func(ctx context.Context, wants []tables.Want) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed || s.conn == nil {
			return nil
		}
		live, err := s.catalog(ctx)
		if err != nil {
			return err
		}
		existing := wants[:0:0]
		for _, w := range wants {
			k := w.Contract.Key
			if live[tables.TableName(Dialect{}, k.Vendor, k.Name, k.Version.Model)] != nil {
				existing = append(existing, w)
			}
		}
		if len(existing) == 0 {
			return nil
		}
		_, err = s.planTyped(ctx, existing)
		return err
	}, func(err error) {
		s.logger.Warn("sqlite sink: migrate typed tables after a contract change; the next write tries again", "err", err)
	})
}

func (s *Sink) migrateTyped(ctx context.Context, wants []tables.Want) (*tables.Migration, error) {
	if _, err := s.conn.ExecContext(ctx, migrationsDDL, nil); err != nil {
		return nil, err
	}
	live, err := s.catalog(ctx)
	if err != nil {
		return nil, err
	}
	m, err := tables.PlanSchema(tables.SchemaPlan{Dialect: Dialect{}, Model: tables.DefaultOptions(), Live: live}, wants)
	if err != nil {
		return nil, err
	}
	for _, st := range m.Steps {
		if _, err := s.conn.ExecContext(ctx, st.Statement, nil); err != nil {
			return nil, fmt.Errorf("run %q: %w", st.Statement, err)
		}
		if _, err := s.conn.ExecContext(ctx, "INSERT INTO "+typedMigrations+" (table_name, contract, version, statement) VALUES (?, ?, ?, ?)",
			[]driver.NamedValue{{Ordinal: 1, Value: st.Table}, {Ordinal: 2, Value: st.Contract}, {Ordinal: 3, Value: st.Version}, {Ordinal: 4, Value: st.Statement}}); err != nil {
			return nil, fmt.Errorf("record migration: %w", err)
		}
	}
	return m, nil
}

// catalog reads the file's tables and their columns.
func (s *Sink) catalog(ctx context.Context) (map[string]*tables.Live, error) {
	rows, err := s.conn.QueryContext(ctx, `SELECT m.name, p.name, p.type, p."notnull" FROM sqlite_schema m, pragma_table_info(m.name) p WHERE m.type = 'table'`, nil)
	if err != nil {
		return nil, fmt.Errorf("read the catalog: %w", err)
	}
	defer rows.Close()
	live := map[string]*tables.Live{}
	dest := make([]driver.Value, 4)
	for {
		if err := rows.Next(dest); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("read the catalog: %w", err)
		}
		table, column, typ := fmt.Sprint(dest[0]), fmt.Sprint(dest[1]), fmt.Sprint(dest[2])
		notNull, _ := dest[3].(int64)
		tables.AddLive(live, table, column, tables.LiveColumn{Type: typ, Nullable: notNull == 0})
	}
	return live, nil
}

// queryStrings runs a query that returns one text column.
func (s *Sink) queryStrings(ctx context.Context, query string) ([]string, error) {
	rows, err := s.conn.QueryContext(ctx, query, nil)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	dest := make([]driver.Value, 1)
	for {
		if err := rows.Next(dest); err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprint(dest[0]))
	}
}

// maxTypedStmts bounds the statements a stmtCache keeps prepared: each
// migration of a typed table changes its insert's text, and the old one is
// not used again. A table has an insert for each number of rows (1, 2, 4
// ... 32), so past the bound one statement is dropped for each one
// prepared, rather than all of them: a collector writing to more typed
// tables than fit prepares the statement it lacks, not every one again.
const maxTypedStmts = 256

// stmtCache is prepared statements of one connection by their text, at
// most maxTypedStmts of them: the typed inserts of the writing connection
// (Sink.typedStmts), and those of the checker's copies of the tables
// (Sink.checkerStmts). A typed insert is long (an expression per column),
// and parsing it for every write was about a tenth of a write's CPU.
// SQLite prepares a statement again by itself when a table it reads
// changes.
type stmtCache map[string]stmt

// prepared returns the statement q of conn, preparing it when it is not
// cached; past the bound it drops any one (map order) first.
func (c *stmtCache) prepared(ctx context.Context, conn driverConn, q string) (stmt, error) {
	if st, ok := (*c)[q]; ok {
		return st, nil
	}
	if len(*c) >= maxTypedStmts {
		for old := range *c {
			c.drop(old)
			break
		}
	}
	st, err := prepareAs[stmt](ctx, conn, q)
	if err != nil {
		return nil, err
	}
	if *c == nil {
		*c = stmtCache{}
	}
	(*c)[q] = st
	return st, nil
}

// drop closes and forgets the statement q.
func (c stmtCache) drop(q string) {
	if st, ok := c[q]; ok {
		st.Close()
		delete(c, q)
	}
}

// close closes and forgets every statement.
func (c stmtCache) close() error {
	var errs []error
	for q, st := range c {
		errs = append(errs, st.Close())
		delete(c, q)
	}
	return errors.Join(errs...)
}

// classify marks a value a typed column's check refuses permanent, so
// that delivery finds the record and dead-letters it.
func classify(err error) error {
	var se interface{ Code() int }               // *sqliteError, or the driver's *sqlite.Error
	if errors.As(err, &se) && se.Code() == 275 { // SQLITE_CONSTRAINT_CHECK
		return &sink.PermanentError{Err: err}
	}
	return err
}

// typedTableNames is every typed table the file holds, from the
// migrations record; none when it has none.
func typedTableNames(ctx context.Context, query func(ctx context.Context, q string) ([]string, error)) ([]string, error) {
	names, err := query(ctx, "SELECT DISTINCT table_name FROM "+typedMigrations+" WHERE table_name IN (SELECT name FROM sqlite_schema WHERE type = 'table') ORDER BY table_name")
	if err != nil && strings.Contains(err.Error(), "no such table") {
		return nil, nil
	}
	return names, err
}

// PlanTables returns the DDL that would bring the typed tables of the
// file opts names up to the contracts cs lists, changing nothing: the file
// is opened read-only, and one that does not exist yet is an empty
// catalog. This is what `accord tables plan` shows.
func PlanTables(ctx context.Context, opts Options, cs tables.Lister) ([]tables.Step, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	live := map[string]*tables.Live{}
	if _, err := os.Stat(opts.Path); err == nil {
		c, err := openDSN(opts.Path, readerURI(opts.Path, "ro", opts.BusyTimeout))
		if err != nil {
			return nil, err
		}
		defer c.Close()
		if live, err = (&Sink{conn: c}).catalog(ctx); err != nil {
			return nil, fmt.Errorf("sqlite database %s: %w", opts.Path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("sqlite database %s: %w", opts.Path, err)
	}
	m, err := tables.PlanSchema(tables.SchemaPlan{Dialect: Dialect{}, Model: tables.DefaultOptions(), Live: live}, wantsFor(opts, cs))
	if err != nil {
		return nil, err
	}
	return m.Steps, nil
}

// ApplyTables runs the DDL PlanTables returns, recording each statement
// in accord_migrations, and returns what it ran; the file is created when
// missing. It is `accord tables apply` for a sink with tables: plan-only
// (one in auto mode runs the same plan itself).
func ApplyTables(ctx context.Context, opts Options, cs tables.Lister) ([]tables.Step, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if dir := filepath.Dir(opts.Path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create directory for sqlite database %s: %w", opts.Path, err)
		}
	}
	// The collector's own writing connection, so that the DDL runs as the
	// sink would run it.
	c, err := openRaw(opts.Path, writerPragmas(opts))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	m, err := (&Sink{conn: c, opts: opts}).applyTyped(ctx, wantsFor(opts, cs))
	if err != nil {
		return nil, fmt.Errorf("sqlite database %s: %w", opts.Path, err)
	}
	return m.Steps, nil
}

// wantsFor is every typed table of cs's contracts; none with tables: off.
func wantsFor(opts Options, cs tables.Lister) []tables.Want {
	if opts.Tables == TablesOff {
		return nil
	}
	return tables.WantsOf(cs.Contracts())
}
