package mysql

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	"paid": {"type": "boolean"},
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

// query returns the rows of q as text, NULL as <nil>.
func query(t *testing.T, opts *Options, q string, args ...any) string {
	t.Helper()
	rows, err := testDB(t, opts).QueryContext(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]*string, len(cols))
		dest := make([]any, len(cols))
		for i := range vals {
			dest[i] = &vals[i]
		}
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = "<nil>"
			if v != nil {
				row[i] = *v
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(out)
}

// TestTypedTableEvolves follows one contract through an ADDITION and a
// MODEL bump: the table is created at Connect, a column appears for the
// added property (older rows NULL), and MODEL 2 gets a table of its own.
func TestTypedTableEvolves(t *testing.T) {
	opts := testDatabase(t)
	v1 := sinktest.CompileContract(t, "iglu:com.acme/order/jsonschema/1-0-0", orderV1)
	user1 := sinktest.CompileContract(t, "iglu:com.acme/user/jsonschema/1-0-0", `"type": "object", "properties": {"id": {"type": "string"}}`)
	set := contract.NewSet([]*contract.Contract{v1, user1})
	s := openSink(t, opts, set)
	ctx := context.Background()
	if got := query(t, opts, "SELECT table_comment FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'com_acme_order_1'"); !strings.Contains(got, "owner: shop@example.com") {
		t.Errorf("table comment after Connect: %v", got)
	}
	user := event.Context{Schema: "iglu:com.acme/user/jsonschema/1-0-0", Data: json.RawMessage(`{"id":"u-1"}`)}
	if err := s.Write(ctx, []*event.Envelope{
		sqltest.Record("e1", "iglu:com.acme/order/jsonschema/1-0-0", `{"order_id":"o-1","total":12.5,"items":3,"paid":true,"at":"2026-12-04T12:11:12.5+02:00","address":{"city":"Lyon"}}`, user),
		// A context without a contract gets no column.
		sqltest.Record("e2", "iglu:com.acme/order/jsonschema/1-0-0", `{"order_id":"o-2","total":1,"paid":false,"at":"2026-12-04T10:11:12Z"}`,
			event.Context{Schema: "iglu:com.evil/x/jsonschema/1-0-0", Data: json.RawMessage(`{}`)}),
	}); err != nil {
		t.Fatal(err)
	}
	got := query(t, opts, "SELECT event_id, order_id, total, items, paid, at, address_city, contexts_com_acme_user_1 FROM com_acme_order_1 ORDER BY event_id")
	if want := `[[e1 o-1 12.5 3 1 2026-12-04T10:11:12.5Z Lyon [{"id": "u-1"}]] [e2 o-2 1 <nil> 0 2026-12-04T10:11:12Z <nil> <nil>]]`; got != want {
		t.Errorf("typed rows:\n%s\nwant\n%s", got, want)
	}
	if got := query(t, opts, "SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND column_name LIKE '%evil%'"); got != "[[0]]" {
		t.Errorf("a context without a contract got a column: %v", got)
	}

	// 1-0-1 adds an optional property: a column, older rows NULL.
	v101 := sinktest.CompileContract(t, "iglu:com.acme/order/jsonschema/1-0-1", strings.Replace(orderV1, `"items": {"type": "integer"},`, `"items": {"type": "integer"}, "coupon": {"type": "string"},`, 1))
	set.Replace([]*contract.Contract{v1, v101, user1})
	if err := s.Write(ctx, []*event.Envelope{sqltest.Record("e3", "iglu:com.acme/order/jsonschema/1-0-1", `{"order_id":"o-3","total":2,"coupon":"XMAS"}`)}); err != nil {
		t.Fatal(err)
	}
	if got := query(t, opts, "SELECT event_id, coupon FROM com_acme_order_1 ORDER BY event_id"); got != "[[e1 <nil>] [e2 <nil>] [e3 XMAS]]" {
		t.Errorf("after 1-0-1: %v", got)
	}
	if got := query(t, opts, "SELECT version, reason FROM accord_migrations WHERE statement LIKE '%ADD COLUMN `coupon`%'"); !strings.Contains(got, "1-0-1 property_added") {
		t.Errorf("the ALTER is not recorded with its reason: %v", got)
	}

	// 2-0-0: a table of its own; MODEL 1's is untouched.
	v2 := sinktest.CompileContract(t, "iglu:com.acme/order/jsonschema/2-0-0", `"type": "object", "properties": {"order_id": {"type": "integer"}}`)
	set.Replace([]*contract.Contract{v1, v101, v2, user1})
	if err := s.Write(ctx, []*event.Envelope{sqltest.Record("e4", "iglu:com.acme/order/jsonschema/2-0-0", `{"order_id":42}`)}); err != nil {
		t.Fatal(err)
	}
	if got := query(t, opts, "SELECT event_id, order_id FROM com_acme_order_2"); got != "[[e4 42]]" {
		t.Errorf("MODEL 2: %v", got)
	}
	if got := query(t, opts, "SELECT count(*) FROM com_acme_order_1"); got != "[[3]]" {
		t.Errorf("MODEL 1 table after 2-0-0: %v", got)
	}
	// Written again (at least once delivery): nothing doubles.
	if err := s.Write(ctx, []*event.Envelope{sqltest.Record("e4", "iglu:com.acme/order/jsonschema/2-0-0", `{"order_id":42}`)}); err != nil {
		t.Fatal(err)
	}
	if got := query(t, opts, "SELECT (SELECT count(*) FROM com_acme_order_2), (SELECT count(*) FROM accord_events)"); got != "[[1 4]]" {
		t.Errorf("after a batch written twice: %v", got)
	}
	steps, err := PlanTables(ctx, *opts, set)
	if err != nil || len(steps) != 0 {
		t.Errorf("plan of an up-to-date database: %v, %v", steps, err)
	}
}

