package redis

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/sink/sinktest"
)

// BenchmarkWrite writes batches of 100 and 1,000 records (sinktest's
// records, about 1 KB each as JSON, a third of them failed) to the real
// Redis server on this machine (no persistence, over loopback) with the
// default options (MAXLEN ~ 1000000), and reports records/s.
//
//	go test -run '^$' -bench Write -benchtime 3s -count 3 ./internal/sink/redis
func BenchmarkWrite(b *testing.B) {
	for _, batch := range []int{100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			opts, _ := testStreams(b)
			opts.MaxLen = NewOptions().MaxLen
			opts.Timeout = NewOptions().Timeout
			s, err := New(*opts)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Connect(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer s.Close(context.Background())
			recs := sinktest.Records("bench", batch)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for b.Loop() {
				if err := s.Write(context.Background(), recs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "records/s")
		})
	}
}
