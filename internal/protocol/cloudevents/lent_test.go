package cloudevents

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/protocol"
)

// A binary-mode event is read into the input memory the server lends.
func TestBinaryUsesLentInput(t *testing.T) {
	request := func() *protocol.Request {
		h := http.Header{}
		for k, v := range map[string]string{"Ce-Specversion": "1.0", "Ce-Id": "e-9", "Ce-Source": "/shop", "Ce-Type": "com.acme.order.placed"} {
			h.Set(k, v)
		}
		return &protocol.Request{Method: http.MethodPost, Path: "/cloudevents", Header: h, MediaType: "application/json", Body: []byte(`{"total": 9.5}`)}
	}
	want, err := Decode(request())
	if err != nil || len(want) != 1 {
		t.Fatalf("%+v, %v", want, err)
	}
	req := request()
	lent := []event.Input{{SchemaKey: "stale", EventID: "old"}}
	req.Inputs = lent
	got, err := Decode(req)
	if err != nil || len(got) != 1 || &got[0] != &lent[0] || !reflect.DeepEqual(got, want) {
		t.Fatalf("with lent memory: %+v, %v; want %+v in the lent memory", got, err, want)
	}
}
