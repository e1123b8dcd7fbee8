package tables

import "github.com/accord-events/accord/internal/contract"

// CatalogQuery reads every base table's columns from information_schema,
// as (table, column, type, nullable) rows for ReadCatalog. The caller ends
// it with the dialect's schema condition, such as "$1" (PostgreSQL, the
// schema as its argument) or "DATABASE()" (MySQL).
const CatalogQuery = `SELECT c.table_name, c.column_name, c.data_type, c.is_nullable = 'YES'
		FROM information_schema.columns c JOIN information_schema.tables t
		  ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
		WHERE c.table_schema = `

// CatalogRows are the rows of a catalog query, as database/sql and pgx
// both give them.
type CatalogRows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// ReadCatalog reads rows of (table, column, type, nullable), such as
// CatalogQuery's, into the tables they describe. The caller closes rows
// and wraps the error with what it was reading.
func ReadCatalog(rows CatalogRows) (map[string]*Live, error) {
	live := map[string]*Live{}
	for rows.Next() {
		var table, column, typ string
		var nullable bool
		if err := rows.Scan(&table, &column, &typ, &nullable); err != nil {
			return nil, err
		}
		AddLive(live, table, column, LiveColumn{Type: typ, Nullable: nullable})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return live, nil
}

// AddLive records column c of table in live, adding the table at its
// first column.
func AddLive(live map[string]*Live, table, column string, c LiveColumn) {
	t := live[table]
	if t == nil {
		t = &Live{Name: table, Columns: map[string]LiveColumn{}}
		live[table] = t
	}
	t.Columns[column] = c
}

// ExplainSince gives steps the reasons (Explain) between next and the
// version of its contract the table was last migrated for, which resolve
// finds by key. Reasons are for people reading the plan: when that
// version cannot be found or compared, the steps go without, and the
// migration is the same.
func ExplainSince(steps []Step, next *contract.Contract, version string, resolve func(key string) (*contract.Contract, error)) {
	prev, err := resolve("iglu:" + next.Key.Vendor + "/" + next.Key.Name + "/jsonschema/" + version)
	if err != nil {
		return
	}
	_ = Explain(steps, prev, next)
}
