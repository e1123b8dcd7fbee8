package segment

import (
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/protocol"
)

// benchTrack is a typical analytics.js track: ids, 12 properties and the
// context the library fills in.
const benchTrack = `{"type":"track","event":"Order Completed","messageId":"ajs-next-6f1b7c1e8a574a8e9a672a1f5d7d9c10",` +
	`"userId":"u_1234","anonymousId":"a2b7c1d4-9f8e-4d6c-8b1a-2f3e4d5c6b7a",` +
	`"properties":{"order_id":"ord_8f3a2c91","total":129.95,"revenue":109.21,"currency":"EUR","coupon":"SPRING24",` +
	`"shipping":4.99,"tax":20.74,"discount":10,"products":[{"product_id":"p1","sku":"S-1","price":59.95,"quantity":2}],` +
	`"first_order":false,"payment":"card","channel":"web"},` +
	`"context":{"ip":"203.0.113.7","library":{"name":"analytics.js","version":"next-1.64.0"},"locale":"de-DE",` +
	`"page":{"path":"/checkout","referrer":"https://www.google.com/","title":"Checkout","url":"https://shop.example.com/checkout"},` +
	`"userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"},` +
	`"integrations":{"All":true},"timestamp":"2024-05-01T12:30:00.123Z","sentAt":"2024-05-01T12:30:01.456Z"}`

func benchBatch(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"batch":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(benchTrack)
	}
	b.WriteString(`],"sentAt":"2024-05-01T12:30:01.456Z","writeKey":"wk_0123456789"}`)
	return []byte(b.String())
}

func benchDecode(b *testing.B, body []byte, call string, messages int) {
	b.Helper()
	req := &protocol.Request{MediaType: MediaJSON, Body: body}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		msgs, err := Decoder{}.Decode(req, call)
		if err != nil || len(msgs) != messages || msgs[0].Input.Failure != nil {
			b.Fatalf("Decode: %v, %d messages", err, len(msgs))
		}
	}
}

func BenchmarkDecodeTrack(b *testing.B) { benchDecode(b, []byte(benchTrack), CallTrack, 1) }
func BenchmarkDecodeBatch(b *testing.B) { benchDecode(b, benchBatch(20), CallBatch, 20) }
