// Package sqlite is Accord's embedded default store: a sink that writes good
// and failed records into two tables of one SQLite database file, so that
// `accord serve` works with no database server at all.
//
// Each envelope's scalar fields are columns and its nested parts (payload,
// contexts, attributes, source, identity, collector, failure) are JSON text,
// which SQLite's JSON functions query directly:
//
//	SELECT json_extract(payload, '$.sku') FROM events WHERE schema = ?
//
// Writes are idempotent by event_id (INSERT ... ON CONFLICT DO NOTHING), so a
// batch delivered twice is stored once.
package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/columns"
	"github.com/accord-events/accord/internal/sink/retention"
	"github.com/accord-events/accord/internal/sink/tables"

	"modernc.org/sqlite"
)

// Type returns the sqlite sink type.
func Type() sink.Type {
	return sink.Type{
		Name: "sqlite",
		Doc:  "Stores good and failed records in two tables of an embedded SQLite database file, nested parts as JSON text for SQLite's JSON functions.",
		NewOptions: func() sink.Options {
			return NewOptions()
		},
		New: func(opts sink.Options, deps sink.Deps) (sink.Sink, error) {
			o, ok := opts.(*Options)
			if !ok {
				return nil, fmt.Errorf("new sqlite sink: options are %T, not *sqlite.Options", opts)
			}
			s, err := New(*o, deps.Logger)
			if err != nil {
				return nil, err
			}
			if deps.Contracts != nil {
				s.contracts = deps.Contracts
				s.typed = tables.NewTracker(deps.Contracts, s.logger.With("sink", "sqlite"), nil)
			}
			return s, nil
		},
		ReadFailed: func(ctx context.Context, opts sink.Options, q sink.FailedQuery, fn func(*event.Envelope) error) error {
			o, ok := opts.(*Options)
			if !ok {
				return fmt.Errorf("read sqlite sink: options are %T, not *sqlite.Options", opts)
			}
			return ReadFailed(ctx, *o, q, fn)
		},
		Subjects: func(opts sink.Options) (sink.SubjectStore, error) {
			o, ok := opts.(*Options)
			if !ok {
				return nil, fmt.Errorf("sqlite subjects: options are %T, not *sqlite.Options", opts)
			}
			return subjects{opts: *o}, nil
		},
	}
}

// rowsPerInsert is the most records one INSERT statement carries (a power
// of two). One multi-row statement per chunk costs fewer trips through the
// driver than one statement per record: on BenchmarkWrite100 it took about
// a fifth off the CPU per record with time-ordered event ids, and a few per
// cent with random ones, whose index writes dominate.
const rowsPerInsert = 32

// driverConn is what the sink needs of the driver's connection.
type driverConn interface {
	driver.Conn
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
}

