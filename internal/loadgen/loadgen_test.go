package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestCheckoutBatchIsNDJSONOfSelfDescribingEvents(t *testing.T) {
	body := CheckoutBatch(5)
	sc := bufio.NewScanner(bytes.NewReader(body))
	n := 0
	for sc.Scan() {
		var ev struct {
			Schema   string          `json:"schema"`
			Data     json.RawMessage `json:"data"`
			Contexts []struct{ Schema string }
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || ev.Schema == "" || len(ev.Data) == 0 || len(ev.Contexts) != 1 {
			t.Fatalf("line %d: %v %+v", n, err, ev)
		}
		n++
	}
	if n != 5 {
		t.Fatalf("%d lines, want 5", n)
	}
}

func TestRunCountsWhatTheServerAnswered(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get("Content-Type") != "application/x-ndjson" || !bytes.Equal(b, CheckoutBatch(10)) {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if served.Add(1)%4 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Options{URL: srv.URL, Body: CheckoutBatch(10), ContentType: "application/x-ndjson", EventsPerRequest: 10, Concurrency: 3, Duration: 10 * time.Second, MaxRequests: 40})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 40 || res.Statuses[200] != 30 || res.Statuses[503] != 10 || res.Errors != 10 || res.Events != 300 {
		t.Fatalf("result %+v", res)
	}
	if res.P50 <= 0 || res.P50 > res.P99 || res.P99 > res.Max || res.EventsPerS <= 0 {
		t.Errorf("latencies %v %v %v, rate %v", res.P50, res.P99, res.Max, res.EventsPerS)
	}
	if _, err := Run(context.Background(), Options{}); err == nil {
		t.Error("empty options accepted")
	}
}

// A paced run never sends faster than its rate, and a collector slower than
// the rate shows in the latencies (counted from each request's due time),
// not only in a lower send rate.
func TestRatePacesAndCountsQueueingInLatency(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		served.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Options{URL: srv.URL, Body: CheckoutBatch(1), ContentType: "application/x-ndjson", Concurrency: 4, Duration: 10 * time.Second, MaxRequests: 41, Rate: 200})
	if err != nil {
		t.Fatal(err)
	}
	// Request 40 is due 200 ms after the start.
	if res.Requests != 41 || served.Load() != 41 || res.Elapsed < 200*time.Millisecond {
		t.Fatalf("paced run: %d requests, %d served, in %s; want 41 in at least 200ms", res.Requests, served.Load(), res.Elapsed)
	}
	if !strings.Contains(res.String(), "paced at 200 requests/s") {
		t.Errorf("result does not say it was paced:\n%s", res)
	}

	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		time.Sleep(20 * time.Millisecond)
		w.WriteHeader(http.StatusOK)
	}))
	defer slow.Close()
	// One connection, a request due every 5 ms, each taking 20 ms: the
	// 20th is due at 95 ms and answered after 400 ms.
	res, err = Run(context.Background(), Options{URL: slow.URL, Body: CheckoutBatch(1), ContentType: "application/x-ndjson", Concurrency: 1, Duration: 10 * time.Second, MaxRequests: 20, Rate: 200})
	if err != nil {
		t.Fatal(err)
	}
	if res.Max < 250*time.Millisecond {
		t.Errorf("max latency %s behind a 20 ms server paced at 5 ms: queueing was not counted", res.Max)
	}
	// The wait for the one connection is told apart from the server's
	// 20 ms: all but the first request were sent late, and each was
	// answered about 20 ms after it was sent.
	if res.Late < 15 || res.LateP99 < 200*time.Millisecond || res.ServiceP99 < 20*time.Millisecond || res.ServiceP50 > res.P50 || res.ServiceP50 > 200*time.Millisecond {
		t.Errorf("late %d (p99 wait %s), from sending p50 %s p99 %s, from due p50 %s: the wait for a connection is not told apart", res.Late, res.LateP99, res.ServiceP50, res.ServiceP99, res.P50)
	}
	if !strings.Contains(res.String(), "sent late for want of a free connection: ") {
		t.Errorf("result does not report the requests sent late:\n%s", res)
	}
	if _, err := Run(context.Background(), Options{URL: srv.URL, Body: []byte("x"), Concurrency: 1, Duration: time.Second, Rate: -1}); err == nil {
		t.Error("a negative rate was accepted")
	}
}

