package mysql

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/accord-events/accord/internal/sink/retention"
)

// DeleteBefore removes at most limit rows collected before cutoff from the
// raw table, found through its collected_at index, and the same records'
// rows from every typed table, by event_id through their primary keys, in
// one transaction; it returns how many raw rows it removed. Batched deletes
// rather than partitions, for the reason the postgres sink gives: a
// partitioned table needs collected_at in every unique key, which would end
// the event_id deduplication writes rely on.
func (s *Sink) DeleteBefore(ctx context.Context, cutoff time.Time, limit int) (int64, error) {
	return s.DeleteScopedBefore(ctx, retention.Scope{}, cutoff, limit)
}

// DeleteScopedBefore is DeleteBefore for the records of the contracts in
// scope (retention_by_contract).
func (s *Sink) DeleteScopedBefore(ctx context.Context, scope retention.Scope, cutoff time.Time, limit int) (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed || s.db == nil {
		return 0, errors.New("delete old rows from mysql sink: not connected")
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("delete old rows: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	raw := quoteIdent(s.opts.RawTable)
	// Compared as bytes: the column's default collation ignores case,
	// and iglu:com.acme/ is not iglu:com.Acme/.
	starts := "CAST(LEFT(" + quoteIdent("schema") + ", CHAR_LENGTH(?)) AS BINARY) = CAST(? AS BINARY)"
	cond, args := "", []any{cutoff.UTC()}
	if scope.Prefix != "" {
		cond += " AND " + starts
		args = append(args, scope.Prefix, scope.Prefix)
	}
	for _, p := range scope.Except {
		cond += " AND NOT COALESCE(" + starts + ", FALSE)"
		args = append(args, p, p)
	}
	args = append(args, limit)
	rows, err := tx.QueryContext(ctx, "SELECT accord_row, event_id FROM "+raw+" WHERE collected_at < ?"+cond+
		" ORDER BY collected_at LIMIT ? FOR UPDATE", args...)
	if err != nil {
		return 0, fmt.Errorf("delete old rows from %s: %w", s.opts.RawTable, err)
	}
	var rowIDs, eventIDs []any
	for rows.Next() {
		var row int64
		var id *string
		if err := rows.Scan(&row, &id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("delete old rows from %s: %w", s.opts.RawTable, err)
		}
		rowIDs = append(rowIDs, row)
		if id != nil {
			eventIDs = append(eventIDs, *id)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("delete old rows from %s: %w", s.opts.RawTable, err)
	}
	if len(rowIDs) == 0 {
		return 0, nil
	}
	res, err := tx.ExecContext(ctx, "DELETE FROM "+raw+" WHERE accord_row IN ("+placeholders(len(rowIDs))+")", rowIDs...)
	if err != nil {
		return 0, fmt.Errorf("delete old rows from %s: %w", s.opts.RawTable, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete old rows from %s: %w", s.opts.RawTable, err)
	}
	if len(eventIDs) > 0 {
		typed, err := typedTables(ctx, tx)
		if err != nil {
			return 0, err
		}
		for _, t := range typed {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+quoteIdent(t)+" WHERE event_id IN ("+placeholders(len(eventIDs))+")", eventIDs...); err != nil {
				return 0, fmt.Errorf("delete old rows from %s: %w", t, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("delete old rows: %w", err)
	}
	return n, nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func (s *Sink) stopRetention() {
	if loop := s.retention.Load(); loop != nil {
		loop.Stop()
	}
}

// startRetention starts the background deletes when retention is set; a
// Connect after a failed one does not start a second loop.
func (s *Sink) startRetention() error {
	if (s.opts.Retention <= 0 && len(s.opts.RetentionByContract) == 0) || s.retention.Load() != nil {
		return nil
	}
	loop, err := retention.New(retention.Config{Period: s.opts.Retention, ByContract: s.opts.RetentionByContract, Unit: "rows", Now: s.now, Logger: s.logger}, s)
	if err != nil {
		return err
	}
	s.retention.Store(loop)
	loop.Start()
	return nil
}

// RetentionStats says what retention has removed; its Period is empty when
// retention is off.
func (s *Sink) RetentionStats() retention.Stats {
	if loop := s.retention.Load(); loop != nil {
		return loop.Stats()
	}
	return retention.Stats{}
}

var (
	_ retention.Reporter    = (*Sink)(nil)
	_ retention.ScopedStore = (*Sink)(nil)
)