// Sink writes records to a SQLite database. It is safe for concurrent use;
// writes are serialised, as SQLite has one writer at a time.
//
// It holds connections of its own rather than a database/sql pool (the
// pool's per-statement argument conversion was a third of the bytes a
// write allocated, and a single writer has no use for a pool): one that
// writes, on SQLite's own API (rawConn), and one that checkpoints,
// through modernc's driver.
type Sink struct {
	opts   Options
	logger *slog.Logger

	mu sync.Mutex // serialises writers and guards everything below
	// The checkpointer copies the WAL into the database file on a
	// connection of its own, so that writes never wait for it.
	checkpointer driverConn
	kick         chan struct{} // asks the checkpointer to run; buffered
	stop         chan struct{} // closed by Close
	done         chan struct{} // closed when the checkpointer has stopped
	// conn is the writing connection; nil until Connect succeeds.
	conn   driverConn
	good   *table
	failed *table
	closed bool
	// rowsPerInsert is how many records one INSERT statement carries.
	rowsPerInsert int
	// retention removes rows past opts.Retention; nil when it is off or
	// the sink is not connected. Atomic, so that /stats reads it without
	// waiting for a write. now is its clock.
	retention atomic.Pointer[retention.Loop]
	now       func() time.Time
	// vacuumSwitchMax is vacuumSwitchMaxBytes, but for tests.
	vacuumSwitchMax int64
	// unchecked counts the bytes of records written since the checkpointer
	// was last asked to run.
	unchecked int
	// commits counts the transactions Write committed, and synced how
	// many of the first of them Sync has made durable. Atomics, read
	// without mu: Sync runs on delivery's cursor committer, which would
	// otherwise wait for the whole batch a Write under way holds mu for.
	commits, synced atomic.Uint64
	// lookups is how many more batches look their ids up before
	// inserting (lookupsAfterHeld); 0 inserts without.
	lookups int
	// syncFile is fsyncFile, but for tests.
	syncFile func(path string) error
	// typed knows the typed tables between batches (typed.go); nil
	// without contracts.
	typed *tables.Tracker
	// contracts are the collector's, for planning every typed table at
	// Connect and when they change; nil without contracts.
	contracts sink.Contracts
	// stopWatch stops the goroutine that migrates the typed tables when
	// the contracts change (tables: auto, tables.Watch); nil when there
	// is none.
	stopWatch func()
	// typedStmts are the typed inserts prepared, by their text (typed.go).
	typedStmts stmtCache
	// plans are the typed tables' row plans, by the tracker's table
	// (typedrow.go).
	plans map[*tables.Table]*typedPlan
	// typedSeen holds the event ids of the batch's good records, for the
	// typed rows of those the good table takes (typedrow.go).
	typedSeen    map[string]bool
	typedPending []typedPending
	rowArgs      []driver.NamedValue
	// goodCopies says the good table gives back the envelope values
	// its insert was given (goodGivesBack), as read at schema version
	// goodVersion (0 until read: a file holding the sink's tables is at
	// version 1 or more).
	goodCopies  bool
	goodVersion int64
	// checker is the in-memory database of the rows the writing
	// connection cannot skip the checks of, with a copy of each such
	// table (checkerDDL, by name) and its inserts (typedcheck.go); nil
	// until one is needed.
	checker      driverConn
	checkerDDL   map[string]string
	checkerStmts stmtCache
	checkArgs    []driver.NamedValue
	keyBuf       []byte
	members      []objectMember
	// Scratch space reused across writes.
	goodRecs, failedRecs []*event.Envelope
	buf                  []byte
	values               []columns.Value
	args                 []driver.NamedValue
	claimArgs            []driver.NamedValue
}

// checkpointEvery is how many bytes of records are written between
// checkpoints. A checkpoint ends with an fsync of the database file, which
// writes every page it copied; the spool's group commit, flushing the same
// disk, waits behind it. At 4 MiB that fsync held single-event requests
// for up to 9 ms (their p99 at 5,000 a second 5.5-8.0 ms, max 16-26 ms);
// at 512 KiB 4.6-5.1 ms, max 8-12 ms, and the spool drained into the
// database faster (62-63k records a second against 68-71k), the WAL
// staying smaller (docs/performance-log.md, eighth session).
const checkpointEvery = 512 << 10

// New returns a sink for the options; it touches no file until Connect.
// logger may be nil.
func New(opts Options, logger *slog.Logger) (*Sink, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Sink{opts: opts, logger: logger, rowsPerInsert: rowsPerInsert, now: time.Now, vacuumSwitchMax: vacuumSwitchMaxBytes}, nil
}

// Open is New and Connect in one, for tools and tests that want a sink
// ready to write.
func Open(ctx context.Context, opts Options, logger *slog.Logger) (*Sink, error) {
	s, err := New(opts, logger)
	if err != nil {
		return nil, err
	}
	if err := s.Connect(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Connect opens (creating when missing) the database file and its tables,
// and starts the goroutine that checkpoints the WAL; Close stops it. On a
// connected sink it does nothing; after a failure it can be called again.
func (s *Sink) Connect(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("connect sqlite sink: sink is closed")
	}
	if s.conn != nil {
		return nil
	}
	opts := s.opts
	if dir := filepath.Dir(opts.Path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create directory for sqlite database %s: %w", opts.Path, err)
		}
	}
	c, err := openRaw(opts.Path, writerPragmas(opts))
	if err != nil {
		return err
	}
	s.conn = c
	if err := s.init(ctx, opts); err != nil {
		return errors.Join(err, s.closeAll())
	}
	changed := s.watchFrom()
	if s.checkpointer, err = openConn(opts); err != nil {
		return errors.Join(err, s.closeAll())
	}
	s.kick = make(chan struct{}, 1)
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go s.checkpoint(s.checkpointer, s.kick, s.stop, s.done)
	s.watch(changed)
	if opts.retains() {
		loop, err := retention.New(retention.Config{Period: opts.Retention, ByContract: opts.RetentionByContract, Unit: "rows", After: s.vacuum, Now: s.now, Logger: s.logger}, s)
		if err != nil {
			return err
		}
		s.retention.Store(loop)
		loop.Start()
	}
	return nil
}

