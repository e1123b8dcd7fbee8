package mysql

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/sinktest"
	"github.com/accord-events/accord/internal/sink/sqltest"
)

// benchContract has 15 properties of every kind the model maps (the
// postgres sink's benchmark contract).
const benchContract = `"type": "object", "required": ["order_id", "total"], "properties": {
	"order_id": {"type": "string"}, "customer_id": {"type": "string", "format": "uuid"},
	"total": {"type": "number"}, "tax": {"type": "number"}, "items": {"type": "integer"},
	"quantity": {"type": "integer"}, "paid": {"type": "boolean"}, "gift": {"type": "boolean"},
	"placed_at": {"type": "string", "format": "date-time"}, "ship_on": {"type": "string", "format": "date"},
	"currency": {"type": "string"}, "coupon": {"type": "string"}, "channel": {"type": "string"},
	"tags": {"type": "array", "items": {"type": "string"}},
	"address": {"type": "object", "properties": {"city": {"type": "string"}}}}`

func benchRecords(prefix string, n int) []*event.Envelope {
	out := make([]*event.Envelope, n)
	for i := range out {
		payload := fmt.Sprintf(`{"order_id":"o-%d","customer_id":"6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b","total":%d.25,"tax":1.5,"items":%d,"quantity":2,`+
			`"paid":true,"gift":false,"placed_at":"2026-12-04T10:11:12.123Z","ship_on":"2026-12-06","currency":"EUR","coupon":"XMAS",`+
			`"channel":"web","tags":["a","b"],"address":{"city":"Lyon"}}`, i, i, i%7)
		r := sqltest.Record(fmt.Sprintf("%s-%d", prefix, i), "iglu:com.acme/bench/jsonschema/1-0-0", payload,
			event.Context{Schema: "iglu:com.acme/user/jsonschema/1-0-0", Data: json.RawMessage(`{"id":"u-1"}`)})
		r.Source = event.Source{IP: "192.0.2.1", UserAgent: "bench/1.0"}
		r.Collector = event.Collector{Name: "accord", Version: "bench"}
		out[i] = r
	}
	return out
}

// BenchmarkWrite measures rows/s into MySQL or MariaDB: each record in the
// raw table and, with typed tables, in the 15-column typed table too.
//
//	go test -run '^$' -bench Write -benchtime 20x ./internal/sink/mysql
func BenchmarkWrite(b *testing.B) {
	for _, mode := range []string{TablesAuto, TablesOff} {
		for _, batch := range []int{100, 1000} {
			b.Run(fmt.Sprintf("tables=%s/batch=%d", mode, batch), func(b *testing.B) {
				opts := testDatabase(b)
				opts.Tables = mode
				set := contract.NewSet([]*contract.Contract{sinktest.CompileContract(b, "iglu:com.acme/bench/jsonschema/1-0-0", benchContract),
					sinktest.CompileContract(b, "iglu:com.acme/user/jsonschema/1-0-0", `"type": "object", "properties": {"id": {"type": "string"}}`)})
				s, err := New(*opts, sink.Deps{Contracts: set})
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Connect(context.Background()); err != nil {
					b.Fatal(err)
				}
				defer s.Close(context.Background())
				batches := make([][]*event.Envelope, b.N)
				for i := range batches {
					batches[i] = benchRecords(fmt.Sprintf("b%d", i), batch)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					if err := s.Write(context.Background(), batches[i]); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}
