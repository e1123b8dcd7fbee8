package dbt

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	"gopkg.in/yaml.v3"
	_ "modernc.org/sqlite"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/gen/ddl"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/mysql"
	"github.com/accord-events/accord/internal/sink/postgres"
	"github.com/accord-events/accord/internal/sink/sqlite"
	"github.com/accord-events/accord/internal/testenv"
)

// The proof that the staging models and the sources' tests fit the tables
// Accord creates: the real sink creates and fills its tables from the
// fixtures on the real server; each staging model, its source() call
// rendered to the table's name as dbt renders it, runs there and returns
// the events sent; and each test in sources.yml, composed as dbt's
// not_null, unique and accepted_values macros compose it, finds no failing
// row, until a row that breaks an enum is written by hand.

var seq atomic.Int64

func unique(prefix string) string { return fmt.Sprintf("%s_%d_%d", prefix, os.Getpid(), seq.Add(1)) }

// sent is one event the test sends, and the typed table it lands in.
type sent struct {
	id, key, payload, table string
}

var events = []sent{
	{"e1", "iglu:com.acme/checkout_completed/jsonschema/1-0-0", `{"order_id":"o-1","total":10.5,"currency":"EUR","items":2,"status":1,"placed_at":"2026-12-04T10:00:00Z","ship_date":"2026-12-06","customer_id":"0b6e6a52-8f4e-4b8e-9a43-5f0e8e0e2b11","gift":true,"address":{"city":"Lyon","zip":"69001"},"tags":["a"],"order":"x"}`, "com_acme_checkout_completed_1"},
	{"e2", "iglu:com.acme/checkout_completed/jsonschema/1-0-1", `{"order_id":"o-2","total":3,"currency":"USD","address":{"city":"Paris","zip":null},"coupon":"C"}`, "com_acme_checkout_completed_1"},
	{"e3", "iglu:com.acme/checkout_completed/jsonschema/1-1-0", `{"order_id":"o-3","currency":"GBP","items":1.5,"address":{"city":"Nice"}}`, "com_acme_checkout_completed_1"},
	{"e4", "iglu:com.acme/page_view/jsonschema/1-0-0", `{"url":"https://shop.example/","title":"Home"}`, "com_acme_page_view_1"},
	{"e5", "iglu:com.acme/page_view/jsonschema/2-0-0", `{"page_url":"https://shop.example/cart","duration_ms":10}`, "com_acme_page_view_2"},
	{"e6", "iglu:select/from/jsonschema/1-0-0", `{"select":"s","Select":3,"kind":"a'b","x\"; DROP TABLE users; --":"v","{{ run_query('drop table x') }}":"j","from":{"where":true}}`, "select_from_1"},
	{"e7", "iglu:select/from/jsonschema/1-0-0", `{"select":"t","kind":"{{ x }}"}`, "select_from_1"},
}

func records(t *testing.T, cs []*contract.Contract) []*event.Envelope {
	t.Helper()
	set := contract.NewSet(cs)
	at := event.Time{Time: time.Now().UTC().Truncate(time.Millisecond)}
	var out []*event.Envelope
	for _, e := range events {
		c, err := set.Resolve(e.key)
		if err != nil {
			t.Fatal(err)
		}
		// Only events valid against their contract are good records.
		if msgs, err := c.ValidateJSON([]byte(e.payload), "/data"); err != nil || len(msgs) > 0 {
			t.Fatalf("%s is not valid against %s: %v %v", e.id, e.key, msgs, err)
		}
		out = append(out, &event.Envelope{EventID: e.id, RequestID: "r-" + e.id, CollectedAt: at, Protocol: "selfdesc", Schema: e.key,
			Vendor: c.Key.Vendor, Name: c.Key.Name, Version: c.Version, Valid: true, Payload: json.RawMessage(e.payload), Fingerprint: "f-" + e.id})
	}
	failed := &event.Envelope{EventID: "f1", RequestID: "r-f1", CollectedAt: at, Protocol: "selfdesc", Schema: "iglu:com.acme/page_view/jsonschema/1-0-0",
		Vendor: "com.acme", Name: "page_view", Version: "1-0-0", Payload: json.RawMessage(`{"title":"no url"}`), Fingerprint: "f-f1",
		Failure: &event.Failure{Type: event.SchemaViolation, Messages: []event.Message{{Message: "/data must have property url"}}}, Raw: `{"title":"no url"}`, RawEncoding: "text"}
	return append(out, failed)
}