func openConn(opts Options) (driverConn, error) {
	return openDSN(opts.Path, dsn(opts))
}

// openDSN opens the database at path through name, the driver's DSN for it.
func openDSN(path, name string) (driverConn, error) {
	dc, err := (&sqlite.Driver{}).Open(name)
	if err != nil {
		return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
	}
	c, ok := dc.(driverConn)
	if !ok {
		dc.Close()
		return nil, fmt.Errorf("open sqlite database %s: driver connection %T lacks context methods", path, dc)
	}
	return c, nil
}

// checkpoint copies the WAL into the database file whenever Write asks.
// Checkpointing in the writer, as SQLite does by default, made every few
// writes wait for the copy and its fsync; on BenchmarkWrite100 moving it
// here took about a quarter off the time a write takes (the CPU it costs
// is the same, spent beside the writer). A PASSIVE checkpoint never blocks
// the writer or readers.
func (s *Sink) checkpoint(conn driverConn, kick, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	for {
		select {
		case <-stop:
			return
		case <-kick:
		}
		if _, err := conn.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)", nil); err != nil {
			// The writer's own checkpoint, past wal_autocheckpoint,
			// still keeps the WAL from growing without bound.
			s.logger.Warn("sqlite sink: checkpoint the WAL", "err", err)
		}
	}
}

// dsn builds the driver's data source name, which sets the connection's
// pragmas in order, before Open sets the journal mode.
func dsn(opts Options) string {
	q := url.Values{}
	for _, p := range pragmas(opts) {
		q.Add("_pragma", p)
	}
	return fileURI(opts.Path, q)
}

// walBackstopPages is where the writer checkpoints the WAL itself:
// 32,768 pages, 256 MiB of 8 KiB pages (128 MiB in a file an earlier
// Accord made with 4 KiB pages, 512 MiB with 16 KiB ones). SQLite starts
// the WAL over only when a write transaction begins with every frame
// already copied into the database. While delivery drains a backlog the
// writer begins its next transaction while the checkpointer is still
// copying the last, so the WAL never starts over by itself: it grows to
// this mark, and there the commit that passes it copies what is left and
// syncs the WAL and the database before the writer goes on. With tracker
// ids each of those stalls took 43-65 ms, a quarter of the writer's time
// at 8,192 pages (64 MiB, the mark until the thirteenth performance
// session); at 32,768 a backlog of tracker events drained at
// 30,082-39,189 records/s against 23,203-28,808 (3 interleaved runs;
// 65,536 pages gave 35,579-37,994). The WAL file keeps the size it
// reached, so a long backlog leaves about 256 MiB of it on the disk
// until the sink closes (docs/sinks/sqlite.md; TestWALBackstop).
const walBackstopPages = 32768

// writerCacheKiB is the writing connection's page cache, 4 MiB where
// SQLite's default is 2 MiB. A transaction's dirty pages must fit in it:
// past it SQLite spills them to the WAL mid-transaction, and a spilled
// page written again before the commit is rewritten there, with every
// frame after it checksummed again. A delivery batch of 250 records with
// tracker ids (random UUIDv4s) dirties a page of the good table's
// event_id index a record, about 2 MiB of 8 KiB pages before the table's
// own: in a profile of such a backlog draining, the spill and the rewrite
// it caused were 22 % of the collector's samples, a third of the
// writer's, and at 4 MiB none. That backlog drained at 21,604-23,446
// records/s against 17,665-20,236 (3 interleaved runs each;
// docs/performance-log.md, twelfth session), for about 3 MiB more resident
// memory; the other connections keep the default.
const writerCacheKiB = 4096

// writerPragmas are pragmas(opts) and the writing connection's own.
func writerPragmas(opts Options) []string {
	return append(pragmas(opts), "cache_size(-"+strconv.Itoa(writerCacheKiB)+")")
}

