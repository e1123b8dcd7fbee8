package alert

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/accord-events/accord/internal/contract"
)

// Rule kinds.
const (
	KindFailedRatio    = "failed_ratio"
	KindFreshness      = "freshness"
	KindVolume         = "volume"
	KindSinkLagRecords = "sink_lag_records"
	KindSinkLagSeconds = "sink_lag_seconds"
	KindSpoolFill      = "spool_fill"
	KindDeadLetters    = "dead_letters"
)

// Kinds are the rule kinds, in the order docs/alerts.md describes them.
var Kinds = []string{KindFailedRatio, KindFreshness, KindVolume, KindSinkLagRecords, KindSinkLagSeconds, KindSpoolFill, KindDeadLetters}

// Receiver body formats.
const (
	FormatSlack = "slack"
	FormatJSON  = "json"
)

// Config is the alerts section of accord.yml.
type Config struct {
	Interval       time.Duration `yaml:"interval" doc:"How often accord serve evaluates the alert rules, at least 1s. A rule's window must be at least twice as long."`
	RepeatInterval time.Duration `yaml:"repeat_interval" doc:"While a rule keeps firing, how often its notification is sent again; 0 sends it once per firing. See docs/alerts.md."`
	Receivers      []Receiver    `yaml:"receivers" doc:"Webhooks the alert notifications are posted to. See docs/alerts.md."`
	Rules          []Rule        `yaml:"rules" doc:"Alert rules, evaluated in accord serve every alerts.interval; each one's state is in GET /stats, GET /stats/alerts and /metrics. See docs/alerts.md."`
}

// Receiver is a webhook notifications are posted to.
type Receiver struct {
	Name        string        `yaml:"name" doc:"Unique name of the receiver, which rules list in their receivers."`
	URL         string        `yaml:"url" doc:"URL the notifications are posted to (http or https). Webhook URLs usually hold a secret: prefer url_env. Never logged nor shown."`
	URLEnv      string        `yaml:"url_env" doc:"Environment variable holding the URL, read at start; used instead of url."`
	Format      string        `yaml:"format" doc:"Body of the notifications: slack (a Slack-compatible text and blocks, also taken by Mattermost and Rocket.Chat incoming webhooks) or json (Accord's own object). See docs/alerts.md."`
	Timeout     time.Duration `yaml:"timeout" doc:"How long one attempt at posting a notification may take, answer included."`
	MaxAttempts int           `yaml:"max_attempts" doc:"Attempts at a notification that fails with a network error, a 429 or a 5xx, waiting 1s, then twice as long each time up to 30s, in between; other answers are not retried."`
	QueueSize   int           `yaml:"queue_size" doc:"Notifications waiting for the receiver at most; past it new ones are dropped and counted (accord_alert_notifications_total{result=\"dropped\"}), so a dead receiver never holds up the rules nor grows memory."`
}

// Rule is one alert rule.
type Rule struct {
	Name      string        `yaml:"name" doc:"Unique name of the rule: letters, digits, '.', '_' and '-', at most 64 characters. It is the rule label of the alert metrics."`
	Kind      string        `yaml:"kind" doc:"What the rule watches: failed_ratio, freshness, volume, sink_lag_records, sink_lag_seconds, spool_fill or dead_letters. See docs/alerts.md."`
	Contract  string        `yaml:"contract" doc:"For failed_ratio, freshness and volume: the contract watched, a schema key (iglu:com.acme/checkout/jsonschema/1-0-0) or vendor/name for all its versions; failed_ratio also takes * for every record."`
	Sink      string        `yaml:"sink" doc:"For sink_lag_records and sink_lag_seconds: the sink watched (a sinks[].name). For dead_letters: one sink, or empty for all of them."`
	Window    time.Duration `yaml:"window" doc:"For failed_ratio, volume and dead_letters: how far back the records are counted; 0 takes the kind's default (10m; volume 24h). At most 168h."`
	Threshold float64       `yaml:"threshold" doc:"When the rule fires: failed_ratio above this ratio (0 to 1); volume below this share of the expected count (0 to 1, default 0.5); sink_lag_records above this many records; sink_lag_seconds above this many seconds; spool_fill above this ratio (0 to 1); dead_letters above this many records in the window (default 0). freshness takes its threshold from the contract's x-accord.sla.freshness."`
	MinEvents int           `yaml:"min_events" doc:"For failed_ratio: fewer records than this in the window never fire (so one failure in two events does not page); 0 takes the default, 10."`
	For       time.Duration `yaml:"for" doc:"How long the condition must hold before the rule fires; it is pending meanwhile. 0 fires at the first evaluation that finds it."`
	Receivers []string      `yaml:"receivers" doc:"Names of the alerts.receivers the rule notifies."`
}

