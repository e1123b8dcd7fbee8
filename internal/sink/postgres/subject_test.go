package postgres

import (
	"testing"

	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/sqltest"
)

// The subject store's export and delete (sqltest.Subjects), against
// PostgreSQL.
func TestSubjectExportAndDelete(t *testing.T) {
	opts := testSchema(t)
	sqltest.Subjects(t, sqltest.SubjectHarness{
		Type: Type(), Options: opts,
		Open: func(t *testing.T, cs sink.Contracts) sink.Sink { return openSink(t, opts, cs) },
		Rows: func(t *testing.T, q string) string { return show(query(t, opts, q)) },
	})
}
