package sink_test

import (
	"testing"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
)

func records() []*event.Envelope {
	return []*event.Envelope{
		{EventID: "g1", Valid: true},
		{EventID: "f1", Failure: event.NewFailure(event.SchemaViolation, "bad")},
		{EventID: "g2", Valid: true},
	}
}

func TestSelect(t *testing.T) {
	tests := []struct {
		sel  sink.Selection
		want []string
	}{
		{sink.All, []string{"g1", "f1", "g2"}},
		{sink.Good, []string{"g1", "g2"}},
		{sink.Failed, []string{"f1"}},
	}
	for _, tc := range tests {
		t.Run(string(tc.sel), func(t *testing.T) {
			var got []string
			for _, r := range sink.Select(records(), tc.sel) {
				got = append(got, r.EventID)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}