// A server that closes connections, with Connection: close or once a
// kept-alive connection has been idle past its timeout, costs the run no
// request: the load generator dials again, and sends again a request that
// met a connection the server had already closed.
func TestRunDialsAgainWhenTheServerClosesConnections(t *testing.T) {
	var served, conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if !bytes.Equal(b, CheckoutBatch(1)) || r.Header.Get("Content-Type") != "application/x-ndjson" || r.Method != http.MethodPost {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if served.Add(1)%3 == 0 {
			w.Header().Set("Connection", "close")
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"received":1}`))
	}))
	srv.Config.IdleTimeout = 5 * time.Millisecond
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	// Paced at one request every 20 ms on one connection: each waits
	// past the server's 5 ms idle timeout.
	res, err := Run(context.Background(), Options{URL: srv.URL + "/events?x=1", Body: CheckoutBatch(1), ContentType: "application/x-ndjson", Concurrency: 1, Duration: 10 * time.Second, MaxRequests: 12, Rate: 50})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 12 || res.Statuses[200] != 12 || res.Errors != 0 || served.Load() != 12 {
		t.Fatalf("result %+v, served %d; want 12 answered 200", res, served.Load())
	}
	if conns.Load() < 4 {
		t.Errorf("%d connections for 12 requests on a server closing them: the test did not close any", conns.Load())
	}
}

func TestRunRefusesAURLItCannotSendTo(t *testing.T) {
	for _, u := range []string{"ftp://127.0.0.1/x", "http:///events", "://"} {
		if _, err := Run(context.Background(), Options{URL: u, Body: []byte("x"), Concurrency: 1, Duration: time.Second}); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}

func TestWithClientIDsGivesEveryEventAnIDOfItsOwn(t *testing.T) {
	body := CheckoutBatch(3)
	bodyOf, err := WithClientIDs(body)
	if err != nil {
		t.Fatal(err)
	}
	v4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for i := range 50 {
		b := bodyOf(i)
		lines := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
		want := bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n"))
		if len(lines) != len(want) {
			t.Fatalf("request %d: %d lines, want %d", i, len(lines), len(want))
		}
		for j, line := range lines {
			var got, orig map[string]any
			if err := json.Unmarshal(line, &got); err != nil {
				t.Fatalf("request %d line %d: %v: %s", i, j, err, line)
			}
			if err := json.Unmarshal(want[j], &orig); err != nil {
				t.Fatal(err)
			}
			id, _ := got["event_id"].(string)
			if !v4.MatchString(id) {
				t.Fatalf("request %d line %d: event_id %q is not a UUIDv4", i, j, id)
			}
			if seen[id] {
				t.Fatalf("request %d line %d: event_id %s given twice", i, j, id)
			}
			seen[id] = true
			// Nothing else of the event changes.
			delete(got, "event_id")
			if !reflect.DeepEqual(got, orig) {
				t.Fatalf("request %d line %d: %v, want %v with an event_id", i, j, got, orig)
			}
		}
	}
	// An empty object gets an id and stays JSON.
	empty, err := WithClientIDs([]byte("{}\n  { }\n"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range bytes.Lines(empty(0)) {
		var ev map[string]string
		if err := json.Unmarshal(line, &ev); err != nil || len(ev) != 1 || !v4.MatchString(ev["event_id"]) {
			t.Errorf("an empty event: %q: %v", line, err)
		}
	}
	// The template is never written to: the caller's body is unchanged.
	if !bytes.Equal(body, CheckoutBatch(3)) {
		t.Fatal("WithClientIDs changed the body it was given")
	}
}

func TestWithClientIDsRefusesWhatIsNotNDJSON(t *testing.T) {
	for _, body := range []string{`[{"schema":"x","data":{}}]`, "", "\n\n", "e=pv&tv=js-3\n", "{\"schema\":\n",
		`{"schema":"x","data":{},"event_id":"e-1"}` + "\n"} {
		if _, err := WithClientIDs([]byte(body)); err == nil {
			t.Errorf("WithClientIDs(%q) took it", body)
		}
	}
}
