package mysql

import (
	"context"
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
		EventIDs: func(t *testing.T, table string) []string {
			rows, err := testDB(t, opts).QueryContext(context.Background(), "SELECT event_id FROM "+quoteIdent(table))
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var ids []string
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			return ids
		},
	})
}
