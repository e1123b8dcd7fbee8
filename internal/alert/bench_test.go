package alert

import (
	"fmt"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/delivery"
	"github.com/accord-events/accord/internal/spool"
)

// BenchmarkEvaluate: one evaluation of the most rules the configuration
// allows (200 failed_ratio rules) against 1,000 counted contracts and 10
// sinks: the work accord serve does once per alerts.interval, off the path
// of events.
func BenchmarkEvaluate(b *testing.B) {
	st := &stats{}
	st.st.Spool = &spool.Stats{Bytes: 10, MaxBytes: 100}
	for i := range 1000 {
		st.st.Contracts = append(st.st.Contracts, delivery.ContractStats{Schema: fmt.Sprintf("iglu:com.acme/event_%d/jsonschema/1-0-0", i), Good: 100, Failed: 1})
	}
	for i := range 10 {
		st.st.Sinks = append(st.st.Sinks, delivery.SinkStats{Name: fmt.Sprintf("sink%d", i)})
	}
	cfg := DefaultConfig()
	cfg.Receivers = []Receiver{{Name: "r", URL: "http://127.0.0.1:1/"}}
	for i := range MaxRules {
		cfg.Rules = append(cfg.Rules, Rule{Name: fmt.Sprintf("rule-%d", i), Kind: KindFailedRatio, Contract: fmt.Sprintf("com.acme/event_%d", i), Threshold: 0.5, Receivers: []string{"r"}})
	}
	cfg = cfg.WithDefaults()
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	e, err := New(cfg, Deps{Source: st, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(15 * time.Second)
		e.Evaluate()
	}
}
