package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/pipeline"
	"github.com/accord-events/accord/internal/protocol"
	"github.com/accord-events/accord/internal/protocol/selfdesc"
	"github.com/accord-events/accord/internal/server"
)

func TestEventsPerRequestCap(t *testing.T) {
	srv, rec := newServer(t, func(o *server.Options) { o.MaxEventsPerRequest = 3 })
	tests := []struct {
		name, mediaType string
		events          int
		status          int
	}{
		{"at the cap, array", "application/json", 3, http.StatusOK},
		{"over the cap, array", "application/json", 4, http.StatusRequestEntityTooLarge},
		{"at the cap, lines", "application/x-ndjson", 3, http.StatusOK},
		{"over the cap, lines", "application/x-ndjson", 4, http.StatusRequestEntityTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			events := make([]string, tc.events)
			for i := range events {
				events[i] = pageView
			}
			body := "[" + strings.Join(events, ",") + "]"
			if tc.mediaType == "application/x-ndjson" {
				body = strings.Join(events, "\n")
			}
			before := len(rec.records)
			w := do(srv.Handler(), http.MethodPost, "/events", []byte(body), "Content-Type", tc.mediaType)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			stored := rec.records[before:]
			if tc.status == http.StatusOK {
				if len(stored) != tc.events {
					t.Fatalf("%d records, want %d", len(stored), tc.events)
				}
				return
			}
			// Refused: one size_violation record keeping the whole body.
			if len(stored) != 1 || stored[0].Failure == nil || stored[0].Failure.Type != event.SizeViolation || stored[0].Raw != body {
				t.Fatalf("stored %d records (%+v), want one size_violation keeping the body", len(stored), stored)
			}
			if !strings.Contains(w.Body.String(), "server.max_events_per_request") {
				t.Errorf("answer %s does not name server.max_events_per_request", w.Body)
			}
		})
	}
}

// A protocol that reads past the cap is still held to it by the server.
func TestEventsPerRequestCapBackstop(t *testing.T) {
	many := protocol.Endpoint{Path: "/many", Protocol: "many", Decode: protocol.Plain(func(*protocol.Request) ([]event.Input, error) {
		return make([]event.Input, 5), nil
	})}
	srv, rec := newServer(t, func(o *server.Options) { o.MaxEventsPerRequest = 4 }, many)
	w := do(srv.Handler(), http.MethodPost, "/many", []byte("x"))
	if w.Code != http.StatusRequestEntityTooLarge || len(rec.records) != 1 || rec.records[0].Failure.Type != event.SizeViolation {
		t.Fatalf("status %d, %d records; want 413 and one size_violation record", w.Code, len(rec.records))
	}
}

func TestSourceFieldsCut(t *testing.T) {
	srv, rec := newServer(t, func(o *server.Options) { o.MaxSourceFieldBytes = 64 })
	long := strings.Repeat("é", 100) // 200 bytes, two per character
	w := do(srv.Handler(), http.MethodPost, "/events", []byte(pageView), "Content-Type", "application/json",
		"User-Agent", long, "Referer", "https://r.example/"+long, "Origin", "https://o.example"+long)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	src := rec.records[0].Source
	for name, v := range map[string]string{"user_agent": src.UserAgent, "referer": src.Referer, "origin": src.Origin} {
		if len(v) > 64 || len(v) < 63 || !utf8.ValidString(v) {
			t.Errorf("%s is %d bytes (%q), want cut to at most 64 at a character boundary", name, len(v), v)
		}
		if !strings.HasSuffix(v, "é") {
			t.Errorf("%s %q does not end on a whole character", name, v)
		}
	}
}

