package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/accord-events/accord/internal/event"
)

// The answer to a request whose records are all good is written without
// encoding/json; it must be the very bytes encoding/json writes, and a
// request with a failure still gets the full report.
func TestAnswerAsEncodingJSON(t *testing.T) {
	bad := &event.Envelope{EventID: "e-bad", Failure: &event.Failure{Type: event.SchemaViolation, Messages: []event.Message{{Message: "no"}}}}
	for _, tc := range []struct {
		name    string
		records []*event.Envelope
	}{
		{"one good", goodRecords(1)},
		{"a hundred good", goodRecords(100)},
		{"five hundred good", goodRecords(500)},
		{"good and failed", append(goodRecords(3), bad)},
		{"one failed", []*event.Envelope{bad}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := httptest.NewRecorder()
			answerFor(tc.records).write(got, http.StatusAccepted)
			want := httptest.NewRecorder()
			writeJSON(want, http.StatusAccepted, report(tc.records))
			if got.Code != want.Code || got.Body.String() != want.Body.String() {
				t.Fatalf("answer %d %q, want %d %q", got.Code, got.Body, want.Code, want.Body)
			}
			for _, h := range []string{"Content-Type", "Content-Length"} {
				if got.Header().Get(h) != want.Header().Get(h) {
					t.Errorf("%s %q, want %q", h, got.Header().Get(h), want.Header().Get(h))
				}
			}
			var r response
			if err := json.Unmarshal(got.Body.Bytes(), &r); err != nil || r.Received != len(tc.records) {
				t.Errorf("answer %q does not decode to %d received: %v", got.Body, len(tc.records), err)
			}
		})
	}
}

func goodRecords(n int) []*event.Envelope {
	recs := make([]*event.Envelope, n)
	for i := range recs {
		recs[i] = &event.Envelope{Valid: true}
	}
	return recs
}

// BenchmarkWriteReportOneGood is the answer to a single-event request.
func BenchmarkWriteReportOneGood(b *testing.B) {
	recs := goodRecords(1)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		w.Body.Reset()
		answerFor(recs).write(w, http.StatusOK)
	}
}
