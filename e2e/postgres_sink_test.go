package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/testenv"
)

// pgSink gives a test a schema of its own in the test database (dropped
// when it ends) and the environment that makes a postgres sink write to it
// through dsn. Without a server the test is skipped, or fails under
// CI=true.
type pgSink struct {
	dsn, schema string
}

func pgTestDSN() string {
	if dsn := os.Getenv("ACCORD_TEST_POSTGRES_DSN"); dsn != "" {
		return dsn
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

func newPGSink(t *testing.T) *pgSink {
	t.Helper()
	dsn := pgTestDSN()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		testenv.Missing(t, "PostgreSQL at %s: %v", dsn, err)
	}
	conn.Close(ctx)
	p := &pgSink{dsn: dsn, schema: fmt.Sprintf("e2e_%d_%d", os.Getpid(), time.Now().UnixNano())}
	t.Cleanup(func() {
		if conn, err := pgx.Connect(context.Background(), dsn); err == nil {
			_, _ = conn.Exec(context.Background(), `DROP SCHEMA IF EXISTS "`+p.schema+`" CASCADE`)
			conn.Close(context.Background())
		}
	})
	return p
}

// env makes the postgres sink sinks[1] (beside the default sqlite store),
// connecting through dsn (the database's, or a proxy's).
func (p *pgSink) env(dsn string) []string {
	return []string{
		"ACCORD_SINKS_1_NAME=pg", "ACCORD_SINKS_1_TYPE=postgres", "ACCORD_SINKS_1_RECORDS=all",
		"ACCORD_SINKS_1_OPTIONS_DSN=" + dsn, "ACCORD_SINKS_1_OPTIONS_SCHEMA=" + p.schema,
		"ACCORD_SINKS_1_DELIVERY_BACKOFF_MIN=20ms", "ACCORD_SINKS_1_DELIVERY_BACKOFF_MAX=200ms",
		"ACCORD_CONTRACTS_RELOAD_INTERVAL=100ms",
	}
}

// query returns the rows of q in the test's schema, each row's values
// printed and joined by " ".
func (p *pgSink) query(t *testing.T, q string) []string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), p.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `SET search_path TO "`+p.schema+`"`); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(context.Background(), q)
	if err != nil {
		return []string{"error: " + err.Error()}
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = fmt.Sprint(v)
		}
		out = append(out, strings.Join(parts, " "))
	}
	if err := rows.Err(); err != nil {
		return []string{"error: " + err.Error()}
	}
	return out
}

func (p *pgSink) one(t *testing.T, q string) string {
	t.Helper()
	rows := p.query(t, q)
	if len(rows) != 1 {
		return fmt.Sprint(rows)
	}
	return rows[0]
}

func writeOrderContract(t *testing.T, dir, version, body string) {
	t.Helper()
	path := filepath.Join(dir, "contracts", "com.acme", "order", "jsonschema", version)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	doc := `{"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
  "self": {"vendor": "com.acme", "name": "order", "format": "jsonschema", "version": "` + version + `"},
  "x-accord": {"owner": "shop@example.com", "description": "An order was placed."},
  ` + body + `}`
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
}

const (
	orderV100 = `"type": "object", "required": ["order_id", "total"], "properties": {
    "order_id": {"type": "string"}, "total": {"type": "number"}, "items": {"type": "integer"},
    "placed_at": {"type": "string", "format": "date-time"}}`
	orderV101 = `"type": "object", "required": ["order_id", "total"], "properties": {
    "order_id": {"type": "string"}, "total": {"type": "number"}, "items": {"type": "integer"},
    "placed_at": {"type": "string", "format": "date-time"}, "coupon": {"type": "string"}}`
	orderV200 = `"type": "object", "required": ["order_id"], "properties": {"order_id": {"type": "integer"}}`
)

func orderEvent(id, version, data string) string {
	return `{"schema":"iglu:com.acme/order/jsonschema/` + version + `","event_id":"` + id + `","data":` + data + `}`
}