// TestPoisonRow: a value a column cannot hold fails the batch with the
// server's error, permanent (delivery then finds the record and
// dead-letters it), and stores nothing of it.
func TestPoisonRow(t *testing.T) {
	opts := testDatabase(t)
	v1 := sinktest.CompileContract(t, "iglu:com.acme/order/jsonschema/1-0-0", orderV1)
	s := openSink(t, opts, contract.NewSet([]*contract.Contract{v1}))
	good := sqltest.Record("ok", "iglu:com.acme/order/jsonschema/1-0-0", `{"order_id":"o-1","total":1}`)
	for _, tc := range []struct{ name, payload, want string }{
		{"integer past bigint", `{"order_id":"o-2","total":1,"items":100000000000000000000}`, "Out of range value"},
		{"number past double", `{"order_id":"o-2","total":1e400}`, "total"},
		{"not a boolean", `{"order_id":"o-2","total":1,"paid":"yes"}`, "Incorrect integer value"},
		{"not a time", `{"order_id":"o-2","total":1,"at":"yesterday"}`, "Incorrect datetime value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Write(context.Background(), []*event.Envelope{good, sqltest.Record("poison", "iglu:com.acme/order/jsonschema/1-0-0", tc.payload)})
			var permanent *sink.PermanentError
			if !errors.As(err, &permanent) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Write with a poison row: %v; want a permanent error with %q", err, tc.want)
			}
		})
	}
	if got := query(t, opts, "SELECT count(*) FROM accord_events"); got != "[[0]]" {
		t.Errorf("a refused batch stored %v records", got)
	}
	if err := s.Write(context.Background(), []*event.Envelope{good}); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentConnect: collectors starting at once against an empty
// database take turns under GET_LOCK: one set of tables, no error.
func TestConcurrentConnect(t *testing.T) {
	opts := testDatabase(t)
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
	if got := query(t, opts, "SELECT count(*) FROM accord_migrations WHERE statement LIKE 'CREATE TABLE%'"); got != "[[3]]" {
		t.Errorf("CREATE TABLE statements run: %v, want 3 (migrations, raw, typed)", got)
	}
}

// TestPlanOnly: a write that needs DDL fails, transient, naming the
// command and the plan, and runs nothing.
func TestPlanOnly(t *testing.T) {
	opts := testDatabase(t)
	opts.Tables = TablesPlanOnly
	s := openSink(t, opts, contract.NewSet([]*contract.Contract{sinktest.CompileContract(t, "iglu:com.acme/order/jsonschema/1-0-0", orderV1)}))
	err := s.Write(context.Background(), []*event.Envelope{sqltest.Record("e1", "iglu:com.acme/order/jsonschema/1-0-0", `{"order_id":"o-1","total":1}`)})
	var ood *OutOfDateError
	var permanent *sink.PermanentError
	if !errors.As(err, &ood) || errors.As(err, &permanent) || !strings.Contains(err.Error(), "accord tables apply") || !strings.Contains(err.Error(), "CREATE TABLE `com_acme_order_1`") {
		t.Fatalf("Write to an out-of-date table: %v", err)
	}
	if got := query(t, opts, "SELECT (SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'com_acme_order_1'), (SELECT count(*) FROM accord_events)"); got != "[[0 0]]" {
		t.Errorf("plan-only ran DDL or stored the batch: %v", got)
	}
}

