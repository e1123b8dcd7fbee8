package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/columns"
)

var collected = time.Date(2024, 3, 9, 12, 30, 45, 123456789, time.UTC)

// goodRecord is a record as the pipeline builds one for a web event: a
// 15-field payload, two contexts, and every envelope field set.
func goodRecord(id string) *event.Envelope {
	return &event.Envelope{
		EventID:     id,
		RequestID:   "req-" + id,
		CollectedAt: event.Time{Time: collected},
		SentAt:      event.Time{Time: collected.Add(-2 * time.Second)},
		CreatedAt:   event.Time{Time: collected.Add(-3 * time.Second)},
		EventTime:   event.Time{Time: collected.Add(-3 * time.Second)},
		Protocol:    "selfdesc",
		Schema:      "iglu:com.acme/checkout_completed/jsonschema/1-0-2",
		Vendor:      "com.acme",
		Name:        "checkout_completed",
		Version:     "1-0-2",
		Namespace:   "web",
		Valid:       true,
		Payload: json.RawMessage(`{"sku":"SKU-48213","name":"Trail running shoe","category":"footwear","brand":"Acme",` +
			`"price":129.95,"currency":"EUR","quantity":2,"discount":10.5,"coupon":"SPRING24","in_stock":true,` +
			`"variant":"blue/42","list":"search results","position":3,"order_id":"ORD-2024-000123","tax":24.7}`),
		Contexts: []event.Context{
			{Schema: "iglu:com.acme/web_page/jsonschema/1-0-0", Data: json.RawMessage(`{"id":"6f1c4a8e-7d0b-4c2e-9a51-1f6f2b9d8c3e"}`)},
			{Schema: "iglu:com.acme/experiment/jsonschema/1-0-0", Data: json.RawMessage(`{"name":"checkout_v2","variant":"b"}`)},
		},
		Attributes: json.RawMessage(`{"specversion":"1.0","source":"/shop"}`),
		Source: event.Source{
			IP:        "203.0.113.42",
			UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0 Safari/537.36",
			Referer:   "https://shop.example.com/cart",
			Origin:    "https://shop.example.com",
			Path:      "/com.acme/events",
		},
		Identity:    event.Identity{UserID: "user-981", AnonymousID: "anon-7f3e", NetworkUserID: "nuid-0c2d"},
		Collector:   event.Collector{Name: "accord", Version: "0.1.0", Env: "test", Host: "collector-1"},
		Fingerprint: "5f0c2a9b7e1d4c38",
	}
}

// failedRecord is a record that failed validation, keeping its input.
func failedRecord(id string) *event.Envelope {
	r := goodRecord(id)
	r.Valid = false
	r.Failure = &event.Failure{
		Type: event.SchemaViolation,
		Messages: []event.Message{{
			Schema:       r.Schema,
			InstancePath: "/data/price",
			SchemaPath:   "/properties/price/minimum",
			Keyword:      "minimum",
			Message:      "price must be at least 0, but is -1",
		}},
	}
	r.Payload = json.RawMessage(`{"sku":"SKU-1","price":-1}`)
	r.SetRaw([]byte(`{"schema":"iglu:com.acme/checkout_completed/jsonschema/1-0-2","data":{"sku":"SKU-1","price":-1}}`))
	return r
}

