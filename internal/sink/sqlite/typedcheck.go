package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/accord-events/accord/internal/sink/columns"
	"github.com/accord-events/accord/internal/sink/tables"
)

// The typed tables' CHECK constraints (valueCheck) stay in every table
// the sink creates: they are the schema's promise to whoever else writes
// there (accord tables apply, accord gen sql, a user's own loader). The
// sink's writing connection skips them (PRAGMA ignore_check_constraints,
// set in init): they were a quarter of a typed write's instructions on
// BenchmarkTypedWrite, json_valid parsing each JSON value again, julianday
// and date each time, and each check a trip through SQLite's function
// calls. In their place the sink checks in Go, before the insert, that
// each value it binds is one the column's check passes (surelyPasses,
// which accepts only values whose verdict it knows; FuzzTypedChecks
// holds it to SQLite's). A row with any other value, or any row of a
// table whose definition is not exactly the one the sink makes (an older
// Accord's checks, a check a user added), is inserted first into a copy
// of the table in an in-memory database on a connection of its own,
// with the checks on: SQLite's own verdict, as before, and a value it
// refuses fails the write the same way (SQLITE_CONSTRAINT_CHECK, a
// permanent error).

// surelyPasses reports whether the check of a column of kind k passes
// for v, a value as the typed insert binds it (nil, int64, float64 or a
// string), once SQLite has applied the column's affinity. False means
// "not known", not "fails". A timestamp column's value is either stored
// as it is (an envelope time) or as strftime makes it from v; the shapes
// accepted here pass either way.
func surelyPasses(k tables.Kind, v any) bool {
	if v == nil {
		return true // every check passes NULL
	}
	switch k {
	case tables.Text:
		// TEXT affinity makes numbers text.
		switch v.(type) {
		case string, int64, float64:
			return true
		}
	case tables.BigInt:
		_, ok := v.(int64)
		return ok
	case tables.Double:
		switch v.(type) {
		case int64, float64:
			return true
		}
	case tables.Bool:
		n, ok := v.(int64)
		return ok && (n == 0 || n == 1)
	case tables.Timestamp:
		s, ok := v.(string)
		return ok && timeShape(s)
	case tables.Date:
		s, ok := v.(string)
		return ok && len(s) == 10 && dateShape(s)
	case tables.UUID:
		s, ok := v.(string)
		return ok && uuidShape(s)
	case tables.JSON:
		// Text that starts like a number could become one under the
		// column's NUMERIC affinity (1e999 becomes Inf, not JSON).
		s, ok := v.(string)
		if !ok || s == "" || strings.IndexByte(`{["tfn`, s[0]) < 0 {
			return false
		}
		_, err := jsonValue(bytesOf(s))
		return err == nil
	}
	return false
}

// digits reports whether s[i:j] is all ASCII digits and returns their
// value.
func digits(s string, i, j int) (int, bool) {
	if j > len(s) {
		return 0, false
	}
	n := 0
	for ; i < j; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// daysIn is the number of days of month m (1-12) of year y, proleptic
// Gregorian, as SQLite counts them.
func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// dateShape reports whether s starts with a calendar date YYYY-MM-DD of
// the years 0001-9998 (so that no time zone takes it out of SQLite's
// range), one date() gives back unchanged.
func dateShape(s string) bool {
	y, ok1 := digits(s, 0, 4)
	m, ok2 := digits(s, 5, 7)
	d, ok3 := digits(s, 8, 10)
	return ok1 && ok2 && ok3 && s[4] == '-' && s[7] == '-' && y >= 1 && y <= 9998 && m >= 1 && m <= 12 && d >= 1 && d <= daysIn(y, m)
}

// timeShape reports whether s is a date, or a date and a time
// (YYYY-MM-DD[Thh:mm[:ss[.f...]]][Z|±hh:mm]), with every field in range:
// strftime and julianday read every such text.
func timeShape(s string) bool {
	if len(s) < 10 || !dateShape(s) {
		return false
	}
	if len(s) == 10 {
		return true
	}
	if s[10] != 'T' && s[10] != ' ' {
		return false
	}
	h, ok1 := digits(s, 11, 13)
	mi, ok2 := digits(s, 14, 16)
	if !ok1 || !ok2 || s[13] != ':' || h > 23 || mi > 59 {
		return false
	}
	i := 16
	if i < len(s) && s[i] == ':' {
		sec, ok := digits(s, i+1, i+3)
		if !ok || sec > 59 {
			return false
		}
		i += 3
		if i < len(s) && s[i] == '.' {
			j := i + 1
			for j < len(s) && j-i <= 9 && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j == i+1 || (j < len(s) && s[j] >= '0' && s[j] <= '9') {
				return false
			}
			i = j
		}
	}
	switch {
	case i == len(s):
		return true
	case s[i] == 'Z':
		return i+1 == len(s)
	case s[i] == '+' || s[i] == '-':
		th, ok1 := digits(s, i+1, i+3)
		tm, ok2 := digits(s, i+4, i+6)
		return ok1 && ok2 && i+6 == len(s) && s[i+3] == ':' && th <= 14 && tm <= 59
	}
	return false
}

// uuidShape reports whether s is a UUID's 36 characters, hex digits and
// hyphens in their places (never a number, under any affinity).
func uuidShape(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if hexVal(s[i]) < 0 {
				return false
			}
		}
	}
	return true
}

