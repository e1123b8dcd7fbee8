package ddl

import (
	"fmt"
	"strings"

	"github.com/accord-events/accord/internal/sink/tables"
)

// The warehouse dialects: the typed-table model of the SQL sinks (names,
// kinds, nullability, comments) in the SQL of warehouses Accord has no
// sink for. Each is a tables.Dialect, so the model and the planner are the
// sinks' own; only types, quoting and DDL differ.

// words builds a reserved-word set from a space-separated list.
func words(list string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(list) {
		m[strings.ToLower(w)] = true
	}
	return m
}

// kindOf maps a type back to its kind through types (for a table the
// dialect created; gen never reads a live catalog).
func kindOf(types map[tables.Kind]string, t string) (tables.Kind, bool) {
	for k, name := range types {
		if strings.EqualFold(name, t) {
			return k, true
		}
	}
	return 0, false
}

// escapeBackslash quotes s as a string literal in quote characters q for a
// dialect whose literals take backslash escapes (BigQuery, Snowflake,
// ClickHouse): backslash, the quote and every control character are
// escaped, so a description can neither end the literal nor the line.
func escapeBackslash(s string, q byte) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == rune(q):
			b.WriteByte('\\')
			b.WriteByte(q)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// BigQuery is Google BigQuery's GoogleSQL: backquoted identifiers, column
// descriptions as OPTIONS, JSON for objects and arrays, and event_id an
// unenforced primary key.
type BigQuery struct{}

var _ tables.Dialect = BigQuery{}

// bigQueryReserved is GoogleSQL's reserved keywords.
var bigQueryReserved = words(`all and any array as asc assert_rows_modified at between by case cast collate contains
	create cross cube current default define desc distinct else end enum escape except exclude exists extract false
	fetch following for from full group grouping groups hash having if ignore in inner intersect interval into is
	join lateral left like limit lookup merge natural new no not null nulls of on or order outer over partition
	preceding proto qualify range recursive respect right rollup rows select set some struct tablesample then to
	treat true unbounded union unnest using when where window with within`)

var bigQueryTypes = map[tables.Kind]string{
	tables.Text:      "STRING",
	tables.BigInt:    "INT64",
	tables.Double:    "FLOAT64",
	tables.Bool:      "BOOL",
	tables.Timestamp: "TIMESTAMP",
	tables.Date:      "DATE",
	tables.UUID:      "STRING(36)",
	tables.JSON:      "JSON",
}

// MaxIdentifier is BigQuery's limit on a column name (300 characters).
func (BigQuery) MaxIdentifier() int { return 300 }

// Reserved reports whether word is a reserved keyword.
func (BigQuery) Reserved(word string) bool { return bigQueryReserved[word] }

// Quote quotes an identifier with backquotes.
func (BigQuery) Quote(ident string) string { return escapeBackslash(ident, '`') }

// ColumnType is the BigQuery type of a kind; a UUID is a STRING(36).
func (BigQuery) ColumnType(k tables.Kind) string { return bigQueryTypes[k] }

// KindOf maps a type back to a kind.
func (BigQuery) KindOf(t string) (tables.Kind, bool) { return kindOf(bigQueryTypes, t) }

func (d BigQuery) column(c tables.Column, nullable bool) string {
	decl := d.Quote(c.Name) + " " + d.ColumnType(c.Kind)
	if !nullable {
		decl += " NOT NULL"
	}
	if c.Comment != "" {
		decl += " OPTIONS(description=" + escapeBackslash(c.Comment, '"') + ")"
	}
	return decl
}

// CreateTable creates t with event_id an unenforced primary key.
func (d BigQuery) CreateTable(t *tables.Table) []string {
	decls := make([]string, 0, len(t.Columns)+1)
	for _, c := range t.Columns {
		decls = append(decls, d.column(c, c.Nullable && c.Source.Envelope != "event_id"))
	}
	decls = append(decls, "PRIMARY KEY ("+d.Quote("event_id")+") NOT ENFORCED")
	return []string{"CREATE TABLE " + d.Quote(t.Name) + " (" + strings.Join(decls, ", ") + ") OPTIONS(description=" + escapeBackslash(t.Comment, '"') + ")"}
}

