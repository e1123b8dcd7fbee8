package contract

import (
	"testing"
)

const benchDoc = `{
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

const benchData = `{"product_id":"p-1","sku":"SKU-1234","name":"Trail runner","brand":"Acme","category":"shoes","variant":"blue/42","price":89.95,"currency":"EUR","quantity":1,"in_stock":true,"rating":4.5,"url":"https://shop.example/p/1234","viewed_at":"2026-11-25T10:00:00Z","tags":["running","trail"],"dimensions":{"width":12.5,"height":30}}`

func BenchmarkDecodeValue(b *testing.B) {
	data := []byte(benchData)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeValue(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	c, err := Compile([]byte(benchDoc), Key{}, "bench")
	if err != nil {
		b.Fatal(err)
	}
	v, err := DecodeValue([]byte(benchData))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if msgs := c.Validate(v, "/data"); msgs != nil {
			b.Fatal(msgs)
		}
	}
}

// BenchmarkValidateJSON is what the pipeline runs: the fast path on the
// event's bytes, for the same contract and data as BenchmarkValidate.
func BenchmarkValidateJSON(b *testing.B) {
	c, err := Compile([]byte(benchDoc), Key{}, "bench")
	if err != nil {
		b.Fatal(err)
	}
	data := []byte(benchData)
	b.ReportAllocs()
	for b.Loop() {
		if msgs, err := c.ValidateJSON(data, "/data"); msgs != nil || err != nil {
			b.Fatal(msgs, err)
		}
	}
}
