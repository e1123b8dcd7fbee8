package httpsink

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink/sinktest"
)

// receiver is an endpoint that keeps the NDJSON it accepts, good and failed
// records by the path they were posted to, and can be told to refuse.
type receiver struct {
	mu           sync.Mutex
	good, failed []byte
	failure      sinktest.Failure
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	switch rc.failure {
	case sinktest.Permanent:
		http.Error(w, "refused", http.StatusBadRequest)
		return
	case sinktest.Transient:
		http.Error(w, "broken", http.StatusInternalServerError)
		return
	case sinktest.RetryAfter:
		w.Header().Set("Retry-After", strconv.Itoa(int(sinktest.RetryAfterDelay.Seconds())))
		http.Error(w, "slow down", http.StatusTooManyRequests)
		return
	}
	if r.URL.Path == "/failed" {
		rc.failed = append(rc.failed, body...)
	} else {
		rc.good = append(rc.good, body...)
	}
}

func TestConformance(t *testing.T) {
	sinktest.Run(t, sinktest.Harness{
		Type: Type(),
		New: func(t *testing.T) sinktest.Instance {
			rc := &receiver{}
			srv := httptest.NewServer(rc)
			t.Cleanup(srv.Close)
			opts := NewOptions()
			opts.URL, opts.FailedURL = srv.URL+"/good", srv.URL+"/failed"
			s, err := New(*opts)
			if err != nil {
				t.Fatal(err)
			}
			return sinktest.Instance{
				Sink:    s,
				Options: opts,
				Stored: func(t *testing.T) ([]*event.Envelope, []*event.Envelope) {
					rc.mu.Lock()
					defer rc.mu.Unlock()
					return sinktest.DecodeNDJSON(t, rc.good), sinktest.DecodeNDJSON(t, rc.failed)
				},
				Fail: func(f sinktest.Failure) bool {
					rc.mu.Lock()
					rc.failure = f
					rc.mu.Unlock()
					return true
				},
			}
		},
	})
}
