package alert

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// docBlock returns the JSON of the fenced block after marker in
// docs/alerts.md.
func docBlock(t *testing.T, marker string) any {
	t.Helper()
	doc, err := os.ReadFile("../../docs/alerts.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "<!-- "+marker+" -->\n```json\n")
	if !ok {
		t.Fatalf("docs/alerts.md has no json block after <!-- %s -->", marker)
	}
	block, _, _ := strings.Cut(rest, "\n```")
	var v any
	if err := json.Unmarshal([]byte(block), &v); err != nil {
		t.Fatalf("docs/alerts.md, block %s: %v", marker, err)
	}
	return v
}

// TestDocsNotificationBodies: the bodies docs/alerts.md shows are exactly
// what a receiver of each format is posted for the notification they
// describe.
func TestDocsNotificationBodies(t *testing.T) {
	v, th := 0.3125, 0.05
	at := time.Date(2026, 12, 4, 9, 30, 15, 0, time.UTC)
	rs := &ruleState{rule: Rule{Name: "checkout-failures", Kind: KindFailedRatio, Contract: "com.acme/checkout", Window: 10 * time.Minute, Threshold: th},
		state: StateFiring, since: at, last: measurement{value: &v, threshold: &th,
			summary: "31.2% of the records of com.acme/checkout failed in the last 10m0s (25 of 80); the threshold is 5%"}}
	n := rs.notification(StatusFiring, false, at)
	n.Collector = Collector{Name: "accord", Env: "production"}
	for _, format := range []string{FormatJSON, FormatSlack} {
		b, err := n.body(format)
		if err != nil {
			t.Fatal(err)
		}
		var got any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if want := docBlock(t, "notification: "+format); !reflect.DeepEqual(got, want) {
			t.Errorf("format %s: docs/alerts.md shows\n%v\nbut the body is\n%s", format, want, b)
		}
	}
	// The summary shown is the one a failed_ratio rule makes.
	h := newHarness(t, []Rule{{Name: "checkout-failures", Kind: KindFailedRatio, Contract: "com.acme/checkout", Threshold: 0.05}}, nil, nil)
	h.step(0)
	h.stats.count("iglu:com.acme/checkout/jsonschema/1-0-0", 40, 20)
	h.stats.count("iglu:com.acme/checkout/jsonschema/1-1-0", 15, 5)
	if s := h.step(time.Minute); s.Summary != rs.last.summary || *s.Value != v {
		t.Errorf("summary %q value %v, docs show %q %v", s.Summary, *s.Value, rs.last.summary, v)
	}
}
