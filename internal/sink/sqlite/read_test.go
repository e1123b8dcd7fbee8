package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
)

func TestReadFailedReturnsWhatWasStoredAndFilters(t *testing.T) {
	s, _, opts := openTest(t, nil)
	a := failedRecord("f-a")
	b := failedRecord("f-b")
	b.CollectedAt = event.Time{Time: collected.Add(time.Hour)}
	b.Schema, b.Name = "iglu:com.acme/refund/jsonschema/1-0-0", "refund"
	c := failedRecord("f-c")
	c.CollectedAt = event.Time{Time: collected.Add(2 * time.Hour)}
	c.Failure = event.NewFailure(event.PayloadFormatViolation, "not JSON")
	c.Payload, c.Contexts, c.Attributes = nil, nil, nil
	c.SetRaw([]byte{0xff, 0xfe})
	if err := s.Write(context.Background(), []*event.Envelope{c, goodRecord("g-1"), a, b}); err != nil {
		t.Fatal(err)
	}
	read := func(q sink.FailedQuery) []*event.Envelope {
		t.Helper()
		var out []*event.Envelope
		if err := ReadFailed(context.Background(), opts, q, func(r *event.Envelope) error { out = append(out, r); return nil }); err != nil {
			t.Fatalf("ReadFailed(%+v): %v", q, err)
		}
		return out
	}
	all := read(sink.FailedQuery{})
	if len(all) != 3 {
		t.Fatalf("read %d failed records; want 3", len(all))
	}
	for i, want := range []*event.Envelope{a, b, c} {
		if c.Contexts == nil && want == c {
			want.Contexts = []event.Context{} // stored as []
		}
		if got := string(all[i].AppendJSON(nil)); got != string(want.AppendJSON(nil)) {
			t.Errorf("record %d read back as\n %s\nwant\n %s", i, got, want.AppendJSON(nil))
		}
	}
	for _, tc := range []struct {
		name string
		q    sink.FailedQuery
		want []string
	}{
		{"by type", sink.FailedQuery{Types: []event.FailureType{event.SchemaViolation}}, []string{"f-a", "f-b"}},
		{"by schema", sink.FailedQuery{Schema: "iglu:com.acme/refund/jsonschema/1-0-0"}, []string{"f-b"}},
		{"by schema prefix", sink.FailedQuery{Schema: "iglu:com.acme/checkout_completed/"}, []string{"f-a", "f-c"}},
		{"by time", sink.FailedQuery{Since: collected.Add(time.Minute), Until: collected.Add(2 * time.Hour)}, []string{"f-b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, r := range read(tc.q) {
				got = append(got, r.EventID)
			}
			if len(got) != len(tc.want) || (len(got) > 0 && (got[0] != tc.want[0] || got[len(got)-1] != tc.want[len(tc.want)-1])) {
				t.Errorf("got %v; want %v", got, tc.want)
			}
		})
	}
}
