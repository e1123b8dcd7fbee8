package postgres

import (
	"strings"

	"github.com/accord-events/accord/internal/sink/tables"
)

// Dialect is PostgreSQL's tables.Dialect.
type Dialect struct{}

var _ tables.Dialect = Dialect{}

// reserved is PostgreSQL's reserved key words (reserved, and reserved but
// allowed as a function or type name): a column named so needs quoting in
// every query. TestReservedWordsMatchTheServer holds it to pg_get_keywords.
var reserved = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`all analyse analyze and any array as asc asymmetric authorization binary both
		case cast check collate collation column concurrently constraint create cross current_catalog current_date
		current_role current_schema current_time current_timestamp current_user default deferrable desc distinct do
		else end except false fetch for foreign freeze from full grant group having ilike in initially inner
		intersect into is isnull join lateral leading left like limit localtime localtimestamp natural not notnull
		null offset on only or order outer overlaps placing primary references returning right select session_user
		similar some symmetric system_user table tablesample then to trailing true union unique user using variadic
		verbose when where window with`) {
		reserved[w] = true
	}
}

// MaxIdentifier is NAMEDATALEN-1: PostgreSQL cuts longer names silently,
// so the model shortens them itself, deterministically.
func (Dialect) MaxIdentifier() int { return 63 }

// Reserved reports whether word is a reserved key word.
func (Dialect) Reserved(word string) bool { return reserved[word] }

// Quote quotes an identifier.
func (Dialect) Quote(ident string) string { return quoteIdent(ident) }

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// quoteLiteral quotes a string literal (standard_conforming_strings is on
// in every supported PostgreSQL).
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

var columnTypes = map[tables.Kind]string{
	tables.Text:      "text",
	tables.BigInt:    "bigint",
	tables.Double:    "double precision",
	tables.Bool:      "boolean",
	tables.Timestamp: "timestamp with time zone",
	tables.Date:      "date",
	tables.UUID:      "uuid",
	tables.JSON:      "jsonb",
}

// ColumnType is the PostgreSQL type of a kind.
func (Dialect) ColumnType(k tables.Kind) string { return columnTypes[k] }

// KindOf maps information_schema.columns.data_type to a kind.
func (Dialect) KindOf(t string) (tables.Kind, bool) {
	for k, name := range columnTypes {
		if name == t {
			return k, true
		}
	}
	return 0, false
}

// CreateTable creates t with event_id its primary key, and comments.
func (d Dialect) CreateTable(t *tables.Table) []string {
	var b strings.Builder
	b.WriteString("CREATE TABLE " + quoteIdent(t.Name) + " (")
	for i, c := range t.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteIdent(c.Name) + " " + d.ColumnType(c.Kind))
		switch {
		case c.Source.Envelope == "event_id":
			b.WriteString(" PRIMARY KEY")
		case !c.Nullable:
			b.WriteString(" NOT NULL")
		}
	}
	b.WriteString(")")
	stmts := []string{b.String(), "COMMENT ON TABLE " + quoteIdent(t.Name) + " IS " + quoteLiteral(t.Comment)}
	for _, c := range t.Columns {
		if c.Comment != "" {
			stmts = append(stmts, columnComment(t.Name, c))
		}
	}
	return stmts
}

func columnComment(table string, c tables.Column) string {
	return "COMMENT ON COLUMN " + quoteIdent(table) + "." + quoteIdent(c.Name) + " IS " + quoteLiteral(c.Comment)
}

// AddColumn adds c, nullable, with its comment.
func (d Dialect) AddColumn(table string, c tables.Column) []string {
	stmts := []string{"ALTER TABLE " + quoteIdent(table) + " ADD COLUMN " + quoteIdent(c.Name) + " " + d.ColumnType(c.Kind)}
	if c.Comment != "" {
		stmts = append(stmts, columnComment(table, c))
	}
	return stmts
}

// DropNotNull lets a column hold NULL; PostgreSQL rewrites nothing for it.
func (Dialect) DropNotNull(table string, c tables.Column) string {
	return "ALTER TABLE " + quoteIdent(table) + " ALTER COLUMN " + quoteIdent(c.Name) + " DROP NOT NULL"
}
