package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// hookInbox is a webhook receiver run by the test: the bodies posted to
// each path.
type hookInbox struct {
	*httptest.Server
	mu     sync.Mutex
	bodies map[string][]json.RawMessage
}

func newHookInbox(t *testing.T) *hookInbox {
	t.Helper()
	in := &hookInbox{bodies: map[string][]json.RawMessage{}}
	in.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("User-Agent") != "accord-alerts" {
			t.Errorf("notification: %s %s, Content-Type %q, User-Agent %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("User-Agent"))
		}
		in.mu.Lock()
		in.bodies[r.URL.Path] = append(in.bodies[r.URL.Path], b)
		in.mu.Unlock()
	}))
	t.Cleanup(in.Close)
	return in
}

func (in *hookInbox) at(path string) []json.RawMessage {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]json.RawMessage(nil), in.bodies[path]...)
}

// alertsState is the part of GET /stats/alerts the test reads.
type alertsState struct {
	EvaluatedAt *time.Time `json:"evaluated_at"`
	Rules       []struct {
		Name             string   `json:"name"`
		State            string   `json:"state"`
		Value            *float64 `json:"value"`
		Note             string   `json:"note"`
		LastNotification *struct {
			Status string `json:"status"`
		} `json:"last_notification"`
	} `json:"rules"`
	Receivers []struct {
		Name    string `json:"name"`
		Sent    uint64 `json:"sent"`
		Failed  uint64 `json:"failed"`
		Dropped uint64 `json:"dropped"`
	} `json:"receivers"`
}