// Defaults of the keys a list entry leaves out.
const (
	DefaultInterval       = 15 * time.Second
	DefaultRepeatInterval = 4 * time.Hour
	DefaultTimeout        = 10 * time.Second
	DefaultMaxAttempts    = 5
	DefaultQueueSize      = 64
	DefaultWindow         = 10 * time.Minute
	DefaultVolumeWindow   = 24 * time.Hour
	DefaultVolumeRatio    = 0.5
	DefaultMinEvents      = 10
	// MaxWindow bounds a window, so the history kept is bounded.
	MaxWindow = 7 * 24 * time.Hour
	// MaxRules and MaxReceivers bound the configuration, so the label
	// values of the alert metrics are few.
	MaxRules     = 200
	MaxReceivers = 50
)

// DefaultConfig returns the defaults: no rules, evaluated every 15s,
// repeated every 4h while firing.
func DefaultConfig() Config {
	return Config{Interval: DefaultInterval, RepeatInterval: DefaultRepeatInterval, Receivers: []Receiver{}, Rules: []Rule{}}
}

// WithDefaults fills the keys the list entries left out (a list entry
// decodes from zero, so its defaults come afterwards).
func (c Config) WithDefaults() Config {
	c.Receivers = slices.Clone(c.Receivers)
	for i := range c.Receivers {
		c.Receivers[i].SetDefaults()
	}
	c.Rules = slices.Clone(c.Rules)
	for i := range c.Rules {
		r := &c.Rules[i]
		if r.Window == 0 {
			switch r.Kind {
			case KindFailedRatio, KindDeadLetters:
				r.Window = DefaultWindow
			case KindVolume:
				r.Window = DefaultVolumeWindow
			}
		}
		if r.Kind == KindVolume && r.Threshold == 0 {
			r.Threshold = DefaultVolumeRatio
		}
		if r.Kind == KindFailedRatio && r.MinEvents == 0 {
			r.MinEvents = DefaultMinEvents
		}
	}
	return c
}

// SetDefaults fills the keys the receiver left out: format json, timeout
// 10s, 5 attempts, a queue of 64.
func (r *Receiver) SetDefaults() {
	if r.Format == "" {
		r.Format = FormatJSON
	}
	if r.Timeout == 0 {
		r.Timeout = DefaultTimeout
	}
	if r.MaxAttempts == 0 {
		r.MaxAttempts = DefaultMaxAttempts
	}
	if r.QueueSize == 0 {
		r.QueueSize = DefaultQueueSize
	}
}

