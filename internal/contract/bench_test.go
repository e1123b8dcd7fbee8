package contract

import (
	"bytes"
	"os"
	"testing"
)

// The benchmark contract and event live in the repository's testdata/,
// shared with the pipeline's hot-path benchmark: a typical product-analytics
// contract of 15 properties of the usual kinds, and a valid event for it.
var (
	benchDoc  = mustRead("../../testdata/contracts/com.example/product_viewed/jsonschema/1-0-0")
	benchData = string(bytes.TrimSpace(mustRead("../../testdata/events/product_viewed.json")))
)

func mustRead(path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return b
}

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
	c, err := Compile(benchDoc, Key{}, "bench")
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
	c, err := Compile(benchDoc, Key{}, "bench")
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
