//go:build unix

package delivery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/delivery"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/file"
	"github.com/accord-events/accord/internal/sink/sqlite"
	"github.com/accord-events/accord/internal/spool"
	"github.com/google/uuid"
)

// BenchmarkDrain measures delivery alone: a spool holding b.N*100 records
// (about 1.2 KB each, one in ten failed) drained by one runner into a sink,
// from Start until the sink holds them all. It reports the process's CPU
// time per record, steadier than wall time on a shared machine.
//
//	go test -run '^$' -bench Drain -benchmem -count 6 ./internal/delivery
func BenchmarkDrain(b *testing.B) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		name string
		open func(dir string) (sink.Sink, error)
	}{
		{"sqlite", func(dir string) (sink.Sink, error) {
			opts := sqlite.NewOptions()
			opts.Path = filepath.Join(dir, "accord.db")
			return sqlite.Open(context.Background(), *opts, log)
		}},
		{"file", func(dir string) (sink.Sink, error) {
			opts := file.NewOptions()
			opts.GoodPath, opts.FailedPath = filepath.Join(dir, "good.ndjson"), filepath.Join(dir, "failed.ndjson")
			return file.Open(*opts, log)
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			dir := b.TempDir()
			so := spool.DefaultOptions()
			so.Dir = filepath.Join(dir, "spool")
			sp, err := spool.Open(so, log)
			if err != nil {
				b.Fatal(err)
			}
			defer sp.Close()
			for i := 0; i < b.N; i++ {
				if _, err := sp.Append(context.Background(), drainBatch(100)); err != nil {
					b.Fatal(err)
				}
			}
			s, err := tc.open(dir)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			cpu := cpuTime(b)
			b.ResetTimer()
			svc, err := delivery.Start(delivery.Config{Spool: sp, Logger: log, DeadLetterDir: filepath.Join(dir, "dead-letter")},
				[]delivery.Target{{Name: "store", Records: sink.All, Sink: s, Options: delivery.DefaultOptions()}})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			if err := svc.Close(ctx); err != nil { // drains the spool
				b.Fatal(err)
			}
			b.StopTimer()
			cpu = cpuTime(b) - cpu
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*100), "cpu-ns/record")
			b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// drainBatch returns n encoded records as the pipeline spools them.
func drainBatch(n int) [][]byte {
	envs := benchEnvelopes(n)
	out := make([][]byte, n)
	for i, r := range envs {
		out[i] = r.AppendJSON(nil)
	}
	return out
}

// benchEnvelopes returns n records as the pipeline hands them to delivery:
// about 1.2 KB each encoded, one in ten failed.
func benchEnvelopes(n int) []*event.Envelope {
	at := time.Now().UTC()
	out := make([]*event.Envelope, n)
	for i := range out {
		ts := event.Time{Time: at}
		r := &event.Envelope{
			EventID: uuid.Must(uuid.NewV7()).String(), RequestID: "req", CollectedAt: ts, SentAt: ts, CreatedAt: ts, EventTime: ts,
			Protocol: "selfdesc", Schema: "iglu:com.acme/checkout_completed/jsonschema/1-0-0", Vendor: "com.acme",
			Name: "checkout_completed", Version: "1-0-0", Namespace: "default", Valid: i%10 != 9,
			Payload:  json.RawMessage(fmt.Sprintf(`{"order_id":"o-%d","total":129.95,"currency":"EUR","items":[{"sku":"SKU-1","quantity":2,"price":49.99},{"sku":"SKU-2","quantity":1,"price":29.97}],"coupon":null,"shipping":{"method":"express","country":"DE"},"payment":"card","first_order":false}`, i)),
			Contexts: []event.Context{{Schema: "iglu:com.acme/user/jsonschema/1-0-0", Data: json.RawMessage(`{"id":"u-48213","plan":"pro","signed_up":"2025-03-01"}`)}},
			Source: event.Source{IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
				Referer: "https://shop.example/cart", Origin: "https://shop.example", Path: "/events"},
			Identity:  event.Identity{UserID: "u-48213", AnonymousID: "a-1"},
			Collector: event.Collector{Name: "accord", Version: "dev", Env: "bench", Host: "h"}, Fingerprint: "0123456789abcdef",
		}
		if !r.Valid {
			r.Failure = event.NewFailure(event.SchemaViolation, "/total must be a number")
			r.SetRaw([]byte(`{"total":"x"}`))
		}
		out[i] = r
	}
	return out
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
