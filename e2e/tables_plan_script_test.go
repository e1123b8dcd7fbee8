package e2e

import (
	"database/sql"
	"strings"
	"testing"
)

// TestTablesPlanMySQLScriptRunsAsPrinted: the script accord tables plan
// prints for a mysql sink runs as it is, in a session of the server's
// default sql_mode, and a description that ends in a backslash before a
// quote stays inside its comment: the script sets the sink's sql_mode
// (NO_BACKSLASH_ESCAPES) its literals are quoted for.
func TestTablesPlanMySQLScriptRunsAsPrinted(t *testing.T) {
	my := newMySink(t)
	dir := newProject(t)
	const desc = `ends in \'; DROP TABLE plan_injected; -- and \`
	writeContract(t, dir, "com.acme/note/jsonschema/1-0-0", `{
		"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
		"self": {"vendor": "com.acme", "name": "note", "format": "jsonschema", "version": "1-0-0"},
		"description": "A note.", "x-accord": {"owner": "notes@example.com"},
		"type": "object", "properties": {"text": {"type": "string", "description": "`+strings.ReplaceAll(desc, `\`, `\\`)+`"}}}`)
	out, stderr, code := runAccordEnv(t, dir, my.env(my.dsn("")), nil, "tables", "plan", "--sink", "my")
	if code != 0 || !contains(out, "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_BACKSLASH_ESCAPES,") || !contains(out, "CREATE TABLE `com_acme_note_1`") {
		t.Fatalf("tables plan: exit %d\n%s%s", code, out, stderr)
	}
	// The server's DSN, no sql_mode of the sink's: what a person running
	// the script in a client has.
	c := *my.cfg
	c.MultiStatements = true
	db, err := sql.Open("mysql", c.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(out); err != nil {
		t.Fatalf("the printed script: %v\n%s", err, out)
	}
	if got := my.one(t, "SELECT column_comment FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'com_acme_note_1' AND column_name = 'text'"); got != desc {
		t.Errorf("column comment %q, want %q", got, desc)
	}
	if got := my.one(t, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'plan_injected'"); got != "0" {
		t.Errorf("plan_injected tables: %s", got)
	}
}
