package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/accord-events/accord/internal/pipeline"
	"github.com/accord-events/accord/internal/protocol"
	"github.com/accord-events/accord/internal/protocol/cloudevents"
	"github.com/accord-events/accord/internal/protocol/pixel"
	"github.com/accord-events/accord/internal/protocol/segment"
	"github.com/accord-events/accord/internal/protocol/selfdesc"
	"github.com/accord-events/accord/internal/protocol/snowplow"
	"github.com/accord-events/accord/internal/protocol/webhook"
)

// protocols are the protocol types Accord ships, as cmd/accord registers
// them: the tests read the protocols section the way users write it.
func protocols() *protocol.Types {
	return protocol.NewTypes(selfdesc.Type(), cloudevents.Type(), snowplow.Type(), segment.Type(), webhook.Type(), pixel.Type())
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "accord.yml")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadDefaultsWithoutFile(t *testing.T) {
	t.Chdir(t.TempDir())
	cfg, err := Load("", nil, protocols())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Addr != ":8080" || cfg.Contracts.Dir != "contracts" {
		t.Errorf("defaults: addr %q, contracts %q", cfg.Server.Addr, cfg.Contracts.Dir)
	}
	if len(cfg.Sinks) != 1 || cfg.Sinks[0].Type != "sqlite" || cfg.Sinks[0].Options["path"] != "accord-data/accord.db" {
		t.Errorf("default sinks: %+v", cfg.Sinks)
	}
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		env     []string
		check   func(t *testing.T, cfg Config)
		wantErr []string
	}{
		{
			name: "file overrides defaults and keeps the rest",
			file: "server:\n  addr: 127.0.0.1:9000\n",
			check: func(t *testing.T, cfg Config) {
				if cfg.Server.Addr != "127.0.0.1:9000" || cfg.Server.MaxBodyBytes != 1<<20 {
					t.Errorf("got addr %q max %d", cfg.Server.Addr, cfg.Server.MaxBodyBytes)
				}
			},
		},
		{
			name: "empty file is all defaults",
			file: "",
			check: func(t *testing.T, cfg Config) {
				if cfg.Server.Addr != ":8080" || cfg.Contracts.Lint.RequireDescriptions != "warning" {
					t.Errorf("addr %q, require_descriptions %q", cfg.Server.Addr, cfg.Contracts.Lint.RequireDescriptions)
				}
			},
		},
		{
			name: "environment overrides file",
			file: "server:\n  addr: 127.0.0.1:9000\n",
			env:  []string{"ACCORD_SERVER_ADDR=127.0.0.1:9100", "ACCORD_SERVER_SHUTDOWN_TIMEOUT=3s", "ACCORD_SERVER_TRUST_FORWARDED=true", "ACCORD_SINKS_0_OPTIONS_PATH=/tmp/x.db", "ACCORD_CONFIG=ignored", "PATH=/bin"},
			check: func(t *testing.T, cfg Config) {
				if cfg.Server.Addr != "127.0.0.1:9100" || cfg.Server.ShutdownTimeout != 3*time.Second || !cfg.Server.TrustForwarded {
					t.Errorf("got %+v", cfg.Server)
				}
				if cfg.Sinks[0].Options["path"] != "/tmp/x.db" {
					t.Errorf("sink options %+v", cfg.Sinks[0].Options)
				}
			},
		},
		{
			name: "list from the environment, and an invalid origin named",
			env:  []string{"ACCORD_SERVER_CORS_ORIGINS=https://a.example, https://b.example:8443"},
			check: func(t *testing.T, cfg Config) {
				if len(cfg.Server.CORSOrigins) != 2 || cfg.Server.CORSOrigins[1] != "https://b.example:8443" {
					t.Errorf("cors origins %q", cfg.Server.CORSOrigins)
				}
			},
		},
		{
			name:    "origin with a path",
			file:    "server:\n  cors_origins: [\"https://a.example/\", shop.example]\n",
			wantErr: []string{"server.cors_origins[0]", "server.cors_origins[1]", "such as https://shop.example"},
		},
		{
			name: "environment adds a sink",
			env:  []string{"ACCORD_SINKS_1_NAME=out", "ACCORD_SINKS_1_TYPE=stdout", "ACCORD_SINKS_1_OPTIONS_FAILED_TO_STDERR=true"},
			check: func(t *testing.T, cfg Config) {
				if len(cfg.Sinks) != 2 || cfg.Sinks[1].Name != "out" || cfg.Sinks[1].Records != "all" || cfg.Sinks[1].Options["failed_to_stderr"] != true {
					t.Errorf("sinks %+v", cfg.Sinks)
				}
			},
		},
		{
			name:    "bodies in flight below the largest body",
			file:    "server:\n  max_body_bytes: 2097152\n  max_bytes_in_flight: 1048576\n",
			wantErr: []string{"server.max_bytes_in_flight: 1048576 is less than max_body_bytes (2097152)", "at least max_body_bytes"},
		},
		{
			name: "bodies in flight from the environment",
			env:  []string{"ACCORD_SERVER_MAX_BYTES_IN_FLIGHT=67108864"},
			check: func(t *testing.T, cfg Config) {
				if cfg.Server.MaxBytesInFlight != 64<<20 {
					t.Errorf("max_bytes_in_flight %d", cfg.Server.MaxBytesInFlight)
				}
			},
		},
		{
			name:    "memory headroom out of range",
			file:    "server:\n  memory_headroom: 1000\n",
			wantErr: []string{"server.memory_headroom: 1000 is out of range", "the default is 0"},
		},
		{
			name: "memory headroom from the environment",
			env:  []string{"ACCORD_SERVER_MEMORY_HEADROOM=33554432"},
			check: func(t *testing.T, cfg Config) {
				if cfg.Server.MemoryHeadroom != 32<<20 {
					t.Errorf("memory_headroom %d", cfg.Server.MemoryHeadroom)
				}
			},
		},
		{
			name: "memory headroom is off by default",
			check: func(t *testing.T, cfg Config) {
				if cfg.Server.MemoryHeadroom != 0 {
					t.Errorf("memory_headroom %d, want 0", cfg.Server.MemoryHeadroom)
				}
			},
		},
		{
			name:    "unknown key names the key",
			file:    "server:\n  adr: :80\n",
			wantErr: []string{"line 2: server.adr: unknown key; did you mean server.addr?"},
		},
		{
			name:    "unknown variable is an error",
			env:     []string{"ACCORD_SERVER_ADRR=:80"},
			wantErr: []string{"ACCORD_SERVER_ADRR: no configuration key"},
		},
		{
			name:    "bad variable value names variable and fix",
			env:     []string{"ACCORD_SERVER_READ_TIMEOUT=soon"},
			wantErr: []string{`ACCORD_SERVER_READ_TIMEOUT="soon"`, "such as 10s"},
		},
		{
			name:    "every invalid key is reported at once",
			file:    "server:\n  addr: nope\n  max_body_bytes: 10\nlog:\n  level: loud\n  format: xml\nsinks:\n  - {name: a, type: sqlite, records: some}\n  - {name: a, type: ''}\n",
			wantErr: []string{"server.addr", "server.max_body_bytes: 10 is too small", "log.level", "log.format", "sinks[0].records", "sinks[1].name", "sinks[1].type"},
		},
		{
			name:    "a dead-letter retention without its unit is refused",
			file:    "spool:\n  dead_letter_retention: 720ns\n",
			wantErr: []string{"spool.dead_letter_retention: 720ns is shorter than 1m0s", "such as 720h"},
		},
		{
			name:    "imported vendors are vendors",
			file:    "contracts:\n  lint:\n    imported_vendors: [com.snowplowanalytics.snowplow, ../etc, 'a/b']\n",
			wantErr: []string{"contracts.lint.imported_vendors[1]", "contracts.lint.imported_vendors[2]"},
		},
		{
			name:    "shutdown and acknowledgement waits are bounded",
			file:    "server:\n  lame_duck: -1s\n  write_timeout: 5s\nspool:\n  ack: sinks\n  ack_timeout: 5s\n  enabled: false\n",
			wantErr: []string{"server.lame_duck: -1s must not be negative", "spool.ack_timeout: 5s is not shorter than server.write_timeout (5s)", "spool.enabled: false is no longer supported"},
		},
		{
			name: "protocol options from the file, the rest at their defaults",
			file: "protocols:\n  snowplow:\n    cookie:\n      name: sp_acme\n  segment:\n    sources:\n      - {name: web, write_key: k1}\n  webhooks:\n    - {name: github, arbitrary: true}\n  pixel:\n    enabled: false\n",
			check: func(t *testing.T, cfg Config) {
				sp := cfg.Protocols.Options("snowplow").(*snowplow.Options)
				if sp.Cookie.Name != "sp_acme" || sp.Cookie.Path != "/" || !sp.Enabled {
					t.Errorf("snowplow %+v", sp)
				}
				sg := cfg.Protocols.Options("segment").(*segment.Options)
				if len(sg.Sources) != 1 || sg.Sources[0].WriteKey != "k1" || sg.DedupWindow != 24*time.Hour {
					t.Errorf("segment %+v", sg)
				}
				if hooks := *cfg.Protocols.Options("webhook").(*webhook.Sources); len(hooks) != 1 || hooks[0].Name != "github" {
					t.Errorf("webhooks %+v", hooks)
				}
				if cfg.Protocols.Options("pixel").(*pixel.Options).Enabled {
					t.Error("pixel still enabled")
				}
				if !cfg.Protocols.Options("selfdesc").(*selfdesc.Options).Enabled {
					t.Error("selfdesc turned off by a file that does not name it")
				}
			},
		},
		{
			name: "protocol options from the environment, under the keys users have",
			file: "protocols:\n  snowplow: ~\n",
			env: []string{"ACCORD_PROTOCOLS_SNOWPLOW_COOKIE_SAME_SITE=lax", "ACCORD_PROTOCOLS_SEGMENT_SOURCES_0_NAME=web", "ACCORD_PROTOCOLS_SEGMENT_SOURCES_0_WRITE_KEY=k1",
				"ACCORD_PROTOCOLS_SEGMENT_MAX_EVENT_BYTES=1000", "ACCORD_PROTOCOLS_WEBHOOKS_0_NAME=stripe", "ACCORD_PROTOCOLS_WEBHOOKS_0_ARBITRARY=true",
				"ACCORD_PROTOCOLS_WEBHOOKS_0_SIGNATURE_KIND=stripe", "ACCORD_PROTOCOLS_WEBHOOKS_0_SIGNATURE_SECRET=whsec_x", "ACCORD_PROTOCOLS_CLOUDEVENTS_ENABLED=false"},
			check: func(t *testing.T, cfg Config) {
				sp := cfg.Protocols.Options("snowplow").(*snowplow.Options)
				if sp.Cookie.SameSite != "lax" || sp.Cookie.Name != "sp" {
					t.Errorf("snowplow cookie %+v", sp.Cookie)
				}
				sg := cfg.Protocols.Options("segment").(*segment.Options)
				if len(sg.Sources) != 1 || sg.Sources[0].WriteKey != "k1" || sg.Limits.Event != 1000 {
					t.Errorf("segment %+v", sg)
				}
				if hooks := *cfg.Protocols.Options("webhook").(*webhook.Sources); len(hooks) != 1 || hooks[0].Signature.Secret != "whsec_x" {
					t.Errorf("webhooks %+v", hooks)
				}
				if cfg.Protocols.Options("cloudevents").(*cloudevents.Options).Enabled {
					t.Error("cloudevents still enabled")
				}
			},
		},
		{
			name:    "unknown protocol key names the key and its line",
			file:    "server:\n  addr: :8080\nprotocols:\n  snowplow:\n    cookie:\n      nmae: x\n",
			wantErr: []string{"line 6: protocols.snowplow.cookie.nmae: unknown key; did you mean protocols.snowplow.cookie.name?"},
		},
		{
			name:    "unknown protocol",
			file:    "protocols:\n  amplitude:\n    enabled: true\n",
			wantErr: []string{"protocols.amplitude: unknown key; the keys here are cloudevents, pixel"},
		},
		{
			name:    "unknown protocol variable",
			env:     []string{"ACCORD_PROTOCOLS_SNOWPLOW_COOKIE_NMAE=x"},
			wantErr: []string{"ACCORD_PROTOCOLS_SNOWPLOW_COOKIE_NMAE: no configuration key"},
		},
		{
			name: "every invalid protocol key is named in full",
			file: "protocols:\n  snowplow:\n    cookie:\n      same_site: loose\n  segment:\n    sources:\n      - {name: web}\n  webhooks:\n    - {name: gh, arbitrary: true}\n    - {name: gh, schema: nope}\n  pixel:\n    redirect_allow: [\"https://x/\"]\n",
			wantErr: []string{"protocols.snowplow.cookie.same_site", "protocols.segment.sources[0].write_key", "protocols.webhooks[1].schema", "protocols.webhooks[1].name: \"gh\" is also the name of the source at [0]",
				"protocols.pixel.redirect_allow[0]"},
		},
		{
			name: "lint description severity from the file",
			file: "contracts:\n  lint:\n    require_descriptions: error\n",
			check: func(t *testing.T, cfg Config) {
				if got := cfg.Contracts.Lint.RequireDescriptions; got != "error" {
					t.Errorf("require_descriptions %q, want error", got)
				}
			},
		},
		{
			name: "lint description severity from the environment",
			env:  []string{"ACCORD_CONTRACTS_LINT_REQUIRE_DESCRIPTIONS=off"},
			check: func(t *testing.T, cfg Config) {
				if got := cfg.Contracts.Lint.RequireDescriptions; got != "off" {
					t.Errorf("require_descriptions %q, want off", got)
				}
			},
		},
		{
			name: "the contract tools' API keys are not configuration keys",
			env:  []string{"ACCORD_REGISTRY_KEY=k1", "ACCORD_IGLU_API_KEY=k2", "ACCORD_CONFIG="},
			check: func(t *testing.T, cfg Config) {
				if cfg.Server.Addr != ":8080" {
					t.Errorf("addr %q", cfg.Server.Addr)
				}
			},
		},
		{
			name:    "bad lint description severity names the key",
			file:    "contracts:\n  lint:\n    require_descriptions: loud\n",
			wantErr: []string{`contracts.lint.require_descriptions: "loud" is not a severity; use error, warning or off`},
		},
		{
			name: "unknown contexts fail by default",
			check: func(t *testing.T, cfg Config) {
				if got := cfg.Contracts.UnknownContexts; got != pipeline.FailUnknownContexts {
					t.Errorf("unknown_contexts %q, want fail", got)
				}
			},
		},
		{
			name: "unknown contexts kept, from the file",
			file: "contracts:\n  unknown_contexts: keep\n",
			check: func(t *testing.T, cfg Config) {
				if got := cfg.Contracts.UnknownContexts; got != pipeline.KeepUnknownContexts {
					t.Errorf("unknown_contexts %q, want keep", got)
				}
			},
		},
		{
			name: "unknown contexts kept, from the environment",
			env:  []string{"ACCORD_CONTRACTS_UNKNOWN_CONTEXTS=keep"},
			check: func(t *testing.T, cfg Config) {
				if got := cfg.Contracts.UnknownContexts; got != pipeline.KeepUnknownContexts {
					t.Errorf("unknown_contexts %q, want keep", got)
				}
			},
		},
		{
			name:    "bad unknown contexts policy names the key",
			file:    "contracts:\n  unknown_contexts: ignore\n",
			wantErr: []string{`contracts.unknown_contexts: "ignore" is not a policy; use fail (the default) or keep`},
		},
		{
			name:    "empty unknown contexts policy names the key",
			env:     []string{"ACCORD_CONTRACTS_UNKNOWN_CONTEXTS="},
			wantErr: []string{`contracts.unknown_contexts: "" is not a policy`},
		},
		{
			name:    "no sinks",
			file:    "sinks: []\n",
			wantErr: []string{"sinks: no sinks are configured"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, tc.file)
			cfg, err := Load(path, tc.env, protocols())
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("want error containing %q, got none", tc.wantErr)
				}
				for _, want := range tc.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not contain %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, cfg)
		})
	}
}

