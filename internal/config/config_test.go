package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

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
	cfg, err := Load("", nil)
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
			name:    "unknown key names the key",
			file:    "server:\n  adr: :80\n",
			wantErr: []string{"field adr not found"},
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
			name:    "bad lint description severity names the key",
			file:    "contracts:\n  lint:\n    require_descriptions: loud\n",
			wantErr: []string{`contracts.lint.require_descriptions: "loud" is not a severity; use error, warning or off`},
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
			cfg, err := Load(path, tc.env)
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
	if _, err := Load(filepath.Join(t.TempDir(), "nope.yml"), nil); err == nil {
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
	tpl := Template(types)
	cfg, err := Load(writeFile(t, tpl), nil)
	if err != nil {
		t.Fatalf("template does not load: %v\n%s", err, tpl)
	}
	want := Default()
	want.Sinks[0].Options = map[string]any{"path": "accord-data/accord.db", "every": "1s", "sync": false}
	got, _ := yaml.Marshal(cfg)
	wantYAML, _ := yaml.Marshal(want)
	if string(got) != string(wantYAML) {
		t.Errorf("template loads as\n%s\nwant\n%s", got, wantYAML)
	}
	for _, f := range Fields(Default(), "", "") {
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
