package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/redact"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/columns"
)

// ReadFailed calls fn with each failed record of the raw table q selects,
// oldest first. It reads over a connection of its own, so it can run
// beside a collector writing to the table.
func ReadFailed(ctx context.Context, opts Options, q sink.FailedQuery, fn func(*event.Envelope) error) error {
	conn, err := pgx.Connect(ctx, opts.DSN)
	if err != nil {
		return fmt.Errorf("read failed records: %s", redact.Error(err))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	where := []string{"NOT valid"}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if len(q.Types) > 0 {
		types := make([]string, len(q.Types))
		for i, t := range q.Types {
			types[i] = string(t)
		}
		where = append(where, "failure_type = ANY("+arg(types)+")")
	}
	if q.Schema != "" {
		// A prefix is matched in Go (q.Match) too; here it only narrows.
		where = append(where, "starts_with(schema, "+arg(q.Schema)+")")
	}
	if !q.Since.IsZero() {
		where = append(where, "collected_at >= "+arg(q.Since))
	}
	if !q.Until.IsZero() {
		where = append(where, "collected_at < "+arg(q.Until))
	}
	table := quoteIdent(opts.Schema) + "." + quoteIdent(opts.RawTable)
	return readRecords(ctx, conn, table, strings.Join(where, " AND ")+" ORDER BY collected_at, event_id", args, func(r *event.Envelope) error {
		if !q.Match(r) {
			return nil
		}
		return fn(r)
	})
}

// readRecords reads rows of a raw table back as envelopes, rebuilding each
// row as the envelope's JSON so that it goes through the same decoder as
// records read from the spool.
func readRecords(ctx context.Context, conn *pgx.Conn, table, where string, args []any, fn func(*event.Envelope) error) error {
	cols := rawColumns()
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = quoteIdent(c.Name)
		if c.Type == columns.JSON {
			sel[i] += "::text" // the text as written, not re-encoded
		}
	}
	rows, err := conn.Query(ctx, "SELECT "+strings.Join(sel, ", ")+" FROM "+table+" WHERE "+where, args...)
	if err != nil {
		return fmt.Errorf("read records from %s: %w", table, err)
	}
	defer rows.Close()
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
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
			doc = appendValue(doc, vals[i], c.Type == columns.JSON)
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

// appendValue appends a column's value as JSON: JSON text as it is, the
// rest encoded.
func appendValue(doc []byte, v any, isJSON bool) []byte {
	switch v := v.(type) {
	case nil:
		return append(doc, "null"...)
	case time.Time:
		return strconv.AppendQuote(doc, v.UTC().Format(event.TimeLayout))
	case bool:
		return strconv.AppendBool(doc, v)
	case string:
		if isJSON {
			return append(doc, v...)
		}
	}
	b, _ := json.Marshal(v)
	return append(doc, b...)
}
