package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/sinktest"
	"github.com/accord-events/accord/internal/sink/sqltest"
	"github.com/accord-events/accord/internal/sink/tables"
)

const orderV1 = `"description": "An order was placed.", "x-accord": {"owner": "shop@example.com"},
	"type": "object", "required": ["order_id", "total"], "properties": {
	"order_id": {"type": "string", "description": "The order's id."},
	"total": {"type": "number"},
	"items": {"type": "integer"},
	"at": {"type": "string", "format": "date-time"},
	"address": {"type": "object", "properties": {"city": {"type": "string"}}}}`

func openSink(t *testing.T, opts *Options, cs sink.Contracts) *Sink {
	t.Helper()
	s, err := New(*opts, sink.Deps{Contracts: cs})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

func query(t *testing.T, opts *Options, q string, args ...any) [][]any {
	t.Helper()
	conn := testConn(t)
	if _, err := conn.Exec(context.Background(), "SET search_path TO "+quoteIdent(opts.Schema)); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func show(rows [][]any) string { return fmt.Sprint(rows) }

// TestTypedTableEvolves follows one contract through an ADDITION and a
// MODEL bump: the table is created at Connect, a column appears for the
// added property (older rows NULL), and MODEL 2 gets a table of its own.
func TestTypedTableEvolves(t *testing.T) {
	opts := testSchema(t)
	v1 := sinktest.CompileContract(t, "iglu:com.acme/order/jsonschema/1-0-0", orderV1)
	user1 := sinktest.CompileContract(t, "iglu:com.acme/user/jsonschema/1-0-0", `"type": "object", "properties": {"id": {"type": "string"}}`)
	set := contract.NewSet([]*contract.Contract{v1, user1})
	s := openSink(t, opts, set)
	ctx := context.Background()

	if got := query(t, opts, "SELECT obj_description(to_regclass('com_acme_order_1'), 'pg_class')"); !strings.Contains(show(got), "owner: shop@example.com") {
		t.Errorf("table comment after Connect: %v", got)
	}
	user := event.Context{Schema: "iglu:com.acme/user/jsonschema/1-0-0", Data: json.RawMessage(`{"id":"u-1"}`)}
	if err := s.Write(ctx, []*event.Envelope{
		sqltest.Record("e1", "iglu:com.acme/order/jsonschema/1-0-0", `{"order_id":"o-1","total":12.5,"items":3,"at":"2026-12-04T10:11:12Z","address":{"city":"Lyon"}}`, user),
		// A context without a contract (kept under unknown_contexts)
		// gets no column: its client chose its name.
		sqltest.Record("e2", "iglu:com.acme/order/jsonschema/1-0-0", `{"order_id":"o-2","total":1}`,
			event.Context{Schema: "iglu:com.evil/x/jsonschema/1-0-0", Data: json.RawMessage(`{}`)}),
	}); err != nil {
		t.Fatal(err)
	}
	got := query(t, opts, `SELECT event_id, order_id, total, items, at = '2026-12-04T10:11:12Z'::timestamptz, address_city, contexts_com_acme_user_1::text FROM com_acme_order_1 ORDER BY event_id`)
	if want := "[[e1 o-1 12.5 3 true Lyon [{\"id\": \"u-1\"}]] [e2 o-2 1 <nil> <nil> <nil> <nil>]]"; show(got) != want {
		t.Errorf("typed rows:\n%s\nwant\n%s", show(got), want)
	}
	if got := query(t, opts, "SELECT count(*) FROM information_schema.columns WHERE table_schema = $1 AND column_name LIKE '%evil%'", opts.Schema); show(got) != "[[0]]" {
		t.Errorf("a context without a contract got a column: %v", got)
	}
	if got := query(t, opts, "SELECT col_description(to_regclass('com_acme_order_1'), attnum) FROM pg_attribute WHERE attrelid = to_regclass('com_acme_order_1') AND attname = 'order_id'"); show(got) != "[[The order's id.]]" {
		t.Errorf("column comment: %v", got)
	}

	// 1-0-1 adds an optional property.
	v101 := sinktest.CompileContract(t, "iglu:com.acme/order/jsonschema/1-0-1", strings.Replace(orderV1, `"items": {"type": "integer"},`, `"items": {"type": "integer"}, "gift": {"type": "boolean"},`, 1))
	set.Replace([]*contract.Contract{v1, v101, user1})
	if err := s.Write(ctx, []*event.Envelope{sqltest.Record("e3", "iglu:com.acme/order/jsonschema/1-0-1", `{"order_id":"o-3","total":2,"gift":true}`)}); err != nil {
		t.Fatal(err)
	}
	if got := query(t, opts, "SELECT event_id, gift FROM com_acme_order_1 ORDER BY event_id"); show(got) != "[[e1 <nil>] [e2 <nil>] [e3 true]]" {
		t.Errorf("after 1-0-1: %v", got)
	}

	// 2-0-0: a table of its own; MODEL 1's is untouched.
	v2 := sinktest.CompileContract(t, "iglu:com.acme/order/jsonschema/2-0-0", `"type": "object", "properties": {"order_id": {"type": "integer"}}`)
	set.Replace([]*contract.Contract{v1, v101, v2, user1})
	if err := s.Write(ctx, []*event.Envelope{sqltest.Record("e4", "iglu:com.acme/order/jsonschema/2-0-0", `{"order_id":7}`)}); err != nil {
		t.Fatal(err)
	}
	if got := query(t, opts, "SELECT event_id, order_id FROM com_acme_order_2"); show(got) != "[[e4 7]]" {
		t.Errorf("MODEL 2 table: %v", got)
	}
	if got := query(t, opts, "SELECT count(*), count(*) FILTER (WHERE event_id = 'e4') FROM com_acme_order_1"); show(got) != "[[3 0]]" {
		t.Errorf("MODEL 1 table after 2-0-0: %v", got)
	}
	// Every record is in the raw table.
	if got := query(t, opts, "SELECT count(*) FROM accord_events"); show(got) != "[[4]]" {
		t.Errorf("raw table: %v", got)
	}
	// Every DDL statement is recorded with its contract and version.
	got = query(t, opts, "SELECT contract, version, statement FROM accord_migrations WHERE statement LIKE 'ALTER%' OR statement LIKE 'CREATE TABLE \"com%' ORDER BY id")
	want := `[[com.acme/order/1 1-0-0 CREATE TABLE "com_acme_order_1" (`
	if !strings.HasPrefix(show(got), want) || !strings.Contains(show(got), `com.acme/order/1 1-0-0 ALTER TABLE "com_acme_order_1" ADD COLUMN "contexts_com_acme_user_1" jsonb`) ||
		!strings.Contains(show(got), `com.acme/order/1 1-0-1 ALTER TABLE "com_acme_order_1" ADD COLUMN "gift" boolean`) ||
		!strings.Contains(show(got), `com.acme/order/2 2-0-0 CREATE TABLE "com_acme_order_2"`) {
		t.Errorf("migrations:\n%v", got)
	}
	// The migration says why, from the compatibility diff of 1-0-0 and 1-0-1.
	if got := query(t, opts, "SELECT reason FROM accord_migrations WHERE statement LIKE '%ADD COLUMN \"gift\"%'"); !strings.Contains(show(got), "property_added_") || !strings.Contains(show(got), "gift") {
		t.Errorf("reason of the gift column: %v", got)
	}
	// A sink started again finds nothing to do.
	before := query(t, opts, "SELECT count(*) FROM accord_migrations")
	s2 := openSink(t, opts, set)
	if err := s2.Write(ctx, []*event.Envelope{sqltest.Record("e1", "iglu:com.acme/order/jsonschema/1-0-0", `{"order_id":"o-1","total":12.5}`, user)}); err != nil {
		t.Fatal(err)
	}
	if after := query(t, opts, "SELECT count(*) FROM accord_migrations"); show(after) != show(before) {
		t.Errorf("a restart ran DDL: %v migrations, then %v", before, after)
	}
}

// TestPoisonRow: a value its column cannot hold fails the write as
// permanent, with PostgreSQL's error, and nothing of the batch is stored;
// delivery then halves the batch down to the record.
func TestPoisonRow(t *testing.T) {
	opts := testSchema(t)
	v1 := sinktest.CompileContract(t, "iglu:com.acme/order/jsonschema/1-0-0", orderV1)
	s := openSink(t, opts, contract.NewSet([]*contract.Contract{v1}))
	good := sqltest.Record("ok", "iglu:com.acme/order/jsonschema/1-0-0", `{"order_id":"o-1","total":1}`)
	for _, tc := range []struct{ name, payload, want string }{
		{"integer past bigint", `{"order_id":"o-2","total":1,"items":100000000000000000000}`, "bigint out of range"},
		{"number past double", `{"order_id":"o-2","total":1e400}`, "out of range"},
		{"NUL in a string", `{"order_id":"o\u0000","total":1}`, "unsupported Unicode escape sequence"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Write(context.Background(), []*event.Envelope{good, sqltest.Record("poison", "iglu:com.acme/order/jsonschema/1-0-0", tc.payload)})
			var permanent *sink.PermanentError
			if !errors.As(err, &permanent) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Write with a poison row: %v; want a permanent error with %q", err, tc.want)
			}
		})
	}
	if got := query(t, opts, "SELECT count(*) FROM accord_events"); show(got) != "[[0]]" {
		t.Errorf("a refused batch stored %v records", got)
	}
	if err := s.Write(context.Background(), []*event.Envelope{good}); err != nil {
		t.Fatal(err)
	}
}

