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
// table). With --client-ids every event carries an event_id of its own, a
// random UUIDv4 as trackers send, and the tables keep those ids. It
// asserts nothing about speed: the runs are short and the machine may be
// busy.
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
	clientIDs := 0 // events sent with ids of their own so far
	for _, tc := range []struct {
		batch, requests, concurrency int
		clientIDs                    bool
	}{
		{batch: 1, requests: 400, concurrency: 8},
		{batch: 100, requests: 40, concurrency: 4},
		{batch: 100, requests: 20, concurrency: 4, clientIDs: true},
	} {
		t.Run(fmt.Sprintf("batch=%d,client-ids=%t", tc.batch, tc.clientIDs), func(t *testing.T) {
			args := []string{"loadgen", "--url", c.URL + "/events",
				"--batch", strconv.Itoa(tc.batch), "--requests", strconv.Itoa(tc.requests),
				"--concurrency", strconv.Itoa(tc.concurrency), "--duration", "2m"}
			if tc.clientIDs {
				args = append(args, "--client-ids")
			}
			out, stderr, code := runAccord(t, dir, nil, args...)
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
			if !tc.clientIDs {
				return
			}
			// The collector stamps UUIDv7s (version digit 7); the load
			// generator's ids are UUIDv4s, every one different.
			clientIDs += events
			for _, table := range []string{"events", "com_example_checkout_completed_1"} {
				var v4, distinct int
				if err := db.QueryRow("SELECT count(*), count(DISTINCT event_id) FROM "+table+
					" WHERE event_id GLOB '????????-????-4???-[89ab]???-????????????'").Scan(&v4, &distinct); err != nil {
					t.Fatalf("count client ids in %s: %v", table, err)
				}
				if v4 != clientIDs || distinct != clientIDs {
					t.Errorf("%s holds %d rows with a UUIDv4 event_id, %d distinct; %d events were sent with ids of their own", table, v4, distinct, clientIDs)
				}
			}
		})
	}
	c.stop()
}
