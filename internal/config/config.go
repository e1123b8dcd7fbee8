// Package config loads Accord's configuration: one YAML file whose every key
// has a default, overridden by ACCORD_* environment variables, validated at
// start with errors that name the key, the bad value and the fix.
//
// The structs here are the single source of truth: the configuration
// reference in docs/configuration.md and the commented accord.yml that
// `accord init` writes are both generated from their yaml and doc tags.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/accord-events/accord/internal/admin"
	"github.com/accord-events/accord/internal/alert"
	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/delivery"
	"github.com/accord-events/accord/internal/enrich"
	"github.com/accord-events/accord/internal/pipeline"
	"github.com/accord-events/accord/internal/privacy"
	"github.com/accord-events/accord/internal/protocol"
	"github.com/accord-events/accord/internal/registry"
	"github.com/accord-events/accord/internal/server"
	"github.com/accord-events/accord/internal/spool"
	"github.com/accord-events/accord/internal/spool/jetstreamlog"
	"github.com/accord-events/accord/internal/spool/kafkalog"

	"github.com/accord-events/accord/internal/sink/retention"
)

// Config is the whole configuration.
type Config struct {
	Server    server.Options  `yaml:"server" doc:"The HTTP collector."`
	Admin     admin.Config    `yaml:"admin" doc:"The admin routes: the registry API (/api/...), /stats, /metrics (Prometheus), and the coming web UI. They never carry CORS headers. See docs/security.md."`
	Collector Collector       `yaml:"collector" doc:"How this collector describes itself on every record."`
	Contracts Contracts       `yaml:"contracts" doc:"Where contracts come from."`
	Log       Log             `yaml:"log" doc:"Logging."`
	Protocols Protocols       `yaml:"protocols" doc:"The protocols events arrive in, each under its own key: Accord's own (POST /events), CloudEvents (POST /cloudevents), Snowplow, Segment, webhooks and the pixel. See docs/api.md and docs/protocols/."`
	Spool     Spool           `yaml:"spool" doc:"The durable spool between the collector and the sinks: a request is answered once its records are safely on disk, and each sink reads them at its own pace. See docs/reliability.md."`
	Replay    Replay          `yaml:"replay" doc:"accord replay. See docs/reliability.md#replay."`
	Privacy   privacy.Options `yaml:"privacy" doc:"The secrets of the contracts' x-accord-pii rules (the salt of hash and the key of hmac, each read from an environment variable or a file) and the collector-wide policy: IP address, user agent, headers, SP-Anonymous, consent signals, failed raw input. See docs/privacy.md."`
	Enrich    enrich.Options  `yaml:"enrich" doc:"Enrichments: what Accord adds to each valid event as contexts of its own (user agent parsed, geolocation, campaign, referer), each off until switched on. They run after the privacy rules and policy, on what those left. See docs/enrichment.md."`
	Sinks     []SinkEntry     `yaml:"sinks" doc:"Where records go. Each sink receives the records its records key selects and keeps good and failed ones apart."`
	Alerts    alert.Config    `yaml:"alerts" doc:"Alert rules accord serve evaluates in-process (failed ratio per contract, the contracts' x-accord.sla freshness and volume, sink lag, spool fill, dead letters) and the webhooks they notify. See docs/alerts.md."`
}

