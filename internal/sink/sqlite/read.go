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

// envelopeJSON is an SQL expression that rebuilds a row of a table of the
// columns cols as the envelope's JSON, so that reading back goes through
// the same decoder as records read from the spool.
func envelopeJSON(cols []columns.Column) string {
	var b strings.Builder
	b.WriteString("json_object(")
	for _, c := range cols {
		if c.Member == "" {
			continue // repeats part of another column
		}
		if b.Len() > len("json_object(") {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s, ", quoteLiteral(c.Member))
		switch c.Type {
		case columns.Bool:
			fmt.Fprintf(&b, "json(CASE WHEN %s THEN 'true' ELSE 'false' END)", c.Name)
		case columns.JSON:
			fmt.Fprintf(&b, "json(%s)", c.Name)
		default:
			b.WriteString(c.Name)
		}
	}
	b.WriteString(")")
	return b.String()
}

// ReadFailed calls fn with each failed record q selects, oldest first. It
// opens the database read-only, so it can run beside a collector writing
// to it.
func ReadFailed(ctx context.Context, opts Options, q sink.FailedQuery, fn func(*event.Envelope) error) error {
	if _, err := os.Stat(opts.Path); err != nil {
		return fmt.Errorf("read failed records: %w", err)
	}
	db, err := sql.Open("sqlite", readerURI(opts.Path, "ro", opts.BusyTimeout))
	if err != nil {
		return fmt.Errorf("open %s: %w", opts.Path, err)
	}
	defer db.Close()
	// The sink creates its failed table with the first failed record:
	// until then there is nothing to read, which is no error.
	var tables int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", opts.FailedTable).Scan(&tables); err != nil {
		return fmt.Errorf("read failed records from %s: %w", opts.FailedTable, err)
	}
	if tables == 0 {
		return nil
	}

	var where []string
	var args []any
	if len(q.Types) > 0 {
		marks := make([]string, len(q.Types))
		for i, t := range q.Types {
			marks[i] = "?"
			args = append(args, string(t))
		}
		where = append(where, "failure_type IN ("+strings.Join(marks, ", ")+")")
	}
	if q.Schema != "" {
		// A prefix is matched in Go (q.Match) too; here it only narrows.
		where = append(where, "substr(schema, 1, ?) = ?")
		args = append(args, len(q.Schema), q.Schema)
	}
	if !q.Since.IsZero() {
		where = append(where, "collected_at >= ?")
		args = append(args, q.Since.UTC().Format(event.TimeLayout))
	}
	if !q.Until.IsZero() {
		where = append(where, "collected_at < ?")
		args = append(args, q.Until.UTC().Format(event.TimeLayout))
	}
	query := "SELECT " + envelopeJSON(columns.Failed()) + " FROM " + opts.FailedTable
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY collected_at, event_id"
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("read failed records from %s: %w", opts.FailedTable, err)
	}
	defer rows.Close()
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			return fmt.Errorf("read failed record: %w", err)
		}
		rec := new(event.Envelope)
		if err := event.DecodeEnvelope(doc, rec); err != nil {
			return fmt.Errorf("read failed record: %w", err)
		}
		if !q.Match(rec) {
			continue
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read failed records from %s: %w", opts.FailedTable, err)
	}
	return nil
}
