package pipeline

import (
	cryptorand "crypto/rand"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// The ids Accord makes are UUIDv7s that a UUID library reads as such,
// carrying the clock's millisecond, and strictly ordered even when many
// are made in the same millisecond from several goroutines.
func TestEventIDsAreOrderedUUIDv7s(t *testing.T) {
	at := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	g := idGenerator{now: func() time.Time { return at }} // a clock that never moves
	const goroutines, each = 4, 2000
	got := make([][]string, goroutines)
	var wg sync.WaitGroup
	for w := range goroutines {
		wg.Go(func() {
			for range each {
				got[w] = append(got[w], string(g.append(nil)))
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, ids := range got {
		for i, s := range ids {
			id, err := uuid.Parse(s)
			if err != nil || len(s) != 36 {
				t.Fatalf("%q is not a UUID: %v", s, err)
			}
			if id.Version() != 7 || id.Variant() != uuid.RFC4122 {
				t.Fatalf("%s is version %d, variant %v; want 7, RFC 4122", s, id.Version(), id.Variant())
			}
			if i > 0 && s <= ids[i-1] {
				t.Fatalf("%s follows %s: not ordered", s, ids[i-1])
			}
			if seen[s] {
				t.Fatalf("%s made twice", s)
			}
			seen[s] = true
		}
	}
	// 8,000 ids in one millisecond overflow its 4,096 sequence numbers:
	// the later ones borrow the next milliseconds, still ordered.
	first, _ := uuid.Parse(got[0][0])
	if sec, _ := first.Time().UnixTime(); sec != at.Unix() {
		t.Errorf("the first id says %d s, want %d", sec, at.Unix())
	}
}

// appendHex writes what strconv.AppendUint does in base 16: a fingerprint
// is the same text it always was.
func TestAppendHex(t *testing.T) {
	values := []uint64{0, 1, 0xf, 0x10, 0xff, 0x100, 0xabcdef, 1<<63 - 1, 1 << 63, ^uint64(0)}
	for s := range 64 {
		values = append(values, 1<<s, 1<<s-1, 0x9E3779B97F4A7C15>>s)
	}
	for _, v := range values {
		if got, want := string(appendHex([]byte("x"), v)), "x"+strconv.FormatUint(v, 16); got != want {
			t.Errorf("appendHex(%#x) = %s, want %s", v, got, want)
		}
	}
}

// BenchmarkEventID: a new event id and a fingerprint, as an event without
// an id gets them.
func BenchmarkEventID(b *testing.B) {
	var g idGenerator
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendHex(g.append(buf[:0]), 0x9E3779B97F4A7C15)
	}
}

// TestUUIDTextMatchesLookup holds uuidText to the byte-a-lookup text it
// replaced: every byte value at every position, and random ids.
func TestUUIDTextMatchesLookup(t *testing.T) {
	// uuidDigits is where each byte of a UUID goes in its text form.
	uuidDigits := [16]int{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34}
	reference := func(id *[16]byte) [36]byte {
		var text [36]byte
		for k, at := range uuidDigits {
			text[at], text[at+1] = hexPairs[2*int(id[k])], hexPairs[2*int(id[k])+1]
		}
		text[8], text[13], text[18], text[23] = '-', '-', '-', '-'
		return text
	}
	check := func(id [16]byte) {
		t.Helper()
		if got, want := uuidText(&id), reference(&id); got != want {
			t.Fatalf("uuidText(%x) = %s, want %s", id, got[:], want[:])
		}
	}
	for pos := 0; pos < 16; pos++ {
		for v := 0; v < 256; v++ {
			var id [16]byte
			id[pos] = byte(v)
			check(id)
			for k := range id {
				id[k] ^= 0xff
			}
			check(id)
		}
	}
	for range 10000 {
		var id [16]byte
		_, _ = cryptorand.Read(id[:])
		check(id)
	}
}

// Validation names each context's data by its index, from a table for
// the first ones and built past it.
func TestContextInstance(t *testing.T) {
	for i := range 12 {
		if got, want := contextInstance(i), "/contexts/"+strconv.Itoa(i)+"/data"; got != want {
			t.Errorf("contextInstance(%d) = %q, want %q", i, got, want)
		}
	}
}
