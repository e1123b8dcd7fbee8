package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink/retention"
)

// DeleteBefore removes at most limit rows collected before cutoff, from the
// good table first, then the failed one, in one transaction; the rows are
// found through the collected_at index each table has always had, so
// retention adds nothing to the write path. It holds the sink's write lock
// for that one transaction only: retention.Loop pauses between batches so
// that waiting writes go first.
func (s *Sink) DeleteBefore(ctx context.Context, cutoff time.Time, limit int) (int64, error) {
	return s.DeleteScopedBefore(ctx, retention.Scope{}, cutoff, limit)
}

// scopeWhere is the condition on schema that selects scope, its arguments
// numbered from first.
func scopeWhere(scope retention.Scope, first int) (string, []driver.NamedValue) {
	var cond string
	var args []driver.NamedValue
	match := func(prefix string) string {
		args = append(args, driver.NamedValue{Ordinal: first + len(args), Value: prefix})
		// substr rather than LIKE, in which a key's _ is a wildcard.
		return fmt.Sprintf("substr(schema, 1, length(?%d)) = ?%d", first+len(args)-1, first+len(args)-1)
	}
	if scope.Prefix != "" {
		cond += " AND " + match(scope.Prefix)
	}
	for _, p := range scope.Except {
		cond += " AND NOT coalesce(" + match(p) + ", 0)"
	}
	return cond, args
}

// DeleteScopedBefore is DeleteBefore for the records of the contracts in
// scope (retention_by_contract).
func (s *Sink) DeleteScopedBefore(ctx context.Context, scope retention.Scope, cutoff time.Time, limit int) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.conn == nil {
		return 0, errors.New("delete old rows from sqlite sink: not connected")
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	// As in Write: BEGIN runs without ctx's cancellation.
	if _, err := s.conn.ExecContext(context.WithoutCancel(ctx), "BEGIN IMMEDIATE", nil); err != nil {
		_, _ = s.conn.ExecContext(context.Background(), "ROLLBACK", nil)
		return 0, fmt.Errorf("begin transaction: %w", err)
	}
	before := cutoff.UTC().Format(event.TimeLayout)
	var total int64
	// The typed tables (typed.go) first: they repeat good rows, and keep
	// a collected_at of their own.
	typed, err := typedTableNames(context.Background(), s.queryStrings)
	if err != nil {
		return 0, s.rollback(fmt.Errorf("list typed tables: %w", err))
	}
	for _, name := range append(typed, s.good.name, s.failed.name) {
		if total >= int64(limit) {
			break
		}
		cond, args := scopeWhere(scope, 3)
		res, err := s.conn.ExecContext(context.Background(), fmt.Sprintf(
			"DELETE FROM %q WHERE rowid IN (SELECT rowid FROM %q WHERE collected_at < ?1%s ORDER BY collected_at LIMIT ?2)", name, name, cond),
			append([]driver.NamedValue{{Ordinal: 1, Value: before}, {Ordinal: 2, Value: int64(limit) - total}}, args...))
		if err != nil {
			return 0, s.rollback(fmt.Errorf("delete old rows from %s: %w", name, err))
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, s.rollback(fmt.Errorf("delete old rows from %s: %w", name, err))
		}
		total += n
	}
	if _, err := s.conn.ExecContext(context.Background(), "COMMIT", nil); err != nil {
		return 0, s.rollback(fmt.Errorf("commit: %w", err))
	}
	return total, nil
}

// vacuumPages is how many free pages one incremental_vacuum step returns
// to the file system (4 MiB of 4 KiB pages; 16 MiB in a file an earlier
// Accord made with 16 KiB pages), under the write lock.
const vacuumPages = 1024

// vacuum returns the pages deleted rows left free to the file system, a
// step at a time so that writes interleave, when the database is in
// incremental auto-vacuum mode; otherwise SQLite reuses them for new rows
// and the file keeps its size.
func (s *Sink) vacuum(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		more, err := s.vacuumStep(ctx)
		if err != nil || !more {
			return err
		}
	}
}