// madeHere reports whether ddl, a typed table's definition as SQLite
// keeps it, is exactly what the sink makes for t's columns (CreateTable,
// then AddColumn for columns added later, in any order), or made before
// typed tables lost their key (keyDeclBefore): then the table's checks
// are valueCheck's and no others.
func madeHere(ddl string, t *tables.Table) bool {
	rest, ok := strings.CutPrefix(ddl, "CREATE TABLE "+quoteIdent(t.Name)+" (")
	if !ok {
		return false
	}
	if rest, ok = strings.CutSuffix(rest, ")"); !ok {
		return false
	}
	decls := make(map[string]string, len(t.Columns))
	var key string // event_id's quoted name
	for _, c := range t.Columns {
		decls[quoteIdent(c.Name)] = columnDecl(Dialect{}, c)
		if c.Source.Envelope == columns.Key {
			key = quoteIdent(c.Name)
		}
	}
	for n := len(decls); n > 0; n-- {
		// The column's quoted name ("" is a quote inside it), then its
		// declaration.
		if rest == "" || rest[0] != '"' {
			return false
		}
		end := 1
		for {
			j := strings.IndexByte(rest[end:], '"')
			if j < 0 {
				return false
			}
			end += j
			if end+1 < len(rest) && rest[end+1] == '"' {
				end += 2
				continue
			}
			break
		}
		decl, ok := decls[rest[:end+1]]
		if ok && rest[:end+1] == key && strings.HasPrefix(rest[end+1:], keyDeclBefore) {
			decl = key + keyDeclBefore // an earlier Accord's
		}
		if !ok || !strings.HasPrefix(rest, decl) {
			return false
		}
		delete(decls, rest[:end+1])
		rest = rest[len(decl):]
		if n > 1 {
			if rest, ok = strings.CutPrefix(rest, ", "); !ok {
				return false
			}
		}
	}
	return rest == ""
}

// refreshTypedDDL reads the definition of the tables of plans when the
// file's schema changed since they were read (or never was), in the
// batch's transaction, so that a table changed by another writer is seen
// before its rows are.
func (s *Sink) refreshTypedDDL(ctx context.Context, plans map[string]*typedPlan) error {
	version, err := s.queryInt(ctx, "PRAGMA schema_version")
	if err != nil {
		return fmt.Errorf("read the schema version: %w", err)
	}
	if s.goodVersion != version {
		if s.goodCopies, err = s.goodGivesBack(ctx); err != nil {
			return err
		}
		s.goodVersion = version
	}
	for _, p := range plans {
		if p.ddl != "" && p.ddlVersion == version {
			continue
		}
		ddl, err := s.queryString(ctx, "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = "+quoteLiteral(p.table.Name))
		if err != nil {
			return fmt.Errorf("read the definition of %s: %w", p.table.Name, err)
		}
		p.ddl, p.ddlVersion = ddl, version
		p.madeHere = madeHere(ddl, p.table)
	}
	return nil
}

// goodGivesBack reports whether the good table gives back, column for
// column, the values its insert was given for the envelope columns a
// typed table copies, which the joined typed insert reads from it
// (typedPlan.joinedOf): each of them has TEXT affinity (declared TEXT, as
// the sink declares them), which stores a text or NULL as it is bound,
// no trigger in the file could change a row once inserted, and no COLLATE
// in the table's definition makes its event_id equal an id other than
// itself (with NOCASE, 'a' would find the row of 'A', which the insert
// kept instead of 'a'; the sink, comparing ids byte for byte, still
// writes the typed row of 'a'). A table made otherwise, by hand, has
// every value bound to the typed insert instead.
func (s *Sink) goodGivesBack(ctx context.Context) (bool, error) {
	envelope := tables.Envelope()
	names := make([]string, 0, len(envelope))
	for _, c := range envelope {
		names = append(names, quoteLiteral(c.Name))
	}
	n, err := s.queryInt(ctx, "SELECT (SELECT count(*) FROM pragma_table_info("+quoteLiteral(s.good.name)+") WHERE name IN ("+strings.Join(names, ", ")+
		") AND upper(type) = 'TEXT') = "+strconv.Itoa(len(names))+" AND NOT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'trigger')"+
		" AND NOT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = "+quoteLiteral(s.good.name)+" AND sql LIKE '%collate%')")
	if err != nil {
		return false, fmt.Errorf("read the definition of %s: %w", s.good.name, err)
	}
	return n == 1, nil
}