var ruleName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Validate checks the section, with defaults filled (WithDefaults); sinks
// are the configured sinks' names. Messages name the key (relative to the
// section) and the fix.
func (c Config) Validate(sinks []string) error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.Interval < time.Second {
		bad("interval", "%s is too short; use at least 1s, such as 15s", c.Interval)
	}
	if c.RepeatInterval < 0 {
		bad("repeat_interval", "%s must not be negative; use 0 to notify once per firing, or a period such as 4h", c.RepeatInterval)
	}
	if len(c.Receivers) > MaxReceivers {
		bad("receivers", "%d receivers are too many; use at most %d", len(c.Receivers), MaxReceivers)
	}
	if len(c.Rules) > MaxRules {
		bad("rules", "%d rules are too many; use at most %d", len(c.Rules), MaxRules)
	}
	receivers := map[string]bool{}
	for i, r := range c.Receivers {
		key := fmt.Sprintf("receivers[%d]", i)
		switch {
		case !ruleName.MatchString(r.Name):
			bad(key+".name", "%q is not a name; use letters, digits, '.', '_' and '-', at most 64 characters, such as oncall", bounded(r.Name))
		case receivers[r.Name]:
			bad(key+".name", "%q is used by another receiver; receiver names must be unique", r.Name)
		}
		receivers[r.Name] = true
		switch {
		case r.URL == "" && r.URLEnv == "":
			bad(key+".url", "the receiver has no webhook; set url_env to the environment variable holding its URL (or url)")
		case r.URL != "" && r.URLEnv != "":
			bad(key+".url", "both url and url_env are set; keep one (url_env keeps the secret out of the file)")
		case r.URL != "":
			if err := CheckURL(r.URL); err != nil {
				bad(key+".url", "%v", err)
			}
		}
		if r.Format != FormatSlack && r.Format != FormatJSON {
			bad(key+".format", "%q is not a format; use slack or json", bounded(r.Format))
		}
		if r.Timeout <= 0 || r.Timeout > 5*time.Minute {
			bad(key+".timeout", "%s is out of range; use a positive duration up to 5m, such as 10s", r.Timeout)
		}
		if r.MaxAttempts < 1 || r.MaxAttempts > 20 {
			bad(key+".max_attempts", "%d is out of range; use 1 to 20, such as 5", r.MaxAttempts)
		}
		if r.QueueSize < 1 || r.QueueSize > 10000 {
			bad(key+".queue_size", "%d is out of range; use 1 to 10000, such as 64", r.QueueSize)
		}
	}
	names := map[string]bool{}
	for i, r := range c.Rules {
		key := fmt.Sprintf("rules[%d]", i)
		switch {
		case !ruleName.MatchString(r.Name):
			bad(key+".name", "%q is not a name; use letters, digits, '.', '_' and '-', at most 64 characters, such as checkout-failures", bounded(r.Name))
		case names[r.Name]:
			bad(key+".name", "%q is used by another rule; rule names must be unique", r.Name)
		}
		names[r.Name] = true
		errs = append(errs, r.validate(key, c.Interval, sinks)...)
		if len(r.Receivers) == 0 {
			bad(key+".receivers", "the rule has no receivers; list the alerts.receivers it notifies, such as [oncall]")
		}
		for j, name := range r.Receivers {
			if !receivers[name] {
				bad(fmt.Sprintf("%s.receivers[%d]", key, j), "%q names no receiver; add it to alerts.receivers or use one of %s", bounded(name), strings.Join(receiverNames(c.Receivers), ", "))
			}
		}
	}
	return errors.Join(errs...)
}

func receiverNames(rs []Receiver) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.Name)
	}
	if len(out) == 0 {
		out = append(out, "(none configured)")
	}
	return out
}

