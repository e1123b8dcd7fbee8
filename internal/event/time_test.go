package event_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/event"
)

// TestTimeMatchesLayout holds the hand-written timestamp encoding to what
// time.Time.Format makes of TimeLayout, on the edges of the layout and on
// random instants from before year 0 to after 9999, in and out of UTC.
func TestTimeMatchesLayout(t *testing.T) {
	tokyo := time.FixedZone("JST", 9*3600)
	times := []time.Time{
		time.Date(2026, 11, 25, 10, 11, 12, 123456789, time.UTC),
		time.Date(2024, 2, 29, 23, 59, 59, 999999999, time.UTC), // microseconds are cut, not rounded
		time.Date(1970, 1, 1, 0, 0, 0, 1000, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999, time.UTC),
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 12, 31, 12, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 1, 8, 30, 0, 0, tokyo), // the previous day in UTC
		time.Unix(1<<40, 5).UTC(),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	lo := time.Date(-200, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	hi := time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	for range 20000 {
		times = append(times, time.Unix(lo+rng.Int64N(hi-lo), rng.Int64N(1e9)).In(tokyo))
	}
	for _, at := range times {
		want := at.UTC().Format(event.TimeLayout)
		if got := (event.Time{Time: at}).String(); got != want {
			t.Fatalf("String() of %v = %q, want %q", at, got, want)
		}
		if got, _ := (event.Time{Time: at}).MarshalJSON(); string(got) != `"`+want+`"` {
			t.Fatalf("MarshalJSON() of %v = %s, want %q", at, got, want)
		}
		if got := event.AppendLayout([]byte("x"), at); string(got) != "x"+want {
			t.Fatalf("AppendLayout of %v = %q, want %q", at, got, "x"+want)
		}
	}
	if got, _ := (event.Time{}).MarshalJSON(); string(got) != "null" {
		t.Errorf("the zero time encodes as %s, want null", got)
	}
}

// BenchmarkTimeString: a record's timestamp in TimeLayout (four per
// record).
func BenchmarkTimeString(b *testing.B) {
	at := event.Time{Time: time.Date(2026, 11, 25, 10, 11, 12, 123456789, time.UTC)}
	b.ReportAllocs()
	for b.Loop() {
		if s := at.String(); len(s) != len(event.TimeLayout) {
			b.Fatal(s)
		}
	}
}
