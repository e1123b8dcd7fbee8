package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"weak"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/columns"
	"github.com/accord-events/accord/internal/sink/sinktest"
	"github.com/accord-events/accord/internal/sink/tables"
)

const typedOrder = `"type": "object", "required": ["order_id", "total"], "properties": {
	"order_id": {"type": "string"}, "total": {"type": "number"}, "items": {"type": "integer"},
	"paid": {"type": "boolean"}, "placed_at": {"type": "string", "format": "date-time"},
	"ship_on": {"type": "string", "format": "date"}, "tags": {"type": "array"},
	"address": {"type": "object", "properties": {"city": {"type": "string"}}}}`

func typedRecord(id, key, payload string, contexts ...event.Context) *event.Envelope {
	k, _ := contract.ParseKey(key)
	at := event.Time{Time: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)}
	return &event.Envelope{EventID: id, CollectedAt: at, Protocol: "selfdesc", Schema: key,
		Vendor: k.Vendor, Name: k.Name, Version: k.Version.String(), Valid: true, Payload: json.RawMessage(payload), Contexts: contexts}
}

// openTyped opens a sink as the collector does, with contracts.
func openTyped(t *testing.T, cs sink.Contracts) (*Sink, Options) {
	t.Helper()
	return openTypedMode(t, cs, TablesAuto)
}

// openTypedMode is openTyped with the tables option given.
func openTypedMode(t *testing.T, cs sink.Contracts, mode string) (*Sink, Options) {
	t.Helper()
	opts := NewOptions()
	opts.Path = filepath.Join(t.TempDir(), "accord.db")
	opts.Tables = mode
	return openWith(t, opts, cs), *opts
}

// openWith opens and connects a sink of opts knowing contracts cs, closed
// when the test ends.
func openWith(t *testing.T, opts *Options, cs sink.Contracts) *Sink {
	t.Helper()
	ss, err := Type().New(opts, sink.Deps{Contracts: cs})
	if err != nil {
		t.Fatal(err)
	}
	s := ss.(*Sink)
	if err := s.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

func rowsOf(t *testing.T, opts Options, q string) string {
	t.Helper()
	rows, err := readDB(t, opts.Path).Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		dest := make([]any, len(cols))
		for i := range vals {
			dest[i] = &vals[i]
		}
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		out = append(out, vals)
	}
	return fmt.Sprint(out)
}

// TestTypedTables: a contract's typed table beside the good table,
// extended by 1-0-1, a new one for 2-0-0, values typed and checked.
func TestTypedTables(t *testing.T) {
	v1 := sinktest.CompileContract(t, "iglu:com.acme/order/jsonschema/1-0-0", typedOrder)
	user := sinktest.CompileContract(t, "iglu:com.acme/user/jsonschema/1-0-0", `"type": "object", "properties": {"id": {"type": "string"}}`)
	set := contract.NewSet([]*contract.Contract{v1, user})
	s, opts := openTyped(t, set)
	ctx := context.Background()
	uc := event.Context{Schema: "iglu:com.acme/user/jsonschema/1-0-0", Data: json.RawMessage(`{"id":"u-1"}`)}
	if err := s.Write(ctx, []*event.Envelope{
		typedRecord("e1", "iglu:com.acme/order/jsonschema/1-0-0", `{"order_id":"o-1","total":12.5,"items":3.0,"paid":true,"placed_at":"2026-12-04T12:11:12.5+02:00","ship_on":"2026-12-06","tags":["a"],"address":{"city":"Lyon"}}`, uc),
		typedRecord("e2", "iglu:com.acme/order/jsonschema/1-0-0", `{"order_id":"o-2","total":1,"paid":false}`),
	}); err != nil {
		t.Fatal(err)
	}
	got := rowsOf(t, opts, "SELECT event_id, order_id, total, items, paid, placed_at || '', ship_on || '', tags, address_city, contexts_com_acme_user_1, collected_at || '' FROM com_acme_order_1 ORDER BY event_id")
	if want := `[[e1 o-1 12.5 3 1 2026-12-04T10:11:12.500Z 2026-12-06 ["a"] Lyon [{"id":"u-1"}] 2026-12-04T10:00:00.000000Z] [e2 o-2 1 <nil> 0 <nil> <nil> <nil> <nil> <nil> 2026-12-04T10:00:00.000000Z]]`; got != want {
		t.Errorf("typed rows:\n%s\nwant\n%s", got, want)
	}
	// Written again: stored once.
	if err := s.Write(ctx, []*event.Envelope{typedRecord("e2", "iglu:com.acme/order/jsonschema/1-0-0", `{"order_id":"o-2","total":1,"paid":false}`)}); err != nil {
		t.Fatal(err)
	}
	v101 := sinktest.CompileContract(t, "iglu:com.acme/order/jsonschema/1-0-1", strings.Replace(typedOrder, `"items": {"type": "integer"},`, `"items": {"type": "integer"}, "coupon": {"type": "string"},`, 1))
	set.Replace([]*contract.Contract{v1, v101, user})
	if err := s.Write(ctx, []*event.Envelope{typedRecord("e3", "iglu:com.acme/order/jsonschema/1-0-1", `{"order_id":"o-3","total":2,"coupon":"XMAS"}`)}); err != nil {
		t.Fatal(err)
	}
	if got := rowsOf(t, opts, "SELECT event_id, coupon FROM com_acme_order_1 ORDER BY event_id"); got != "[[e1 <nil>] [e2 <nil>] [e3 XMAS]]" {
		t.Errorf("after 1-0-1: %s", got)
	}
	v2 := sinktest.CompileContract(t, "iglu:com.acme/order/jsonschema/2-0-0", `"type": "object", "properties": {"order_id": {"type": "integer"}}`)
	set.Replace([]*contract.Contract{v1, v101, v2, user})
	if err := s.Write(ctx, []*event.Envelope{typedRecord("e4", "iglu:com.acme/order/jsonschema/2-0-0", `{"order_id":42}`)}); err != nil {
		t.Fatal(err)
	}
	if got := rowsOf(t, opts, "SELECT (SELECT group_concat(event_id || ':' || order_id) FROM com_acme_order_2), (SELECT count(*) FROM com_acme_order_1), (SELECT count(*) FROM events)"); got != "[[e4:42 3 4]]" {
		t.Errorf("after 2-0-0: %s", got)
	}
	// The table was made with e1, which carried the user context: its
	// column is in the CREATE; the coupon column came with 1-0-1.
	if got := rowsOf(t, opts, "SELECT table_name, version, substr(statement, 1, instr(statement, ' CHECK') - 1) FROM accord_migrations WHERE statement LIKE 'ALTER TABLE%' ORDER BY id"); got != `[[com_acme_order_1 1-0-1 ALTER TABLE "com_acme_order_1" ADD COLUMN "coupon" TEXT]]` {
		t.Errorf("migrations: %s", got)
	}
	// docs/sinks.md's query.
	if got := rowsOf(t, opts, "SELECT date(placed_at) AS day, address_city, sum(total), count(coupon) FROM com_acme_order_1 GROUP BY 1, 2 ORDER BY 1"); got != "[[<nil> <nil> 3 1] [2026-12-04 Lyon 12.5 0]]" {
		t.Errorf("the docs' query: %s", got)
	}
}

