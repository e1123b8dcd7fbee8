package delivery

import (
	"testing"

	"github.com/accord-events/accord/internal/event"
)

// BenchmarkCountRecords: what counting one request's 100 records costs
// Deliver (per contract, per unknown context, per kind for /metrics).
func BenchmarkCountRecords(b *testing.B) {
	c := newContractCounters()
	recs := make([]*event.Envelope, 100)
	for i := range recs {
		recs[i] = &event.Envelope{Schema: "iglu:com.acme/checkout/jsonschema/1-0-0", Resolved: true, Valid: i%10 != 0, Protocol: "selfdesc"}
		if !recs[i].Valid {
			recs[i].Failure = event.NewFailure(event.SchemaViolation, "bad")
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		c.add(recs)
	}
}
