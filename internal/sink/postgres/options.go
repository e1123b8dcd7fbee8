package postgres

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accord-events/accord/internal/redact"
	"github.com/accord-events/accord/internal/sink/tables"

	"github.com/accord-events/accord/internal/sink/retention"
)

// Table modes: what the sink does with a typed table that is missing or
// out of date.
const (
	// TablesAuto runs the migration plan itself, at Connect and whenever
	// the contracts change.
	TablesAuto = "auto"
	// TablesPlanOnly writes only to typed tables that are up to date, and
	// fails (retrying) a write that needs DDL, naming `accord tables
	// apply`, for teams that review DDL before it runs.
	TablesPlanOnly = "plan-only"
	// TablesOff writes the raw table only.
	TablesOff = "off"
)

// Options configures a postgres sink.
type Options struct {
	DSN                 string                   `yaml:"dsn" doc:"PostgreSQL connection string (postgres://user:password@host:5432/db?sslmode=require, or key=value form). Printed with its password removed."`
	Schema              string                   `yaml:"schema" doc:"Schema (namespace) the sink's tables live in; created when missing."`
	RawTable            string                   `yaml:"raw_table" doc:"Table of every record, good and failed: envelope columns, event data and contexts as json, failure detail for failed records."`
	Tables              string                   `yaml:"tables" doc:"Typed tables, one per contract MODEL: auto (create and migrate them at start and when contracts change), plan-only (write only to up-to-date tables; run accord tables apply to migrate) or off (raw table only)."`
	FlattenDepth        int                      `yaml:"flatten_depth" doc:"Levels of nested objects that become columns of their own in typed tables (address.city is address_city at 2); deeper objects are one jsonb column."`
	MaxColumns          int                      `yaml:"max_columns" doc:"Most columns a typed table gets from its contract and contexts; the rest stay in the raw table."`
	RetentionByContract map[string]time.Duration `yaml:"retention_by_contract" doc:"How long the records of some contracts are kept instead of retention: a map from a contract key prefix (iglu:com.acme/ or iglu:com.acme/checkout/jsonschema/1-) to a duration, the longest prefix a record's schema starts with winning; 0 keeps them forever."`
	Retention           time.Duration            `yaml:"retention" doc:"How long records are kept, counted from collected_at, such as 720h for 30 days: older rows are deleted from the raw table in the background, 5,000 per transaction, each with its row in the typed table; 0 keeps them forever."`
	LockTimeout         time.Duration            `yaml:"lock_timeout" doc:"How long a write waits for a table lock another session holds (a long ALTER TABLE run by hand) before it fails and is retried."`
}

// NewOptions returns the default options.
func NewOptions() *Options {
	m := tables.DefaultOptions()
	return &Options{
		DSN:          "postgres://postgres@127.0.0.1:5432/accord?sslmode=disable",
		Schema:       "public",
		RawTable:     "accord_events",
		Tables:       TablesAuto,
		FlattenDepth: m.FlattenDepth,
		MaxColumns:   m.MaxColumns,
		LockTimeout:  10 * time.Second,
	}
}

// identifier is what a schema or table name may be: it names tables in
// DDL and in queries users write, so it is kept to names that need no
// quoting.
var identifier = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Validate reports every problem with the options, each naming its key and
// the fix.
func (o *Options) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if o.DSN == "" {
		bad("dsn", "must not be empty; set it to the database to write, such as postgres://accord@db:5432/events")
	} else if _, err := pgx.ParseConfig(o.DSN); err != nil {
		bad("dsn", "is not a PostgreSQL connection string (%s); use the form postgres://user@host:5432/db", redact.Error(err))
	}
	for _, t := range []struct{ key, name, example string }{
		{"schema", o.Schema, "public"},
		{"raw_table", o.RawTable, "accord_events"},
	} {
		if !identifier.MatchString(t.name) {
			bad(t.key, "%q is not a lower-case identifier of at most 63 bytes; use letters, digits and _, such as %s", t.name, t.example)
		}
	}
	if o.RawTable == migrationsTable {
		bad("raw_table", "%s is the sink's own record of DDL; name the table something else", migrationsTable)
	}
	switch o.Tables {
	case TablesAuto, TablesPlanOnly, TablesOff:
	default:
		bad("tables", "%q is not one of auto, plan-only, off", o.Tables)
	}
	if o.FlattenDepth < 1 || o.FlattenDepth > 10 {
		bad("flatten_depth", "%d is out of range; use 1 (objects stay jsonb) to 10", o.FlattenDepth)
	}
	if o.MaxColumns < 50 || o.MaxColumns > 1500 {
		bad("max_columns", "%d is out of range; use 50 to 1500 (PostgreSQL allows 1600 columns a table)", o.MaxColumns)
	}
	if o.LockTimeout < 0 {
		bad("lock_timeout", "must not be negative; 0 waits for ever")
	}
	if err := retention.CheckPeriod(o.Retention); err != nil {
		bad("retention", "%v", err)
	}
	if err := retention.CheckByContract(o.RetentionByContract); err != nil {
		bad("retention_by_contract", "%v", err)
	}
	return errors.Join(errs...)
}

func (o *Options) model() tables.Options {
	return tables.Options{FlattenDepth: o.FlattenDepth, MaxColumns: o.MaxColumns}
}
