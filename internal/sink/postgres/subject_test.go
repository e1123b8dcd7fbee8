package postgres

import (
	"fmt"
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
		EventIDs: func(t *testing.T, table string) []string {
			var ids []string
			for _, row := range query(t, opts, "SELECT event_id FROM "+quoteIdent(table)) {
				ids = append(ids, fmt.Sprint(row[0]))
			}
			return ids
		},
	})
}
