package e2e

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/accord-events/accord/internal/loadgen"
	"github.com/accord-events/accord/internal/sink/kafka/kafkatest"
	"github.com/accord-events/accord/internal/testenv"
)

// loader is a running accord load.
type loader struct {
	t    *testing.T
	dir  string
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan error
	// URL is where it serves /healthz, /readyz, /stats and /metrics
	// (admin.addr, a free loopback port).
	URL string
}

// startLoader starts accord load in dir with extra environment, its HTTP
// routes on a free loopback port, and returns once it listens.
func startLoader(t *testing.T, dir string, env ...string) *loader {
	t.Helper()
	cmd := exec.Command(accordBin, "load")
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "ACCORD_ADMIN_ADDR=127.0.0.1:0"), env...)
	l := &loader{t: t, dir: dir, cmd: cmd, logs: &syncBuffer{}, done: make(chan error, 1)}
	pr, pw := io.Pipe()
	cmd.Stderr, cmd.Stdout = pw, l.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			l.logs.Write([]byte(sc.Text() + "\n"))
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	go func() {
		err := cmd.Wait()
		pw.Close()
		<-scanned
		l.done <- err
	}()
	t.Cleanup(func() {
		if l.cmd.ProcessState == nil {
			_ = l.cmd.Process.Kill()
			<-l.done
		}
	})
	select {
	case a := <-addr:
		l.URL = "http://" + a
	case err := <-l.done:
		t.Fatalf("accord load exited before listening: %v\n%s", err, l.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("accord load did not start listening in 30s\n%s", l.logs)
	}
	return l
}

// stop sends SIGTERM and waits for exit status 0.
func (l *loader) stop() {
	l.t.Helper()
	if err := l.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		l.t.Fatal(err)
	}
	select {
	case <-l.done:
		if code := l.cmd.ProcessState.ExitCode(); code != 0 {
			l.t.Fatalf("accord load exited with %v after SIGTERM\n%s", l.cmd.ProcessState, l.logs)
		}
	case <-time.After(30 * time.Second):
		l.t.Fatalf("accord load did not stop within 30s of SIGTERM\n%s", l.logs)
	}
}

// kill ends the loader with SIGKILL, as a crash would.
func (l *loader) kill() {
	l.t.Helper()
	if err := l.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		l.t.Fatal(err)
	}
	<-l.done
}