// TestAlertsEndToEnd: the real binary, a failed_ratio rule on a contract
// and two receivers run by the test (json and slack), their URLs holding a
// secret. Failures under min_events do not fire; enough failures fire
// once, to each receiver, however many evaluations follow; good records
// resolve it. The state shows in /stats, /stats/alerts and /metrics in the
// shapes docs/alerts.md documents, and the URLs' secret is nowhere.
func TestAlertsEndToEnd(t *testing.T) {
	const token, secret = "alerts-admin-token", "XXalertsSECRETtokenXX"
	in := newHookInbox(t)
	jsonPath, slackPath := "/hooks/json/"+secret, "/hooks/slack/"+secret
	c := startCollector(t, newProject(t),
		"ACCORD_ADMIN_AUTH_TOKEN="+token,
		"ACCORD_ALERTS_INTERVAL=1s",
		"ACCORD_ALERTS_RECEIVERS=[{name: hook-json, url_env: ALERTS_E2E_JSON_URL}, {name: hook-slack, url_env: ALERTS_E2E_SLACK_URL, format: slack}]",
		"ALERTS_E2E_JSON_URL="+in.URL+jsonPath,
		"ALERTS_E2E_SLACK_URL="+in.URL+slackPath+"?token="+secret,
		"ACCORD_ALERTS_RULES=[{name: page-view-failures, kind: failed_ratio, contract: com.example/page_view, threshold: 0.3, min_events: 4, window: 1m, receivers: [hook-json, hook-slack]}]",
	)
	auth := []string{"Authorization", "Bearer " + token}
	state := func() (alertsState, string) {
		t.Helper()
		status, _, body := httpDo(t, http.MethodGet, c.URL+"/stats/alerts", nil, auth...)
		if status != http.StatusOK {
			t.Fatalf("GET /stats/alerts: %d %s", status, body)
		}
		return decodeInto[alertsState](t, []byte(body)), body
	}
	// evaluations waits until the rules were evaluated n more times.
	evaluations := func(n int) alertsState {
		t.Helper()
		var start time.Time
		if s, _ := state(); s.EvaluatedAt != nil {
			start = *s.EvaluatedAt
		}
		var s alertsState
		eventually(t, 30*time.Second, fmt.Sprintf("%d more evaluations", n), func() bool {
			s, _ = state()
			return s.EvaluatedAt != nil && s.EvaluatedAt.Sub(start) >= time.Duration(n)*time.Second
		})
		return s
	}
	if status, _, _ := httpDo(t, http.MethodGet, c.URL+"/stats/alerts", nil); status != http.StatusUnauthorized {
		t.Fatalf("GET /stats/alerts without the admin token: %d, want 401", status)
	}

	// One failure in two records: under min_events, not judged.
	rbSend(t, c, pageViewKey, `{"url":"https://a.example/"}`)
	rbSend(t, c, pageViewKey, `{"url":5}`)
	s := evaluations(2)
	if r := s.Rules[0]; r.Name != "page-view-failures" || r.State != "ok" || r.Value == nil || *r.Value != 0.5 || !strings.Contains(r.Note, "min_events") {
		t.Fatalf("1 of 2 failed: %+v", r)
	}
	// Four more failures: 5 of 6 failed, above 0.3.
	for range 4 {
		rbSend(t, c, pageViewKey, `{"url":5}`)
	}
	eventually(t, 30*time.Second, "both receivers have the firing notification", func() bool {
		return len(in.at(jsonPath)) >= 1 && len(in.at(slackPath)) >= 1
	})
	evaluations(3)
	jsonBodies, slackBodies := in.at(jsonPath), in.at(slackPath)
	if len(jsonBodies) != 1 || len(slackBodies) != 1 {
		t.Fatalf("after 3 more evaluations of a firing rule: %d json and %d slack notifications, want 1 each", len(jsonBodies), len(slackBodies))
	}
	var fired struct {
		Status, Rule, Kind, Contract string
		Repeat                       bool
		Value, Threshold             float64
		Collector                    struct{ Name, Env string }
	}
	if err := json.Unmarshal(jsonBodies[0], &fired); err != nil {
		t.Fatal(err)
	}
	if fired.Status != "firing" || fired.Repeat || fired.Rule != "page-view-failures" || fired.Kind != "failed_ratio" || fired.Contract != "com.example/page_view" ||
		fired.Value < 0.83 || fired.Value > 0.84 || fired.Threshold != 0.3 || fired.Collector.Name != "accord" {
		t.Fatalf("firing notification: %s", jsonBodies[0])
	}
	var slack struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal(slackBodies[0], &slack); err != nil || !strings.HasPrefix(slack.Text, "[FIRING] page-view-failures: 83.3% of the records of com.example/page_view failed") {
		t.Fatalf("slack notification: %s (%v)", slackBodies[0], err)
	}
	// The bodies have the shapes docs/alerts.md shows.
	alertsDoc := readDoc(t, "../docs/alerts.md")
	sameShape(t, "json notification", jsonBodies[0], docJSON(t, alertsDoc, "notification: json"))
	sameShape(t, "slack notification", slackBodies[0], docJSON(t, alertsDoc, "notification: slack"))

	// The state: firing in /stats/alerts (in the documented shape), in
	// /stats under alerts, and in /metrics.
	s, body := state()
	if r := s.Rules[0]; r.State != "firing" || r.LastNotification == nil || r.LastNotification.Status != "firing" {
		t.Fatalf("/stats/alerts: %s", body)
	}
	for _, r := range s.Receivers {
		if r.Sent != 1 || r.Failed != 0 || r.Dropped != 0 {
			t.Fatalf("/stats/alerts receivers: %s", body)
		}
	}
	sameShape(t, "GET /stats/alerts", json.RawMessage(body), docJSON(t, alertsDoc, "stats: alerts"))
	status, _, statsBody := httpDo(t, http.MethodGet, c.URL+"/stats", nil, auth...)
	var stats struct {
		Alerts alertsState `json:"alerts"`
	}
	if err := json.Unmarshal([]byte(statsBody), &stats); status != http.StatusOK || err != nil || len(stats.Alerts.Rules) != 1 || stats.Alerts.Rules[0].State != "firing" {
		t.Fatalf("GET /stats: %d %v %.2000s", status, err, statsBody)
	}
	f := scrape(t, c, token)
	rule := map[string]string{"rule": "page-view-failures"}
	for family, want := range map[string]float64{"accord_alert_firing": 1, "accord_alert_pending": 0, "accord_alert_threshold": 0.3} {
		if v, ok := metricValue(f, family, rule); !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", family, v, ok, want)
		}
	}
	if v, _ := metricValue(f, "accord_alert_value", rule); v < 0.83 || v > 0.84 {
		t.Errorf("accord_alert_value = %v, want 5/6", v)
	}
	for _, receiver := range []string{"hook-json", "hook-slack"} {
		for result, want := range map[string]float64{"sent": 1, "failed": 0, "dropped": 0} {
			if v, ok := metricValue(f, "accord_alert_notifications_total", map[string]string{"receiver": receiver, "result": result}); !ok || v != want {
				t.Errorf("accord_alert_notifications_total{receiver=%q,result=%q} = %v (present %v), want %v", receiver, result, v, ok, want)
			}
		}
	}
	// Every accord_alert_ family in docs/metrics.md is served here (the
	// metrics test runs without rules, so it cannot check these).
	metricsDoc := readDoc(t, "../docs/metrics.md")
	documented := regexp.MustCompile("(?m)^\\| `(accord_alert_[a-z_]+)` \\|").FindAllStringSubmatch(metricsDoc, -1)
	if len(documented) < 5 {
		t.Fatalf("docs/metrics.md documents %d accord_alert_ families", len(documented))
	}
	for _, m := range documented {
		if f[m[1]] == nil {
			t.Errorf("docs/metrics.md documents %s, which /metrics does not serve with a rule configured", m[1])
		}
	}
	for name := range f {
		if strings.HasPrefix(name, "accord_alert_") && !strings.Contains(metricsDoc, "`"+name+"`") {
			t.Errorf("%s is served but not documented in docs/metrics.md", name)
		}
	}

	// Good records bring the ratio under the threshold: resolved, once.
	for range 30 {
		rbSend(t, c, pageViewKey, `{"url":"https://a.example/"}`)
	}
	eventually(t, 30*time.Second, "both receivers have the resolved notification", func() bool {
		return len(in.at(jsonPath)) >= 2 && len(in.at(slackPath)) >= 2
	})
	evaluations(2)
	jsonBodies = in.at(jsonPath)
	if len(jsonBodies) != 2 || len(in.at(slackPath)) != 2 {
		t.Fatalf("%d json and %d slack notifications after resolving, want 2 each", len(jsonBodies), len(in.at(slackPath)))
	}
	var resolved struct{ Status, Summary string }
	if err := json.Unmarshal(jsonBodies[1], &resolved); err != nil || resolved.Status != "resolved" || !strings.HasPrefix(resolved.Summary, "Resolved: ") {
		t.Fatalf("resolved notification: %s", jsonBodies[1])
	}
	if s, _ := state(); s.Rules[0].State != "ok" || s.Rules[0].LastNotification.Status != "resolved" {
		t.Fatalf("after resolving: %+v", s.Rules[0])
	}

	// The URLs' secret is in no answer and no log line.
	_, _, statsBody = httpDo(t, http.MethodGet, c.URL+"/stats", nil, auth...)
	_, _, metricsBody := httpDo(t, http.MethodGet, c.URL+"/metrics", nil, auth...)
	c.stop()
	for what, text := range map[string]string{"/stats": statsBody, "/metrics": metricsBody, "the log": c.logs.String()} {
		if strings.Contains(text, secret) {
			t.Errorf("%s shows the webhook URL's secret", what)
		}
	}
	for _, line := range []string{`msg="alert firing" component=alerts rule=page-view-failures`, `msg="alert resolved" component=alerts rule=page-view-failures`} {
		if !strings.Contains(c.logs.String(), line) {
			t.Errorf("no %s line in the log:\n%s", line, c.logs)
		}
	}
}

