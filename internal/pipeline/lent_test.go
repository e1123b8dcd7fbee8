package pipeline

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/event"
)

// TestRecordsOutliveTheirInputs: records outlive the request (the spool,
// the inspector, statistics), while the server reuses the memory of a
// request's inputs for the next request (protocol.Request.Inputs), and
// the text of the ids Accord makes lives in memory allocated with the
// record. Overwriting the inputs after Process, and processing many more
// requests through them, must change no record.
func TestRecordsOutliveTheirInputs(t *testing.T) {
	p := newTestPipeline(t)
	events := []event.Input{
		{SchemaKey: "iglu:com.acme/order/jsonschema/1-0-0", Data: json.RawMessage(`{"id": "o1", "total": 9.5}`)},
		{SchemaKey: "iglu:com.acme/order/jsonschema/1-0-0", Data: json.RawMessage(`{"id": "o2", "total": 1}`), EventID: "client-id",
			Namespace: "web", Identity: event.Identity{UserID: "u1", AnonymousID: "a1"},
			Contexts: []event.Context{{Schema: "iglu:com.acme/user/jsonschema/1-0-0", Data: json.RawMessage(`{"id": "u1"}`)}}},
		{SchemaKey: "iglu:com.acme/order/jsonschema/1-0-0", Data: json.RawMessage(`{"id": "o3", "total": -1}`), Raw: []byte(`{"bad":1}`)},
		{SchemaKey: "iglu:com.acme/nope/jsonschema/1-0-0", Data: json.RawMessage(`{}`)},
	}
	other := event.Input{SchemaKey: "iglu:com.acme/user/jsonschema/1-0-0", Data: json.RawMessage(`{"id": "zz"}`), EventID: "zz", Namespace: "zz",
		Contexts: []event.Context{{Schema: "zz", Data: json.RawMessage(`1`)}}}
	for _, n := range []int{1, 2, len(events)} {
		for first := 0; first+n <= len(events); first++ {
			inputs := append([]event.Input(nil), events[first:first+n]...)
			records := p.Process(testRequest(), inputs)
			var before []string
			for _, r := range records {
				before = append(before, string(r.AppendJSON(nil)), strings.Clone(r.EventID), strings.Clone(r.Fingerprint))
			}
			for range 50 {
				for i := range inputs {
					inputs[i] = other
				}
				p.Process(testRequest(), inputs)
			}
			for i := range inputs {
				inputs[i] = event.Input{}
			}
			for i, r := range records {
				after := []string{string(r.AppendJSON(nil)), r.EventID, r.Fingerprint}
				for j := range after {
					if before[3*i+j] != after[j] {
						t.Errorf("%d events from %d, record %d changed after its inputs were reused:\n%s\n%s", n, first, i, before[3*i+j], after[j])
					}
				}
				if r.Fingerprint != Fingerprint(&events[first+i]) {
					t.Errorf("record %d: fingerprint %q, want %q", i, r.Fingerprint, Fingerprint(&events[first+i]))
				}
			}
		}
	}
}
