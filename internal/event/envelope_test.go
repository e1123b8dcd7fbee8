package event_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/event/eventtest"
)

func sampleEnvelopes() map[string]*event.Envelope {
	at := time.Date(2026, 11, 25, 10, 11, 12, 123456789, time.UTC)
	good := &event.Envelope{
		EventID: "e1", RequestID: "r1",
		CollectedAt: event.Time{Time: at}, CreatedAt: event.Time{Time: at.Add(-time.Second)}, EventTime: event.Time{Time: at},
		Protocol: "selfdesc", Schema: "iglu:com.acme/x/jsonschema/1-0-0", Vendor: "com.acme", Name: "x", Version: "1-0-0", Namespace: "default",
		Valid:       true,
		Payload:     json.RawMessage("{\n  \"a\": \"line\\nbreak\",\r\n \"b\": [1, 2.5e3]\n}"),
		Contexts:    []event.Context{{Schema: "iglu:com.acme/c/jsonschema/1-0-0", Data: json.RawMessage(`{"id":"u"}`)}},
		Attributes:  json.RawMessage(`{"source":"/x"}`),
		Source:      event.Source{IP: "192.0.2.1", UserAgent: "agent \"007\"\t<tab>", Referer: "https://a.example/?q=1&r=2", Origin: "https://a.example", Path: "/events"},
		Identity:    event.Identity{UserID: "ü-ser\u2028", AnonymousID: "a\x01b"},
		Collector:   event.Collector{Name: "accord", Version: "v1", Env: "test", Host: "h"},
		Fingerprint: "abc123",
	}
	failed := &event.Envelope{
		EventID: "e2", CollectedAt: event.Time{Time: at}, EventTime: event.Time{Time: at}, Protocol: "cloudevents",
		Failure: &event.Failure{Type: event.SchemaViolation, Messages: []event.Message{
			{Schema: "iglu:com.acme/x/jsonschema/1-0-0", InstancePath: "/data/a", SchemaPath: "/properties/a/type", Keyword: "type", Message: "/data/a must be integer, but is string"},
			{InstancePath: "", SchemaPath: "", Message: "whole input"},
		}},
		Collector: event.Collector{Name: "accord"}, Fingerprint: "0",
	}
	failed.SetRaw([]byte("not \xff utf8"))
	failed.ReplayedAt = event.Time{Time: at.Add(time.Hour)}
	failed.OriginalEventID = "claimed-by-another"
	return map[string]*event.Envelope{"good": good, "failed": failed, "minimal": {Valid: true, EventID: "e3", CollectedAt: event.Time{Time: at}, EventTime: event.Time{Time: at}, Protocol: "p", Collector: event.Collector{Name: "a"}, Fingerprint: "1"}}
}

// The hand-written encoder must produce what encoding/json would, field for
// field, on one line.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	for name, env := range sampleEnvelopes() {
		t.Run(name, func(t *testing.T) {
			got := env.AppendJSON(nil)
			if bytes.ContainsAny(got, "\n\r") {
				t.Fatalf("encoded envelope spans lines: %s", got)
			}
			// AppendJSON writes absent contexts as [], never null.
			withContexts := *env
			if withContexts.Contexts == nil {
				withContexts.Contexts = []event.Context{}
			}
			want, err := json.Marshal(&withContexts)
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, got)
			}
			if err := json.Unmarshal(want, &w); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("AppendJSON:\n%s\nencoding/json:\n%s", got, want)
			}
			eventtest.CheckJSON(t, got)

			var back event.Envelope
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatal(err)
			}
			if again := back.AppendJSON(nil); !bytes.Equal(again, got) && !strings.Contains(string(env.Payload), "\n") {
				t.Errorf("round trip changed the record:\n%s\n%s", got, again)
			}
		})
	}
}