// validate checks the keys of one rule that depend on its kind.
func (r Rule) validate(key string, interval time.Duration, sinks []string) []error {
	var errs []error
	bad := func(k, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", key, k, fmt.Sprintf(format, args...)))
	}
	if !slices.Contains(Kinds, r.Kind) {
		bad("kind", "%q is not a rule kind; use one of %s", bounded(r.Kind), strings.Join(Kinds, ", "))
		return errs
	}
	usesContract := r.Kind == KindFailedRatio || r.Kind == KindFreshness || r.Kind == KindVolume
	switch {
	case usesContract && r.Contract == "":
		bad("contract", "a %s rule watches a contract; set it to a schema key such as iglu:com.acme/checkout/jsonschema/1-0-0, or vendor/name for all its versions", r.Kind)
	case usesContract:
		if err := checkContract(r.Contract, r.Kind == KindFailedRatio); err != nil {
			bad("contract", "%v", err)
		}
	case r.Contract != "":
		bad("contract", "a %s rule watches no contract; remove the key", r.Kind)
	}
	usesSink := r.Kind == KindSinkLagRecords || r.Kind == KindSinkLagSeconds || r.Kind == KindDeadLetters
	switch {
	case (r.Kind == KindSinkLagRecords || r.Kind == KindSinkLagSeconds) && r.Sink == "":
		bad("sink", "a %s rule watches a sink; set it to one of the sinks: %s", r.Kind, strings.Join(sinks, ", "))
	case usesSink && r.Sink != "" && !slices.Contains(sinks, r.Sink):
		bad("sink", "%q names no sink; use one of %s", bounded(r.Sink), strings.Join(sinks, ", "))
	case !usesSink && r.Sink != "":
		bad("sink", "a %s rule watches no sink; remove the key", r.Kind)
	}
	usesWindow := r.Kind == KindFailedRatio || r.Kind == KindVolume || r.Kind == KindDeadLetters
	switch {
	case usesWindow && r.Window < 2*interval:
		bad("window", "%s is shorter than twice alerts.interval (%s), so nothing could be counted over it; make it longer, such as 10m", r.Window, interval)
	case usesWindow && r.Window > MaxWindow:
		bad("window", "%s is too long; use at most 168h", r.Window)
	case !usesWindow && r.Window != 0:
		bad("window", "a %s rule has no window; remove the key", r.Kind)
	}
	ratio := func(what string) {
		if !(r.Threshold > 0 && r.Threshold < 1) {
			bad("threshold", "%v is not a ratio above 0 and below 1; set %s, such as 0.05", r.Threshold, what)
		}
	}
	switch r.Kind {
	case KindFailedRatio:
		ratio("the failed share that fires")
	case KindVolume:
		if !(r.Threshold > 0 && r.Threshold <= 1) {
			bad("threshold", "%v is not a share above 0 and at most 1; set the share of the expected count below which the rule fires, such as 0.5", r.Threshold)
		}
	case KindSpoolFill:
		ratio("the spool's fill that fires")
	case KindSinkLagRecords, KindSinkLagSeconds:
		if r.Threshold <= 0 {
			bad("threshold", "%v must be positive; set the lag above which the rule fires, such as 10000 records or 300 seconds", r.Threshold)
		}
	case KindDeadLetters:
		if r.Threshold < 0 {
			bad("threshold", "%v must not be negative; use 0 to fire on any dead letter", r.Threshold)
		}
	case KindFreshness:
		if r.Threshold != 0 {
			bad("threshold", "a freshness rule takes its threshold from the contract's x-accord.sla.freshness; remove the key")
		}
	}
	if r.MinEvents < 0 {
		bad("min_events", "%d must not be negative; use 0 for the default, 10", r.MinEvents)
	}
	if r.MinEvents != 0 && r.Kind != KindFailedRatio {
		bad("min_events", "only a failed_ratio rule counts a minimum of records; remove the key")
	}
	if r.For < 0 {
		bad("for", "%s must not be negative; use 0 to fire at once", r.For)
	}
	return errs
}

// checkContract checks a rule's contract: a schema key, vendor/name, or
// (when all is set) *.
func checkContract(s string, all bool) error {
	if s == "*" {
		if all {
			return nil
		}
		return errors.New(`"*" is only for failed_ratio; name one contract, a schema key or vendor/name`)
	}
	if _, err := contract.ParseKey(s); err == nil {
		return nil
	}
	if vendor, name, ok := strings.Cut(strings.TrimPrefix(s, "iglu:"), "/"); ok && !strings.Contains(name, "/") {
		if _, err := contract.ParseKey(vendor + "/" + name + "/jsonschema/1-0-0"); err == nil {
			return nil
		}
	}
	return fmt.Errorf("%q is neither a schema key such as iglu:com.acme/checkout/jsonschema/1-0-0 nor vendor/name such as com.acme/checkout", bounded(s))
}

// CheckURL checks a receiver's URL; its error never holds the URL, which
// may carry a secret.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("is not an http or https URL with a host, such as https://hooks.slack.com/services/T00/B00/XXX")
	}
	return nil
}

// bounded cuts a configured value echoed in an error.
func bounded(s string) string {
	if len(s) > 100 {
		return s[:100] + "..."
	}
	return s
}

// ResolveURLs returns the configuration with each receiver's url_env read
// from getenv into its url; an unset or empty variable is an error naming
// the key (never the value).
func (c Config) ResolveURLs(getenv func(string) string) (Config, error) {
	c.Receivers = slices.Clone(c.Receivers)
	var errs []error
	for i := range c.Receivers {
		r := &c.Receivers[i]
		if r.URLEnv == "" {
			continue
		}
		r.URL = strings.TrimSpace(getenv(r.URLEnv))
		switch {
		case r.URL == "":
			errs = append(errs, fmt.Errorf("alerts.receivers[%d].url_env names $%s, which is empty or unset; export it or set url", i, r.URLEnv))
		default:
			if err := CheckURL(r.URL); err != nil {
				errs = append(errs, fmt.Errorf("alerts.receivers[%d].url_env: $%s %w", i, r.URLEnv, err))
			}
		}
	}
	return c, errors.Join(errs...)
}
