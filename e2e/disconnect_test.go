package e2e

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/loadgen"
)

// Clients that give up mid-request (timeouts, closed tabs) must not harm
// the requests after them: every later request is still stored and
// answered 200.
func TestClientsLeavingMidRequestDoNotWedgeTheCollector(t *testing.T) {
	dir := newProject(t)
	c := startCollector(t, dir)
	body := loadgen.CheckoutBatch(100)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(200+(w*40+i)%3000)*time.Microsecond)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.URL+"/events", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/x-ndjson")
				if resp, err := http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
				}
				cancel()
			}
		}()
	}
	wg.Wait()
	for i := range 5 {
		status, _, respBody := c.post("/events", "application/x-ndjson", body)
		if r := decodeInto[collectResponse](t, respBody); status != http.StatusOK || r.Good != 100 {
			t.Fatalf("request %d after the disconnects: %d %s\n%s", i, status, respBody, c.logs)
		}
	}
	c.stop()
}
