package httpsink

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/event/eventtest"
	"github.com/accord-events/accord/internal/sink"
)

func testRecords() []*event.Envelope {
	at := event.Time{Time: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	mk := func(id string, valid bool) *event.Envelope {
		e := &event.Envelope{EventID: id, CollectedAt: at, EventTime: at, Protocol: "selfdesc", Valid: valid,
			Payload: json.RawMessage(`{"a":1}`), Collector: event.Collector{Name: "accord"}, Fingerprint: "1"}
		if !valid {
			e.Failure = event.NewFailure(event.SchemaViolation, "bad")
			e.SetRaw([]byte(`{"a":"x"}`))
		}
		return e
	}
	return []*event.Envelope{mk("g1", true), mk("f1", false), mk("g2", true)}
}

// target is an endpoint that keeps what it was sent.
type target struct {
	mu       sync.Mutex
	requests []*http.Request
	bodies   [][]byte
	status   int
	header   http.Header
}

func (tg *target) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		body = zr
	}
	b, _ := io.ReadAll(body)
	tg.mu.Lock()
	tg.requests = append(tg.requests, r)
	tg.bodies = append(tg.bodies, b)
	status, header := tg.status, tg.header
	tg.mu.Unlock()
	for k, v := range header {
		w.Header()[k] = v
	}
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte("answer body"))
}

func ids(t *testing.T, format string, body []byte) []string {
	t.Helper()
	var lines [][]byte
	if format == FormatJSON {
		var arr []json.RawMessage
		if err := json.Unmarshal(body, &arr); err != nil {
			t.Fatalf("body is not a JSON array: %v\n%s", err, body)
		}
		for _, a := range arr {
			lines = append(lines, a)
		}
	} else {
		sc := bufio.NewScanner(bytes.NewReader(body))
		for sc.Scan() {
			lines = append(lines, append([]byte(nil), sc.Bytes()...))
		}
	}
	var out []string
	for _, l := range lines {
		eventtest.CheckJSON(t, l)
		var e struct {
			EventID string `json:"event_id"`
		}
		_ = json.Unmarshal(l, &e)
		out = append(out, e.EventID)
	}
	return out
}

func TestWrite(t *testing.T) {
	tests := []struct {
		name       string
		format     string
		gzip       bool
		split      bool
		wantBodies [][]string
		wantType   string
	}{
		{"ndjson, one endpoint", FormatNDJSON, false, false, [][]string{{"g1", "f1", "g2"}}, "application/x-ndjson"},
		{"json array, gzip", FormatJSON, true, false, [][]string{{"g1", "f1", "g2"}}, "application/json"},
		{"failed records to their own endpoint", FormatNDJSON, false, true, [][]string{{"g1", "g2"}, {"f1"}}, "application/x-ndjson"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg := &target{}
			srv := httptest.NewServer(tg)
			defer srv.Close()
			opts := NewOptions()
			opts.URL, opts.Format, opts.Gzip = srv.URL+"/good", tc.format, tc.gzip
			opts.Headers = map[string]string{"Authorization": "Bearer t0ken"}
			if tc.split {
				opts.FailedURL = srv.URL + "/failed"
			}
			s, err := New(*opts)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close(context.Background())
			if err := s.Write(context.Background(), testRecords()); err != nil {
				t.Fatal(err)
			}
			if len(tg.bodies) != len(tc.wantBodies) {
				t.Fatalf("%d requests, want %d", len(tg.bodies), len(tc.wantBodies))
			}
			for i, want := range tc.wantBodies {
				r := tg.requests[i]
				if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer t0ken" || r.Header.Get("Content-Type") != tc.wantType {
					t.Errorf("request %d: %s %v", i, r.Method, r.Header)
				}
				if got := ids(t, tc.format, tg.bodies[i]); strings.Join(got, ",") != strings.Join(want, ",") {
					t.Errorf("request %d carried %v, want %v", i, got, want)
				}
			}
			if tc.split && (tg.requests[0].URL.Path != "/good" || tg.requests[1].URL.Path != "/failed") {
				t.Errorf("paths %s %s", tg.requests[0].URL.Path, tg.requests[1].URL.Path)
			}
		})
	}
}

// The answers beyond the conformance suite's 400, 500 and 429 with
// Retry-After in seconds.
func TestFailuresAreClassified(t *testing.T) {
	tests := []struct {
		name          string
		status        int
		header        http.Header
		wantPermanent bool
		wantAfter     time.Duration
	}{
		{"unprocessable is permanent", 422, nil, true, 0},
		{"request timeout is transient", 408, nil, false, 0},
		{"unavailable with Retry-After date", 503, http.Header{"Retry-After": {time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)}}, false, 89 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(&target{status: tc.status, header: tc.header})
			defer srv.Close()
			opts := NewOptions()
			opts.URL = srv.URL
			s, _ := New(*opts)
			err := s.Write(context.Background(), testRecords())
			if err == nil || !strings.Contains(err.Error(), "answer body") {
				t.Fatalf("error %v should carry the answer", err)
			}
			var perm *sink.PermanentError
			if errors.As(err, &perm) != tc.wantPermanent {
				t.Errorf("permanent = %v, want %v (%v)", !tc.wantPermanent, tc.wantPermanent, err)
			}
			var ra *sink.RetryAfterError
			if tc.wantAfter > 0 {
				if !errors.As(err, &ra) || ra.After < tc.wantAfter || ra.After > tc.wantAfter+2*time.Second {
					t.Errorf("retry after %v, want about %v", ra, tc.wantAfter)
				}
			} else if errors.As(err, &ra) {
				t.Errorf("unexpected retry-after %v", ra.After)
			}
		})
	}
	// An endpoint that is not there is a transient failure.
	srv := httptest.NewServer(&target{})
	addr := srv.URL
	srv.Close()
	opts := NewOptions()
	opts.URL, opts.Timeout = addr, time.Second
	s, _ := New(*opts)
	err := s.Write(context.Background(), testRecords())
	var perm *sink.PermanentError
	if err == nil || errors.As(err, &perm) {
		t.Errorf("unreachable endpoint: %v", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"defaults need a url", func(*Options) {}, "url: must not be empty"},
		{"not http", func(o *Options) { o.URL = "ftp://x" }, `url: "ftp://x" is not an http or https URL`},
		{"bad failed_url", func(o *Options) { o.URL, o.FailedURL = "https://a.example", "nope" }, "failed_url:"},
		{"bad format", func(o *Options) { o.URL, o.Format = "https://a.example", "xml" }, `format: "xml" is not a format`},
		{"bad timeout", func(o *Options) { o.URL, o.Timeout = "https://a.example", 0 }, "timeout:"},
		{"bad header", func(o *Options) { o.URL, o.Headers = "https://a.example", map[string]string{"A B": "x"} }, "headers:"},
		{"valid", func(o *Options) { o.URL = "https://a.example/in" }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOptions()
			tc.edit(o)
			err := o.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{"0": 0, "120": 2 * time.Minute, now.Add(time.Minute).Format(http.TimeFormat): time.Minute, now.Add(-time.Minute).Format(http.TimeFormat): 0} {
		if got, ok := retryAfter(v, now); !ok || got != want {
			t.Errorf("%q: %v %v, want %v", v, got, ok, want)
		}
	}
	for _, v := range []string{"", "soon", "-5"} {
		if _, ok := retryAfter(v, now); ok {
			t.Errorf("%q accepted", v)
		}
	}
}
