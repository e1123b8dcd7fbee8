package postgres

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/sinktest"
	"github.com/accord-events/accord/internal/testenv"
)

var schemaSeq atomic.Int64

// testDSN is the test database: ACCORD_TEST_POSTGRES_DSN, or the one
// scripts/test starts on this machine.
func testDSN() string {
	if dsn := os.Getenv("ACCORD_TEST_POSTGRES_DSN"); dsn != "" {
		return dsn
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// testSchema returns options for a schema of the test's own, dropped when
// the test ends. Without a server the test is skipped, unless CI=true,
// where a missing server is a broken setup.
func testSchema(t testing.TB) *Options {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testDSN())
	if err != nil {
		testenv.Missing(t, "PostgreSQL at %s is unreachable: %v", testDSN(), err)
	}
	conn.Close(ctx)
	opts := NewOptions()
	opts.DSN = testDSN()
	opts.Schema = fmt.Sprintf("sinktest_%d_%d", os.Getpid(), schemaSeq.Add(1))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, testDSN())
		if err != nil {
			t.Errorf("drop schema %s: %v", opts.Schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+quoteIdent(opts.Schema)+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", opts.Schema, err)
		}
	})
	return opts
}

func testConn(t testing.TB) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), testDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestConformance(t *testing.T) {
	sinktest.Run(t, sinktest.Harness{
		Type:    Type(),
		Dedupes: true,
		New: func(t *testing.T) sinktest.Instance {
			opts := testSchema(t)
			// A write waits this long for a lock another session holds.
			opts.LockTimeout = 100 * time.Millisecond
			s, err := New(*opts, sink.Deps{})
			if err != nil {
				t.Fatal(err)
			}
			var locker pgx.Tx
			return sinktest.Instance{
				Sink:    s,
				Options: opts,
				Stored: func(t *testing.T) (good, failed []*event.Envelope) {
					conn := testConn(t)
					table := quoteIdent(opts.Schema) + "." + quoteIdent(opts.RawTable)
					for _, part := range []struct {
						valid bool
						out   *[]*event.Envelope
					}{{true, &good}, {false, &failed}} {
						err := readRecords(context.Background(), conn, table, "valid = $1 ORDER BY collected_at, event_id", []any{part.valid}, func(r *event.Envelope) error {
							*part.out = append(*part.out, r)
							return nil
						})
						if err != nil {
							t.Fatal(err)
						}
					}
					return good, failed
				},
				// Another session holding a lock on the raw table (a long
				// ALTER TABLE run by hand) is a transient failure: the
				// write succeeds once the lock is free.
				Fail: func(f sinktest.Failure) bool {
					ctx := context.Background()
					switch f {
					case sinktest.Transient:
						conn := testConn(t)
						var err error
						if locker, err = conn.Begin(ctx); err != nil {
							t.Fatal(err)
						}
						if _, err := locker.Exec(ctx, "LOCK TABLE "+quoteIdent(opts.Schema)+"."+quoteIdent(opts.RawTable)+" IN ACCESS EXCLUSIVE MODE"); err != nil {
							t.Fatal(err)
						}
						return true
					case sinktest.None:
						if locker != nil {
							if err := locker.Rollback(ctx); err != nil {
								t.Fatal(err)
							}
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