// pragmas are the settings of every connection the sink opens, in the
// order they are set: busy_timeout first.
func pragmas(opts Options) []string {
	sync, _ := synchronousPragma(opts.Synchronous)
	p := []string{"busy_timeout(" + strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10) + ")"}
	// 8 KiB pages for a database this creates (an existing one keeps its
	// own until a VACUUM). Every transaction writes each page it touches
	// whole to the WAL, the last, partly filled page of each table and
	// index included, so smaller pages write fewer bytes for the same
	// rows; but SQLite writes each WAL frame and copies each page at a
	// checkpoint with system calls of their own, one page at a time, so
	// larger pages make fewer calls for the same bytes. Against 4 KiB
	// pages (the default until the eleventh performance session), 8 KiB
	// drained a backlog about a sixth faster end to end (51,900-66,000
	// records/s against 44,400-56,400, 10 interleaved runs each) and cost
	// less CPU a row on BenchmarkTypedWrite (23 % less at 100 rows a
	// transaction; within the noise at 10 and 1,000), for 6-10 % more
	// bytes written under one-event requests and about 20 % more in
	// 100-row transactions (3,901 bytes a row against 3,255); 16 KiB
	// drained a little faster still and wrote 19-30 % more under
	// one-event requests (docs/performance-log.md, eleventh session). The disk
	// those bytes keep busy is the one the spool's fsyncs wait on.
	p = append(p, "page_size(8192)")
	p = append(p, "synchronous("+sync+")")
	// The statement journal of a multi-row insert stays off the disk.
	p = append(p, "temp_store(MEMORY)")
	// The checkpointer goroutine copies the WAL into the database every
	// checkpointEvery bytes; the writer checkpoints itself only when the
	// WAL passes walBackstopPages.
	p = append(p, "wal_autocheckpoint("+strconv.Itoa(walBackstopPages)+")")
	if opts.retains() {
		// A database this creates can return the pages of deleted rows
		// to the file system (see vacuum); an existing one keeps its mode
		// until a VACUUM (see switchAutoVacuum).
		p = append(p, "auto_vacuum(INCREMENTAL)")
	}
	return p
}

// fileURI is the driver's data source name for the file at path with the
// parameters q: a file: URI whose path is escaped, so that a path holding
// '?', '#' or '%' stays the path the sink writes. Every connection to the
// sink's file (the sink, replay's reader, the subject commands) opens it
// through here.
func fileURI(path string, q url.Values) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// readerURI opens path for the commands that run beside a collector: mode
// is ro or rw (never creating a file), waiting up to busyTimeout for the
// collector's writes.
func readerURI(path, mode string, busyTimeout time.Duration) string {
	return fileURI(path, url.Values{"mode": {mode}, "_pragma": {"busy_timeout(" + strconv.FormatInt(busyTimeout.Milliseconds(), 10) + ")"}})
}

