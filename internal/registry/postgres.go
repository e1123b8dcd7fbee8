package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/accord-events/accord/internal/contract"
)

// Postgres is a Backend keeping contracts in a PostgreSQL table, one row per
// contract version.
type Postgres struct {
	pool  *pgxpool.Pool
	table string // as given, for Name and errors
	ident string // quoted for SQL
}

// OpenPostgres connects to the database at dsn and creates table (which may
// be schema-qualified, "registry.contracts") if it does not exist.
func OpenPostgres(ctx context.Context, dsn, table string) (*Postgres, error) {
	ident, err := quoteTable(table)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("open contract registry database: %w", err)
	}
	p := &Postgres{pool: pool, table: table, ident: ident}
	if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+ident+` (
	vendor     text        NOT NULL,
	name       text        NOT NULL,
	format     text        NOT NULL,
	version    text        NOT NULL,
	model      int         NOT NULL,
	revision   int         NOT NULL,
	addition   int         NOT NULL,
	document   jsonb       NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (vendor, name, format, version)
)`); err != nil {
		pool.Close()
		return nil, fmt.Errorf("create contract table %s: %w", table, err)
	}
	return p, nil
}

func quoteTable(table string) (string, error) {
	parts := strings.Split(table, ".")
	if table == "" || len(parts) > 2 {
		return "", fmt.Errorf("contract table %q is not a table name; set it as table or schema.table", table)
	}
	for _, p := range parts {
		if p == "" {
			return "", fmt.Errorf("contract table %q is not a table name; set it as table or schema.table", table)
		}
	}
	return pgx.Identifier(parts).Sanitize(), nil
}

// Name is "postgres/" and the table.
func (p *Postgres) Name() string { return "postgres/" + p.table }

// Fetch returns the document stored under key.
func (p *Postgres) Fetch(ctx context.Context, key contract.Key) ([]byte, error) {
	var doc []byte
	err := p.pool.QueryRow(ctx, `SELECT document::text FROM `+p.ident+
		` WHERE vendor = $1 AND name = $2 AND format = $3 AND version = $4`,
		key.Vendor, key.Name, key.Format, key.Version.String()).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s in %s", ErrNotFound, key, p.table)
	}
	if err != nil {
		return nil, fmt.Errorf("fetch %s from %s: %w", key, p.table, err)
	}
	return doc, nil
}

// List returns every key in the table, in vendor, name and version order.
func (p *Postgres) List(ctx context.Context) ([]contract.Key, error) {
	rows, err := p.pool.Query(ctx, `SELECT vendor, name, format, model, revision, addition FROM `+p.ident+
		` ORDER BY vendor, name, format, model, revision, addition`)
	if err != nil {
		return nil, fmt.Errorf("list contracts in %s: %w", p.table, err)
	}
	var keys []contract.Key
	for rows.Next() {
		var k contract.Key
		if err := rows.Scan(&k.Vendor, &k.Name, &k.Format, &k.Version.Model, &k.Version.Revision, &k.Version.Addition); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list contracts in %s: %w", p.table, err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list contracts in %s: %w", p.table, err)
	}
	return keys, nil
}

// Put stores doc as the contract key. The document must compile as that
// contract (the error wraps contract.ErrInvalidContract otherwise). A key
// already stored with the same document (equal as JSON) is left as it is;
// with a different document the error wraps ErrExists, because a published
// version never changes.
func (p *Postgres) Put(ctx context.Context, key contract.Key, doc []byte) error {
	if _, err := contract.Compile(doc, key, p.Name()+":"+key.String()); err != nil {
		return fmt.Errorf("put %s into %s: %w", key, p.table, err)
	}
	v := key.Version
	tag, err := p.pool.Exec(ctx, `INSERT INTO `+p.ident+
		` (vendor, name, format, version, model, revision, addition, document)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb)
		ON CONFLICT (vendor, name, format, version) DO NOTHING`,
		key.Vendor, key.Name, key.Format, v.String(), v.Model, v.Revision, v.Addition, string(doc))
	if err != nil {
		return fmt.Errorf("put %s into %s: %w", key, p.table, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var same bool
	err = p.pool.QueryRow(ctx, `SELECT document = $5::text::jsonb FROM `+p.ident+
		` WHERE vendor = $1 AND name = $2 AND format = $3 AND version = $4`,
		key.Vendor, key.Name, key.Format, v.String(), string(doc)).Scan(&same)
	if err != nil {
		return fmt.Errorf("put %s into %s: compare with the stored document: %w", key, p.table, err)
	}
	if !same {
		return fmt.Errorf("put %s into %s: %w; publish it as a new version", key, p.table, ErrExists)
	}
	return nil
}

// Close closes the connections.
func (p *Postgres) Close() { p.pool.Close() }
