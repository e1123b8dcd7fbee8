package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// slowIglu is an Iglu repository that has no schemas and answers each
// request after delay, counting requests and the most under way at once.
type slowIglu struct {
	srv                  *httptest.Server
	delay                time.Duration
	fetches, now, maxNow atomic.Int64
}

func newSlowIglu(t *testing.T, delay time.Duration) *slowIglu {
	s := &slowIglu{delay: delay}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		n := s.now.Add(1)
		defer s.now.Add(-1)
		for {
			m := s.maxNow.Load()
			if n <= m || s.maxNow.CompareAndSwap(m, n) {
				break
			}
		}
		select {
		case <-time.After(s.delay):
		case <-r.Context().Done():
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// unknownKeys is a /events body of n events, each naming its own unknown key.
func unknownKeys(prefix string, n int) []byte {
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"schema":"iglu:com.unknown/%s%d/jsonschema/1-0-0","data":{}}`, prefix, i)
	}
	b.WriteByte(']')
	return []byte(b.String())
}

// TestHostileLookupFanOutIsBounded: with a slow registry backend, one
// request naming 500 unknown keys causes at most max_fetches_per_request
// backend fetches and is answered quickly, its other events failed as
// schema_not_found saying the lookup budget ran out; many such requests at
// once never have more than max_concurrent_fetches fetches under way; and a
// backend slower than the request's deadline does not hold the request
// past it.
func TestHostileLookupFanOutIsBounded(t *testing.T) {
	iglu := newSlowIglu(t, 100*time.Millisecond)
	dir := newProject(t)
	c := startCollector(t, dir, "ACCORD_CONTRACTS_BACKENDS_0_TYPE=iglu", "ACCORD_CONTRACTS_BACKENDS_0_URL="+iglu.srv.URL,
		"ACCORD_SERVER_WRITE_TIMEOUT=4s")

	start := time.Now()
	status, _, body := c.post("/events", "application/json", unknownKeys("a", 500))
	took := time.Since(start)
	if status != http.StatusOK {
		t.Fatalf("500 unknown keys: %d %.300s", status, body)
	}
	resp := decodeInto[collectResponse](t, body)
	if n := iglu.fetches.Load(); n > 10 {
		t.Errorf("one request caused %d backend fetches; want at most 10 (the default budget)", n)
	}
	if took > 3*time.Second {
		t.Errorf("the request took %s", took)
	}
	for _, f := range resp.Failures {
		if f.Type != "schema_not_found" {
			t.Fatalf("failure %+v, want schema_not_found", f)
		}
	}
	if resp.Failed != 500 {
		t.Errorf("%d failed, want 500", resp.Failed)
	}
	// The answer lists the first 100 failures; the store has them all.
	db := openStore(t, dir)
	budget := func() int {
		return spCount(t, db, "failed_events", "failure_type = 'schema_not_found' AND failure LIKE '%lookup budget%'")
	}
	eventually(t, 10*time.Second, "490 failures saying the lookup budget ran out", func() bool { return budget() == 490 })
	t.Logf("500 unknown keys: %d fetches, answered in %s", iglu.fetches.Load(), took.Round(time.Millisecond))

	// 20 such requests at once: at most 8 fetches (the default) at a time.
	iglu.fetches.Store(0)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if status, _, body := c.post("/events", "application/json", unknownKeys(fmt.Sprintf("p%d-", i), 50)); status != http.StatusOK {
				t.Errorf("parallel request %d: %d %.200s", i, status, body)
			}
		}()
	}
	wg.Wait()
	if m := iglu.maxNow.Load(); m > 8 {
		t.Errorf("%d backend fetches under way at once; want at most 8", m)
	}
	if n := iglu.fetches.Load(); n > 20*10 {
		t.Errorf("20 requests caused %d fetches; want at most 200", n)
	}
	t.Logf("20 parallel requests of 50 unknown keys: %d fetches, at most %d at once", iglu.fetches.Load(), iglu.maxNow.Load())
	c.stop()

	// A backend slower than the request's deadline (3/4 of a 2s
	// server.write_timeout): the request is answered at the deadline.
	slow := newSlowIglu(t, 20*time.Second)
	c = startCollector(t, dir, "ACCORD_CONTRACTS_BACKENDS_0_TYPE=iglu", "ACCORD_CONTRACTS_BACKENDS_0_URL="+slow.srv.URL,
		"ACCORD_SERVER_WRITE_TIMEOUT=2s")
	start = time.Now()
	status, _, body = c.post("/events", "application/json", unknownKeys("d", 5))
	took = time.Since(start)
	if status != http.StatusOK {
		t.Fatalf("keys of a hung backend: %d %.300s", status, body)
	}
	resp = decodeInto[collectResponse](t, body)
	if took > 2*time.Second || resp.Failed != 5 || !strings.Contains(resp.Failures[0].Messages[0].Message, "deadline passed") {
		t.Errorf("keys of a hung backend: answered in %s with %+v; want 5 failures naming the deadline within 2s", took, resp)
	}
	c.stop()
}
