package postgres

import (
	"strings"

	"github.com/accord-events/accord/internal/sink/columns"
)

// rawType is how the raw table declares an envelope column. Nested parts
// are json, not jsonb: json keeps the record's text exactly as Accord wrote
// it (key order, numbers), so the raw table reads back as the very record
// delivered, and costs less to write; cast to jsonb to index or query it
// heavily (payload::jsonb), or use the typed tables.
func rawType(t columns.Type) string {
	switch t {
	case columns.Bool:
		return "boolean"
	case columns.Time:
		return "timestamp with time zone"
	case columns.JSON:
		return "json"
	}
	return "text"
}

// rawColumns are the raw table's columns: every column of a failed record
// (those of a good one, then the failure), NULL where a good record has
// none.
func rawColumns() []columns.Column { return columns.Failed() }

func columnList(cols []columns.Column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = quoteIdent(c.Name)
	}
	return strings.Join(names, ", ")
}

func columnDecls(cols []columns.Column, constraints bool) string {
	decls := make([]string, len(cols))
	for i, c := range cols {
		decls[i] = quoteIdent(c.Name) + " " + rawType(c.Type)
		if constraints && !c.Nullable {
			decls[i] += " NOT NULL"
		}
	}
	return strings.Join(decls, ", ")
}

// rawTableDDL creates the raw table. event_id is UNIQUE rather than the
// primary key: a record without an id (NULL) is kept, never a duplicate.
func rawTableDDL(name string) []string {
	q := quoteIdent(name)
	return []string{
		"CREATE TABLE " + q + " (" + columnDecls(rawColumns(), true) + ", UNIQUE (event_id))",
		"CREATE INDEX " + quoteIdent(name+"_collected_at") + " ON " + q + " (collected_at)",
		"CREATE INDEX " + quoteIdent(name+"_schema") + " ON " + q + " (schema)",
		"COMMENT ON TABLE " + q + " IS " + quoteLiteral("Every record Accord delivered, good (valid) and failed (with failure, raw)"),
	}
}

// stagingTable is the session's temporary table a batch is copied into
// before it is inserted, idempotently, into the raw and typed tables.
const stagingTable = "accord_staging"

func stagingDDL() string {
	return "CREATE TEMPORARY TABLE IF NOT EXISTS " + stagingTable + " (" + columnDecls(rawColumns(), false) + ") ON COMMIT DELETE ROWS"
}