// TestTypedPoisonRow: a value a typed column's check refuses fails the
// batch, permanent (delivery then dead-letters the record), storing none
// of it; the good record alone is stored after.
func TestTypedPoisonRow(t *testing.T) {
	s, opts := openTyped(t, contract.NewSet([]*contract.Contract{sinktest.CompileContract(t, "iglu:com.acme/order/jsonschema/1-0-0", typedOrder)}))
	good := typedRecord("ok", "iglu:com.acme/order/jsonschema/1-0-0", `{"order_id":"o-1","total":1}`)
	for _, tc := range []struct{ name, payload string }{
		{"integer past 64 bits", `{"order_id":"o-2","total":1,"items":100000000000000000000}`},
		{"not a boolean", `{"order_id":"o-2","total":1,"paid":"yes"}`},
		{"not a time", `{"order_id":"o-2","total":1,"placed_at":"yesterday"}`},
		{"not a date", `{"order_id":"o-2","total":1,"ship_on":"2026-13-45"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Write(context.Background(), []*event.Envelope{good, typedRecord("poison", "iglu:com.acme/order/jsonschema/1-0-0", tc.payload)})
			var permanent *sink.PermanentError
			if !errors.As(err, &permanent) || !strings.Contains(err.Error(), "CHECK constraint failed") {
				t.Fatalf("Write with a poison row: %v; want a permanent CHECK error", err)
			}
		})
	}
	if got := rowsOf(t, opts, "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM com_acme_order_1)"); got != "[[0 0]]" {
		t.Errorf("a refused batch stored %s", got)
	}
	if err := s.Write(context.Background(), []*event.Envelope{good}); err != nil {
		t.Fatal(err)
	}
}

// TestTypedRowsFollowSubjectDeleteAndRetention: a data subject's delete
// and retention reach the typed tables too.
func TestTypedRowsFollowSubjectDeleteAndRetention(t *testing.T) {
	s, opts := openTyped(t, contract.NewSet([]*contract.Contract{sinktest.CompileContract(t, "iglu:com.acme/order/jsonschema/1-0-0", typedOrder)}))
	mine := typedRecord("mine", "iglu:com.acme/order/jsonschema/1-0-0", `{"order_id":"o-1","total":1}`)
	mine.Identity = event.Identity{UserID: "user-1"}
	old := typedRecord("old", "iglu:com.acme/order/jsonschema/1-0-0", `{"order_id":"o-2","total":1}`)
	old.CollectedAt = event.Time{Time: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}
	other := typedRecord("other", "iglu:com.acme/order/jsonschema/1-0-0", `{"order_id":"o-3","total":1}`)
	if err := s.Write(context.Background(), []*event.Envelope{mine, old, other}); err != nil {
		t.Fatal(err)
	}
	store, err := Type().Subjects(&opts)
	if err != nil {
		t.Fatal(err)
	}
	counts, err := store.DeleteSubject(context.Background(), sink.SubjectQuery{UserIDs: []string{"user-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(counts) != "[{com_acme_order_1 1} {events 1} {failed_events 0}]" {
		t.Errorf("delete counts: %v", counts)
	}
	n, err := s.DeleteBefore(context.Background(), time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC), 100)
	if err != nil || n != 2 {
		t.Errorf("DeleteBefore: %d, %v; want the old row from the typed table and the good table", n, err)
	}
	if got := rowsOf(t, opts, "SELECT (SELECT group_concat(event_id) FROM events), (SELECT group_concat(event_id) FROM com_acme_order_1)"); got != "[[other other]]" {
		t.Errorf("left: %s", got)
	}
}

// TestTypedHostileNames: property names reach SQL only as sanitised
// identifiers and quoted labels, whatever they hold.
func TestTypedHostileNames(t *testing.T) {
	body := `"type": "object", "properties": {
		"a'); DROP TABLE events; --": {"type": "string"},
		"\"quoted\"": {"type": "integer"},
		"$.path": {"type": "boolean"},
		"a.b": {"type": "string"},
		"select": {"type": "string"}}`
	s, opts := openTyped(t, contract.NewSet([]*contract.Contract{sinktest.CompileContract(t, "iglu:com.acme/hostile/jsonschema/1-0-0", body)}))
	payload := `{"a'); DROP TABLE events; --":"v'1","\"quoted\"":7,"$.path":true,"a.b":"dot","select":"s"}`
	if err := s.Write(context.Background(), []*event.Envelope{typedRecord("h1", "iglu:com.acme/hostile/jsonschema/1-0-0", payload)}); err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, name := range []string{"a'); DROP TABLE events; --", `"quoted"`, "$.path", "a.b", "select"} {
		cols = append(cols, quoteIdent(tables.Sanitize(Dialect{}, name)))
	}
	if got := rowsOf(t, opts, "SELECT "+strings.Join(cols, ", ")+" FROM com_acme_hostile_1"); got != "[[v'1 7 1 dot s]]" {
		t.Errorf("hostile columns: %s", got)
	}
}

// TestPlanTables: the plan for a file that lacks the typed table creates
// it, changing nothing; once the sink has written, nothing to do; a file
// that does not exist plans the same without being created; tables: off
// plans nothing.
func TestPlanTables(t *testing.T) {
	set := contract.NewSet([]*contract.Contract{sinktest.CompileContract(t, "iglu:com.acme/order/jsonschema/1-0-0", typedOrder)})
	// plan-only, so that Connect leaves the typed table to apply.
	_, opts := openTypedMode(t, set, TablesPlanOnly)
	ctx := context.Background()
	steps, err := PlanTables(ctx, opts, set)
	if err != nil || len(steps) != 1 || !strings.HasPrefix(steps[0].Statement, `CREATE TABLE "com_acme_order_1"`) || steps[0].Contract != "com.acme/order/1" {
		t.Fatalf("plan before the first write: %+v, %v", steps, err)
	}
	if got := rowsOf(t, opts, "SELECT count(*) FROM sqlite_schema WHERE name = 'com_acme_order_1'"); got != "[[0]]" {
		t.Errorf("PlanTables created the table: %s", got)
	}
	if ran, err := ApplyTables(ctx, opts, set); err != nil || len(ran) != 1 || ran[0].Statement != steps[0].Statement {
		t.Fatalf("apply: %+v, %v; want the planned step", ran, err)
	}
	if steps, err := PlanTables(ctx, opts, set); err != nil || len(steps) != 0 {
		t.Errorf("plan after apply: %+v, %v; want nothing to do", steps, err)
	}
	if got := rowsOf(t, opts, "SELECT table_name, contract, version FROM accord_migrations"); got != "[[com_acme_order_1 com.acme/order/1 1-0-0]]" {
		t.Errorf("apply recorded %s", got)
	}

	missing := opts
	missing.Path = filepath.Join(t.TempDir(), "none", "accord.db")
	if steps, err := PlanTables(ctx, missing, set); err != nil || len(steps) != 1 {
		t.Errorf("plan for a missing file: %+v, %v", steps, err)
	}
	if _, err := os.Stat(filepath.Dir(missing.Path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("PlanTables created %s: %v", filepath.Dir(missing.Path), err)
	}
	missing.Tables = TablesOff
	if steps, err := PlanTables(ctx, missing, set); err != nil || len(steps) != 0 {
		t.Errorf("plan with tables: off: %+v, %v", steps, err)
	}
	if steps, err := ApplyTables(ctx, missing, set); err != nil || len(steps) != 0 {
		t.Errorf("apply with tables: off: %+v, %v", steps, err)
	}
}

// TestTypedTablesAtFirstEventAndReload: with tables: auto the sink
// creates no typed table at Connect (with 10,000 contracts that took
// minutes and hundreds of MB), a contract's table with its first event,
// and migrates the tables that exist when the contracts change, without
// waiting for a write; a contract without events still has no table.
func TestTypedTablesAtFirstEventAndReload(t *testing.T) {
	v1 := sinktest.CompileContract(t, "iglu:com.acme/order/jsonschema/1-0-0", typedOrder)
	set := contract.NewSet([]*contract.Contract{v1})
	s, opts := openTyped(t, set)
	if got := rowsOf(t, opts, "SELECT count(*) FROM sqlite_schema WHERE name IN ('com_acme_order_1', 'accord_migrations')"); got != "[[0]]" {
		t.Fatalf("typed tables after Connect: %s", got)
	}
	if err := s.Write(context.Background(), []*event.Envelope{typedRecord("e1", "iglu:com.acme/order/jsonschema/1-0-0", `{"order_id":"o-1","total":1}`)}); err != nil {
		t.Fatal(err)
	}
	if got := rowsOf(t, opts, "SELECT count(*) FROM sqlite_schema WHERE name = 'com_acme_order_1'"); got != "[[1]]" {
		t.Fatalf("typed table after the first event: %s", got)
	}
	v101 := sinktest.CompileContract(t, "iglu:com.acme/order/jsonschema/1-0-1", strings.Replace(typedOrder, `"items": {"type": "integer"},`, `"items": {"type": "integer"}, "coupon": {"type": "string"},`, 1))
	cart := sinktest.CompileContract(t, "iglu:com.acme/cart/jsonschema/1-0-0", `"type": "object", "properties": {"size": {"type": "integer"}}`)
	set.Replace([]*contract.Contract{v1, v101, cart})
	check.Eventually(t, 10*time.Second, "coupon column after the reload", func() bool {
		return rowsOf(t, opts, "SELECT count(*) FROM pragma_table_info('com_acme_order_1') WHERE name = 'coupon'") == "[[1]]"
	})
	if got := rowsOf(t, opts, "SELECT count(*) FROM sqlite_schema WHERE name = 'com_acme_cart_1'"); got != "[[0]]" {
		t.Errorf("a contract without events got a table: %s", got)
	}
}

// TestTypedPlanOnly: a plan-only sink creates no typed table, fails a
// write that needs one as transient, naming accord tables apply, and
// writes once it is applied; a contract bump needs apply again.
func TestTypedPlanOnly(t *testing.T) {
	v1 := sinktest.CompileContract(t, "iglu:com.acme/order/jsonschema/1-0-0", typedOrder)
	set := contract.NewSet([]*contract.Contract{v1})
	s, opts := openTypedMode(t, set, TablesPlanOnly)
	ctx := context.Background()
	if got := rowsOf(t, opts, "SELECT count(*) FROM sqlite_schema WHERE name IN ('com_acme_order_1', 'accord_migrations')"); got != "[[0]]" {
		t.Fatalf("a plan-only sink ran DDL at Connect: %s", got)
	}
	e1 := typedRecord("e1", "iglu:com.acme/order/jsonschema/1-0-0", `{"order_id":"o-1","total":1}`)
	err := s.Write(ctx, []*event.Envelope{e1})
	var ood *tables.OutOfDateError
	var perm *sink.PermanentError
	if !errors.As(err, &ood) || ood.Table != "com_acme_order_1" || !strings.Contains(err.Error(), "accord tables apply") || errors.As(err, &perm) {
		t.Fatalf("write needing DDL: %v; want a transient OutOfDateError naming accord tables apply", err)
	}
	if got := rowsOf(t, opts, "SELECT count(*) FROM events"); got != "[[0]]" {
		t.Errorf("the refused batch stored %s good rows", got)
	}
	if _, err := ApplyTables(ctx, opts, set); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, []*event.Envelope{e1}); err != nil {
		t.Fatalf("write after apply: %v", err)
	}
	if got := rowsOf(t, opts, "SELECT event_id, order_id FROM com_acme_order_1"); got != "[[e1 o-1]]" {
		t.Errorf("typed rows after apply: %s", got)
	}
	v101 := sinktest.CompileContract(t, "iglu:com.acme/order/jsonschema/1-0-1", strings.Replace(typedOrder, `"items": {"type": "integer"},`, `"items": {"type": "integer"}, "coupon": {"type": "string"},`, 1))
	set.Replace([]*contract.Contract{v1, v101})
	e2 := typedRecord("e2", "iglu:com.acme/order/jsonschema/1-0-1", `{"order_id":"o-2","total":2,"coupon":"XMAS"}`)
	if err := s.Write(ctx, []*event.Envelope{e2}); !errors.As(err, &ood) || !strings.Contains(err.Error(), `ADD COLUMN "coupon"`) {
		t.Fatalf("write of 1-0-1 before apply: %v", err)
	}
	if _, err := ApplyTables(ctx, opts, set); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, []*event.Envelope{e2}); err != nil {
		t.Fatalf("write of 1-0-1 after apply: %v", err)
	}
	if got := rowsOf(t, opts, "SELECT event_id, coupon FROM com_acme_order_1 ORDER BY event_id"); got != "[[e1 <nil>] [e2 XMAS]]" {
		t.Errorf("typed rows after the second apply: %s", got)
	}
	// A context new to the table: plan-only adds no column for it, and
	// the write lands (the context stays in the good table).
	user := sinktest.CompileContract(t, "iglu:com.acme/user/jsonschema/1-0-0", `"type": "object", "properties": {"id": {"type": "string"}}`)
	set.Replace([]*contract.Contract{v1, v101, user})
	uc := event.Context{Schema: "iglu:com.acme/user/jsonschema/1-0-0", Data: json.RawMessage(`{"id":"u-1"}`)}
	if err := s.Write(ctx, []*event.Envelope{typedRecord("e3", "iglu:com.acme/order/jsonschema/1-0-1", `{"order_id":"o-3","total":3}`, uc)}); err != nil {
		t.Fatalf("write with a context new to the table: %v", err)
	}
	if got := rowsOf(t, opts, "SELECT (SELECT count(*) FROM pragma_table_info('com_acme_order_1') WHERE name LIKE 'contexts%'), (SELECT count(*) FROM com_acme_order_1)"); got != "[[0 3]]" {
		t.Errorf("plan-only and a new context: %s; want no context column, 3 rows", got)
	}
}

func TestTablesOption(t *testing.T) {
	o := NewOptions()
	o.Tables = "sometimes"
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), `tables: "sometimes" is not one of auto, plan-only, off`) {
		t.Errorf("Validate: %v", err)
	}
}

// TestWorkedExample runs docs/sinks/sqlite.md's example: the table the
// contract gives at start, the ALTER 1-0-1 runs, and the queries.
func TestWorkedExample(t *testing.T) {
	const checkout = `"x-accord": {"owner": "shop@example.com", "description": "An order was placed."},
		"type": "object", "required": ["order_id", "total"], "properties": {
		"order_id": {"type": "string", "description": "The order's id."},
		"total": {"type": "number"},
		"placed_at": {"type": "string", "format": "date-time"},
		"address": {"type": "object", "properties": {"city": {"type": "string"}}}}`
	v1 := sinktest.CompileContract(t, "iglu:com.acme/checkout/jsonschema/1-0-0", checkout)
	user := sinktest.CompileContract(t, "iglu:com.acme/user/jsonschema/1-0-0", `"type": "object", "properties": {"id": {"type": "string"}}`)
	set := contract.NewSet([]*contract.Contract{v1, user})
	s, opts := openTyped(t, set)
	ctx := context.Background()
	uc := event.Context{Schema: "iglu:com.acme/user/jsonschema/1-0-0", Data: json.RawMessage(`{"id":"u-1"}`)}
	if err := s.Write(ctx, []*event.Envelope{
		typedRecord("c1", "iglu:com.acme/checkout/jsonschema/1-0-0", `{"order_id":"o-1","total":10,"placed_at":"2026-12-04T09:00:00Z","address":{"city":"Lyon"}}`, uc),
	}); err != nil {
		t.Fatal(err)
	}
	created := rowsOf(t, opts, `SELECT statement FROM accord_migrations WHERE statement LIKE 'CREATE TABLE "com_acme_checkout_1"%'`)
	doc, err := os.ReadFile("../../../docs/sinks/sqlite.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{
		`CREATE TABLE "com_acme_checkout_1" ("event_id" TEXT, `,
		`"order_id" TEXT CHECK (typeof("order_id") IN ('text', 'null'))`,
		`"total" DOUBLE CHECK (typeof("total") IN ('real', 'integer', 'null'))`,
		`"placed_at" TIMESTAMP CHECK ("placed_at" IS NULL OR (typeof("placed_at") = 'text' AND julianday("placed_at") IS NOT NULL))`,
		`"address_city" TEXT CHECK (typeof("address_city") IN ('text', 'null'))`,
	} {
		if !strings.Contains(created, part) {
			t.Errorf("CREATE TABLE lacks %q:\n%s", part, created)
		}
		if !strings.Contains(string(doc), part) {
			t.Errorf("docs/sinks/sqlite.md's example lacks %q", part)
		}
	}
	v101 := sinktest.CompileContract(t, "iglu:com.acme/checkout/jsonschema/1-0-1", strings.Replace(checkout, `"total": {"type": "number"},`, `"total": {"type": "number"}, "coupon": {"type": "string"},`, 1))
	set.Replace([]*contract.Contract{v1, v101, user})
	if err := s.Write(ctx, []*event.Envelope{
		typedRecord("c2", "iglu:com.acme/checkout/jsonschema/1-0-1", `{"order_id":"o-2","total":5,"placed_at":"2026-12-04T11:00:00+01:00","address":{"city":"Lyon"},"coupon":"X"}`),
	}); err != nil {
		t.Fatal(err)
	}
	const alter = `ALTER TABLE "com_acme_checkout_1" ADD COLUMN "coupon" TEXT CHECK (typeof("coupon") IN ('text', 'null'))`
	if got := rowsOf(t, opts, "SELECT count(*) FROM accord_migrations WHERE statement = '"+strings.ReplaceAll(alter, "'", "''")+"'"); got != "[[1]]" {
		t.Errorf("the example's ALTER ran %v times", got)
	}
	for q, want := range map[string]string{
		"SELECT date(placed_at) AS day, address_city, sum(total), count(coupon)\nFROM com_acme_checkout_1\nGROUP BY 1, 2 ORDER BY 1;": "[[2026-12-04 Lyon 15 1]]",
		"SELECT order_id, contexts_com_acme_user_1 ->> '$[0].id' AS user_id\nFROM com_acme_checkout_1 ORDER BY order_id;":             "[[o-1 u-1] [o-2 <nil>]]",
		"SELECT applied_at, contract, version, statement FROM accord_migrations ORDER BY id;":                                         "",
		"SELECT failure_type, failure ->> '$.messages[0].message', raw\nFROM failed_events ORDER BY collected_at DESC LIMIT 20;":      "[]",
	} {
		if !strings.Contains(string(doc), q) {
			t.Errorf("docs/sinks/sqlite.md lacks the query\n%s", q)
		}
		if got := rowsOf(t, opts, q); want != "" && got != want {
			t.Errorf("%s\n= %v, want %v", q, got, want)
		}
	}
	for _, part := range []string{alter} {
		if !strings.Contains(string(doc), part) {
			t.Errorf("docs/sinks/sqlite.md's example lacks %q", part)
		}
	}
	t.Log(created)
}

// TestTypedStatementsBounded: writing to more typed tables than their
// inserts fit in maxTypedStmts keeps at most that many prepared, dropping
// one for each one prepared, and every row is stored.
func TestTypedStatementsBounded(t *testing.T) {
	const n = 50
	var cs []*contract.Contract
	for i := range n {
		cs = append(cs, sinktest.CompileContract(t, fmt.Sprintf("iglu:com.acme/c%d/jsonschema/1-0-0", i), `"type": "object", "properties": {"v": {"type": "integer"}}`))
	}
	s, opts := openTyped(t, contract.NewSet(cs))
	for i := range n {
		// 63 rows: one insert of each size, 32 down to 1.
		batch := make([]*event.Envelope, 63)
		for j := range batch {
			batch[j] = typedRecord(fmt.Sprintf("c%d-%d", i, j), fmt.Sprintf("iglu:com.acme/c%d/jsonschema/1-0-0", i), fmt.Sprintf(`{"v":%d}`, j))
		}
		if err := s.Write(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
		if len(s.typedStmts) > maxTypedStmts {
			t.Fatalf("%d typed inserts prepared; at most %d", len(s.typedStmts), maxTypedStmts)
		}
	}
	if len(s.typedStmts) != maxTypedStmts {
		t.Errorf("%d typed inserts prepared after %d tables of 6 each; want the bound, %d", len(s.typedStmts), n, maxTypedStmts)
	}
	if got := rowsOf(t, opts, "SELECT (SELECT count(*) FROM com_acme_c0_1) + (SELECT count(*) FROM com_acme_c49_1), (SELECT sum(v) FROM com_acme_c49_1)"); got != "[[126 1953]]" {
		t.Errorf("rows: %s", got)
	}
}

// TestTypedChecksOfATableChangedElsewhere: the sink's connection skips the
// typed tables' checks and makes them in Go; a table whose definition is
// not the sink's (here a check a user added) has every row checked by
// SQLite on a copy of the table, so that check still refuses what it
// refuses, and a value Go cannot vouch for is SQLite's to judge.
func TestTypedChecksOfATableChangedElsewhere(t *testing.T) {
	s, opts := openTyped(t, contract.NewSet([]*contract.Contract{sinktest.CompileContract(t, "iglu:com.acme/order/jsonschema/1-0-0", typedOrder)}))
	ctx := context.Background()
	write := func(id, payload string) error {
		return s.Write(ctx, []*event.Envelope{typedRecord(id, "iglu:com.acme/order/jsonschema/1-0-0", payload)})
	}
	if err := write("a", `{"order_id":"o-1","total":1,"items":2}`); err != nil {
		t.Fatal(err)
	}
	if len(s.plans) != 1 {
		t.Fatalf("%d plans", len(s.plans))
	}
	for _, p := range s.plans {
		if !p.madeHere {
			t.Errorf("the sink's own table is not known as made here: %s", p.ddl)
		}
	}
	if s.checker != nil {
		t.Error("rows Go vouched for went through the checker")
	}
	// A string an INTEGER column's affinity makes an integer: SQLite
	// takes it, and the sink with it.
	if err := write("b", `{"order_id":"o-2","total":1,"items":"3"}`); err != nil {
		t.Fatalf("a value SQLite's check passes: %v", err)
	}
	if s.checker == nil {
		t.Error("a value Go could not vouch for was not checked by SQLite")
	}

	c, err := openDSN(opts.Path, readerURI(opts.Path, "rw", time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExecContext(ctx, `ALTER TABLE com_acme_order_1 ADD COLUMN note TEXT CHECK ("total" >= 0)`, nil); err != nil {
		t.Fatal(err)
	}
	c.Close()
	err = write("c", `{"order_id":"o-3","total":-1}`)
	var permanent *sink.PermanentError
	if !errors.As(err, &permanent) || !strings.Contains(err.Error(), "CHECK constraint failed") {
		t.Fatalf("a row the user's check refuses: %v; want a permanent CHECK error", err)
	}
	if err := write("d", `{"order_id":"o-4","total":2}`); err != nil {
		t.Fatal(err)
	}
	if got := rowsOf(t, opts, "SELECT event_id, items, typeof(items) FROM com_acme_order_1 ORDER BY event_id"); got != "[[a 2 integer] [b 3 integer] [d <nil> null]]" {
		t.Errorf("typed rows: %s", got)
	}
}

// TestMadeHere: the definitions the sink makes, directly and through
// added columns, are known as its own; any other is not.
func TestMadeHere(t *testing.T) {
	tbl, err := tables.FromContract(Dialect{}, sinktest.CompileContract(t, "iglu:com.acme/order/jsonschema/1-0-0", typedOrder), nil, tables.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	ddl := (Dialect{}).CreateTable(tbl)[0]
	if !madeHere(ddl, tbl) {
		t.Errorf("CreateTable's own definition: not made here: %s", ddl)
	}
	// A column added later comes last.
	short := *tbl
	short.Columns = append(tbl.Columns[:3:3], tbl.Columns[4:]...)
	added := strings.TrimSuffix((Dialect{}).CreateTable(&short)[0], ")") + ", " + columnDecl(Dialect{}, tbl.Columns[3]) + ")"
	if !madeHere(added, tbl) {
		t.Errorf("with an added column: not made here: %s", added)
	}
	// An earlier Accord's, whose event_id was the primary key.
	keyed := strings.Replace(ddl, `"event_id" TEXT, `, `"event_id" TEXT PRIMARY KEY, `, 1)
	if keyed == ddl || !madeHere(keyed, tbl) {
		t.Errorf("an earlier Accord's definition: not made here: %s", keyed)
	}
	for _, bad := range []string{
		strings.TrimSuffix(ddl, ")") + `, "note" TEXT CHECK ("total" >= 0))`,
		strings.Replace(ddl, `"event_id" TEXT, `, `"event_id" TEXT PRIMARY KEY COLLATE NOCASE, `, 1),
		strings.Replace(ddl, `"event_id" TEXT, `, `"event_id" TEXT UNIQUE, `, 1),
		strings.Replace(ddl, "json_valid", "json_valid2", 1),
		strings.Replace(ddl, "CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ", 1),
		(Dialect{}).CreateTable(&short)[0],
		ddl + " STRICT",
		"",
	} {
		if madeHere(bad, tbl) {
			t.Errorf("made here: %s", bad)
		}
	}
}

// TestWriteKeepsNoRecordMemory: the sink is a sink.KeepsNoStrings, so the
// records delivery hands it may share their spool read
// (event.DecodeEnvelopeShared); once Write returns, nothing of the sink's
// (the batch's ids, the members of the event data it read) may keep that
// read alive.
func TestWriteKeepsNoRecordMemory(t *testing.T) {
	key := "iglu:com.acme/order/jsonschema/1-0-0"
	set := contract.NewSet([]*contract.Contract{sinktest.CompileContract(t, key, typedOrder)})
	s, _ := openTyped(t, set)
	kept := func() weak.Pointer[byte] {
		rec := typedRecord("e1", key, `{"order_id":"o-1","total":12.5,"paid":true}`)
		enc := rec.AppendJSON(nil)
		read := append(enc, make([]byte, 64<<10)...)[:len(enc)]
		var shared event.Envelope
		if err := event.DecodeEnvelopeShared(read, &shared); err != nil {
			t.Fatal(err)
		}
		shared.JSON = read
		if err := s.Write(context.Background(), []*event.Envelope{&shared}); err != nil {
			t.Fatal(err)
		}
		return weak.Make(&read[0])
	}()
	if !check.Collected(kept) {
		t.Fatal("the sink keeps the bytes a record it wrote was decoded from")
	}
	runtime.KeepAlive(s)
}

// TestTypedEnvelopeFromTheGoodRow: a typed row's envelope columns are read
// from the good row just written, found by event_id, and hold what the
// good row holds; a record without an id has them bound, its row in the
// batch's order; and once a trigger could change a good row after its
// insert, every value is bound, so the typed row still holds the record's.
func TestTypedEnvelopeFromTheGoodRow(t *testing.T) {
	order := sinktest.CompileContract(t, "iglu:com.acme/order/jsonschema/1-0-0", typedOrder)
	s, opts := openTyped(t, contract.NewSet([]*contract.Contract{order}))
	ctx := context.Background()
	rec := func(id, request string) *event.Envelope {
		r := typedRecord(id, "iglu:com.acme/order/jsonschema/1-0-0", `{"order_id":"o-`+request+`","total":1}`)
		r.RequestID, r.Namespace, r.Fingerprint = request, "ns-"+request, "fp-"+request
		r.SentAt = event.Time{Time: r.CollectedAt.Add(-time.Second)}
		r.Attributes = json.RawMessage(`{"k":"` + request + `"}`)
		r.Source.IP, r.Identity.UserID, r.Collector.Host = "10.0.0.1", "u-"+request, "h-"+request
		return r
	}
	if err := s.Write(ctx, []*event.Envelope{rec("a", "r1"), rec("", "r2"), rec("b", "r3"), rec("", "r4")}); err != nil {
		t.Fatal(err)
	}
	joined := 0
	for q := range s.typedStmts {
		if strings.Contains(q, " CROSS JOIN ") {
			joined++
		}
	}
	if joined == 0 {
		t.Errorf("no typed insert read the good row; prepared: %v", s.typedStmts)
	}
	if got := rowsOf(t, opts, "SELECT coalesce(event_id, '-'), request_id FROM com_acme_order_1 ORDER BY rowid"); got != "[[a r1] [- r2] [b r3] [- r4]]" {
		t.Errorf("typed rows in rowid order: %s", got)
	}
	var same []string
	for _, c := range tables.Envelope() {
		same = append(same, fmt.Sprintf("e.%s IS o.%s", c.Name, c.Name))
	}
	// Each typed row against its good row (those without an id by
	// request_id, which is unique here).
	if got := rowsOf(t, opts, "SELECT count(*) FROM events e JOIN com_acme_order_1 o ON e.request_id = o.request_id WHERE "+strings.Join(same, " AND ")); got != "[[4]]" {
		t.Errorf("typed rows whose envelope columns are their good row's: %s, want 4", got)
	}
	if _, err := readDB(t, opts.Path).Exec(`CREATE TRIGGER later AFTER INSERT ON events BEGIN UPDATE events SET request_id = 'changed' WHERE rowid = NEW.rowid; END`); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, []*event.Envelope{rec("c", "r5")}); err != nil {
		t.Fatal(err)
	}
	if got := rowsOf(t, opts, "SELECT e.request_id, o.request_id FROM events e JOIN com_acme_order_1 o USING (event_id) WHERE event_id = 'c'"); got != "[[changed r5]]" {
		t.Errorf("with a trigger on the good table, good and typed request_id: %s, want [[changed r5]]", got)
	}
}

// TestSinkJSONPassesItsCheck: the source, identity and collector JSON the
// sink makes, which the typed insert vouches for without parsing it
// (sinkJSON), passes a JSON column's check in SQLite whatever strings the
// record holds.
func TestSinkJSONPassesItsCheck(t *testing.T) {
	s := openChecks(t)
	for _, v := range []string{"", "plain", `quote " and \ backslash`, "\x00\x01\n\t\x1f\x7f", "\xff\xfe not UTF-8 \xc3", "\u2028\u2029",
		"\xed\xa0\x80 a surrogate's bytes", "😀 é", "}{][,:", "1e999", "null"} {
		r := goodRecord("id")
		r.Source = event.Source{IP: v, UserAgent: v, Referer: v, Origin: v, Path: v}
		r.Identity = event.Identity{UserID: v, AnonymousID: v, NetworkUserID: v}
		r.Collector = event.Collector{Name: v, Version: v, Env: v, Host: v}
		args, _, _ := s.good.appendArgs(nil, nil, nil, r)
		for _, i := range sinkJSON {
			c := typedCol{kind: tables.JSON, envelope: i}
			if !c.passesByMaking() {
				t.Fatalf("column %d is not vouched for", i)
			}
			if err := checkInSQLite(s.conn, tables.JSON, args[i].Value); err != nil {
				t.Errorf("%s of %q: %v", columns.Good()[i].Name, v, err)
			}
		}
	}
}

// TestTypedTimesMadeInGo: the typed rows of a batch whose times are all
// already in UTC with milliseconds go in inserts that call no function,
// for which SQLite keeps no statement journal; a time strftime must make
// (another offset, other digits) still goes through it, and either way a
// time column stores what strftime makes of the time.
func TestTypedTimesMadeInGo(t *testing.T) {
	s, opts := openTyped(t, contract.NewSet([]*contract.Contract{sinktest.CompileContract(t, "iglu:com.acme/order/jsonschema/1-0-0", typedOrder)}))
	order := func(id, placed string) *event.Envelope {
		data := `{"order_id":"` + id + `","total":1`
		if placed != "" {
			data += `,"placed_at":"` + placed + `"`
		}
		return typedRecord(id, "iglu:com.acme/order/jsonschema/1-0-0", data+`}`)
	}
	// The statements as the sink's connection makes them: its checks
	// left to typedcheck.go.
	db := readDB(t, opts.Path)
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("PRAGMA ignore_check_constraints = ON"); err != nil {
		t.Fatal(err)
	}
	functions := func() []string {
		t.Helper()
		var calls []string
		for q := range s.typedStmts {
			rows, err := db.Query("EXPLAIN "+q, make([]any, strings.Count(q, "?"))...)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var addr, p1, p2, p3 int
				var op string
				var p4, p5, comment any
				if err := rows.Scan(&addr, &op, &p1, &p2, &p3, &p4, &p5, &comment); err != nil {
					t.Fatal(err)
				}
				if op == "Function" || op == "PureFunc" {
					calls = append(calls, fmt.Sprint(p4))
				}
			}
			rows.Close()
		}
		return calls
	}
	// Two rows, a statement of two.
	if err := s.Write(context.Background(), []*event.Envelope{order("a1", "2026-12-04T10:11:12.123Z"), order("a2", "")}); err != nil {
		t.Fatal(err)
	}
	if calls := functions(); len(calls) != 0 {
		t.Errorf("the typed insert of times made in Go calls %v", calls)
	}
	if err := s.Write(context.Background(), []*event.Envelope{order("b1", "2026-12-04T12:11:12+02:00"), order("b2", "2026-12-04T10:11:12.1Z")}); err != nil {
		t.Fatal(err)
	}
	if calls := functions(); len(calls) == 0 {
		t.Error("the typed insert of times for strftime to make calls no function")
	}
	want := "[[a1 2026-12-04T10:11:12.123Z] [a2 <nil>] [b1 2026-12-04T10:11:12.000Z] [b2 2026-12-04T10:11:12.100Z]]"
	if got := rowsOf(t, opts, "SELECT event_id, placed_at || '' FROM com_acme_order_1 ORDER BY event_id"); got != want {
		t.Errorf("times stored: %s, want %s", got, want)
	}
	checkTypedRowsAreTheirGoodRows(t, opts)
}

