package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

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
			// A write waits this long for a lock another program holds
			// before it fails.
			opts.BusyTimeout = 50 * time.Millisecond
			s, err := New(*opts, nil)
			if err != nil {
				t.Fatal(err)
			}
			var locker *sql.Conn
			return sinktest.Instance{
				Sink:    s,
				Options: opts,
				Stored: func(t *testing.T) ([]*event.Envelope, []*event.Envelope) {
					db := readDB(t, opts.Path)
					return storedRecords(t, db, opts.GoodTable, columns.Good()), storedRecords(t, db, opts.FailedTable, columns.Failed())
				},
				// Another program holding the write lock (a long UPDATE
				// run by hand on the file) is a transient failure: the
				// write succeeds once the lock is free. SQLite has no
				// refusal of records as such, nor a time to retry at.
				Fail: func(f sinktest.Failure) bool {
					ctx := context.Background()
					switch f {
					case sinktest.Transient:
						var err error
						if locker, err = readDB(t, opts.Path).Conn(ctx); err != nil {
							t.Fatal(err)
						}
						if _, err := locker.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
							t.Fatal(err)
						}
						return true
					case sinktest.None:
						if locker != nil {
							if _, err := locker.ExecContext(ctx, "ROLLBACK"); err != nil {
								t.Fatal(err)
							}
							locker.Close()
							locker = nil
						}
						return true
					}
					return false
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
