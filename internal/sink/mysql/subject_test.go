package mysql

import (
	"testing"

	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/sqltest"
)

// The subject store's export and delete, checked as for the postgres sink
// (sqltest.Subjects), against MySQL.
func TestSubjectExportAndDelete(t *testing.T) {
	opts := testDatabase(t)
	sqltest.Subjects(t, sqltest.SubjectHarness{
		Type: Type(), Options: opts,
		Open: func(t *testing.T, cs sink.Contracts) sink.Sink { return openSink(t, opts, cs) },
		Rows: func(t *testing.T, q string) string { return query(t, opts, q) },
	})
}
