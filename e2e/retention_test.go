package e2e

import (
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/sink/retention"
)

// The sqlite sink's retention removes rows older than the period while
// events keep being written, one batch at a time: no write waits for the
// whole run, and /stats counts what was removed.
func TestSQLiteRetentionRemovesOldRowsWhileWritesGoOn(t *testing.T) {
	dir := newProject(t)
	// The store as an Accord without retention left it: rows collected two
	// days ago, twenty batches' worth, written by a helper built without
	// the race detector (which slows the embedded SQLite fortyfold).
	const old = 20 * retention.DefaultLimit
	fill := filepath.Join(t.TempDir(), "sqlitefill")
	if out, err := exec.Command("go", "build", "-o", fill, "./testdata/sqlitefill").CombinedOutput(); err != nil {
		t.Fatalf("build sqlitefill: %v\n%s", err, out)
	}
	if out, err := exec.Command(fill, "-path", filepath.Join(dir, "accord-data", "accord.db"), "-n", fmt.Sprint(old)).CombinedOutput(); err != nil {
		t.Fatalf("sqlitefill: %v\n%s", err, out)
	}

	c := startCollector(t, dir, "ACCORD_SINKS_0_OPTIONS_RETENTION=24h", "ACCORD_SPOOL_ACK=sinks")
	// Writers, each request answered once the sqlite sink stored it, so
	// its latency includes any wait for the retention's lock.
	var (
		mu      sync.Mutex
		slowest time.Duration
		ends    []time.Time
		wg      sync.WaitGroup
	)
	stop := make(chan struct{})
	client := &http.Client{Timeout: 30 * time.Second}
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body := fmt.Sprintf(`{"schema":%q,"event_id":"new-%d-%d","data":{"url":"https://shop.example/%d"}}`, pageViewKey, w, i, i)
				start := time.Now()
				resp, err := client.Post(c.URL+"/events", "application/json", strings.NewReader(body))
				took := time.Since(start)
				if err != nil {
					t.Errorf("write: %v", err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("write answered %d", resp.StatusCode)
					return
				}
				mu.Lock()
				slowest = max(slowest, took)
				ends = append(ends, time.Now())
				mu.Unlock()
			}
		}()
	}
	var rs *retention.Stats
	eventually(t, 60*time.Second, "retention removed the old rows", func() bool {
		rs = sinkStats(t, c.stats(), "store").Retention
		return rs != nil && rs.Removed == old && rs.LastRunAt != nil
	})
	close(stop)
	wg.Wait()
	if rs.Period != "24h0m0s" || rs.Unit != "rows" || rs.LastRunAt == nil || rs.LastError != "" {
		t.Errorf("/stats retention = %+v", rs)
	}
	if rs.LastRunStartedAt == nil {
		t.Fatalf("/stats retention = %+v: no last_run_started_at", rs)
	}
	run := rs.LastRunAt.Sub(*rs.LastRunStartedAt)
	batch := run / (old / retention.DefaultLimit)
	var during int
	for _, e := range ends {
		if e.After(*rs.LastRunStartedAt) && e.Before(*rs.LastRunAt) {
			during++
		}
	}
	if during < 10 {
		t.Fatalf("%d writes ended during the %s retention run; too few to tell whether writes interleave", during, run)
	}
	// Generous: a write may wait for a batch or two (and a vacuum step)
	// besides its own commit, on a shared machine; one that waited for the
	// whole run of twenty batches would take more than half of it.
	if bound := run / 2; slowest > bound {
		t.Errorf("slowest write took %s, more than %s (half the run, ten batches of about %s): writes waited for more than a batch", slowest, bound, batch)
	}
	t.Logf("%d old rows removed in %s, about %s per batch of %d; %d writes (%d during the run), slowest %s", old, run, batch, retention.DefaultLimit, len(ends), during, slowest)

	db := openStore(t, dir)
	var left, kept int
	if err := db.QueryRow("SELECT (SELECT count(*) FROM events WHERE event_id LIKE 'old%') + (SELECT count(*) FROM failed_events WHERE event_id LIKE 'old%')").Scan(&left); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("SELECT count(*) FROM events WHERE event_id LIKE 'new-%'").Scan(&kept); err != nil {
		t.Fatal(err)
	}
	if left != 0 || kept != len(ends) {
		t.Errorf("%d old rows left, %d new rows kept of %d written; want 0 and all", left, kept, len(ends))
	}
}