func (s *Sink) init(ctx context.Context, opts Options) error {
	mode, err := s.queryString(ctx, "PRAGMA journal_mode=WAL")
	if err != nil {
		return fmt.Errorf("set WAL journal mode on %s: %w", opts.Path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("set WAL journal mode on %s: SQLite kept journal mode %q; put the file on a local file system", opts.Path, mode)
	}
	if s.good, err = newTable(ctx, s.conn, opts.GoodTable, false); err != nil {
		return err
	}
	if s.failed, err = newTable(ctx, s.conn, opts.FailedTable, true); err != nil {
		return err
	}
	if s.typed != nil {
		// The typed tables' checks are made in Go before each insert
		// (typedcheck.go); only the typed tables have any.
		if _, err := s.conn.ExecContext(ctx, "PRAGMA ignore_check_constraints = ON", nil); err != nil {
			return fmt.Errorf("sqlite database %s: %w", opts.Path, err)
		}
	}
	if opts.retains() {
		return s.switchAutoVacuum(ctx)
	}
	return nil
}

// queryString runs a query that returns one text value.
func (s *Sink) queryString(ctx context.Context, query string) (string, error) {
	rows, err := s.conn.QueryContext(ctx, query, nil)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	dest := make([]driver.Value, len(rows.Columns()))
	if len(dest) != 1 {
		return "", fmt.Errorf("%s returned %d columns, want 1", query, len(dest))
	}
	if err := rows.Next(dest); err != nil {
		return "", err
	}
	switch v := dest[0].(type) {
	case string:
		return v, nil
	case []byte:
		return string(v), nil
	}
	return "", fmt.Errorf("%s returned %T, want text", query, dest[0])
}

// Write stores records, good ones in the good table and failed ones in the
// failed table, in one transaction: either all of them are stored or none
// is. A record whose event_id is already stored is skipped when it is the
// same event (same fingerprint and protocol), and stored under a new
// event_id, keeping the one it was sent with as original_event_id, when it
// is another (see settleClaims).
func (s *Sink) Write(ctx context.Context, records []*event.Envelope) error {
	if len(records) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("write to sqlite sink: sink is closed")
	}
	if s.conn == nil {
		return errors.New("write to sqlite sink: not connected")
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("write to sqlite sink: %w", err)
	}
	plans, err := s.typedPlans(ctx, records)
	if err != nil {
		return fmt.Errorf("write to sqlite sink: %w", err)
	}
	// Most batches hold no id either table holds already: they are
	// inserted without looking their ids up first (settleClaims), and
	// should an insert skip a row after all, the transaction is rolled
	// back and the batch written again with the lookup, as are the next
	// lookupsAfterHeld batches.
	unchecked := s.unchecked
	held, err := s.transact(ctx, records, plans, s.lookups == 0)
	if err == errIDHeld { // not joined with a failed rollback
		// It met a held id, whether a table held it or an earlier
		// record of the batch had it, which the lookup does not report.
		s.unchecked = unchecked
		s.lookups = lookupsAfterHeld
		held = true
		_, err = s.transact(ctx, records, plans, false)
	}
	if err != nil {
		return err
	}
	switch {
	case held:
		s.lookups = lookupsAfterHeld
	case s.lookups > 0:
		s.lookups--
	}
	// Counted before Write returns: a Sync called after that sees it.
	s.commits.Add(1)
	if s.unchecked >= checkpointEvery {
		s.unchecked = 0
		select {
		case s.kick <- struct{}{}:
		default: // already asked
		}
	}
	return nil
}

// errIDHeld is what insert returns when, inserting without looking the
// ids up first, a table held one of them: Write rolls the transaction back
// and writes the batch again, looking them up.
var errIDHeld = errors.New("an event id of the batch is held already")

// lookupsAfterHeld is how many batches after one that met a held id look
// their ids up before inserting (settleClaims), a batch that finds one
// starting the count again: records delivered again after a restart, or a
// client naming ids already stored, cost one rolled-back attempt every
// lookupsAfterHeld+1 batches at most, not one every batch.
const lookupsAfterHeld = 16

// transact writes records in one transaction: insert's work between BEGIN
// and COMMIT, reporting whether a table held any of their ids (looking
// them up). Inserting without the lookup (optimistic), it returns
// errIDHeld, unwrapped, once the transaction is rolled back, when an
// insert skipped a row.
func (s *Sink) transact(ctx context.Context, records []*event.Envelope, plans map[string]*typedPlan, optimistic bool) (held bool, err error) {
	// BEGIN IMMEDIATE takes the write lock now, waiting up to busy_timeout
	// for another connection to release it, instead of failing halfway
	// through the transaction. It runs without ctx's cancellation: the
	// driver interrupts a cancelled statement from another goroutine, and
	// an interrupt that lands as BEGIN completes reports failure with the
	// transaction open, after which every later BEGIN failed ("cannot start
	// a transaction within a transaction"). TestCancelledWritesLeaveTheSinkWritable
	// reproduces it. Should BEGIN fail anyway, roll back whatever it left.
	if _, err := s.conn.ExecContext(context.WithoutCancel(ctx), "BEGIN IMMEDIATE", nil); err != nil {
		_, _ = s.conn.ExecContext(context.Background(), "ROLLBACK", nil)
		return false, fmt.Errorf("begin transaction: %w", err)
	}
	held, err = s.insert(ctx, records, plans, optimistic)
	if err != nil {
		return false, s.rollback(err)
	}
	// Once the batch is written, commit it even if ctx has just ended: the
	// work is done, and the lock is already held.
	if _, err := s.conn.ExecContext(context.WithoutCancel(ctx), "COMMIT", nil); err != nil {
		return false, s.rollback(fmt.Errorf("commit: %w", err))
	}
	return held, nil
}