// TestConnectErrorHidesThePassword: /stats and logs show why a sink cannot
// connect, never the DSN's password.
func TestConnectErrorHidesThePassword(t *testing.T) {
	opts := NewOptions()
	opts.DSN = "accord:s3cret@tcp(127.0.0.1:1)/db?timeout=1s"
	s, err := New(*opts, sink.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(context.Background()); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Connect: %v; want an error without the password", err)
	}
	opts.DSN = "accord:s3cret@tcp(127.0.0.1:1/db"
	if err := opts.Validate(); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Validate of a bad DSN: %v; want an error without the password", err)
	}
}

// TestHostileNames: property names and descriptions are text a contract's
// author chose, and reach DDL and queries only as sanitised identifiers,
// quoted JSON paths and quoted literals.
func TestHostileNames(t *testing.T) {
	opts := testDatabase(t)
	body := `"type": "object", "description": "it's \"quoted\"; DROP TABLE accord_events; -- \\' ` + strings.Repeat("x", 3000) + `", "properties": {
		"a'); DROP TABLE accord_events; --": {"type": "string", "description": "x\\'); DROP TABLE accord_events; --"},
		"\"quoted\\\\\"": {"type": "integer"},
		"Ünïcode name": {"type": "boolean"},
		"select": {"type": "string"},
		"` + strings.Repeat("long", 30) + `": {"type": "string"}}`
	set := contract.NewSet([]*contract.Contract{sinktest.CompileContract(t, "iglu:com.acme/hostile/jsonschema/1-0-0", body)})
	s := openSink(t, opts, set)
	payload := `{"a'); DROP TABLE accord_events; --":"v'1","\"quoted\\\\\"":7,"Ünïcode name":true,"select":"s","` + strings.Repeat("long", 30) + `":"l"}`
	if err := s.Write(context.Background(), []*event.Envelope{sqltest.Record("h1", "iglu:com.acme/hostile/jsonschema/1-0-0", payload)}); err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, name := range []string{"a'); DROP TABLE accord_events; --", `"quoted\\"`, "Ünïcode name", "select", strings.Repeat("long", 30)} {
		cols = append(cols, quoteIdent(tables.Sanitize(Dialect{}, name)))
	}
	if got := query(t, opts, "SELECT "+strings.Join(cols, ", ")+" FROM com_acme_hostile_1"); got != "[[v'1 7 1 s l]]" {
		t.Errorf("hostile columns: %v", got)
	}
	if got := query(t, opts, "SELECT count(*) FROM accord_events"); got != "[[1]]" {
		t.Errorf("raw table: %v", got)
	}
	if got := query(t, opts, "SELECT table_comment FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'com_acme_hostile_1'"); !strings.Contains(got, `it's "quoted"; DROP TABLE accord_events; -- \'`) {
		t.Errorf("table comment: %.200s", got)
	}
	// The 3,000-character description is cut to MySQL's 2,048.
	if got := query(t, opts, "SELECT CHAR_LENGTH(table_comment), RIGHT(table_comment, 4) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'com_acme_hostile_1'"); got != "[[2048 x...]]" {
		t.Errorf("a long table comment: %v", got)
	}
}

