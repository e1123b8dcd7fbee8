package ddl

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/mysql"
	"github.com/accord-events/accord/internal/sink/postgres"
	"github.com/accord-events/accord/internal/sink/sqlite"
	"github.com/accord-events/accord/internal/sink/tables"
	"github.com/accord-events/accord/internal/testenv"
)

// The proof that gen sql and the sinks agree: the real sink creates its
// typed tables for the fixtures on the real server, gen sql's script runs
// on the same server in a schema of its own, and the two catalogs must
// hold the same tables with the same columns (names, types, nullability,
// comments), in the same order.

var seq atomic.Int64

func unique(prefix string) string {
	return fmt.Sprintf("%s_%d_%d", prefix, os.Getpid(), seq.Add(1))
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// typedTables is the typed tables the fixtures get, from the plan.
func typedTables(t *testing.T, d tables.Dialect, cs []*contract.Contract) []string {
	t.Helper()
	m, err := Plan(d, cs, tables.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range m.Steps {
		if !slices.Contains(names, s.Table) {
			names = append(names, s.Table)
		}
	}
	if len(names) != 4 {
		t.Fatalf("typed tables %v, want the 4 of the fixtures' object contracts", names)
	}
	return names
}

// connectSink builds a sink of typ as the application does, with the
// fixtures as the collector's contracts, connects it (tables: auto
// creates every typed table) and closes it.
func connectSink(t *testing.T, typ sink.Type, opts sink.Options, cs []*contract.Contract) {
	t.Helper()
	s, err := typ.New(opts, sink.Deps{Logger: discard(), Contracts: contract.NewSet(cs)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func sameCatalog(t *testing.T, what string, sinkRows, genRows []string) {
	t.Helper()
	if len(sinkRows) < 4*20 {
		t.Fatalf("%s: only %d columns in the sink's typed tables", what, len(sinkRows))
	}
	if !slices.Equal(sinkRows, genRows) {
		for i := 0; i < max(len(sinkRows), len(genRows)); i++ {
			var a, b string
			if i < len(sinkRows) {
				a = sinkRows[i]
			}
			if i < len(genRows) {
				b = genRows[i]
			}
			if a != b {
				t.Errorf("%s, column %d:\n  sink:    %s\n  gen sql: %s", what, i, a, b)
			}
		}
	}
}

func hostileDescription(t *testing.T, cs []*contract.Contract) string {
	t.Helper()
	for _, c := range cs {
		if c.Key.Vendor == "select" {
			doc := string(c.Document)
			if !strings.Contains(doc, "gen_injected") {
				t.Fatal("the hostile fixture lost its description")
			}
		}
	}
	return "'); DROP TABLE gen_injected; -- and \\'; DROP TABLE gen_injected; -- and `backticks` and \"quotes\" and a trailing backslash \\"
}

func TestSameColumnsAsPostgresSink(t *testing.T) {
	dsn := os.Getenv("ACCORD_TEST_POSTGRES_DSN")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		testenv.Missing(t, "PostgreSQL is unreachable: %v", err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	cs := loadFixtures(t)
	sinkSchema, genSchema := unique("gensql_sink"), unique("gensql_gen")
	t.Cleanup(func() {
		for _, s := range []string{sinkSchema, genSchema} {
			if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+postgres.Dialect{}.Quote(s)+" CASCADE"); err != nil {
				t.Error(err)
			}
		}
	})
	opts := postgres.NewOptions()
	opts.DSN, opts.Schema = dsn, sinkSchema
	connectSink(t, postgres.Type(), opts, cs)

	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+genSchema+"; SET search_path TO "+genSchema); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, string(generate(t, "postgres", cs))); err != nil {
		t.Fatalf("gen sql's postgres script on the server: %v", err)
	}
	names := typedTables(t, postgres.Dialect{}, cs)
	catalog := func(schema string) []string {
		rows, err := conn.Query(ctx, `SELECT c.table_name || '.' || c.column_name || ' ' || c.data_type || ' nullable=' || c.is_nullable
			  || ' comment=' || coalesce(col_description(format('%I.%I', c.table_schema, c.table_name)::regclass, c.ordinal_position), '<none>')
			FROM information_schema.columns c WHERE c.table_schema = $1 AND c.table_name = ANY($2)
			ORDER BY c.table_name, c.ordinal_position`, schema, names)
		if err != nil {
			t.Fatal(err)
		}
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	sinkRows := catalog(sinkSchema)
	sameCatalog(t, "postgres", sinkRows, catalog(genSchema))
	want := "select_from_1.x___drop_table_users____ text nullable=YES comment=" + hostileDescription(t, cs)
	if !slices.Contains(sinkRows, want) {
		t.Errorf("the hostile description did not round-trip; want %q among the columns", want)
	}
	var injected bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", genSchema+".gen_injected").Scan(&injected); err != nil || injected {
		t.Errorf("gen_injected: %v %v", injected, err)
	}
	var comment string
	if err := conn.QueryRow(ctx, "SELECT obj_description(to_regclass($1), 'pg_class')", genSchema+".select_from_1").Scan(&comment); err != nil || !strings.Contains(comment, "DROP SCHEMA public CASCADE; -- {{ log('x') }}") {
		t.Errorf("table comment of select_from_1: %q %v", comment, err)
	}
}

func TestSameColumnsAsMySQLSink(t *testing.T) {
	server := os.Getenv("ACCORD_TEST_MYSQL_DSN")
	if server == "" {
		server = "root@tcp(127.0.0.1:3306)/"
	}
	db, err := sql.Open("mysql", server)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	if err := db.PingContext(ctx); err != nil {
		testenv.Missing(t, "MySQL is unreachable: %v", err)
	}
	cs := loadFixtures(t)
	sinkDB, genDB := unique("gensql_sink"), unique("gensql_gen")
	for _, name := range []string{sinkDB, genDB} {
		if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
				t.Error(err)
			}
		})
	}
	dsn := func(name string, multi bool) string {
		cfg, err := gomysql.ParseDSN(server)
		if err != nil {
			t.Fatal(err)
		}
		cfg.DBName, cfg.MultiStatements = name, multi
		return cfg.FormatDSN()
	}
	opts := mysql.NewOptions()
	opts.DSN = dsn(sinkDB, false)
	connectSink(t, mysql.Type(), opts, cs)

	// The script runs in a session of the server's default sql_mode: its
	// own SET gives it the sink's, which its literals need.
	gen, err := sql.Open("mysql", dsn(genDB, true))
	if err != nil {
		t.Fatal(err)
	}
	defer gen.Close()
	if _, err := gen.ExecContext(ctx, string(generate(t, "mysql", cs))); err != nil {
		t.Fatalf("gen sql's mysql script on the server: %v", err)
	}
	names := typedTables(t, mysql.Dialect{}, cs)
	catalog := func(schema string) []string {
		rows, err := db.QueryContext(ctx, `SELECT CONCAT(table_name, '.', column_name, ' ', column_type, ' nullable=', is_nullable, ' key=', column_key, ' comment=', column_comment)
			FROM information_schema.columns WHERE table_schema = ? AND table_name IN (?, ?, ?, ?)
			ORDER BY table_name, ordinal_position`, schema, names[0], names[1], names[2], names[3])
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	sinkRows := catalog(sinkDB)
	sameCatalog(t, "mysql", sinkRows, catalog(genDB))
	want := "select_from_1.x___drop_table_users____ text nullable=YES key= comment=" + hostileDescription(t, cs)
	if !slices.Contains(sinkRows, want) {
		t.Errorf("the hostile description did not round-trip; want %q among the columns", want)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'gen_injected'").Scan(&n); err != nil || n != 0 {
		t.Errorf("gen_injected tables: %d %v", n, err)
	}
}

func TestSameTablesAsSQLiteSink(t *testing.T) {
	cs := loadFixtures(t)
	dir := t.TempDir()
	opts := sqlite.NewOptions()
	opts.Path = filepath.Join(dir, "sink.db")
	// The sink makes a contract's typed table with its first event (not at
	// Connect); ApplyTables runs the same statements (the sink's
	// applyTyped) for every contract at once, as accord tables apply does.
	if _, err := sqlite.ApplyTables(context.Background(), *opts, contract.NewSet(cs)); err != nil {
		t.Fatal(err)
	}

	gen, err := sql.Open("sqlite", filepath.Join(dir, "gen.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer gen.Close()
	ctx := context.Background()
	if _, err := gen.ExecContext(ctx, string(generate(t, "sqlite", cs))); err != nil {
		t.Fatalf("gen sql's sqlite script: %v", err)
	}
	sinkDB, err := sql.Open("sqlite", opts.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer sinkDB.Close()
	names := typedTables(t, sqlite.Dialect{}, cs)
	// The whole definition as SQLite keeps it (CHECK constraints too),
	// and each column as table_info reports it.
	catalog := func(db *sql.DB) []string {
		var out []string
		for _, name := range names {
			var def string
			if err := db.QueryRowContext(ctx, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", name).Scan(&def); err != nil {
				t.Fatalf("table %s: %v", name, err)
			}
			out = append(out, name+": "+def)
			rows, err := db.QueryContext(ctx, "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?)", name)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var col, typ string
				var notNull, pk int
				if err := rows.Scan(&col, &typ, &notNull, &pk); err != nil {
					t.Fatal(err)
				}
				out = append(out, fmt.Sprintf("%s.%s %s notnull=%d pk=%d", name, col, typ, notNull, pk))
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			rows.Close()
		}
		return out
	}
	sameCatalog(t, "sqlite", catalog(sinkDB), catalog(gen))
}
