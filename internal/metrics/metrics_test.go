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

	"github.com/accord-events/accord/internal/alert"
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

// TestAlertMetrics: each configured rule is one series of the alert
// gauges (a value and threshold only while it has them), each receiver
// one per notification result; all pass promlint.
func TestAlertMetrics(t *testing.T) {
	v, th := 0.25, 0.1
	snap := alert.Snapshot{
		Rules: []alert.RuleStatus{
			{Name: "cart-failures", State: alert.StateFiring, Value: &v, Threshold: &th},
			{Name: "cart-fresh", State: alert.StatePending},
			{Name: "spool", State: alert.StateOK},
		},
		Receivers: []alert.ReceiverStatus{{Name: "oncall", Sent: 3, Failed: 1, Dropped: 2, Retries: 4, Queued: 1}},
	}
	m := metrics.New(metrics.Sources{Alerts: func() alert.Snapshot { return snap }})
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	want := `# HELP accord_alert_firing 1 while the alert rule fires, else 0, by rule (alerts.rules[].name).
# TYPE accord_alert_firing gauge
accord_alert_firing{rule="cart-failures"} 1
accord_alert_firing{rule="cart-fresh"} 0
accord_alert_firing{rule="spool"} 0
# HELP accord_alert_pending 1 while the alert rule's condition holds for less than its for, else 0.
# TYPE accord_alert_pending gauge
accord_alert_pending{rule="cart-failures"} 0
accord_alert_pending{rule="cart-fresh"} 1
accord_alert_pending{rule="spool"} 0
# HELP accord_alert_value What the alert rule measured at its last evaluation (a ratio, records or seconds, by its kind); absent while it cannot measure.
# TYPE accord_alert_value gauge
accord_alert_value{rule="cart-failures"} 0.25
# HELP accord_alert_notifications_total Alert notifications by receiver (alerts.receivers[].name) and result: sent (answered 2xx), failed (after every attempt) or dropped (the receiver's queue was full).
# TYPE accord_alert_notifications_total counter
accord_alert_notifications_total{receiver="oncall",result="dropped"} 2
accord_alert_notifications_total{receiver="oncall",result="failed"} 1
accord_alert_notifications_total{receiver="oncall",result="sent"} 3
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "accord_alert_firing", "accord_alert_pending", "accord_alert_value", "accord_alert_notifications_total"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(m.Registry(), "accord_alert_threshold", "accord_alert_notification_retries_total", "accord_alert_notifications_queued"); err != nil || n != 3 {
		t.Errorf("%d series (%v), want 3", n, err)
	}
}
