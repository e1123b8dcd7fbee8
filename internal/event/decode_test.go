package event_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/accord-events/accord/internal/event"
)

func TestDecodeEnvelopeRoundTrips(t *testing.T) {
	for name, env := range sampleEnvelopes() {
		t.Run(name, func(t *testing.T) {
			encoded := env.AppendJSON(nil)
			var got event.Envelope
			if err := event.DecodeEnvelope(encoded, &got); err != nil {
				t.Fatalf("DecodeEnvelope: %v", err)
			}
			if again := got.AppendJSON(nil); !bytes.Equal(again, encoded) {
				t.Errorf("re-encoded differs:\n got %s\nwant %s", again, encoded)
			}
			// And it reads what encoding/json reads.
			var std event.Envelope
			if err := json.Unmarshal(encoded, &std); err != nil {
				t.Fatal(err)
			}
			if a, b := std.AppendJSON(nil), got.AppendJSON(nil); !bytes.Equal(a, b) {
				t.Errorf("encoding/json read\n %s\nDecodeEnvelope read\n %s", a, b)
			}
		})
	}
}

// TestDecodeEnvelopeShared: the strings of a record decoded from bytes it
// shares are those bytes (no copy), apart from those unescaped, and the
// record is the one DecodeEnvelope reads; DecodeEnvelope's strings are
// copies.
func TestDecodeEnvelopeShared(t *testing.T) {
	encoded := sampleEnvelopes()["good"].AppendJSON(nil)
	within := func(s string) bool {
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		start := uintptr(unsafe.Pointer(unsafe.SliceData(encoded)))
		return p >= start && p < start+uintptr(len(encoded))
	}
	var shared, copied event.Envelope
	if err := event.DecodeEnvelopeShared(encoded, &shared); err != nil {
		t.Fatal(err)
	}
	if err := event.DecodeEnvelope(encoded, &copied); err != nil {
		t.Fatal(err)
	}
	if a, b := shared.AppendJSON(nil), copied.AppendJSON(nil); !bytes.Equal(a, b) {
		t.Fatalf("shared read\n%s\ncopied read\n%s", a, b)
	}
	for name, s := range map[string][2]string{
		"event_id": {shared.EventID, copied.EventID},
		"schema":   {shared.Schema, copied.Schema},
		"version":  {shared.Version, copied.Version},
	} {
		if s[0] == "" {
			t.Fatalf("the sample has no %s", name)
		}
		if !within(s[0]) {
			t.Errorf("%s of the shared decoding is a copy", name)
		}
		if within(s[1]) {
			t.Errorf("%s of DecodeEnvelope shares the bytes", name)
		}
	}
	var empty event.Envelope
	if err := event.DecodeEnvelopeShared(nil, &empty); err == nil {
		t.Error("DecodeEnvelopeShared(nil) succeeded")
	}
}

func TestDecodeEnvelopeAcceptsOtherWriters(t *testing.T) {
	doc := `{"unknown":{"nested":[1,2]},"event_id":"e\u00e9","valid":true,"collected_at":"2026-11-25T10:11:12.5+01:00",` +
		`"sent_at":null,"payload":{"a":1},"contexts":null,"source":{"ip":"192.0.2.1","extra":1},"identity":null,"failure":null}`
	var got event.Envelope
	if err := event.DecodeEnvelope([]byte(doc), &got); err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 11, 25, 9, 11, 12, 500000000, time.UTC)
	if got.EventID != "eé" || !got.Valid || !got.CollectedAt.Equal(want) || !got.SentAt.IsZero() ||
		string(got.Payload) != `{"a":1}` || got.Contexts != nil || got.Source.IP != "192.0.2.1" || got.Failure != nil {
		t.Errorf("decoded %+v", got)
	}
}

func TestDecodeEnvelopeRejectsWhatIsNotAnEnvelope(t *testing.T) {
	for _, doc := range []string{
		``, `[]`, `{"event_id":1}`, `{"valid":"yes"}`, `{"collected_at":"yesterday"}`, `{"contexts":{}}`,
		`{"event_id":"a"} x`, `{"payload":}`, `{"failure":{"type":1}}`, `{"collected_at":"2026-02-30T10:11:12.000000Z"}`,
	} {
		var e event.Envelope
		if err := event.DecodeEnvelope([]byte(doc), &e); err == nil {
			t.Errorf("DecodeEnvelope(%q) succeeded", doc)
		}
	}
}