// eventIDs returns how many rows of the loader's SQLite store carry each
// event id (every event of these tests is good: the events table).
func (l *loader) eventIDs() map[string]int {
	l.t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(l.dir, "accord-data", "accord.db")+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		l.t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT event_id FROM events`)
	if err != nil {
		// Not yet created, or being created: nothing to count yet.
		if strings.Contains(err.Error(), "no such table") || strings.Contains(err.Error(), "unable to open") || strings.Contains(err.Error(), "SQLITE_BUSY") {
			return map[string]int{}
		}
		l.t.Fatal(err)
	}
	defer rows.Close()
	ids := map[string]int{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			l.t.Fatal(err)
		}
		ids[id]++
	}
	if err := rows.Err(); err != nil {
		l.t.Fatal(err)
	}
	return ids
}

// scaleLoad sends requests of batch checkout events, each with an event_id
// of the test's own, to the collectors, and records which were
// acknowledged (200).
type scaleLoad struct {
	batch int
	mu    sync.Mutex
	ids   map[int][]string // request number -> its event ids
	acked map[string]bool
}

func newScaleLoad(batch int) *scaleLoad {
	return &scaleLoad{batch: batch, ids: map[int][]string{}, acked: map[string]bool{}}
}

// run sends requests numbered from base on to url until n are answered.
func (s *scaleLoad) run(t *testing.T, url string, base, n int) loadgen.Result {
	t.Helper()
	res, err := loadgen.Run(context.Background(), loadgen.Options{
		URL: url + "/events", ContentType: "application/x-ndjson", EventsPerRequest: s.batch,
		Concurrency: 4, Duration: 60 * time.Second, MaxRequests: n,
		BodyOf: func(i int) []byte {
			var b bytes.Buffer
			ids := make([]string, s.batch)
			for j := range ids {
				ids[j] = uuid.NewString()
				fmt.Fprintf(&b, `{"schema":"iglu:com.example/checkout_completed/jsonschema/1-0-0","event_id":"%s","anonymous_id":"anon-%d","data":{"order_id":"ord-%d-%d","total":129.9,"currency":"EUR","coupon":null,"items":[{"sku":"sku-1","quantity":1,"price":99.9}]}}`+"\n", ids[j], (base+i)*s.batch+j, base+i, j)
			}
			s.mu.Lock()
			s.ids[base+i] = ids
			s.mu.Unlock()
			return b.Bytes()
		},
		Answered: func(i, status int) {
			if status != http.StatusOK {
				return
			}
			s.mu.Lock()
			for _, id := range s.ids[base+i] {
				s.acked[id] = true
			}
			s.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// waitAllStored waits until every acknowledged event is in what stored
// reads, polling every quarter second (reading every id of a store every
// few milliseconds would slow the loaders it waits for) for up to two
// minutes (a -race run on a loaded machine); on timeout it says how many
// are missing and names some.
func (s *scaleLoad) waitAllStored(t *testing.T, where string, stored func() map[string]bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		in := stored()
		var missing []string
		for id := range s.acked {
			if !in[id] {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 2m0s, %d of %d acknowledged events are not in %s, such as %.3q", len(missing), len(s.acked), where, missing)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// checkExactlyOnce checks that every acknowledged event is in the union
// of the loaders' stores, and reports the duplicates: rows of an event id
// beyond the first, counted across the stores (each store deduplicates
// its own rows on event_id).
func (s *scaleLoad) checkExactlyOnce(t *testing.T, loaders ...*loader) (duplicates int) {
	t.Helper()
	var union map[string]int
	s.waitAllStored(t, "a store", func() map[string]bool {
		union = map[string]int{}
		for _, l := range loaders {
			for id, n := range l.eventIDs() {
				union[id] += n
			}
		}
		in := map[string]bool{}
		for id := range union {
			in[id] = true
		}
		return in
	})
	for _, n := range union {
		duplicates += n - 1
	}
	return duplicates
}

// countDeliveries makes the PostgreSQL sink's raw table (accord_events,
// created by the sink when it connects) log every row written to it into
// deliveries, a table with no unique key: a BEFORE INSERT trigger fires for
// each row an INSERT ... ON CONFLICT (event_id) DO NOTHING proposes, the
// duplicates it then skips included, and its row is committed or rolled
// back with the sink's transaction. Called once the loaders run, before
// any event is sent.
func (p *pgSink) countDeliveries(t *testing.T) {
	t.Helper()
	eventually(t, 60*time.Second, "the loaders' postgres sink created accord_events", func() bool {
		return p.one(t, `SELECT count(*) FROM information_schema.tables WHERE table_schema = '`+p.schema+`' AND table_name = 'accord_events'`) == "1"
	})
	conn, err := pgx.Connect(context.Background(), p.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	q := `"` + p.schema + `"`
	for _, stmt := range []string{
		`CREATE TABLE ` + q + `.deliveries (event_id text NOT NULL)`,
		`CREATE FUNCTION ` + q + `.log_delivery() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO ` + q + `.deliveries VALUES (NEW.event_id::text); RETURN NEW; END $$`,
		`CREATE TRIGGER log_delivery BEFORE INSERT ON ` + q + `.accord_events FOR EACH ROW EXECUTE FUNCTION ` + q + `.log_delivery()`,
	} {
		if _, err := conn.Exec(context.Background(), stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
}

// checkExactlyOncePG checks that every acknowledged event is in the one
// PostgreSQL store exactly once, and returns the duplicates delivered to
// it before deduplication: rows written to deliveries beyond the first of
// each event id.
func (s *scaleLoad) checkExactlyOncePG(t *testing.T, pg *pgSink) (duplicates int) {
	t.Helper()
	var stored map[string]bool
	s.waitAllStored(t, "the PostgreSQL store", func() map[string]bool {
		stored = map[string]bool{}
		for _, row := range pg.query(t, `SELECT event_id::text FROM accord_events`) {
			stored[row] = true
		}
		return stored
	})
	if more := pg.query(t, `SELECT event_id::text, count(*) FROM accord_events GROUP BY event_id HAVING count(*) > 1`); len(more) > 0 {
		t.Errorf("event ids stored more than once: %.500v", more)
	}
	var delivered, distinct int
	if _, err := fmt.Sscan(pg.one(t, `SELECT count(*), count(DISTINCT event_id) FROM deliveries`), &delivered, &distinct); err != nil {
		t.Fatal(err)
	}
	if distinct != len(stored) {
		t.Errorf("deliveries logged %d distinct event ids, accord_events holds %d", distinct, len(stored))
	}
	return delivered - distinct
}

// The scale-out proof on Kafka: a three-broker kfake cluster (in this
// process, on loopback ports), two collectors with spool.kind kafka and two
// accord load processes writing to one PostgreSQL store take load from the load
// generator; one loader is killed with SIGKILL mid-stream. Every
// acknowledged event reaches a store (deduplicated on event_id, exactly
// once), and the duplicates delivered before deduplication are counted.
func TestScaleOutKafkaLoaderKilled(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	scaleOutLoaderKilled(t, "kafka",
		"ACCORD_SPOOL_KIND=kafka",
		"ACCORD_SPOOL_KAFKA_BROKERS=["+strings.Join(cluster.ListenAddrs(), ", ")+"]",
		"ACCORD_SPOOL_KAFKA_TOPIC=scaleout.log",
		"ACCORD_SPOOL_KAFKA_PARTITIONS=6",
		"ACCORD_SPOOL_KAFKA_REPLICATION_FACTOR=3",
		"ACCORD_SPOOL_KAFKA_SESSION_TIMEOUT=6s",
	)
}

// The same proof on JetStream: the real NATS server on this machine, a
// stream of the test's own (deleted after), each sink a durable pull
// consumer that both loaders pull from; the killed loader's records go to
// the other after ack_wait.
func TestScaleOutJetStreamLoaderKilled(t *testing.T) {
	natsURL := os.Getenv("ACCORD_TEST_NATS_URL")
	if natsURL == "" {
		natsURL = "nats://127.0.0.1:4222"
	}
	nc, err := natsgo.Connect(natsURL, natsgo.Timeout(3*time.Second))
	if err != nil {
		testenv.Missing(t, "NATS at %s is unreachable: %v", natsURL, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	stream := fmt.Sprintf("ACCORD_SCALEOUT_%d", time.Now().UnixNano())
	defer func() {
		if err := js.DeleteStream(context.Background(), stream); err != nil {
			t.Errorf("delete stream %s: %v", stream, err)
		}
	}()
	scaleOutLoaderKilled(t, "jetstream",
		"ACCORD_SPOOL_KIND=jetstream",
		"ACCORD_SPOOL_JETSTREAM_URLS=["+natsURL+"]",
		"ACCORD_SPOOL_JETSTREAM_STREAM="+stream,
		"ACCORD_SPOOL_JETSTREAM_SUBJECT_PREFIX="+strings.ToLower(stream),
		"ACCORD_SPOOL_JETSTREAM_ACK_WAIT=5s",
	)
}

// scaleOutLoaderKilled runs the proof on the shared log env configures:
// two collectors and two loaders writing to one PostgreSQL store (and each
// to a SQLite file of its own) take load from the load generator; once
// the loader a has written some of the second phase it is killed with
// SIGKILL. Every acknowledged event reaches the PostgreSQL store exactly
// once after deduplication on event_id (and the union of the SQLite
// files), and the duplicates delivered to PostgreSQL before deduplication
// are counted there (countDeliveries).
func scaleOutLoaderKilled(t *testing.T, kind string, env ...string) {
	pg := newPGSink(t)
	collectDir := newProject(t)
	c1 := startCollector(t, collectDir, env...)
	c2 := startCollector(t, collectDir, env...)
	// Both loaders write to one PostgreSQL schema (the sink pg), beside
	// a SQLite file of each one's own.
	loaderEnv := append(append([]string{}, env...), pg.env(pg.dsn)...)
	a := startLoader(t, newProject(t), loaderEnv...)
	b := startLoader(t, newProject(t), loaderEnv...)
	pg.countDeliveries(t)

	load := newScaleLoad(50)
	var wg sync.WaitGroup
	phase := func(base, requests int) {
		for i, c := range []*collector{c1, c2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res := load.run(t, c.URL, base+i*100000, requests)
				t.Logf("collector %d: %s", i+1, strings.TrimSpace(res.String()))
			}()
		}
	}
	// Phase one: both loaders join the group and settle.
	phase(0, 20)
	wg.Wait()
	load.checkExactlyOnce(t, a, b)
	before := len(a.eventIDs())
	// Phase two: the loader a is killed as soon as it has written some
	// of it, in the middle of the stream.
	phase(1000000, 40)
	deadline := time.Now().Add(40 * time.Second)
	for len(a.eventIDs()) <= before {
		if time.Now().After(deadline) {
			t.Fatalf("loader a wrote nothing of the second phase within 40s\nloader a:\n%s\nloader b:\n%s", a.logs, b.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	a.kill()
	wg.Wait()
	if len(load.acked) < 6000 {
		t.Errorf("%d events acknowledged of 6000 sent with the brokers up", len(load.acked))
	}
	dups := load.checkExactlyOnce(t, a, b)
	pgDups := load.checkExactlyOncePG(t, pg)
	t.Logf("%s: %d events acknowledged, every one in the SQLite stores after deduplication on event_id (%d duplicates across the two files) and exactly once in the one PostgreSQL store, to which %d duplicates were delivered before deduplication", kind, len(load.acked), dups, pgDups)
	b.stop()
	c1.stop()
	c2.stop()
}

// A collector with spool.kind kafka whose brokers are away at start starts
// all the same, says why in its log and on /readyz, and answers 503 with
// Retry-After (nothing acknowledged) until the brokers answer; then it
// takes events, which are in the topic. A record larger than
// spool.kafka.max_record_bytes is answered 413 at once; when the brokers go
// away again, requests are answered 503, never 200.
func TestScaleOutKafkaBrokerAway(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	c := startCollectorUnready(t, newProject(t),
		"ACCORD_SPOOL_KIND=kafka", "ACCORD_SPOOL_KAFKA_BROKERS=["+addr+"]", "ACCORD_SPOOL_KAFKA_TOPIC=away.log",
		"ACCORD_SPOOL_KAFKA_PARTITIONS=1", "ACCORD_SPOOL_KAFKA_TIMEOUT=3s", "ACCORD_SPOOL_KAFKA_MAX_RECORD_BYTES=8192")
	body := []byte(`{"schema":"` + pageViewKey + `","data":{"url":"https://a.example/1"}}`)
	status, _, ready := httpDo(t, http.MethodGet, c.URL+"/readyz", nil)
	if status != http.StatusServiceUnavailable || !strings.Contains(ready, addr) {
		t.Errorf("/readyz with the brokers away: %d %s, want 503 naming the brokers", status, ready)
	}
	status, header, resp := c.post("/events", "application/json", body)
	if status != http.StatusServiceUnavailable || header.Get("Retry-After") == "" {
		t.Errorf("POST with the brokers away: %d (Retry-After %q) %s, want 503 with Retry-After", status, header.Get("Retry-After"), resp)
	}
	eventually(t, 10*time.Second, "the log names the brokers away", func() bool {
		return strings.Contains(c.logs.String(), "kafka log unavailable") && strings.Contains(c.logs.String(), addr)
	})

	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cluster.Close() }()
	eventually(t, 30*time.Second, "the collector is ready once the brokers answer", func() bool {
		status, _, _ := httpDo(t, http.MethodGet, c.URL+"/readyz", nil)
		return status == http.StatusOK
	})
	if status, _, resp := c.post("/events", "application/json", body); status != http.StatusOK {
		t.Fatalf("POST with the brokers up: %d %s", status, resp)
	}
	got := kafkatest.Read(t, []string{addr}, []string{"away.log"})
	if n := len(got["away.log"]); n != 1 {
		t.Errorf("%d records in the topic, want the one acknowledged", n)
	}

	start := time.Now()
	huge := []byte(`{"schema":"` + pageViewKey + `","data":{"url":"https://a.example/` + strings.Repeat("x", 10000) + `"}}`)
	if status, _, resp := c.post("/events", "application/json", huge); status != http.StatusRequestEntityTooLarge {
		t.Errorf("POST of a record over max_record_bytes: %d %s, want 413", status, resp)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the refusal took %s", d)
	}

	cluster.Close()
	eventually(t, 30*time.Second, "requests are refused once the brokers are gone", func() bool {
		status, header, _ := c.post("/events", "application/json", body)
		if status == http.StatusOK {
			return false
		}
		if status != http.StatusServiceUnavailable || header.Get("Retry-After") == "" {
			t.Fatalf("POST with the brokers gone: %d, want 503 with Retry-After", status)
		}
		return true
	})
	c.stop()
}

// A collector with spool.kind kafka holds at most
// spool.kafka.max_in_flight_bytes of records waiting for the brokers: while
// the brokers hold a request's records unacknowledged, a request that
// would pass the bound is answered 503 with Retry-After at once, and the
// first is answered 200 once the brokers acknowledge.
func TestScaleOutKafkaBackpressure(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	release := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	defer free()
	c := startCollector(t, newProject(t),
		"ACCORD_SPOOL_KIND=kafka", "ACCORD_SPOOL_KAFKA_BROKERS=["+cluster.ListenAddrs()[0]+"]", "ACCORD_SPOOL_KAFKA_TOPIC=bp.log",
		"ACCORD_SPOOL_KAFKA_PARTITIONS=1", "ACCORD_SPOOL_KAFKA_MAX_RECORD_BYTES=2048", "ACCORD_SPOOL_KAFKA_MAX_IN_FLIGHT_BYTES=2048")
	// From now on the brokers hold every produce request until released.
	held := make(chan struct{}, 1)
	cluster.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		select {
		case held <- struct{}{}:
		default:
		}
		cluster.SleepControl(func() { <-release })
		return nil, nil, false
	})
	body := []byte(`{"schema":"` + pageViewKey + `","data":{"url":"https://a.example/` + strings.Repeat("p", 1100) + `"}}`)
	first := make(chan int, 1)
	go func() {
		status, _, _ := httpDo(t, http.MethodPost, c.URL+"/events", body, "Content-Type", "application/json")
		first <- status
	}()
	// The first request's record is at the brokers, unacknowledged.
	select {
	case <-held:
	case <-time.After(20 * time.Second):
		t.Fatalf("the first request never reached the brokers\n%s", c.logs)
	}
	refused := false
	for try := 0; try < 20 && !refused; try++ {
		status, header, resp := httpDo(t, http.MethodPost, c.URL+"/events", body, "Content-Type", "application/json")
		switch {
		case status == http.StatusServiceUnavailable && header.Get("Retry-After") != "":
			refused = strings.Contains(resp, "cannot take more events")
			if !refused {
				t.Fatalf("503 for another reason (try %d): %s\n%s", try, resp, c.logs)
			}
		default:
			t.Fatalf("POST past max_in_flight_bytes: %d %s", status, resp)
		}
	}
	if !refused {
		t.Error("no request was refused past max_in_flight_bytes")
	}
	free()
	select {
	case status := <-first:
		if status != http.StatusOK {
			t.Errorf("the first request: %d once the brokers acknowledged, want 200", status)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the first request was not answered")
	}
	c.stop()
}