// Spool configures the spool and delivery from it.
type Spool struct {
	Enabled bool   `yaml:"enabled" doc:"Must be true (the default): the collector always answers once a request's records are in the spool. Delivering to the sinks without it (false) was removed: a request one sink failed was answered 503 after the other sinks had stored it, so the resend was stored twice. For the lowest latency, set spool.fsync to interval or never."`
	Kind    string `yaml:"kind" doc:"Where records wait between the collector and the sinks: local (the default: the spool on this machine's disk, read by this process's sinks), kafka (a topic on a Kafka cluster) or jetstream (a NATS JetStream stream): with kafka or jetstream a request is answered once the broker acknowledged its records, the collector keeps no state and runs no sink, and accord load runs the sinks; see docs/scale-out.md."`
	// The spool's own options (dir, segment_bytes, max_bytes, fsync,
	// fsync_interval) stand at this level.
	spool.Options       `yaml:",inline"`
	Kafka               kafkalog.Options     `yaml:"kafka" doc:"With kind: kafka, the shared log on Kafka (docs/scale-out.md)."`
	JetStream           jetstreamlog.Options `yaml:"jetstream" doc:"With kind: jetstream, the shared log on NATS JetStream (docs/scale-out.md)."`
	Ack                 string               `yaml:"ack" doc:"When a request is answered: spool (once its records are in the spool, flushed as fsync says) or sinks (once every sink has delivered them or sent them to its dead letter: read-your-writes, but a down sink holds each request for spool.ack_timeout)."`
	AckTimeout          time.Duration        `yaml:"ack_timeout" doc:"With ack: sinks, how long a request waits for every sink to deliver its records; past it the answer is 503 with Retry-After and \"accepted\": true: the records are kept in the spool and delivered as the sinks recover, so the client must not send them again. Shorter than server.write_timeout."`
	DrainTimeout        time.Duration        `yaml:"drain_timeout" doc:"On shutdown, how long sinks get to deliver what the spool holds once requests have finished; what is left is delivered after the next start."`
	DeadLetterDir       string               `yaml:"dead_letter_dir" doc:"Directory of the dead letters: records a sink refused for good (or after delivery.max_attempts), one NDJSON file per sink, each line the record and the error. accord replay reads them."`
	DeadLetterRetention time.Duration        `yaml:"dead_letter_retention" doc:"How long dead letters are kept, counted from when they were written, such as 720h for 30 days: older ones are removed from the start of each sink's file in the background (the file is rewritten without them); 0 keeps them forever."`
}

// Replay configures accord replay.
type Replay struct {
	LedgerDir string `yaml:"ledger_dir" doc:"Directory of the replay ledger: per sink, which replayed records it took, so that replaying again (or after a failure part way) writes no record to a sink twice, whatever the sink. One file per sink; delete it to let a replay write that sink's records again."`
}

// Acknowledgement levels.
const (
	AckSpool = "spool"
	AckSinks = "sinks"
)

// Spool kinds.
const (
	SpoolLocal     = "local"
	SpoolKafka     = "kafka"
	SpoolJetStream = "jetstream"
)

// Collector describes this collector on records.
type Collector struct {
	Name      string `yaml:"name" doc:"Collector name written to every record's collector.name."`
	Env       string `yaml:"env" doc:"Environment written to every record's collector.env, such as production or staging."`
	Namespace string `yaml:"namespace" doc:"Namespace of events that do not name their own."`
}

// Contracts configures where contracts come from.
type Contracts struct {
	Dir             string                   `yaml:"dir" doc:"Directory of contracts in the Iglu static layout {vendor}/{name}/jsonschema/{M-R-A}."`
	ReloadInterval  time.Duration            `yaml:"reload_interval" doc:"How often accord serve reloads the contract files added, edited or removed under contracts.dir (hot reload); 0 turns it off, otherwise at least 100ms. On Linux, for a directory on a local filesystem, changes are learnt from inotify and an interval with none costs nothing; elsewhere the tree is walked and compared every interval (see docs/contracts.md)."`
	Lint            ContractsLint            `yaml:"lint" doc:"How accord contract lint judges contracts."`
	Backends        []registry.BackendConfig `yaml:"backends" doc:"Where a schema key that contracts.dir does not hold is looked up, in this order: PostgreSQL tables and Iglu repositories over HTTP (see docs/contracts.md). Fetched contracts are cached as contracts.cache says."`
	Cache           registry.CacheOptions    `yaml:"cache" doc:"The cache of contracts fetched from contracts.backends."`
	UnknownContexts pipeline.UnknownContexts `yaml:"unknown_contexts" doc:"What happens to an event carrying a context (entity) whose schema key names no registered contract: fail (the default: the event is stored failed as schema_not_found) or keep (the event is stored good with that context kept as sent, unvalidated, its key listed in attributes.unknown_contexts). Either way GET /stats counts the missing keys under unknown_contexts. See docs/contracts.md."`
	APIKeys         []string                 `yaml:"api_keys" doc:"Keys that may write schemas through the registry API (PUT /api/schemas/{vendor}/{name}/jsonschema/{M-R-A}, POST /api/schemas, and accord contract publish), sent in an apikey header or as Authorization: Bearer; an empty list refuses every write. Treat them as secrets: set them from the environment."`
}

