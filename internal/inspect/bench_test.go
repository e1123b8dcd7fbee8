package inspect

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/accord-events/accord/internal/event"
)

// benchRecords is a request of 100 records like the load generator's: the
// repository's 15-field product_viewed event as stored.
func benchRecords(b *testing.B) []*event.Envelope {
	data, err := os.ReadFile("../../testdata/events/product_viewed.json")
	if err != nil {
		b.Fatal(err)
	}
	recs := make([]*event.Envelope, 100)
	for i := range recs {
		recs[i] = &event.Envelope{EventID: "0193a5b2-7c1e-7d3a-9f00-000000000001", Schema: "iglu:com.example/product_viewed/jsonschema/1-0-0",
			Protocol: "selfdesc", Valid: true, Payload: json.RawMessage(data)}
	}
	return recs
}

// BenchmarkPublishNoViewer: what the tap costs a request of 100 records
// when nobody watches (docs/performance-log.md).
func BenchmarkPublishNoViewer(b *testing.B) {
	tp, recs := New(), benchRecords(b)
	b.ReportAllocs()
	for b.Loop() {
		tp.Publish(recs)
	}
}

// BenchmarkPublishOneViewer: the same with one viewer taking everything,
// at full load: its rate is spent, so most records are counted as dropped
// and Rate a second are encoded and queued (a reader drains the queue).
func BenchmarkPublishOneViewer(b *testing.B) {
	tp, recs := New(), benchRecords(b)
	v, _ := tp.Subscribe(Filter{})
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-v.Records():
			case <-done:
				return
			}
		}
	}()
	defer close(done)
	b.ReportAllocs()
	for b.Loop() {
		tp.Publish(recs)
	}
}

// BenchmarkEncodeOneRecord: the work of each record a viewer is sent.
func BenchmarkEncodeOneRecord(b *testing.B) {
	rec := benchRecords(b)[0]
	b.ReportAllocs()
	for b.Loop() {
		_ = encode(rec)
	}
}
