package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
)

// subjects finds and removes one data subject's records (accord subject
// export and delete): in the raw table, which holds every record, and in
// the typed tables, which hold the good ones again.
type subjects struct{ opts Options }

var _ sink.SubjectStore = subjects{}

// subjectWhere is the condition selecting q's records in the raw table:
// identity compared with the ids, event data and contexts searched for
// each pseudonym.
func subjectWhere(q sink.SubjectQuery) (string, []any) {
	var or []string
	var args []any
	in := func(expr string, ids []string) {
		marks := make([]string, len(ids))
		for i, id := range ids {
			marks[i] = "?"
			args = append(args, id)
		}
		or = append(or, expr+" IN ("+strings.Join(marks, ", ")+")")
	}
	if len(q.UserIDs) > 0 {
		in("JSON_VALUE(identity, '$.user_id')", q.UserIDs)
	}
	if len(q.AnonymousIDs) > 0 {
		in("JSON_VALUE(identity, '$.anonymous_id')", q.AnonymousIDs)
		in("JSON_VALUE(identity, '$.network_user_id')", q.AnonymousIDs)
	}
	for _, p := range q.Pseudonyms {
		if p == "" {
			continue
		}
		or = append(or, "LOCATE(?, COALESCE(payload, '')) > 0", "LOCATE(?, COALESCE(contexts, '')) > 0")
		args = append(args, p, p)
	}
	if len(or) == 0 {
		return "FALSE", nil // no id: nobody's records
	}
	return "(" + strings.Join(or, " OR ") + ")", args
}

// ExportSubject implements sink.SubjectStore: the raw table holds every
// record, good and failed, so it is the one store read.
func (s subjects) ExportSubject(ctx context.Context, q sink.SubjectQuery, fn func(*event.Envelope) error) ([]sink.StoreCount, error) {
	db, _, err := open(ctx, s.opts)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	cond, args := subjectWhere(q)
	var n int64
	err = readRecords(ctx, db, quoteIdent(s.opts.RawTable), cond+" ORDER BY valid DESC, collected_at, event_id", args, func(r *event.Envelope) error {
		if !q.Match(r) {
			return nil // the text search matched what the record does not hold
		}
		n++
		return fn(r)
	})
	if isNoTable(err) {
		err = nil // nothing was ever stored
	}
	return []sink.StoreCount{{Store: s.opts.RawTable, Count: n}}, err
}

// DeleteSubject implements sink.SubjectStore: the records leave the raw
// table and every typed table in one transaction, all or none.
func (s subjects) DeleteSubject(ctx context.Context, q sink.SubjectQuery) ([]sink.StoreCount, error) {
	db, _, err := open(ctx, s.opts)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("delete subject: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	cond, args := subjectWhere(q)
	raw := quoteIdent(s.opts.RawTable)
	rows, err := tx.QueryContext(ctx, "SELECT event_id FROM "+raw+" WHERE "+cond+" FOR UPDATE", args...)
	if isNoTable(err) {
		return []sink.StoreCount{{Store: s.opts.RawTable}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("delete from %s: %w", s.opts.RawTable, err)
	}
	var ids []any
	for rows.Next() {
		var id sql.NullString
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("delete from %s: %w", s.opts.RawTable, err)
		}
		if id.Valid {
			ids = append(ids, id.String)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("delete from %s: %w", s.opts.RawTable, err)
	}
	res, err := tx.ExecContext(ctx, "DELETE FROM "+raw+" WHERE "+cond, args...)
	if err != nil {
		return nil, fmt.Errorf("delete from %s: %w", s.opts.RawTable, err)
	}
	n, _ := res.RowsAffected()
	counts := []sink.StoreCount{{Store: s.opts.RawTable, Count: n}}
	typed, err := typedTables(ctx, tx)
	if err != nil {
		return nil, err
	}
	for _, t := range typed {
		var gone int64
		for start := 0; start < len(ids); start += maxRowsPerInsert {
			chunk := ids[start:min(start+maxRowsPerInsert, len(ids))]
			res, err := tx.ExecContext(ctx, "DELETE FROM "+quoteIdent(t)+" WHERE event_id IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ")+")", chunk...)
			if err != nil {
				return nil, fmt.Errorf("delete from %s: %w", t, err)
			}
			k, _ := res.RowsAffected()
			gone += k
		}
		counts = append(counts, sink.StoreCount{Store: t, Count: gone})
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("delete subject: %w", err)
	}
	return counts, nil
}

// typedTablePrefix starts the comment of every typed table
// (tables.Table.Comment): how they are told from other tables.
const typedTablePrefix = "Accord typed table "

// typedTables lists the database's typed tables.
func typedTables(ctx context.Context, tx *sql.Tx) ([]string, error) {
	rows, err := tx.QueryContext(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' AND LEFT(table_comment, ?) = ? ORDER BY table_name",
		len(typedTablePrefix), typedTablePrefix)
	if err != nil {
		return nil, fmt.Errorf("list typed tables: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("list typed tables: %w", err)
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// isNoTable reports the server's "table doesn't exist" (1146).
func isNoTable(err error) bool {
	var my *mysql.MySQLError
	return errors.As(err, &my) && my.Number == 1146
}
