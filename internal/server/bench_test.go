//go:build unix

package server_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/delivery"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/loadgen"
	"github.com/accord-events/accord/internal/metrics"
	"github.com/accord-events/accord/internal/pipeline"
	"github.com/accord-events/accord/internal/protocol"
	"github.com/accord-events/accord/internal/protocol/selfdesc"
	"github.com/accord-events/accord/internal/server"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/file"
	"github.com/accord-events/accord/internal/sink/sqlite"
	"github.com/accord-events/accord/internal/spool"
)

// BenchmarkCollectBatch100SQLite measures the collector in process, short
// of the network: a 100-event NDJSON request through the handler, the
// pipeline and delivery to the SQLite sink, with requests in parallel as a
// loaded collector sees them. spool=off writes to SQLite within each
// request; spool=on appends to the spool (fsync per group commit) and a
// runner writes to SQLite behind it. The clock stops only once SQLite
// holds every record, so both measure events stored per second.
func BenchmarkCollectBatch100SQLite(b *testing.B) {
	for _, spooled := range []bool{false, true} {
		name := "spool=off"
		if spooled {
			name = "spool=on"
		}
		b.Run(name, func(b *testing.B) {
			benchmarkCollect(b, spooled, func(dir string, log *slog.Logger) (sink.Sink, error) {
				opts := sqlite.NewOptions()
				opts.Path = filepath.Join(dir, "accord.db")
				return sqlite.Open(context.Background(), *opts, log)
			})
		})
	}
}

// BenchmarkCollectBatch100File is the same with the file sink, which
// writes each record's JSON as it is: what delivery costs beside a sink
// that needs no decoding.
func BenchmarkCollectBatch100File(b *testing.B) {
	b.Run("spool=on", func(b *testing.B) {
		benchmarkCollect(b, true, func(dir string, log *slog.Logger) (sink.Sink, error) {
			opts := file.NewOptions()
			opts.GoodPath = filepath.Join(dir, "good.ndjson")
			opts.FailedPath = filepath.Join(dir, "failed.ndjson")
			return file.Open(*opts, log)
		})
	})
}

func benchmarkCollect(b *testing.B, spooled bool, open func(dir string, log *slog.Logger) (sink.Sink, error)) {
	contracts, problems, err := contract.LoadDir("../scaffold/template/contracts")
	if err != nil || len(problems) > 0 {
		b.Fatal(err, problems)
	}
	dir := b.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := open(dir, log)
	if err != nil {
		b.Fatal(err)
	}
	dcfg := delivery.Config{Logger: log, DeadLetterDir: filepath.Join(dir, "dead-letter")}
	if spooled {
		so := spool.DefaultOptions()
		so.Dir = filepath.Join(dir, "spool")
		sp, err := spool.Open(so, log)
		if err != nil {
			b.Fatal(err)
		}
		defer sp.Close()
		dcfg.Spool = sp
	}
	svc, err := delivery.Start(dcfg, []delivery.Target{{Name: "store", Records: sink.All, Sink: store, Options: delivery.DefaultOptions()}})
	if err != nil {
		b.Fatal(err)
	}
	p := pipeline.New(contract.NewSet(contracts), event.Collector{Name: "accord"}, "default")
	// As accord serve builds it: request durations go to /metrics.
	m := metrics.New(metrics.Sources{Delivery: svc})
	srv := server.New(server.DefaultOptions(), p, svc, []protocol.Endpoint{{Path: "/events", Protocol: selfdesc.Name, Decode: protocol.Plain(selfdesc.Decode)}}, log,
		server.WithRouteLatency(func(pattern string) server.Observer { return m.RouteLatency(pattern) }))
	h := srv.Handler()
	body := loadgen.CheckoutBatch(100)

	b.ReportAllocs()
	b.SetParallelism(4)
	cpu := cpuTime(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/events", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/x-ndjson")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	})
	// Close drains the spool into SQLite before it returns.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := svc.Close(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	cpu = cpuTime(b) - cpu
	if lag := svc.Stats().Sinks[0].LagRecords; lag != 0 {
		b.Fatalf("%d records not delivered when the benchmark ended", lag)
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "events/s")
	// On a machine shared with other work, wall time varies with the load;
	// the CPU time the process spent (user and system, GC included) is the
	// steadier measure of what an event costs.
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*100), "cpu-ns/event")
}

// cpuTime returns the CPU time the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// discard takes records and keeps none: BenchmarkServeOneEvent measures
// the collector's own work on a request, short of the spool and the sinks.
type discard struct{}

func (discard) Deliver(context.Context, []*event.Envelope) error { return nil }

// KeepsNoRecords: as a spool, discard keeps nothing of the records once
// Deliver has returned, so the server reuses their memory as it does in
// accord serve.
func (discard) KeepsNoRecords() bool { return true }

// BenchmarkServeOneEvent is one single-event request through the handler
// as accord serve builds it (request ids, access log, recovery, route
// latency, CORS, the collection handler, the pipeline), short of the
// network and of delivery: the per-request cost of the server itself
// (with httptest's request and recorder, which net/http's own reading and
// writing replace in accord serve).
func BenchmarkServeOneEvent(b *testing.B) {
	contracts, problems, err := contract.LoadDir("../scaffold/template/contracts")
	if err != nil || len(problems) > 0 {
		b.Fatal(err, problems)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := pipeline.New(contract.NewSet(contracts), event.Collector{Name: "accord"}, "default")
	m := metrics.New(metrics.Sources{})
	srv := server.New(server.DefaultOptions(), p, discard{}, []protocol.Endpoint{{Path: "/events", Protocol: selfdesc.Name, Decode: protocol.Plain(selfdesc.Decode)}}, log,
		server.WithRouteLatency(func(pattern string) server.Observer { return m.RouteLatency(pattern) }))
	h := srv.Handler()
	body := loadgen.CheckoutBatch(1)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/events", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-ndjson")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