func TestAnswerSummarisesFailures(t *testing.T) {
	srv, _ := newServer(t, nil)
	var body bytes.Buffer
	const n = 250
	for i := 0; i < n; i++ {
		if i%2 == 0 {
			body.WriteString(`{"schema":"iglu:com.example/missing/jsonschema/1-0-0","data":{}}` + "\n")
		} else {
			body.WriteString(`{"data":{}}` + "\n")
		}
	}
	w := do(srv.Handler(), http.MethodPost, "/events", body.Bytes(), "Content-Type", "application/x-ndjson")
	var resp struct {
		Received, Failed int
		Failures         []json.RawMessage
		FailuresOmitted  int            `json:"failures_omitted"`
		FailureCounts    map[string]int `json:"failure_counts"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Failed != n || len(resp.Failures) != 100 || resp.FailuresOmitted != n-100 ||
		resp.FailureCounts["schema_not_found"] != n/2 || resp.FailureCounts["protocol_violation"] != n/2 {
		t.Fatalf("failed %d, listed %d, omitted %d, counts %v; want %d failed, 100 listed, the rest counted by type",
			resp.Failed, len(resp.Failures), resp.FailuresOmitted, resp.FailureCounts, n)
	}
	// A request with few failures is answered as before: no summary fields.
	w = do(srv.Handler(), http.MethodPost, "/events", []byte(`{"data":{}}`), "Content-Type", "application/json")
	if strings.Contains(w.Body.String(), "failures_omitted") || strings.Contains(w.Body.String(), "failure_counts") {
		t.Errorf("answer %s has summary fields for one failure", w.Body)
	}
}

// A GET whose query cannot be read is refused and stored with the query,
// not stored valid without the pair that could not be read.
func TestMalformedQueryRefused(t *testing.T) {
	got := 0
	hit := protocol.Endpoint{Path: "/hit", Protocol: "hit", Methods: []string{http.MethodGet}, Decode: protocol.Plain(func(req *protocol.Request) ([]event.Input, error) {
		got++
		return []event.Input{{Arbitrary: true, Data: []byte(`{}`)}}, nil
	})}
	srv, rec := newServer(t, nil, hit)
	for _, q := range []string{"e=pv&url=%zz", "e=pv;url=x", "a=%"} {
		w := do(srv.Handler(), http.MethodGet, "/hit?"+q, nil)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "query string cannot be read") {
			t.Errorf("%s: status %d %s, want 400 saying the query cannot be read", q, w.Code, w.Body)
			continue
		}
		last := rec.records[len(rec.records)-1]
		if last.Valid || last.Failure.Type != event.PayloadFormatViolation || last.Raw != q {
			t.Errorf("%s: stored %+v, want a payload_format_violation keeping the query", q, last)
		}
	}
	if got != 0 {
		t.Errorf("the protocol read %d malformed queries", got)
	}
	if w := do(srv.Handler(), http.MethodGet, "/hit?e=pv&url=%2Fa", nil); w.Code != http.StatusOK {
		t.Errorf("a well-formed query: status %d %s", w.Code, w.Body)
	}
}

// tooLargeDeliverer refuses any call of more than one record as too large,
// as delivery does when a request's records pass their encoded bound.
type tooLargeDeliverer struct{ recorder }

type tooLargeErr struct{}

func (tooLargeErr) Error() string  { return "records too large: over the limit" }
func (tooLargeErr) TooLarge() bool { return true }

func (d *tooLargeDeliverer) Deliver(ctx context.Context, records []*event.Envelope) error {
	if len(records) > 1 {
		return fmt.Errorf("deliver: %w", tooLargeErr{})
	}
	return d.recorder.Deliver(ctx, records)
}

// Records too large to store together are refused with 413 (not a 503 the
// client would retry forever) and kept as one size_violation record holding
// the body's first KiB.
func TestRecordsTooLargeTogetherAre413(t *testing.T) {
	contracts, problems, err := contract.LoadDir("../scaffold/template/contracts")
	if err != nil || len(problems) > 0 {
		t.Fatal(err, problems)
	}
	d := &tooLargeDeliverer{}
	p := pipeline.New(contract.NewSet(contracts), event.Collector{Name: "accord"}, "default")
	srv := server.New(server.DefaultOptions(), p, d, []protocol.Endpoint{{Path: "/events", Protocol: selfdesc.Name, Decode: protocol.Plain(selfdesc.Decode)}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	body := bytes.Repeat([]byte(pageView+"\n"), 40)
	w := do(srv.Handler(), http.MethodPost, "/events", body, "Content-Type", "application/x-ndjson")
	if w.Code != http.StatusRequestEntityTooLarge || w.Header().Get("Retry-After") != "" {
		t.Fatalf("answer %d (Retry-After %q) %s; want 413 without Retry-After", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	if !strings.Contains(w.Body.String(), "too large to store together") {
		t.Errorf("answer does not say why: %s", w.Body)
	}
	if len(d.records) != 1 || d.records[0].Failure == nil || d.records[0].Failure.Type != event.SizeViolation || len(d.records[0].Raw) != 1024 {
		t.Fatalf("stored %d records, want one size_violation with the body's first KiB: %+v", len(d.records), d.records)
	}
}
