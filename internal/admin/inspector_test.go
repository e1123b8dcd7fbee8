package admin_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/admin"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/inspect"
	"github.com/accord-events/accord/internal/web"
)

const inspectorToken = "inspector-token-0123456789"

// newInspectorServer serves an admin surface with a tap, behind a token,
// on a real listener with the collector's middleware and timeouts.
func newInspectorServer(t *testing.T) (*httptest.Server, *inspect.Tap) {
	t.Helper()
	tap := inspect.New()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := admin.New(admin.Config{Auth: admin.Auth{Token: inspectorToken}}, admin.Deps{
		Logger:        log,
		CollectorAddr: "127.0.0.1:0",
		Inspector:     tap,
		Heartbeat:     50 * time.Millisecond,
	})
	srv := httptest.NewUnstartedServer(web.Wrap(log, a))
	// The collector's timeouts, short: the stream must outlive them.
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = 300*time.Millisecond, 300*time.Millisecond
	srv.Start()
	t.Cleanup(func() { tap.Close(); srv.Close() })
	return srv, tap
}

// sse is an open stream's events, in order.
type sse struct {
	resp   *http.Response
	events chan [2]string // event name, data; comments as {":", text}
}

func openStream(t *testing.T, rawURL string, headers ...string) *sse {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	req.Header.Set("Authorization", "Bearer "+inspectorToken)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("stream: %d %s", resp.StatusCode, b)
	}
	s := &sse{resp: resp, events: make(chan [2]string, 1024)}
	go func() {
		defer close(s.events)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var name, data string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if name != "" || data != "" {
					s.events <- [2]string{name, data}
				}
				name, data = "", ""
			case strings.HasPrefix(line, ":"):
				s.events <- [2]string{":", line}
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data += strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return s
}

// next returns the next event named name, skipping others, within d.
func (s *sse) next(t *testing.T, name string, d time.Duration) string {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				t.Fatalf("the stream ended before an event %q", name)
			}
			if ev[0] == name {
				return ev[1]
			}
		case <-deadline:
			t.Fatalf("no event %q within %s", name, d)
		}
	}
}

func rec(id string, valid bool) *event.Envelope {
	e := &event.Envelope{EventID: id, Schema: "iglu:com.acme/a/jsonschema/1-0-0", Protocol: "selfdesc", Valid: valid, Payload: json.RawMessage(`{"n":1}`)}
	if !valid {
		e.Failure = &event.Failure{Type: event.SchemaViolation, Messages: []event.Message{{InstancePath: "/data/n", Message: "n is too small"}}}
	}
	return e
}

// waitViewers waits until n viewers are subscribed.
func waitViewers(t *testing.T, tap *inspect.Tap, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); tap.Viewers() != n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d viewers; want %d", tap.Viewers(), n)
		}
	}
}

