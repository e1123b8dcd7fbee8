package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/columns"
)

// subjects finds and removes one data subject's records in the good and
// failed tables (accord subject export and delete).
type subjects struct{ opts Options }

var _ sink.SubjectStore = subjects{}

// open opens the database for the subject commands: read-only to export,
// so it can run beside a collector; read-write to delete, waiting up to
// busy_timeout for the collector's writes.
func (s subjects) open(write bool) (*sql.DB, error) {
	if _, err := os.Stat(s.opts.Path); err != nil {
		return nil, fmt.Errorf("open %s: %w", s.opts.Path, err)
	}
	mode := "ro"
	if write {
		mode = "rw"
	}
	db, err := sql.Open("sqlite", readerURI(s.opts.Path, mode, s.opts.BusyTimeout))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", s.opts.Path, err)
	}
	return db, nil
}

// where is the condition selecting q's records: identity columns compared
// with the ids, payload and contexts searched for each pseudonym.
func where(q sink.SubjectQuery) (string, []any) {
	var or []string
	var args []any
	in := func(expr string, ids []string) {
		if len(ids) == 0 {
			return
		}
		marks := make([]string, len(ids))
		for i, id := range ids {
			marks[i] = "?"
			args = append(args, id)
		}
		or = append(or, expr+" IN ("+strings.Join(marks, ", ")+")")
	}
	in("json_extract(identity, '$.user_id')", q.UserIDs)
	in("json_extract(identity, '$.anonymous_id')", q.AnonymousIDs)
	in("json_extract(identity, '$.network_user_id')", q.AnonymousIDs)
	for _, p := range q.Pseudonyms {
		or = append(or, "instr(coalesce(payload, ''), ?) > 0", "instr(coalesce(contexts, ''), ?) > 0")
		args = append(args, p, p)
	}
	if len(or) == 0 {
		return "0", nil // no id: nobody's records
	}
	return "(" + strings.Join(or, " OR ") + ")", args
}

func (s subjects) tables() []struct {
	name string
	cols []columns.Column
} {
	return []struct {
		name string
		cols []columns.Column
	}{{s.opts.GoodTable, columns.Good()}, {s.opts.FailedTable, columns.Failed()}}
}

// ExportSubject implements sink.SubjectStore.
func (s subjects) ExportSubject(ctx context.Context, q sink.SubjectQuery, fn func(*event.Envelope) error) ([]sink.StoreCount, error) {
	db, err := s.open(false)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	cond, args := where(q)
	var counts []sink.StoreCount
	for _, t := range s.tables() {
		n, err := s.export(ctx, db, t.name, t.cols, cond, args, q, fn)
		if err != nil {
			return counts, err
		}
		counts = append(counts, sink.StoreCount{Store: t.name, Count: n})
	}
	return counts, nil
}

func (s subjects) export(ctx context.Context, db *sql.DB, table string, cols []columns.Column, cond string, args []any, q sink.SubjectQuery, fn func(*event.Envelope) error) (int64, error) {
	rows, err := db.QueryContext(ctx, fmt.Sprintf("SELECT %s FROM %q WHERE %s ORDER BY collected_at, event_id", envelopeJSON(cols), table, cond), args...)
	if err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return 0, nil // nothing was ever stored there
		}
		return 0, fmt.Errorf("read %s: %w", table, err)
	}
	defer rows.Close()
	var n int64
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			return n, fmt.Errorf("read %s: %w", table, err)
		}
		rec := new(event.Envelope)
		if err := event.DecodeEnvelope(doc, rec); err != nil {
			return n, fmt.Errorf("read %s: %w", table, err)
		}
		if !q.Match(rec) {
			continue // instr matched text the decoded record does not hold
		}
		n++
		if err := fn(rec); err != nil {
			return n, err
		}
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("read %s: %w", table, err)
	}
	return n, nil
}

// DeleteSubject implements sink.SubjectStore. Both tables are changed in
// one transaction: all of the subject's records go, or none.
func (s subjects) DeleteSubject(ctx context.Context, q sink.SubjectQuery) ([]sink.StoreCount, error) {
	db, err := s.open(true)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("delete from %s: %w", s.opts.Path, err)
	}
	defer func() { _ = tx.Rollback() }()
	cond, args := where(q)
	var counts []sink.StoreCount
	// The typed tables (typed.go) hold good records again: their rows go
	// by the event_ids the good table's selected rows have.
	typed, err := typedTableNames(ctx, func(ctx context.Context, query string) ([]string, error) {
		rows, err := tx.QueryContext(ctx, query)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var names []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				return nil, err
			}
			names = append(names, n)
		}
		return names, rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list typed tables: %w", err)
	}
	for _, name := range typed {
		res, err := tx.ExecContext(ctx, fmt.Sprintf("DELETE FROM %q WHERE event_id IN (SELECT event_id FROM %q WHERE %s)", name, s.opts.GoodTable, cond), args...)
		if err != nil {
			return nil, fmt.Errorf("delete from %s: %w", name, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, fmt.Errorf("delete from %s: %w", name, err)
		}
		counts = append(counts, sink.StoreCount{Store: name, Count: n})
	}
	for _, t := range s.tables() {
		res, err := tx.ExecContext(ctx, fmt.Sprintf("DELETE FROM %q WHERE %s", t.name, cond), args...)
		if err != nil {
			if strings.Contains(err.Error(), "no such table") {
				counts = append(counts, sink.StoreCount{Store: t.name})
				continue
			}
			return nil, fmt.Errorf("delete from %s: %w", t.name, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, fmt.Errorf("delete from %s: %w", t.name, err)
		}
		counts = append(counts, sink.StoreCount{Store: t.name, Count: n})
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("delete from %s: %w", s.opts.Path, err)
	}
	return counts, nil
}
