package pipeline_test

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/pipeline"
	"github.com/accord-events/accord/internal/protocol"
	"github.com/accord-events/accord/internal/protocol/selfdesc"
)

// benchContract is a typical product-analytics contract: 15 properties of
// the usual kinds (strings with formats and patterns, numbers with bounds,
// enums, booleans, a nested object and an array).
const benchContract = `{
 "$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
 "self": {"vendor": "com.example", "name": "product_viewed", "format": "jsonschema", "version": "1-0-0"},
 "type": "object",
 "properties": {
  "product_id": {"type": "string", "minLength": 1, "maxLength": 64},
  "sku": {"type": "string", "pattern": "^[A-Z0-9-]+$"},
  "name": {"type": "string", "maxLength": 255},
  "brand": {"type": ["string", "null"], "maxLength": 255},
  "category": {"enum": ["shoes", "shirts", "hats", "bags"]},
  "variant": {"type": ["string", "null"]},
  "price": {"type": "number", "minimum": 0},
  "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
  "quantity": {"type": "integer", "minimum": 1, "maximum": 1000},
  "in_stock": {"type": "boolean"},
  "rating": {"type": ["number", "null"], "minimum": 0, "maximum": 5},
  "url": {"type": "string", "format": "uri"},
  "viewed_at": {"type": "string", "format": "date-time"},
  "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 10},
  "dimensions": {"type": "object", "properties": {"width": {"type": "number"}, "height": {"type": "number"}}, "additionalProperties": false}
 },
 "required": ["product_id", "sku", "price", "currency"],
 "additionalProperties": false
}`

func benchEvent(i int) string {
	return `{"schema":"iglu:com.example/product_viewed/jsonschema/1-0-0","data":{"product_id":"p-` + strconv.Itoa(i) + `","sku":"SKU-1234","name":"Trail runner","brand":"Acme","category":"shoes","variant":"blue/42","price":89.95,"currency":"EUR","quantity":1,"in_stock":true,"rating":4.5,"url":"https://shop.example/p/1234","viewed_at":"2026-11-25T10:00:00Z","tags":["running","trail"],"dimensions":{"width":12.5,"height":30}}}`
}

func benchPipeline(b *testing.B) *pipeline.Pipeline {
	b.Helper()
	c, err := contract.Compile([]byte(benchContract), contract.Key{}, "bench")
	if err != nil {
		b.Fatal(err)
	}
	return pipeline.New(contract.NewRegistry([]*contract.Contract{c}), event.Collector{Name: "accord", Version: "bench", Env: "bench", Host: "h"}, "default")
}

// runHotPath is what the collector does with one request's body, short of
// HTTP and the sinks: decode, resolve and validate, annotate, encode.
func runHotPath(b *testing.B, p *pipeline.Pipeline, req *protocol.Request, events int) {
	preq := pipeline.Request{Protocol: selfdesc.Name, RequestID: "r", CollectedAt: time.Now()}
	buf := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	b.SetBytes(int64(len(req.Body)))
	for b.Loop() {
		inputs, err := selfdesc.Decode(req)
		if err != nil {
			b.Fatal(err)
		}
		records := p.Process(preq, inputs)
		buf = buf[:0]
		for _, r := range records {
			if !r.Valid {
				b.Fatalf("benchmark event failed: %+v", r.Failure)
			}
			buf = r.AppendJSON(buf)
			buf = append(buf, '\n')
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*events), "ns/event")
	b.ReportMetric(float64(b.N*events)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkHotPathOneEvent: one 15-field event per request.
func BenchmarkHotPathOneEvent(b *testing.B) {
	p := benchPipeline(b)
	runHotPath(b, p, &protocol.Request{MediaType: "application/json", Body: []byte(benchEvent(1))}, 1)
}

// BenchmarkHotPathBatch100: a 100-event NDJSON batch per request.
func BenchmarkHotPathBatch100(b *testing.B) {
	p := benchPipeline(b)
	var body bytes.Buffer
	for i := range 100 {
		body.WriteString(benchEvent(i))
		body.WriteByte('\n')
	}
	runHotPath(b, p, &protocol.Request{MediaType: "application/x-ndjson", Body: body.Bytes()}, 100)
}