// ContractsLint configures accord contract lint.
type ContractsLint struct {
	RequireDescriptions string   `yaml:"require_descriptions" doc:"Severity of a missing description on a contract or on one of its properties: error, warning or off."`
	ImportedVendors     []string `yaml:"imported_vendors" doc:"Vendors whose schemas you import (accord contract pull from Iglu Central or a partner's repository) rather than own, such as com.snowplowanalytics.snowplow: lint does not ask them for an x-accord block or descriptions; every other check still applies."`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level" doc:"Least severe level logged: debug, info, warn or error."`
	Format string `yaml:"format" doc:"Log line format: text or json."`
}

// SinkEntry is one entry of the sinks list: a configured sink. Its options depend on its type; see the sink
// types in the configuration reference.
type SinkEntry struct {
	Name    string         `yaml:"name" doc:"Unique name of the sink, used in logs and errors."`
	Type    string         `yaml:"type" doc:"Sink type: sqlite, file, stdout, http, ... (every type is listed under Sink types in docs/configuration.md)."`
	Records string         `yaml:"records" doc:"Which records the sink receives: all, good or failed."`
	Options map[string]any `yaml:"options" doc:"The sink type's options (see Sink types below); keys left out take their defaults."`
	// Delivery is how records reach the sink from the spool.
	Delivery delivery.Options `yaml:"delivery"`
}

// Default returns the configuration Accord runs with when no file sets
// anything: port 8080, contracts from ./contracts, SQLite under ./accord-data,
// and every protocol type in protocols at its defaults.
func Default(protocols *protocol.Types) Config {
	return Config{
		Server:    server.DefaultOptions(),
		Collector: Collector{Name: "accord", Env: "development", Namespace: "default"},
		Contracts: Contracts{Dir: "contracts", ReloadInterval: 2 * time.Second, Lint: ContractsLint{RequireDescriptions: "warning"}, Cache: registry.DefaultCacheOptions(), UnknownContexts: pipeline.FailUnknownContexts},
		Log:       Log{Level: "info", Format: "text"},
		Protocols: NewProtocols(protocols),
		Privacy:   privacy.DefaultOptions(),
		Enrich:    enrich.DefaultOptions(),
		Spool: Spool{
			Enabled:       true,
			Kind:          SpoolLocal,
			Options:       spool.DefaultOptions(),
			Kafka:         kafkalog.DefaultOptions(),
			JetStream:     jetstreamlog.DefaultOptions(),
			Ack:           AckSpool,
			AckTimeout:    10 * time.Second,
			DrainTimeout:  10 * time.Second,
			DeadLetterDir: "accord-data/dead-letter",
		},
		Replay: Replay{LedgerDir: "accord-data/replay-ledger"},
		Alerts: alert.DefaultConfig(),
		Sinks: []SinkEntry{
			{Name: "store", Type: "sqlite", Records: "all", Options: map[string]any{"path": "accord-data/accord.db"}, Delivery: delivery.DefaultOptions()},
		},
	}
}

// DefaultFile is the configuration file accord serve reads when no --config
// is given and it exists.
const DefaultFile = "accord.yml"

