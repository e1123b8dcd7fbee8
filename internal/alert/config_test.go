package alert

import (
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/check"
)

// TestConfigValidate: each mistake is refused with its key named and the
// fix said; a webhook URL is never echoed.
func TestConfigValidate(t *testing.T) {
	valid := func() Config {
		c := DefaultConfig()
		c.Receivers = []Receiver{{Name: "oncall", URLEnv: "SLACK_URL", Format: FormatSlack}}
		c.Rules = []Rule{{Name: "cart-failures", Kind: KindFailedRatio, Contract: "com.acme/cart", Threshold: 0.05, Receivers: []string{"oncall"}}}
		return c
	}
	for _, tc := range []struct {
		name   string
		change func(*Config)
		says   []string
	}{
		{"valid", func(*Config) {}, nil},
		{"every kind", func(c *Config) {
			c.Rules = append(c.Rules,
				Rule{Name: "f", Kind: KindFreshness, Contract: "iglu:com.acme/cart/jsonschema/1-0-0", Receivers: []string{"oncall"}},
				Rule{Name: "v", Kind: KindVolume, Contract: "com.acme/cart", Receivers: []string{"oncall"}},
				Rule{Name: "lr", Kind: KindSinkLagRecords, Sink: "store", Threshold: 1000, Receivers: []string{"oncall"}},
				Rule{Name: "ls", Kind: KindSinkLagSeconds, Sink: "store", Threshold: 300, Receivers: []string{"oncall"}},
				Rule{Name: "s", Kind: KindSpoolFill, Threshold: 0.8, Receivers: []string{"oncall"}},
				Rule{Name: "d", Kind: KindDeadLetters, Receivers: []string{"oncall"}},
				Rule{Name: "all", Kind: KindFailedRatio, Contract: "*", Threshold: 0.2, Receivers: []string{"oncall"}})
		}, nil},
		{"unknown kind", func(c *Config) { c.Rules[0].Kind = "failure_rate" }, []string{"rules[0].kind", `"failure_rate" is not a rule kind`, "failed_ratio, freshness, volume"}},
		{"window shorter than two intervals", func(c *Config) { c.Rules[0].Window = 20 * time.Second }, []string{"rules[0].window", "shorter than twice alerts.interval (15s)"}},
		{"window too long", func(c *Config) { c.Rules[0].Window = 400 * time.Hour }, []string{"rules[0].window", "at most 168h"}},
		{"window on a kind without one", func(c *Config) {
			c.Rules[0] = Rule{Name: "s", Kind: KindSpoolFill, Threshold: 0.5, Window: time.Hour, Receivers: []string{"oncall"}}
		}, []string{"rules[0].window", "has no window"}},
		{"missing webhook", func(c *Config) { c.Receivers[0].URLEnv = "" }, []string{"receivers[0].url", "no webhook", "url_env"}},
		{"url and url_env", func(c *Config) { c.Receivers[0].URL = "https://hooks.example/x" }, []string{"receivers[0].url", "both url and url_env"}},
		{"not a URL, not echoed", func(c *Config) { c.Receivers[0].URLEnv, c.Receivers[0].URL = "", "ftp://hooks.example/SECRET" }, []string{"receivers[0].url", "not an http or https URL"}},
		{"format", func(c *Config) { c.Receivers[0].Format = "teams" }, []string{"receivers[0].format", `"teams"`, "slack or json"}},
		{"receiver names", func(c *Config) { c.Receivers = append(c.Receivers, c.Receivers[0]) }, []string{"receivers[1].name", "used by another receiver"}},
		{"no receivers on a rule", func(c *Config) { c.Rules[0].Receivers = nil }, []string{"rules[0].receivers", "no receivers"}},
		{"unknown receiver", func(c *Config) { c.Rules[0].Receivers = []string{"pager"} }, []string{"rules[0].receivers[0]", `"pager" names no receiver`, "oncall"}},
		{"rule name", func(c *Config) { c.Rules[0].Name = "cart failures{x}" }, []string{"rules[0].name", "letters, digits"}},
		{"duplicate rule", func(c *Config) { c.Rules = append(c.Rules, c.Rules[0]) }, []string{"rules[1].name", "used by another rule"}},
		{"no contract", func(c *Config) { c.Rules[0].Contract = "" }, []string{"rules[0].contract", "watches a contract"}},
		{"bad contract", func(c *Config) { c.Rules[0].Contract = "cart" }, []string{"rules[0].contract", "neither a schema key"}},
		{"star for freshness", func(c *Config) {
			c.Rules[0] = Rule{Name: "f", Kind: KindFreshness, Contract: "*", Receivers: []string{"oncall"}}
		}, []string{"rules[0].contract", "only for failed_ratio"}},
		{"ratio out of range", func(c *Config) { c.Rules[0].Threshold = 5 }, []string{"rules[0].threshold", "not a ratio above 0 and below 1"}},
		{"no sink", func(c *Config) {
			c.Rules[0] = Rule{Name: "l", Kind: KindSinkLagSeconds, Threshold: 1, Receivers: []string{"oncall"}}
		}, []string{"rules[0].sink", "watches a sink", "store"}},
		{"unknown sink", func(c *Config) {
			c.Rules[0] = Rule{Name: "l", Kind: KindSinkLagRecords, Sink: "wearhouse", Threshold: 1, Receivers: []string{"oncall"}}
		}, []string{"rules[0].sink", `"wearhouse" names no sink`, "store"}},
		{"lag threshold", func(c *Config) {
			c.Rules[0] = Rule{Name: "l", Kind: KindSinkLagRecords, Sink: "store", Receivers: []string{"oncall"}}
		}, []string{"rules[0].threshold", "must be positive"}},
		{"freshness threshold", func(c *Config) {
			c.Rules[0] = Rule{Name: "f", Kind: KindFreshness, Contract: "com.acme/cart", Threshold: 300, Receivers: []string{"oncall"}}
		}, []string{"rules[0].threshold", "x-accord.sla.freshness"}},
		{"min_events elsewhere", func(c *Config) {
			c.Rules[0] = Rule{Name: "s", Kind: KindSpoolFill, Threshold: 0.5, MinEvents: 3, Receivers: []string{"oncall"}}
		}, []string{"rules[0].min_events"}},
		{"negative for", func(c *Config) { c.Rules[0].For = -time.Second }, []string{"rules[0].for", "must not be negative"}},
		{"interval", func(c *Config) { c.Interval = 100 * time.Millisecond }, []string{"interval", "at least 1s"}},
		{"timeout", func(c *Config) { c.Receivers[0].Timeout = time.Hour }, []string{"receivers[0].timeout", "up to 5m"}},
		{"queue", func(c *Config) { c.Receivers[0].QueueSize = 1 << 20 }, []string{"receivers[0].queue_size"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.change(&c)
			err := c.WithDefaults().Validate([]string{"store"})
			check.ErrorSays(t, err, tc.says...)
			if err != nil && strings.Contains(err.Error(), "SECRET") {
				t.Errorf("the error echoes the URL: %v", err)
			}
		})
	}
}

// TestResolveURLs: url_env is read at start; unset, it is an error naming
// the key and the variable, never a value.
func TestResolveURLs(t *testing.T) {
	c := DefaultConfig()
	c.Receivers = []Receiver{{Name: "a", URLEnv: "HOOK_A"}, {Name: "b", URLEnv: "HOOK_B"}, {Name: "c", URLEnv: "HOOK_C"}}
	env := map[string]string{"HOOK_A": "https://hooks.example/services/SECRET\n", "HOOK_C": "not a url SECRET"}
	got, err := c.ResolveURLs(func(k string) string { return env[k] })
	check.ErrorSays(t, err, "alerts.receivers[1].url_env names $HOOK_B, which is empty or unset", "alerts.receivers[2].url_env: $HOOK_C is not an http")
	if strings.Contains(err.Error(), "SECRET") {
		t.Errorf("the error echoes a URL: %v", err)
	}
	if got.Receivers[0].URL != "https://hooks.example/services/SECRET" || c.Receivers[0].URL != "" {
		t.Fatalf("resolved %+v (the original %+v must be unchanged)", got.Receivers[0], c.Receivers[0])
	}
}