// Sync makes every transaction Write committed durable: with
// synchronous: normal SQLite commits to the WAL without an fsync, so a
// power loss could take the last of them after delivery had moved the
// sink's spool cursor past their records. Delivery calls it before each
// such move (sink.Syncer), at most every 100 ms, and Sync fsyncs the WAL
// file when Write committed anything since the last Sync: SQLite itself fsyncs the WAL
// before a checkpoint copies it and the database file after, and syncs
// the WAL's header when it starts the file over, so the WAL's pages are
// what a power loss could lose. With synchronous: full each commit was
// synced already, and with off the setting says not to.
func (s *Sink) Sync(context.Context) error {
	if mode, _ := synchronousPragma(s.opts.Synchronous); mode != "NORMAL" {
		return nil
	}
	// Write counts a commit once COMMIT has returned, so once its pages
	// are in the WAL file, and before Write returns: every transaction
	// committed before Sync was called is among commits, and the fsync
	// covers every page written to the file before it. Neither waits for
	// mu, so writes go on meanwhile. Before Connect nothing is counted;
	// after Close the WAL is gone (fsyncFile: no error), or another
	// connection to the file keeps it, and then syncing it is right.
	commits := s.commits.Load()
	if commits == s.synced.Load() {
		return nil
	}
	syncFile := s.syncFile
	if syncFile == nil {
		syncFile = fsyncFile
	}
	if err := syncFile(s.opts.Path + "-wal"); err != nil {
		return fmt.Errorf("sync sqlite database %s: %w", s.opts.Path, err)
	}
	for {
		// Syncs may overlap: synced only moves forward.
		synced := s.synced.Load()
		if commits <= synced || s.synced.CompareAndSwap(synced, commits) {
			return nil
		}
	}
}

// fsyncFile fsyncs the file at path; a file that does not exist is no
// error. The WAL is missing only once the last connection to the database
// closed, having checkpointed the WAL into the database file and synced
// that.
func fsyncFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (s *Sink) rollback(err error) error {
	if _, rbErr := s.conn.ExecContext(context.Background(), "ROLLBACK", nil); rbErr != nil {
		return errors.Join(err, fmt.Errorf("roll back: %w", rbErr))
	}
	return err
}

// insert inserts records in chunks, good and failed apart, and each good
// record's row in the typed table of its contract (plans, by contract
// MODEL) after its chunk. Statements run without ctx's cancellation,
// which would cost the driver a goroutine per statement; ctx is checked
// between chunks instead. They never wait for a lock, as the transaction
// holds it.
//
// Optimistic, it inserts without looking the records' ids up first, and
// returns errIDHeld as soon as an insert skips a row (a table held its
// id, or an earlier record of the batch had it), before writing that
// chunk's typed rows; else it reports whether a table held any of the
// ids.
func (s *Sink) insert(ctx context.Context, records []*event.Envelope, plans map[string]*typedPlan, optimistic bool) (anyHeld bool, err error) {
	good, failed := s.goodRecs[:0], s.failedRecs[:0]
	for _, r := range records {
		if r.Valid {
			good = append(good, r)
		} else {
			failed = append(failed, r)
		}
	}
	defer func() {
		// Keep the slices, not the records, nor anything of theirs: with
		// sink.KeepsNoStrings a record's strings and payload share the
		// spool's read, which a kept id or member would keep whole.
		clear(good)
		clear(failed)
		s.goodRecs, s.failedRecs = good[:0], failed[:0]
		clear(s.typedSeen)
		clear(s.members[:cap(s.members)])
	}()
	nctx := context.WithoutCancel(ctx)
	if len(plans) > 0 {
		if err := s.refreshTypedDDL(nctx, plans); err != nil {
			return false, err
		}
	}
	for _, part := range []struct {
		t       *table
		records []*event.Envelope
	}{{s.good, good}, {s.failed, failed}} {
		records := part.records
		var held map[string]bool
		if !optimistic {
			if records, held, err = s.settleClaims(nctx, part.t, records); err != nil {
				return false, err
			}
			anyHeld = anyHeld || len(held) > 0
		}
		var inserted func(*event.Envelope) bool
		switch {
		case part.t != s.good || len(plans) == 0:
		case optimistic:
			// A chunk's typed rows are written only once its insert took
			// every row.
			inserted = insertedAll
		default:
			inserted = s.insertedBy(held)
		}
		for rest := records; len(rest) > 0; {
			if err := ctx.Err(); err != nil {
				return false, err
			}
			n := chunkSize(len(rest), s.rowsPerInsert)
			if err := s.insertChunk(nctx, part.t, rest[:n], plans, inserted, optimistic); err != nil {
				return false, err
			}
			rest = rest[n:]
		}
	}
	return anyHeld, nil
}

