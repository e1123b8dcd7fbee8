package selfdesc

import (
	"bytes"
	stdjson "encoding/json"
	"testing"

	"github.com/accord-events/accord/internal/protocol"
	goccy "github.com/goccy/go-json"
)

// benchEvent is a typical web event: every top-level field, one context, and
// data with 15 fields.
const benchEvent = `{"schema":"iglu:com.acme/checkout_completed/jsonschema/1-2-0",` +
	`"data":{"order_id":"ord_8f3a2c91","user_email":"ada@example.com","total":129.95,"currency":"EUR","items":3,` +
	`"coupon":"SPRING24","shipping_method":"express","shipping_cost":4.99,"tax":20.74,"first_order":false,` +
	`"payment":"card","country":"DE","channel":"web","referrer":"https://www.google.com/","ab_variant":"B"},` +
	`"contexts":[{"schema":"iglu:com.acme/page/jsonschema/1-0-0","data":{"url":"https://shop.example.com/checkout","title":"Checkout"}}],` +
	`"event_id":"6f1b7c1e-8a57-4a8e-9a67-2a1f5d7d9c10","created_at":"2024-05-01T12:30:00.123Z","sent_at":"2024-05-01T12:30:01.456Z",` +
	`"namespace":"shop-web","user_id":"u_1234","anonymous_id":"a_9f8e7d6c"}`

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

func benchDecode(b *testing.B, body []byte, events int) {
	b.Helper()
	req := &protocol.Request{MediaType: MediaJSON, Body: body}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ins, err := Decode(req)
		if err != nil || len(ins) != events || ins[0].Failure != nil {
			b.Fatalf("Decode: %v, %d inputs", err, len(ins))
		}
	}
}

func BenchmarkDecodeOne(b *testing.B)      { benchDecode(b, []byte(benchEvent), 1) }
func BenchmarkDecodeBatch100(b *testing.B) { benchDecode(b, benchBatch(100), 100) }

// wireEvent is the event as a struct, for measuring what decoding with a
// reflection-based library would cost. It cannot tell a missing field from a
// null one, nor catch unknown fields, duplicates or a non-string schema
// without more work on top, so Decode does not use it.
type wireEvent struct {
	Schema      string             `json:"schema"`
	Data        stdjson.RawMessage `json:"data"`
	Contexts    []wireContext      `json:"contexts"`
	EventID     string             `json:"event_id"`
	CreatedAt   string             `json:"created_at"`
	SentAt      string             `json:"sent_at"`
	Namespace   string             `json:"namespace"`
	UserID      string             `json:"user_id"`
	AnonymousID string             `json:"anonymous_id"`
}

type wireContext struct {
	Schema string             `json:"schema"`
	Data   stdjson.RawMessage `json:"data"`
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