// AddColumn adds c, nullable (BigQuery adds no REQUIRED column).
func (d BigQuery) AddColumn(table string, c tables.Column) []string {
	return []string{"ALTER TABLE " + d.Quote(table) + " ADD COLUMN " + d.column(c, true)}
}

// DropNotNull makes a REQUIRED column NULLABLE.
func (d BigQuery) DropNotNull(table string, c tables.Column) string {
	return "ALTER TABLE " + d.Quote(table) + " ALTER COLUMN " + d.Quote(c.Name) + " DROP NOT NULL"
}

// Snowflake is Snowflake's SQL. Identifiers are left unquoted when they
// can be (Snowflake folds them to upper case, as its users expect), which
// the model's names always can: lower-case letters, digits and '_', never
// a reserved word. Objects and arrays are VARIANT.
type Snowflake struct{}

var _ tables.Dialect = Snowflake{}

// snowflakeReserved is Snowflake's reserved keywords.
var snowflakeReserved = words(`account all alter and any as between by case cast check column connect connection
	constraint create cross current current_date current_time current_timestamp current_user database delete
	distinct drop else exists false following for from full grant group gscluster having ilike in increment inner
	insert intersect into is issue join lateral left like localtime localtimestamp minus natural not null of on or
	order organization qualify regexp revoke right rlike row rows sample schema select set some start table
	tablesample then to trigger true try_cast union unique update using values view when whenever where window with`)

var snowflakeTypes = map[tables.Kind]string{
	tables.Text:      "VARCHAR",
	tables.BigInt:    "NUMBER(38,0)",
	tables.Double:    "FLOAT",
	tables.Bool:      "BOOLEAN",
	tables.Timestamp: "TIMESTAMP_TZ",
	tables.Date:      "DATE",
	tables.UUID:      "VARCHAR(36)",
	tables.JSON:      "VARIANT",
}

// MaxIdentifier is Snowflake's limit (255 characters).
func (Snowflake) MaxIdentifier() int { return 255 }

// Reserved reports whether word is a reserved keyword.
func (Snowflake) Reserved(word string) bool { return snowflakeReserved[word] }

// Quote leaves an identifier of lower-case letters, digits and '_' that is
// no reserved word unquoted, and double-quotes any other.
func (d Snowflake) Quote(ident string) string {
	plain := ident != "" && !d.Reserved(ident) && !(ident[0] >= '0' && ident[0] <= '9')
	for i := 0; plain && i < len(ident); i++ {
		c := ident[i]
		plain = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_'
	}
	if plain {
		return ident
	}
	return `"` + strings.ReplaceAll(ident, `"`, `""`) + `"`
}

// ColumnType is the Snowflake type of a kind.
func (Snowflake) ColumnType(k tables.Kind) string { return snowflakeTypes[k] }

// KindOf maps a type back to a kind.
func (Snowflake) KindOf(t string) (tables.Kind, bool) { return kindOf(snowflakeTypes, t) }

func (d Snowflake) column(c tables.Column, nullable bool) string {
	decl := d.Quote(c.Name) + " " + d.ColumnType(c.Kind)
	switch {
	case c.Source.Envelope == "event_id":
		decl += " NOT NULL PRIMARY KEY"
	case !nullable:
		decl += " NOT NULL"
	}
	if c.Comment != "" {
		decl += " COMMENT " + escapeBackslash(c.Comment, '\'')
	}
	return decl
}

// CreateTable creates t with event_id its (unenforced) primary key.
func (d Snowflake) CreateTable(t *tables.Table) []string {
	decls := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		decls[i] = d.column(c, c.Nullable)
	}
	return []string{"CREATE TABLE " + d.Quote(t.Name) + " (" + strings.Join(decls, ", ") + ") COMMENT = " + escapeBackslash(t.Comment, '\'')}
}

// AddColumn adds c, nullable.
func (d Snowflake) AddColumn(table string, c tables.Column) []string {
	return []string{"ALTER TABLE " + d.Quote(table) + " ADD COLUMN " + d.column(c, true)}
}

