package mysql

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/sink/tables"
)

// migrationsTable records every DDL statement the sink or `accord tables
// apply` ran, with the contract and version it was for.
const migrationsTable = "accord_migrations"

// lockName is the GET_LOCK name every migration of one database holds, so
// that two collectors starting against one database take turns: the
// second reads the catalog after the first ran its DDL, and finds nothing
// to do. Lock names are at most 64 characters, so the database is hashed.
func lockName(database string) string { return "accord_tables_" + tables.Hash(database) }

// planner reads a database's catalog and plans against it, over conn,
// which holds the lock.
type planner struct {
	conn         *sql.Conn
	raw          string
	model        tables.Options
	liveContexts bool
	resolve      func(key string) (*contract.Contract, error)
}

// plan plans the sink's own tables, then each wanted typed table.
func (p *planner) plan(ctx context.Context, wants []tables.Want) (*tables.Migration, error) {
	live, err := p.catalog(ctx)
	if err != nil {
		return nil, err
	}
	var own []tables.Step
	for _, t := range p.ownTables() {
		if _, ok := live[t.Table]; !ok {
			own = append(own, t)
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
// the table was last migrated for and c; without one, steps go without.
func (p *planner) explain(ctx context.Context, live map[string]*tables.Live, steps []tables.Step, c *contract.Contract) {
	if p.resolve == nil || live[migrationsTable] == nil {
		return
	}
	var version string
	err := p.conn.QueryRowContext(ctx, "SELECT version FROM "+quoteIdent(migrationsTable)+" WHERE contract = ? AND version <> ? ORDER BY id DESC LIMIT 1",
		steps[0].Contract, c.Version).Scan(&version)
	if err != nil {
		return
	}
	tables.ExplainSince(steps, c, version, p.resolve)
}

// ownTables are the statements creating the sink's own tables, one each.
func (p *planner) ownTables() []tables.Step {
	return []tables.Step{
		{Table: migrationsTable, Statement: "CREATE TABLE " + quoteIdent(migrationsTable) +
			" (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, contract VARCHAR(255) NOT NULL, version VARCHAR(64) NOT NULL, statement MEDIUMTEXT NOT NULL," +
			" applied_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), reason TEXT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT=" +
			quoteLiteral("Every DDL statement Accord ran in this database, with the contract and version it was for")},
		{Table: p.raw, Statement: rawTableDDL(p.raw)[0]},
	}
}

// catalog reads the database's tables and columns, as they are now.
func (p *planner) catalog(ctx context.Context) (map[string]*tables.Live, error) {
	rows, err := p.conn.QueryContext(ctx, tables.CatalogQuery+"DATABASE()")
	if err != nil {
		return nil, fmt.Errorf("read the catalog: %w", err)
	}
	defer rows.Close()
	live, err := tables.ReadCatalog(rows)
	if err != nil {
		return nil, fmt.Errorf("read the catalog: %w", err)
	}
	return live, nil
}

// apply runs the steps and records each in the migrations table. MySQL
// commits every DDL statement on its own, so a step is recorded right
// after it ran; a migration cut short is finished by the next plan, which
// reads the catalog, not the record.
func apply(ctx context.Context, conn *sql.Conn, steps []tables.Step) error {
	for _, s := range steps {
		if _, err := conn.ExecContext(ctx, s.Statement); err != nil {
			return fmt.Errorf("run %q: %w", s.Statement, err)
		}
		if _, err := conn.ExecContext(ctx, "INSERT INTO "+quoteIdent(migrationsTable)+" (contract, version, statement, reason) VALUES (?, ?, ?, NULLIF(?, ''))",
			s.Contract, s.Version, s.Statement, s.Reason); err != nil {
			return fmt.Errorf("record migration: %w", err)
		}
	}
	return nil
}

// withLock runs fn on a connection holding the database's migration lock,
// waiting for it at most timeout.
func withLock(ctx context.Context, db *sql.DB, database string, timeoutSeconds int, fn func(*sql.Conn) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", lockName(database), timeoutSeconds).Scan(&got); err != nil {
		return fmt.Errorf("take the migration lock: %w", err)
	}
	if !got.Valid || got.Int64 != 1 {
		return fmt.Errorf("take the migration lock: another collector held it for %ds; retrying", timeoutSeconds)
	}
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK(?)", lockName(database))
	}()
	return fn(conn)
}
