package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads GET /metrics with the admin token and parses it with
// Prometheus's own text parser; the families are linted as promtool does.
func scrape(t *testing.T, c *collector, token string) map[string]*dto.MetricFamily {
	t.Helper()
	var auth []string
	if token != "" {
		auth = []string{"Authorization", "Bearer " + token}
	}
	status, _, body := httpDo(t, http.MethodGet, c.URL+"/metrics", nil, auth...)
	if status != http.StatusOK {
		t.Fatalf("GET /metrics: %d %.300s", status, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%.2000s", err, body)
	}
	problems, err := promlint.New(strings.NewReader(body)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "accord_") {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	}
	return families
}

// metricValue is the value of family's series whose labels include want,
// and whether there is one.
func metricValue(families map[string]*dto.MetricFamily, family string, want map[string]string) (float64, bool) {
	f := families[family]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// TestMetricsScrape: events sent to the real binary show in /metrics, served
// behind admin.auth, by contract, protocol, valid and failure type; each
// sink's delivery, lag and last success; the spool's size and fill; the
// contracts served and reloaded; request latency per route pattern; and the
// Go runtime's and process's metrics.
func TestMetricsScrape(t *testing.T) {
	const token = "metrics-token"
	c := startCollector(t, newProject(t), "ACCORD_ADMIN_AUTH_TOKEN="+token)
	defer c.stop()

	if status, _, _ := httpDo(t, http.MethodGet, c.URL+"/metrics", nil); status != http.StatusUnauthorized {
		t.Fatalf("GET /metrics without the admin token: %d, want 401", status)
	}
	for i := range 3 {
		if got := rbSend(t, c, pageViewKey, fmt.Sprintf(`{"url":"https://a.example/%d"}`, i)); got.Good != 1 {
			t.Fatalf("good event: %+v", got)
		}
	}
	if got := rbSend(t, c, pageViewKey, `{"url":5}`); got.Failed != 1 {
		t.Fatalf("invalid event: %+v", got)
	}
	if got := rbSend(t, c, "iglu:com.nobody/thing/jsonschema/1-0-0", `{}`); got.Failed != 1 {
		t.Fatalf("unknown schema: %+v", got)
	}
	// A path no route takes is timed under the pattern "/", never its own.
	httpDo(t, http.MethodGet, c.URL+"/no/such/path", nil)

	events := func(f map[string]*dto.MetricFamily, contract, valid, failure string) float64 {
		v, _ := metricValue(f, "accord_events_total", map[string]string{"contract": contract, "protocol": "selfdesc", "valid": valid, "failure_type": failure})
		return v
	}
	var f map[string]*dto.MetricFamily
	// The spool's cursors are made durable every 100 ms or so after
	// delivery: lag reaches 0 then.
	eventually(t, 10*time.Second, "every record delivered and committed, as /metrics shows", func() bool {
		f = scrape(t, c, token)
		delivered, lag := 0.0, 0.0
		for _, m := range f["accord_sink_delivered_records_total"].GetMetric() {
			delivered += m.GetCounter().GetValue()
		}
		for _, m := range f["accord_sink_lag_records"].GetMetric() {
			lag += m.GetGauge().GetValue()
		}
		return delivered == 5 && lag == 0
	})
	for _, tc := range []struct {
		contract, valid, failure string
		want                     float64
	}{
		{pageViewKey, "true", "", 3},
		{pageViewKey, "false", "schema_violation", 1},
		{"(unknown)", "false", "schema_not_found", 1},
	} {
		if got := events(f, tc.contract, tc.valid, tc.failure); got != tc.want {
			t.Errorf("accord_events_total{contract=%q,valid=%q,failure_type=%q} = %v, want %v", tc.contract, tc.valid, tc.failure, got, tc.want)
		}
	}
	if _, ok := f["accord_enrichment_invalid_contexts_total"]; ok {
		t.Error("accord_enrichment_invalid_contexts_total is served with no enrichment on (docs/metrics.md: only with some enrichment on)")
	}
	sinks := f["accord_sink_delivered_records_total"].GetMetric()
	if len(sinks) == 0 {
		t.Fatal("no accord_sink_delivered_records_total series")
	}
	for _, m := range sinks {
		sink := m.GetLabel()[0].GetValue()
		labels := map[string]string{"sink": sink}
		for _, family := range []string{"accord_sink_retries_total", "accord_sink_dead_lettered_records_total", "accord_sink_lag_records", "accord_sink_lag_seconds", "accord_sink_lag_bytes"} {
			if v, ok := metricValue(f, family, labels); !ok || v != 0 {
				t.Errorf("%s{sink=%q} = %v (present %v), want 0", family, sink, v, ok)
			}
		}
		if v, ok := metricValue(f, "accord_sink_connected", labels); !ok || v != 1 {
			t.Errorf("accord_sink_connected{sink=%q} = %v, want 1", sink, v)
		}
		if m.GetCounter().GetValue() > 0 {
			v, ok := metricValue(f, "accord_sink_last_success_timestamp_seconds", labels)
			if age := time.Since(time.Unix(int64(v), 0)); !ok || age < -time.Second || age > time.Minute {
				t.Errorf("accord_sink_last_success_timestamp_seconds{sink=%q} = %v, want within the last minute", sink, v)
			}
		}
	}
	bytes, _ := metricValue(f, "accord_spool_bytes", nil)
	max, _ := metricValue(f, "accord_spool_max_bytes", nil)
	fill, _ := metricValue(f, "accord_spool_fill_ratio", nil)
	if bytes <= 0 || max <= 0 || fill != bytes/max {
		t.Errorf("spool: bytes %v, max %v, fill %v; want bytes > 0 and fill = bytes/max", bytes, max, fill)
	}
	if v, _ := metricValue(f, "accord_contracts", nil); v < 3 {
		t.Errorf("accord_contracts = %v, want the project's 3 contracts at least", v)
	}
	if v, _ := metricValue(f, "accord_contract_cache_lookups_total", map[string]string{"result": "miss"}); v < 1 {
		t.Errorf("accord_contract_cache_lookups_total{result=\"miss\"} = %v, want the unknown key's lookup", v)
	}
	if v, _ := metricValue(f, "accord_contract_reloads_total", nil); v < 1 {
		t.Errorf("accord_contract_reloads_total = %v, want the first load at least", v)
	}
	for route, want := range map[string]float64{"/events": 5, "/": 1} {
		if got, _ := metricValue(f, "accord_http_request_duration_seconds", map[string]string{"route": route}); got != want {
			t.Errorf("accord_http_request_duration_seconds{route=%q} counts %v requests, want %v", route, got, want)
		}
	}
	// The admin routes are timed by their patterns too: the scrapes before
	// this one.
	if got, _ := metricValue(scrape(t, c, token), "accord_http_request_duration_seconds", map[string]string{"route": "/metrics"}); got < 1 {
		t.Errorf("accord_http_request_duration_seconds{route=\"/metrics\"} counts %v requests, want the earlier scrapes", got)
	}
	for _, m := range f["accord_http_request_duration_seconds"].GetMetric() {
		if r := m.GetLabel()[0].GetValue(); strings.Contains(r, "no/such") {
			t.Errorf("a raw path became a route label: %q", r)
		}
	}
	// Every accord_ family is documented in docs/metrics.md's table, and
	// every family there is served.
	doc, err := os.ReadFile("../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(accord_[a-z_]+)` \\|").FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = true
	}
	if len(documented) < 15 {
		t.Fatalf("found %d metrics in docs/metrics.md's table; the pattern no longer matches it", len(documented))
	}
	for name := range f {
		if strings.HasPrefix(name, "accord_") && !documented[name] {
			t.Errorf("%s is served but not documented in docs/metrics.md", name)
		}
	}
	for name := range documented {
		// Refusals are scraped in the CORS test (cors_test.go) instead,
		// invalid enrichment contexts in TestEnrichmentEndToEnd, the alert
		// families (served with rules configured) in TestAlertsEndToEnd.
		if f[name] == nil && name != "accord_protocol_refused_total" && name != "accord_enrichment_invalid_contexts_total" && !strings.HasPrefix(name, "accord_alert_") {
			t.Errorf("docs/metrics.md documents %s, which /metrics does not serve", name)
		}
	}
	for _, family := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_resident_memory_bytes"} {
		if f[family] == nil {
			t.Errorf("%s missing: the Go runtime and process collectors are not registered", family)
		}
	}
}

