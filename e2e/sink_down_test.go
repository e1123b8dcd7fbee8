package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The http sink's target is down (nothing listens) when the collector
// starts and comes up 10 s later: the collector answers 200 and /readyz
// 200 throughout, /stats shows why the sink is behind, and every event
// arrives once the target is up.
func TestHTTPSinkTargetDownAtStart(t *testing.T) {
	if testing.Short() {
		t.Skip("takes more than 10 s")
	}
	// Reserve an address for the target, and leave it closed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	var mu sync.Mutex
	received := map[string]bool{}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(make([]byte, 1<<20), 1<<26)
		mu.Lock()
		defer mu.Unlock()
		for sc.Scan() {
			var rec struct {
				EventID string `json:"event_id"`
			}
			if err := json.Unmarshal(sc.Bytes(), &rec); err == nil {
				received[rec.EventID] = true
			}
		}
	})

	dir := newProject(t)
	c := startCollector(t, dir, httpSinkEnv("http://"+addr+"/accord")...)
	defer c.stop()

	var sent []string
	send := func(round int) {
		t.Helper()
		var body strings.Builder
		for i := range 5 {
			id := fmt.Sprintf("down-%d-%d", round, i)
			sent = append(sent, id)
			fmt.Fprintf(&body, `{"schema":%q,"event_id":%q,"data":{"url":"https://a.example/%d"}}`+"\n", pageViewKey, id, i)
		}
		if status, _, resp := c.post("/events", "application/x-ndjson", []byte(body.String())); status != http.StatusOK {
			t.Fatalf("round %d, target down: %d %s", round, status, resp)
		}
		resp, err := http.Get(c.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("round %d, target down: /readyz %d", round, resp.StatusCode)
		}
	}
	up := time.Now().Add(10 * time.Second)
	for round := 0; time.Now().Before(up); round++ {
		send(round)
		time.Sleep(500 * time.Millisecond)
	}
	st := sinkStats(t, c.stats(), "forward")
	if st.Delivered != 0 || st.LagRecords == 0 || !strings.Contains(st.LastError, "connection refused") {
		t.Errorf("/stats with the target down: %+v; want nothing delivered, a lag and the refused connection", st)
	}

	// The target comes up on its address.
	tln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the target's address was taken meanwhile: %v", err)
	}
	target := httptest.NewUnstartedServer(handler)
	target.Listener.Close()
	target.Listener = tln
	target.Start()
	defer target.Close()

	eventually(t, 30*time.Second, "every event reaches the target", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range sent {
			if !received[id] {
				return false
			}
		}
		return true
	})
	eventually(t, 10*time.Second, "/stats shows everything delivered", func() bool {
		st := sinkStats(t, c.stats(), "forward")
		return st.State == "connected" && st.Delivered >= uint64(len(sent)) && st.LagRecords == 0
	})
}

// A sqlite sink that cannot connect at start (a file stands where its
// directory should be) no longer stops accord serve: the collector takes
// events, /stats shows the sink connecting and why, and once the way is
// clear the sink connects and stores everything.
func TestSQLiteSinkConnectsOnceItCan(t *testing.T) {
	dir := newProject(t)
	blocker := filepath.Join(dir, "blocked")
	if err := os.WriteFile(blocker, []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := startCollector(t, dir, "ACCORD_SINKS_0_OPTIONS_PATH="+filepath.Join(blocker, "accord.db"),
		"ACCORD_SINKS_0_DELIVERY_BACKOFF_MIN=20ms", "ACCORD_SINKS_0_DELIVERY_BACKOFF_MAX=200ms")
	defer c.stop()
	body := `{"schema":"` + pageViewKey + `","event_id":"late-1","data":{"url":"https://a.example/1"}}`
	if status, _, resp := c.post("/events", "application/json", []byte(body)); status != http.StatusOK {
		t.Fatalf("with the store not connected: %d %s", status, resp)
	}
	eventually(t, 10*time.Second, "/stats shows the store connecting and why", func() bool {
		st := sinkStats(t, c.stats(), "store")
		return st.State == "connecting" && strings.Contains(st.LastConnectError, blocker) && st.LagRecords == 1
	})
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the store connects and takes the event", func() bool {
		st := sinkStats(t, c.stats(), "store")
		return st.State == "connected" && st.Delivered == 1 && st.LagRecords == 0
	})
}
