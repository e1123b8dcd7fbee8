// Package alert evaluates the alert rules of accord.yml (alerts.rules) in
// accord serve and posts notifications to webhooks (alerts.receivers).
//
// The rules read what the collector counts anyway, the statistics /stats
// and /metrics serve (delivery.Stats), once per alerts.interval: nothing is
// added to the path of an event. A rule is ok, pending (its condition holds
// for less than its for) or firing; a rule that starts firing notifies its
// receivers once, again every alerts.repeat_interval while it fires, and
// once more when it resolves. Notifications are queued per receiver, in a
// bounded queue, and posted by the receiver's own goroutine with retries,
// so a slow or dead receiver never holds up the rules. docs/alerts.md is
// the user's page.
package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/delivery"
)

// Source is what the rules read: delivery's statistics. *delivery.Service
// is one.
type Source interface {
	Stats() delivery.Stats
}

// Contracts is where freshness and volume rules read the contract's
// x-accord.sla. *registry.Resolver is one.
type Contracts interface {
	Contracts() []*contract.Contract
}

// Collector names the collector in notifications.
type Collector struct {
	Name string `json:"name"`
	Env  string `json:"env"`
}

// Deps is what the evaluator reads and how it notifies.
type Deps struct {
	Source    Source
	Contracts Contracts
	Logger    *slog.Logger
	Collector Collector
	// Now is the clock (nil: time.Now); tests inject theirs.
	Now func() time.Time
	// Client posts the notifications (nil: a client that follows no
	// redirect and reads at most 64 KiB of response headers).
	Client *http.Client
	// RetryBackoff is the wait before the first retry of a notification,
	// doubled each time up to 30s (0: 1s).
	RetryBackoff time.Duration
}

// Rule states.
const (
	StateOK      = "ok"
	StatePending = "pending"
	StateFiring  = "firing"
)

// Notification statuses.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)

// RuleStatus is one rule's state, as /stats, GET /stats/alerts and the
// notifications show it.
type RuleStatus struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Contract string `json:"contract,omitempty"`
	Sink     string `json:"sink,omitempty"`
	// State is ok, pending or firing, since Since.
	State string    `json:"state"`
	Since time.Time `json:"since"`
	// Value is what the rule measured at the last evaluation, and
	// Threshold what it compares it with (Condition: above or below);
	// null when it could not measure (Note says why).
	Value     *float64 `json:"value"`
	Threshold *float64 `json:"threshold"`
	Condition string   `json:"condition"`
	Window    string   `json:"window,omitempty"`
	// Note says why the rule could not judge: fewer records than
	// min_events, a window not covered yet, a contract without an SLA.
	Note string `json:"note,omitempty"`
	// Summary says in a sentence what the rule found.
	Summary   string   `json:"summary"`
	Receivers []string `json:"receivers"`
	// LastNotification is the last notification the rule queued; null
	// until it has notified.
	LastNotification *LastNotification `json:"last_notification"`
}

// LastNotification is the last notification of a rule.
type LastNotification struct {
	Status string    `json:"status"`
	Repeat bool      `json:"repeat"`
	At     time.Time `json:"at"`
}

// Snapshot is the state of every rule and receiver.
type Snapshot struct {
	Interval       string `json:"interval"`
	RepeatInterval string `json:"repeat_interval"`
	// EvaluatedAt is the last evaluation; null before the first.
	EvaluatedAt *time.Time       `json:"evaluated_at"`
	Rules       []RuleStatus     `json:"rules"`
	Receivers   []ReceiverStatus `json:"receivers"`
}

// Evaluator evaluates the rules and notifies.
type Evaluator struct {
	cfg      Config
	deps     Deps
	now      func() time.Time
	log      *slog.Logger
	notifier *notifier

	mu          sync.Mutex
	rules       []*ruleState
	evaluatedAt time.Time
	started     time.Time

	cancel context.CancelFunc
	done   chan struct{}
}