// TestWorkedExample runs docs/sinks/mysql.md's example: the table the
// contract gives, the ALTER 1-0-1 runs, and the queries.
func TestWorkedExample(t *testing.T) {
	opts := testDatabase(t)
	const checkout = `"x-accord": {"owner": "shop@example.com", "description": "An order was placed."},
		"type": "object", "required": ["order_id", "total"], "properties": {
		"order_id": {"type": "string", "description": "The order's id."},
		"total": {"type": "number"},
		"placed_at": {"type": "string", "format": "date-time"},
		"address": {"type": "object", "properties": {"city": {"type": "string"}}}}`
	v1 := sinktest.CompileContract(t, "iglu:com.acme/checkout/jsonschema/1-0-0", checkout)
	user := sinktest.CompileContract(t, "iglu:com.acme/user/jsonschema/1-0-0", `"type": "object", "properties": {"id": {"type": "string"}}`)
	set := contract.NewSet([]*contract.Contract{v1, user})
	s := openSink(t, opts, set)
	created := query(t, opts, "SELECT statement FROM accord_migrations WHERE statement LIKE 'CREATE TABLE `com_acme_checkout_1`%'")
	for _, part := range []string{"CREATE TABLE `com_acme_checkout_1` (`event_id` VARCHAR(255) NOT NULL PRIMARY KEY, ",
		"`order_id` TEXT NOT NULL COMMENT 'The order''s id.', `placed_at` DATETIME(6) NULL, `total` DOUBLE NOT NULL, `address_city` TEXT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
		"COMMENT='Accord typed table of com.acme/checkout MODEL 1, created for 1-0-0. An order was placed. owner: shop@example.com'"} {
		if !strings.Contains(created, part) {
			t.Errorf("CREATE TABLE lacks %q:\n%s", part, created)
		}
	}
	v101 := sinktest.CompileContract(t, "iglu:com.acme/checkout/jsonschema/1-0-1", strings.Replace(checkout, `"total": {"type": "number"},`, `"total": {"type": "number"}, "coupon": {"type": "string"},`, 1))
	set.Replace([]*contract.Contract{v1, v101, user})
	ctx := context.Background()
	uc := event.Context{Schema: "iglu:com.acme/user/jsonschema/1-0-0", Data: json.RawMessage(`{"id":"u-1"}`)}
	if err := s.Write(ctx, []*event.Envelope{
		sqltest.Record("c1", "iglu:com.acme/checkout/jsonschema/1-0-0", `{"order_id":"o-1","total":10,"placed_at":"2026-12-04T09:00:00Z","address":{"city":"Lyon"}}`, uc),
		sqltest.Record("c2", "iglu:com.acme/checkout/jsonschema/1-0-1", `{"order_id":"o-2","total":5,"placed_at":"2026-12-04T11:00:00+01:00","address":{"city":"Lyon"},"coupon":"X"}`),
	}); err != nil {
		t.Fatal(err)
	}
	if got := query(t, opts, "SELECT count(*) FROM accord_migrations WHERE statement = 'ALTER TABLE `com_acme_checkout_1` ADD COLUMN `coupon` TEXT NULL'"); got != "[[1]]" {
		t.Errorf("the example's ALTER ran %v times", got)
	}
	if got := query(t, opts, "SELECT DATE(placed_at) AS day, address_city, SUM(total), COUNT(coupon) FROM com_acme_checkout_1 GROUP BY 1, 2 ORDER BY 1"); got != "[[2026-12-04T00:00:00Z Lyon 15 1]]" {
		t.Errorf("the example's query: %v", got)
	}
	if got := query(t, opts, "SELECT order_id, JSON_VALUE(contexts_com_acme_user_1, '$[0].id') AS user_id FROM com_acme_checkout_1 ORDER BY order_id"); got != "[[o-1 u-1] [o-2 <nil>]]" {
		t.Errorf("the example's context query: %v", got)
	}
	if got := query(t, opts, "SELECT failure_type, JSON_VALUE(failure, '$.messages[0].message'), raw FROM accord_events WHERE NOT valid ORDER BY collected_at DESC LIMIT 20"); got != "[]" {
		t.Errorf("the example's failed records: %v", got)
	}
}

// TestContractChangeMigratesBeforeEvents: with tables: auto, a contract
// added while the sink runs gets its table without waiting for an event.
func TestContractChangeMigratesBeforeEvents(t *testing.T) {
	opts := testDatabase(t)
	set := contract.NewSet(nil)
	openSink(t, opts, set)
	set.Replace([]*contract.Contract{sinktest.CompileContract(t, "iglu:com.acme/refund/jsonschema/1-0-0", `"type": "object", "properties": {"amount": {"type": "number"}}`)})
	check.Eventually(t, 10*time.Second, "the contract added while the sink runs has its table", func() bool {
		return query(t, opts, "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'com_acme_refund_1'") == "[[1]]"
	})
}

// TestTypedTimesInLowerCase: RFC 3339 allows a lower-case t and z, so a
// contract's date-time does; such a time is stored in UTC like any other,
// not refused by the server ("Truncated incorrect datetime value", which
// dead-lettered valid events).
func TestTypedTimesInLowerCase(t *testing.T) {
	opts := testDatabase(t)
	v1 := sinktest.CompileContract(t, sqltest.OrderKey, orderV1)
	s := openSink(t, opts, contract.NewSet([]*contract.Contract{v1}))
	if err := s.Write(context.Background(), sqltest.LowerCaseTimeRecords(t, v1)); err != nil {
		t.Fatal(err)
	}
	got := query(t, opts, "SELECT event_id, at FROM com_acme_order_1 ORDER BY event_id")
	if want := `[[l1 2026-12-04T10:11:12.5Z] [l2 2026-12-04T10:11:12.5Z] [l3 2026-12-04T10:11:12.5Z]]`; got != want {
		t.Errorf("times stored: %s, want %s", got, want)
	}
}
