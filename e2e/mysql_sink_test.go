package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/testenv"
)

// mySink gives a test a database of its own on the test server (dropped
// when it ends) and the environment that makes a mysql sink write to it.
// Without a server the test is skipped, or fails under CI=true.
type mySink struct {
	cfg *mysql.Config
}

func newMySink(t *testing.T) *mySink {
	t.Helper()
	server := os.Getenv("ACCORD_TEST_MYSQL_DSN")
	if server == "" {
		server = "root@tcp(127.0.0.1:3306)/"
	}
	cfg, err := mysql.ParseDSN(server)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		testenv.Missing(t, "MySQL at %s: %v", cfg.Addr, err)
	}
	cfg.DBName = fmt.Sprintf("e2e_%d_%d", os.Getpid(), time.Now().UnixNano())
	if _, err := db.ExecContext(ctx, "CREATE DATABASE `"+cfg.DBName+"`"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		root := *cfg
		root.DBName = ""
		if db, err := sql.Open("mysql", root.FormatDSN()); err == nil {
			_, _ = db.Exec("DROP DATABASE IF EXISTS `" + cfg.DBName + "`")
			db.Close()
		}
	})
	return &mySink{cfg: cfg}
}

// dsn is the test database's DSN, through addr (the server's, or a
// proxy's) when given.
func (m *mySink) dsn(addr string) string {
	c := *m.cfg
	if addr != "" {
		c.Addr = addr
	}
	return c.FormatDSN()
}

// env makes the mysql sink sinks[1] (beside the default sqlite store),
// connecting through dsn.
func (m *mySink) env(dsn string) []string {
	return []string{
		"ACCORD_SINKS_1_NAME=my", "ACCORD_SINKS_1_TYPE=mysql", "ACCORD_SINKS_1_RECORDS=all",
		"ACCORD_SINKS_1_OPTIONS_DSN=" + dsn,
		"ACCORD_SINKS_1_DELIVERY_BACKOFF_MIN=20ms", "ACCORD_SINKS_1_DELIVERY_BACKOFF_MAX=200ms",
		"ACCORD_CONTRACTS_RELOAD_INTERVAL=100ms",
	}
}

// one returns the single row of q, its values joined by " ", or what came
// instead.
func (m *mySink) one(t *testing.T, q string) string {
	t.Helper()
	db, err := sql.Open("mysql", m.dsn(""))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(q)
	if err != nil {
		return "error: " + err.Error()
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		dest := make([]any, len(cols))
		for i := range vals {
			dest[i] = &vals[i]
		}
		if err := rows.Scan(dest...); err != nil {
			return "error: " + err.Error()
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = "<nil>"
			if v.Valid {
				parts[i] = v.String
			}
		}
		out = append(out, strings.Join(parts, " "))
	}
	if len(out) != 1 {
		return fmt.Sprint(out)
	}
	return out[0]
}

// A contract's life in MariaDB, with the real binary: 1-0-0 gets a typed
// table at start and its events land typed; 1-0-1 adds an optional
// property, and the column appears with older rows NULL; 2-0-0 gets a new
// table and the old one is untouched; a poison row goes to the dead letter
// and the rest of its batch lands; accord tables plan has nothing to do.
func TestMySQLSinkTypedTables(t *testing.T) {
	my := newMySink(t)
	dir := t.TempDir()
	writeOrderContract(t, dir, "1-0-0", orderV100)
	c := startCollector(t, dir, my.env(my.dsn(""))...)
	defer c.stop()

	eventually(t, 10*time.Second, "the typed table exists at start", func() bool {
		return my.one(t, "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'com_acme_order_1'") == "1"
	})
	postOK(t, c, `[`+orderEvent("e1", "1-0-0", `{"order_id":"o-1","total":12.5,"items":3,"placed_at":"2026-12-04T10:11:12Z"}`)+`,`+
		orderEvent("e2", "1-0-0", `{"order_id":"o-2","total":1}`)+`]`)
	eventually(t, 10*time.Second, "both events in the typed table", func() bool {
		return my.one(t, "SELECT count(*) FROM com_acme_order_1") == "2"
	})
	if got := my.one(t, "SELECT GROUP_CONCAT(CONCAT_WS(' ', event_id, order_id, total, COALESCE(items, '<nil>'), COALESCE(placed_at, '<nil>')) ORDER BY event_id SEPARATOR '|') FROM com_acme_order_1"); got != "e1 o-1 12.5 3 2026-12-04 10:11:12.000000|e2 o-2 1 <nil> <nil>" {
		t.Errorf("typed rows: %q", got)
	}

	writeOrderContract(t, dir, "1-0-1", orderV101)
	waitForContract(t, c, "1-0-1", `{"order_id":"probe","total":0}`)
	postOK(t, c, orderEvent("e3", "1-0-1", `{"order_id":"o-3","total":2,"coupon":"XMAS"}`))
	eventually(t, 10*time.Second, "the 1-0-1 event in the typed table", func() bool {
		return my.one(t, "SELECT count(*) FROM com_acme_order_1 WHERE event_id = 'e3'") == "1"
	})
	if got := my.one(t, "SELECT GROUP_CONCAT(CONCAT_WS(' ', event_id, COALESCE(coupon, '<nil>')) ORDER BY event_id SEPARATOR '|') FROM com_acme_order_1 WHERE event_id NOT LIKE 'probe%'"); got != "e1 <nil>|e2 <nil>|e3 XMAS" {
		t.Errorf("after 1-0-1: %q", got)
	}

	writeOrderContract(t, dir, "2-0-0", orderV200)
	waitForContract(t, c, "2-0-0", `{"order_id":0}`)
	postOK(t, c, orderEvent("e4", "2-0-0", `{"order_id":4}`))
	eventually(t, 10*time.Second, "the 2-0-0 event in its table", func() bool {
		return my.one(t, "SELECT CONCAT(event_id, ' ', order_id) FROM com_acme_order_2 WHERE event_id NOT LIKE 'probe%'") == "e4 4"
	})
	if got := my.one(t, "SELECT count(*) FROM com_acme_order_1 WHERE event_id NOT LIKE 'probe%'"); got != "3" {
		t.Errorf("MODEL 1 table holds %s rows after 2-0-0, want 3", got)
	}

	// A poison row: an integer past BIGINT. The rest of its batch lands.
	postOK(t, c, `[`+orderEvent("p1", "1-0-1", `{"order_id":"o-5","total":5}`)+`,`+
		orderEvent("poison", "1-0-1", `{"order_id":"o-6","total":6,"items":100000000000000000000}`)+`,`+
		orderEvent("p3", "1-0-1", `{"order_id":"o-7","total":7}`)+`]`)
	dl := filepath.Join(dir, "accord-data", "dead-letter", "my.ndjson")
	eventually(t, 15*time.Second, "the poison row in the dead letter", func() bool {
		_, err := os.Stat(dl)
		return err == nil && len(readNDJSON(t, dl)) == 1
	})
	eventually(t, 10*time.Second, "the rest of the batch stored", func() bool {
		return my.one(t, "SELECT GROUP_CONCAT(event_id ORDER BY event_id) FROM com_acme_order_1 WHERE event_id IN ('p1', 'poison', 'p3')") == "p1,p3"
	})
	line := string(readNDJSON(t, dl)[0])
	if !strings.Contains(line, `poison`) || !strings.Contains(line, "Out of range value for column") {
		t.Errorf("dead letter: %s; want the poison record with the server's error", line)
	}

	out, stderr, code := runAccordEnv(t, dir, my.env(my.dsn("")), nil, "tables", "plan")
	if code != 0 || !strings.Contains(out, "-- sink my, database "+my.cfg.DBName+": nothing to do") {
		t.Errorf("tables plan on an up-to-date database: exit %d\n%s%s", code, out, stderr)
	}
}

