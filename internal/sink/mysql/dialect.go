package mysql

import (
	"strings"
	"unicode/utf8"

	"github.com/accord-events/accord/internal/sink/tables"
)

// Dialect is MySQL's and MariaDB's tables.Dialect.
type Dialect struct{}

var _ tables.Dialect = Dialect{}

// reserved is the reserved words of MySQL 8 and MariaDB 10.11 (their
// union): a column named so would need quoting in every query.
var reserved = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`accessible add all alter analyze and as asc asensitive before between bigint binary
		blob both by call cascade case change char character check collate column condition constraint continue
		convert create cross cube cume_dist current_date current_role current_time current_timestamp current_user
		cursor database databases day_hour day_microsecond day_minute day_second dec decimal declare default delayed
		delete delete_domain_id dense_rank desc describe deterministic distinct distinctrow div do_domain_ids double
		drop dual each else elseif empty enclosed escaped except exists exit explain false fetch first_value float
		float4 float8 for force foreign from fulltext function general generated get grant group grouping groups
		having high_priority hour_microsecond hour_minute hour_second if ignore ignore_domain_ids ignore_server_ids
		in index infile inner inout insensitive insert int int1 int2 int3 int4 int8 integer intersect interval into
		io_after_gtids io_before_gtids is iterate join json_table key keys kill lag last_value lateral lead leading
		leave left like limit linear lines load localtime localtimestamp lock long longblob longtext loop
		low_priority master_bind master_heartbeat_period master_ssl_verify_server_cert match maxvalue mediumblob
		mediumint mediumtext middleint minute_microsecond minute_second mod modifies natural not
		no_write_to_binlog nth_value ntile null numeric of offset on optimize optimizer_costs option optionally or
		order out outer outfile over page_checksum parse_vcol_expr partition percent_rank position precision
		primary procedure purge range rank read read_write reads real recursive ref_system_id references regexp
		release rename repeat replace require resignal restrict return returning revoke right rlike row row_number
		rows schema schemas second_microsecond select sensitive separator set show signal slow smallint spatial
		specific sql sql_big_result sql_calc_found_rows sql_small_result sqlexception sqlstate sqlwarning ssl
		starting stats_auto_recalc stats_persistent stats_sample_pages stored straight_join system table terminated
		then tinyblob tinyint tinytext to trailing trigger true undo union unique unlock unsigned update usage use
		using utc_date utc_time utc_timestamp values varbinary varchar varcharacter varying virtual when where
		while window with write xor year_month zerofill`) {
		reserved[w] = true
	}
}

// MaxIdentifier is MySQL's and MariaDB's limit on a table or column name:
// 64 characters; the model keeps names to ASCII, so 64 bytes.
func (Dialect) MaxIdentifier() int { return 64 }

// Reserved reports whether word is a reserved word.
func (Dialect) Reserved(word string) bool { return reserved[word] }

// Quote quotes an identifier with backticks.
func (Dialect) Quote(ident string) string { return quoteIdent(ident) }

func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// quoteLiteral quotes a string literal. The sink's sessions run with
// NO_BACKSLASH_ESCAPES, so a quote doubled is the only escape there is.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// The comment limits of MySQL and MariaDB, in characters: a longer one
// fails the DDL in strict mode, so comments are cut to fit.
const (
	maxTableComment  = 2048
	maxColumnComment = 1024
)

// cut shortens s to at most n characters, ending in "..." when cut.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-3]) + "..."
}

// columnTypes are the types a typed column is created with. Strings are
// TEXT (up to 64 KiB, no length to guess from a schema); a UUID is
// CHAR(36); JSON is JSON (in MariaDB an alias of LONGTEXT checked with
// JSON_VALID); booleans are BOOLEAN (TINYINT(1)); times are DATETIME(6)
// in UTC, the sessions' time zone.
var columnTypes = map[tables.Kind]string{
	tables.Text:      "TEXT",
	tables.BigInt:    "BIGINT",
	tables.Double:    "DOUBLE",
	tables.Bool:      "BOOLEAN",
	tables.Timestamp: "DATETIME(6)",
	tables.Date:      "DATE",
	tables.UUID:      "CHAR(36)",
	tables.JSON:      "JSON",
}

// catalogKinds maps information_schema.columns.data_type to kinds. MariaDB
// reports a JSON column as longtext; a VARCHAR is event_id's type.
var catalogKinds = map[string]tables.Kind{
	"text": tables.Text, "varchar": tables.Text, "mediumtext": tables.Text,
	"bigint": tables.BigInt, "double": tables.Double, "tinyint": tables.Bool, "boolean": tables.Bool,
	"datetime": tables.Timestamp, "date": tables.Date, "char": tables.UUID,
	"json": tables.JSON, "longtext": tables.JSON,
}

// ColumnType is the MySQL type of a kind.
func (Dialect) ColumnType(k tables.Kind) string { return columnTypes[k] }

// KindOf maps a data_type (or a type as ColumnType spells it) to a kind.
func (Dialect) KindOf(t string) (tables.Kind, bool) {
	t = strings.ToLower(t)
	if i := strings.IndexByte(t, '('); i >= 0 {
		t = t[:i]
	}
	k, ok := catalogKinds[t]
	return k, ok
}

// keyType is event_id's type: a primary key cannot be TEXT.
const keyType = "VARCHAR(255)"

func (d Dialect) columnDecl(c tables.Column) string {
	typ := d.ColumnType(c.Kind)
	if c.Source.Envelope == "event_id" {
		typ = keyType
	}
	decl := quoteIdent(c.Name) + " " + typ
	if c.Source.Envelope == "event_id" {
		decl += " NOT NULL PRIMARY KEY"
	} else if !c.Nullable {
		decl += " NOT NULL"
	} else {
		decl += " NULL"
	}
	if c.Comment != "" {
		decl += " COMMENT " + quoteLiteral(cut(c.Comment, maxColumnComment))
	}
	return decl
}

// CreateTable creates t (InnoDB, utf8mb4) with event_id its primary key,
// and comments.
func (d Dialect) CreateTable(t *tables.Table) []string {
	decls := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		decls[i] = d.columnDecl(c)
	}
	return []string{"CREATE TABLE " + quoteIdent(t.Name) + " (" + strings.Join(decls, ", ") + ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT=" + quoteLiteral(cut(t.Comment, maxTableComment))}
}

// AddColumn adds c, nullable, with its comment.
func (d Dialect) AddColumn(table string, c tables.Column) []string {
	c.Nullable = true
	return []string{"ALTER TABLE " + quoteIdent(table) + " ADD COLUMN " + d.columnDecl(c)}
}

// DropNotNull lets a column hold NULL: MySQL restates the column, its
// comment with it; changing only nullability rewrites no rows in InnoDB's
// instant and in-place ALTERs.
func (d Dialect) DropNotNull(table string, c tables.Column) string {
	c.Nullable = true
	return "ALTER TABLE " + quoteIdent(table) + " MODIFY COLUMN " + d.columnDecl(c)
}
