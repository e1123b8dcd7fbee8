package event

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// encodeRuns is what AppendJSON wrote for the two cached runs before they
// were cached: the reference they are held to.
func encodeRuns(e *Envelope) string {
	var dst []byte
	dst = append(dst, `,"protocol":`...)
	dst = appendString(dst, e.Protocol)
	dst = append(dst, `,"schema":`...)
	dst = appendString(dst, e.Schema)
	dst = append(dst, `,"vendor":`...)
	dst = appendString(dst, e.Vendor)
	dst = append(dst, `,"name":`...)
	dst = appendString(dst, e.Name)
	dst = append(dst, `,"version":`...)
	dst = appendString(dst, e.Version)
	return string(e.Collector.AppendJSON(dst))
}

func cachedRuns(e *Envelope) string {
	return string(e.Collector.appendCached(e.appendKeyRun(nil)))
}

// The cached runs are byte for byte the encoding of the record's strings,
// whether they are the strings a run was cached from, equal strings made
// anew, or different strings (one field changed at a time, escapes, empty
// fields), read and filled from several goroutines at once (go test -race).
func TestCachedRunsMatchEncoding(t *testing.T) {
	base := Envelope{
		Protocol: "selfdesc", Schema: "iglu:com.acme/x/jsonschema/1-0-0", Vendor: "com.acme", Name: "x", Version: "1-0-0",
		Collector: Collector{Name: "accord", Version: "v1", Env: "test", Host: "h"},
	}
	variants := []Envelope{base, {}}
	fields := func(e *Envelope) []*string {
		return []*string{&e.Protocol, &e.Schema, &e.Vendor, &e.Name, &e.Version, &e.Collector.Name, &e.Collector.Version, &e.Collector.Env, &e.Collector.Host}
	}
	for i := range fields(&base) {
		for _, v := range []string{"", "y", "a\"b\\c\u2028\x01", strings.Clone(*fields(&base)[i])} {
			e := base
			*fields(&e)[i] = v
			variants = append(variants, e)
		}
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 20 {
				for k := range variants {
					e := &variants[(k+g+round)%len(variants)]
					for range 3 { // the second miss in a row caches the run
						if got, want := cachedRuns(e), encodeRuns(e); got != want {
							t.Errorf("cached %s\nwant   %s", got, want)
							return
						}
					}
				}
			}
		}()
	}
	wg.Wait()
}

// Strings made anew for each record (a failed event's key parsed from what
// the client sent) are never cached: caching them would allocate for every
// record and push out the runs worth keeping.
func TestFreshStringsAreNotCached(t *testing.T) {
	var kept []Envelope
	for i := range 200 {
		e := Envelope{Protocol: "p", Schema: fmt.Sprintf("iglu:com.fresh/e%d/jsonschema/1-0-0", i), Vendor: strings.Clone("com.fresh"), Name: fmt.Sprint("e", i), Version: strings.Clone("1-0-0")}
		kept = append(kept, e)
		got := string(e.appendKeyRun(nil))
		if want := encodeRuns(&e); !strings.HasPrefix(want, got) || !strings.HasSuffix(got, `"1-0-0"`) {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
	for i := range keyFragments.slots {
		if f := keyFragments.slots[i].Load(); f != nil && strings.HasPrefix(f.keys[1], "iglu:com.fresh/") {
			t.Errorf("slot %d caches %q, made for one record", i, f.keys[1])
		}
	}
	_ = kept
}

// An event time equal to the collection time is copied from it: the text
// is still exactly the event time's, in any zone and at any year.
func TestEventTimeSameInstant(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 11, 12, 123456789, time.UTC)
	zone := time.FixedZone("x", -7*3600)
	for _, pair := range [][2]time.Time{
		{at, at}, {at, at.In(zone)}, {at.In(zone), at}, {at, at.Add(time.Nanosecond)}, {at, at.Add(-time.Microsecond)},
		{at, time.Time{}}, {time.Time{}, time.Time{}}, {time.Time{}, at},
		{time.Date(12026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(12026, 1, 1, 0, 0, 0, 0, zone)},
	} {
		e := Envelope{CollectedAt: Time{pair[0]}, EventTime: Time{pair[1]}}
		want := `,"event_time":` + string(appendTime(nil, e.EventTime)) + `,"protocol"`
		if got := string(e.AppendJSON(nil)); !strings.Contains(got, want) {
			t.Errorf("collected %v, event %v: %s, want %s", pair[0], pair[1], got, want)
		}
	}
}

// An identity naming nobody is written as its fields would be.
func TestEmptyIdentity(t *testing.T) {
	for _, id := range []Identity{{}, {UserID: "u"}, {AnonymousID: "a"}, {NetworkUserID: "n"}} {
		var want []byte
		want = append(want, `{"user_id":`...)
		want = appendString(want, id.UserID)
		want = append(want, `,"anonymous_id":`...)
		want = appendString(want, id.AnonymousID)
		want = append(want, `,"network_user_id":`...)
		want = appendString(want, id.NetworkUserID)
		want = append(want, '}')
		if got := id.AppendJSON(nil); string(got) != string(want) {
			t.Errorf("%+v: %s, want %s", id, got, want)
		}
	}
}
