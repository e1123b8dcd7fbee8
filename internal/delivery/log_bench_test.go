//go:build unix

package delivery_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/accord-events/accord/internal/delivery"
	"github.com/accord-events/accord/internal/spool"
	"github.com/accord-events/accord/internal/spool/kafkalog"
)

// kafkaLog adapts the kafka log's concrete Reader to delivery.Log.
type kafkaLog struct{ *kafkalog.Log }

func (l kafkaLog) Reader(name string) (delivery.Reader, error) { return l.Log.Reader(name) }

// BenchmarkCollect measures what a collector's delivery takes per second:
// Deliver of requests of 100 records (about 1.2 KB each) from 8 goroutines
// at once, into the local spool (fsync batch: group commit) or into the
// kafka log on a three-broker kfake cluster in this process (acks=all,
// replication 3, 12 partitions). kfake shares the process and its CPU, so
// the kafka figure is a floor, not what a real cluster sustains.
//
//	go test -run '^$' -bench Collect -benchtime 200x ./internal/delivery
func BenchmarkCollect(b *testing.B) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, kind := range []string{"local", "kafka"} {
		b.Run(kind, func(b *testing.B) {
			cfg := delivery.Config{Logger: log, DeadLetterDir: filepath.Join(b.TempDir(), "dead-letter")}
			switch kind {
			case "local":
				so := spool.DefaultOptions()
				so.Dir = filepath.Join(b.TempDir(), "spool")
				sp, err := spool.Open(so, log)
				if err != nil {
					b.Fatal(err)
				}
				defer sp.Close()
				cfg.Spool = sp
			case "kafka":
				cluster, err := kfake.NewCluster(kfake.NumBrokers(3))
				if err != nil {
					b.Fatal(err)
				}
				defer cluster.Close()
				o := kafkalog.DefaultOptions()
				o.Brokers, o.ReplicationFactor = cluster.ListenAddrs(), 3
				l, err := kafkalog.Open(o, log)
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close()
				deadline := time.Now().Add(30 * time.Second)
				for l.Ready() != nil {
					if time.Now().After(deadline) {
						b.Fatal(l.Ready())
					}
					time.Sleep(10 * time.Millisecond)
				}
				cfg.Log = kafkaLog{l}
			}
			svc, err := delivery.Start(cfg, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer svc.Close(context.Background())
			b.SetParallelism(4) // 8 goroutines on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				envs := benchEnvelopes(100)
				for pb.Next() {
					if err := svc.Deliver(context.Background(), envs); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
