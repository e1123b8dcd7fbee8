package server_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/accord-events/accord/internal/config"
	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/loadgen"
	"github.com/accord-events/accord/internal/pipeline"
	"github.com/accord-events/accord/internal/protocol/selfdesc"
	"github.com/accord-events/accord/internal/server"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/sqlite"
)

// BenchmarkCollectBatch100SQLite measures the collector in process, short
// of the network: a 100-event NDJSON request through the handler, the
// pipeline and the SQLite sink, with requests in parallel as a loaded
// collector sees them.
func BenchmarkCollectBatch100SQLite(b *testing.B) {
	contracts, problems, err := contract.LoadDir("../scaffold/template/contracts")
	if err != nil || len(problems) > 0 {
		b.Fatal(err, problems)
	}
	opts := sqlite.NewOptions()
	opts.Path = filepath.Join(b.TempDir(), "accord.db")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := sqlite.Open(context.Background(), *opts, log)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	sinks := sink.NewSet([]sink.Named{{Name: "store", Records: sink.All, Sink: store}})
	p := pipeline.New(contract.NewRegistry(contracts), event.Collector{Name: "accord"}, "default")
	srv := server.New(config.Default().Server, p, sinks, []server.Endpoint{{Path: "/events", Protocol: selfdesc.Name, Decode: selfdesc.Decode}}, log)
	h := srv.Handler()
	body := loadgen.CheckoutBatch(100)

	b.ReportAllocs()
	b.SetParallelism(4)
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
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "events/s")
}
