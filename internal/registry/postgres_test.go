package registry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/testenv"
)

var tableSeq atomic.Int64

// openTestPostgres opens a backend on a table of its own in the test
// database, dropped when the test ends. Without a server it skips, unless
// CI=true, where a missing server is a broken setup.
func openTestPostgres(t *testing.T) *Postgres {
	t.Helper()
	dsn := os.Getenv("ACCORD_TEST_POSTGRES_DSN")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		testenv.Missing(t, "PostgreSQL at %s is unreachable: %v", dsn, err)
	}
	conn.Close(ctx)

	table := fmt.Sprintf("registry_test_%d_%d", os.Getpid(), tableSeq.Add(1))
	p, err := OpenPostgres(ctx, dsn, table)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Close() // a test may have closed it already; Close is idempotent
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop %s: %v", table, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP TABLE IF EXISTS "+p.ident); err != nil {
			t.Errorf("drop %s: %v", table, err)
		}
	})
	return p
}

func TestPostgresPutFetchList(t *testing.T) {
	p := openTestPostgres(t)
	ctx := context.Background()
	a, b := mustKey(t, keyA), mustKey(t, keyB)
	b2 := mustKey(t, "iglu:com.acme/b/jsonschema/1-0-10")
	for _, k := range []contract.Key{b2, a, b} {
		if err := p.Put(ctx, k, schemaDoc(k)); err != nil {
			t.Fatalf("Put %s: %v", k, err)
		}
	}
	doc, err := p.Fetch(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	c, err := contract.Compile(doc, a, "test")
	if err != nil {
		t.Fatalf("fetched document does not compile: %v", err)
	}
	if c.URI != keyA {
		t.Fatalf("URI = %s", c.URI)
	}
	if _, err := p.Fetch(ctx, mustKey(t, keyC)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Fetch of a missing key: %v, want ErrNotFound", err)
	}
	keys, err := p.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range keys {
		got = append(got, k.String())
	}
	// 1-0-10 after 1-0-0: ordered by number, not text.
	want := []string{keyA, keyB, b2.String()}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("List = %v, want %v", got, want)
	}
}

func TestPostgresPutExisting(t *testing.T) {
	p := openTestPostgres(t)
	ctx := context.Background()
	k := mustKey(t, keyA)
	doc := schemaDoc(k)
	if err := p.Put(ctx, k, doc); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		doc     []byte
		wantErr error
	}{
		{"same bytes", doc, nil},
		{"same JSON, other spacing and key order", []byte(strings.ReplaceAll(strings.Replace(string(doc), `"type": "object",`, "", 1), `"$schema"`, `"type":"object","$schema"`)), nil},
		{"different document", []byte(strings.Replace(string(doc), `"maxLength": 64`, `"maxLength": 65`, 1)), ErrExists},
		{"does not compile", []byte(`{"self": {}}`), contract.ErrInvalidContract},
		{"names another key", schemaDoc(mustKey(t, keyB)), contract.ErrInvalidContract},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := p.Put(ctx, k, tc.doc)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Put: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Put error = %v, want one wrapping %v", err, tc.wantErr)
			}
		})
	}
	// The stored document is still the first one.
	stored, err := p.Fetch(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(stored), `"maxLength": 64`) {
		t.Fatalf("stored document changed: %s", stored)
	}
}

func TestPostgresConcurrentPutOfSameDocument(t *testing.T) {
	p := openTestPostgres(t)
	k := mustKey(t, keyA)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = p.Put(context.Background(), k, schemaDoc(k)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Put %d: %v", i, err)
		}
	}
}

func TestResolverOverPostgres(t *testing.T) {
	p := openTestPostgres(t)
	ctx := context.Background()
	k := mustKey(t, keyB)
	if err := p.Put(ctx, k, schemaDoc(k)); err != nil {
		t.Fatal(err)
	}
	r := NewResolver(contract.NewSet(nil), []Backend{p}, CacheOptions{})
	c, err := r.Resolve(keyB)
	if err != nil {
		t.Fatal(err)
	}
	if want := p.Name() + ":" + keyB; c.Source != want {
		t.Fatalf("Source = %q, want %q", c.Source, want)
	}
	if _, err := r.Resolve(keyC); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing key: %v, want ErrNotFound", err)
	}
}

func TestPostgresFailureIsABackendError(t *testing.T) {
	p := openTestPostgres(t)
	r := NewResolver(nil, []Backend{p}, CacheOptions{})
	p.Close() // the database goes away
	_, err := r.Resolve(keyB)
	var be *BackendError
	if !errors.As(err, &be) || errors.Is(err, ErrNotFound) {
		t.Fatalf("error = %v, want a BackendError that is not ErrNotFound", err)
	}
}

func TestOpenPostgresRejectsTableNames(t *testing.T) {
	for _, table := range []string{"", "a.b.c", ".x", "x."} {
		if _, err := OpenPostgres(context.Background(), "postgres://nowhere.invalid/x", table); err == nil || !strings.Contains(err.Error(), "not a table name") {
			t.Errorf("OpenPostgres(table %q) error = %v, want a table-name error", table, err)
		}
	}
}