// TestAlertsConfigErrors: a bad rule or receiver stops accord serve and
// accord config check with the key named; an unset url_env stops accord
// serve naming the variable.
func TestAlertsConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		serveOnly  bool
		want       []string
	}{
		{"unknown kind", "alerts:\n  receivers: [{name: r, url: 'http://127.0.0.1:1/x'}]\n  rules: [{name: a, kind: failure_rate, receivers: [r]}]\n", false,
			[]string{`alerts.rules[0].kind: "failure_rate" is not a rule kind`}},
		{"bad window", "alerts:\n  receivers: [{name: r, url: 'http://127.0.0.1:1/x'}]\n  rules: [{name: a, kind: dead_letters, window: 10s, receivers: [r]}]\n", false,
			[]string{"alerts.rules[0].window: 10s is shorter than twice alerts.interval (15s)"}},
		{"missing webhook", "alerts:\n  receivers: [{name: r}]\n  rules: [{name: a, kind: spool_fill, threshold: 0.9, receivers: [r]}]\n", false,
			[]string{"alerts.receivers[0].url: the receiver has no webhook"}},
		{"unknown sink", "alerts:\n  receivers: [{name: r, url: 'http://127.0.0.1:1/x'}]\n  rules: [{name: a, kind: sink_lag_records, sink: warehouse, threshold: 10, receivers: [r]}]\n", false,
			[]string{`alerts.rules[0].sink: "warehouse" names no sink; use one of store`}},
		{"unset url_env", "alerts:\n  receivers: [{name: r, url_env: ALERTS_E2E_UNSET_URL}]\n  rules: [{name: a, kind: spool_fill, threshold: 0.9, receivers: [r]}]\n", true,
			[]string{"alerts.receivers[0].url_env names $ALERTS_E2E_UNSET_URL, which is empty or unset"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := newProject(t)
			if err := os.WriteFile(dir+"/accord.yml", []byte(tc.file), 0o644); err != nil {
				t.Fatal(err)
			}
			cmds := [][]string{{"serve", "--addr", "127.0.0.1:0"}, {"config", "check"}}
			if tc.serveOnly {
				cmds = cmds[:1]
			}
			for _, args := range cmds {
				_, stderr, code := runAccordEnv(t, dir, []string{"ALERTS_E2E_UNSET_URL="}, nil, args...)
				if code == 0 {
					t.Fatalf("accord %v accepted the configuration", args)
				}
				for _, w := range tc.want {
					if !strings.Contains(stderr, w) {
						t.Errorf("accord %v: output lacks %q:\n%s", args, w, stderr)
					}
				}
			}
		})
	}
}