// DropNotNull lets a column hold NULL.
func (d Snowflake) DropNotNull(table string, c tables.Column) string {
	return "ALTER TABLE " + d.Quote(table) + " ALTER COLUMN " + d.Quote(c.Name) + " DROP NOT NULL"
}

// ClickHouse is ClickHouse's SQL: a ReplacingMergeTree ordered by
// event_id, so that a record delivered twice is kept once after merges
// (query with FINAL to see it so before); a nullable column is
// Nullable(T); objects and arrays are JSON text in a String, read with the
// JSONExtract functions.
type ClickHouse struct{}

var _ tables.Dialect = ClickHouse{}

// clickHouseReserved is the keywords that are ambiguous as a bare column
// name in ClickHouse's SQL; the others work unquoted.
var clickHouseReserved = words(`all and any array as asc between by case cast create cross database default desc
	distinct else end except exists false final format from full global group having if ilike in inner insert
	intersect interval into is join key left like limit not null offset on or order outer prewhere primary right
	sample select settings table then to true union using when where with`)

var clickHouseTypes = map[tables.Kind]string{
	tables.Text:      "String",
	tables.BigInt:    "Int64",
	tables.Double:    "Float64",
	tables.Bool:      "Bool",
	tables.Timestamp: "DateTime64(6, 'UTC')",
	tables.Date:      "Date32",
	tables.UUID:      "UUID",
	tables.JSON:      "String",
}

// MaxIdentifier keeps names as long as MySQL's: ClickHouse has no limit
// of its own short of the file system's.
func (ClickHouse) MaxIdentifier() int { return 64 }

// Reserved reports whether word is ambiguous as a bare name.
func (ClickHouse) Reserved(word string) bool { return clickHouseReserved[word] }

// Quote quotes an identifier with backquotes.
func (ClickHouse) Quote(ident string) string { return escapeBackslash(ident, '`') }

// ColumnType is the ClickHouse type of a kind, not nullable.
func (ClickHouse) ColumnType(k tables.Kind) string { return clickHouseTypes[k] }

// KindOf maps a type (Nullable or not) back to a kind. Text and JSON are
// both String, which holds any value as text: it reads back as JSON, the
// kind that holds every other, so a later version never adds a column
// beside a String one.
func (ClickHouse) KindOf(t string) (tables.Kind, bool) {
	if strings.HasPrefix(t, "Nullable(") && strings.HasSuffix(t, ")") {
		t = t[len("Nullable(") : len(t)-1]
	}
	if t == "String" {
		return tables.JSON, true
	}
	return kindOf(clickHouseTypes, t)
}

func (d ClickHouse) typ(c tables.Column, nullable bool) string {
	if nullable {
		return "Nullable(" + d.ColumnType(c.Kind) + ")"
	}
	return d.ColumnType(c.Kind)
}

func (d ClickHouse) column(c tables.Column, nullable bool) string {
	decl := d.Quote(c.Name) + " " + d.typ(c, nullable)
	if c.Comment != "" {
		decl += " COMMENT " + escapeBackslash(c.Comment, '\'')
	}
	return decl
}

// CreateTable creates t as a ReplacingMergeTree ordered by event_id.
func (d ClickHouse) CreateTable(t *tables.Table) []string {
	decls := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		decls[i] = d.column(c, c.Nullable && c.Source.Envelope != "event_id")
	}
	return []string{"CREATE TABLE " + d.Quote(t.Name) + " (" + strings.Join(decls, ", ") + ") ENGINE = ReplacingMergeTree ORDER BY " + d.Quote("event_id") + " COMMENT " + escapeBackslash(t.Comment, '\'')}
}

// AddColumn adds c, nullable.
func (d ClickHouse) AddColumn(table string, c tables.Column) []string {
	return []string{"ALTER TABLE " + d.Quote(table) + " ADD COLUMN " + d.column(c, true)}
}

// DropNotNull makes a column Nullable.
func (d ClickHouse) DropNotNull(table string, c tables.Column) string {
	return "ALTER TABLE " + d.Quote(table) + " MODIFY COLUMN " + d.Quote(c.Name) + " " + d.typ(c, true)
}