// TestTypedTablesHaveNoKey: a typed table the sink makes has no index on
// event_id (columnDecl says why), yet holds an event once however often
// it is delivered, the good table's key deciding; and a table an earlier
// Accord made, event_id its primary key, is still the sink's own
// (madeHere: no row checked on a copy) and written as before.
func TestTypedTablesHaveNoKey(t *testing.T) {
	key := "iglu:com.acme/order/jsonschema/1-0-0"
	set := contract.NewSet([]*contract.Contract{sinktest.CompileContract(t, key, typedOrder)})
	s, opts := openTyped(t, set)
	ctx := context.Background()
	write := func(s *Sink, ids ...string) {
		t.Helper()
		var recs []*event.Envelope
		for _, id := range ids {
			recs = append(recs, typedRecord(id, key, `{"order_id":"o-`+id+`","total":1}`))
		}
		if err := s.Write(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	write(s, "a", "b")
	write(s, "b", "c") // b delivered again
	write(s, "a")
	if got := rowsOf(t, opts, "SELECT count(*) FROM pragma_index_list('com_acme_order_1')"); got != "[[0]]" {
		t.Errorf("indexes on the typed table: %s; want none", got)
	}
	if got := rowsOf(t, opts, "SELECT event_id, count(*) FROM com_acme_order_1 GROUP BY event_id ORDER BY event_id"); got != "[[a 1] [b 1] [c 1]]" {
		t.Errorf("typed rows by event_id: %s", got)
	}
	// docs/sinks/sqlite.md: joined to the good table on event_id, its
	// primary key finds each row.
	if got := rowsOf(t, opts, "EXPLAIN QUERY PLAN SELECT * FROM com_acme_order_1 t JOIN "+quoteIdent(opts.GoodTable)+" e ON e.event_id = t.event_id"); !strings.Contains(got, "SEARCH e USING INDEX sqlite_autoindex_") {
		t.Errorf("the join to the good table does not search its key: %s", got)
	}
	// An index a user adds, as the docs suggest, leaves the table the
	// sink's own.
	if _, err := s.conn.ExecContext(ctx, "CREATE INDEX com_acme_order_1_event_id ON com_acme_order_1 (event_id)", nil); err != nil {
		t.Fatal(err)
	}
	write(s, "e")
	for _, p := range s.plans {
		if !p.madeHere {
			t.Errorf("a table with a user's index is not known as the sink's own: %s", p.ddl)
		}
	}
	if s.checker != nil {
		t.Error("rows of a table with a user's index were checked on a copy")
	}
	if _, err := s.conn.ExecContext(ctx, "DROP INDEX com_acme_order_1_event_id", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// The table as an earlier Accord made it: the same definition with
	// event_id the primary key.
	db := readDB(t, opts.Path)
	var ddl string
	if err := db.QueryRow("SELECT sql FROM sqlite_master WHERE name = 'com_acme_order_1'").Scan(&ddl); err != nil {
		t.Fatal(err)
	}
	keyed := strings.Replace(ddl, `"event_id" TEXT, `, `"event_id" TEXT PRIMARY KEY, `, 1)
	if keyed == ddl {
		t.Fatalf("no event_id declaration to key in %s", ddl)
	}
	rw, err := openDSN(opts.Path, readerURI(opts.Path, "rw", time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"ALTER TABLE com_acme_order_1 RENAME TO old_order",
		keyed,
		"INSERT INTO com_acme_order_1 SELECT * FROM old_order",
		"DROP TABLE old_order",
	} {
		if _, err := rw.ExecContext(ctx, q, nil); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	rw.Close()

	s2 := openWith(t, &opts, set)
	write(s2, "c", "d")
	for _, p := range s2.plans {
		if !p.madeHere {
			t.Errorf("an earlier Accord's table is not known as the sink's own: %s", p.ddl)
		}
	}
	if s2.checker != nil {
		t.Error("rows of an earlier Accord's table were checked on a copy")
	}
	if got := rowsOf(t, opts, "SELECT count(*) FROM pragma_index_list('com_acme_order_1')"); got != "[[1]]" {
		t.Errorf("indexes on the earlier Accord's table: %s; want its key's", got)
	}
	if got := rowsOf(t, opts, "SELECT event_id, count(*) FROM com_acme_order_1 GROUP BY event_id ORDER BY event_id"); got != "[[a 1] [b 1] [c 1] [d 1] [e 1]]" {
		t.Errorf("typed rows by event_id: %s", got)
	}
}

// TestTypedTimesInLowerCase: RFC 3339 allows a lower-case t and z, so a
// contract's date-time does; such a time is stored in UTC like any other,
// not refused by the column's check (which dead-lettered valid events),
// whether the insert's times are bound (the sink's plan) or read in SQL
// (a property SQLite's JSON path must find: the key's quote).
func TestTypedTimesInLowerCase(t *testing.T) {
	lowerTimes := strings.Replace(typedOrder, `"items": {"type": "integer"},`, `"items": {"type": "integer"}, "it\"s": {"type": "string"},`, 1)
	c := sinktest.CompileContract(t, "iglu:com.acme/order/jsonschema/1-0-0", lowerTimes)
	times := map[string]string{
		"l1": "2026-12-04t10:11:12.5z",
		"l2": "2026-12-04t12:11:12+02:00",
		"l3": "2026-12-04T10:11:12z",
		"l4": "2026-12-04t10:11:12.123Z",
	}
	for _, withSQLPath := range []bool{false, true} {
		t.Run(fmt.Sprintf("sql path %v", withSQLPath), func(t *testing.T) {
			s, opts := openTyped(t, contract.NewSet([]*contract.Contract{c}))
			var batch []*event.Envelope
			for _, id := range slices.Sorted(maps.Keys(times)) {
				data := `{"order_id":"o","total":1,"placed_at":"` + times[id] + `"`
				if withSQLPath {
					data += `,"it\"s":"x"`
				}
				data += `}`
				if ok, err := c.Valid([]byte(data)); !ok || err != nil {
					t.Fatalf("the contract refuses %s: %v", data, err)
				}
				batch = append(batch, typedRecord(id, "iglu:com.acme/order/jsonschema/1-0-0", data))
			}
			if err := s.Write(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
			want := "[[l1 2026-12-04T10:11:12.500Z] [l2 2026-12-04T10:11:12.000Z] [l3 2026-12-04T10:11:12.000Z] [l4 2026-12-04T10:11:12.123Z]]"
			if got := rowsOf(t, opts, "SELECT event_id, placed_at || '' FROM com_acme_order_1 ORDER BY event_id"); got != want {
				t.Errorf("times stored: %s, want %s", got, want)
			}
			checkTypedRowsAreTheirGoodRows(t, opts)
		})
	}
}
