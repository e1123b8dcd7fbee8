package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestContractsAPIKeys(t *testing.T) {
	if keys := Default(protocols()).Contracts.APIKeys; len(keys) != 0 {
		t.Errorf("default contracts.api_keys is %q, want none (writes refused)", keys)
	}
	tests := []struct {
		name    string
		file    string
		env     []string
		want    []string
		wantErr string
	}{
		{name: "from the environment", env: []string{"ACCORD_CONTRACTS_API_KEYS=k1, k2"}, want: []string{"k1", "k2"}},
		{name: "from the file", file: "contracts:\n  api_keys: [k1]\n", want: []string{"k1"}},
		{name: "environment over file", file: "contracts:\n  api_keys: [k1]\n", env: []string{"ACCORD_CONTRACTS_API_KEYS=k3"}, want: []string{"k3"}},
		{name: "empty key", file: "contracts:\n  api_keys: [k1, \"\"]\n", wantErr: "contracts.api_keys[1]: must be a non-empty key"},
		{name: "key with a space", file: "contracts:\n  api_keys: [\"k 1\"]\n", wantErr: "contracts.api_keys[0]: must be a non-empty key without spaces"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.file != "" {
				path = filepath.Join(t.TempDir(), "accord.yml")
				if err := os.WriteFile(path, []byte(tc.file), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cfg, err := Load(path, tc.env, protocols())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Load: %v, want an error containing %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "k1") {
					t.Errorf("the error shows a key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(cfg.Contracts.APIKeys, tc.want) {
				t.Errorf("contracts.api_keys = %q, want %q", cfg.Contracts.APIKeys, tc.want)
			}
		})
	}
}