// waitForContract posts probe events of version until the collector
// judges one good: it has loaded the contract.
func waitForContract(t *testing.T, c *collector, version, data string) {
	t.Helper()
	n := 0
	eventually(t, 10*time.Second, version+" is loaded", func() bool {
		n++
		_, _, body := c.post("/events", "application/json", []byte(orderEvent(fmt.Sprintf("probe-%s-%d", version, n), version, data)))
		return decodeInto[collectResponse](t, body).Good == 1
	})
}

func postOK(t *testing.T, c *collector, body string) {
	t.Helper()
	if status, _, resp := c.post("/events", "application/json", []byte(body)); status != http.StatusOK {
		t.Fatalf("POST /events: %d %s", status, resp)
	}
}

// A contract's life in PostgreSQL, with the real binary: 1-0-0 gets a
// typed table at start and its events land typed; 1-0-1 adds an optional
// property, and the column appears with older rows NULL; 2-0-0 gets a new
// table and the old one is untouched; accord tables plan then has nothing
// to do. A poison row goes to the dead letter and the rest of its batch
// lands.
func TestPostgresSinkTypedTables(t *testing.T) {
	pg := newPGSink(t)
	dir := t.TempDir()
	writeOrderContract(t, dir, "1-0-0", orderV100)
	c := startCollector(t, dir, pg.env(pg.dsn)...)
	defer c.stop()

	eventually(t, 10*time.Second, "the typed table exists at start", func() bool {
		return pg.one(t, "SELECT to_regclass('com_acme_order_1') IS NOT NULL") == "true"
	})
	postOK(t, c, `[`+orderEvent("e1", "1-0-0", `{"order_id":"o-1","total":12.5,"items":3,"placed_at":"2026-12-04T10:11:12Z"}`)+`,`+
		orderEvent("e2", "1-0-0", `{"order_id":"o-2","total":1}`)+`]`)
	eventually(t, 10*time.Second, "both events in the typed table", func() bool {
		return pg.one(t, "SELECT count(*) FROM com_acme_order_1") == "2"
	})
	if got := pg.query(t, "SELECT event_id, order_id, total, items, placed_at = '2026-12-04T10:11:12Z' FROM com_acme_order_1 ORDER BY event_id"); strings.Join(got, "|") != "e1 o-1 12.5 3 true|e2 o-2 1 <nil> <nil>" {
		t.Errorf("typed rows: %q", got)
	}

	// 1-0-1: an optional property.
	writeOrderContract(t, dir, "1-0-1", orderV101)
	waitForContract(t, c, "1-0-1", `{"order_id":"probe","total":0}`)
	postOK(t, c, orderEvent("e3", "1-0-1", `{"order_id":"o-3","total":2,"coupon":"XMAS"}`))
	eventually(t, 10*time.Second, "the 1-0-1 event in the typed table", func() bool {
		return pg.one(t, "SELECT count(*) FROM com_acme_order_1 WHERE event_id = 'e3'") == "1"
	})
	if got := pg.query(t, "SELECT event_id, coupon FROM com_acme_order_1 WHERE event_id NOT LIKE 'probe%' ORDER BY event_id"); strings.Join(got, "|") != "e1 <nil>|e2 <nil>|e3 XMAS" {
		t.Errorf("after 1-0-1: %q", got)
	}

	// 2-0-0: a new table; MODEL 1's is untouched.
	writeOrderContract(t, dir, "2-0-0", orderV200)
	waitForContract(t, c, "2-0-0", `{"order_id":0}`)
	postOK(t, c, orderEvent("e4", "2-0-0", `{"order_id":4}`))
	eventually(t, 10*time.Second, "the 2-0-0 event in its table", func() bool {
		return pg.one(t, "SELECT event_id || ' ' || order_id FROM com_acme_order_2 WHERE event_id NOT LIKE 'probe%'") == "e4 4"
	})
	if got := pg.one(t, "SELECT count(*) FROM com_acme_order_1 WHERE event_id NOT LIKE 'probe%'"); got != "3" {
		t.Errorf("MODEL 1 table holds %s rows after 2-0-0, want 3", got)
	}

	// A poison row: an integer past bigint. The rest of its batch lands.
	postOK(t, c, `[`+orderEvent("p1", "1-0-1", `{"order_id":"o-5","total":5}`)+`,`+
		orderEvent("poison", "1-0-1", `{"order_id":"o-6","total":6,"items":100000000000000000000}`)+`,`+
		orderEvent("p3", "1-0-1", `{"order_id":"o-7","total":7}`)+`]`)
	dl := filepath.Join(dir, "accord-data", "dead-letter", "pg.ndjson")
	eventually(t, 15*time.Second, "the poison row in the dead letter", func() bool {
		_, err := os.Stat(dl)
		return err == nil && len(readNDJSON(t, dl)) == 1
	})
	eventually(t, 10*time.Second, "the rest of the batch stored", func() bool {
		return pg.one(t, "SELECT string_agg(event_id, ',' ORDER BY event_id) FROM com_acme_order_1 WHERE event_id IN ('p1', 'poison', 'p3')") == "p1,p3"
	})
	line := string(readNDJSON(t, dl)[0])
	if !strings.Contains(line, `poison`) || !strings.Contains(line, "bigint out of range") {
		t.Errorf("dead letter: %s; want the poison record with PostgreSQL's error", line)
	}

	// accord tables plan, against the live catalog: nothing to do.
	out, stderr, code := runAccordEnv(t, dir, pg.env(pg.dsn), nil, "tables", "plan")
	if code != 0 || !strings.Contains(out, "nothing to do") {
		t.Errorf("tables plan on an up-to-date database: exit %d\n%s%s", code, out, stderr)
	}
	// Every DDL statement recorded.
	// Every DDL statement recorded, with the contract change behind it.
	if got := pg.one(t, "SELECT count(*) || ' ' || min(reason) FROM accord_migrations WHERE statement LIKE 'ALTER TABLE \"com_acme_order_1\" ADD COLUMN \"coupon\"%' AND version = '1-0-1'"); !strings.HasPrefix(got, "1 property_added_") {
		t.Errorf("migrations of coupon: %s", got)
	}
}

