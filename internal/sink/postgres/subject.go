package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/redact"
	"github.com/accord-events/accord/internal/sink"
)

// subjects finds and removes one data subject's records (accord subject
// export and delete): in the raw table, which holds every record, and in
// the typed tables, which hold the good ones again.
type subjects struct{ opts Options }

var _ sink.SubjectStore = subjects{}

func (s subjects) connect(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, s.opts.DSN)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %s", redact.String(s.opts.DSN), redact.Error(err))
	}
	return conn, nil
}

// subjectWhere is the condition selecting q's records in the raw table:
// identity compared with the ids, event data and contexts searched for
// each pseudonym.
func subjectWhere(q sink.SubjectQuery) (string, []any) {
	var or []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if len(q.UserIDs) > 0 {
		or = append(or, "identity->>'user_id' = ANY("+arg(q.UserIDs)+")")
	}
	if len(q.AnonymousIDs) > 0 {
		ids := arg(q.AnonymousIDs)
		or = append(or, "identity->>'anonymous_id' = ANY("+ids+")", "identity->>'network_user_id' = ANY("+ids+")")
	}
	for _, p := range q.Pseudonyms {
		if p == "" {
			continue
		}
		n := arg(p)
		or = append(or, "strpos(coalesce(payload::text, ''), "+n+") > 0", "strpos(coalesce(contexts::text, ''), "+n+") > 0")
	}
	if len(or) == 0 {
		return "false", nil // no id: nobody's records
	}
	return "(" + strings.Join(or, " OR ") + ")", args
}

func (s subjects) raw() string { return quoteIdent(s.opts.Schema) + "." + quoteIdent(s.opts.RawTable) }

// ExportSubject implements sink.SubjectStore: the raw table holds every
// record, good and failed, so it is the one store read.
func (s subjects) ExportSubject(ctx context.Context, q sink.SubjectQuery, fn func(*event.Envelope) error) ([]sink.StoreCount, error) {
	conn, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	cond, args := subjectWhere(q)
	var n int64
	err = readRecords(ctx, conn, s.raw(), cond+" ORDER BY valid DESC, collected_at, event_id", args, func(r *event.Envelope) error {
		if !q.Match(r) {
			return nil // the text search matched what the record does not hold
		}
		n++
		return fn(r)
	})
	if isUndefinedTable(err) {
		err = nil // nothing was ever stored
	}
	return []sink.StoreCount{{Store: s.opts.RawTable, Count: n}}, err
}

// DeleteSubject implements sink.SubjectStore: the records leave the raw
// table and every typed table in one transaction, all or none.
func (s subjects) DeleteSubject(ctx context.Context, q sink.SubjectQuery) ([]sink.StoreCount, error) {
	conn, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("delete subject: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	cond, args := subjectWhere(q)
	var ids []string
	err = tx.QueryRow(ctx, "WITH gone AS (DELETE FROM "+s.raw()+" WHERE "+cond+" RETURNING event_id) SELECT coalesce(array_agg(event_id) FILTER (WHERE event_id IS NOT NULL), '{}') FROM gone", args...).Scan(&ids)
	if isUndefinedTable(err) {
		return []sink.StoreCount{{Store: s.opts.RawTable}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("delete from %s: %w", s.opts.RawTable, err)
	}
	counts := []sink.StoreCount{{Store: s.opts.RawTable, Count: int64(len(ids))}}
	typed, err := typedTables(ctx, tx, s.opts.Schema)
	if err != nil {
		return nil, err
	}
	for _, t := range typed {
		tag, err := tx.Exec(ctx, "DELETE FROM "+quoteIdent(s.opts.Schema)+"."+quoteIdent(t)+" WHERE event_id = ANY($1)", ids)
		if err != nil {
			return nil, fmt.Errorf("delete from %s: %w", t, err)
		}
		counts = append(counts, sink.StoreCount{Store: t, Count: tag.RowsAffected()})
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("delete subject: %w", err)
	}
	return counts, nil
}

// typedTables lists the schema's typed tables: those whose comment the
// model wrote (tables.Table.Comment).
func typedTables(ctx context.Context, tx pgx.Tx, schema string) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind = 'r' AND starts_with(coalesce(obj_description(c.oid, 'pg_class'), ''), 'Accord typed table ')
		ORDER BY c.relname`, schema)
	if err != nil {
		return nil, fmt.Errorf("list typed tables of %s: %w", schema, err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list typed tables of %s: %w", schema, err)
	}
	return names, nil
}

func isUndefinedTable(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "42P01"
}
