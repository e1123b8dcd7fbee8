package mysql

import (
	"strings"

	"github.com/accord-events/accord/internal/sink/columns"
)

// rawType is how the raw table declares an envelope column. event_id is a
// VARCHAR: a unique key cannot be TEXT.
func rawType(c columns.Column) string {
	if c.Name == columns.Key {
		return keyType
	}
	switch c.Type {
	case columns.Bool:
		return "BOOLEAN"
	case columns.Time:
		return "DATETIME(6)"
	case columns.JSON:
		return "JSON"
	}
	return "TEXT"
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
		decls[i] = quoteIdent(c.Name) + " " + rawType(c)
		if constraints && !c.Nullable {
			decls[i] += " NOT NULL"
		} else {
			decls[i] += " NULL"
		}
	}
	return strings.Join(decls, ", ")
}

// rawTableDDL creates the raw table. event_id is UNIQUE rather than the
// primary key: a record without an id (NULL) is kept, never a duplicate.
// The schema index covers the first 191 characters, what an index of a
// TEXT column may.
func rawTableDDL(name string) []string {
	q := quoteIdent(name)
	return []string{
		"CREATE TABLE " + q + " (accord_row BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, " + columnDecls(rawColumns(), true) +
			", UNIQUE KEY " + quoteIdent("event_id") + " (event_id), KEY " + quoteIdent("collected_at") + " (collected_at), KEY " +
			quoteIdent("schema") + " (`schema`(191))) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT=" +
			quoteLiteral("Every record Accord delivered, good (valid) and failed (with failure, raw)"),
	}
}

// stagingTable is the session's temporary table a batch is inserted into
// before it goes, idempotently, into the raw and typed tables, which read
// the typed values out of it.
const stagingTable = "accord_staging"

func stagingDDL() string {
	return "CREATE TEMPORARY TABLE IF NOT EXISTS " + stagingTable + " (" + columnDecls(rawColumns(), false) + ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
}