func readDoc(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// docJSON is the json block after <!-- marker --> in doc.
func docJSON(t *testing.T, doc, marker string) json.RawMessage {
	t.Helper()
	_, rest, ok := strings.Cut(doc, "<!-- "+marker+" -->\n```json\n")
	if !ok {
		t.Fatalf("no json block after <!-- %s -->", marker)
	}
	block, _, _ := strings.Cut(rest, "\n```")
	return json.RawMessage(block)
}

// sameShape fails unless got and want have the same keys at every level,
// with values of the same JSON types (each element of an array against the
// documented one at its index, or against the first when their lengths
// differ).
func sameShape(t *testing.T, what string, got, want json.RawMessage) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: the documented example: %v", what, err)
	}
	if problem := shapeDiff("", g, w); problem != "" {
		t.Errorf("%s differs from docs/alerts.md: %s\ngot: %s", what, problem, got)
	}
}

func shapeDiff(at string, got, want any) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s is %T, documented an object", at, got)
		}
		var gk, wk []string
		for k := range g {
			gk = append(gk, k)
		}
		for k := range w {
			wk = append(wk, k)
		}
		sort.Strings(gk)
		sort.Strings(wk)
		if strings.Join(gk, ",") != strings.Join(wk, ",") {
			return fmt.Sprintf("%s has the keys %v, documented %v", at, gk, wk)
		}
		for k := range w {
			if p := shapeDiff(at+"."+k, g[k], w[k]); p != "" {
				return p
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(w) == 0 || len(g) == 0 {
			return fmt.Sprintf("%s is %v, documented %v", at, got, want)
		}
		for i := range g {
			wi := w[0]
			if len(g) == len(w) {
				wi = w[i]
			}
			if p := shapeDiff(fmt.Sprintf("%s[%d]", at, i), g[i], wi); p != "" {
				return p
			}
		}
	default:
		if fmt.Sprintf("%T", got) != fmt.Sprintf("%T", want) {
			return fmt.Sprintf("%s is %T, documented %T", at, got, want)
		}
	}
	return ""
}

// TestAlertsHangingReceiverHoldsNothing: a receiver that never answers
// holds up neither the events (still answered at once) nor the shutdown
// (accord serve stops as it does without alerts, exit 0), and its
// notification shows as queued or in flight, never as sent.
func TestAlertsHangingReceiverHoldsNothing(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	posts := 0
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		posts++
		mu.Unlock()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)
	c := startCollector(t, newProject(t),
		"ACCORD_ALERTS_INTERVAL=1s",
		"ACCORD_ALERTS_RECEIVERS=[{name: hang, url_env: ALERTS_E2E_HANG_URL}]",
		"ALERTS_E2E_HANG_URL="+hang.URL+"/hook",
		"ACCORD_ALERTS_RULES=[{name: everything-fails, kind: failed_ratio, contract: '*', threshold: 0.1, min_events: 1, window: 1m, receivers: [hang]}]",
	)
	rbSend(t, c, pageViewKey, `{"url":5}`)
	eventually(t, 30*time.Second, "the receiver was posted the firing notification", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return posts >= 1
	})
	// Events are answered at once while the receiver hangs.
	for i := range 20 {
		start := time.Now()
		rbSend(t, c, pageViewKey, fmt.Sprintf(`{"url":"https://a.example/%d"}`, i))
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("an event took %s to be answered while the receiver hangs", d)
		}
	}
	_, _, body := httpDo(t, http.MethodGet, c.URL+"/stats/alerts", nil)
	s := decodeInto[alertsState](t, []byte(body))
	if s.Rules[0].State != "firing" || s.Receivers[0].Sent != 0 {
		t.Fatalf("/stats/alerts: %s", body)
	}
	start := time.Now()
	c.stop()
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("accord serve took %s to stop with a hanging receiver", d)
	}
}