// TestEventIDTooLongForTheIndex: anyone can name an event's id, and a few
// KB of id that does not compress is more than a btree index entry holds
// (program_limit_exceeded, 54000). That is the record's fault, not the
// database's: permanent, so that delivery dead-letters the record instead
// of retrying its batch for ever while the spool fills behind it.
func TestEventIDTooLongForTheIndex(t *testing.T) {
	opts := testSchema(t)
	s := openSink(t, opts, contract.NewSet(nil))
	var id strings.Builder
	for i := 0; id.Len() < 9000; i++ {
		fmt.Fprintf(&id, "%x", sha256.Sum256([]byte(strconv.Itoa(i))))
	}
	good := sqltest.Record("ok", "iglu:com.acme/order/jsonschema/1-0-0", `{"order_id":"o-1","total":1}`)
	long := sqltest.Record(id.String(), "iglu:com.acme/order/jsonschema/1-0-0", `{"order_id":"o-2","total":1}`)
	err := s.Write(context.Background(), []*event.Envelope{good, long})
	var permanent *sink.PermanentError
	if !errors.As(err, &permanent) {
		t.Fatalf("Write of an event id of %d bytes: %v; want a permanent error", id.Len(), err)
	}
	if err := s.Write(context.Background(), []*event.Envelope{good}); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentConnect: collectors starting at once against an empty
// schema take turns under the advisory lock: one set of tables, no error.
func TestConcurrentConnect(t *testing.T) {
	opts := testSchema(t)
	set := contract.NewSet([]*contract.Contract{sinktest.CompileContract(t, "iglu:com.acme/order/jsonschema/1-0-0", orderV1)})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			s, err := New(*opts, sink.Deps{Contracts: set})
			if err == nil {
				err = s.Connect(context.Background())
				if err == nil {
					err = s.Write(context.Background(), []*event.Envelope{sqltest.Record("e1", "iglu:com.acme/order/jsonschema/1-0-0", `{"order_id":"o-1","total":1}`)})
				}
				_ = s.Close(context.Background())
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := query(t, opts, "SELECT count(*) FROM accord_migrations WHERE statement LIKE 'CREATE TABLE%'"); show(got) != "[[3]]" {
		t.Errorf("CREATE TABLE statements run: %v, want 3 (migrations, raw, typed)", got)
	}
}

// TestPlanOnly: a write that needs DDL fails, transient, naming the
// command and the plan, and runs nothing.
func TestPlanOnly(t *testing.T) {
	opts := testSchema(t)
	opts.Tables = TablesPlanOnly
	s := openSink(t, opts, contract.NewSet([]*contract.Contract{sinktest.CompileContract(t, "iglu:com.acme/order/jsonschema/1-0-0", orderV1)}))
	err := s.Write(context.Background(), []*event.Envelope{sqltest.Record("e1", "iglu:com.acme/order/jsonschema/1-0-0", `{"order_id":"o-1","total":1}`)})
	var ood *OutOfDateError
	var permanent *sink.PermanentError
	if !errors.As(err, &ood) || errors.As(err, &permanent) || !strings.Contains(err.Error(), "accord tables apply") || !strings.Contains(err.Error(), `CREATE TABLE "com_acme_order_1"`) {
		t.Fatalf("Write to an out-of-date table: %v", err)
	}
	if got := query(t, opts, "SELECT to_regclass('com_acme_order_1') IS NULL, (SELECT count(*) FROM accord_events)"); show(got) != "[[true 0]]" {
		t.Errorf("plan-only ran DDL or stored the batch: %v", got)
	}
}

// TestReservedWordsMatchTheServer holds the dialect's list to the server's.
func TestReservedWordsMatchTheServer(t *testing.T) {
	opts := testSchema(t)
	rows := query(t, opts, "SELECT word FROM pg_get_keywords() WHERE catcode IN ('R', 'T') ORDER BY word")
	server := map[string]bool{}
	for _, r := range rows {
		w := r[0].(string)
		server[w] = true
		if !reserved[w] {
			t.Errorf("the server reserves %q; add it to the dialect's list", w)
		}
	}
	for w := range reserved {
		if !server[w] {
			t.Logf("%q is reserved in another PostgreSQL version, not this one", w)
		}
	}
}

// TestConnectErrorHidesThePassword: /stats and logs show why a sink cannot
// connect, never the DSN's password.
func TestConnectErrorHidesThePassword(t *testing.T) {
	for _, dsn := range []string{"postgres://accord:s3cret@127.0.0.1:1/db?connect_timeout=1", "host=127.0.0.1 port=1 user=accord password=s3cret connect_timeout=1"} {
		opts := NewOptions()
		opts.DSN = dsn
		s, err := New(*opts, sink.Deps{})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Connect(context.Background())
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Connect to %q: %v; want an error without the password", dsn, err)
		}
	}
	opts := NewOptions()
	opts.DSN = "postgres://accord:s3cret@[bad"
	if err := opts.Validate(); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Validate of a bad DSN: %v; want an error without the password", err)
	}
}

