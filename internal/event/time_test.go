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

// TestAppendLayoutEdges: AppendLayout writes what time.Time.Format writes
// of TimeLayout in UTC (what the SQLite sink wrote with AppendFormat, its
// times in UTC already) at the edges the hand-written encoding could get
// wrong: years of fewer than four digits, of more, before year 0, offsets
// west of UTC and of seconds that cross a day or a year, fractions whose
// trailing digits are zero or below a microsecond, and the zero time.
func TestAppendLayoutEdges(t *testing.T) {
	west := time.FixedZone("west", -(9*3600 + 30*60))
	lmt := time.FixedZone("LMT", -(17*60 + 40)) // an offset of minutes and seconds
	east := time.FixedZone("east", 14*3600)
	for _, tc := range []struct {
		name string
		at   time.Time
		want string
	}{
		{"the zero time", time.Time{}, "0001-01-01T00:00:00.000000Z"},
		{"year 1", time.Date(1, 2, 3, 4, 5, 6, 7000, time.UTC), "0001-02-03T04:05:06.000007Z"},
		{"year 999", time.Date(999, 12, 31, 23, 59, 59, 999999999, time.UTC), "0999-12-31T23:59:59.999999Z"},
		{"year 1000", time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), "1000-01-01T00:00:00.000000Z"},
		{"year 0, 29 February", time.Date(0, 2, 29, 12, 0, 0, 0, time.UTC), "0000-02-29T12:00:00.000000Z"},
		{"year -1", time.Date(-1, 6, 1, 0, 0, 0, 0, time.UTC), ""},
		{"year -12345", time.Date(-12345, 6, 1, 0, 0, 0, 0, time.UTC), ""},
		{"the last microsecond of 9999", time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), "9999-12-31T23:59:59.999999Z"},
		{"year 10000", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), ""},
		{"year 292277026596", time.Unix(1<<63-1, 999999999).UTC(), ""},
		{"trailing zeros", time.Date(2026, 12, 5, 1, 2, 3, 120000000, time.UTC), "2026-12-05T01:02:03.120000Z"},
		{"below a microsecond", time.Date(2026, 12, 5, 1, 2, 3, 999, time.UTC), "2026-12-05T01:02:03.000000Z"},
		{"one microsecond", time.Date(2026, 12, 5, 1, 2, 3, 1000, time.UTC), "2026-12-05T01:02:03.000001Z"},
		{"west of UTC, into the next year", time.Date(2026, 12, 31, 20, 0, 0, 500000000, west), "2027-01-01T05:30:00.500000Z"},
		{"seconds west of UTC", time.Date(1900, 12, 31, 23, 59, 59, 0, lmt), "1901-01-01T00:17:39.000000Z"},
		{"east of UTC, into the previous year", time.Date(1000, 1, 1, 13, 59, 59, 0, east), "0999-12-31T23:59:59.000000Z"},
		{"west of UTC before year 0", time.Date(-1, 12, 31, 20, 0, 0, 0, west), "0000-01-01T05:30:00.000000Z"},
		{"a leap day", time.Date(2000, 2, 29, 23, 59, 59, 0, time.UTC), "2000-02-29T23:59:59.000000Z"},
		{"not a leap day", time.Date(1900, 2, 28, 23, 59, 59, 0, time.UTC).Add(time.Second), "1900-03-01T00:00:00.000000Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.at.UTC().Format(event.TimeLayout)
			if tc.want != "" && want != tc.want {
				t.Fatalf("the case is wrong: Format gives %q, the case says %q", want, tc.want)
			}
			if got := string(event.AppendLayout(nil, tc.at)); got != want {
				t.Errorf("AppendLayout = %q, want %q", got, want)
			}
			if got := string(event.AppendLayout([]byte("prefix "), tc.at)); got != "prefix "+want {
				t.Errorf("AppendLayout after a prefix = %q, want %q", got, "prefix "+want)
			}
			if u := tc.at.UTC(); string(event.AppendLayout(nil, u)) != u.Format(event.TimeLayout) {
				t.Errorf("AppendLayout of the UTC time differs from its Format")
			}
		})
	}
	// Every day of the first and last years the encoding writes itself,
	// and of the years around 0 (a leap year) and 2000.
	for _, span := range [][2]int{{-1, 4}, {1999, 2001}, {9998, 10000}} {
		end := time.Date(span[1], 1, 1, 0, 0, 0, 0, time.UTC)
		for at := time.Date(span[0], 1, 1, 23, 59, 59, 999999999, time.UTC); at.Before(end); at = at.AddDate(0, 0, 1) {
			if got, want := string(event.AppendLayout(nil, at)), at.Format(event.TimeLayout); got != want {
				t.Fatalf("AppendLayout = %q, want %q", got, want)
			}
		}
	}
}