// The database is unreachable when the collector starts: serve starts,
// answers 200, and delivers once the database is up; it goes away again
// and comes back, and nothing is lost.
func TestMySQLSinkDatabaseDown(t *testing.T) {
	my := newMySink(t)
	dir := t.TempDir()
	writeOrderContract(t, dir, "1-0-0", orderV100)
	px := check.NewProxy(t, my.cfg.Addr)
	c := startCollector(t, dir, my.env(my.dsn(px.Addr))...)
	defer c.stop()

	for i := range 20 {
		postOK(t, c, orderEvent(fmt.Sprintf("down-%02d", i), "1-0-0", `{"order_id":"o","total":1}`))
	}
	eventually(t, 10*time.Second, "/stats shows why the sink is behind", func() bool {
		return strings.Contains(sinkStats(t, c.stats(), "my").LastConnectError, "connect mysql sink")
	})
	if got := my.one(t, "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE()"); got != "0" {
		t.Fatalf("the sink reached the database through a proxy that is down: %s tables", got)
	}
	px.Up(t)
	eventually(t, 20*time.Second, "every event delivered once the database is up", func() bool {
		return my.one(t, "SELECT count(*) FROM com_acme_order_1") == "20"
	})
	px.Down()
	for i := range 20 {
		postOK(t, c, orderEvent(fmt.Sprintf("again-%02d", i), "1-0-0", `{"order_id":"o","total":1}`))
	}
	px.Up(t)
	eventually(t, 30*time.Second, "every event delivered after the second outage", func() bool {
		return my.one(t, "SELECT count(*) FROM com_acme_order_1") == "40" && my.one(t, "SELECT count(*) FROM accord_events") == "40"
	})
}

// Two collectors started at once against one empty MariaDB database: they
// take turns under GET_LOCK, so there is one set of tables, no error, and
// each collector's events are stored.
func TestMySQLSinkTwoCollectorsAtOnce(t *testing.T) {
	my := newMySink(t)
	dirs := []string{t.TempDir(), t.TempDir()}
	var cs []*collector
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, dir := range dirs {
		writeOrderContract(t, dir, "1-0-0", orderV100)
	}
	for _, dir := range dirs {
		wg.Go(func() {
			c := startCollector(t, dir, my.env(my.dsn(""))...)
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
		return my.one(t, "SELECT count(*) FROM com_acme_order_1") == "2"
	})
	for _, c := range cs {
		c.stop()
		if strings.Contains(c.logs.String(), "level=ERROR") || strings.Contains(c.logs.String(), "sink connect failed") {
			t.Errorf("a collector logged an error:\n%s", c.logs)
		}
	}
	if got := my.one(t, "SELECT count(*) FROM accord_migrations WHERE statement LIKE 'CREATE TABLE%'"); got != "3" {
		t.Errorf("CREATE TABLE statements: %s, want 3 (migrations, raw, typed)", got)
	}
	if got := my.one(t, "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE()"); got != "3" {
		t.Errorf("tables in the database: %s, want 3 (migrations, raw, typed)", got)
	}
}
