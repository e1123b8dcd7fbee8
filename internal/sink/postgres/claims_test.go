package postgres

import (
	"strconv"
	"testing"

	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/sqltest"
)

// claims opens a sink on a schema of the test's own, for sqltest's
// checks of records sharing an event_id. A batch is copied whole (COPY)
// and inserted by one statement a table: it has no insert boundary for a
// duplicate to straddle.
var claims = sqltest.ClaimsHarness{
	Open: func(t *testing.T, cs sink.Contracts) (sink.Sink, func(string) string) {
		opts := testSchema(t)
		return openSink(t, opts, cs), func(q string) string { return show(query(t, opts, q)) }
	},
	Bool: strconv.FormatBool,
}

// TestSameEventIDInOneBatch: sqltest.SameEventIDInOneBatch against
// PostgreSQL (first come, first served on event_id; docs/sinks/postgres.md).
func TestSameEventIDInOneBatch(t *testing.T) { sqltest.SameEventIDInOneBatch(t, claims) }

// TestTypedRowIsTheRawRows: sqltest.TypedRowIsTheRawRows against PostgreSQL.
func TestTypedRowIsTheRawRows(t *testing.T) { sqltest.TypedRowIsTheRawRows(t, claims) }
