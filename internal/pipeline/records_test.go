package pipeline

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/accord-events/accord/internal/event"
)

// ProcessInto makes the same records as Process, in memory reused from
// request to request: whatever an earlier, larger request left there
// (failures, raw bodies, contexts, ids) is gone once Clear has run, and
// Clear keeps nothing of the last request alive.
func TestProcessIntoAsProcess(t *testing.T) {
	p := newTestPipeline(t)
	good := json.RawMessage(`{"id": "o1", "total": 9.5}`)
	order := "iglu:com.acme/order/jsonschema/1-0-0"
	requests := [][]event.Input{
		{
			{SchemaKey: order, Data: good, EventID: "e-1", Namespace: "ns", Identity: event.Identity{UserID: "u"},
				Contexts: []event.Context{{Schema: "iglu:com.acme/user/jsonschema/1-0-0", Data: json.RawMessage(`{"id": "u1"}`)}}},
			{SchemaKey: order, Data: json.RawMessage(`{"id": 1}`), Raw: []byte(`{"bad":1}`)},
			{Failure: event.NewFailure(event.PayloadFormatViolation, "bad"), Raw: []byte("{x")},
			{Arbitrary: true, Data: json.RawMessage(`{"any":1}`), Attributes: json.RawMessage(`{"k":"v"}`)},
		},
		{{SchemaKey: order, Data: good}},
		{{SchemaKey: order, Data: good, EventID: "e-3"}, {SchemaKey: "iglu:com.acme/nope/jsonschema/1-0-0", Data: good}},
		make([]event.Input, 7), // more events than the memory had room for
	}
	for i := range requests[3] {
		requests[3][i] = event.Input{SchemaKey: order, Data: good}
	}
	var mem Records
	for i, inputs := range requests {
		want := p.Process(testRequest(), inputs)
		got := p.ProcessInto(testRequest(), inputs, &mem)
		if len(got) != len(want) {
			t.Fatalf("request %d: %d records, want %d", i, len(got), len(want))
		}
		for j := range want {
			w, g := *want[j], *got[j]
			if w.EventID != g.EventID && inputs[j].EventID == "" {
				// An id Accord makes differs from call to call; so does
				// the fingerprint made with it.
				w.EventID, g.EventID, w.Fingerprint, g.Fingerprint = "", "", "", ""
			}
			if !reflect.DeepEqual(w, g) {
				t.Errorf("request %d record %d:\ninto memory %+v\nProcess     %+v", i, j, g, w)
			}
		}
		if i == 2 && &mem.events[0].Envelope != got[0] {
			t.Error("a request no larger than the memory was not made in it")
		}
		mem.Clear()
		for j := range mem.events {
			if !reflect.DeepEqual(mem.events[j], Event{}) {
				t.Fatalf("request %d: event %d not zeroed by Clear", i, j)
			}
		}
	}
}
