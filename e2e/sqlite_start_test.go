package e2e

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// With thousands of contracts the SQLite default creates no typed table at
// start (each comes with its contract's first event): a SIGTERM just after
// start stops the collector within its deadlines, and the first event of a
// contract is stored at once. The sink used to create every contract's
// table when it connected: with these 3,000 contracts the event below was
// not stored 10 s later (this test failed so at b52cda8), with 10,000 the
// tables took minutes and 390 MB.
func TestSigtermDuringStartWithManyContracts(t *testing.T) {
	const n = 3000
	dir := newProject(t)
	for i := range n {
		key := fmt.Sprintf("iglu:com.acme.many/event_%d/jsonschema/1-0-0", i)
		writeContract(t, dir, key, fmt.Sprintf(`{"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
			"self": {"vendor": "com.acme.many", "name": "event_%d", "format": "jsonschema", "version": "1-0-0"},
			"type": "object", "properties": {"id": {"type": "string"}, "amount": {"type": "number"}, "at": {"type": "string", "format": "date-time"}}}`, i))
	}
	// Ready: the sink connects in the background, as a store that is down
	// at start never stops the collector.
	c := startCollector(t, dir, "ACCORD_SERVER_SHUTDOWN_TIMEOUT=2s", "ACCORD_SPOOL_DRAIN_TIMEOUT=2s")
	began := time.Now()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("accord serve did not stop within 30s of a SIGTERM just after start\n%s", c.logs)
	}
	took := time.Since(began)
	if code := c.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit %d after SIGTERM; want 0\n%s", code, c.logs)
	}
	if took > 6*time.Second {
		t.Errorf("stopping took %s, past the 2s deadlines", took)
	}
	t.Logf("stopped %s after SIGTERM", took)

	// Started again, it stores an event of one contract: that contract's
	// table is made then, and no other.
	c2 := startCollector(t, dir)
	status, _, body := c2.post("/events", "application/json", []byte(`{"schema":"iglu:com.acme.many/event_7/jsonschema/1-0-0","event_id":"many-1","data":{"id":"x","amount":1.5,"at":"2026-12-05T10:00:00Z"}}`))
	if status/100 != 2 {
		t.Fatalf("POST /events: %d %s", status, body)
	}
	db := openStore(t, dir)
	eventually(t, 10*time.Second, "the event in com_acme_many_event_7_1", func() bool {
		var amount float64
		return db.QueryRow("SELECT amount FROM com_acme_many_event_7_1 WHERE event_id = 'many-1'").Scan(&amount) == nil && amount == 1.5
	})
	var tablesMade int
	if err := db.QueryRow("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name LIKE 'com_acme_many_%'").Scan(&tablesMade); err != nil {
		t.Fatal(err)
	}
	if tablesMade != 1 {
		t.Errorf("%d typed tables of the %d contracts; want 1, the one with an event", tablesMade, n)
	}
	c2.stop()
	if strings.Contains(c2.logs.String(), "level=ERROR") {
		t.Errorf("errors in the log:\n%s", c2.logs)
	}
}
