package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/delivery"
	"github.com/accord-events/accord/internal/spool"
)

const cartKey = "iglu:com.acme/cart/jsonschema/1-0-0"

// stats is a delivery.Stats the test changes between evaluations, as the
// collector's counters change.
type stats struct {
	mu sync.Mutex
	st delivery.Stats
}

func (s *stats) Stats() delivery.Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	st.Contracts = append([]delivery.ContractStats(nil), s.st.Contracts...)
	st.Sinks = append([]delivery.SinkStats(nil), s.st.Sinks...)
	if s.st.Spool != nil {
		sp := *s.st.Spool
		st.Spool = &sp
	}
	return st
}

// count adds good and failed records of a schema key.
func (s *stats) count(schema string, good, failed uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.st.Contracts {
		if s.st.Contracts[i].Schema == schema {
			s.st.Contracts[i].Good += good
			s.st.Contracts[i].Failed += failed
			return
		}
	}
	s.st.Contracts = append(s.st.Contracts, delivery.ContractStats{Schema: schema, Good: good, Failed: failed})
}

func (s *stats) sink(st delivery.SinkStats) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.st.Sinks {
		if s.st.Sinks[i].Name == st.Name {
			s.st.Sinks[i] = st
			return
		}
	}
	s.st.Sinks = append(s.st.Sinks, st)
}

// clock is the injected clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// inbox is a webhook receiver run by the test: it records every body.
type inbox struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
}

func newInbox(t *testing.T) *inbox {
	in := &inbox{}
	in.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("notification: %s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
		}
		in.mu.Lock()
		in.bodies = append(in.bodies, b)
		in.mu.Unlock()
	}))
	t.Cleanup(in.Close)
	return in
}

func (in *inbox) notifications(t *testing.T) []Notification {
	t.Helper()
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []Notification
	for _, b := range in.bodies {
		var n Notification
		if err := json.Unmarshal(b, &n); err != nil {
			t.Fatalf("notification body %s: %v", b, err)
		}
		out = append(out, n)
	}
	return out
}

func (in *inbox) len() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.bodies)
}

// harness is an evaluator on a test clock and statistics, notifying inbox.
type harness struct {
	e     *Evaluator
	clock *clock
	stats *stats
	in    *inbox
}

