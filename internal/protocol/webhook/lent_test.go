package webhook

import (
	"reflect"
	"testing"

	"github.com/accord-events/accord/internal/event"
)

// A delivery is read into the input memory the server lends.
func TestDecodeUsesLentInput(t *testing.T) {
	src := Source{Name: "open", Schema: pushSchema}
	body := `{"ref":"refs/heads/main","commits":[{"id":"c1"}]}`
	want, err := Decode(whRequest("open", body, nil), src)
	if err != nil {
		t.Fatal(err)
	}
	req := whRequest("open", body, nil)
	lent := []event.Input{{SchemaKey: "stale", EventID: "old"}}
	req.Inputs = lent
	got, err := Decode(req, src)
	if err != nil || len(got) != 1 || &got[0] != &lent[0] || !reflect.DeepEqual(got, want) {
		t.Fatalf("with lent memory: %+v, %v; want %+v in the lent memory", got, err, want)
	}
}
