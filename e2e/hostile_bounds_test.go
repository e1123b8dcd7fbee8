package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/testenv"
)

// The work one request causes must be a small constant times its size, in
// memory and on disk, whatever it holds: these tests send the requests that
// once stored 50 MB for 101 KB, answered 150 KB with 21 MB, and got a
// collector killed for memory, to the real binary, and measure its RSS and
// what its sinks stored.

// boundsEnv stores every record twice (SQLite and NDJSON files), so that
// stored bytes can be read exactly off the NDJSON files.
var boundsEnv = []string{"ACCORD_SINKS_1_NAME=files", "ACCORD_SINKS_1_TYPE=file"}

// procStatusKB reads a field such as VmHWM (peak resident memory) of pid
// from /proc, in KiB.
func procStatusKB(t *testing.T, pid int, field string) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		testenv.Missing(t, "no /proc to measure memory: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err != nil {
				t.Fatalf("read %s: %v", field, err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// storedBytes is the size of what the sinks hold: the NDJSON files and the
// SQLite database with its write-ahead log.
func storedBytes(t *testing.T, dir string) (ndjson, sqlite int64) {
	t.Helper()
	size := func(name string) int64 {
		fi, err := os.Stat(filepath.Join(dir, "accord-data", name))
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	return size("good.ndjson") + size("failed.ndjson"), size("accord.db") + size("accord.db-wal")
}

// requestBytes is what a client sends: body and header fields.
func requestBytes(body []byte, headers ...string) int {
	n := len(body)
	for _, h := range headers {
		n += len(h) + 2
	}
	return n
}

// boundedRun is one hostile request against a fresh collector, measured.
type boundedRun struct {
	status                 int
	response               []byte
	request                int
	rssBeforeKB, rssPeakKB int
	ndjson, sqlite         int64
}

func runBounded(t *testing.T, env []string, path, contentType string, body []byte, headers ...string) boundedRun {
	t.Helper()
	dir := newProject(t)
	c := startCollector(t, dir, append(append([]string{}, boundsEnv...), env...)...)
	pid := c.cmd.Process.Pid
	run := boundedRun{request: requestBytes(body, headers...), rssBeforeKB: procStatusKB(t, pid, "VmRSS")}
	ndBefore, sqlBefore := storedBytes(t, dir)
	run.status, _, run.response = c.post(path, contentType, body, headers...)
	run.rssPeakKB = procStatusKB(t, pid, "VmHWM")
	c.stop() // drains the spool into the sinks
	nd, sql := storedBytes(t, dir)
	run.ndjson, run.sqlite = nd-ndBefore, sql-sqlBefore
	t.Logf("request %d B -> status %d, response %d B, NDJSON stored %d B, SQLite grew %d B, RSS %d KiB -> peak %d KiB",
		run.request, run.status, len(run.response), run.ndjson, run.sqlite, run.rssBeforeKB, run.rssPeakKB)
	return run
}

// perRecord bounds what one stored record may take beyond the bytes of the
// request it came from: ids, times, collector, failure messages, and the
// source fields cut to server.max_source_field_bytes (default 1 KiB each).
const perRecord = 6 << 10

func TestHostileBoundedWorkPerRequest(t *testing.T) {
	const maxEvents = 500 // the default server.max_events_per_request

	t.Run("huge User-Agent copied into 500 records", func(t *testing.T) {
		// The example: 101 KB of NDJSON, 500 {} lines and a
		// 100 KB User-Agent, stored 50 MB.
		body := bytes.Repeat([]byte("{}\n"), maxEvents)
		ua := strings.Repeat("A", 100<<10)
		run := runBounded(t, nil, "/events", "application/x-ndjson", body, "User-Agent", ua, "Referer", "https://r.example/"+ua[:10<<10])
		if run.status != http.StatusOK {
			t.Fatalf("status %d: %.300s", run.status, run.response)
		}
		resp := decodeInto[collectResponse](t, run.response)
		if resp.Received != maxEvents || resp.Failed != maxEvents {
			t.Fatalf("received %d failed %d, want %d events failed (they name no schema)", resp.Received, resp.Failed, maxEvents)
		}
		// Each record keeps the User-Agent cut to 1 KiB, not 100 KiB.
		if limit := int64(4*run.request + maxEvents*perRecord); run.ndjson > limit {
			t.Errorf("stored %d bytes for a request of %d, over %d (4 x request + %d per record)", run.ndjson, run.request, limit, perRecord)
		}
		if limit := 128 << 10; len(run.response) > limit {
			t.Errorf("response is %d bytes, over %d", len(run.response), limit)
		}
		if growth := run.rssPeakKB - run.rssBeforeKB; growth > 64<<10 {
			t.Errorf("RSS grew by %d KiB for one request, over 64 MiB", growth)
		}
	})

	t.Run("50000 events in one request", func(t *testing.T) {
		// 150 KB that once produced a 21 MB response and 50,000 records.
		body := bytes.Repeat([]byte("{}\n"), 50000)
		run := runBounded(t, nil, "/events", "application/x-ndjson", body)
		if run.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413: %.300s", run.status, run.response)
		}
		var e errorResponse
		if err := json.Unmarshal(run.response, &e); err != nil || e.Failure == nil || e.Failure.Type != "size_violation" || !strings.Contains(e.Error, "server.max_events_per_request") {
			t.Fatalf("answer %s, want a size_violation naming server.max_events_per_request", run.response)
		}
		if len(run.response) > 4<<10 {
			t.Errorf("response is %d bytes, over 4 KiB", len(run.response))
		}
		// One failed record holding the body, so nothing is lost.
		if limit := int64(2*run.request + perRecord); run.ndjson > limit {
			t.Errorf("stored %d bytes for a request of %d, over %d", run.ndjson, run.request, limit)
		}
		if growth := run.rssPeakKB - run.rssBeforeKB; growth > 64<<10 {
			t.Errorf("RSS grew by %d KiB for one request, over 64 MiB", growth)
		}
	})

	t.Run("a body of a million bytes of empty events", func(t *testing.T) {
		// The most events one body under server.max_body_bytes can hold.
		body := bytes.Repeat([]byte("{}\n"), (1<<20)/3)
		run := runBounded(t, nil, "/events", "application/json", append(append([]byte("["), bytes.ReplaceAll(body[:len(body)-1], []byte("\n"), []byte(","))...), ']'))
		if run.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413: %.300s", run.status, run.response)
		}
		if growth := run.rssPeakKB - run.rssBeforeKB; growth > 64<<10 {
			t.Errorf("RSS grew by %d KiB for one request, over 64 MiB", growth)
		}
		if limit := int64(2*run.request + perRecord); run.ndjson > limit {
			t.Errorf("stored %d bytes for a request of %d, over %d", run.ndjson, run.request, limit)
		}
	})

	t.Run("many failures are summarised in the answer", func(t *testing.T) {
		var body bytes.Buffer
		for i := range maxEvents {
			fmt.Fprintf(&body, `{"schema":"iglu:com.example/missing_%d/jsonschema/1-0-0","data":{}}`+"\n", i)
		}
		run := runBounded(t, nil, "/events", "application/x-ndjson", body.Bytes())
		if run.status != http.StatusOK {
			t.Fatalf("status %d: %.300s", run.status, run.response)
		}
		var resp struct {
			collectResponse
			FailuresOmitted int            `json:"failures_omitted"`
			FailureCounts   map[string]int `json:"failure_counts"`
		}
		if err := json.Unmarshal(run.response, &resp); err != nil {
			t.Fatal(err)
		}
		if resp.Failed != maxEvents || len(resp.Failures) != 100 || resp.FailuresOmitted != maxEvents-100 || resp.FailureCounts["schema_not_found"] != maxEvents {
			t.Errorf("failed %d, listed %d, omitted %d, counts %v; want %d failed, 100 listed, the rest counted by type",
				resp.Failed, len(resp.Failures), resp.FailuresOmitted, resp.FailureCounts, maxEvents)
		}
		if len(run.response) > 64<<10 {
			t.Errorf("response is %d bytes, over 64 KiB", len(run.response))
		}
	})

	t.Run("Segment batch with a large context", func(t *testing.T) {
		// A batch-level context is copied into every message without its
		// own: 250 KB of context and 500 small messages would store 125 MB.
		ctx := `{"library":{"name":"analytics-go"},"pad":"` + strings.Repeat("c", 250<<10) + `"}`
		msgs := make([]string, maxEvents)
		for i := range msgs {
			msgs[i] = fmt.Sprintf(`{"type":"track","event":"Order Completed","userId":"u%d","properties":{}}`, i)
		}
		body := []byte(`{"batch":[` + strings.Join(msgs, ",") + `],"context":` + ctx + `}`)
		run := runBounded(t, segEnv(), segBatchPath, "application/json", body, "Authorization", segBasic(segWebKey))
		if run.status != http.StatusRequestEntityTooLarge || !strings.Contains(string(run.response), "context") {
			t.Fatalf("status %d, want 413 saying the context is copied too often: %.300s", run.status, run.response)
		}
		if limit := int64(2*run.request + perRecord); run.ndjson > limit {
			t.Errorf("stored %d bytes for a request of %d, over %d", run.ndjson, run.request, limit)
		}
		if growth := run.rssPeakKB - run.rssBeforeKB; growth > 64<<10 {
			t.Errorf("RSS grew by %d KiB for one request, over 64 MiB", growth)
		}
	})

	t.Run("Segment batch with an ordinary context is taken", func(t *testing.T) {
		ctx := `{"library":{"name":"analytics-go"},"pad":"` + strings.Repeat("c", 2<<10) + `"}`
		msgs := make([]string, 400)
		for i := range msgs {
			msgs[i] = fmt.Sprintf(`{"type":"track","event":"Order Completed","userId":"u%d","properties":{}}`, i)
		}
		body := []byte(`{"batch":[` + strings.Join(msgs, ",") + `],"context":` + ctx + `}`)
		run := runBounded(t, segEnv(), segBatchPath, "application/json", body, "Authorization", segBasic(segWebKey))
		if run.status != http.StatusOK {
			t.Fatalf("status %d: %.300s", run.status, run.response)
		}
	})
}
