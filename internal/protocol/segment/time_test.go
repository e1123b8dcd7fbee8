package segment

import (
	"testing"
	"time"

	"github.com/accord-events/accord/internal/pipeline"
)

// TestEventTime checks that the pipeline's event_time is Segment's
// timestamp formula, receivedAt - (sentAt - originalTimestamp), for the
// times this package reads off a message.
func TestEventTime(t *testing.T) {
	received := time.Date(2024, 5, 1, 12, 0, 10, 0, time.UTC)
	tests := []struct {
		name          string
		sent, created time.Time
		want          time.Time
	}{
		{
			// The client's clock is an hour fast; it held the event 3s.
			name:    "skewed client clock cancels out",
			sent:    time.Date(2024, 5, 1, 13, 0, 8, 0, time.UTC),
			created: time.Date(2024, 5, 1, 13, 0, 5, 0, time.UTC),
			want:    time.Date(2024, 5, 1, 12, 0, 7, 0, time.UTC),
		},
		{
			name:    "offsets do not matter",
			sent:    time.Date(2024, 5, 1, 14, 0, 8, 500e6, time.FixedZone("", 2*3600)),
			created: time.Date(2024, 5, 1, 12, 0, 8, 0, time.UTC),
			want:    time.Date(2024, 5, 1, 12, 0, 9, 500e6, time.UTC),
		},
		{name: "no sentAt", created: time.Date(2024, 4, 30, 9, 0, 0, 0, time.UTC), want: time.Date(2024, 4, 30, 9, 0, 0, 0, time.UTC)},
		{name: "no timestamp", sent: time.Date(2024, 5, 1, 12, 0, 8, 0, time.UTC), want: received},
		{name: "neither", want: received},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := pipeline.EventTime(received, tc.sent, tc.created); !got.Equal(tc.want) {
				t.Errorf("EventTime = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	want := time.Date(2024, 5, 1, 12, 30, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2024-05-01T12:30:00Z", want, true},
		{"2024-05-01T12:30:00.123456789Z", want.Add(123456789), true},
		{"2024-05-01T14:30:00+02:00", want, true},
		{"2024-05-01T14:30:00.5+0200", want.Add(500 * time.Millisecond), true},
		{"2024-05-01T07:30:00-05", want, true},
		{"2024-05-01T12:30:00", want, true},
		{"2024-05-01", time.Time{}, false},
		{"2024-05-01 12:30:00Z", time.Time{}, false},
		{"1714566600", time.Time{}, false},
		{"", time.Time{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := parseTime(tc.in)
			if ok != tc.ok || !got.Equal(tc.want) {
				t.Errorf("parseTime(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}
