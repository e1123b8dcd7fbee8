package postgres

import (
	"strings"

	"github.com/accord-events/accord/internal/sink/tables"
)

// typedInsert returns the statement that inserts a batch's good records of
// t's contract MODEL from the staging table into t, once they are in the
// raw table raw. PostgreSQL computes every typed column from the staged
// event data, so a value the column cannot hold fails with its own error.
// The event data and contexts are parsed once per row (the CTE), not once
// per column. A record the raw insert skipped, as raw holds its event_id
// for another record (a failed one, another event), gets no typed row: the
// typed table would otherwise hold under that id an event the raw table
// has not.
func typedInsert(raw string) func(t *tables.Table) string {
	return func(t *tables.Table) string { return typedInsertInto(raw, t) }
}

func typedInsertInto(raw string, t *tables.Table) string {
	parts := strings.SplitN(t.Contract, "/", 3)
	names := make([]string, len(t.Columns))
	exprs := make([]string, len(t.Columns))
	// The subquery keeps only what the columns read, and parses the event
	// data and the contexts only for a table with columns from them: each
	// member it carries is copied into the materialized rows, and each
	// parse is paid a row; together a tenth of the typed insert for the
	// benchmark's table (docs/performance-log.md, "The PostgreSQL typed
	// insert").
	var kept []string
	var data, contexts bool
	for i, c := range t.Columns {
		names[i] = quoteIdent(c.Name)
		exprs[i] = valueExpr(c)
		switch {
		case c.Source.Envelope != "":
			kept = append(kept, "s."+quoteIdent(c.Source.Envelope))
		case c.Source.Context != "":
			contexts = true
		default:
			data = true
		}
	}
	if data {
		kept = append(kept, "s.payload::jsonb AS accord_data")
	}
	if contexts {
		kept = append(kept, "s.contexts::jsonb AS accord_contexts")
	}
	// MATERIALIZED: PostgreSQL would otherwise fold the subquery into
	// the SELECT and parse the event data once per column (15 parses a
	// row for a 15-column contract; BenchmarkWrite ran several times
	// slower so).
	return "WITH x AS MATERIALIZED (SELECT " + strings.Join(kept, ", ") + " FROM " + stagingTable + " s" +
		" WHERE s.valid AND s.vendor = " + quoteLiteral(parts[0]) + " AND s.name = " + quoteLiteral(parts[1]) +
		" AND split_part(s.version, '-', 1) = " + quoteLiteral(parts[2]) +
		" AND EXISTS (SELECT 1 FROM " + quoteIdent(raw) + " r WHERE r.event_id = s.event_id AND r.valid AND r.fingerprint = s.fingerprint AND r.protocol = s.protocol))" +
		" INSERT INTO " + quoteIdent(t.Name) + " (" + strings.Join(names, ", ") + ") SELECT " + strings.Join(exprs, ", ") +
		" FROM x ON CONFLICT (event_id) DO NOTHING"
}

// valueExpr is the SQL expression of c's value in a row of the subquery.
func valueExpr(c tables.Column) string {
	switch {
	case c.Source.Envelope != "":
		e := "x." + quoteIdent(c.Source.Envelope)
		if c.Kind == tables.JSON {
			return e + "::jsonb"
		}
		return e
	case c.Source.Context != "":
		parts := strings.SplitN(c.Source.Context, "/", 3)
		prefix := parts[0] + "/" + parts[1] + "/jsonschema/" + parts[2] + "-"
		return "(SELECT jsonb_agg(e->'data') FROM jsonb_array_elements(x.accord_contexts) e WHERE e->>'schema' ^@ " +
			quoteLiteral("iglu:"+prefix) + " OR e->>'schema' ^@ " + quoteLiteral(prefix) + ")"
	}
	path := make([]string, len(c.Source.Path))
	for i, p := range c.Source.Path {
		path[i] = quoteLiteral(p)
	}
	arr := "ARRAY[" + strings.Join(path, ", ") + "]::text[]"
	value := "NULLIF(x.accord_data #> " + arr + ", 'null'::jsonb)"
	text := "(x.accord_data #>> " + arr + ")"
	switch c.Kind {
	case tables.Text:
		return text
	case tables.BigInt:
		// Through numeric: JSON allows 2.0 for an integer.
		return "(" + value + ")::numeric::bigint"
	case tables.Double:
		return "(" + value + ")::double precision"
	case tables.Bool:
		return "(" + value + ")::boolean"
	case tables.Timestamp:
		return text + "::timestamp with time zone"
	case tables.Date:
		return text + "::date"
	case tables.UUID:
		return text + "::uuid"
	}
	return value
}