// FuzzDecodeEnvelope feeds arbitrary bytes: no panic, and whatever decodes
// re-encodes to JSON that decodes to the same record.
func FuzzDecodeEnvelope(f *testing.F) {
	for _, env := range sampleEnvelopes() {
		f.Add(env.AppendJSON(nil))
	}
	f.Add([]byte("{\"source\":{\"origin\":\"\x82\"}}")) // not UTF-8: found by the fuzzer
	f.Fuzz(func(t *testing.T, data []byte) {
		var e event.Envelope
		if err := event.DecodeEnvelope(data, &e); err != nil {
			return
		}
		once := e.AppendJSON(nil)
		if !json.Valid(once) {
			t.Fatalf("re-encoded record is not JSON: %s", once)
		}
		var again event.Envelope
		if err := event.DecodeEnvelope(once, &again); err != nil {
			t.Fatalf("re-encoded record does not decode: %v\n%s", err, once)
		}
		stable, twice := once, again.AppendJSON(nil)
		if !utf8.Valid(data) {
			// A string holding bytes that are not UTF-8 is written with
			// \ufffd in their place, as encoding/json writes it, which
			// reads back as the character itself: the first encoding
			// normalises, and from there it is stable.
			var third event.Envelope
			if err := event.DecodeEnvelope(twice, &third); err != nil {
				t.Fatalf("re-encoded record does not decode: %v\n%s", err, twice)
			}
			stable, twice = twice, third.AppendJSON(nil)
		}
		if !bytes.Equal(stable, twice) {
			t.Fatalf("not stable:\n%s\n%s", stable, twice)
		}
		// Sharing the bytes reads the same record. It shares a copy: the
		// fuzzer writes its next input over data, and shared bytes must
		// never change (the encoder's caches compare strings they keep by
		// address first).
		var shared event.Envelope
		if err := event.DecodeEnvelopeShared(bytes.Clone(data), &shared); err != nil {
			t.Fatalf("DecodeEnvelopeShared fails where DecodeEnvelope does not: %v", err)
		}
		if b := shared.AppendJSON(nil); !bytes.Equal(once, b) {
			t.Fatalf("DecodeEnvelopeShared read\n%s\nDecodeEnvelope read\n%s", b, once)
		}
		// What delivery peeks at in a spooled record is what it decodes to.
		if valid, err := event.PeekValid(once); err != nil || valid != e.Valid {
			t.Fatalf("PeekValid = %v, %v; decoded valid %v\n%s", valid, err, e.Valid, once)
		}
	})
}

func TestPeekValid(t *testing.T) {
	for name, env := range sampleEnvelopes() {
		t.Run(name, func(t *testing.T) {
			valid, err := event.PeekValid(env.AppendJSON(nil))
			if err != nil || valid != env.Valid {
				t.Errorf("PeekValid = %v, %v; want %v", valid, err, env.Valid)
			}
		})
	}
	for _, tc := range []struct {
		name, doc string
		want      bool
		wantErr   bool
	}{
		// A string may hold the member's name; only a member counts.
		{"name inside a string", `{"event_id":"\"valid\":true","valid":false}`, false, false},
		{"nested valid", `{"payload":{"valid":true},"valid":false}`, false, false},
		{"after the payload", `{"payload":[1,{"a":"}"}],"valid":true}`, true, false},
		{"missing", `{"event_id":"e"}`, false, false},
		{"not a boolean", `{"valid":"yes"}`, false, true},
		{"not an object", `[{"valid":true}]`, false, true},
		{"cut before valid", `{"event_id":"e`, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := event.PeekValid([]byte(tc.doc))
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("PeekValid(%s) = %v, %v; want %v, error %v", tc.doc, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func BenchmarkPeekValid(b *testing.B) {
	encoded := sampleEnvelopes()["good"].AppendJSON(nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(encoded)))
	for b.Loop() {
		if valid, err := event.PeekValid(encoded); err != nil || !valid {
			b.Fatal(valid, err)
		}
	}
}

func BenchmarkDecodeEnvelope(b *testing.B) {
	encoded := sampleEnvelopes()["good"].AppendJSON(nil)
	b.Run("hand-written", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(encoded)))
		for b.Loop() {
			var e event.Envelope
			if err := event.DecodeEnvelope(encoded, &e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("shared", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(encoded)))
		for b.Loop() {
			var e event.Envelope
			if err := event.DecodeEnvelopeShared(encoded, &e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(encoded)))
		for b.Loop() {
			var e event.Envelope
			if err := json.Unmarshal(encoded, &e); err != nil {
				b.Fatal(err)
			}
		}
	})
}
