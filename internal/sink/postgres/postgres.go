// Package postgres is the PostgreSQL sink: every record in a raw table
// (envelope columns, event data and contexts as json, failure detail for
// failed records), and each good record also in the typed table of its
// contract MODEL, derived from the contract (internal/sink/tables) and
// migrated as contracts evolve.
//
// A batch is copied (COPY) into a temporary staging table, then inserted
// from there into the raw table and each typed table with ON CONFLICT
// (event_id) DO NOTHING, all in one transaction: a batch delivered twice is
// stored once. The typed columns are computed by PostgreSQL from the
// staged event data, so a value a column cannot hold fails with the
// database's own error; that error is permanent, and delivery halves the
// batch until the record is alone and sends it to the dead letter.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/redact"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/columns"
	"github.com/accord-events/accord/internal/sink/retention"
	"github.com/accord-events/accord/internal/sink/tables"
)

// Type returns the postgres sink type.
func Type() sink.Type {
	return sink.Type{
		Name: "postgres",
		Doc:  "Stores every record in a raw PostgreSQL table and each good one in a typed table per contract, created and migrated from the contracts.",
		NewOptions: func() sink.Options {
			return NewOptions()
		},
		New: func(opts sink.Options, deps sink.Deps) (sink.Sink, error) {
			o, ok := opts.(*Options)
			if !ok {
				return nil, fmt.Errorf("new postgres sink: options are %T, not *postgres.Options", opts)
			}
			return New(*o, deps)
		},
		ReadFailed: func(ctx context.Context, opts sink.Options, q sink.FailedQuery, fn func(*event.Envelope) error) error {
			o, ok := opts.(*Options)
			if !ok {
				return fmt.Errorf("read postgres sink: options are %T, not *postgres.Options", opts)
			}
			return ReadFailed(ctx, *o, q, fn)
		},
		Subjects: func(opts sink.Options) (sink.SubjectStore, error) {
			o, ok := opts.(*Options)
			if !ok {
				return nil, fmt.Errorf("postgres subjects: options are %T, not *postgres.Options", opts)
			}
			return subjects{opts: *o}, nil
		},
	}
}

// Sink writes records to PostgreSQL. It is safe for concurrent use.
type Sink struct {
	opts      Options
	logger    *slog.Logger
	contracts sink.Contracts

	// mu is held shared by every Write and Connect and exclusively by
	// Close, which so waits for writes in flight.
	mu     sync.RWMutex
	pool   *pgxpool.Pool
	closed bool

	// typed knows the typed tables between batches; it plans inside mu.
	typed *tables.Tracker
	// stopWatch stops the goroutine that migrates the typed tables when
	// the contracts change (tables: auto, tables.Watch); nil when there
	// is none.
	stopWatch func()
	// retention removes rows past opts.Retention; nil when off. Close
	// reads it before taking mu, as a batch under way holds mu shared.
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
	s.typed = tables.NewTracker(deps.Contracts, logger.With("sink", "postgres"), typedInsert(opts.RawTable))
	return s, nil
}

// Connect opens the connection pool, and creates or migrates the sink's
// tables: its raw table and migrations table always, and with tables: auto
// the typed table of every contract the collector lists.
func (s *Sink) Connect(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("connect postgres sink: sink is closed")
	}
	if s.pool != nil {
		return nil
	}
	pool, err := openPool(ctx, s.opts)
	if err != nil {
		return err
	}
	var wants []tables.Want
	if s.opts.Tables == TablesAuto {
		wants = tables.Listed(s.contracts)
	}
	changed := s.changedChan()
	// Plan-only still creates the raw and migrations tables: they are
	// the sink's own, not derived from contracts.
	var resolve func(string) (*contract.Contract, error)
	if s.contracts != nil {
		resolve = s.contracts.Resolve
	}
	if _, err := migrate(ctx, pool, s.opts, wants, resolve, true); err != nil {
		pool.Close()
		return fmt.Errorf("connect postgres sink: %w", err)
	}
	s.pool = pool
	if s.opts.Tables == TablesAuto {
		s.stopWatch = tables.Watch(s.contracts, changed, func(ctx context.Context, wants []tables.Want) error {
			steps, err := migrate(ctx, pool, s.opts, wants, s.contracts.Resolve, true)
			s.logMigrated(steps)
			return err
		}, func(err error) {
			s.logger.Warn("postgres sink: migrate typed tables after a contract change; the next write tries again", "err", err)
		})
	}
	if (s.opts.Retention > 0 || len(s.opts.RetentionByContract) > 0) && s.retention.Load() == nil {
		loop, err := retention.New(retention.Config{Period: s.opts.Retention, ByContract: s.opts.RetentionByContract, Unit: "rows", Now: s.now, Logger: s.logger}, s)
		if err != nil {
			return err
		}
		s.retention.Store(loop)
		loop.Start()
	}
	return nil
}

