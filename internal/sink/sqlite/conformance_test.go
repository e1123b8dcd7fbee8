package sqlite

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink/columns"
	"github.com/accord-events/accord/internal/sink/sinktest"
)

func TestConformance(t *testing.T) {
	sinktest.Run(t, sinktest.Harness{
		Type:    Type(),
		Dedupes: true,
		New: func(t *testing.T) sinktest.Instance {
			opts := NewOptions()
			opts.Path = filepath.Join(t.TempDir(), "accord.db")
			s, err := New(*opts, nil)
			if err != nil {
				t.Fatal(err)
			}
			return sinktest.Instance{
				Sink:    s,
				Options: opts,
				Stored: func(t *testing.T) ([]*event.Envelope, []*event.Envelope) {
					db := readDB(t, opts.Path)
					return storedRecords(t, db, opts.GoodTable, columns.Good()), storedRecords(t, db, opts.FailedTable, columns.Failed())
				},
			}
		},
	})
}

// storedRecords reads a table's rows back as envelopes, in the order they
// were stored.
func storedRecords(t *testing.T, db *sql.DB, table string, cols []columns.Column) []*event.Envelope {
	t.Helper()
	rows, err := db.Query(fmt.Sprintf("SELECT %s FROM %q ORDER BY rowid", envelopeJSON(cols), table))
	if err != nil {
		t.Fatalf("read %s: %v", table, err)
	}
	defer rows.Close()
	var out []*event.Envelope
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			t.Fatal(err)
		}
		env := new(event.Envelope)
		if err := event.DecodeEnvelope(doc, env); err != nil {
			t.Fatalf("row of %s is not an envelope: %v\n%s", table, err, doc)
		}
		out = append(out, env)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
