package protocol_test

import (
	"reflect"
	"testing"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/protocol"
)

// OneInput sets the lent memory anew, whatever it held, and allocates
// a slice only when none is lent.
func TestOneInput(t *testing.T) {
	in := event.Input{SchemaKey: "iglu:a/b/jsonschema/1-0-0", Data: []byte(`{"a":1}`)}
	if got := (&protocol.Request{}).OneInput(in); len(got) != 1 || !reflect.DeepEqual(got[0], in) {
		t.Fatalf("without lent memory: %+v", got)
	}
	lent := []event.Input{{SchemaKey: "stale", EventID: "old", Raw: []byte("old")}}
	got := (&protocol.Request{Inputs: lent}).OneInput(in)
	if len(got) != 1 || &got[0] != &lent[0] {
		t.Fatal("the lent memory was not used")
	}
	if !reflect.DeepEqual(got[0], in) {
		t.Fatalf("the lent input keeps what it held: %+v", got[0])
	}
}