// accord tables plan prints the DDL for a database that lacks the tables,
// changing nothing; apply runs it; plan then has nothing to do. A sink in
// plan-only mode stores nothing in a table that is out of date until the
// plan is applied.
func TestTablesPlanAndApply(t *testing.T) {
	pg := newPGSink(t)
	dir := t.TempDir()
	writeOrderContract(t, dir, "1-0-0", orderV100)
	env := append(pg.env(pg.dsn), "ACCORD_SINKS_1_OPTIONS_TABLES=plan-only")
	out, stderr, code := runAccordEnv(t, dir, env, nil, "tables", "plan")
	if code != 0 || !strings.Contains(out, `CREATE TABLE "com_acme_order_1"`) || !strings.Contains(out, "-- com.acme/order/1 1-0-0") {
		t.Fatalf("tables plan: exit %d\n%s%s", code, out, stderr)
	}
	if got := pg.one(t, "SELECT to_regclass('com_acme_order_1') IS NULL"); got != "true" {
		t.Errorf("tables plan created the table")
	}
	// The sqlite store beside it: the table it would create, its file
	// left uncreated.
	if !strings.Contains(out, "-- sink store, file accord-data/accord.db: would run 1 statements\n-- com.acme/order/1 1-0-0\n") {
		t.Errorf("tables plan without the sqlite store's typed table:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "accord-data", "accord.db")); !os.IsNotExist(err) {
		t.Errorf("tables plan created the sqlite file: %v", err)
	}

	c := startCollector(t, dir, env...)
	defer c.stop()
	postOK(t, c, orderEvent("e1", "1-0-0", `{"order_id":"o-1","total":1}`))
	eventually(t, 10*time.Second, "the sink says to run accord tables apply", func() bool {
		return strings.Contains(c.logs.String(), "accord tables apply")
	})
	if got := pg.one(t, "SELECT to_regclass('com_acme_order_1') IS NULL"); got != "true" {
		t.Errorf("a plan-only sink created the table")
	}

	out, stderr, code = runAccordEnv(t, dir, env, nil, "tables", "apply")
	if code != 0 || !strings.Contains(out, `CREATE TABLE "com_acme_order_1"`) {
		t.Fatalf("tables apply: exit %d\n%s%s", code, out, stderr)
	}
	eventually(t, 10*time.Second, "the held event lands once the plan is applied", func() bool {
		return pg.one(t, "SELECT count(*) FROM com_acme_order_1") == "1"
	})
	out, stderr, code = runAccordEnv(t, dir, env, nil, "tables", "plan", "--sink", "pg")
	if code != 0 || !strings.Contains(out, "nothing to do") {
		t.Errorf("tables plan after apply: exit %d\n%s%s", code, out, stderr)
	}
	// The sqlite store (tables: auto) made its typed table when the
	// collector started: apply and plan have nothing to do there.
	out, stderr, code = runAccordEnv(t, dir, env, nil, "tables", "apply", "--sink", "store")
	if code != 0 || !strings.Contains(out, "-- sink store, file accord-data/accord.db: nothing to do") {
		t.Errorf("tables apply --sink store after start: exit %d\n%s%s", code, out, stderr)
	}
	out, stderr, code = runAccordEnv(t, dir, env, nil, "tables", "plan", "--sink", "store")
	if code != 0 || !strings.Contains(out, "-- sink store, file accord-data/accord.db: nothing to do") {
		t.Errorf("tables plan --sink store after start: exit %d\n%s%s", code, out, stderr)
	}
}

// The database is unreachable when the collector starts: serve starts,
// answers 200, and delivers once the database is up; it goes away again
// and comes back, and nothing is lost.
func TestPostgresSinkDatabaseDown(t *testing.T) {
	pg := newPGSink(t)
	dir := t.TempDir()
	writeOrderContract(t, dir, "1-0-0", orderV100)
	target := strings.TrimPrefix(strings.SplitN(strings.TrimPrefix(pg.dsn, "postgres://"), "/", 2)[0], "postgres@")
	px := check.NewProxy(t, target)
	dsn := strings.Replace(pg.dsn, target, px.Addr, 1)
	c := startCollector(t, dir, pg.env(dsn)...)
	defer c.stop()

	for i := range 20 {
		postOK(t, c, orderEvent(fmt.Sprintf("down-%02d", i), "1-0-0", `{"order_id":"o","total":1}`))
	}
	eventually(t, 10*time.Second, "/stats shows why the sink is behind", func() bool {
		st := sinkStats(t, c.stats(), "pg")
		return strings.Contains(st.LastConnectError, "connect postgres sink")
	})
	if got := pg.one(t, "SELECT to_regclass('accord_events') IS NULL"); got != "true" {
		t.Fatalf("the sink reached the database through a proxy that is down")
	}
	px.Up(t)
	eventually(t, 20*time.Second, "every event delivered once the database is up", func() bool {
		return pg.one(t, "SELECT count(*) FROM com_acme_order_1") == "20"
	})
	// Down again, under writes; up again: nothing lost.
	px.Down()
	for i := range 20 {
		postOK(t, c, orderEvent(fmt.Sprintf("again-%02d", i), "1-0-0", `{"order_id":"o","total":1}`))
	}
	px.Up(t)
	eventually(t, 20*time.Second, "every event delivered after the second outage", func() bool {
		return pg.one(t, "SELECT count(*) FROM com_acme_order_1") == "40" && pg.one(t, "SELECT count(*) FROM accord_events") == "40"
	})
}

// Two collectors started at once against one empty schema: one set of
// tables, no error, each collector's events stored.
func TestPostgresSinkTwoCollectorsAtOnce(t *testing.T) {
	pg := newPGSink(t)
	dirs := []string{t.TempDir(), t.TempDir()}
	var cs []*collector
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, dir := range dirs {
		writeOrderContract(t, dir, "1-0-0", orderV100)
	}
	for _, dir := range dirs {
		wg.Go(func() {
			c := startCollector(t, dir, pg.env(pg.dsn)...)
			mu.Lock()
			cs = append(cs, c)
			mu.Unlock()
		})
	}
	wg.Wait()
	for i, c := range cs {
		postOK(t, c, orderEvent(fmt.Sprintf("c%d", i), "1-0-0", `{"order_id":"o","total":1}`))
	}
	eventually(t, 15*time.Second, "both collectors' events stored", func() bool {
		return pg.one(t, "SELECT count(*) FROM com_acme_order_1") == "2"
	})
	for _, c := range cs {
		c.stop()
		if strings.Contains(c.logs.String(), "level=ERROR") || strings.Contains(c.logs.String(), "sink connect failed") {
			t.Errorf("a collector logged an error:\n%s", c.logs)
		}
	}
	if got := pg.one(t, "SELECT count(*) FROM accord_migrations WHERE statement LIKE 'CREATE TABLE%'"); got != "3" {
		t.Errorf("CREATE TABLE statements: %s, want 3 (migrations, raw, typed)", got)
	}
}

// PostgreSQL goes away for 30 s while a client keeps sending a batch every
// 50 ms, connections dropped mid-transaction: every event the collector
// acknowledged is in the database once it is back, and none twice.
func TestPostgresSinkOutageUnderSteadyLoad(t *testing.T) {
	pg := newPGSink(t)
	dir := t.TempDir()
	writeOrderContract(t, dir, "1-0-0", orderV100)
	target := strings.TrimPrefix(strings.SplitN(strings.TrimPrefix(pg.dsn, "postgres://"), "/", 2)[0], "postgres@")
	px := check.NewProxy(t, target)
	px.Up(t)
	dsn := strings.Replace(pg.dsn, target, px.Addr, 1)
	c := startCollector(t, dir, pg.env(dsn)...)
	defer c.stop()

	// The sender posts 5 events every 50 ms and keeps the ids the
	// collector acknowledged (200); a refused or failed POST promises
	// nothing, so its ids are not counted.
	var (
		mu    sync.Mutex
		acked []string
		stop  = make(chan struct{})
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			ids := make([]string, 5)
			events := make([]string, 5)
			for i := range ids {
				ids[i] = fmt.Sprintf("s%04d-%d", n, i)
				events[i] = orderEvent(ids[i], "1-0-0", `{"order_id":"o","total":1}`)
			}
			req, err := http.NewRequest(http.MethodPost, c.URL+"/events", strings.NewReader("["+strings.Join(events, ",")+"]"))
			if err != nil {
				continue
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				mu.Lock()
				acked = append(acked, ids...)
				mu.Unlock()
			}
		}
	}()
	ackedSoFar := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acked)
	}

	eventually(t, 10*time.Second, "events flowing into the database before the outage", func() bool {
		return pg.one(t, "SELECT count(*) FROM com_acme_order_1") != "0"
	})
	px.Down()
	outageStart, before := time.Now(), ackedSoFar()
	eventually(t, 10*time.Second, "/stats shows the sink failing during the outage", func() bool {
		return sinkStats(t, c.stats(), "pg").LastConnectError != ""
	})
	time.Sleep(time.Until(outageStart.Add(30 * time.Second))) // the outage the test is about
	if during := ackedSoFar() - before; during < 100 {
		t.Errorf("only %d events acknowledged during the 30 s outage; the collector should keep accepting", during)
	}
	px.Up(t)
	time.Sleep(time.Second) // keep sending while the sink catches up
	close(stop)
	<-done

	want := ackedSoFar()
	eventually(t, 30*time.Second, "every acknowledged event stored after the outage", func() bool {
		return pg.one(t, "SELECT count(*) FROM accord_events") == fmt.Sprint(want) &&
			pg.one(t, "SELECT count(*) FROM com_acme_order_1") == fmt.Sprint(want)
	})
	mu.Lock()
	list := "'" + strings.Join(acked, "','") + "'"
	mu.Unlock()
	for _, table := range []string{"accord_events", "com_acme_order_1"} {
		if got := pg.one(t, "SELECT count(*) || ' ' || count(DISTINCT event_id) || ' ' || count(*) FILTER (WHERE event_id IN ("+list+")) FROM "+table); got != fmt.Sprintf("%d %d %d", want, want, want) {
			t.Errorf("%s: rows, distinct event ids, acknowledged ids = %s; want %d of each", table, got, want)
		}
	}
}