// checkTypedRow inserts one typed row (args, p's insert of one row) into
// a copy of p's table in an in-memory database with its checks on, and
// rolls it back: SQLite's verdict on a row whose values Go cannot vouch
// for. A check that fails is a permanent error, as it was in the table.
func (s *Sink) checkTypedRow(ctx context.Context, p *typedPlan, args []driver.NamedValue) error {
	if err := s.checkerTable(ctx, p); err != nil {
		return fmt.Errorf("check typed row for %s: %w", p.table.Name, err)
	}
	s.checkArgs = append(s.checkArgs[:0], args...)
	defer clear(s.checkArgs)
	for i := range s.checkArgs {
		s.checkArgs[i].Ordinal = i + 1
	}
	st, err := s.checkerStmts.prepared(ctx, s.checker, p.insertOf(1, true))
	if err != nil {
		return fmt.Errorf("check typed row for %s: %w", p.table.Name, err)
	}
	if _, err := s.checker.ExecContext(ctx, "SAVEPOINT accord_check", nil); err != nil {
		return fmt.Errorf("check typed row for %s: %w", p.table.Name, err)
	}
	_, err = st.ExecContext(ctx, s.checkArgs)
	for _, q := range []string{"ROLLBACK TO accord_check", "RELEASE accord_check"} {
		if _, rbErr := s.checker.ExecContext(ctx, q, nil); rbErr != nil && err == nil {
			err = rbErr
		}
	}
	if err != nil {
		return classify(fmt.Errorf("insert into typed table %s: %w", p.table.Name, err))
	}
	return nil
}

// checkerTable makes the copy of p's table checkTypedRow inserts into,
// opening the in-memory database first when needed.
func (s *Sink) checkerTable(ctx context.Context, p *typedPlan) error {
	if s.checker == nil {
		c, err := openDSN(":memory:", ":memory:")
		if err != nil {
			return err
		}
		s.checker, s.checkerDDL = c, map[string]string{}
	}
	if s.checkerDDL[p.table.Name] == p.ddl {
		return nil
	}
	if len(s.checkerDDL) >= maxTypedStmts {
		// Bounded as the statements are: start over.
		for name := range s.checkerDDL {
			if _, err := s.checker.ExecContext(ctx, "DROP TABLE IF EXISTS "+quoteIdent(name), nil); err != nil {
				return err
			}
			delete(s.checkerDDL, name)
		}
	}
	if _, err := s.checker.ExecContext(ctx, "DROP TABLE IF EXISTS "+quoteIdent(p.table.Name), nil); err != nil {
		return err
	}
	delete(s.checkerDDL, p.table.Name)
	if _, err := s.checker.ExecContext(ctx, p.ddl, nil); err != nil {
		return err
	}
	s.checkerDDL[p.table.Name] = p.ddl
	return nil
}

// closeChecker closes the in-memory database of checkTypedRow.
func (s *Sink) closeChecker() error {
	if s.checker == nil {
		return nil
	}
	err := errors.Join(s.checkerStmts.close(), s.checker.Close())
	s.checker, s.checkerDDL = nil, nil
	return err
}

// utcMillis returns t as strftime('%Y-%m-%dT%H:%M:%fZ', t) makes it, when
// t is a time in UTC ('Z') to the second or with one to three digits of
// fraction: then that is t with its fraction made three digits. ok is
// false for any other text, which strftime reads.
func utcMillis(t string) (_ string, ok bool) {
	n := len(t)
	if n < 20 || n > 24 || t[n-1] != 'Z' || t[10] != 'T' || t[16] != ':' || !timeShape(t) {
		return "", false
	}
	switch {
	case n == 20:
		return t[:19] + ".000Z", true
	case t[19] != '.':
		return "", false
	case n == 24:
		return t, true
	}
	return t[:n-1] + "000"[n-21:] + "Z", true
}
