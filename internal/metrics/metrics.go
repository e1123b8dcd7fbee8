// Package metrics serves Accord's Prometheus metrics (GET /metrics on the
// admin routes). Counters the collector keeps anyway (delivery's per-sink
// and per-contract counts, the spool's size, the contracts served) are
// read when Prometheus scrapes, so the path of an event counts nothing
// twice; only request durations are observed as requests finish, into
// histograms made once per route. docs/metrics.md lists every metric.
package metrics

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/accord-events/accord/internal/alert"
	"github.com/accord-events/accord/internal/delivery"
	"github.com/accord-events/accord/internal/protocol"
	"github.com/accord-events/accord/internal/registry"
)

// Delivery is what the metrics read from delivery; *delivery.Service is
// one.
type Delivery interface {
	Stats() delivery.Stats
	EventCounts() []delivery.EventCount
}

// Sources are what the metrics read at scrape time.
type Sources struct {
	Delivery Delivery
	// Contracts returns how many contracts are served.
	Contracts func() int
	// Reloads returns how many times the contracts were reloaded.
	Reloads func() uint64
	// Cache returns the counters of the cache of contracts.backends.
	Cache func() registry.Stats
	// Protocols counts what protocols refused or dropped, named
	// "protocol.reason".
	Protocols *protocol.Counters
	// EnrichInvalid returns how many contexts the enrichments built and
	// dropped for not validating against their contract; nil when no
	// enrichment is on.
	EnrichInvalid func() uint64
	// Alerts returns the state of the alert rules and receivers; nil
	// when accord serve is not evaluating them.
	Alerts func() alert.Snapshot
}

// Metrics is the registry of Accord's metrics and the HTTP handler that
// serves them.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.HistogramVec
	handler  http.Handler
}

// New registers Accord's metrics, read from src, with the Go runtime's and
// the process's.
func New(src Sources) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "accord_http_request_duration_seconds",
			Help: "Time taken to answer HTTP requests, by route pattern (the registered pattern, never the raw path).",
			// From 0.5 ms (an event answered from memory) to 10 s
			// (a request waiting on spool.ack_timeout or a slow sink).
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests,
		&collector{src: src},
	)
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	return m
}

// Registry is where the metrics are registered, for tests that gather
// them.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in Prometheus's text (or negotiated) format.
func (m *Metrics) Handler() http.Handler { return m.handler }

// RouteLatency returns the histogram that takes the request durations of
// the route pattern: made once per route when the routes are built, so a
// request looks nothing up.
func (m *Metrics) RouteLatency(pattern string) prometheus.Observer {
	return m.requests.WithLabelValues(pattern)
}