func (s *Sink) logMigrated(steps []tables.Step) {
	for _, st := range steps {
		s.logger.Info("postgres sink: migrated", "table", st.Table, "contract", st.Contract, "version", st.Version, "statement", st.Statement)
	}
}

func (s *Sink) changedChan() <-chan struct{} {
	if s.contracts == nil {
		return nil
	}
	return s.contracts.Changed()
}

// openPool opens a pool whose sessions use the schema and lock timeout,
// and have the staging table.
func openPool(ctx context.Context, opts Options) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(opts.DSN)
	if err != nil {
		return nil, fmt.Errorf("connect postgres sink: %s", redact.Error(err))
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = opts.Schema
	cfg.ConnConfig.RuntimeParams["lock_timeout"] = strconv.FormatInt(opts.LockTimeout.Milliseconds(), 10)
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, stagingDDL())
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect postgres sink: %s", redact.Error(err))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect postgres sink to %s: %s", redact.String(opts.DSN), redact.Error(err))
	}
	return pool, nil
}

// migrate plans the schema against wants and, when apply, runs the plan,
// under the schema's advisory lock; it returns the plan.
func migrate(ctx context.Context, pool *pgxpool.Pool, opts Options, wants []tables.Want, resolve func(string) (*contract.Contract, error), run bool) ([]tables.Step, error) {
	tx, err := beginDDL(ctx, pool, opts.Schema)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	p := &planner{tx: tx, schema: opts.Schema, raw: opts.RawTable, model: opts.model(), resolve: resolve}
	m, err := p.plan(ctx, wants)
	if err != nil {
		return nil, err
	}
	if !run {
		return m.Steps, nil
	}
	if err := apply(ctx, tx, m.Steps); err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("commit migration: %w", err)
	}
	return m.Steps, nil
}

// PlanTables returns the DDL that would bring the sink's tables in the
// live database up to the contracts cs lists (the built-in ones excepted),
// read from its catalog; none when they are up to date. It changes
// nothing. cs also resolves the versions the tables were last migrated
// for, to give each step its reason.
func PlanTables(ctx context.Context, opts Options, cs Lister) ([]tables.Step, error) {
	return planTables(ctx, opts, cs, false)
}

// ApplyTables runs the DDL PlanTables returns, recording each statement
// in accord_migrations, and returns what it ran.
func ApplyTables(ctx context.Context, opts Options, cs Lister) ([]tables.Step, error) {
	return planTables(ctx, opts, cs, true)
}

// Lister lists and resolves contracts (registry.Resolver does).
type Lister interface {
	Contracts() []*contract.Contract
	Resolve(key string) (*contract.Contract, error)
}

func planTables(ctx context.Context, opts Options, cs Lister, run bool) ([]tables.Step, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	pool, err := openPool(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	var wants []tables.Want
	if opts.Tables != TablesOff {
		wants = tables.WantsOf(cs.Contracts())
	}
	return migrate(ctx, pool, opts, wants, cs.Resolve, run)
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
		return errors.New("write to postgres sink: sink is closed")
	}
	if s.pool == nil {
		return errors.New("write to postgres sink: not connected")
	}
	inserts, err := s.typedInserts(ctx, records)
	if err != nil {
		return err
	}
	if err := s.write(ctx, records, inserts); err != nil {
		return classify(err)
	}
	return nil
}

// typedInserts returns the INSERT statements of the typed tables records
// need, planning (and, with tables: auto, migrating) those not known yet.
func (s *Sink) typedInserts(ctx context.Context, records []*event.Envelope) ([]string, error) {
	if s.opts.Tables == TablesOff {
		return nil, nil
	}
	return s.typed.Inserts(ctx, records, s.plan)
}

