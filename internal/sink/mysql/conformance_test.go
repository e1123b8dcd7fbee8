package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/sinktest"
	"github.com/accord-events/accord/internal/testenv"
)

var databaseSeq atomic.Int64

// testServerDSN is the test server, with no database: the host part of
// ACCORD_TEST_MYSQL_DSN, or the MariaDB scripts/test starts on this
// machine.
func testServerDSN() string {
	if dsn := os.Getenv("ACCORD_TEST_MYSQL_DSN"); dsn != "" {
		return dsn
	}
	return "root@tcp(127.0.0.1:3306)/"
}

func testServer(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", testServerDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// testDatabase returns options for a database of the test's own, dropped
// when the test ends. Without a server the test is skipped, unless
// CI=true, where a missing server is a broken setup.
func testDatabase(t testing.TB) *Options {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	db := testServer(t)
	if err := db.PingContext(ctx); err != nil {
		testenv.Missing(t, "MySQL at %s is unreachable: %v", testServerDSN(), err)
	}
	name := fmt.Sprintf("sinktest_%d_%d", os.Getpid(), databaseSeq.Add(1))
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+quoteIdent(name)+" CHARACTER SET utf8mb4"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(name)); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	cfg, err := mysql.ParseDSN(testServerDSN())
	if err != nil {
		t.Fatal(err)
	}
	cfg.DBName = name
	opts := NewOptions()
	opts.DSN = cfg.FormatDSN()
	return opts
}

// testDB is a pool on the options' database, with the sink's session
// settings.
func testDB(t testing.TB, opts *Options) *sql.DB {
	t.Helper()
	db, _, err := open(context.Background(), *opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	sinktest.Run(t, sinktest.Harness{
		Type:    Type(),
		Dedupes: true,
		New: func(t *testing.T) sinktest.Instance {
			opts := testDatabase(t)
			// A write waits this long for a lock another session holds.
			opts.LockTimeout = time.Second
			s, err := New(*opts, sink.Deps{})
			if err != nil {
				t.Fatal(err)
			}
			var locker *sql.Conn
			return sinktest.Instance{
				Sink:    s,
				Options: opts,
				Stored: func(t *testing.T) (good, failed []*event.Envelope) {
					db := testDB(t, opts)
					for _, part := range []struct {
						valid bool
						out   *[]*event.Envelope
					}{{true, &good}, {false, &failed}} {
						err := readRecords(context.Background(), db, quoteIdent(opts.RawTable), "valid = ? ORDER BY collected_at, event_id", []any{part.valid}, func(r *event.Envelope) error {
							*part.out = append(*part.out, r)
							return nil
						})
						if err != nil {
							t.Fatal(err)
						}
					}
					return good, failed
				},
				// Another session holding the raw table locked (LOCK
				// TABLES, a long ALTER TABLE run by hand) is a transient
				// failure: the write succeeds once the lock is free.
				Fail: func(f sinktest.Failure) bool {
					ctx := context.Background()
					switch f {
					case sinktest.Transient:
						var err error
						if locker, err = testDB(t, opts).Conn(ctx); err != nil {
							t.Fatal(err)
						}
						if _, err := locker.ExecContext(ctx, "LOCK TABLES "+quoteIdent(opts.RawTable)+" WRITE"); err != nil {
							t.Fatal(err)
						}
						return true
					case sinktest.None:
						if locker != nil {
							if _, err := locker.ExecContext(ctx, "UNLOCK TABLES"); err != nil {
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
