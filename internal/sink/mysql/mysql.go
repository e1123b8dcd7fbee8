// Package mysql is the MySQL and MariaDB sink: every record in a raw table
// (envelope columns, event data and contexts as JSON, failure detail for
// failed records), and each good record also in the typed table of its
// contract MODEL, derived from the contract (internal/sink/tables, the
// model the postgres sink uses) and migrated as contracts evolve.
//
// A batch is inserted into a temporary staging table, then from there into
// the raw table and each typed table, all in one transaction, keeping a
// row whose event_id is already there: a batch delivered twice is stored
// once. The typed columns are computed by the server from the staged event
// data in strict mode, so a value a column cannot hold fails with the
// server's own error; that error is permanent, and delivery halves the
// batch until the record is alone and sends it to the dead letter.
package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/redact"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/columns"
	"github.com/accord-events/accord/internal/sink/retention"
	"github.com/accord-events/accord/internal/sink/tables"
)

// Type returns the mysql sink type.
func Type() sink.Type {
	return sink.Type{
		Name: "mysql",
		Doc:  "Stores every record in a raw MySQL or MariaDB table and each good one in a typed table per contract, created and migrated from the contracts.",
		NewOptions: func() sink.Options {
			return NewOptions()
		},
		New: func(opts sink.Options, deps sink.Deps) (sink.Sink, error) {
			o, ok := opts.(*Options)
			if !ok {
				return nil, fmt.Errorf("new mysql sink: options are %T, not *mysql.Options", opts)
			}
			return New(*o, deps)
		},
		ReadFailed: func(ctx context.Context, opts sink.Options, q sink.FailedQuery, fn func(*event.Envelope) error) error {
			o, ok := opts.(*Options)
			if !ok {
				return fmt.Errorf("read mysql sink: options are %T, not *mysql.Options", opts)
			}
			return ReadFailed(ctx, *o, q, fn)
		},
		Subjects: func(opts sink.Options) (sink.SubjectStore, error) {
			o, ok := opts.(*Options)
			if !ok {
				return nil, fmt.Errorf("mysql subjects: options are %T, not *mysql.Options", opts)
			}
			return subjects{opts: *o}, nil
		},
	}
}

// Sink writes records to MySQL or MariaDB. It is safe for concurrent use.
type Sink struct {
	opts      Options
	logger    *slog.Logger
	contracts sink.Contracts

	// mu is held shared by every Write and exclusively by Connect and
	// Close, which so waits for writes in flight.
	mu     sync.RWMutex
	db     *sql.DB
	closed bool

	// typed knows the typed tables between batches.
	typed *tables.Tracker
	// stopWatch stops the goroutine that migrates the typed tables when
	// the contracts change (tables: auto, tables.Watch); nil when there
	// is none.
	stopWatch func()
	// retention removes rows past opts.Retention; nil when off. Close
	// stops it.
	retention atomic.Pointer[retention.Loop]
	now       func() time.Time
}

// New returns a sink for the options; it connects to nothing until Connect.
func New(opts Options, deps sink.Deps) (*Sink, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	logger := deps.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Sink{opts: opts, logger: logger, contracts: deps.Contracts, now: time.Now}
	s.typed = tables.NewTracker(deps.Contracts, logger.With("sink", "mysql"), typedInsert(opts.RawTable))
	return s, nil
}

// open opens a pool of strict, UTC sessions and checks the server answers.
func open(ctx context.Context, opts Options) (*sql.DB, string, error) {
	cfg, err := opts.config()
	if err != nil {
		return nil, "", err
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("connect mysql sink: %s", redact.Error(err))
	}
	db := sql.OpenDB(conn)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, "", fmt.Errorf("connect mysql sink to %s: %s", redactDSN(opts.DSN), redact.Error(err))
	}
	return db, cfg.DBName, nil
}

// redactDSN is dsn with its password replaced, for errors and logs.
func redactDSN(dsn string) string {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return "(a data source name that does not parse)"
	}
	if cfg.Passwd != "" {
		cfg.Passwd = "xxxxx"
	}
	return cfg.FormatDSN()
}

// Database is the database a DSN names, for messages; empty when it does
// not parse.
func Database(dsn string) string {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return ""
	}
	return cfg.DBName
}

