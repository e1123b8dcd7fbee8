package s3

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/sinktest"
)

// BenchmarkWrite writes batches of 100 and 1,000 records (sinktest's
// records, about 1 KB each as JSON, a third of them failed) to the
// in-process S3 fake, as Parquet (typed columns of the records' contract)
// and as NDJSON.gz, with default options but file_bytes of 8 MiB, and
// uploads what is left at the end: the figure is records taken, encoded
// and uploaded per second. The fake keeps objects in memory and shares the
// machine's cores with the sink: it bounds what encoding and the client
// cost, not what a store over a network takes.
//
//	go test -run '^$' -bench Write -benchtime 3s -count 3 ./internal/sink/s3
func BenchmarkWrite(b *testing.B) {
	for _, format := range []string{FormatParquet, FormatNDJSON} {
		for _, batch := range []int{100, 1000} {
			b.Run(fmt.Sprintf("format=%s/batch=%d", format, batch), func(b *testing.B) {
				fake := newFake(b)
				opts := fake.options(format)
				opts.FileBytes = 8 << 20
				set := contract.NewSet([]*contract.Contract{sinktest.CompileContract(b, "iglu:com.acme/checkout/jsonschema/1-0-0",
					`"type": "object", "properties": {"order_id": {"type": "string"}, "total": {"type": "number"}, "note": {"type": "string"}}`)})
				s := open(b, opts, sink.Deps{Contracts: set})
				// As delivery hands them over: decoded, with their JSON.
				recs := sinktest.AsDelivered(s, sinktest.Records("bench", batch))
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				for b.Loop() {
					if err := s.Write(context.Background(), recs); err != nil {
						b.Fatal(err)
					}
				}
				if err := s.Flush(context.Background(), true); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "records/s")
				if fake.puts.Load() == 0 {
					b.Fatal("nothing was uploaded")
				}
			})
		}
	}
}