// insertedAll is insertedBy's answer when every record was inserted.
func insertedAll(*event.Envelope) bool { return true }

// insertChunk inserts records, at most rowsPerInsert of them, into t,
// then the typed rows of those the insert took (inserted; nil for no
// typed rows). Optimistic, it returns errIDHeld, and writes no typed row,
// when the insert skipped any of them.
func (s *Sink) insertChunk(ctx context.Context, t *table, records []*event.Envelope, plans map[string]*typedPlan, inserted func(*event.Envelope) bool, optimistic bool) error {
	s.buf, s.args = s.buf[:0], s.args[:0]
	for _, r := range records {
		// Arguments may point into the buffer: growing it leaves them
		// pointing at the old array, which holds what they were given.
		s.args, s.values, s.buf = t.appendArgs(s.args, s.values, s.buf, r)
	}
	defer func() {
		// Drop references to records and old buffers.
		clear(s.args)
		clear(s.values)
	}()
	stmt, err := t.stmt(ctx, s.conn, len(records))
	if err != nil {
		return err
	}
	res, err := stmt.ExecContext(ctx, s.args)
	if err != nil {
		return fmt.Errorf("insert into %s: %w", t.name, err)
	}
	if optimistic {
		// ON CONFLICT DO NOTHING: a row not counted was skipped.
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("insert into %s: %w", t.name, err)
		}
		if n != int64(len(records)) {
			return errIDHeld
		}
	}
	if inserted != nil {
		if err := s.writeTypedRows(ctx, plans, records, s.args, inserted); err != nil {
			return err
		}
	}
	s.unchecked += len(s.buf)
	for _, r := range records {
		s.unchecked += len(r.Payload) + len(r.Attributes) + len(r.Raw)
	}
	return nil
}

// Close stops the checkpointer and closes the database; ctx is not needed,
// as closing waits for nothing but the local file. A Write after Close
// returns an error.
func (s *Sink) Close(context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	stop, done, loop, stopWatch := s.stop, s.done, s.retention.Load(), s.stopWatch
	s.stopWatch = nil
	s.mu.Unlock()
	if stopWatch != nil {
		// Outside the lock: a migration under way takes it.
		stopWatch()
	}
	if loop != nil {
		// Outside the lock: a batch under way takes it.
		loop.Stop()
	}
	if stop != nil {
		// Outside the lock: a checkpoint under way finishes first.
		close(stop)
		<-done
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.closeAll(); err != nil {
		return fmt.Errorf("close sqlite sink: %w", err)
	}
	return nil
}

// closeAll closes whatever Connect opened and forgets it, so that a failed
// Connect can be tried again.
func (s *Sink) closeAll() error {
	errs := []error{s.typedStmts.close(), s.closeChecker()}
	for _, t := range []*table{s.good, s.failed} {
		if t != nil {
			errs = append(errs, t.close())
		}
	}
	if s.checkpointer != nil {
		errs = append(errs, s.checkpointer.Close())
	}
	// The last connection to close checkpoints what is left and removes
	// the WAL.
	if s.conn != nil {
		errs = append(errs, s.conn.Close())
	}
	s.good, s.failed, s.checkpointer, s.conn = nil, nil, nil, nil
	return errors.Join(errs...)
}

// KeepsNoStrings marks the sink as keeping none of a record's strings
// past a Write: the driver copies what it binds, and the typed tables'
// tracker clones the versions it remembers. Delivery then decodes the
// records it reads from the spool without copying each one.
func (*Sink) KeepsNoStrings() {}

var (
	_ sink.Sink           = (*Sink)(nil)
	_ sink.Syncer         = (*Sink)(nil)
	_ sink.KeepsNoStrings = (*Sink)(nil)
)