// An envelope that carries its encoding is written as that encoding: the
// bytes delivery read from the spool go out as they came in.
func TestAppendJSONCopiesTheEncoding(t *testing.T) {
	env := sampleEnvelopes()["good"]
	encoded := env.AppendJSON(nil)
	carried := &event.Envelope{Valid: true, JSON: encoded}
	if got := carried.AppendJSON([]byte("x")); string(got) != "x"+string(encoded) {
		t.Errorf("AppendJSON = %s, want x%s", got, encoded)
	}
}

func TestSetRaw(t *testing.T) {
	var e event.Envelope
	e.SetRaw([]byte(`{"a":1}`))
	if e.Raw != `{"a":1}` || e.RawEncoding != event.RawText {
		t.Errorf("text: %q %q", e.Raw, e.RawEncoding)
	}
	e.SetRaw([]byte{0xff})
	if e.Raw != "/w==" || e.RawEncoding != event.RawBase64 {
		t.Errorf("binary: %q %q", e.Raw, e.RawEncoding)
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	env := sampleEnvelopes()["good"]
	env.Payload = json.RawMessage(`{"order_id":"ord-1","total":129.9,"currency":"EUR","coupon":null,"items":[{"sku":"sku-1","quantity":1,"price":99.9},{"sku":"sku-2","quantity":2,"price":15}]}`)
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = env.AppendJSON(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
}

// SizeHint is the encoding's length exactly when nothing needs escaping
// and no raw JSON holds a line break, and never more than it otherwise:
// delivery sizes a request's frames with it.
func TestSizeHint(t *testing.T) {
	at := time.Date(2026, 12, 5, 14, 0, 0, 0, time.UTC)
	plain := []*event.Envelope{
		{},
		{EventID: "e", Valid: true, CollectedAt: event.Time{Time: at}, EventTime: event.Time{Time: at}, Payload: json.RawMessage(`{"a":1}`)},
		{EventID: "e", RequestID: "r", CollectedAt: event.Time{Time: at}, SentAt: event.Time{Time: at}, CreatedAt: event.Time{Time: at}, EventTime: event.Time{Time: at.Add(time.Second)},
			Protocol: "snowplow", Schema: "iglu:com.acme/x/jsonschema/1-0-0", Vendor: "com.acme", Name: "x", Version: "1-0-0", Namespace: "ns", Valid: true,
			Payload: json.RawMessage(`{"a":[1,2,{"b":null}]}`), Attributes: json.RawMessage(`{"k":"v"}`),
			Contexts: []event.Context{{Schema: "iglu:a/b/jsonschema/1-0-0", Data: json.RawMessage(`{"id":1}`)}, {Schema: "s", Data: nil}},
			Source:   event.Source{IP: "192.0.2.1", UserAgent: "Mozilla/5.0", Referer: "https://a.example/", Origin: "https://a.example", Path: "/i"},
			Identity: event.Identity{UserID: "u", NetworkUserID: "n"}, Collector: event.Collector{Name: "accord", Version: "v1", Env: "prod", Host: "h1"},
			Fingerprint: "f", ReplayedAt: event.Time{Time: at}, OriginalEventID: "o"},
		{EventID: "e", Failure: &event.Failure{Type: event.SchemaViolation, Messages: []event.Message{
			{Schema: "s", InstancePath: "/a", SchemaPath: "/properties/a", Keyword: "type", Message: "wrong type"}, {Message: "m"}}}},
		{EventID: "e", Failure: &event.Failure{Type: event.PayloadFormatViolation}},
	}
	plain[4].SetRaw([]byte("not json"))
	for i, env := range plain {
		if got, want := env.SizeHint(), len(env.AppendJSON(nil)); got != want {
			t.Errorf("plain record %d: SizeHint %d, encoded %d bytes: %s", i, got, want, env.AppendJSON(nil))
		}
	}
	for name, env := range sampleEnvelopes() {
		if got, want := env.SizeHint(), len(env.AppendJSON(nil)); got > want {
			t.Errorf("%s: SizeHint %d, more than the %d bytes encoded", name, got, want)
		}
	}
}