// New builds the evaluator of cfg (defaults filled, validated, receiver
// URLs resolved); Start starts it.
func New(cfg Config, deps Deps) (*Evaluator, error) {
	if deps.Source == nil {
		return nil, errors.New("alerts: no statistics to read")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	n, err := newNotifier(cfg.Receivers, deps)
	if err != nil {
		return nil, err
	}
	e := &Evaluator{cfg: cfg, deps: deps, now: now, log: deps.Logger, notifier: n}
	for _, r := range cfg.Rules {
		e.rules = append(e.rules, newRuleState(r))
	}
	return e, nil
}

// Start posts notifications and, with rules configured, evaluates them
// now and every alerts.interval until Close.
func (e *Evaluator) Start(ctx context.Context) {
	ctx, e.cancel = context.WithCancel(ctx)
	e.done = make(chan struct{})
	e.notifier.start(ctx)
	if len(e.rules) == 0 {
		close(e.done)
		return
	}
	go func() {
		defer close(e.done)
		t := time.NewTicker(e.cfg.Interval)
		defer t.Stop()
		for {
			e.Evaluate()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// Close stops evaluating and posting; notifications still queued are
// dropped (and counted).
func (e *Evaluator) Close() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	<-e.done
	e.notifier.close()
}

// Evaluate evaluates every rule once, at the evaluator's clock's now, and
// queues the notifications their changes call for.
func (e *Evaluator) Evaluate() {
	now := e.now()
	st := e.deps.Source.Stats()
	var contracts []*contract.Contract
	for _, r := range e.rules {
		if r.rule.Kind == KindFreshness || r.rule.Kind == KindVolume {
			if e.deps.Contracts != nil {
				contracts = e.deps.Contracts.Contracts()
			}
			break
		}
	}
	e.mu.Lock()
	if e.started.IsZero() {
		e.started = now
	}
	var out []pending
	for _, r := range e.rules {
		m := r.measure(now, e.started, st, contracts)
		if n, ok := r.step(now, m, e.cfg); ok {
			out = append(out, pending{receivers: r.rule.Receivers, n: n})
		}
	}
	e.evaluatedAt = now
	e.mu.Unlock()
	for _, p := range out {
		p.n.Collector = e.deps.Collector
		for _, name := range p.receivers {
			e.notifier.send(name, p.n)
		}
		if p.n.Status == StatusFiring && !p.n.Repeat {
			e.log.Warn("alert firing", "rule", p.n.Rule, "summary", p.n.Summary)
		} else if p.n.Status == StatusResolved {
			e.log.Info("alert resolved", "rule", p.n.Rule, "summary", p.n.Summary)
		}
	}
}

type pending struct {
	receivers []string
	n         Notification
}

// Snapshot returns the state of every rule and receiver.
func (e *Evaluator) Snapshot() Snapshot {
	s := Snapshot{Interval: e.cfg.Interval.String(), RepeatInterval: e.cfg.RepeatInterval.String(), Rules: []RuleStatus{}}
	e.mu.Lock()
	if !e.evaluatedAt.IsZero() {
		at := e.evaluatedAt.UTC()
		s.EvaluatedAt = &at
	}
	for _, r := range e.rules {
		s.Rules = append(s.Rules, r.status())
	}
	e.mu.Unlock()
	s.Receivers = e.notifier.status()
	return s
}

// ruleState is one rule's state and the history of what it counts.
type ruleState struct {
	rule Rule
	// match is which counted schema keys the rule's contract covers.
	match   match
	state   string
	since   time.Time
	last    measurement
	history history
	// lastCount and lastSeen are the freshness rule's: the good records
	// counted at the last evaluation, and when they last grew.
	lastCount uint64
	lastSeen  time.Time
	notified  *LastNotification
	// notifiedAt is when the rule last notified while firing (the first
	// notification or a repeat).
	notifiedAt time.Time
}

func newRuleState(r Rule) *ruleState {
	return &ruleState{rule: r, match: contractMatch(r.Contract), state: StateOK, history: history{spacing: r.Window / 256}}
}

// measurement is what one evaluation of a rule found.
type measurement struct {
	value, threshold *float64
	// below: the rule fires below the threshold (volume), else above.
	below bool
	// breach: the condition holds.
	breach  bool
	note    string
	summary string
}

// step moves the rule's state on by one evaluation and returns the
// notification it calls for, if any.
func (r *ruleState) step(now time.Time, m measurement, cfg Config) (Notification, bool) {
	r.last = m
	if r.since.IsZero() {
		r.since = now
	}
	notify := func(status string, repeat bool) (Notification, bool) {
		r.notified = &LastNotification{Status: status, Repeat: repeat, At: now.UTC()}
		if status == StatusFiring {
			r.notifiedAt = now
		}
		return r.notification(status, repeat, now), true
	}
	switch {
	case m.breach && r.state == StateOK && r.rule.For > 0:
		r.state, r.since = StatePending, now
	case m.breach && (r.state == StateOK || r.state == StatePending && now.Sub(r.since) >= r.rule.For):
		r.state, r.since = StateFiring, now
		return notify(StatusFiring, false)
	case m.breach && r.state == StateFiring && cfg.RepeatInterval > 0 && now.Sub(r.notifiedAt) >= cfg.RepeatInterval:
		return notify(StatusFiring, true)
	case !m.breach && r.state == StatePending:
		r.state, r.since = StateOK, now
	case !m.breach && r.state == StateFiring:
		r.state, r.since = StateOK, now
		return notify(StatusResolved, false)
	}
	return Notification{}, false
}

func (r *ruleState) status() RuleStatus {
	s := RuleStatus{
		Name: r.rule.Name, Kind: r.rule.Kind, Contract: r.rule.Contract, Sink: r.rule.Sink,
		State: r.state, Since: r.since.UTC(), Value: r.last.value, Threshold: r.last.threshold,
		Condition: "above", Note: r.last.note, Summary: r.last.summary, Receivers: r.rule.Receivers,
	}
	if r.last.below {
		s.Condition = "below"
	}
	if r.rule.Window > 0 {
		s.Window = r.rule.Window.String()
	}
	if r.notified != nil {
		n := *r.notified
		s.LastNotification = &n
	}
	if s.Receivers == nil {
		s.Receivers = []string{}
	}
	return s
}

// notification is what the rule's receivers are posted.
func (r *ruleState) notification(status string, repeat bool, now time.Time) Notification {
	s := r.status()
	summary := s.Summary
	if status == StatusResolved {
		summary = "Resolved: " + summary
	}
	return Notification{
		Version: 1, Status: status, Repeat: repeat, Rule: s.Name, Kind: s.Kind, Contract: s.Contract, Sink: s.Sink,
		Value: s.Value, Threshold: s.Threshold, Condition: s.Condition, Window: s.Window,
		Since: s.Since, At: now.UTC(), Summary: summary,
	}
}

// sample is what a rule counted at one evaluation.
type sample struct {
	at   time.Time
	a, b uint64
}

// history keeps a rule's samples over its window, at most one per spacing
// (window/256), so its size is bounded whatever the interval.
type history struct {
	spacing time.Duration
	samples []sample
}

// add records s, dropping the samples no window will start from again.
func (h *history) add(s sample, window time.Duration) {
	if n := len(h.samples); n == 0 || s.at.Sub(h.samples[n-1].at) >= h.spacing {
		h.samples = append(h.samples, s)
	}
	// Keep the newest sample at or before the window's start, and those
	// after it.
	cut := 0
	for i, old := range h.samples {
		if !old.at.After(s.at.Add(-window)) {
			cut = i
		}
	}
	if cut > 0 {
		h.samples = append(h.samples[:0], h.samples[cut:]...)
	}
}

// base is the sample a window ending at now starts from: the newest one at
// or before its start, or else the oldest (covered false: the counts go
// back only that far).
func (h *history) base(now time.Time, window time.Duration) (s sample, covered bool) {
	start := now.Add(-window)
	for i := len(h.samples) - 1; i >= 0; i-- {
		if !h.samples[i].at.After(start) {
			return h.samples[i], true
		}
	}
	return h.samples[0], false
}

// since is a-b, or 0 when a counter went back (counters restored from an
// older file).
func since(now, then uint64) uint64 {
	if now < then {
		return 0
	}
	return now - then
}

func ptr(v float64) *float64 { return &v }

// measure evaluates the rule against the statistics.
func (r *ruleState) measure(now, started time.Time, st delivery.Stats, contracts []*contract.Contract) measurement {
	rule := r.rule
	switch rule.Kind {
	case KindFailedRatio:
		good, failed := contractCounts(st.Contracts, r.match)
		r.history.add(sample{at: now, a: good, b: failed}, rule.Window)
		base, _ := r.history.base(now, rule.Window)
		g, f := since(good, base.a), since(failed, base.b)
		m := measurement{threshold: ptr(rule.Threshold)}
		total := g + f
		if total == 0 {
			m.note = fmt.Sprintf("no records of %s in the last %s", rule.Contract, rule.Window)
			m.summary = m.note
			return m
		}
		ratio := float64(f) / float64(total)
		m.value = ptr(ratio)
		m.summary = fmt.Sprintf("%s of the records of %s failed in the last %s (%d of %d); the threshold is %s", percent(ratio), rule.Contract, rule.Window, f, total, percent(rule.Threshold))
		if total < uint64(rule.MinEvents) {
			m.note = fmt.Sprintf("%d records in the last %s, fewer than min_events (%d): not judged", total, rule.Window, rule.MinEvents)
			return m
		}
		m.breach = ratio > rule.Threshold
		return m

	case KindFreshness:
		good, _ := contractCounts(st.Contracts, r.match)
		switch {
		case r.lastSeen.IsZero():
			// The first evaluation: the age counts from the start.
			r.lastSeen = started
		case good > r.lastCount:
			r.lastSeen = now
		}
		r.lastCount = good
		age := now.Sub(r.lastSeen)
		m := measurement{value: ptr(age.Seconds())}
		sla, key, note := contractSLA(contracts, rule.Contract, r.match)
		if note == "" && sla.Freshness == 0 {
			note = fmt.Sprintf("%s sets no x-accord.sla.freshness: not judged", key)
		}
		if note != "" {
			m.note, m.summary = note, note
			return m
		}
		m.threshold = ptr(sla.Freshness.Seconds())
		m.summary = fmt.Sprintf("the last good record of %s was seen %s ago; its x-accord.sla.freshness is %s", rule.Contract, roundAge(age), sla.Freshness)
		m.breach = age > sla.Freshness
		return m

	case KindVolume:
		good, _ := contractCounts(st.Contracts, r.match)
		r.history.add(sample{at: now, a: good}, rule.Window)
		base, covered := r.history.base(now, rule.Window)
		n := since(good, base.a)
		m := measurement{value: ptr(float64(n)), below: true}
		sla, key, note := contractSLA(contracts, rule.Contract, r.match)
		if note == "" && sla.VolumePerDay == nil {
			note = fmt.Sprintf("%s sets no x-accord.sla.volume_per_day: not judged", key)
		}
		if note != "" {
			m.note, m.summary = note, note
			return m
		}
		expected := float64(*sla.VolumePerDay) * rule.Window.Hours() / 24
		limit := rule.Threshold * expected
		m.threshold = ptr(limit)
		m.summary = fmt.Sprintf("%d good records of %s in the last %s; its x-accord.sla.volume_per_day (%d) expects %s, and the rule fires below %s of that (%s)",
			n, rule.Contract, rule.Window, *sla.VolumePerDay, number(expected), percent(rule.Threshold), number(limit))
		if !covered || now.Sub(started) < rule.Window {
			m.note = fmt.Sprintf("counting since %s: judged once the window (%s) is covered", started.UTC().Format(time.RFC3339), rule.Window)
			return m
		}
		m.breach = float64(n) < limit
		return m

	case KindSinkLagRecords, KindSinkLagSeconds:
		m := measurement{threshold: ptr(rule.Threshold)}
		s, ok := findSink(st.Sinks, rule.Sink)
		if !ok {
			m.note = fmt.Sprintf("no sink named %s runs in this process (with spool.kind kafka, accord load runs them): not judged", rule.Sink)
			m.summary = m.note
			return m
		}
		if rule.Kind == KindSinkLagRecords {
			m.value = ptr(float64(s.LagRecords))
			m.summary = fmt.Sprintf("sink %s has %d records to pass; the threshold is %s", rule.Sink, s.LagRecords, number(rule.Threshold))
		} else {
			m.value = ptr(s.LagSeconds)
			m.summary = fmt.Sprintf("sink %s is %s behind; the threshold is %s", rule.Sink, roundAge(time.Duration(s.LagSeconds*float64(time.Second))), roundAge(time.Duration(rule.Threshold*float64(time.Second))))
		}
		m.breach = *m.value > rule.Threshold
		return m

	case KindSpoolFill:
		m := measurement{threshold: ptr(rule.Threshold)}
		if st.Spool == nil {
			m.note = "this collector has no local spool (spool.kind kafka): not judged"
			m.summary = m.note
			return m
		}
		if st.Spool.MaxBytes <= 0 {
			m.note = "the spool has no cap (spool.max_bytes): not judged"
			m.summary = m.note
			return m
		}
		fill := float64(st.Spool.Bytes) / float64(st.Spool.MaxBytes)
		m.value = ptr(fill)
		m.summary = fmt.Sprintf("the spool is %s full (%d of %d bytes); the threshold is %s", percent(fill), st.Spool.Bytes, st.Spool.MaxBytes, percent(rule.Threshold))
		m.breach = fill > rule.Threshold
		return m

	case KindDeadLetters:
		var total uint64
		found := false
		for _, s := range st.Sinks {
			if rule.Sink == "" || s.Name == rule.Sink {
				total += s.DeadLettered
				found = true
			}
		}
		if !found {
			m := measurement{threshold: ptr(rule.Threshold), note: "no sink runs in this process (with spool.kind kafka, accord load runs them): not judged"}
			if rule.Sink != "" {
				m.note = fmt.Sprintf("no sink named %s runs in this process: not judged", rule.Sink)
			}
			m.summary = m.note
			return m
		}
		r.history.add(sample{at: now, a: total}, rule.Window)
		base, _ := r.history.base(now, rule.Window)
		n := since(total, base.a)
		where := "every sink"
		if rule.Sink != "" {
			where = "sink " + rule.Sink
		}
		return measurement{value: ptr(float64(n)), threshold: ptr(rule.Threshold), breach: float64(n) > rule.Threshold,
			summary: fmt.Sprintf("%d records were sent to the dead letter of %s in the last %s; the threshold is %s", n, where, rule.Window, number(rule.Threshold))}
	}
	return measurement{note: "unknown kind " + rule.Kind}
}

// contractCounts sums the good and failed records of the contracts a rule
// covers.
func contractCounts(list []delivery.ContractStats, m match) (good, failed uint64) {
	for _, c := range list {
		if m.covers(c.Schema) {
			good += c.Good
			failed += c.Failed
		}
	}
	return good, failed
}

// match is which counted schema keys a rule's contract covers: every one
// (*), exactly one key, or those starting with prefix (vendor/name).
type match struct {
	all           bool
	exact, prefix string
}

func (m match) covers(schema string) bool {
	return m.all || schema == m.exact || (m.prefix != "" && strings.HasPrefix(schema, m.prefix))
}

func contractMatch(which string) match {
	switch {
	case which == "":
		return match{}
	case which == "*":
		return match{all: true}
	}
	if k, err := contract.ParseKey(which); err == nil {
		return match{exact: k.String()}
	}
	return match{prefix: "iglu:" + strings.TrimPrefix(which, "iglu:") + "/jsonschema/"}
}

// contractSLA reads the SLA of the contract a rule names: that version, or
// the highest served of vendor/name. note says why there is none.
func contractSLA(contracts []*contract.Contract, which string, m match) (contract.SLA, string, string) {
	var best *contract.Contract
	for _, c := range contracts {
		switch {
		case m.exact != "" && c.URI == m.exact:
			best = c
		case m.prefix != "" && strings.HasPrefix(c.URI, m.prefix):
			if best == nil || newer(c.Key.Version, best.Key.Version) {
				best = c
			}
		}
	}
	if best == nil {
		return contract.SLA{}, "", fmt.Sprintf("no contract %s is served: not judged", which)
	}
	sla, err := best.SLA()
	if err != nil {
		return contract.SLA{}, best.URI, err.Error() + ": not judged"
	}
	return sla, best.URI, ""
}

func newer(a, b contract.SchemaVer) bool {
	if a.Model != b.Model {
		return a.Model > b.Model
	}
	if a.Revision != b.Revision {
		return a.Revision > b.Revision
	}
	return a.Addition > b.Addition
}

func findSink(sinks []delivery.SinkStats, name string) (delivery.SinkStats, bool) {
	for _, s := range sinks {
		if s.Name == name {
			return s, true
		}
	}
	return delivery.SinkStats{}, false
}