// TestMetricsCardinalityBounded: 10,000 distinct schema keys no contract is
// registered for add one series to accord_events_total, not one each, and
// the scrape stays small.
func TestMetricsCardinalityBounded(t *testing.T) {
	const token = "metrics-token"
	c := startCollector(t, newProject(t), "ACCORD_ADMIN_AUTH_TOKEN="+token)
	defer c.stop()
	const keys, perRequest = 10_000, 100
	for i := 0; i < keys; i += perRequest {
		var b bytes.Buffer
		b.WriteByte('[')
		for j := i; j < i+perRequest; j++ {
			if j > i {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"schema":"iglu:com.bogus/k%d/jsonschema/1-0-0","data":{}}`, j)
		}
		b.WriteByte(']')
		if status, _, body := c.post("/events", "application/json", b.Bytes()); status != http.StatusOK {
			t.Fatalf("request %d: %d %.300s", i/perRequest, status, body)
		}
	}
	f := scrape(t, c, token)
	series := len(f["accord_events_total"].GetMetric())
	if series != 1 {
		t.Errorf("accord_events_total has %d series after %d unknown keys, want 1 (the (unknown) bucket)", series, keys)
	}
	if v, _ := metricValue(f, "accord_events_total", map[string]string{"contract": "(unknown)", "failure_type": "schema_not_found"}); v != keys {
		t.Errorf("(unknown) bucket counts %v, want %d", v, keys)
	}
	status, _, body := httpDo(t, http.MethodGet, c.URL+"/metrics", nil, "Authorization", "Bearer "+token)
	if status != http.StatusOK || len(body) > 64<<10 {
		t.Errorf("/metrics: %d, %d bytes; want it small whatever keys clients send", status, len(body))
	}
}
