package e2e

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// loadgenEventsRE reads the events the load generator counted as
// acknowledged (answered 200) from its report.
var loadgenEventsRE = regexp.MustCompile(`(?m)^requests (\d+), events (\d+), errors (\d+),`)

// TestLoadgenSmoke keeps the load path that docs/performance.md measures
// working: `accord loadgen` against the real `accord serve` of a fresh
// `accord init` project, with single events and with 100-event batches
// over several connections, and every event it saw acknowledged is then
// stored in the SQLite default (the good table and the contract's typed
// table). It asserts nothing about speed: the runs are short and the
// machine may be busy.
func TestLoadgenSmoke(t *testing.T) {
	dir := newProject(t)
	c := startCollector(t, dir)
	db := openStore(t, dir)
	count := func(table string) int {
		t.Helper()
		var n int
		if err := db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		return n
	}
	stored := 0
	for _, tc := range []struct {
		batch, requests, concurrency int
	}{
		{batch: 1, requests: 400, concurrency: 8},
		{batch: 100, requests: 40, concurrency: 4},
	} {
		t.Run(fmt.Sprintf("batch=%d", tc.batch), func(t *testing.T) {
			out, stderr, code := runAccord(t, dir, nil, "loadgen", "--url", c.URL+"/events",
				"--batch", strconv.Itoa(tc.batch), "--requests", strconv.Itoa(tc.requests),
				"--concurrency", strconv.Itoa(tc.concurrency), "--duration", "2m")
			if code != 0 {
				t.Fatalf("accord loadgen: exit %d\n%s%s", code, out, stderr)
			}
			m := loadgenEventsRE.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("accord loadgen printed no request count:\n%s", out)
			}
			requests, _ := strconv.Atoi(m[1])
			events, _ := strconv.Atoi(m[2])
			errs, _ := strconv.Atoi(m[3])
			if requests != tc.requests || errs != 0 || events != tc.requests*tc.batch {
				t.Fatalf("accord loadgen: %d requests, %d events acknowledged, %d errors; want %d requests, %d events, no error\n%s",
					requests, events, errs, tc.requests, tc.requests*tc.batch, out)
			}
			stored += events
			eventually(t, 2*time.Minute, fmt.Sprintf("the SQLite sink stores all %d acknowledged events", stored), func() bool {
				return sinkStats(t, c.stats(), "store").LagRecords == 0 && count("events") >= stored
			})
			if got := count("events"); got != stored {
				t.Errorf("events table holds %d rows; %d events were acknowledged", got, stored)
			}
			if got := count("com_example_checkout_completed_1"); got != stored {
				t.Errorf("typed table holds %d rows; %d events were acknowledged", got, stored)
			}
			if got := count("failed_events"); got != 0 {
				t.Errorf("failed_events holds %d rows; the load generator's events are valid", got)
			}
		})
	}
	c.stop()
}