// Load reads the configuration from path, on top of the defaults, then
// applies environment overrides from environ (os.Environ() form) and
// validates the result. An empty path means DefaultFile if it exists and
// the defaults alone otherwise. protocols are the protocol types whose
// options the protocols section holds. Only the named sections are validated
// (every one when none is named; see Validate): every key is still decoded
// strictly, so a typo anywhere is an error for every command.
func Load(path string, environ []string, protocols *protocol.Types, sections ...string) (Config, error) {
	cfg := Default(protocols)
	explicit := path != ""
	if !explicit {
		path = DefaultFile
	}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := decodeStrict(data, decodeTarget(&cfg), "", true); err != nil {
			return Config{}, fmt.Errorf("config %s: %w", path, err)
		}
	case errors.Is(err, fs.ErrNotExist) && !explicit:
		// No file: the embedded default.
	default:
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	if err := ApplyEnv(EnvPrefix, &cfg, environ); err != nil {
		return Config{}, err
	}
	cfg.Alerts = cfg.Alerts.WithDefaults()
	for i := range cfg.Sinks {
		if cfg.Sinks[i].Records == "" {
			cfg.Sinks[i].Records = "all"
		}
		cfg.Sinks[i].Delivery = withDeliveryDefaults(cfg.Sinks[i].Delivery)
	}
	if err := cfg.Validate(sections...); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// withDeliveryDefaults fills the delivery keys a sink entry left out. A
// list entry starts from zero when decoded, so its defaults come afterwards:
// a key whose zero value is no setting (batch sizes, backoff) takes its
// default; linger and max_attempts default to zero anyway.
func withDeliveryDefaults(o delivery.Options) delivery.Options {
	def := delivery.DefaultOptions()
	if o.BatchRecords == 0 {
		o.BatchRecords = def.BatchRecords
	}
	if o.BatchBytes == 0 {
		o.BatchBytes = def.BatchBytes
	}
	if o.BackoffMin == 0 {
		o.BackoffMin = def.BackoffMin
	}
	if o.BackoffMax == 0 {
		o.BackoffMax = max(def.BackoffMax, o.BackoffMin)
	}
	return o
}

// decodeStrict decodes YAML into v, refusing keys v has no field for, so a
// misspelt key is an error rather than silently ignored: each is named by its
// path below path (and its line when lines is set) with the nearest valid key.
func decodeStrict(data []byte, v any, path string, lines bool) error {
	var node yaml.Node
	if err := yaml.Unmarshal(data, &node); err != nil {
		return err
	}
	if err := unknownKeys(&node, reflect.TypeOf(v), path, lines); err != nil {
		return err
	}
	// The decoder checks again: the walk above only improves its message.
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	// An empty document decodes to io.EOF: it means "all defaults".
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// DecodeOptions decodes a sink's options map into opts (a pointer to an
// options struct already holding its defaults), refusing unknown keys.
func DecodeOptions(options map[string]any, opts any) error {
	if len(options) == 0 {
		return nil
	}
	data, err := yaml.Marshal(options)
	if err != nil {
		return err
	}
	return decodeStrict(data, opts, "", false)
}

// Sections of the configuration, named by their top-level keys: what a
// command asks Load to validate.
const (
	SectionServer    = "server"
	SectionAdmin     = "admin"
	SectionCollector = "collector"
	SectionContracts = "contracts"
	SectionLog       = "log"
	SectionProtocols = "protocols"
	SectionSpool     = "spool"
	SectionPrivacy   = "privacy"
	SectionEnrich    = "enrich"
	SectionSinks     = "sinks"
	SectionReplay    = "replay"
	SectionAlerts    = "alerts"
)

// Validate checks the named sections of the configuration (every section
// when none is named) and returns every problem at once, each naming its
// key. A command validates only the sections it uses, so that accord
// contract lint does not refuse to run because a Segment write key, which
// only the collector needs, is unset.
func (c *Config) Validate(sections ...string) error {
	checks := []struct {
		section string
		check   func() []error
	}{
		{SectionServer, c.validateServer},
		{SectionPrivacy, c.validatePrivacy},
		{SectionEnrich, c.validateEnrich},
		{SectionAdmin, c.validateAdmin},
		{SectionCollector, c.validateCollector},
		{SectionContracts, c.validateContracts},
		{SectionLog, c.validateLog},
		{SectionProtocols, c.Protocols.validate},
		{SectionSpool, c.validateSpool},
		{SectionSinks, c.validateSinks},
		{SectionReplay, c.validateReplay},
		{SectionAlerts, c.validateAlerts},
	}
	var errs []error
	for _, ch := range checks {
		if len(sections) == 0 || slices.Contains(sections, ch.section) {
			errs = append(errs, ch.check()...)
		}
	}
	return errors.Join(errs...)
}

// problems collects a section's errors, each naming its key.
type problems []error

func (p *problems) bad(key string, format string, args ...any) {
	*p = append(*p, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}

func (p *problems) under(prefix string, err error) {
	if err != nil {
		*p = append(*p, prefixErrors(prefix, err)...)
	}
}

func (c *Config) validateServer() []error {
	var p problems
	p.under("server.", c.Server.Validate())
	return p
}

func (c *Config) validateEnrich() []error {
	// The enrichments' errors name their keys in full.
	if err := c.Enrich.Validate(); err != nil {
		return prefixErrors("", err)
	}
	return nil
}

func (c *Config) validatePrivacy() []error {
	// Privacy's errors name their keys in full.
	if err := c.Privacy.Validate(); err != nil {
		return []error{err}
	}
	return nil
}

func (c *Config) validateAdmin() []error {
	var p problems
	p.under("admin.", c.Admin.Validate())
	if c.Admin.Addr != "" && c.Admin.Addr == c.Server.Addr {
		p.bad("admin.addr", "%q is also server.addr; leave admin.addr empty to serve the admin routes on the collector's port, or give them another port", c.Admin.Addr)
	}
	return p
}

func (c *Config) validateCollector() []error {
	var p problems
	if c.Collector.Name == "" {
		p.bad("collector.name", "must not be empty; name this collector, such as accord")
	}
	return p
}

func (c *Config) validateContracts() []error {
	var p problems
	if c.Contracts.Dir == "" {
		p.bad("contracts.dir", "must not be empty; point it at your contracts directory, such as contracts")
	}
	if d := c.Contracts.ReloadInterval; d != 0 && d < 100*time.Millisecond {
		p.bad("contracts.reload_interval", "%s is too short; use 0 to turn hot reload off, or at least 100ms (the default is 2s)", d)
	}
	for i, b := range c.Contracts.Backends {
		p.under(fmt.Sprintf("contracts.backends[%d].", i), b.Validate())
	}
	p.under("contracts.cache.", c.Contracts.Cache.Validate())
	for i, k := range c.Contracts.APIKeys {
		if k == "" || strings.ContainsAny(k, ", \t\r\n") {
			p.bad(fmt.Sprintf("contracts.api_keys[%d]", i), "must be a non-empty key without spaces or commas; generate one with openssl rand -hex 32")
		}
	}
	if err := c.Contracts.UnknownContexts.Validate(); err != nil || c.Contracts.UnknownContexts == "" {
		p.bad("contracts.unknown_contexts", "%q is not a policy; use fail (the default) or keep", string(c.Contracts.UnknownContexts))
	}
	switch c.Contracts.Lint.RequireDescriptions {
	case "error", "warning", "off":
	default:
		p.bad("contracts.lint.require_descriptions", "%q is not a severity; use error, warning or off", c.Contracts.Lint.RequireDescriptions)
	}
	for i, v := range c.Contracts.Lint.ImportedVendors {
		k, err := contract.ParseKey(v + "/x/jsonschema/1-0-0")
		if err == nil {
			err = k.CheckFilePath()
		}
		if err != nil || strings.Contains(v, "/") {
			p.bad(fmt.Sprintf("contracts.lint.imported_vendors[%d]", i), "%q is not a vendor; write it as in a schema key, such as com.snowplowanalytics.snowplow", v)
		}
	}
	return p
}

func (c *Config) validateLog() []error {
	var p problems
	if _, err := c.Log.SlogLevel(); err != nil {
		p.bad("log.level", "%v", err)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		p.bad("log.format", "%q is not a log format; use text or json", c.Log.Format)
	}
	return p
}

func (c *Config) validateSpool() []error {
	var p problems
	p.under("spool.", c.Spool.Options.Validate())
	if !c.Spool.Enabled {
		p.bad("spool.enabled", "false is no longer supported: without the spool a request one sink failed was answered 503 after the other sinks had stored its records, so a resend stored them twice; remove the key (the spool is always on), and for the lowest latency set spool.fsync to interval or never")
	}
	switch c.Spool.Kind {
	case SpoolLocal:
	case SpoolKafka, SpoolJetStream:
		key, timeout := "spool.kafka.", c.Spool.Kafka.Timeout
		if c.Spool.Kind == SpoolKafka {
			p.under(key, c.Spool.Kafka.Validate())
		} else {
			key, timeout = "spool.jetstream.", c.Spool.JetStream.Timeout
			p.under(key, c.Spool.JetStream.Validate())
		}
		if timeout >= c.Server.WriteTimeout {
			p.bad(key+"timeout", "%s is not shorter than server.write_timeout (%s), so the answer could not be written; lower it, or raise server.write_timeout", timeout, c.Server.WriteTimeout)
		}
		if c.Spool.Ack == AckSinks {
			p.bad("spool.ack", "sinks cannot be used with spool.kind %s: the sinks run in accord load, not in the collector; use spool", c.Spool.Kind)
		}
	default:
		p.bad("spool.kind", "%q is not a kind; use local, kafka or jetstream", c.Spool.Kind)
	}
	if c.Spool.Ack != AckSpool && c.Spool.Ack != AckSinks {
		p.bad("spool.ack", "%q is not an acknowledgement level; use spool or sinks", c.Spool.Ack)
	}
	switch {
	case c.Spool.AckTimeout <= 0:
		p.bad("spool.ack_timeout", "%s must be positive, such as 10s", c.Spool.AckTimeout)
	case c.Spool.Ack == AckSinks && c.Spool.AckTimeout >= c.Server.WriteTimeout:
		p.bad("spool.ack_timeout", "%s is not shorter than server.write_timeout (%s), so the answer could not be written; lower it, or raise server.write_timeout", c.Spool.AckTimeout, c.Server.WriteTimeout)
	}
	if c.Spool.DrainTimeout <= 0 {
		p.bad("spool.drain_timeout", "%s must be positive, such as 10s", c.Spool.DrainTimeout)
	}
	if err := retention.CheckPeriod(c.Spool.DeadLetterRetention); err != nil {
		p.bad("spool.dead_letter_retention", "%v", err)
	}
	if strings.TrimSpace(c.Spool.DeadLetterDir) == "" {
		p.bad("spool.dead_letter_dir", "must not be empty; set it to a directory such as accord-data/dead-letter")
	}
	return p
}

func (c *Config) validateSinks() []error {
	var p problems
	if len(c.Sinks) == 0 {
		p.bad("sinks", "no sinks are configured, so every event would be lost; configure at least one, such as {name: store, type: sqlite}")
	}
	seen := map[string]bool{}
	for i, s := range c.Sinks {
		key := fmt.Sprintf("sinks[%d]", i)
		switch {
		case s.Name == "":
			p.bad(key+".name", "must not be empty; give the sink a name used in logs")
		case seen[s.Name]:
			p.bad(key+".name", "%q is used by another sink; sink names must be unique", s.Name)
		}
		seen[s.Name] = true
		if s.Type == "" {
			p.bad(key+".type", "must not be empty; name one of the sink types in docs/configuration.md, such as sqlite")
		}
		if s.Records != "all" && s.Records != "good" && s.Records != "failed" {
			p.bad(key+".records", "%q is not a selection; use all, good or failed", s.Records)
		}
		p.under(key+".delivery.", s.Delivery.Validate())
	}
	return p
}

func (c *Config) validateAlerts() []error {
	var p problems
	sinks := make([]string, 0, len(c.Sinks))
	for _, s := range c.Sinks {
		sinks = append(sinks, s.Name)
	}
	p.under("alerts.", c.Alerts.Validate(sinks))
	return p
}

func (c *Config) validateReplay() []error {
	var p problems
	if strings.TrimSpace(c.Replay.LedgerDir) == "" {
		p.bad("replay.ledger_dir", "must not be empty; set it to a directory such as accord-data/replay-ledger")
	}
	return p
}

// prefixErrors puts prefix before each of the joined errors in err, which
// name their keys relative to a section.
func prefixErrors(prefix string, err error) []error {
	var out []error
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			out = append(out, fmt.Errorf("%s%w", prefix, e))
		}
		return out
	}
	return []error{fmt.Errorf("%s%w", prefix, err)}
}

// SlogLevel returns the configured level.
func (l Log) SlogLevel() (slog.Level, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(l.Level)); err != nil {
		return 0, fmt.Errorf("%q is not a level; use debug, info, warn or error", l.Level)
	}
	return level, nil
}

// EnvPrefix starts every environment variable that overrides a key.
const EnvPrefix = "ACCORD"
