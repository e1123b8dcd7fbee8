package nats

import (
	"context"
	"fmt"
	"testing"

	"github.com/accord-events/accord/internal/sink/sinktest"
)

// BenchmarkWrite writes batches of 100 and 1,000 records (sinktest's
// records, about 1 KB each as JSON, a third of them failed) to the NATS
// server on the machine (file storage, one replica) with the default
// options, each write awaiting every acknowledgement, and reports
// records/s. Every iteration writes fresh event ids, so the server's
// deduplication never drops one.
//
//	go test -run '^$' -bench Write -benchtime 3s -count 3 ./internal/sink/nats
func BenchmarkWrite(b *testing.B) {
	for _, batch := range []int{100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			opts := testOptions(b)
			opts.MaxAge = 0
			s, err := New(*opts)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Connect(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer s.Close(context.Background())
			b.ReportAllocs()
			b.ResetTimer()
			n := 0
			for b.Loop() {
				b.StopTimer()
				recs := sinktest.Records(fmt.Sprintf("bench%d", n), batch)
				n++
				b.StartTimer()
				if err := s.Write(context.Background(), recs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
