package mysql

import (
	"testing"

	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/sqltest"
)

// claims opens a sink on a database of the test's own, for sqltest's
// checks of records sharing an event_id. A batch is staged
// maxRowsPerInsert rows an INSERT, so the checks also put a record and
// another with its id either side of an INSERT's end.
var claims = sqltest.ClaimsHarness{
	Open: func(t *testing.T, cs sink.Contracts) (sink.Sink, func(string) string) {
		opts := testDatabase(t)
		return openSink(t, opts, cs), func(q string) string { return query(t, opts, q) }
	},
	Bool: func(b bool) string {
		if b {
			return "1"
		}
		return "0"
	},
	RowsPerInsert: maxRowsPerInsert,
}

// TestSameEventIDInOneBatch: sqltest.SameEventIDInOneBatch against MariaDB
// (first come, first served on event_id; docs/sinks/mysql.md).
func TestSameEventIDInOneBatch(t *testing.T) { sqltest.SameEventIDInOneBatch(t, claims) }

// TestTypedRowIsTheRawRows: sqltest.TypedRowIsTheRawRows against MariaDB.
func TestTypedRowIsTheRawRows(t *testing.T) { sqltest.TypedRowIsTheRawRows(t, claims) }
