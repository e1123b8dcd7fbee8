package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/accord-events/accord/internal/sink/retention"
)

// DeleteBefore removes at most limit rows collected before cutoff from the
// raw table, found through its collected_at index, and the same records'
// rows from every typed table, by event_id through their primary keys, in
// one transaction; it returns how many raw rows it removed. Typed tables
// get no index of their own for it, so the write path is unchanged.
//
// Batched deletes rather than daily partitions: a partitioned raw table
// needs collected_at in every unique key, which would end the event_id
// deduplication writes rely on (ON CONFLICT (event_id)); PostgreSQL's
// autovacuum makes the deleted rows' space reusable.
func (s *Sink) DeleteBefore(ctx context.Context, cutoff time.Time, limit int) (int64, error) {
	return s.DeleteScopedBefore(ctx, retention.Scope{}, cutoff, limit)
}

// DeleteScopedBefore is DeleteBefore for the records of the contracts in
// scope (retention_by_contract).
func (s *Sink) DeleteScopedBefore(ctx context.Context, scope retention.Scope, cutoff time.Time, limit int) (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed || s.pool == nil {
		return 0, errors.New("delete old rows from postgres sink: not connected")
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("delete old rows: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	raw := quoteIdent(s.opts.Schema) + "." + quoteIdent(s.opts.RawTable)
	var ids []string
	var n int64
	cond, args := "", []any{cutoff, limit}
	if scope.Prefix != "" {
		args = append(args, scope.Prefix)
		cond += fmt.Sprintf(" AND starts_with(schema, $%d)", len(args))
	}
	for _, p := range scope.Except {
		args = append(args, p)
		cond += fmt.Sprintf(" AND NOT coalesce(starts_with(schema, $%d), false)", len(args))
	}
	err = tx.QueryRow(ctx, "WITH gone AS (DELETE FROM "+raw+" WHERE ctid = ANY(ARRAY(SELECT ctid FROM "+raw+
		" WHERE collected_at < $1"+cond+" ORDER BY collected_at LIMIT $2)) RETURNING event_id)"+
		" SELECT coalesce(array_agg(event_id) FILTER (WHERE event_id IS NOT NULL), '{}'), count(*) FROM gone", args...).Scan(&ids, &n)
	if err != nil {
		return 0, fmt.Errorf("delete old rows from %s: %w", s.opts.RawTable, err)
	}
	if len(ids) > 0 {
		typed, err := typedTables(ctx, tx, s.opts.Schema)
		if err != nil {
			return 0, err
		}
		for _, t := range typed {
			if _, err := tx.Exec(ctx, "DELETE FROM "+quoteIdent(s.opts.Schema)+"."+quoteIdent(t)+" WHERE event_id = ANY($1)", ids); err != nil {
				return 0, fmt.Errorf("delete old rows from %s: %w", t, err)
			}
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("delete old rows: %w", err)
	}
	return n, nil
}

func (s *Sink) stopRetention() {
	if loop := s.retention.Load(); loop != nil {
		loop.Stop()
	}
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
