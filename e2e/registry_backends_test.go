package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/registry"
	"github.com/accord-events/accord/internal/testenv"
)

// rbSchema is a contract that lives only in a backend, never in the
// project's contracts directory.
func rbSchema(vendor, name string) string {
	return `{"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
 "self": {"vendor": "` + vendor + `", "name": "` + name + `", "format": "jsonschema", "version": "1-0-0"},
 "type": "object", "properties": {"sku": {"type": "string", "maxLength": 8}}, "required": ["sku"], "additionalProperties": false}`
}

// rbSend posts one self-describing event and returns the answer's counts.
func rbSend(t *testing.T, c *collector, key, data string) collectResponse {
	t.Helper()
	status, _, body := c.post("/events", "application/json", []byte(`{"schema":"`+key+`","data":`+data+`}`))
	if status != http.StatusOK {
		t.Fatalf("%d %s", status, body)
	}
	return decodeInto[collectResponse](t, body)
}

// A schema the collector does not hold is fetched from an Iglu repository
// (static layout), validated against, cached, and served by the registry
// API; an unknown key is asked for once and then answered from the
// negative cache.
func TestRegistryIgluStaticBackend(t *testing.T) {
	var fetches, misses atomic.Int64
	repo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/schemas/com.remote/sku_viewed/jsonschema/1-0-0" {
			fetches.Add(1)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, rbSchema("com.remote", "sku_viewed"))
			return
		}
		misses.Add(1)
		http.NotFound(w, r)
	}))
	defer repo.Close()
	dir := newProject(t)
	c := startCollector(t, dir, "ACCORD_CONTRACTS_BACKENDS_0_TYPE=iglu", "ACCORD_CONTRACTS_BACKENDS_0_URL="+repo.URL)

	key := "iglu:com.remote/sku_viewed/jsonschema/1-0-0"
	for i := 0; i < 5; i++ {
		if got := rbSend(t, c, key, `{"sku":"A-1"}`); got.Good != 1 {
			t.Fatalf("event of a remote contract: %+v", got)
		}
	}
	if got := rbSend(t, c, key, `{"sku":"far too long"}`); got.Failed != 1 || got.Failures[0].Type != "schema_violation" {
		t.Errorf("an event breaking the remote contract: %+v", got)
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("the repository was asked %d times for the contract; want 1 (cached)", n)
	}
	status, _, body := c.post("/api/validation/validate/instance", "application/json", []byte(`{"schema":"`+key+`","data":{"sku":"B"}}`))
	if status != http.StatusOK || !strings.Contains(string(body), `"valid":true`) {
		t.Errorf("validate against the remote contract: %d %s", status, body)
	}
	unknown := "iglu:com.remote/nothing/jsonschema/1-0-0"
	for i := 0; i < 5; i++ {
		if got := rbSend(t, c, unknown, `{}`); got.Failed != 1 || got.Failures[0].Type != "schema_not_found" {
			t.Fatalf("an unknown key: %+v", got)
		}
	}
	if n := misses.Load(); n != 1 {
		t.Errorf("the repository was asked %d times for an unknown key; want 1 (negative cache)", n)
	}
	// The purge empties the cache: the next event fetches again.
	if status, _, body := c.post("/api/cache/purge", "", nil); status != http.StatusOK {
		t.Fatalf("purge: %d %s", status, body)
	}
	rbSend(t, c, key, `{"sku":"A-2"}`)
	if n := fetches.Load(); n != 2 {
		t.Errorf("after the purge the repository was asked %d times in all; want 2", n)
	}
	c.stop()
}