var (
	eventsDesc = prometheus.NewDesc("accord_events_total",
		"Records taken since the start, by contract (schema key; (unknown) for keys no contract is registered for, (none) without a schema, (other) past the cap), protocol, valid and failure type (empty for good records).",
		[]string{"contract", "protocol", "valid", "failure_type"}, nil)
	deliveredDesc = prometheus.NewDesc("accord_sink_delivered_records_total",
		"Records the sink took, counted across restarts.", []string{"sink"}, nil)
	retriedDesc = prometheus.NewDesc("accord_sink_retries_total",
		"Failed sink writes that were retried, counted across restarts.", []string{"sink"}, nil)
	deadLetteredDesc = prometheus.NewDesc("accord_sink_dead_lettered_records_total",
		"Records sent to the sink's dead letter, counted across restarts.", []string{"sink"}, nil)
	lagRecordsDesc = prometheus.NewDesc("accord_sink_lag_records",
		"Records in the spool the sink has yet to pass.", []string{"sink"}, nil)
	lagBytesDesc = prometheus.NewDesc("accord_sink_lag_bytes",
		"Spool bytes the sink has yet to pass.", []string{"sink"}, nil)
	lagSecondsDesc = prometheus.NewDesc("accord_sink_lag_seconds",
		"While the sink has records to pass, how long ago it had last passed every record then in the spool (at most since the start): the oldest record it has yet to pass is at most this old. 0 when it has none.", []string{"sink"}, nil)
	lastSuccessDesc = prometheus.NewDesc("accord_sink_last_success_timestamp_seconds",
		"When the sink last took a write, in seconds since the Unix epoch; absent until it has taken one since the start.", []string{"sink"}, nil)
	connectedDesc = prometheus.NewDesc("accord_sink_connected",
		"1 once the sink's connection succeeded, 0 while it is connecting.", []string{"sink"}, nil)
	spoolBytesDesc = prometheus.NewDesc("accord_spool_bytes",
		"Size of the spool's segments on disk.", nil, nil)
	spoolMaxBytesDesc = prometheus.NewDesc("accord_spool_max_bytes",
		"The spool's cap (spool.max_bytes).", nil, nil)
	spoolFillDesc = prometheus.NewDesc("accord_spool_fill_ratio",
		"accord_spool_bytes over accord_spool_max_bytes: at 1 the collector answers 503.", nil, nil)
	spoolRecordsDesc = prometheus.NewDesc("accord_spool_records",
		"Records the spool holds.", nil, nil)
	spoolSpareDesc = prometheus.NewDesc("accord_spool_spare_bytes",
		"Size of the spool's spare file, a delivered segment's file kept for the next segment to be written over; 0 when there is none.", nil, nil)
	contractsDesc = prometheus.NewDesc("accord_contracts",
		"Contracts served (contracts.dir, the built-in ones and those cached from contracts.backends).", nil, nil)
	reloadsDesc = prometheus.NewDesc("accord_contract_reloads_total",
		"Reloads of contracts.dir that replaced the contracts served, the first load included.", nil, nil)
	cacheLookupsDesc = prometheus.NewDesc("accord_contract_cache_lookups_total",
		"Lookups of schema keys in the cache of contracts.backends, by result: hit (answered from the cache, contracts and misses alike) or miss (the backends were asked).", []string{"result"}, nil)
	enrichInvalidDesc = prometheus.NewDesc("accord_enrichment_invalid_contexts_total",
		"Contexts an enrichment built that did not validate against their contract and were dropped (a bug in Accord: the events were kept).", nil, nil)
	cacheFetchesDesc = prometheus.NewDesc("accord_contract_fetches_total",
		"Fetches of contracts from contracts.backends.", nil, nil)
	cacheFetchFailuresDesc = prometheus.NewDesc("accord_contract_fetch_failures_total",
		"Fetches from contracts.backends that failed or returned a document that does not compile.", nil, nil)
	cacheEntriesDesc = prometheus.NewDesc("accord_contract_cache_entries",
		"Entries the cache of contracts.backends holds.", nil, nil)
	alertFiringDesc = prometheus.NewDesc("accord_alert_firing",
		"1 while the alert rule fires, else 0, by rule (alerts.rules[].name).", []string{"rule"}, nil)
	alertPendingDesc = prometheus.NewDesc("accord_alert_pending",
		"1 while the alert rule's condition holds for less than its for, else 0.", []string{"rule"}, nil)
	alertValueDesc = prometheus.NewDesc("accord_alert_value",
		"What the alert rule measured at its last evaluation (a ratio, records or seconds, by its kind); absent while it cannot measure.", []string{"rule"}, nil)
	alertThresholdDesc = prometheus.NewDesc("accord_alert_threshold",
		"What the alert rule compares its value with; absent while it has none (a contract without the SLA).", []string{"rule"}, nil)
	alertNotificationsDesc = prometheus.NewDesc("accord_alert_notifications_total",
		"Alert notifications by receiver (alerts.receivers[].name) and result: sent (answered 2xx), failed (after every attempt) or dropped (the receiver's queue was full).", []string{"receiver", "result"}, nil)
	alertRetriesDesc = prometheus.NewDesc("accord_alert_notification_retries_total",
		"Attempts at posting alert notifications after the first, by receiver.", []string{"receiver"}, nil)
	alertQueuedDesc = prometheus.NewDesc("accord_alert_notifications_queued",
		"Alert notifications waiting for the receiver.", []string{"receiver"}, nil)
	refusedDesc = prometheus.NewDesc("accord_protocol_refused_total",
		"Requests a protocol refused outright, nothing of them stored, and events it dropped (segment's duplicates), by protocol and reason, as protocols in /stats.", []string{"protocol", "reason"}, nil)
)

