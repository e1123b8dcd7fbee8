package cloudevents

import (
	"bytes"
	stdjson "encoding/json"
	"testing"

	"github.com/accord-events/accord/internal/protocol"
	goccy "github.com/goccy/go-json"
)

// benchEvent has 15 members: the 8 context attributes, 6 extensions and data.
const benchEvent = `{"specversion":"1.0","id":"6f1b7c1e-8a57-4a8e-9a67-2a1f5d7d9c10","source":"https://shop.example.com/checkout",` +
	`"type":"com.acme.order.placed","datacontenttype":"application/json","dataschema":"iglu:com.acme/order_placed/jsonschema/1-2-0",` +
	`"subject":"order/ord_8f3a2c91","time":"2024-05-01T12:30:00.123Z","tenant":"acme","region":"eu-west-1","attempt":1,` +
	`"replay":false,"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01","partitionkey":"u_1234",` +
	`"data":{"order_id":"ord_8f3a2c91","total":129.95,"currency":"EUR","items":3,"coupon":"SPRING24","country":"DE"}}`

func benchBatch(n int) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(benchEvent)
	}
	b.WriteByte(']')
	return b.Bytes()
}

func benchDecode(b *testing.B, req *protocol.Request, events int) {
	b.Helper()
	b.SetBytes(int64(len(req.Body)))
	b.ReportAllocs()
	for b.Loop() {
		ins, err := Decode(req)
		if err != nil || len(ins) != events || ins[0].Failure != nil {
			b.Fatalf("Decode: %v, %d inputs", err, len(ins))
		}
	}
}

func BenchmarkDecodeOne(b *testing.B) {
	benchDecode(b, &protocol.Request{MediaType: MediaStructured, Body: []byte(benchEvent)}, 1)
}

func BenchmarkDecodeBatch100(b *testing.B) {
	benchDecode(b, &protocol.Request{MediaType: MediaBatch, Body: benchBatch(100)}, 100)
}

func BenchmarkDecodeBinary(b *testing.B) {
	req := request("application/json", withHeaders(map[string]string{"Ce-Time": "2024-05-01T12:30:00.123Z", "Ce-Tenant": "acme", "Ce-Attempt": "1"}),
		`{"order_id":"ord_8f3a2c91","total":129.95,"currency":"EUR","items":3,"coupon":"SPRING24","country":"DE"}`)
	benchDecode(b, req, 1)
}

// wireEvent is the event as a struct, for measuring what decoding with a
// reflection-based library would cost. Extensions would still need a second
// pass (or a map), so Decode does not use it.
type wireEvent struct {
	SpecVersion     string             `json:"specversion"`
	ID              string             `json:"id"`
	Source          string             `json:"source"`
	Type            string             `json:"type"`
	DataContentType string             `json:"datacontenttype"`
	DataSchema      string             `json:"dataschema"`
	Subject         string             `json:"subject"`
	Time            string             `json:"time"`
	Data            stdjson.RawMessage `json:"data"`
	DataBase64      string             `json:"data_base64"`
}

// BenchmarkStructEncodingJSON and BenchmarkStructGoccy decode the same batch
// into []wireEvent: the alternatives to Decode's in-place reading.
func BenchmarkStructEncodingJSON(b *testing.B) {
	body := benchBatch(100)
	b.ReportAllocs()
	for b.Loop() {
		var evs []wireEvent
		if err := stdjson.Unmarshal(body, &evs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStructGoccy(b *testing.B) {
	body := benchBatch(100)
	b.ReportAllocs()
	for b.Loop() {
		var evs []wireEvent
		if err := goccy.Unmarshal(body, &evs); err != nil {
			b.Fatal(err)
		}
	}
}
