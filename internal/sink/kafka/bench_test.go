package kafka

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/sink/sinktest"
)

// BenchmarkWrite writes batches of 100 and 1,000 records (sinktest's
// records, about 1 KB each as JSON, a third of them failed) to a kfake
// cluster of three brokers in this process, with the default options
// (idempotent, acks=all, key anonymous_id), and reports records/s. kfake
// keeps records in memory and shares the machine's cores with the
// producer: the figure bounds what the sink's encoding and franz-go cost,
// not what a real cluster over a network takes.
//
//	go test -run '^$' -bench Write -benchtime 3s -count 3 ./internal/sink/kafka
func BenchmarkWrite(b *testing.B) {
	for _, batch := range []int{100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			c := newCluster(b, 3)
			opts := NewOptions()
			opts.Brokers = c.ListenAddrs()
			opts.Partitions = 6
			s, err := New(*opts)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Connect(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer s.Close(context.Background())
			recs := sinktest.Records("bench", batch)
			for i, r := range recs {
				r.Identity.AnonymousID = fmt.Sprintf("anon-%d", i%50)
			}
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