// Connect opens the connection pool, and creates or migrates the sink's
// tables: its raw table and migrations table always, and with tables: auto
// the typed table of every contract the collector lists.
func (s *Sink) Connect(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("connect mysql sink: sink is closed")
	}
	if s.db != nil {
		return nil
	}
	db, _, err := open(ctx, s.opts)
	if err != nil {
		return err
	}
	var wants []tables.Want
	if s.opts.Tables == TablesAuto {
		wants = tables.Listed(s.contracts)
	}
	var resolve func(string) (*contract.Contract, error)
	var changed <-chan struct{}
	if s.contracts != nil {
		resolve, changed = s.contracts.Resolve, s.contracts.Changed()
	}
	steps, err := migrate(ctx, db, s.opts, wants, resolve, true)
	if err != nil {
		db.Close()
		return fmt.Errorf("connect mysql sink: %w", err)
	}
	s.logMigrated(steps)
	s.db = db
	if s.opts.Tables == TablesAuto && s.contracts != nil {
		s.stopWatch = tables.Watch(s.contracts, changed, func(ctx context.Context, wants []tables.Want) error {
			steps, err := migrate(ctx, db, s.opts, wants, resolve, true)
			s.logMigrated(steps)
			return err
		}, func(err error) {
			s.logger.Warn("mysql sink: migrate typed tables after a contract change; the next write tries again", "err", err)
		})
	}
	return s.startRetention()
}

func (s *Sink) logMigrated(steps []tables.Step) {
	for _, st := range steps {
		s.logger.Info("mysql sink: migrated", "table", st.Table, "contract", st.Contract, "version", st.Version, "statement", st.Statement)
	}
}

// migrate plans the database against wants and, when run, runs the plan,
// under the database's migration lock; it returns the plan.
func migrate(ctx context.Context, db *sql.DB, opts Options, wants []tables.Want, resolve func(string) (*contract.Contract, error), run bool) ([]tables.Step, error) {
	m, err := migrateLocked(ctx, db, opts, wants, resolve, false, func(*tables.Migration) error { return nil }, run)
	if err != nil {
		return nil, err
	}
	return m.Steps, nil
}

// migrateLocked takes the lock, plans, lets check refuse the plan, and
// applies it when run.
func migrateLocked(ctx context.Context, db *sql.DB, opts Options, wants []tables.Want, resolve func(string) (*contract.Contract, error), liveContexts bool, check func(*tables.Migration) error, run bool) (*tables.Migration, error) {
	cfg, err := opts.config()
	if err != nil {
		return nil, err
	}
	var m *tables.Migration
	err = withLock(ctx, db, cfg.DBName, int(opts.LockTimeout/time.Second), func(conn *sql.Conn) error {
		p := &planner{conn: conn, raw: opts.RawTable, model: opts.model(), liveContexts: liveContexts, resolve: resolve}
		var err error
		if m, err = p.plan(ctx, wants); err != nil {
			return err
		}
		if err := check(m); err != nil {
			return err
		}
		if !run {
			return nil
		}
		return apply(ctx, conn, m.Steps)
	})
	return m, err
}

// Lister lists and resolves contracts (registry.Resolver does).
type Lister interface {
	Contracts() []*contract.Contract
	Resolve(key string) (*contract.Contract, error)
}

// PlanTables returns the DDL that would bring the sink's tables in the
// live database up to the contracts cs lists (the built-in ones excepted),
// read from its catalog; none when they are up to date. It changes
// nothing.
func PlanTables(ctx context.Context, opts Options, cs Lister) ([]tables.Step, error) {
	return planTables(ctx, opts, cs, false)
}

// ApplyTables runs the DDL PlanTables returns, recording each statement
// in accord_migrations, and returns what it ran.
func ApplyTables(ctx context.Context, opts Options, cs Lister) ([]tables.Step, error) {
	return planTables(ctx, opts, cs, true)
}