// fill builds the sink as the application does, connects it (creating
// every typed table) and writes the records.
func fill(t *testing.T, typ sink.Type, opts sink.Options, cs []*contract.Contract) {
	t.Helper()
	s, err := typ.New(opts, sink.Deps{Logger: slog.New(slog.DiscardHandler), Contracts: contract.NewSet(cs)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if err := s.Write(ctx, records(t, cs)); err != nil {
		t.Fatal(err)
	}
}

var sourceCall = regexp.MustCompile(`\{\{ source\('([a-z_]+)', '([a-z0-9_]+)'\) \}\}`)

func strings1(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s sql.NullString
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s.String)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// proveOn runs the staging models and the sources' tests of files on db,
// where the sink of o.Dialect wrote the fixtures' events in o.Schema.
func proveOn(t *testing.T, db *sql.DB, o Options, files []File) {
	t.Helper()
	d, _ := ddl.Dialect(o.Dialect)
	relation := func(table string) string { return d.Quote(o.Schema) + "." + d.Quote(table) }
	byTable := map[string][]string{}
	for _, e := range events {
		byTable[e.table] = append(byTable[e.table], e.id)
	}
	models := 0
	for _, f := range files {
		if !strings.HasSuffix(f.Name, ".sql") {
			continue
		}
		models++
		m := sourceCall.FindStringSubmatch(string(f.Data))
		if m == nil || m[1] != o.Source {
			t.Fatalf("%s: no source() call:\n%s", f.Name, f.Data)
		}
		rendered := sourceCall.ReplaceAllString(string(f.Data), relation(m[2]))
		got := strings1(t, db, "select event_id from ("+rendered+") m order by event_id")
		if want := byTable[m[2]]; !slices.Equal(got, want) {
			t.Errorf("%s returns events %v, want %v (those sent to %s)", f.Name, got, want, m[2])
		}
	}
	if models != 4 {
		t.Errorf("%d staging models, want 4", models)
	}
	// Values as sent, through a staging model.
	stg := func(table string) string {
		for _, f := range files {
			if f.Name == "stg_"+table+".sql" {
				return "(" + sourceCall.ReplaceAllString(string(f.Data), relation(table)) + ") m"
			}
		}
		t.Fatalf("no staging model of %s", table)
		return ""
	}
	if got := strings1(t, db, "select concat(order_id, ':', address_city, ':', case when items_double is null then '-' when items_double = 2 then 'two' when items_double = 1.5 then 'one and a half' else 'other' end) from "+stg("com_acme_checkout_completed_1")+" order by event_id"); !slices.Equal(got, []string{"o-1:Lyon:two", "o-2:Paris:-", "o-3:Nice:one and a half"}) {
		t.Errorf("checkout values: %q", got)
	}
	if got := strings1(t, db, "select kind from "+stg("select_from_1")+" order by event_id"); !slices.Equal(got, []string{"a'b", "{{ x }}"}) {
		t.Errorf("hostile enum values: %v", got)
	}

	// The tests, as dbt's generic test macros write them.
	var p struct {
		Sources []struct {
			Tables []struct {
				Name    string
				Columns []struct {
					Name  string
					Tests []any `yaml:"data_tests"`
				}
			}
		}
	}
	for _, f := range files {
		if f.Name == SourcesFile {
			if err := yaml.Unmarshal(f.Data, &p); err != nil {
				t.Fatal(err)
			}
		}
	}
	failing := func(table, col string, test any) (string, string) {
		rel := relation(table)
		switch test {
		case "not_null":
			return "not_null", "select " + col + " from " + rel + " where " + col + " is null"
		case "unique":
			return "unique", "select " + col + " from " + rel + " where " + col + " is not null group by " + col + " having count(*) > 1"
		}
		av := test.(map[string]any)["accepted_values"].(map[string]any)
		quote := true
		if q, ok := av["quote"].(bool); ok {
			quote = q
		}
		var vals []string
		for _, v := range av["values"].([]any) {
			s := fmt.Sprint(v)
			// What Jinja's raw block renders to.
			s = strings.TrimSuffix(strings.TrimPrefix(s, "{% raw %}"), "{% endraw %}")
			if quote {
				s = "'" + s + "'"
			}
			vals = append(vals, s)
		}
		return "accepted_values", "select value_field from (select " + col + " as value_field, count(*) as n_records from " + rel + " group by " + col + ") all_values where value_field not in (" + strings.Join(vals, ", ") + ")"
	}
	kinds := map[string]int{}
	for _, tb := range p.Sources[0].Tables {
		for _, c := range tb.Columns {
			for _, test := range c.Tests {
				kind, q := failing(tb.Name, c.Name, test)
				kinds[kind]++
				if rows := strings1(t, db, q); len(rows) != 0 {
					t.Errorf("%s on %s.%s fails on the rows Accord wrote: %v\n%s", kind, tb.Name, c.Name, rows, q)
				}
			}
		}
	}
	if kinds["not_null"] < 20 || kinds["unique"] < 5 || kinds["accepted_values"] != 3 {
		t.Errorf("tests run: %v", kinds)
	}
	// The accepted_values test bites: a currency no version allows.
	if _, err := db.Exec("update " + relation("com_acme_checkout_completed_1") + " set currency = 'JPY' where event_id = 'e1'"); err != nil {
		t.Fatal(err)
	}
	_, q := failing("com_acme_checkout_completed_1", "currency", map[string]any{"accepted_values": map[string]any{"values": []any{"EUR", "USD", "GBP"}}})
	if rows := strings1(t, db, q); !slices.Equal(rows, []string{"JPY"}) {
		t.Errorf("accepted_values on a row with JPY found %v", rows)
	}
}

func TestStagingModelsOnPostgres(t *testing.T) {
	dsn := os.Getenv("ACCORD_TEST_POSTGRES_DSN")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		testenv.Missing(t, "PostgreSQL is unreachable: %v", err)
	}
	cs := loadFixtures(t)
	o := DefaultOptions("postgres")
	o.Schema = unique("gendbt")
	t.Cleanup(func() {
		if _, err := db.Exec("DROP SCHEMA IF EXISTS " + o.Schema + " CASCADE"); err != nil {
			t.Error(err)
		}
	})
	opts := postgres.NewOptions()
	opts.DSN, opts.Schema = dsn, o.Schema
	fill(t, postgres.Type(), opts, cs)
	proveOn(t, db, o, generate(t, o, cs))
}

func TestStagingModelsOnMySQL(t *testing.T) {
	server := os.Getenv("ACCORD_TEST_MYSQL_DSN")
	if server == "" {
		server = "root@tcp(127.0.0.1:3306)/"
	}
	db, err := sql.Open("mysql", server)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		testenv.Missing(t, "MySQL is unreachable: %v", err)
	}
	cs := loadFixtures(t)
	o := DefaultOptions("mysql")
	o.Schema = unique("gendbt")
	if _, err := db.Exec("CREATE DATABASE " + o.Schema + " CHARACTER SET utf8mb4"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec("DROP DATABASE IF EXISTS " + o.Schema); err != nil {
			t.Error(err)
		}
	})
	cfg, err := gomysql.ParseDSN(server)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DBName = o.Schema
	opts := mysql.NewOptions()
	opts.DSN = cfg.FormatDSN()
	fill(t, mysql.Type(), opts, cs)
	proveOn(t, db, o, generate(t, o, cs))
}

func TestStagingModelsOnSQLite(t *testing.T) {
	cs := loadFixtures(t)
	opts := sqlite.NewOptions()
	opts.Path = filepath.Join(t.TempDir(), "accord.db")
	fill(t, sqlite.Type(), opts, cs)
	db, err := sql.Open("sqlite", opts.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	o := DefaultOptions("sqlite")
	// SQLite has no concat() before 3.44 in every build: the check of
	// values uses it, and modernc's SQLite has it.
	proveOn(t, db, o, generate(t, o, cs))
	tables := strings1(t, db, "select name from sqlite_master where type = 'table' and name in ('events', 'failed_events') order by name")
	sort.Strings(tables)
	if !slices.Equal(tables, []string{"events", "failed_events"}) {
		t.Errorf("the sqlite sink's own tables: %v", tables)
	}
}
