package config

import (
	"strconv"
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/protocol"
)

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"addr", "addr", 0},
		{"adrr", "addr", 1},
		{"tiemout", "timeout", 1},
		{"", "abc", 3},
		{"cors_origin", "cors_origins", 1},
		{"kitten", "sitting", 3},
	}
	for _, tc := range tests {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d; want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestUnknownKeysNameThePathAndTheNearestKey(t *testing.T) {
	tests := []struct {
		name, file, want string
	}{
		{"typo", "server:\n  adrr: x\n", "line 2: server.adrr: unknown key; did you mean server.addr?"},
		{"inline key", "spool:\n  max_byte: 1\n", "spool.max_byte: unknown key; did you mean spool.max_bytes?"},
		{"list entry", "sinks:\n  - {name: a, typ: file}\n", "line 2: sinks[0].typ: unknown key; did you mean sinks[0].type?"},
		{"top level", "serverr: {}\n", "line 1: serverr: unknown key; did you mean server?"},
		{"far from any", "log:\n  zzzzzzzz: 1\n", "log.zzzzzzzz: unknown key; the keys here are format, level"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Default(protocol.NewTypes())
			err := decodeStrict([]byte(tc.file), decodeTarget(&cfg), "", true)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v; want %q", err, tc.want)
			}
		})
	}
	// Free-form maps (a sink's options) are their type's to check.
	cfg := Default(protocol.NewTypes())
	if err := decodeStrict([]byte("sinks:\n  - {name: a, type: file, options: {anything: 1}}\n"), decodeTarget(&cfg), "", true); err != nil {
		t.Errorf("a sink's options were checked as keys: %v", err)
	}
}

// A file of many unknown keys gets a bounded answer.
func TestUnknownKeysAreBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("server:\n")
	for i := 0; i < 10000; i++ {
		b.WriteString("  k" + strings.Repeat("x", i%50) + string(rune('a'+i%26)) + "_" + strconv.Itoa(i) + ": 1\n")
	}
	cfg := Default(protocol.NewTypes())
	err := decodeStrict([]byte(b.String()), decodeTarget(&cfg), "", true)
	if err == nil {
		t.Fatal("no error")
	}
	if n := strings.Count(err.Error(), "\n") + 1; n > maxKeyErrors+1 {
		t.Errorf("%d lines of errors; want at most %d", n, maxKeyErrors+1)
	}
	if !strings.Contains(err.Error(), "more unknown keys") {
		t.Errorf("the answer does not say more keys were unknown: %v", err)
	}
}

func TestWholeListsFromTheEnvironment(t *testing.T) {
	cfg := Default(protocol.NewTypes())
	err := ApplyEnv(EnvPrefix, &cfg, []string{
		"ACCORD_CONTRACTS_BACKENDS=[{type: iglu, url: http://r.example}, {type: postgres, dsn: postgres://db/x}]",
		"ACCORD_CONTRACTS_BACKENDS_1_TABLE=schemas",
		"ACCORD_SERVER_CORS_ORIGINS=[https://a.example, 'https://b.example']",
		"ACCORD_CONTRACTS_API_KEYS=k1,k2",
		"ACCORD_SINKS=[{name: a, type: file}]",
		"ACCORD_SINKS_0_OPTIONS={good_path: g.ndjson}",
		"ACCORD_SINKS_0_OPTIONS_FSYNC=true",
	})
	if err != nil {
		t.Fatal(err)
	}
	if b := cfg.Contracts.Backends; len(b) != 2 || b[0].URL != "http://r.example" || b[1].DSN != "postgres://db/x" || b[1].Table != "schemas" {
		t.Errorf("backends: %+v", b)
	}
	if o := cfg.Server.CORSOrigins; len(o) != 2 || o[1] != "https://b.example" {
		t.Errorf("cors_origins: %q", o)
	}
	if k := cfg.Contracts.APIKeys; len(k) != 2 || k[1] != "k2" {
		t.Errorf("api_keys, comma-separated: %q", k)
	}
	if s := cfg.Sinks; len(s) != 1 || s[0].Name != "a" || s[0].Options["good_path"] != "g.ndjson" || s[0].Options["fsync"] != true {
		t.Errorf("sinks: %+v", s)
	}
	for _, bad := range []string{
		"ACCORD_CONTRACTS_BACKENDS={type: iglu}",
		"ACCORD_CONTRACTS_BACKENDS=[{type: iglu, uri: x}]",
		"ACCORD_SERVER_CORS_ORIGINS=[a, [b]]",
		"ACCORD_SINKS_0_OPTIONS=[1]",
	} {
		cfg := Default(protocol.NewTypes())
		name, _, _ := strings.Cut(bad, "=")
		if err := ApplyEnv(EnvPrefix, &cfg, []string{bad}); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: got %v; want an error naming the variable", bad, err)
		}
	}
}

// FuzzConfigFile feeds the decoder and the key walker arbitrary files: they
// must answer, never panic, and bound what they report.
func FuzzConfigFile(f *testing.F) {
	for _, seed := range []string{
		"server:\n  adrr: x\n",
		"sinks:\n  - {name: a, typ: file, options: {x: 1}}\n",
		"contracts: {backends: [{type: iglu, urll: x}, 3, [a]]}\n",
		"a: &x {b: 1}\nserver: *x\n",
		"<<: {server: {}}\n",
		"? [a, b]\n: c\n",
		"- 1\n- 2\n",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, file string) {
		cfg := Default(protocol.NewTypes())
		err := decodeStrict([]byte(file), decodeTarget(&cfg), "", true)
		if err != nil && strings.Count(err.Error(), "\n") > maxKeyErrors+50 {
			t.Errorf("%d lines of errors", strings.Count(err.Error(), "\n"))
		}
	})
}

// The ACCORD_ variables that are not keys are not refused: the file's name,
// contract publish's key, and the variables that keys name as holding
// secrets. A misspelt key still is.
func TestVariablesThatAreNotKeys(t *testing.T) {
	cfg := Default(protocol.NewTypes())
	err := ApplyEnv(EnvPrefix, &cfg, []string{
		"ACCORD_CONFIG=a.yml",
		"ACCORD_REGISTRY_KEY=k",
		"ACCORD_PRIVACY_SALT_ENV=ACCORD_MY_SALT",
		"ACCORD_MY_SALT=0123456789abcdef",
	})
	if err != nil {
		t.Fatal(err)
	}
	err = ApplyEnv(EnvPrefix, &cfg, []string{"ACCORD_PRIVACY_SALT_ENV=ACCORD_MY_SALT", "ACCORD_MY_SLAT=x"})
	if err == nil || !strings.Contains(err.Error(), "ACCORD_MY_SLAT: no configuration key") {
		t.Errorf("a variable no key names: %v", err)
	}
}