func planTables(ctx context.Context, opts Options, cs Lister, run bool) ([]tables.Step, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	db, _, err := open(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var wants []tables.Want
	if opts.Tables != TablesOff {
		wants = tables.WantsOf(cs.Contracts())
	}
	return migrate(ctx, db, opts, wants, cs.Resolve, run)
}

// OutOfDateError is a write that needs a typed table migrated while the
// sink is plan-only (tables.OutOfDateError, shared by the database sinks).
type OutOfDateError = tables.OutOfDateError

// Write stores records in one transaction: all of them in the raw table,
// good ones also in their typed tables; either all of it is stored or none.
func (s *Sink) Write(ctx context.Context, records []*event.Envelope) error {
	if len(records) == 0 {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return errors.New("write to mysql sink: sink is closed")
	}
	if s.db == nil {
		return errors.New("write to mysql sink: not connected")
	}
	var inserts []string
	if s.opts.Tables != TablesOff {
		var err error
		if inserts, err = s.typed.Inserts(ctx, records, s.plan); err != nil {
			return err
		}
	}
	if err := s.write(ctx, records, inserts); err != nil {
		return classify(err)
	}
	return nil
}

// plan plans wants against the live catalog and, with tables: auto,
// applies the plan; plan-only refuses a plan with steps.
func (s *Sink) plan(ctx context.Context, wants []tables.Want) (*tables.Migration, error) {
	planOnly := s.opts.Tables == TablesPlanOnly
	m, err := migrateLocked(ctx, s.db, s.opts, wants, s.contracts.Resolve, planOnly, func(m *tables.Migration) error {
		if planOnly && len(m.Steps) > 0 {
			return &OutOfDateError{Table: m.Steps[0].Table, Steps: m.Steps}
		}
		return nil
	}, !planOnly)
	if err != nil {
		var ood *OutOfDateError
		if errors.As(err, &ood) {
			return nil, err
		}
		return nil, fmt.Errorf("migrate typed tables: %w", err)
	}
	s.logMigrated(m.Steps)
	return m, nil
}

// maxRowsPerInsert keeps one multi-row INSERT under the protocol's 65,535
// placeholders (25 columns a row).
const maxRowsPerInsert = 2000

// write stages records and inserts them from there.
func (s *Sink) write(ctx context.Context, records []*event.Envelope, inserts []string) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("write to mysql sink: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, stagingDDL()); err != nil {
		return fmt.Errorf("write to mysql sink: staging table: %w", err)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("write to mysql sink: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	// A batch that failed left nothing behind (rolled back), but a
	// connection reused after a failed COMMIT might: start empty.
	if _, err := tx.ExecContext(ctx, "DELETE FROM "+stagingTable); err != nil {
		return fmt.Errorf("write to mysql sink: staging table: %w", err)
	}
	cols := rawColumns()
	list := columnList(cols)
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	var values []columns.Value
	var buf []byte
	for start := 0; start < len(records); start += maxRowsPerInsert {
		chunk := records[start:min(start+maxRowsPerInsert, len(records))]
		var q strings.Builder
		q.WriteString("INSERT INTO " + stagingTable + " (" + list + ") VALUES ")
		args := make([]any, 0, len(chunk)*len(cols))
		for i, r := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString(row)
			values, buf = columns.Append(values[:0], buf[:0], cols, r)
			for j, v := range values {
				args = append(args, sqlValue(cols[j].Type, v))
			}
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("write to mysql sink: stage: %w", err)
		}
	}
	raw := quoteIdent(s.opts.RawTable)
	if _, err := tx.ExecContext(ctx, "INSERT INTO "+raw+" ("+list+") SELECT "+list+" FROM "+stagingTable+
		" ON DUPLICATE KEY UPDATE "+quoteIdent("event_id")+" = "+raw+"."+quoteIdent("event_id")); err != nil {
		return fmt.Errorf("write to mysql sink: insert into %s: %w", s.opts.RawTable, err)
	}
	for _, q := range inserts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("write to mysql sink: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM "+stagingTable); err != nil {
		return fmt.Errorf("write to mysql sink: staging table: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("write to mysql sink: commit: %w", err)
	}
	return nil
}

// sqlValue is a column value as the driver sends it. JSON is copied into a
// string: the buffer it points into is reused for the next row.
func sqlValue(t columns.Type, v columns.Value) any {
	switch {
	case v.Null:
		return nil
	case t == columns.Bool:
		return v.Bool
	case t == columns.Time:
		return v.Time.UTC()
	case t == columns.JSON:
		return string(v.JSON)
	}
	return v.Text
}

// classify marks an error the server raised about the records themselves
// (a value a column cannot hold: SQLSTATE class 22; a constraint the row
// breaks: class 23) permanent, so that delivery finds the record and
// dead-letters it. Everything else (the server down, a lock wait timeout,
// a plan-only table out of date) is transient. MySQL gives a few of the
// value errors other classes than MariaDB does, so those go by number
// (valueError).
func classify(err error) error {
	var my *mysql.MySQLError
	if errors.As(err, &my) {
		state := string(my.SQLState[:])
		if strings.HasPrefix(state, "22") || strings.HasPrefix(state, "23") || valueError(my.Number) {
			return &sink.PermanentError{Err: err}
		}
	}
	return err
}

// valueError reports whether n is an error about a value that MySQL
// raises outside classes 22 and 23: 1265 data truncated (01000), 1366
// incorrect value for a column and 1411 incorrect value for a function
// (HY000). MariaDB raises 1366 as 22007.
func valueError(n uint16) bool {
	switch n {
	case 1265, 1366, 1411:
		return true
	}
	return false
}

// Close waits for writes in flight and closes the pool. A Write after it
// fails.
func (s *Sink) Close(ctx context.Context) error {
	// Retention stops outside mu, which a batch under way holds shared;
	// again after, in case a Connect racing with Close started it.
	s.stopRetention()
	defer s.stopRetention()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.stopWatch != nil {
		// Before the pool closes: a migration under way is cancelled.
		s.stopWatch()
		s.stopWatch = nil
	}
	if s.db != nil {
		err := s.db.Close()
		s.db = nil
		if err != nil {
			return fmt.Errorf("close mysql sink: %w", err)
		}
	}
	return nil
}

var _ sink.Sink = (*Sink)(nil)
