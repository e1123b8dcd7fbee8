package metrics_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/delivery"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/metrics"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/file"
	"github.com/accord-events/accord/internal/spool"
)

// startDelivery runs delivery over a real spool to a file sink.
func startDelivery(t *testing.T) *delivery.Service {
	t.Helper()
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	so := spool.DefaultOptions()
	so.Dir = filepath.Join(dir, "spool")
	sp, err := spool.Open(so, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	fo := file.NewOptions()
	fo.GoodPath, fo.FailedPath = filepath.Join(dir, "good.ndjson"), filepath.Join(dir, "failed.ndjson")
	store, err := file.Open(*fo, log)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := delivery.Start(delivery.Config{Logger: log, Spool: sp, DeadLetterDir: filepath.Join(dir, "dead-letter")},
		[]delivery.Target{{Name: "store", Records: sink.All, Sink: store, Options: delivery.DefaultOptions()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		svc.Close(ctx)
	})
	return svc
}

// TestMetricsPassPromlint: every family Accord registers passes the lint
// promtool runs (names, units, _total on counters, help text).
func TestMetricsPassPromlint(t *testing.T) {
	svc := startDelivery(t)
	m := metrics.New(metrics.Sources{Delivery: svc, Contracts: func() int { return 3 }, Reloads: func() uint64 { return 1 }, EnrichInvalid: func() uint64 { return 2 }})
	m.RouteLatency("/events").Observe(0.002)
	rec := &event.Envelope{EventID: "e1", Protocol: "selfdesc", Schema: "iglu:com.acme/x/jsonschema/1-0-0", Resolved: true, Valid: true, Payload: []byte(`{}`)}
	if err := svc.Deliver(context.Background(), []*event.Envelope{rec}); err != nil {
		t.Fatal(err)
	}
	check.Eventually(t, 5*time.Second, "the record delivered", func() bool { return svc.Stats().Sinks[0].Delivered == 1 })
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	n, err := testutil.GatherAndCount(m.Registry(), "accord_events_total", "accord_sink_delivered_records_total", "accord_http_request_duration_seconds", "accord_spool_fill_ratio", "accord_contracts")
	if err != nil || n != 5 {
		t.Errorf("gathered %d series of the five families checked (%v), want one each", n, err)
	}
	want := `# HELP accord_sink_delivered_records_total Records the sink took, counted across restarts.
# TYPE accord_sink_delivered_records_total counter
accord_sink_delivered_records_total{sink="store"} 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "accord_sink_delivered_records_total"); err != nil {
		t.Error(err)
	}
	want = `# HELP accord_enrichment_invalid_contexts_total Contexts an enrichment built that did not validate against their contract and were dropped (a bug in Accord: the events were kept).
# TYPE accord_enrichment_invalid_contexts_total counter
accord_enrichment_invalid_contexts_total 2
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "accord_enrichment_invalid_contexts_total"); err != nil {
		t.Error(err)
	}
}