// plan plans wants against the live catalog and, with tables: auto,
// applies the plan.
func (s *Sink) plan(ctx context.Context, wants []tables.Want) (*tables.Migration, error) {
	tx, err := beginDDL(ctx, s.pool, s.opts.Schema)
	if err != nil {
		return nil, fmt.Errorf("plan typed tables: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	p := &planner{tx: tx, schema: s.opts.Schema, raw: s.opts.RawTable, model: s.opts.model(), liveContexts: s.opts.Tables == TablesPlanOnly, resolve: s.contracts.Resolve}
	m, err := p.plan(ctx, wants)
	if err != nil {
		return nil, fmt.Errorf("plan typed tables: %w", err)
	}
	if len(m.Steps) > 0 {
		if s.opts.Tables == TablesPlanOnly {
			return nil, &OutOfDateError{Table: m.Steps[0].Table, Steps: m.Steps}
		}
		if err := apply(ctx, tx, m.Steps); err != nil {
			return nil, fmt.Errorf("migrate typed tables: %w", err)
		}
		if err := tx.Commit(ctx); err != nil {
			return nil, fmt.Errorf("commit migration: %w", err)
		}
		s.logMigrated(m.Steps)
	}
	return m, nil
}

// write copies records into the staging table and inserts them from there.
func (s *Sink) write(ctx context.Context, records []*event.Envelope, inserts []string) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("write to postgres sink: %w", err)
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("write to postgres sink: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	cols := rawColumns()
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{stagingTable}, names, &rowSource{records: records, cols: cols}); err != nil {
		return fmt.Errorf("write to postgres sink: copy: %w", err)
	}
	list := columnList(cols)
	if _, err := tx.Exec(ctx, "INSERT INTO "+quoteIdent(s.opts.RawTable)+" ("+list+") SELECT "+list+" FROM "+stagingTable+" ON CONFLICT (event_id) DO NOTHING"); err != nil {
		return fmt.Errorf("write to postgres sink: insert into %s: %w", s.opts.RawTable, err)
	}
	for _, q := range inserts {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("write to postgres sink: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("write to postgres sink: commit: %w", err)
	}
	return nil
}

// programLimitExceeded is SQLSTATE 54000: for a write, a value larger
// than an index entry may be.
const programLimitExceeded = "54000"

// classify marks an error PostgreSQL raised about the records themselves
// (a value a column cannot hold: data exceptions, class 22; a constraint
// the row breaks, class 23; a value too large for an index entry, 54000,
// such as an event_id of a few KB, which the client chose) permanent, so
// that delivery finds the record and dead-letters it. Everything else (the
// server down, a lock timeout, a plan-only table out of date) is transient.
func classify(err error) error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && (strings.HasPrefix(pg.Code, "22") || strings.HasPrefix(pg.Code, "23") || pg.Code == programLimitExceeded) {
		return &sink.PermanentError{Err: err}
	}
	return err
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
	if s.pool != nil {
		done := make(chan struct{})
		go func() { s.pool.Close(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			return fmt.Errorf("close postgres sink: %w", ctx.Err())
		}
		s.pool = nil
	}
	return nil
}

// rowSource feeds records to COPY, one row of raw columns each.
type rowSource struct {
	records []*event.Envelope
	cols    []columns.Column
	i       int
	values  []columns.Value
	row     []any
	buf     []byte
}

func (r *rowSource) Next() bool {
	r.i++
	return r.i <= len(r.records)
}

func (r *rowSource) Values() ([]any, error) {
	// pgx encodes a row before it asks for the next, so the row and the
	// buffer its JSON values were encoded into are reused; JSON is copied
	// into a string, which pgx sends as the json text it is.
	r.values, r.buf = columns.Append(r.values[:0], r.buf[:0], r.cols, r.records[r.i-1])
	r.row = r.row[:0]
	for i, v := range r.values {
		var val any
		switch {
		case v.Null:
		case r.cols[i].Type == columns.Bool:
			val = v.Bool
		case r.cols[i].Type == columns.Time:
			val = v.Time
		case r.cols[i].Type == columns.JSON:
			val = string(v.JSON)
		default:
			val = v.Text
		}
		r.row = append(r.row, val)
	}
	return r.row, nil
}

func (r *rowSource) Err() error { return nil }

var _ sink.Sink = (*Sink)(nil)