// A schema stored in PostgreSQL (the real server) resolves for events.
func TestRegistryPostgresBackend(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pg, backend := postgresBackend(t, "accord_e2e_schemas")
	key, err := contract.ParseKey("iglu:com.pg/order_placed/jsonschema/1-0-0")
	if err != nil {
		t.Fatal(err)
	}
	if err := pg.Put(ctx, key, []byte(rbSchema("com.pg", "order_placed"))); err != nil {
		t.Fatal(err)
	}
	dir := newProject(t)
	c := startCollector(t, dir, backend...)
	if got := rbSend(t, c, key.String(), `{"sku":"P-1"}`); got.Good != 1 {
		t.Errorf("event of a contract stored in PostgreSQL: %+v", got)
	}
	if got := rbSend(t, c, key.String(), `{"sku":7}`); got.Failed != 1 || got.Failures[0].Type != "schema_violation" {
		t.Errorf("an event breaking it: %+v", got)
	}
	c.stop()
}

// accord replay resolves contracts as the collector does, through
// contracts.backends: an event the collector failed as schema_not_found
// (its contract not yet published) is good when replayed once the contract
// is in the PostgreSQL backend, though contracts.dir never holds it.
func TestReplayResolvesThroughPostgresBackend(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pg, backend := postgresBackend(t, "accord_e2e_replay_schemas")
	key, err := contract.ParseKey("iglu:com.pg/refund_issued/jsonschema/1-0-0")
	if err != nil {
		t.Fatal(err)
	}

	dir := newProject(t)
	c := startCollector(t, dir, backend...)
	status, _, body := c.post("/events", "application/json", []byte(`{"schema":"`+key.String()+`","event_id":"pg-replay-1","data":{"sku":"R-1"}}`))
	if status != http.StatusOK {
		t.Fatalf("%d %s", status, body)
	}
	if got := decodeInto[collectResponse](t, body); got.Failed != 1 || got.Failures[0].Type != "schema_not_found" {
		t.Fatalf("an event of an unpublished contract: %+v", got)
	}
	waitDelivered(t, c, 10*time.Second)
	c.stop()

	// The contract is published to the backend only.
	if err := pg.Put(ctx, key, []byte(rbSchema("com.pg", "refund_issued"))); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runAccordEnv(t, dir, backend, nil, "replay", "--from-sink", "store", "--type", "schema_not_found", "--format", "json")
	if code != 0 {
		t.Fatalf("replay: exit %d\n%s%s", code, out, stderr)
	}
	var rep struct{ Read, Replayed, Good, Failed int }
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Read != 1 || rep.Good != 1 {
		t.Fatalf("replay report %s (%v); want the record good against the backend's contract\n%s", out, err, stderr)
	}
	var replayedAt string
	if err := openStore(t, dir).QueryRow("SELECT replayed_at FROM events WHERE event_id = ?", "pg-replay-1").Scan(&replayedAt); err != nil || replayedAt == "" {
		t.Fatalf("pg-replay-1 not stored good after replay: %v (replayed_at %q)", err, replayedAt)
	}
}

// postgresBackend creates a schema table of its own in the test database
// (dropped at the end of the test) and returns it with the environment that
// makes it contracts.backends[0]. Without a server the test is skipped, or
// fails under CI=true.
func postgresBackend(t *testing.T, prefix string) (*registry.Postgres, []string) {
	t.Helper()
	dsn := os.Getenv("ACCORD_TEST_POSTGRES_DSN")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	table := fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano())
	pg, err := registry.OpenPostgres(ctx, dsn, table)
	if err != nil {
		testenv.Missing(t, "PostgreSQL at %s: %v", dsn, err)
	}
	t.Cleanup(func() {
		pg.Close()
		if conn, err := pgx.Connect(context.Background(), dsn); err == nil {
			_, _ = conn.Exec(context.Background(), "DROP TABLE IF EXISTS "+table)
			conn.Close(context.Background())
		}
	})
	return pg, []string{"ACCORD_CONTRACTS_BACKENDS_0_TYPE=postgres", "ACCORD_CONTRACTS_BACKENDS_0_DSN=" + dsn, "ACCORD_CONTRACTS_BACKENDS_0_TABLE=" + table}
}
