package registry

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Backend types a BackendConfig can name.
const (
	TypePostgres = "postgres"
	TypeIglu     = "iglu"
)

// BackendConfig is one configured backend, as contracts.backends lists
// them.
type BackendConfig struct {
	Type    string        `yaml:"type" doc:"postgres (a table of schemas in PostgreSQL) or iglu (an Iglu repository over HTTP)."`
	DSN     string        `yaml:"dsn" doc:"For postgres: the connection string, such as postgres://accord@db:5432/accord; best set from the environment."`
	Table   string        `yaml:"table" doc:"For postgres: the table holding the schemas, created when missing."`
	URL     string        `yaml:"url" doc:"For iglu: the repository's base URL, such as http://iglucentral.com or https://iglu.example.com."`
	API     bool          `yaml:"api" doc:"For iglu: the repository is an iglu-server (schemas under /api/schemas); false for a static repository laid out as Iglu Central is (schemas under /schemas)."`
	APIKey  string        `yaml:"api_key" doc:"For iglu with api: the key sent in the apikey header, for private schemas."`
	Timeout time.Duration `yaml:"timeout" doc:"For iglu: how long one request may take; 0 means 10s."`
}

// DefaultTable is the PostgreSQL backend's table when none is configured.
const DefaultTable = "accord_schemas"

// Validate reports every problem, keys relative to the backend entry.
func (c BackendConfig) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	switch c.Type {
	case TypePostgres:
		if c.DSN == "" {
			bad("dsn", "must not be empty for a postgres backend; set it to a connection string such as postgres://accord@db:5432/accord")
		}
		if c.URL != "" || c.API || c.APIKey != "" {
			bad("url", "url, api and api_key are for iglu backends; remove them from this postgres backend")
		}
	case TypeIglu:
		u, err := url.Parse(c.URL)
		if c.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("url", "%q is not an http(s) URL; set it to the repository's base URL, such as http://iglucentral.com", c.URL)
		}
		if c.APIKey != "" && !c.API {
			bad("api_key", "is sent only to an iglu-server; set api: true, or remove the key")
		}
		if c.DSN != "" || c.Table != "" {
			bad("dsn", "dsn and table are for postgres backends; remove them from this iglu backend")
		}
		if c.Timeout < 0 {
			bad("timeout", "%s must not be negative; use 0 for the default of 10s", c.Timeout)
		}
	default:
		bad("type", "%q is not a backend type; use postgres or iglu", c.Type)
	}
	return errors.Join(errs...)
}

// Open connects the backend. A Backend that holds resources (the
// PostgreSQL pool) implements io.Closer.
func (c BackendConfig) Open(ctx context.Context) (Backend, error) {
	switch c.Type {
	case TypePostgres:
		table := c.Table
		if table == "" {
			table = DefaultTable
		}
		return OpenPostgres(ctx, c.DSN, table)
	case TypeIglu:
		return NewIglu(c.URL, IgluOptions{API: c.API, APIKey: c.APIKey, Timeout: c.Timeout})
	}
	return nil, fmt.Errorf("backend type %q is not one Accord knows", c.Type)
}
