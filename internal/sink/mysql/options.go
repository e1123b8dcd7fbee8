package mysql

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/accord-events/accord/internal/redact"
	"github.com/accord-events/accord/internal/sink/retention"
	"github.com/accord-events/accord/internal/sink/tables"
)

// Table modes: what the sink does with a typed table that is missing or
// out of date (the postgres sink's, the same words).
const (
	// TablesAuto runs the migration plan itself, at Connect and whenever
	// a batch needs a table or column it has not planned yet.
	TablesAuto = "auto"
	// TablesPlanOnly writes only to typed tables that are up to date, and
	// fails (retrying) a write that needs DDL, naming `accord tables
	// apply`.
	TablesPlanOnly = "plan-only"
	// TablesOff writes the raw table only.
	TablesOff = "off"
)

// Options configures a mysql sink.
type Options struct {
	DSN          string        `yaml:"dsn" doc:"MySQL or MariaDB data source name, as github.com/go-sql-driver/mysql reads it: user:password@tcp(host:3306)/database. The database must exist. Printed with its password removed."`
	RawTable     string        `yaml:"raw_table" doc:"Table of every record, good and failed: envelope columns, event data and contexts as JSON, failure detail for failed records."`
	Tables       string        `yaml:"tables" doc:"Typed tables, one per contract MODEL: auto (create and migrate them), plan-only (write only to up-to-date tables; run accord tables apply to migrate) or off (raw table only)."`
	FlattenDepth int           `yaml:"flatten_depth" doc:"Levels of nested objects that become columns of their own in typed tables (address.city is address_city at 2); deeper objects are one JSON column."`
	MaxColumns   int           `yaml:"max_columns" doc:"Most columns a typed table gets from its contract and contexts; the rest stay in the raw table."`
	LockTimeout  time.Duration `yaml:"lock_timeout" doc:"How long a write waits for a row or table lock another session holds, and DDL for another collector's migration, before it fails and is retried (whole seconds, at least 1s)."`
	Retention    time.Duration `yaml:"retention" doc:"How long records are kept, counted from collected_at, such as 720h for 30 days: older rows are deleted from the raw table in the background, 5,000 per transaction, each with its row in the typed table; 0 keeps them forever."`
	// RetentionByContract: as the postgres sink's.
	RetentionByContract map[string]time.Duration `yaml:"retention_by_contract" doc:"How long the records of some contracts are kept instead of retention: a map from a contract key prefix (iglu:com.acme/ or iglu:com.acme/checkout/jsonschema/1-) to a duration, the longest prefix a record's schema starts with winning; 0 keeps them forever."`
}

// SQLMode is the sql_mode of the sink's sessions. Its DDL quotes string
// literals for NO_BACKSLASH_ESCAPES (a doubled quote is the only escape), so
// a script of that DDL run elsewhere must set this mode first, or a comment
// holding a backslash could end its literal early.
const SQLMode = "STRICT_ALL_TABLES,NO_BACKSLASH_ESCAPES,NO_ENGINE_SUBSTITUTION,ERROR_FOR_DIVISION_BY_ZERO"

// NewOptions returns the default options.
func NewOptions() *Options {
	m := tables.DefaultOptions()
	return &Options{
		DSN:          "root@tcp(127.0.0.1:3306)/accord",
		RawTable:     "accord_events",
		Tables:       TablesAuto,
		FlattenDepth: m.FlattenDepth,
		MaxColumns:   m.MaxColumns,
		LockTimeout:  10 * time.Second,
	}
}

// identifier is what a table name may be: it names tables in DDL and in
// queries users write, so it is kept to names that need no quoting.
var identifier = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,63}$`)

// Validate reports every problem with the options, each naming its key and
// the fix.
func (o *Options) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if o.DSN == "" {
		bad("dsn", "must not be empty; set it to the database to write, such as accord:secret@tcp(db:3306)/events")
	} else if cfg, err := mysql.ParseDSN(o.DSN); err != nil {
		bad("dsn", "is not a MySQL data source name (%s); use the form user:password@tcp(host:3306)/database", redact.Error(err))
	} else if cfg.DBName == "" {
		bad("dsn", "names no database; end it in /database, such as root@tcp(127.0.0.1:3306)/accord")
	}
	if !identifier.MatchString(o.RawTable) {
		bad("raw_table", "%q is not a lower-case identifier of at most 64 bytes; use letters, digits and _, such as accord_events", o.RawTable)
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
		bad("flatten_depth", "%d is out of range; use 1 (objects stay JSON) to 10", o.FlattenDepth)
	}
	if o.MaxColumns < 50 || o.MaxColumns > 1000 {
		bad("max_columns", "%d is out of range; use 50 to 1000 (InnoDB allows 1017 columns a table)", o.MaxColumns)
	}
	if o.LockTimeout < time.Second {
		bad("lock_timeout", "%s is too short; MySQL counts lock waits in whole seconds, use 1s or more", o.LockTimeout)
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

// config is the driver's configuration for o.DSN, with what the sink's
// sessions rely on: strict mode (a value a column cannot hold is an error,
// never a warning and a mangled row), no backslash escapes (quoteLiteral),
// UTC, times read as time.Time, and the lock wait.
func (o *Options) config() (*mysql.Config, error) {
	cfg, err := mysql.ParseDSN(o.DSN)
	if err != nil {
		return nil, fmt.Errorf("mysql dsn: %s", redact.Error(err))
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.InterpolateParams = true
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["sql_mode"] = "'" + SQLMode + "'"
	cfg.Params["time_zone"] = "'+00:00'"
	cfg.Params["innodb_lock_wait_timeout"] = fmt.Sprint(int(o.LockTimeout / time.Second))
	cfg.Params["lock_wait_timeout"] = fmt.Sprint(int(o.LockTimeout / time.Second))
	return cfg, nil
}