func TestLoadMissingExplicitFile(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "nope.yml"), nil, protocols()); err == nil {
		t.Fatal("want an error for a config file that does not exist")
	}
}

type exampleOptions struct {
	Path  string        `yaml:"path" doc:"Where."`
	Every time.Duration `yaml:"every" doc:"How often."`
	Sync  bool          `yaml:"sync" doc:"Whether."`
}

// The template accord init writes must load back as exactly the defaults,
// holding every key.
func TestTemplateLoadsAsDefaults(t *testing.T) {
	types := []SinkType{
		{Name: "sqlite", Doc: "SQLite.", Options: &exampleOptions{Path: "accord-data/accord.db", Every: time.Second}},
		{Name: "file", Doc: "Files.", Options: &exampleOptions{Path: "x"}},
	}
	tpl := Template(types, protocols())
	cfg, err := Load(writeFile(t, tpl), nil, protocols())
	if err != nil {
		t.Fatalf("template does not load: %v\n%s", err, tpl)
	}
	want := Default(protocols())
	want.Sinks[0].Options = map[string]any{"path": "accord-data/accord.db", "every": "1s", "sync": false}
	got, _ := yaml.Marshal(cfg)
	wantYAML, _ := yaml.Marshal(want)
	if string(got) != string(wantYAML) {
		t.Errorf("template loads as\n%s\nwant\n%s", got, wantYAML)
	}
	for _, f := range Fields(Default(protocols()), "", "") {
		if strings.Contains(f.Key, "[i]") {
			continue // list entries' keys are documented in the reference; the template writes the list empty
		}
		leaf := f.Key[strings.LastIndex(f.Key, ".")+1:]
		if !strings.Contains(tpl, leaf+":") {
			t.Errorf("template lacks key %s", f.Key)
		}
	}
	if !strings.Contains(tpl, "  # - # ") || !strings.Contains(tpl, "  #   type: file") {
		t.Errorf("template lacks the commented file sink example:\n%s", tpl)
	}
}