// vacuumStep frees up to vacuumPages pages and reports whether free pages
// are left.
func (s *Sink) vacuumStep(ctx context.Context) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.conn == nil {
		return false, errors.New("vacuum sqlite sink: not connected")
	}
	mode, err := s.queryInt(ctx, "PRAGMA auto_vacuum")
	if err != nil || mode != autoVacuumIncremental {
		return false, err
	}
	if _, err := s.conn.ExecContext(context.Background(), fmt.Sprintf("PRAGMA incremental_vacuum(%d)", vacuumPages), nil); err != nil {
		return false, fmt.Errorf("incremental vacuum: %w", err)
	}
	free, err := s.queryInt(ctx, "PRAGMA freelist_count")
	return free > 0, err
}

// autoVacuumIncremental is PRAGMA auto_vacuum's answer in incremental mode.
const autoVacuumIncremental = 2

// vacuumSwitchMaxBytes is the largest existing database that Connect
// rewrites with VACUUM to switch it to incremental auto-vacuum; a larger
// one would stall writes for long, so it is left to the operator.
const vacuumSwitchMaxBytes = 64 << 20

// switchAutoVacuum puts a database created before retention was set into
// incremental auto-vacuum mode when it is small enough to rewrite at once,
// and otherwise says how to do it: SQLite changes the mode of a database
// holding tables only by rewriting it (VACUUM).
func (s *Sink) switchAutoVacuum(ctx context.Context) error {
	mode, err := s.queryInt(ctx, "PRAGMA auto_vacuum")
	if err != nil {
		return fmt.Errorf("read auto_vacuum of %s: %w", s.opts.Path, err)
	}
	if mode == autoVacuumIncremental {
		return nil
	}
	pages, err := s.queryInt(ctx, "PRAGMA page_count")
	if err != nil {
		return fmt.Errorf("read page_count of %s: %w", s.opts.Path, err)
	}
	size, err := s.queryInt(ctx, "PRAGMA page_size")
	if err != nil {
		return fmt.Errorf("read page_size of %s: %w", s.opts.Path, err)
	}
	if pages*size > s.vacuumSwitchMax {
		s.logger.Warn("sqlite sink: deleted rows' pages are reused, but the file will not shrink until it is switched to incremental auto-vacuum once, with Accord stopped: sqlite3 FILE 'PRAGMA auto_vacuum=INCREMENTAL; VACUUM'",
			"path", s.opts.Path, "bytes", pages*size)
		return nil
	}
	if _, err := s.conn.ExecContext(ctx, "PRAGMA auto_vacuum=INCREMENTAL", nil); err != nil {
		return fmt.Errorf("set auto_vacuum of %s: %w", s.opts.Path, err)
	}
	if _, err := s.conn.ExecContext(ctx, "VACUUM", nil); err != nil {
		return fmt.Errorf("vacuum %s to switch it to incremental auto-vacuum: %w", s.opts.Path, err)
	}
	return nil
}

// queryInt runs a query that returns one integer.
func (s *Sink) queryInt(ctx context.Context, query string) (int64, error) {
	rows, err := s.conn.QueryContext(ctx, query, nil)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	dest := make([]driver.Value, len(rows.Columns()))
	if len(dest) != 1 {
		return 0, fmt.Errorf("%s returned %d columns, want 1", query, len(dest))
	}
	if err := rows.Next(dest); err != nil {
		return 0, err
	}
	n, ok := dest[0].(int64)
	if !ok {
		return 0, fmt.Errorf("%s returned %T, want an integer", query, dest[0])
	}
	return n, nil
}

// RetentionStats says what retention has removed; its Period is empty when
// retention is off.
func (s *Sink) RetentionStats() retention.Stats {
	loop := s.retention.Load()
	if loop == nil {
		return retention.Stats{}
	}
	return loop.Stats()
}

var (
	_ retention.Reporter    = (*Sink)(nil)
	_ retention.ScopedStore = (*Sink)(nil)
)
