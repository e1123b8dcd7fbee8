package sqlite

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/accord-events/accord/internal/sink/retention"
)

// Options configures a sqlite sink.
type Options struct {
	Path                string                   `yaml:"path" doc:"SQLite database file to write; its parent directories are created when missing."`
	GoodTable           string                   `yaml:"good_table" doc:"Table that holds good records; created when missing."`
	FailedTable         string                   `yaml:"failed_table" doc:"Table that holds failed records, with their failure and original input; created when missing."`
	BusyTimeout         time.Duration            `yaml:"busy_timeout" doc:"How long a write waits for another connection (such as a long query you run on the file) to release its lock before it fails and is retried."`
	Synchronous         string                   `yaml:"synchronous" doc:"SQLite's synchronous setting: normal (commits are not synced one by one; the WAL is synced before delivery moves the sink's spool cursor past them, at most every 100 ms, so a power loss delivers the last records again instead of losing them), full (syncs every commit, slower) or off (fastest, may lose records or corrupt the file on power loss)."`
	RetentionByContract map[string]time.Duration `yaml:"retention_by_contract" doc:"How long the records of some contracts are kept instead of retention: a map from a contract key prefix (iglu:com.acme/ or iglu:com.acme/checkout/jsonschema/1-) to a duration, the longest prefix a record's schema starts with winning; 0 keeps them forever."`
	Tables              string                   `yaml:"tables" doc:"Typed tables, one per contract MODEL beside the good table (see docs/sinks/sqlite.md): auto (create a contract's table before the first batch of its events, extend it when contracts change and before a batch that needs it), plan-only (write only to up-to-date tables; run accord tables apply to migrate) or off (good and failed tables only)."`
	Retention           time.Duration            `yaml:"retention" doc:"How long records are kept, counted from collected_at, such as 720h for 30 days: older rows are deleted in the background, 5,000 per transaction, and their pages reused or returned to the file system (see docs/operations.md); 0 keeps them forever."`
}

// Typed table modes.
const (
	// TablesAuto keeps a typed table per contract MODEL, created and
	// extended before the batch that needs it.
	TablesAuto = "auto"
	// TablesPlanOnly writes only to typed tables that are up to date, and
	// fails (transiently) a write that needs DDL: `accord tables apply`
	// runs it, for teams that review DDL before it runs.
	TablesPlanOnly = "plan-only"
	// TablesOff keeps the good and failed tables only.
	TablesOff = "off"
)

// NewOptions returns the default options.
func NewOptions() *Options {
	return &Options{
		Path:        "accord-data/accord.db",
		GoodTable:   "events",
		FailedTable: "failed_events",
		BusyTimeout: 5 * time.Second,
		Synchronous: "normal",
		Tables:      TablesAuto,
	}
}

// identifier is what a table name may be: it is written into SQL statements,
// so it is kept to names that need no quoting in any SQL tool.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate reports every problem with the options, each naming its key and
// the fix.
func (o *Options) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if o.Path == "" {
		bad("path", "must not be empty; set it to the SQLite file to write, such as accord-data/accord.db")
	} else if o.Path == ":memory:" || strings.HasPrefix(o.Path, "file:") {
		bad("path", "%q is not a file path; set it to the SQLite file to write, such as accord-data/accord.db", o.Path)
	}
	for _, t := range []struct{ key, name, example string }{
		{"good_table", o.GoodTable, "events"},
		{"failed_table", o.FailedTable, "failed_events"},
	} {
		switch {
		case t.name == "":
			bad(t.key, "must not be empty; name the table, such as %s", t.example)
		case !identifier.MatchString(t.name):
			bad(t.key, "%q is not a plain table name; use letters, digits and underscores, starting with a letter, such as %s", t.name, t.example)
		case strings.HasPrefix(strings.ToLower(t.name), "sqlite_"):
			bad(t.key, "%q starts with sqlite_, which SQLite reserves; choose another name, such as %s", t.name, t.example)
		}
	}
	if o.GoodTable != "" && strings.EqualFold(o.GoodTable, o.FailedTable) {
		bad("failed_table", "%q is also good_table; good and failed records need tables of their own, such as events and failed_events", o.FailedTable)
	}
	if o.BusyTimeout < time.Millisecond {
		bad("busy_timeout", "%s is too short; use at least 1ms, such as 5s", o.BusyTimeout)
	}
	if err := retention.CheckPeriod(o.Retention); err != nil {
		bad("retention", "%v", err)
	}
	if err := retention.CheckByContract(o.RetentionByContract); err != nil {
		bad("retention_by_contract", "%v", err)
	}
	switch o.Tables {
	case TablesAuto, TablesPlanOnly, TablesOff:
	default:
		bad("tables", "%q is not one of auto, plan-only, off", o.Tables)
	}
	if _, ok := synchronousPragma(o.Synchronous); !ok {
		bad("synchronous", "%q is not a mode; use normal, full or off", o.Synchronous)
	}
	return errors.Join(errs...)
}

// synchronousPragma returns SQLite's PRAGMA synchronous value for the
// synchronous option.
func synchronousPragma(mode string) (string, bool) {
	switch strings.ToLower(mode) {
	case "normal":
		return "NORMAL", true
	case "full":
		return "FULL", true
	case "off":
		return "OFF", true
	}
	return "", false
}

// retains reports whether retention removes anything: a period for all
// records or for some contracts'.
func (o *Options) retains() bool {
	for _, d := range o.RetentionByContract {
		if d > 0 {
			return true
		}
	}
	return o.Retention > 0
}
