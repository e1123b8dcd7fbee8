package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/sink/tables"
)

// migrationsTable records every DDL statement the sink or `accord tables
// apply` ran, with the contract and version it was for.
const migrationsTable = "accord_migrations"

// lockKey is the advisory lock every DDL transaction of one schema holds,
// so that two collectors starting against one database take turns: the
// second reads the catalog after the first committed, and finds nothing to
// do.
func lockKey(schema string) string {
	return "SELECT pg_advisory_xact_lock(hashtext(" + quoteLiteral("accord tables "+schema) + "))"
}

// planner reads a schema's catalog and plans against it, inside the
// transaction tx.
type planner struct {
	tx     pgx.Tx
	schema string
	raw    string
	model  tables.Options
	// liveContexts: see tables.SchemaPlan.LiveContextsOnly.
	liveContexts bool
	// resolve finds a contract by key, for the reasons of a migration
	// (tables.Explain); nil: steps go without reasons.
	resolve func(key string) (*contract.Contract, error)
}

// plan plans the sink's own tables, then each wanted typed table
// (tables.PlanSchema).
func (p *planner) plan(ctx context.Context, wants []tables.Want) (*tables.Migration, error) {
	live, err := p.catalog(ctx)
	if err != nil {
		return nil, err
	}
	var own []tables.Step
	for _, t := range p.ownTables() {
		if _, ok := live[t.Name]; !ok {
			own = append(own, t.steps...)
		}
	}
	if t := live[migrationsTable]; t != nil {
		if _, ok := t.Columns["reason"]; !ok {
			// Made by the first version of the sink, before reasons.
			own = append(own, tables.Step{Table: migrationsTable, Statement: "ALTER TABLE " + quoteIdent(migrationsTable) + " ADD COLUMN reason text"})
		}
	}
	m, err := tables.PlanSchema(tables.SchemaPlan{
		Dialect: Dialect{}, Model: p.model, Live: live, LiveContextsOnly: p.liveContexts,
		Explain: func(steps []tables.Step, c *contract.Contract) { p.explain(ctx, live, steps, c) },
	}, wants)
	if err != nil {
		return nil, err
	}
	m.Steps = append(own, m.Steps...)
	return m, nil
}

// explain gives steps the reasons compat.Diff finds between the version
// the table was last migrated for (in the migrations table) and c. Reasons
// are for people reading the plan: when the earlier version cannot be
// found or compared, the steps go without, and the migration is the same.
func (p *planner) explain(ctx context.Context, live map[string]*tables.Live, steps []tables.Step, c *contract.Contract) {
	if p.resolve == nil || live[migrationsTable] == nil {
		return
	}
	var version string
	err := p.tx.QueryRow(ctx, "SELECT version FROM "+quoteIdent(migrationsTable)+" WHERE contract = $1 AND version <> $2 ORDER BY id DESC LIMIT 1",
		steps[0].Contract, c.Version).Scan(&version)
	if err != nil {
		return
	}
	tables.ExplainSince(steps, c, version, p.resolve)
}

// ownTable is one of the sink's own tables and the statements creating it.
type ownTable struct {
	Name  string
	steps []tables.Step
}

func (p *planner) ownTables() []ownTable {
	own := func(name string, stmts ...string) ownTable {
		t := ownTable{Name: name}
		for _, s := range stmts {
			t.steps = append(t.steps, tables.Step{Table: name, Statement: s})
		}
		return t
	}
	return []ownTable{
		own(migrationsTable,
			"CREATE TABLE "+quoteIdent(migrationsTable)+" (id bigserial PRIMARY KEY, contract text NOT NULL, version text NOT NULL, statement text NOT NULL, applied_at timestamp with time zone NOT NULL DEFAULT now(), reason text)",
			"COMMENT ON TABLE "+quoteIdent(migrationsTable)+" IS "+quoteLiteral("Every DDL statement Accord ran in this schema, with the contract and version it was for")),
		own(p.raw, rawTableDDL(p.raw)...),
	}
}

// catalog reads the schema's tables and columns, as they are now.
func (p *planner) catalog(ctx context.Context) (map[string]*tables.Live, error) {
	rows, err := p.tx.Query(ctx, tables.CatalogQuery+"$1", p.schema)
	if err != nil {
		return nil, fmt.Errorf("read the catalog of schema %s: %w", p.schema, err)
	}
	defer rows.Close()
	live, err := tables.ReadCatalog(rows)
	if err != nil {
		return nil, fmt.Errorf("read the catalog of schema %s: %w", p.schema, err)
	}
	return live, nil
}

// apply runs the steps in tx and records each in the migrations table.
func apply(ctx context.Context, tx pgx.Tx, steps []tables.Step) error {
	for _, s := range steps {
		if _, err := tx.Exec(ctx, s.Statement); err != nil {
			return fmt.Errorf("run %q: %w", s.Statement, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO "+quoteIdent(migrationsTable)+" (contract, version, statement, reason) VALUES ($1, $2, $3, NULLIF($4, ''))",
			s.Contract, s.Version, s.Statement, s.Reason); err != nil {
			return fmt.Errorf("record migration: %w", err)
		}
	}
	return nil
}

// beginDDL starts a DDL transaction on schema: takes the advisory lock,
// and creates the schema when missing. Whether it exists is read with a
// query, not CREATE SCHEMA IF NOT EXISTS: an advisory lock does not make
// the session see catalog changes committed while it waited, so IF NOT
// EXISTS could miss a schema another collector just created and fail.
func beginDDL(ctx context.Context, conn interface {
	Begin(context.Context) (pgx.Tx, error)
}, schema string) (pgx.Tx, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	fail := func(err error) (pgx.Tx, error) {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("prepare schema %s: %w", schema, err)
	}
	if _, err := tx.Exec(ctx, lockKey(schema)); err != nil {
		return fail(err)
	}
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists); err != nil {
		return fail(err)
	}
	if !exists {
		if _, err := tx.Exec(ctx, "CREATE SCHEMA "+quoteIdent(schema)); err != nil {
			return fail(err)
		}
	}
	return tx, nil
}