// TestContractChangeMigratesBeforeEvents: with tables: auto, a contract
// added while the sink runs gets its table without waiting for an event.
func TestContractChangeMigratesBeforeEvents(t *testing.T) {
	opts := testSchema(t)
	v1 := sinktest.CompileContract(t, "iglu:com.acme/order/jsonschema/1-0-0", orderV1)
	set := contract.NewSet(nil)
	openSink(t, opts, set)
	set.Replace([]*contract.Contract{v1, sinktest.CompileContract(t, "iglu:com.acme/refund/jsonschema/1-0-0", `"type": "object", "properties": {"amount": {"type": "number"}}`)})
	check.Eventually(t, 10*time.Second, "the contract added while the sink runs has its table", func() bool {
		return show(query(t, opts, "SELECT to_regclass('com_acme_refund_1') IS NOT NULL")) == "[[true]]"
	})
}

// TestHostileNames: property names and descriptions are text a contract's
// author chose, and reach DDL and queries only as sanitised identifiers and
// quoted literals.
func TestHostileNames(t *testing.T) {
	opts := testSchema(t)
	body := `"type": "object", "description": "it's \"quoted\"; DROP TABLE accord_events; --", "properties": {
		"a'); DROP TABLE accord_events; --": {"type": "string", "description": "x'); DROP TABLE accord_events; --"},
		"\"quoted\"": {"type": "integer"},
		"Ünïcode name": {"type": "boolean"},
		"select": {"type": "string"},
		"` + strings.Repeat("long", 30) + `": {"type": "string"}}`
	set := contract.NewSet([]*contract.Contract{sinktest.CompileContract(t, "iglu:com.acme/hostile/jsonschema/1-0-0", body)})
	s := openSink(t, opts, set)
	payload := `{"a'); DROP TABLE accord_events; --":"v'1","\"quoted\"":7,"Ünïcode name":true,"select":"s","` + strings.Repeat("long", 30) + `":"l"}`
	if err := s.Write(context.Background(), []*event.Envelope{sqltest.Record("h1", "iglu:com.acme/hostile/jsonschema/1-0-0", payload)}); err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, name := range []string{"a'); DROP TABLE accord_events; --", `"quoted"`, "Ünïcode name", "select", strings.Repeat("long", 30)} {
		cols = append(cols, quoteIdent(tables.Sanitize(Dialect{}, name)))
	}
	got := query(t, opts, "SELECT "+strings.Join(cols, ", ")+" FROM com_acme_hostile_1")
	if show(got) != "[[v'1 7 true s l]]" {
		t.Errorf("hostile columns: %v", got)
	}
	if got := query(t, opts, "SELECT count(*) FROM accord_events"); show(got) != "[[1]]" {
		t.Errorf("raw table: %v", got)
	}
	if got := query(t, opts, "SELECT obj_description(to_regclass('com_acme_hostile_1'), 'pg_class')"); !strings.Contains(show(got), `it's "quoted"; DROP TABLE accord_events; --`) {
		t.Errorf("table comment: %v", got)
	}
}

// TestTypedTimesInLowerCase: RFC 3339 allows a lower-case t and z, so a
// contract's date-time does; such a time is stored like any other (the
// SQLite and MySQL sinks refused it once, dead-lettering valid events).
func TestTypedTimesInLowerCase(t *testing.T) {
	opts := testSchema(t)
	v1 := sinktest.CompileContract(t, sqltest.OrderKey, orderV1)
	s := openSink(t, opts, contract.NewSet([]*contract.Contract{v1}))
	if err := s.Write(context.Background(), sqltest.LowerCaseTimeRecords(t, v1)); err != nil {
		t.Fatal(err)
	}
	got := query(t, opts, `SELECT event_id, at = '2026-12-04T10:11:12.5Z'::timestamptz FROM com_acme_order_1 ORDER BY event_id`)
	if show(got) != "[[l1 true] [l2 true] [l3 true]]" {
		t.Errorf("times stored: %s", show(got))
	}
}