// collector reads Accord's counters when Prometheus scrapes.
type collector struct {
	src Sources
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{eventsDesc, deliveredDesc, retriedDesc, deadLetteredDesc, lagRecordsDesc, lagBytesDesc, lagSecondsDesc, lastSuccessDesc, connectedDesc, spoolBytesDesc, spoolMaxBytesDesc, spoolFillDesc, spoolRecordsDesc, spoolSpareDesc, contractsDesc, reloadsDesc, cacheLookupsDesc, cacheFetchesDesc, cacheFetchFailuresDesc, cacheEntriesDesc, refusedDesc, enrichInvalidDesc,
		alertFiringDesc, alertPendingDesc, alertValueDesc, alertThresholdDesc, alertNotificationsDesc, alertRetriesDesc, alertQueuedDesc} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	if d := c.src.Delivery; d != nil {
		for _, e := range d.EventCounts() {
			ch <- prometheus.MustNewConstMetric(eventsDesc, prometheus.CounterValue, float64(e.Records), e.Contract, e.Protocol, strconv.FormatBool(e.Valid), e.FailureType)
		}
		st := d.Stats()
		for _, s := range st.Sinks {
			ch <- prometheus.MustNewConstMetric(deliveredDesc, prometheus.CounterValue, float64(s.Delivered), s.Name)
			ch <- prometheus.MustNewConstMetric(retriedDesc, prometheus.CounterValue, float64(s.Retried), s.Name)
			ch <- prometheus.MustNewConstMetric(deadLetteredDesc, prometheus.CounterValue, float64(s.DeadLettered), s.Name)
			ch <- prometheus.MustNewConstMetric(lagRecordsDesc, prometheus.GaugeValue, float64(s.LagRecords), s.Name)
			ch <- prometheus.MustNewConstMetric(lagBytesDesc, prometheus.GaugeValue, float64(s.LagBytes), s.Name)
			ch <- prometheus.MustNewConstMetric(lagSecondsDesc, prometheus.GaugeValue, s.LagSeconds, s.Name)
			if s.LastSuccessAt != nil {
				ch <- prometheus.MustNewConstMetric(lastSuccessDesc, prometheus.GaugeValue, float64(s.LastSuccessAt.UnixNano())/1e9, s.Name)
			}
			connected := 0.0
			if s.State == delivery.StateConnected {
				connected = 1
			}
			ch <- prometheus.MustNewConstMetric(connectedDesc, prometheus.GaugeValue, connected, s.Name)
		}
		if sp := st.Spool; sp != nil {
			ch <- prometheus.MustNewConstMetric(spoolBytesDesc, prometheus.GaugeValue, float64(sp.Bytes))
			ch <- prometheus.MustNewConstMetric(spoolRecordsDesc, prometheus.GaugeValue, float64(sp.Records))
			ch <- prometheus.MustNewConstMetric(spoolSpareDesc, prometheus.GaugeValue, float64(sp.SpareBytes))
			if sp.MaxBytes > 0 {
				ch <- prometheus.MustNewConstMetric(spoolMaxBytesDesc, prometheus.GaugeValue, float64(sp.MaxBytes))
				ch <- prometheus.MustNewConstMetric(spoolFillDesc, prometheus.GaugeValue, float64(sp.Bytes)/float64(sp.MaxBytes))
			}
		}
	}
	if c.src.Contracts != nil {
		ch <- prometheus.MustNewConstMetric(contractsDesc, prometheus.GaugeValue, float64(c.src.Contracts()))
	}
	if c.src.Reloads != nil {
		ch <- prometheus.MustNewConstMetric(reloadsDesc, prometheus.CounterValue, float64(c.src.Reloads()))
	}
	if c.src.EnrichInvalid != nil {
		ch <- prometheus.MustNewConstMetric(enrichInvalidDesc, prometheus.CounterValue, float64(c.src.EnrichInvalid()))
	}
	if c.src.Cache != nil {
		st := c.src.Cache()
		ch <- prometheus.MustNewConstMetric(cacheLookupsDesc, prometheus.CounterValue, float64(st.Hits), "hit")
		ch <- prometheus.MustNewConstMetric(cacheLookupsDesc, prometheus.CounterValue, float64(st.Misses), "miss")
		ch <- prometheus.MustNewConstMetric(cacheFetchesDesc, prometheus.CounterValue, float64(st.Fetches))
		ch <- prometheus.MustNewConstMetric(cacheFetchFailuresDesc, prometheus.CounterValue, float64(st.Failures))
		ch <- prometheus.MustNewConstMetric(cacheEntriesDesc, prometheus.GaugeValue, float64(st.Entries))
	}
	if c.src.Alerts != nil {
		// One series per configured rule and receiver (alerts.rules and
		// alerts.receivers are bounded in number).
		snap := c.src.Alerts()
		for _, r := range snap.Rules {
			ch <- prometheus.MustNewConstMetric(alertFiringDesc, prometheus.GaugeValue, boolValue(r.State == alert.StateFiring), r.Name)
			ch <- prometheus.MustNewConstMetric(alertPendingDesc, prometheus.GaugeValue, boolValue(r.State == alert.StatePending), r.Name)
			if r.Value != nil {
				ch <- prometheus.MustNewConstMetric(alertValueDesc, prometheus.GaugeValue, *r.Value, r.Name)
			}
			if r.Threshold != nil {
				ch <- prometheus.MustNewConstMetric(alertThresholdDesc, prometheus.GaugeValue, *r.Threshold, r.Name)
			}
		}
		for _, r := range snap.Receivers {
			ch <- prometheus.MustNewConstMetric(alertNotificationsDesc, prometheus.CounterValue, float64(r.Sent), r.Name, "sent")
			ch <- prometheus.MustNewConstMetric(alertNotificationsDesc, prometheus.CounterValue, float64(r.Failed), r.Name, "failed")
			ch <- prometheus.MustNewConstMetric(alertNotificationsDesc, prometheus.CounterValue, float64(r.Dropped), r.Name, "dropped")
			ch <- prometheus.MustNewConstMetric(alertRetriesDesc, prometheus.CounterValue, float64(r.Retries), r.Name)
			ch <- prometheus.MustNewConstMetric(alertQueuedDesc, prometheus.GaugeValue, float64(r.Queued), r.Name)
		}
	}
	if c.src.Protocols != nil {
		// The names are the collector's own ("protocol.reason"), so
		// their number is bounded by the code and the configuration.
		for name, n := range c.src.Protocols.Snapshot() {
			proto, reason, _ := strings.Cut(name, ".")
			ch <- prometheus.MustNewConstMetric(refusedDesc, prometheus.CounterValue, float64(n), proto, reason)
		}
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