// The stream: its headers, the hello, records as published, heartbeats,
// past the server's read and write timeouts, and its end when the tap
// closes.
func TestInspectorStream(t *testing.T) {
	srv, tap := newInspectorServer(t)
	s := openStream(t, srv.URL+"/inspector/stream")
	for k, want := range map[string]string{"Content-Type": "text/event-stream; charset=utf-8", "X-Accel-Buffering": "no", "Cache-Control": "no-cache, no-store, no-transform"} {
		if got := s.resp.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	var hello struct {
		Rate, Buffer int
		BufferBytes  int `json:"buffer_bytes"`
	}
	if err := json.Unmarshal([]byte(s.next(t, "hello", 10*time.Second)), &hello); err != nil || hello.Rate != inspect.Rate || hello.Buffer != inspect.Buffer || hello.BufferBytes != inspect.ViewerBytes {
		t.Fatalf("hello: %+v %v", hello, err)
	}
	waitViewers(t, tap, 1)
	tap.Publish([]*event.Envelope{rec("e1", true), rec("e2", false)})
	for _, want := range []string{"e1", "e2"} {
		var got event.Envelope
		if err := json.Unmarshal([]byte(s.next(t, "record", 10*time.Second)), &got); err != nil || got.EventID != want {
			t.Fatalf("record: %+v %v; want %s", got, err, want)
		}
		if want == "e2" && (got.Failure == nil || got.Failure.Messages[0].InstancePath != "/data/n") {
			t.Errorf("the failed record lost its failure: %+v", got.Failure)
		}
	}
	s.next(t, ":", 10*time.Second) // heartbeat
	// Past the server's read and write timeouts the stream still carries
	// records.
	time.Sleep(700 * time.Millisecond)
	tap.Publish([]*event.Envelope{rec("e3", true)})
	if got := s.next(t, "record", 10*time.Second); !strings.Contains(got, `"event_id":"e3"`) {
		t.Fatalf("after the timeouts: %s", got)
	}
	tap.Close()
	s.next(t, "bye", 10*time.Second)
	waitViewers(t, tap, 0)
}

// A viewer's drop counter reaches it in the stream.
func TestInspectorStreamCountsDrops(t *testing.T) {
	srv, tap := newInspectorServer(t)
	s := openStream(t, srv.URL+"/inspector/stream?valid=good")
	s.next(t, "hello", 10*time.Second)
	waitViewers(t, tap, 1)
	batch := make([]*event.Envelope, 0, 1000)
	for range 1000 {
		batch = append(batch, rec("e", true))
	}
	tap.Publish(batch) // one window: Rate/10 shown, the rest dropped
	var d struct{ Dropped int }
	if err := json.Unmarshal([]byte(s.next(t, "dropped", 10*time.Second)), &d); err != nil || d.Dropped < 1000-inspect.Rate/10 {
		t.Fatalf("dropped %+v %v; want at least %d", d, err, 1000-inspect.Rate/10)
	}
}

// Filters select; hostile ones are refused with 400 before subscribing.
func TestInspectorFilters(t *testing.T) {
	srv, tap := newInspectorServer(t)
	s := openStream(t, srv.URL+"/inspector/stream?valid=failed&type=schema_violation&contract=iglu:com.acme/&protocol=selfdesc")
	s.next(t, "hello", 10*time.Second)
	waitViewers(t, tap, 1)
	other := rec("other", false)
	other.Protocol = "segment"
	tap.Publish([]*event.Envelope{rec("good", true), other, rec("bad", false)})
	if got := s.next(t, "record", 10*time.Second); !strings.Contains(got, `"event_id":"bad"`) {
		t.Fatalf("first record through the filter: %s; want bad", got)
	}
	for _, tc := range []struct{ name, query string }{
		{"unknown parameter", "?colour=red"},
		{"repeated", "?valid=good&valid=failed"},
		{"bad valid", "?valid=maybe"},
		{"bad type", "?type=nonsense"},
		{"type with good", "?valid=good&type=schema_violation"},
		{"bad protocol", "?protocol=" + url.QueryEscape("<script>")},
		{"long contract", "?contract=" + strings.Repeat("a", 600)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/inspector/stream"+tc.query, nil)
			req.Header.Set("Authorization", "Bearer "+inspectorToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || len(b) > 1024 || strings.Contains(string(b), "<script>") {
				t.Fatalf("%d %s; want a short 400", resp.StatusCode, b)
			}
		})
	}
	if tap.Viewers() != 1 {
		t.Errorf("%d viewers after refused requests; want the one", tap.Viewers())
	}
}

// admin.auth applies; past MaxViewers a viewer is refused with 503.
func TestInspectorAuthAndViewerBound(t *testing.T) {
	srv, tap := newInspectorServer(t)
	for _, auth := range []string{"", "Bearer wrong"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/inspector/stream", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("auth %q: %d; want 401", auth, resp.StatusCode)
		}
	}
	if tap.Viewers() != 0 {
		t.Fatal("an unauthenticated request subscribed")
	}
	for range inspect.MaxViewers {
		openStream(t, srv.URL+"/inspector/stream").next(t, "hello", 10*time.Second)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/inspector/stream", nil)
	req.Header.Set("Authorization", "Bearer "+inspectorToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("viewer %d: %d; want 503 with Retry-After", inspect.MaxViewers+1, resp.StatusCode)
	}
}

// Through a reverse proxy that mounts the admin surface at a path prefix,
// records arrive as they are published, not when a buffer fills.
func TestInspectorThroughReverseProxyAtPrefix(t *testing.T) {
	srv, tap := newInspectorServer(t)
	target, _ := url.Parse(srv.URL)
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.URL.Path = strings.TrimPrefix(pr.In.URL.Path, "/accord")
		pr.Out.URL.RawPath = ""
	}}
	front := httptest.NewServer(proxy)
	t.Cleanup(front.Close) // after the stream's cancel, registered later
	s := openStream(t, front.URL+"/accord/inspector/stream")
	s.next(t, "hello", 10*time.Second)
	waitViewers(t, tap, 1)
	start := time.Now()
	tap.Publish([]*event.Envelope{rec("through", true)})
	if got := s.next(t, "record", 10*time.Second); !strings.Contains(got, `"event_id":"through"`) {
		t.Fatalf("through the proxy: %s", got)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the record took %s through the proxy", d)
	}
}

// A viewer that reads gives back the bytes it wrote out: a stream of large
// records goes on past the viewer's bytes budget (inspect.ViewerBytes), and
// is not cut off once that many bytes have passed through it.
func TestInspectorStreamReleasesItsBytesBudget(t *testing.T) {
	srv, tap := newInspectorServer(t)
	s := openStream(t, srv.URL+"/inspector/stream")
	s.next(t, "hello", 10*time.Second)
	waitViewers(t, tap, 1)
	big := json.RawMessage(`{"s":"` + strings.Repeat("x", 200<<10) + `"}`)
	n := 2*inspect.ViewerBytes/(200<<10) + 1
	for i := range n {
		r := rec(fmt.Sprintf("big-%d", i), true)
		r.Payload = big
		tap.Publish([]*event.Envelope{r})
		if got := s.next(t, "record", 10*time.Second); !strings.Contains(got, fmt.Sprintf(`"event_id":"big-%d"`, i)) {
			t.Fatalf("record %d of %d: %.100s", i, n, got)
		}
		time.Sleep(10 * time.Millisecond) // under the rate
	}
}