func openTest(t *testing.T, edit func(*Options)) (*Sink, *sql.DB, Options) {
	t.Helper()
	opts := *NewOptions()
	opts.Path = filepath.Join(t.TempDir(), "data", "accord.db")
	if edit != nil {
		edit(&opts)
	}
	s, err := Open(context.Background(), opts, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, readDB(t, opts.Path), opts
}

// readDB opens the database file as a user would, with database/sql. The
// path is given as a file: URI, as the driver reads what follows a '?' in a
// plain path as parameters.
func readDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func count(t *testing.T, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// row reads every column of the row with event_id id, NULL as nil and
// everything else as text.
func row(t *testing.T, db *sql.DB, table, id string) map[string]any {
	t.Helper()
	rows, err := db.Query("SELECT * FROM "+table+" WHERE event_id = ?", id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	if !rows.Next() {
		t.Fatalf("no row in %s with event_id %s (err %v)", table, id, rows.Err())
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	got := make(map[string]any, len(cols))
	for i, c := range cols {
		switch v := vals[i].(type) {
		case nil:
			got[c] = nil
		case []byte:
			// A BLOB would break SQLite's JSON functions; every column is
			// TEXT, INTEGER or NULL.
			t.Errorf("%s.%s is a BLOB, want TEXT", table, c)
			got[c] = string(v)
		case string:
			got[c] = v
		case int64:
			got[c] = strconv.FormatInt(v, 10)
		default:
			t.Errorf("%s.%s has type %T", table, c, v)
		}
	}
	if rows.Next() {
		t.Fatalf("two rows in %s with event_id %s", table, id)
	}
	return got
}

func TestWriteStoresEveryColumn(t *testing.T) {
	s, db, _ := openTest(t, nil)

	sparse := goodRecord("good-2")
	sparse.EventTime = event.Time{}
	sparse.SentAt = event.Time{}
	sparse.Payload = nil
	sparse.Attributes = nil
	sparse.Contexts = nil
	sparse.Source.UserAgent = "quote \" backslash \\ newline \n tab \t é"

	noInput := failedRecord("failed-2")
	noInput.Failure = event.NewFailure(event.PayloadFormatViolation, "body is not JSON")
	noInput.SetRaw([]byte{0xff, 0xfe, 'x'})

	if err := s.Write(context.Background(), []*event.Envelope{
		goodRecord("good-1"), failedRecord("failed-1"), sparse, noInput,
	}); err != nil {
		t.Fatalf("Write: %v", err)
	}

	commonGood := map[string]any{
		"request_id":   "req-good-1",
		"collected_at": "2024-03-09T12:30:45.123456Z",
		"sent_at":      "2024-03-09T12:30:43.123456Z",
		"created_at":   "2024-03-09T12:30:42.123456Z",
		"event_time":   "2024-03-09T12:30:42.123456Z",
		"protocol":     "selfdesc",
		"schema":       "iglu:com.acme/checkout_completed/jsonschema/1-0-2",
		"vendor":       "com.acme",
		"name":         "checkout_completed",
		"version":      "1-0-2",
		"namespace":    "web",
		"payload": `{"sku":"SKU-48213","name":"Trail running shoe","category":"footwear","brand":"Acme",` +
			`"price":129.95,"currency":"EUR","quantity":2,"discount":10.5,"coupon":"SPRING24","in_stock":true,` +
			`"variant":"blue/42","list":"search results","position":3,"order_id":"ORD-2024-000123","tax":24.7}`,
		"contexts": `[{"schema":"iglu:com.acme/web_page/jsonschema/1-0-0","data":{"id":"6f1c4a8e-7d0b-4c2e-9a51-1f6f2b9d8c3e"}},` +
			`{"schema":"iglu:com.acme/experiment/jsonschema/1-0-0","data":{"name":"checkout_v2","variant":"b"}}]`,
		"attributes": `{"specversion":"1.0","source":"/shop"}`,
		"source": `{"ip":"203.0.113.42","user_agent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0 Safari/537.36",` +
			`"referer":"https://shop.example.com/cart","origin":"https://shop.example.com","path":"/com.acme/events"}`,
		"identity":          `{"user_id":"user-981","anonymous_id":"anon-7f3e","network_user_id":"nuid-0c2d"}`,
		"collector":         `{"name":"accord","version":"0.1.0","env":"test","host":"collector-1"}`,
		"fingerprint":       "5f0c2a9b7e1d4c38",
		"replayed_at":       nil,
		"original_event_id": nil,
	}
	with := func(base map[string]any, changes map[string]any) map[string]any {
		m := make(map[string]any, len(base)+len(changes))
		for k, v := range base {
			m[k] = v
		}
		for k, v := range changes {
			m[k] = v
		}
		return m
	}

	tests := []struct {
		name  string
		table string
		id    string
		want  map[string]any
	}{
		{
			name:  "good record",
			table: "events",
			id:    "good-1",
			want:  with(commonGood, map[string]any{"event_id": "good-1", "valid": "1"}),
		},
		{
			name:  "good record with unknown times and no payload",
			table: "events",
			id:    "good-2",
			want: with(commonGood, map[string]any{
				"event_id": "good-2", "request_id": "req-good-2", "valid": "1",
				"event_time": nil, "sent_at": nil, "payload": nil, "attributes": nil, "contexts": "[]",
				"source": `{"ip":"203.0.113.42","user_agent":"quote \" backslash \\ newline \n tab \t é",` +
					`"referer":"https://shop.example.com/cart","origin":"https://shop.example.com","path":"/com.acme/events"}`,
			}),
		},
		{
			name:  "failed record",
			table: "failed_events",
			id:    "failed-1",
			want: with(commonGood, map[string]any{
				"event_id": "failed-1", "request_id": "req-failed-1", "valid": "0",
				"payload":      `{"sku":"SKU-1","price":-1}`,
				"failure_type": "schema_violation",
				"failure": `{"type":"schema_violation","messages":[{"schema":"iglu:com.acme/checkout_completed/jsonschema/1-0-2",` +
					`"instance_path":"/data/price","schema_path":"/properties/price/minimum","keyword":"minimum",` +
					`"message":"price must be at least 0, but is -1"}]}`,
				"raw":          `{"schema":"iglu:com.acme/checkout_completed/jsonschema/1-0-2","data":{"sku":"SKU-1","price":-1}}`,
				"raw_encoding": "text",
			}),
		},
		{
			name:  "failed record whose input was not text",
			table: "failed_events",
			id:    "failed-2",
			want: with(commonGood, map[string]any{
				"event_id": "failed-2", "request_id": "req-failed-2", "valid": "0",
				"payload":      `{"sku":"SKU-1","price":-1}`,
				"failure_type": "payload_format_violation",
				"failure":      `{"type":"payload_format_violation","messages":[{"instance_path":"","schema_path":"","message":"body is not JSON"}]}`,
				"raw":          "//54",
				"raw_encoding": "base64",
			}),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := row(t, db, tc.table, tc.id)
			for col, want := range tc.want {
				g, ok := got[col]
				if !ok {
					t.Errorf("%s has no column %s", tc.table, col)
					continue
				}
				if g != want {
					t.Errorf("%s = %#v, want %#v", col, g, want)
				}
			}
			for col := range got {
				if _, ok := tc.want[col]; !ok {
					t.Errorf("unexpected column %s = %#v", col, got[col])
				}
			}
		})
	}
	if n := count(t, db, "events"); n != 2 {
		t.Errorf("events holds %d rows, want 2", n)
	}
	if n := count(t, db, "failed_events"); n != 2 {
		t.Errorf("failed_events holds %d rows, want 2", n)
	}
}

func TestWriteIgnoresDuplicateEventIDs(t *testing.T) {
	s, db, _ := openTest(t, nil)
	ctx := context.Background()

	first := goodRecord("a")
	batch := []*event.Envelope{first, goodRecord("b"), failedRecord("c")}
	if err := s.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	// The same batch again, as a retry after a lost acknowledgement would
	// deliver it, plus a duplicate within one batch and a record whose
	// content changed but whose id did not.
	changed := goodRecord("a")
	changed.Payload = json.RawMessage(`{"sku":"changed"}`)
	again := append(batch, goodRecord("d"), goodRecord("d"), changed, failedRecord("c"))
	if err := s.Write(ctx, again); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "events"); n != 3 {
		t.Errorf("events holds %d rows, want 3 (a, b, d)", n)
	}
	if n := count(t, db, "failed_events"); n != 1 {
		t.Errorf("failed_events holds %d rows, want 1 (c)", n)
	}
	var sku string
	if err := db.QueryRow(`SELECT json_extract(payload, '$.sku') FROM events WHERE event_id = 'a'`).Scan(&sku); err != nil {
		t.Fatal(err)
	}
	if sku != "SKU-48213" {
		t.Errorf("event a has sku %q, want the first write's SKU-48213", sku)
	}
}

func TestRecordsWithoutEventIDAreKept(t *testing.T) {
	s, db, _ := openTest(t, nil)
	if err := s.Write(context.Background(), []*event.Envelope{failedRecord(""), failedRecord("")}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "failed_events WHERE event_id IS NULL"); n != 2 {
		t.Errorf("%d records without event_id stored, want 2", n)
	}
}

func TestJSONColumnsAnswerJSONFunctions(t *testing.T) {
	s, db, _ := openTest(t, nil)
	if err := s.Write(context.Background(), []*event.Envelope{goodRecord("g"), failedRecord("f")}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		query string
		want  string
	}{
		{"payload field", `SELECT json_extract(payload, '$.sku') FROM events`, "SKU-48213"},
		{"payload number", `SELECT json_extract(payload, '$.price') * json_extract(payload, '$.quantity') FROM events`, "259.9"},
		{"context data", `SELECT json_extract(contexts, '$[1].data.variant') FROM events`, "b"},
		{"context by schema", `SELECT json_extract(c.value, '$.data.id') FROM events, json_each(events.contexts) AS c
			WHERE json_extract(c.value, '$.schema') LIKE 'iglu:com.acme/web_page/%'`, "6f1c4a8e-7d0b-4c2e-9a51-1f6f2b9d8c3e"},
		{"attributes", `SELECT attributes ->> '$.specversion' FROM events`, "1.0"},
		{"source", `SELECT source ->> '$.ip' FROM events`, "203.0.113.42"},
		{"identity", `SELECT identity ->> '$.user_id' FROM events`, "user-981"},
		{"collector", `SELECT collector ->> '$.host' FROM events`, "collector-1"},
		{"failure message", `SELECT json_extract(failure, '$.messages[0].message') FROM failed_events`, "price must be at least 0, but is -1"},
		{"failure pointer", `SELECT failure ->> '$.messages[0].instance_path' FROM failed_events`, "/data/price"},
		{"every JSON column is JSON text", `SELECT count(*) FROM events WHERE json_valid(payload) AND json_valid(contexts)
			AND json_valid(attributes) AND json_valid(source) AND json_valid(identity) AND json_valid(collector)
			AND typeof(payload) = 'text'`, "1"},
		{"every failed JSON column is JSON text", `SELECT count(*) FROM failed_events WHERE json_valid(payload)
			AND json_valid(contexts) AND json_valid(failure) AND typeof(failure) = 'text'`, "1"},
		{"time range", `SELECT count(*) FROM events WHERE collected_at >= '2024-03-09T12:30:45' AND collected_at < '2024-03-10'`, "1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			if err := db.QueryRow(tc.query).Scan(&got); err != nil {
				t.Fatalf("%s: %v", tc.query, err)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestWriteIsOneTransaction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accord.db")
	// A failed table made beforehand that refuses one raw_encoding: the
	// batch's good record must not be stored when its failed record can't be.
	pre := readDB(t, path)
	var cols []string
	for _, c := range columns.Failed() {
		cols = append(cols, c.Name+" "+decl(c))
	}
	if _, err := pre.Exec("CREATE TABLE failed_events (" + strings.Join(cols, ", ") + ", CHECK (raw_encoding <> 'refused'))"); err != nil {
		t.Fatal(err)
	}
	pre.Close()

	s, db, _ := openTest(t, func(o *Options) { o.Path = path })
	refused := failedRecord("f")
	refused.RawEncoding = "refused"
	err := s.Write(context.Background(), []*event.Envelope{goodRecord("g"), refused})
	if err == nil || !strings.Contains(err.Error(), "insert into failed_events") {
		t.Fatalf("Write = %v, want an error naming failed_events", err)
	}
	if n := count(t, db, "events"); n != 0 {
		t.Fatalf("events holds %d rows after a failed write, want 0", n)
	}
	// The retry of the same batch, once it can be stored, stores all of it.
	refused.RawEncoding = event.RawText
	if err := s.Write(context.Background(), []*event.Envelope{goodRecord("g"), refused}); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if g, f := count(t, db, "events"), count(t, db, "failed_events"); g != 1 || f != 1 {
		t.Errorf("after retry events=%d failed_events=%d, want 1 and 1", g, f)
	}
}

func TestWriteHonoursCancelledContext(t *testing.T) {
	s, db, _ := openTest(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Write(ctx, []*event.Envelope{goodRecord("g")})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Write = %v, want context.Canceled", err)
	}
	if n := count(t, db, "events"); n != 0 {
		t.Errorf("events holds %d rows, want 0", n)
	}
	// The sink still works afterwards.
	if err := s.Write(context.Background(), []*event.Envelope{goodRecord("g")}); err != nil {
		t.Fatal(err)
	}
}

func TestOpenThroughType(t *testing.T) {
	typ := Type()
	if typ.Name != "sqlite" || typ.Doc == "" {
		t.Fatalf("Type() = %q, %q", typ.Name, typ.Doc)
	}
	opts, ok := typ.NewOptions().(*Options)
	if !ok {
		t.Fatalf("NewOptions returned %T", typ.NewOptions())
	}
	if !reflect.DeepEqual(*opts, *NewOptions()) {
		t.Errorf("NewOptions = %+v", *opts)
	}
	want := Options{Path: "accord-data/accord.db", GoodTable: "events", FailedTable: "failed_events", BusyTimeout: 5 * time.Second, Synchronous: "normal", Tables: TablesAuto}
	if !reflect.DeepEqual(*opts, want) {
		t.Errorf("defaults = %+v, want %+v", *opts, want)
	}
	// Parent directories that don't exist yet are created; a path with
	// URI-special characters is still a path.
	dir := t.TempDir()
	opts.Path = filepath.Join(dir, "a b", "c?d#e%20.db")
	ctx := context.Background()
	s, err := typ.New(opts, sink.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	// New does no I/O: the directory appears only at Connect, and a
	// Write before it is refused.
	if _, err := os.Stat(filepath.Join(dir, "a b")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("New created %s (stat: %v)", filepath.Join(dir, "a b"), err)
	}
	if err := s.Write(ctx, []*event.Envelope{goodRecord("g")}); err == nil {
		t.Error("Write before Connect succeeded")
	}
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(ctx); err != nil {
		t.Fatalf("second Connect: %v", err)
	}
	if err := s.Write(ctx, []*event.Envelope{goodRecord("g"), failedRecord("f")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, []*event.Envelope{goodRecord("h")}); err == nil {
		t.Error("Write after Close succeeded")
	}
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "a b"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "c?d#e%20.db") {
			t.Errorf("unexpected file %q beside the database", e.Name())
		}
	}
	if _, err := os.Stat(opts.Path); err != nil {
		t.Fatalf("database file: %v", err)
	}

	// Opening again keeps what is stored.
	s, err = typ.New(opts, sink.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(ctx); err != nil {
		t.Fatalf("reconnect: %v", err)
	}
	defer s.Close(context.Background())
	if err := s.Write(ctx, []*event.Envelope{goodRecord("g"), goodRecord("h")}); err != nil {
		t.Fatal(err)
	}
	db := readDB(t, opts.Path)
	if n := count(t, db, "events"); n != 2 {
		t.Errorf("events holds %d rows after reopening, want 2", n)
	}
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var indexes int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'index'
		AND name IN ('events_collected_at', 'events_schema', 'failed_events_collected_at', 'failed_events_schema')`).Scan(&indexes); err != nil || indexes != 4 {
		t.Errorf("found %d of the 4 indexes (%v)", indexes, err)
	}
}

// A Connect that fails leaves nothing half open, and a later one succeeds
// once the cause is gone: delivery retries it that way.
func TestConnectAgainAfterFailure(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "data")
	if err := os.WriteFile(blocker, []byte("a file where the directory should be"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := *NewOptions()
	opts.Path = filepath.Join(blocker, "accord.db")
	s, err := New(opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	ctx := context.Background()
	if err := s.Connect(ctx); err == nil || !strings.Contains(err.Error(), blocker) {
		t.Fatalf("Connect with a file in the way = %v, want an error naming %s", err, blocker)
	}
	if err := s.Write(ctx, []*event.Envelope{goodRecord("g")}); err == nil {
		t.Fatal("Write after a failed Connect succeeded")
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(ctx); err != nil {
		t.Fatalf("Connect once the way is clear: %v", err)
	}
	if err := s.Write(ctx, []*event.Envelope{goodRecord("g")}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, readDB(t, opts.Path), "events"); n != 1 {
		t.Errorf("events holds %d rows, want 1", n)
	}
}

// Close on a sink that never connected has nothing to release.
func TestCloseUnconnected(t *testing.T) {
	opts := *NewOptions()
	opts.Path = filepath.Join(t.TempDir(), "accord.db")
	s, err := New(opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(context.Background()); err == nil {
		t.Error("Connect after Close succeeded")
	}
}

func TestOpenRejectsForeignTable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accord.db")
	pre := readDB(t, path)
	if _, err := pre.Exec("CREATE TABLE events (id INTEGER PRIMARY KEY, body TEXT)"); err != nil {
		t.Fatal(err)
	}
	pre.Close()
	opts := *NewOptions()
	opts.Path = path
	_, err := Open(context.Background(), opts, nil)
	if err == nil || !strings.Contains(err.Error(), "events") {
		t.Fatalf("Open = %v, want an error naming table events", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Options)
		want []string // substrings of the error; none means valid
	}{
		{"defaults", func(*Options) {}, nil},
		{"full sync", func(o *Options) { o.Synchronous = "FULL" }, nil},
		{"empty path", func(o *Options) { o.Path = "" }, []string{"path: must not be empty", "accord-data/accord.db"}},
		{"memory", func(o *Options) { o.Path = ":memory:" }, []string{"path: \":memory:\" is not a file path"}},
		{"empty good table", func(o *Options) { o.GoodTable = "" }, []string{"good_table: must not be empty"}},
		{"bad table name", func(o *Options) { o.FailedTable = "failed-events; DROP" }, []string{"failed_table:", "letters, digits and underscores"}},
		{"reserved table name", func(o *Options) { o.GoodTable = "sqlite_events" }, []string{"good_table:", "reserves"}},
		{"same tables", func(o *Options) { o.FailedTable = "EVENTS" }, []string{"failed_table:", "also good_table"}},
		{"zero busy timeout", func(o *Options) { o.BusyTimeout = 0 }, []string{"busy_timeout:", "such as 5s"}},
		{"bad synchronous", func(o *Options) { o.Synchronous = "extra" }, []string{"synchronous: \"extra\"", "normal, full or off"}},
		{"every problem at once", func(o *Options) { o.Path = ""; o.Synchronous = "" }, []string{"path:", "synchronous:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOptions()
			tc.edit(o)
			err := o.Validate()
			check.ErrorSays(t, err, tc.want...)
		})
	}
}

func TestWriteWaitsForAnotherWriterThenFails(t *testing.T) {
	s, db, _ := openTest(t, func(o *Options) { o.BusyTimeout = 50 * time.Millisecond })
	ctx := context.Background()
	// Another program holding the write lock, such as a long UPDATE run by
	// hand on the file.
	other, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = s.Write(ctx, []*event.Envelope{goodRecord("g")})
	if err == nil || !strings.Contains(err.Error(), "begin transaction") {
		t.Fatalf("Write while another writer holds the lock = %v, want a begin transaction error", err)
	}
	if waited := time.Since(start); waited < 40*time.Millisecond {
		t.Errorf("Write gave up after %s, want it to wait busy_timeout (50ms)", waited)
	}
	if _, err := other.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	// Readers don't block the writer.
	rows, err := db.Query("SELECT event_id FROM events")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if err := s.Write(ctx, []*event.Envelope{goodRecord("g")}); err != nil {
		t.Fatalf("Write once the lock is free: %v", err)
	}
	rows.Close()
	if n := count(t, db, "events"); n != 1 {
		t.Errorf("events holds %d rows, want 1", n)
	}
}

// Delivery moves the sink's spool cursor only after Sync: with
// synchronous: normal that fsyncs the WAL, once for whatever was committed
// since the last time; with full every commit was synced already.
func TestSyncFsyncsTheWALOfNewCommits(t *testing.T) {
	for _, tc := range []struct {
		mode  string
		syncs int // after a write, a Sync with nothing new, and another write
	}{
		{"normal", 2},
		{"full", 0},
		{"off", 0},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			s, _, opts := openTest(t, func(o *Options) { o.Synchronous = tc.mode })
			var synced []string
			s.syncFile = func(path string) error {
				synced = append(synced, path)
				return fsyncFile(path)
			}
			ctx := context.Background()
			if err := s.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			if len(synced) != 0 {
				t.Fatalf("Sync before any write synced %q", synced)
			}
			for i, id := range []string{"a", "", "b"} {
				if id != "" {
					if err := s.Write(ctx, []*event.Envelope{goodRecord(id)}); err != nil {
						t.Fatal(err)
					}
				}
				if err := s.Sync(ctx); err != nil {
					t.Fatalf("Sync %d: %v", i, err)
				}
			}
			if len(synced) != tc.syncs {
				t.Fatalf("synced %q; want %d fsyncs of the WAL", synced, tc.syncs)
			}
			for _, p := range synced {
				if p != opts.Path+"-wal" {
					t.Errorf("synced %s, want the WAL %s-wal", p, opts.Path)
				}
			}
		})
	}
}

// Sync waits for no Write under way (delivery's cursor committer calls it
// while the runner writes the next batch), and still fsyncs for every
// Write that returned before it was called.
func TestSyncDoesNotWaitForAWriteUnderWay(t *testing.T) {
	s, _, _ := openTest(t, nil)
	var synced atomic.Int32
	s.syncFile = func(path string) error {
		synced.Add(1)
		return fsyncFile(path)
	}
	ctx := context.Background()
	if err := s.Write(ctx, []*event.Envelope{goodRecord("a")}); err != nil {
		t.Fatal(err)
	}
	// As a Write does for its whole batch.
	s.mu.Lock()
	defer s.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- s.Sync(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Sync waited for the lock a Write holds")
	}
	if synced.Load() != 1 {
		t.Errorf("Sync fsynced the WAL %d times for a Write that returned before it; want 1", synced.Load())
	}
}

// The writing connection caches 4 MiB of pages (writerCacheKiB), as
// docs/sinks/sqlite.md says; the checkpointer keeps SQLite's default.
func TestWriterPageCache(t *testing.T) {
	s, _, _ := openTest(t, nil)
	ctx := context.Background()
	got, err := s.queryInt(ctx, "PRAGMA cache_size")
	if err != nil {
		t.Fatal(err)
	}
	if got != -4096 {
		t.Errorf("the writer's cache_size = %d, want -4096 (KiB)", got)
	}
	rows, err := s.checkpointer.QueryContext(ctx, "PRAGMA cache_size", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	v := make([]driver.Value, 1)
	if err := rows.Next(v); err != nil {
		t.Fatal(err)
	}
	if v[0] != int64(-2000) {
		t.Errorf("the checkpointer's cache_size = %v, want SQLite's default, -2000", v[0])
	}
}

// The writer checkpoints the WAL itself only past walBackstopPages, as
// docs/sinks/sqlite.md says: while writes go on, SQLite never starts the
// WAL over by itself, however the checkpointer keeps up; at the mark it
// does, and the WAL stays near it; the file keeps the size it reached
// until the sink closes, which removes it. Shown at marks of a few
// pages, so that the test writes megabytes rather than hundreds of them.
func TestWALBackstop(t *testing.T) {
	ctx := context.Background()
	open := func() (*Sink, string) {
		s, _, opts := openTest(t, nil)
		return s, opts.Path + "-wal"
	}
	walSize := func(wal string) int64 {
		info, err := os.Stat(wal)
		if err != nil {
			t.Fatalf("the WAL file while the sink is open: %v", err)
		}
		return info.Size()
	}
	// fill writes 200 batches one after another with the writer's mark
	// set to mark pages, and returns the WAL's largest size meanwhile.
	fill := func(s *Sink, wal string, mark int) int64 {
		if _, err := s.conn.ExecContext(ctx, fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", mark), nil); err != nil {
			t.Fatal(err)
		}
		var largest int64
		writeGoodBatches(t, s, 200, func() { largest = max(largest, walSize(wal)) })
		return largest
	}

	s, wal := open()
	got, err := s.queryInt(ctx, "PRAGMA wal_autocheckpoint")
	if err != nil {
		t.Fatal(err)
	}
	if got != 32768 {
		t.Errorf("the writer's wal_autocheckpoint = %d, want 32768 pages (256 MiB of 8 KiB pages)", got)
	}
	// About 5,800-6,500 pages are written; a WAL started over would
	// stay far below.
	if largest := fill(s, wal, 1<<30); largest < 3000*8192 {
		t.Errorf("with no mark the WAL grew to %d bytes; want it never started over while writes went on (over %d)", largest, 3000*8192)
	}
	reached := walSize(wal)
	if err := s.Write(ctx, []*event.Envelope{goodRecord("after")}); err != nil {
		t.Fatal(err)
	}
	if size := walSize(wal); size < reached {
		t.Errorf("the WAL file shrank from %d to %d bytes while the sink was open; want it to keep its size", reached, size)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(wal); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the WAL file after Close: %v, want it removed", err)
	}

	s, wal = open()
	// 162-399 pages in runs of this test; 5,800-6,500 with no mark.
	const mark = 64
	if largest, limit := fill(s, wal, mark), int64(1024*8192); largest > limit {
		t.Errorf("the WAL grew to %d bytes with the writer's mark at %d pages; want it kept near the mark (at most %d)", largest, mark, limit)
	}
}

// A database the sink creates has 8 KiB pages (see pragmas); one that
// exists keeps its own, such as the 4 KiB an earlier Accord made, until
// converted as docs/sinks/sqlite.md says.
func TestPageSizeOfANewDatabase(t *testing.T) {
	_, db, opts := openTest(t, nil)
	var size int
	if err := db.QueryRow("PRAGMA page_size").Scan(&size); err != nil {
		t.Fatal(err)
	}
	if size != 8192 {
		t.Errorf("page_size of a new database = %d, want 8192", size)
	}
	old := filepath.Join(t.TempDir(), "old.db")
	odb := readDB(t, old)
	for _, q := range []string{"PRAGMA page_size = 4096", "CREATE TABLE t (x)"} {
		if _, err := odb.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	odb.Close()
	o := opts
	o.Path = old
	s, err := Open(context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), []*event.Envelope{goodRecord("x")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := readDB(t, old).QueryRow("PRAGMA page_size").Scan(&size); err != nil {
		t.Fatal(err)
	}
	if size != 4096 {
		t.Errorf("page_size of an existing 4 KiB-page database = %d after the sink wrote to it; want it kept", size)
	}
	// The conversion docs/sinks/sqlite.md gives, with Accord stopped:
	// the file then has 8 KiB pages, keeps its rows, and the sink goes
	// on writing to it.
	odb = readDB(t, old)
	odb.SetMaxOpenConns(1) // one connection, as the sqlite3 shell has
	for _, q := range []string{"PRAGMA journal_mode=DELETE", "PRAGMA page_size=8192", "VACUUM", "PRAGMA journal_mode=WAL"} {
		if _, err := odb.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := odb.QueryRow("PRAGMA page_size").Scan(&size); err != nil || size != 8192 {
		t.Errorf("page_size after the documented conversion = %d (%v), want 8192", size, err)
	}
	odb.Close()
	if s, err = Open(context.Background(), o, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), []*event.Envelope{goodRecord("y")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := readDB(t, old).QueryRow("SELECT count(*) FROM events WHERE event_id IN ('x', 'y')").Scan(&rows); err != nil || rows != 2 {
		t.Errorf("rows after the conversion and another write = %d (%v), want both", rows, err)
	}
}

// writeGoodBatches writes n batches of 100 good records, one after
// another, with ids b0-0 onwards, calling after (when not nil) after each.
func writeGoodBatches(t *testing.T, s *Sink, n int, after func()) {
	t.Helper()
	for b := range n {
		batch := make([]*event.Envelope, 100)
		for i := range batch {
			batch[i] = goodRecord(fmt.Sprintf("b%d-%d", b, i))
		}
		if err := s.Write(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
		if after != nil {
			after()
		}
	}
}

func TestWALIsCheckpointedWhileWriting(t *testing.T) {
	s, _, opts := openTest(t, nil)
	dbSize := func() int64 {
		info, err := os.Stat(opts.Path)
		if err != nil {
			t.Fatal(err)
		}
		return info.Size()
	}
	before := dbSize()
	// About 6 MiB of records: past checkpointEvery, far below the writer's
	// own wal_autocheckpoint backstop (walBackstopPages).
	writeGoodBatches(t, s, 60, nil)
	deadline := time.Now().Add(10 * time.Second)
	for dbSize() < before+4<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("database file is %d bytes after writing 6 MiB; the WAL was not checkpointed into it", dbSize())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A client that goes away cancels its request's context at any moment of a
// write. Whatever moment that is, the sink must be left able to write: a
// cancellation that interrupted BEGIN after it had opened the transaction
// once left every later write failing.
func TestCancelledWritesLeaveTheSinkWritable(t *testing.T) {
	s, db, _ := openTest(t, nil)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%50)*time.Microsecond)
				_ = s.Write(ctx, []*event.Envelope{goodRecord(fmt.Sprintf("c-%d-%d", w, i))})
				cancel()
			}
		}()
	}
	wg.Wait()
	if err := s.Write(context.Background(), []*event.Envelope{goodRecord("after")}); err != nil {
		t.Fatalf("write after cancelled writes: %v", err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM events WHERE event_id = 'after'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("record written after cancellations: %d %v", n, err)
	}
}

// A store created before a column existed gains it when the sink opens, and
// records written afterwards fill it.
func TestOpenAddsColumnsMissingFromOlderTables(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accord.db")
	old, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	var ddl []string
	for _, c := range columns.Good() {
		if c.Name != "replayed_at" {
			ddl = append(ddl, c.Name+" "+decl(c))
		}
	}
	if _, err := old.Exec("CREATE TABLE events (" + strings.Join(ddl, ", ") + ")"); err != nil {
		t.Fatal(err)
	}
	old.Close()

	opts := *NewOptions()
	opts.Path = path
	s, err := Open(context.Background(), opts, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("open a store from before replayed_at: %v", err)
	}
	rec := goodRecord("replayed-1")
	rec.ReplayedAt = event.Time{Time: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
	if err := s.Write(context.Background(), []*event.Envelope{rec}); err != nil {
		t.Fatal(err)
	}
	s.Close(context.Background())
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := row(t, db, "events", "replayed-1")["replayed_at"]; got != "2026-12-02T10:00:00.000000Z" {
		t.Errorf("replayed_at = %#v", got)
	}
}