func newHarness(t *testing.T, rules []Rule, contracts []*contract.Contract, tune func(*Config)) *harness {
	t.Helper()
	h := &harness{clock: &clock{t: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}, stats: &stats{}, in: newInbox(t)}
	h.stats.st.Spool = &spool.Stats{}
	for i := range rules {
		if len(rules[i].Receivers) == 0 {
			rules[i].Receivers = []string{"inbox"}
		}
	}
	cfg := DefaultConfig()
	cfg.RepeatInterval = time.Hour
	cfg.Receivers = []Receiver{{Name: "inbox", URL: h.in.URL + "/hook", Format: FormatJSON}}
	cfg.Rules = rules
	if tune != nil {
		tune(&cfg)
	}
	cfg = cfg.WithDefaults()
	check.ErrorSays(t, cfg.Validate([]string{"store", "warehouse"}))
	e, err := New(cfg, Deps{Source: h.stats, Contracts: contractList(contracts), Now: h.clock.Now, Collector: Collector{Name: "accord", Env: "test"}, RetryBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	e.notifier.start(t.Context())
	h.e = e
	return h
}

type contractList []*contract.Contract

func (l contractList) Contracts() []*contract.Contract { return l }

// step advances the clock by d and evaluates.
func (h *harness) step(d time.Duration) RuleStatus {
	h.clock.Add(d)
	h.e.Evaluate()
	return h.e.Snapshot().Rules[0]
}

// wantNotifications waits until the inbox holds n notifications and
// returns them.
func (h *harness) wantNotifications(t *testing.T, n int) []Notification {
	t.Helper()
	check.Eventually(t, 10*time.Second, "the receiver has the notifications", func() bool { return h.in.len() >= n })
	got := h.in.notifications(t)
	if len(got) != n {
		t.Fatalf("%d notifications, want %d: %+v", len(got), n, got)
	}
	return got
}

// settle waits until every queued notification was posted.
func (h *harness) settle(t *testing.T) {
	t.Helper()
	check.Eventually(t, 10*time.Second, "the queue is empty and posted", func() bool {
		s := h.e.Snapshot().Receivers[0]
		return s.Queued == 0 && s.Sent+s.Failed+s.Dropped == uint64(h.in.len())
	})
}

// TestFailedRatioFiresOnceRepeatsResolves: a contract whose records fail
// above the threshold fires once (however many evaluations find it), is
// notified again every repeat_interval while it fires, and notifies once
// when it resolves.
func TestFailedRatioFiresOnceRepeatsResolves(t *testing.T) {
	h := newHarness(t, []Rule{{Name: "cart-failures", Kind: KindFailedRatio, Contract: cartKey, Threshold: 0.1, MinEvents: 20}}, nil, nil)
	if s := h.step(0); s.State != StateOK || s.Value != nil {
		t.Fatalf("no records yet: %+v", s)
	}
	// One failure in two records: below min_events, never judged.
	h.stats.count(cartKey, 1, 1)
	if s := h.step(15 * time.Second); s.State != StateOK || !strings.Contains(s.Note, "min_events") || *s.Value != 0.5 {
		t.Fatalf("1 of 2 failed: %+v", s)
	}
	h.stats.count(cartKey, 20, 10)
	s := h.step(15 * time.Second)
	if s.State != StateFiring || *s.Threshold != 0.1 || *s.Value < 0.34 || *s.Value > 0.35 {
		t.Fatalf("11 of 32 failed: %+v", s)
	}
	firedAt := h.clock.Now()
	got := h.wantNotifications(t, 1)[0]
	if got.Status != StatusFiring || got.Repeat || got.Rule != "cart-failures" || got.Kind != KindFailedRatio || got.Contract != cartKey ||
		!got.Since.Equal(firedAt) || got.Condition != "above" || got.Window != "10m0s" || got.Collector != (Collector{Name: "accord", Env: "test"}) ||
		!strings.Contains(got.Summary, "34.4% of the records of "+cartKey+" failed in the last 10m0s (11 of 32)") {
		t.Fatalf("firing notification: %+v", got)
	}
	// It keeps firing for an hour: each minute more failures, no second
	// notification until repeat_interval has passed.
	for i := range 59 {
		h.stats.count(cartKey, 10, 10)
		if s := h.step(time.Minute); s.State != StateFiring {
			t.Fatalf("minute %d: %+v", i+1, s)
		}
	}
	h.settle(t)
	if n := h.in.len(); n != 1 {
		t.Fatalf("%d notifications within the repeat interval, want 1", n)
	}
	h.stats.count(cartKey, 10, 10)
	h.step(time.Minute)
	got = h.wantNotifications(t, 2)[1]
	if got.Status != StatusFiring || !got.Repeat || !got.Since.Equal(firedAt) {
		t.Fatalf("repeat notification: %+v", got)
	}
	if s := h.e.Snapshot().Rules[0]; s.LastNotification == nil || !s.LastNotification.Repeat || !s.LastNotification.At.Equal(h.clock.Now()) {
		t.Fatalf("last_notification after the repeat: %+v", s.LastNotification)
	}
	// The failures stop: once the window holds few enough, it resolves.
	for range 10 {
		h.stats.count(cartKey, 100, 0)
		if s := h.step(time.Minute); s.State == StateOK {
			break
		}
	}
	s = h.e.Snapshot().Rules[0]
	if s.State != StateOK || !s.Since.Equal(h.clock.Now()) {
		t.Fatalf("after the failures stopped: %+v", s)
	}
	got = h.wantNotifications(t, 3)[2]
	if got.Status != StatusResolved || got.Repeat || !strings.HasPrefix(got.Summary, "Resolved: ") {
		t.Fatalf("resolved notification: %+v", got)
	}
	// Resolved, it stays quiet.
	h.step(time.Hour)
	h.settle(t)
	if n := h.in.len(); n != 3 {
		t.Fatalf("%d notifications, want 3", n)
	}
	if r := h.e.Snapshot().Receivers[0]; r.Sent != 3 || r.Failed != 0 || r.Dropped != 0 || r.LastSuccessAt == nil {
		t.Fatalf("receiver counters: %+v", r)
	}
}

// TestForHoldsPending: with for set, a condition shorter than it leaves
// the rule pending and notifies nothing; held long enough, it fires.
func TestForHoldsPending(t *testing.T) {
	h := newHarness(t, []Rule{{Name: "spool", Kind: KindSpoolFill, Threshold: 0.8, For: 2 * time.Minute}}, nil, nil)
	h.stats.st.Spool = &spool.Stats{Bytes: 90, MaxBytes: 100}
	if s := h.step(0); s.State != StatePending {
		t.Fatalf("%+v", s)
	}
	h.stats.st.Spool = &spool.Stats{Bytes: 10, MaxBytes: 100}
	if s := h.step(time.Minute); s.State != StateOK {
		t.Fatalf("%+v", s)
	}
	h.stats.st.Spool = &spool.Stats{Bytes: 90, MaxBytes: 100}
	h.step(time.Minute)
	if s := h.step(time.Minute); s.State != StatePending {
		t.Fatalf("after 1m of 2m: %+v", s)
	}
	if s := h.step(time.Minute); s.State != StateFiring {
		t.Fatalf("after 2m of 2m: %+v", s)
	}
	got := h.wantNotifications(t, 1)[0]
	if got.Status != StatusFiring || *got.Value != 0.9 || !strings.Contains(got.Summary, "the spool is 90% full (90 of 100 bytes)") {
		t.Fatalf("%+v", got)
	}
}

func slaContract(t *testing.T, version, sla string) *contract.Contract {
	t.Helper()
	accord := ""
	if sla != "" {
		accord = `"x-accord": {"owner": "team", "sla": ` + sla + `},`
	}
	c, err := contract.Compile([]byte(`{"$schema": "`+contract.IgluMetaSchemaURI+`", "self": {"vendor": "com.acme", "name": "cart", "format": "jsonschema", "version": "`+version+`"}, `+accord+` "type": "object"}`), contract.Key{}, "test")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestFreshness: a contract whose good records stop for longer than its
// x-accord.sla.freshness fires; the next good record resolves it.
func TestFreshness(t *testing.T) {
	// vendor/name takes the highest version's SLA.
	cs := []*contract.Contract{slaContract(t, "1-0-0", `{"freshness": "1h"}`), slaContract(t, "1-1-0", `{"freshness": "5m"}`)}
	h := newHarness(t, []Rule{{Name: "cart-fresh", Kind: KindFreshness, Contract: "com.acme/cart"}}, cs, nil)
	h.stats.count(cartKey, 3, 0)
	h.step(0)
	h.stats.count("iglu:com.acme/cart/jsonschema/1-1-0", 1, 0)
	if s := h.step(time.Minute); s.State != StateOK || *s.Value != 0 || *s.Threshold != 300 {
		t.Fatalf("a record a minute ago: %+v", s)
	}
	// Failed records are no fresh data.
	h.stats.count(cartKey, 0, 5)
	if s := h.step(5 * time.Minute); s.State != StateOK || *s.Value != 300 {
		t.Fatalf("5m after: %+v", s)
	}
	s := h.step(15 * time.Second)
	if s.State != StateFiring || *s.Value != 315 {
		t.Fatalf("5m15s after: %+v", s)
	}
	if got := h.wantNotifications(t, 1)[0]; !strings.Contains(got.Summary, "seen 5m15s ago; its x-accord.sla.freshness is 5m0s") {
		t.Fatalf("%+v", got)
	}
	h.stats.count(cartKey, 1, 0)
	if s := h.step(15 * time.Second); s.State != StateOK {
		t.Fatalf("after a good record: %+v", s)
	}
	if got := h.wantNotifications(t, 2)[1]; got.Status != StatusResolved {
		t.Fatalf("%+v", got)
	}

	// A contract without the SLA is not judged, and says so.
	h = newHarness(t, []Rule{{Name: "cart-fresh", Kind: KindFreshness, Contract: cartKey}}, []*contract.Contract{slaContract(t, "1-0-0", "")}, nil)
	h.step(0)
	if s := h.step(24 * time.Hour); s.State != StateOK || s.Threshold != nil || !strings.Contains(s.Note, "sets no x-accord.sla.freshness") {
		t.Fatalf("no SLA: %+v", s)
	}
	h = newHarness(t, []Rule{{Name: "cart-fresh", Kind: KindFreshness, Contract: cartKey}}, nil, nil)
	if s := h.step(24 * time.Hour); s.State != StateOK || !strings.Contains(s.Note, "no contract "+cartKey+" is served") {
		t.Fatalf("no contract: %+v", s)
	}
}

// TestVolume: fewer good records over the window than the share of
// x-accord.sla.volume_per_day the threshold says fires, but only once the
// window is covered since the start.
func TestVolume(t *testing.T) {
	cs := []*contract.Contract{slaContract(t, "1-0-0", `{"volume_per_day": 2400}`)}
	// 2400 a day is 100 an hour; the rule fires below 50.
	h := newHarness(t, []Rule{{Name: "cart-volume", Kind: KindVolume, Contract: cartKey, Window: time.Hour}}, cs, nil)
	h.step(0)
	for range 5 {
		h.stats.count(cartKey, 2, 0)
		if s := h.step(10 * time.Minute); s.State != StateOK || !strings.Contains(s.Note, "judged once the window (1h0m0s) is covered") {
			t.Fatalf("window not covered: %+v", s)
		}
	}
	h.stats.count(cartKey, 2, 0)
	s := h.step(10 * time.Minute)
	if s.State != StateFiring || *s.Value != 12 || *s.Threshold != 50 || s.Condition != "below" {
		t.Fatalf("12 records in an hour: %+v", s)
	}
	if got := h.wantNotifications(t, 1)[0]; !strings.Contains(got.Summary, "12 good records of "+cartKey+" in the last 1h0m0s; its x-accord.sla.volume_per_day (2400) expects 100, and the rule fires below 50% of that (50)") {
		t.Fatalf("%+v", got)
	}
	h.stats.count(cartKey, 100, 0)
	if s := h.step(10 * time.Minute); s.State != StateOK || *s.Value != 110 {
		t.Fatalf("110 records in the last hour: %+v", s)
	}
}

// TestSinkLag: records or seconds a sink is behind, above the threshold.
func TestSinkLag(t *testing.T) {
	h := newHarness(t, []Rule{
		{Name: "store-records", Kind: KindSinkLagRecords, Sink: "store", Threshold: 1000},
		{Name: "store-seconds", Kind: KindSinkLagSeconds, Sink: "store", Threshold: 300},
	}, nil, nil)
	h.stats.sink(delivery.SinkStats{Name: "store", LagRecords: 500, LagSeconds: 10})
	h.step(0)
	h.stats.sink(delivery.SinkStats{Name: "store", LagRecords: 5000, LagSeconds: 10})
	h.step(15 * time.Second)
	rs := h.e.Snapshot().Rules
	if rs[0].State != StateFiring || *rs[0].Value != 5000 || rs[1].State != StateOK || *rs[1].Value != 10 {
		t.Fatalf("5000 records, 10 s: %+v", rs)
	}
	h.stats.sink(delivery.SinkStats{Name: "store", LagRecords: 10, LagSeconds: 600})
	h.step(15 * time.Second)
	rs = h.e.Snapshot().Rules
	if rs[0].State != StateOK || rs[1].State != StateFiring {
		t.Fatalf("10 records, 600 s: %+v", rs)
	}
	got := h.wantNotifications(t, 3)
	if got[0].Rule != "store-records" || got[0].Status != StatusFiring || got[0].Sink != "store" || !strings.Contains(got[0].Summary, "sink store has 5000 records to pass; the threshold is 1000") {
		t.Fatalf("%+v", got[0])
	}
	// The two changes of one evaluation arrive in the rules' order.
	if got[1].Rule != "store-records" || got[1].Status != StatusResolved || got[2].Rule != "store-seconds" || !strings.Contains(got[2].Summary, "sink store is 10m0s behind; the threshold is 5m0s") {
		t.Fatalf("%+v", got[1:])
	}
}

// TestDeadLetterGrowth: more records dead-lettered within the window than
// the threshold fires; once the window has passed without more, it
// resolves. Dead letters counted before the start do not fire.
func TestDeadLetterGrowth(t *testing.T) {
	h := newHarness(t, []Rule{{Name: "dead", Kind: KindDeadLetters}, {Name: "dead-warehouse", Kind: KindDeadLetters, Sink: "warehouse", Threshold: 5}}, nil, nil)
	h.stats.sink(delivery.SinkStats{Name: "store", DeadLettered: 100})
	h.stats.sink(delivery.SinkStats{Name: "warehouse", DeadLettered: 100})
	h.step(0)
	if s := h.step(time.Minute); s.State != StateOK || *s.Value != 0 {
		t.Fatalf("no growth: %+v", s)
	}
	h.stats.sink(delivery.SinkStats{Name: "store", DeadLettered: 103})
	h.step(time.Minute)
	rs := h.e.Snapshot().Rules
	if rs[0].State != StateFiring || *rs[0].Value != 3 || rs[1].State != StateOK || *rs[1].Value != 0 {
		t.Fatalf("3 more in store: %+v", rs)
	}
	h.stats.sink(delivery.SinkStats{Name: "warehouse", DeadLettered: 106})
	h.step(time.Minute)
	rs = h.e.Snapshot().Rules
	if rs[0].State != StateFiring || *rs[0].Value != 9 || rs[1].State != StateFiring || *rs[1].Value != 6 {
		t.Fatalf("6 more in warehouse: %+v", rs)
	}
	// Ten minutes (the default window) without more: both resolve.
	for range 10 {
		h.step(time.Minute)
	}
	rs = h.e.Snapshot().Rules
	if rs[0].State != StateOK || rs[1].State != StateOK {
		t.Fatalf("after the window: %+v", rs)
	}
	got := h.wantNotifications(t, 4)
	if got[0].Rule != "dead" || !strings.Contains(got[0].Summary, "3 records were sent to the dead letter of every sink in the last 10m0s") || got[1].Rule != "dead-warehouse" {
		t.Fatalf("%+v", got)
	}
}

// TestNothingToWatch: with no sink running in the process and no local
// spool (spool.kind kafka), the sink and spool rules are not judged, and
// say so.
func TestNothingToWatch(t *testing.T) {
	h := newHarness(t, []Rule{
		{Name: "lag", Kind: KindSinkLagRecords, Sink: "store", Threshold: 1},
		{Name: "dead", Kind: KindDeadLetters},
		{Name: "dead-store", Kind: KindDeadLetters, Sink: "store"},
		{Name: "spool", Kind: KindSpoolFill, Threshold: 0.5},
	}, nil, nil)
	h.stats.st.Spool = nil
	h.step(0)
	h.step(time.Minute)
	for _, r := range h.e.Snapshot().Rules {
		if r.State != StateOK || r.Value != nil || !strings.Contains(r.Note, "not judged") {
			t.Errorf("%s: %+v", r.Name, r)
		}
	}
}

// TestHistoryBounded: however often a rule is evaluated, its history holds
// at most about 256 samples of its window.
func TestHistoryBounded(t *testing.T) {
	h := newHarness(t, []Rule{{Name: "r", Kind: KindFailedRatio, Contract: "*", Threshold: 0.5, Window: time.Hour}}, nil, func(c *Config) { c.Interval = time.Second })
	for range 20000 {
		h.stats.count(cartKey, 1, 0)
		h.step(time.Second)
	}
	if n := len(h.e.rules[0].history.samples); n > 260 {
		t.Fatalf("%d samples kept for a 1h window", n)
	}
	if s := h.e.Snapshot().Rules[0]; *s.Value != 0 {
		t.Fatalf("%+v", s)
	}
}

// TestSlackBody: a slack receiver is posted text and blocks as Slack's
// incoming webhooks take them, Slack's control characters escaped.
func TestSlackBody(t *testing.T) {
	h := newHarness(t, []Rule{{Name: "cart-failures", Kind: KindFailedRatio, Contract: cartKey, Threshold: 0.1}}, nil, func(c *Config) {
		c.Receivers[0].Format = FormatSlack
	})
	h.step(0)
	h.stats.count(cartKey, 5, 15)
	h.step(time.Minute)
	h.wantNotifications(t, 1)
	var body struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type string `json:"type"`
			Text *struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"text"`
			Fields []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"fields"`
			Elements []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"elements"`
		} `json:"blocks"`
	}
	h.in.mu.Lock()
	raw := h.in.bodies[0]
	h.in.mu.Unlock()
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("slack body %s: %v", raw, err)
	}
	if body.Text != "[FIRING] cart-failures: 75% of the records of "+cartKey+" failed in the last 10m0s (15 of 20); the threshold is 10%" {
		t.Errorf("text %q", body.Text)
	}
	if len(body.Blocks) != 3 || body.Blocks[0].Type != "header" || body.Blocks[0].Text.Type != "plain_text" || body.Blocks[0].Text.Text != "[FIRING] cart-failures" ||
		body.Blocks[1].Type != "section" || body.Blocks[1].Text.Type != "mrkdwn" || body.Blocks[2].Type != "context" || len(body.Blocks[2].Elements) != 1 {
		t.Fatalf("blocks: %s", raw)
	}
	fields := map[string]string{}
	for _, f := range body.Blocks[1].Fields {
		if f.Type != "mrkdwn" {
			t.Errorf("field type %q", f.Type)
		}
		name, value, _ := strings.Cut(f.Text, "\n")
		fields[name] = value
	}
	want := map[string]string{"*Rule*": "cart-failures (failed_ratio)", "*Value*": "0.75", "*Threshold*": "above 0.1", "*Since*": "2026-12-04T12:01:00Z", "*Watching*": cartKey, "*Collector*": "accord (test)"}
	for k, v := range want {
		if fields[k] != v {
			t.Errorf("field %s = %q, want %q", k, fields[k], v)
		}
	}
	if len(body.Blocks[1].Fields) > 10 {
		t.Errorf("%d fields: Slack takes at most 10", len(body.Blocks[1].Fields))
	}
	if got := slackEscape("a <b> & c"); got != "a &lt;b&gt; &amp; c" {
		t.Errorf("escaped %q", got)
	}
}

// TestReceiverHangs: a receiver that never answers costs each attempt its
// timeout; evaluation goes on at once, the queue stays within queue_size
// with the rest dropped and counted, and Close does not wait for it.
func TestReceiverHangs(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)
	h := newHarness(t, []Rule{{Name: "spool", Kind: KindSpoolFill, Threshold: 0.5}}, nil, func(c *Config) {
		c.Receivers[0].URL = hang.URL
		c.Receivers[0].Timeout = 50 * time.Millisecond
		c.Receivers[0].MaxAttempts = 2
		c.Receivers[0].QueueSize = 3
	})
	var logs check.Buffer
	h.e.notifier.log = slog.New(slog.NewTextHandler(&logs, nil))
	// Fire and resolve 50 times: 100 notifications.
	start := time.Now()
	for i := range 100 {
		fill := int64(10)
		if i%2 == 0 {
			fill = 90
		}
		h.stats.st.Spool = &spool.Stats{Bytes: fill, MaxBytes: 100}
		h.step(time.Minute)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("100 evaluations took %s with a hanging receiver", d)
	}
	r := h.e.Snapshot().Receivers[0]
	if r.Queued > 3 || r.Dropped < 90 {
		t.Fatalf("receiver after 100 notifications: %+v", r)
	}
	check.Eventually(t, 10*time.Second, "a notification failed after its attempts", func() bool { return h.e.Snapshot().Receivers[0].Failed >= 1 })
	r = h.e.Snapshot().Receivers[0]
	if !strings.Contains(r.LastError, "no answer within 50ms") || r.Retries < 1 {
		t.Fatalf("receiver: %+v", r)
	}
	if !strings.Contains(logs.String(), "alert notification dropped: the receiver's queue is full") {
		t.Errorf("no warning of the drops: %s", logs.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.e.notifier = mustNotifier(t, h.e.cfg.Receivers)
	h.e.Start(ctx)
	h.e.notifier.send("inbox", Notification{Rule: "x"})
	closed := make(chan struct{})
	go func() { h.e.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for the hanging receiver")
	}
	cancel()
	// The notification in flight or queued at Close is counted, failed or
	// dropped, never lost from the counts.
	if r := h.e.Snapshot().Receivers[0]; r.Failed+r.Dropped != 1 || r.Queued != 0 {
		t.Fatalf("after Close: %+v", r)
	}
}

func mustNotifier(t *testing.T, rs []Receiver) *notifier {
	n, err := newNotifier(rs, Deps{Logger: slog.New(slog.DiscardHandler), RetryBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReceiverHugeAnswer: a receiver answering with an endless body is
// read no further than 64 KiB; the notification counts as sent.
func TestReceiverHugeAnswer(t *testing.T) {
	var written int64
	var mu sync.Mutex
	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("x", 32<<10))
		for range 32 << 10 { // 1 GiB at most
			n, err := w.Write(chunk)
			mu.Lock()
			written += int64(n)
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}))
	defer huge.Close()
	h := newHarness(t, []Rule{{Name: "spool", Kind: KindSpoolFill, Threshold: 0.5}}, nil, func(c *Config) { c.Receivers[0].URL = huge.URL })
	h.stats.st.Spool = &spool.Stats{Bytes: 90, MaxBytes: 100}
	h.step(0)
	check.Eventually(t, 10*time.Second, "the notification is sent", func() bool { return h.e.Snapshot().Receivers[0].Sent == 1 })
	mu.Lock()
	defer mu.Unlock()
	if written > 64<<20 {
		t.Fatalf("the receiver wrote %d bytes before the notifier stopped reading", written)
	}
}

// TestReceiverSlowAnswer: a receiver that answers 200 at once and then
// trickles its body forever costs the attempt no more than its timeout;
// the notification counts as sent (the 2xx was the answer).
func TestReceiverSlowAnswer(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		for {
			if _, err := w.Write([]byte("x")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}))
	defer slow.Close()
	h := newHarness(t, []Rule{{Name: "spool", Kind: KindSpoolFill, Threshold: 0.5}}, nil, func(c *Config) {
		c.Receivers[0].URL = slow.URL
		c.Receivers[0].Timeout = 300 * time.Millisecond
	})
	h.stats.st.Spool = &spool.Stats{Bytes: 90, MaxBytes: 100}
	start := time.Now()
	h.step(0)
	check.Eventually(t, 10*time.Second, "the notification is sent", func() bool { return h.e.Snapshot().Receivers[0].Sent == 1 })
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the attempt took %s with a timeout of 300ms", d)
	}
	if r := h.e.Snapshot().Receivers[0]; r.Retries != 0 || r.Failed != 0 {
		t.Fatalf("%+v", r)
	}
}

// TestReceiverURLNeverShown: a receiver URL's secret is in no error, no
// status and no log line, whatever the receiver does.
func TestReceiverURLNeverShown(t *testing.T) {
	const secret = "XXXXSECRETXXXX"
	fail := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such hook "+r.URL.Path, http.StatusInternalServerError)
	}))
	defer fail.Close()
	for _, tc := range []struct{ name, url, says string }{
		{"5xx", fail.URL + "/services/T0000/B0000/" + secret + "?token=" + secret, "answered 500"},
		{"refused", "http://127.0.0.1:1/services/" + secret, "post: "},
		{"no such host", "https://user:" + secret + "@no-such-host.invalid/" + secret, "post: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs check.Buffer
			h := newHarness(t, []Rule{{Name: "spool", Kind: KindSpoolFill, Threshold: 0.5}}, nil, func(c *Config) {
				c.Receivers[0].URL = tc.url
				c.Receivers[0].MaxAttempts = 2
			})
			h.e.notifier.log = slog.New(slog.NewTextHandler(&logs, nil))
			h.e.log = h.e.notifier.log
			h.stats.st.Spool = &spool.Stats{Bytes: 90, MaxBytes: 100}
			h.step(0)
			check.Eventually(t, 20*time.Second, "the notification failed", func() bool { return h.e.Snapshot().Receivers[0].Failed == 1 })
			snap, _ := json.Marshal(h.e.Snapshot())
			for what, text := range map[string]string{"snapshot": string(snap), "logs": logs.String()} {
				if strings.Contains(text, secret) {
					t.Errorf("%s shows the URL's secret: %s", what, text)
				}
			}
			if r := h.e.Snapshot().Receivers[0]; !strings.Contains(r.LastError, tc.says) || r.Retries != 1 {
				t.Errorf("receiver %+v, want last_error saying %q after one retry", r, tc.says)
			}
			if !strings.Contains(logs.String(), "alert notification failed") {
				t.Errorf("logs: %s", logs.String())
			}
		})
	}
	// A 4xx is not retried.
	gone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) }))
	defer gone.Close()
	h := newHarness(t, []Rule{{Name: "spool", Kind: KindSpoolFill, Threshold: 0.5}}, nil, func(c *Config) { c.Receivers[0].URL = gone.URL })
	h.stats.st.Spool = &spool.Stats{Bytes: 90, MaxBytes: 100}
	h.step(0)
	check.Eventually(t, 10*time.Second, "the notification failed", func() bool { return h.e.Snapshot().Receivers[0].Failed == 1 })
	if r := h.e.Snapshot().Receivers[0]; r.Retries != 0 || r.LastError != "answered 404 (not retried)" {
		t.Fatalf("%+v", r)
	}
}

// TestReceiverRedirectAndHugeHeaders: a redirect is not followed (the
// notification goes nowhere the configuration did not name) and fails
// without retries; an answer with more than 64 KiB of headers fails
// without being read further.
func TestReceiverRedirectAndHugeHeaders(t *testing.T) {
	var mu sync.Mutex
	elsewhere := 0
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		elsewhere++
		mu.Unlock()
	}))
	defer target.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()
	headers := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := range 100 {
			w.Header().Set(fmt.Sprintf("X-Junk-%d", i), strings.Repeat("j", 4096))
		}
	}))
	defer headers.Close()
	for _, tc := range []struct{ name, url, says string }{
		{"redirect", redirect.URL, "answered 307 (not retried)"},
		{"huge headers", headers.URL, "post: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, []Rule{{Name: "spool", Kind: KindSpoolFill, Threshold: 0.5}}, nil, func(c *Config) {
				c.Receivers[0].URL = tc.url
				c.Receivers[0].MaxAttempts = 2
			})
			h.stats.st.Spool = &spool.Stats{Bytes: 90, MaxBytes: 100}
			h.step(0)
			check.Eventually(t, 10*time.Second, "the notification failed", func() bool { return h.e.Snapshot().Receivers[0].Failed == 1 })
			if r := h.e.Snapshot().Receivers[0]; !strings.Contains(r.LastError, tc.says) || r.Sent != 0 {
				t.Fatalf("%+v, want last_error saying %q", r, tc.says)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if elsewhere != 0 {
		t.Fatalf("the redirect was followed %d times", elsewhere)
	}
}

// TestRetriedUntilTaken: a receiver failing twice with 503 takes the
// third attempt.
func TestRetriedUntilTaken(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if calls++; calls <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer flaky.Close()
	h := newHarness(t, []Rule{{Name: "spool", Kind: KindSpoolFill, Threshold: 0.5}}, nil, func(c *Config) { c.Receivers[0].URL = flaky.URL })
	h.stats.st.Spool = &spool.Stats{Bytes: 90, MaxBytes: 100}
	h.step(0)
	check.Eventually(t, 10*time.Second, "the notification was taken", func() bool { return h.e.Snapshot().Receivers[0].Sent == 1 })
	if r := h.e.Snapshot().Receivers[0]; r.Retries != 2 || r.Failed != 0 {
		t.Fatalf("%+v", r)
	}
}

// TestStartEvaluatesOnItsOwn: Start evaluates at once and every interval,
// and Close stops it.
func TestStartEvaluatesOnItsOwn(t *testing.T) {
	st := &stats{}
	st.st.Spool = &spool.Stats{Bytes: 90, MaxBytes: 100}
	in := newInbox(t)
	cfg := DefaultConfig()
	cfg.Interval = time.Second
	cfg.Receivers = []Receiver{{Name: "inbox", URL: in.URL}}
	cfg.Rules = []Rule{{Name: "spool", Kind: KindSpoolFill, Threshold: 0.5, Receivers: []string{"inbox"}}}
	cfg = cfg.WithDefaults()
	e, err := New(cfg, Deps{Source: st})
	if err != nil {
		t.Fatal(err)
	}
	e.Start(context.Background())
	defer e.Close()
	check.Eventually(t, 10*time.Second, "the rule fired and notified", func() bool { return in.len() == 1 })
	st.mu.Lock()
	st.st.Spool = &spool.Stats{Bytes: 10, MaxBytes: 100}
	st.mu.Unlock()
	check.Eventually(t, 10*time.Second, "the rule resolved and notified", func() bool { return in.len() == 2 })
}

// TestCutKeepsCharactersWhole: Slack's header is cut to 150 bytes; a cut
// inside a multi-byte character would show as U+FFFD.
func TestCutKeepsCharactersWhole(t *testing.T) {
	title := strings.Repeat("Größe ", 40) // 7 bytes each, 2 of them in ö and ß
	for n := 10; n <= 160; n++ {
		got := cut(title, n)
		if len(got) > n || !utf8.ValidString(got) || !strings.HasSuffix(got, "...") {
			t.Fatalf("cut to %d: %q (%d bytes, valid UTF-8 %v)", n, got, len(got), utf8.ValidString(got))
		}
	}
	if got := cut("short", 150); got != "short" {
		t.Errorf("cut a short title: %q", got)
	}
}
