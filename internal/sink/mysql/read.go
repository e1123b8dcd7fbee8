package mysql

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/columns"
)

// ReadFailed calls fn with each failed record of the raw table q selects,
// oldest first. It reads over a pool of its own, so it can run beside a
// collector writing to the table.
func ReadFailed(ctx context.Context, opts Options, q sink.FailedQuery, fn func(*event.Envelope) error) error {
	db, _, err := open(ctx, opts)
	if err != nil {
		return fmt.Errorf("read failed records: %w", err)
	}
	defer db.Close()
	where := []string{"NOT valid"}
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
		where = append(where, "LEFT(`schema`, CHAR_LENGTH(?)) = ?")
		args = append(args, q.Schema, q.Schema)
	}
	if !q.Since.IsZero() {
		where = append(where, "collected_at >= ?")
		args = append(args, q.Since.UTC())
	}
	if !q.Until.IsZero() {
		where = append(where, "collected_at < ?")
		args = append(args, q.Until.UTC())
	}
	return readRecords(ctx, db, quoteIdent(opts.RawTable), strings.Join(where, " AND ")+" ORDER BY collected_at, event_id", args, func(r *event.Envelope) error {
		if !q.Match(r) {
			return nil
		}
		return fn(r)
	})
}

// querier is a pool, a connection or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// readRecords reads rows of a raw table back as envelopes, rebuilding each
// row as the envelope's JSON so that it goes through the same decoder as
// records read from the spool.
func readRecords(ctx context.Context, db querier, table, where string, args []any, fn func(*event.Envelope) error) error {
	cols := rawColumns()
	rows, err := db.QueryContext(ctx, "SELECT "+columnList(cols)+" FROM "+table+" WHERE "+where, args...)
	if err != nil {
		return fmt.Errorf("read records from %s: %w", table, err)
	}
	defer rows.Close()
	dest := make([]any, len(cols))
	texts := make([]sql.NullString, len(cols))
	times := make([]sql.NullTime, len(cols))
	bools := make([]sql.NullBool, len(cols))
	for i, c := range cols {
		switch c.Type {
		case columns.Time:
			dest[i] = &times[i]
		case columns.Bool:
			dest[i] = &bools[i]
		default:
			dest[i] = &texts[i]
		}
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("read records from %s: %w", table, err)
		}
		doc := []byte{'{'}
		for i, c := range cols {
			if c.Member == "" {
				continue
			}
			if len(doc) > 1 {
				doc = append(doc, ',')
			}
			doc = strconv.AppendQuote(doc, c.Member)
			doc = append(doc, ':')
			switch c.Type {
			case columns.Time:
				if !times[i].Valid {
					doc = append(doc, "null"...)
				} else {
					doc = strconv.AppendQuote(doc, times[i].Time.UTC().Format(event.TimeLayout))
				}
			case columns.Bool:
				doc = strconv.AppendBool(doc, bools[i].Valid && bools[i].Bool)
			case columns.JSON:
				if !texts[i].Valid {
					doc = append(doc, "null"...)
				} else {
					doc = append(doc, texts[i].String...)
				}
			default:
				if !texts[i].Valid {
					doc = append(doc, "null"...)
				} else {
					b, _ := json.Marshal(texts[i].String)
					doc = append(doc, b...)
				}
			}
		}
		doc = append(doc, '}')
		r := new(event.Envelope)
		if err := event.DecodeEnvelope(doc, r); err != nil {
			return fmt.Errorf("read records from %s: %w", table, err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read records from %s: %w", table, err)
	}
	return nil
}
