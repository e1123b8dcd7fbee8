package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
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
