package tables

// Dialect is what the model and the planner need of a database: its
// identifier rules, its names for the kinds, and its DDL. PostgreSQL's is
// in internal/sink/postgres, MySQL's in internal/sink/mysql.
type Dialect interface {
	// MaxIdentifier is the longest identifier, in bytes.
	MaxIdentifier() int
	// Reserved reports whether a lower-case word is reserved, so that a
	// column named so would need quoting in every query.
	Reserved(word string) bool
	// Quote quotes an identifier for the dialect's SQL.
	Quote(ident string) string
	// ColumnType is the dialect's type for a kind.
	ColumnType(k Kind) string
	// KindOf maps a type the catalog reports back to a kind; false for a
	// type the model never creates (a column someone added by hand).
	KindOf(catalogType string) (Kind, bool)
	// CreateTable returns the statements that create t, and its comments:
	// event_id its primary key, but for SQLite, whose typed tables leave
	// it unindexed (its columnDecl says why).
	CreateTable(t *Table) []string
	// AddColumn returns the statements that add c to the table, nullable,
	// with its comment.
	AddColumn(table string, c Column) []string
	// DropNotNull returns the statement that lets column c (as the table
	// holds it: its live name and kind) hold NULL.
	DropNotNull(table string, c Column) string
}

// Live is a table as the database's catalog describes it.
type Live struct {
	Name    string
	Columns map[string]LiveColumn
}

// LiveColumn is a column as the catalog describes it.
type LiveColumn struct {
	// Type is the catalog's name for the column's type.
	Type     string
	Nullable bool
}
