package config

import (
	"strings"
	"testing"
	"time"
)

func TestValidateReloadInterval(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration
		wantErr  string
	}{
		{name: "default", interval: Default(protocols()).Contracts.ReloadInterval},
		{name: "off", interval: 0},
		{name: "shortest allowed", interval: 100 * time.Millisecond},
		{name: "too short", interval: 50 * time.Millisecond, wantErr: "contracts.reload_interval: 50ms is too short; use 0 to turn hot reload off, or at least 100ms"},
		{name: "negative", interval: -time.Second, wantErr: "contracts.reload_interval: -1s is too short"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Default(protocols())
			cfg.Contracts.ReloadInterval = tc.interval
			err := cfg.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Validate: %v, want no error", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("Validate: %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
	if d := Default(protocols()).Contracts.ReloadInterval; d != 2*time.Second {
		t.Errorf("default contracts.reload_interval is %s, want 2s", d)
	}
}

func TestLoadReloadIntervalFromEnv(t *testing.T) {
	cfg, err := Load("", []string{"ACCORD_CONTRACTS_RELOAD_INTERVAL=250ms"}, protocols())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Contracts.ReloadInterval != 250*time.Millisecond {
		t.Errorf("contracts.reload_interval from the environment is %s, want 250ms", cfg.Contracts.ReloadInterval)
	}
}
