package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/event/eventtest"
)

func TestHTTPSinkDeliversToEndpoint(t *testing.T) {
	var mu sync.Mutex
	var lines [][]byte
	var auth string
	status := http.StatusOK
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		auth = r.Header.Get("Authorization")
		if status != http.StatusOK {
			w.WriteHeader(status)
			return
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			lines = append(lines, append([]byte(nil), sc.Bytes()...))
		}
	}))
	defer target.Close()

	dir := newProject(t)
	c := startCollector(t, dir,
		"ACCORD_SINKS_1_NAME=forward", "ACCORD_SINKS_1_TYPE=http", "ACCORD_SINKS_1_RECORDS=good",
		"ACCORD_SINKS_1_OPTIONS_URL="+target.URL, "ACCORD_SINKS_1_OPTIONS_HEADERS={Authorization: Bearer t0ken}")
	body := []byte(`[{"schema":"` + pageViewKey + `","data":{"url":"https://a.example/1"}},{"schema":"` + pageViewKey + `","data":{"url":"nope"}}]`)
	if status, _, resp := c.post("/events", "application/json", body); status != http.StatusOK {
		t.Fatalf("%d %s", status, resp)
	}
	received := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(lines)
	}
	eventually(t, 10*time.Second, "the endpoint has the good record", func() bool { return received() == 1 })
	mu.Lock()
	if auth != "Bearer t0ken" {
		t.Errorf("endpoint got Authorization %q", auth)
	}
	eventtest.CheckJSON(t, lines[0])
	var rec struct {
		Valid   bool            `json:"valid"`
		Payload json.RawMessage `json:"payload"`
	}
	_ = json.Unmarshal(lines[0], &rec)
	if !rec.Valid || string(rec.Payload) != `{"url":"https://a.example/1"}` {
		t.Errorf("record %s", lines[0])
	}
	// While the endpoint fails, the collector keeps taking events (they
	// wait in the spool), /stats shows the retries, and once the endpoint
	// is back they arrive.
	status = http.StatusInternalServerError
	mu.Unlock()
	if s, _, resp := c.post("/events", "application/json", body); s != http.StatusOK {
		t.Errorf("with the endpoint failing: %d %s", s, resp)
	}
	eventually(t, 10*time.Second, "/stats shows the failing endpoint", func() bool {
		st := sinkStats(t, c.stats(), "forward")
		return st.Retried > 0 && st.LagRecords > 0 && strings.Contains(st.LastError, "500")
	})
	mu.Lock()
	status = http.StatusOK
	mu.Unlock()
	eventually(t, 10*time.Second, "the endpoint has the record sent while it was down", func() bool { return received() == 2 })
	c.stop()
}
