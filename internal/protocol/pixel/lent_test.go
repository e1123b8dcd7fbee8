package pixel

import (
	"reflect"
	"testing"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
)

// A hit is read into the input memory the server lends.
func TestArbitraryUsesLentInput(t *testing.T) {
	c := NewDecoders(DefaultOptions(), contract.NewSet(nil))
	want, _, err := c.Arbitrary(pxRequest(t, "campaign=x&eid=e-1", "", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	req := pxRequest(t, "campaign=x&eid=e-1", "", "", "")
	lent := []event.Input{{SchemaKey: "stale", EventID: "old"}}
	req.Inputs = lent
	got, _, err := c.Arbitrary(req)
	if err != nil || len(got) != 1 || &got[0] != &lent[0] || !reflect.DeepEqual(got, want) {
		t.Fatalf("with lent memory: %+v, %v; want %+v in the lent memory", got, err, want)
	}
}
