package mysql

import (
	"strconv"
	"strings"

	"github.com/accord-events/accord/internal/sink/tables"
)

// typedInsert is the statement that inserts a batch's good records of t's
// contract MODEL from the staging table into t. The server computes every
// typed column from the staged event data, and the sessions are strict,
// so a value the column cannot hold fails the statement with the server's
// own error (never a warning and a zero). A row already there is kept: ON
// DUPLICATE KEY UPDATE on event_id alone, not INSERT IGNORE, which would
// also turn those data errors into warnings and store the bad row. A
// record the raw insert kept out, as the raw table raw holds its event_id
// for another record (a failed one, another event), gets no typed row: the
// typed table would otherwise hold under that id an event the raw table
// has not.
func typedInsert(raw string) func(t *tables.Table) string {
	return func(t *tables.Table) string { return typedInsertInto(raw, t) }
}

func typedInsertInto(raw string, t *tables.Table) string {
	parts := strings.SplitN(t.Contract, "/", 3)
	names := make([]string, len(t.Columns))
	exprs := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = quoteIdent(c.Name)
		exprs[i] = valueExpr(c)
	}
	model := parts[2] + "-"
	return "INSERT INTO " + quoteIdent(t.Name) + " (" + strings.Join(names, ", ") + ") SELECT " + strings.Join(exprs, ", ") +
		" FROM " + stagingTable + " x WHERE x.valid AND x.vendor = " + quoteLiteral(parts[0]) + " AND x.name = " + quoteLiteral(parts[1]) +
		" AND LEFT(x.version, " + strconv.Itoa(len(model)) + ") = " + quoteLiteral(model) +
		" AND EXISTS (SELECT 1 FROM " + quoteIdent(raw) + " r WHERE r.event_id = x.event_id AND r.valid AND r.fingerprint = x.fingerprint AND r.protocol = x.protocol)" +
		" ON DUPLICATE KEY UPDATE " + quoteIdent("event_id") + " = " + quoteIdent(t.Name) + "." + quoteIdent("event_id")
}

// jsonPath is the MySQL JSON path of a property path, every key quoted.
func jsonPath(path []string) string {
	var b strings.Builder
	b.WriteString("$")
	for _, p := range path {
		b.WriteString(`."`)
		b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(p))
		b.WriteString(`"`)
	}
	return b.String()
}

// valueExpr is the SQL expression of c's value in a staged row x.
func valueExpr(c tables.Column) string {
	switch {
	case c.Source.Envelope != "":
		return "x." + quoteIdent(c.Source.Envelope)
	case c.Source.Context != "":
		parts := strings.SplitN(c.Source.Context, "/", 3)
		prefix := parts[0] + "/" + parts[1] + "/jsonschema/" + parts[2] + "-"
		iglu := "iglu:" + prefix
		return "(SELECT JSON_ARRAYAGG(JSON_EXTRACT(j.d, '$')) FROM JSON_TABLE(x.contexts, '$[*]' COLUMNS (s VARCHAR(2048) PATH '$.schema', d JSON PATH '$.data')) j" +
			" WHERE LEFT(j.s, " + strconv.Itoa(len(iglu)) + ") = " + quoteLiteral(iglu) + " OR LEFT(j.s, " + strconv.Itoa(len(prefix)) + ") = " + quoteLiteral(prefix) + ")"
	}
	path := quoteLiteral(jsonPath(c.Source.Path))
	// JSON_VALUE is the scalar as text, NULL for JSON null (and for an
	// object or array, which a scalar column cannot hold anyway); strict
	// mode converts the text to the column's type or fails.
	v := "JSON_VALUE(x.payload, " + path + ")"
	switch c.Kind {
	case tables.Bool:
		// true and false are 1 and 0; anything else goes to the column
		// as it is, and fails there.
		return "CASE " + v + " WHEN 'true' THEN 1 WHEN 'false' THEN 0 ELSE " + v + " END"
	case tables.Timestamp:
		// An RFC 3339 time, in UTC: the offset (Z or ±hh:mm) is cut off
		// and the time converted from it. RFC 3339, and so a contract's
		// date-time, allows a lower-case t and z; REPLACE matches case.
		z := v + " LIKE '%Z' OR " + v + " LIKE '%z'"
		local := "REPLACE(REPLACE(CASE WHEN " + z + " THEN LEFT(" + v + ", CHAR_LENGTH(" + v + ") - 1) ELSE LEFT(" + v + ", CHAR_LENGTH(" + v + ") - 6) END, 'T', ' '), 't', ' ')"
		offset := "CASE WHEN " + z + " THEN '+00:00' ELSE RIGHT(" + v + ", 6) END"
		// A text CONVERT_TZ cannot read (no offset) goes to the column
		// as it is, and fails there, rather than turning NULL.
		return "COALESCE(CONVERT_TZ(" + local + ", " + offset + ", '+00:00'), " + v + ")"
	case tables.JSON:
		return "NULLIF(JSON_EXTRACT(x.payload, " + path + "), 'null')"
	}
	return v
}
