package sqlite

import (
	"bytes"
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/sink"
)

func openTestRaw(t testing.TB) *rawConn {
	t.Helper()
	c, err := openRaw(filepath.Join(t.TempDir(), "raw.db"), []string{"busy_timeout(1000)", "journal_mode(WAL)", "synchronous(OFF)"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}

func rawExec(t testing.TB, c *rawConn, q string, args ...any) driver.Result {
	t.Helper()
	res, err := c.ExecContext(context.Background(), q, namedArgs(args))
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return res
}

func namedArgs(args []any) []driver.NamedValue {
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	return nv
}

// rawRowsOf reads every row of rows, closing them.
func rawRowsOf(t testing.TB, rows driver.Rows) [][]driver.Value {
	t.Helper()
	defer rows.Close()
	var all [][]driver.Value
	for {
		row := make([]driver.Value, len(rows.Columns()))
		err := rows.Next(row)
		if err == io.EOF {
			return all
		}
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, row)
	}
}

func rawQuery(t testing.TB, c *rawConn, q string, args ...any) [][]driver.Value {
	t.Helper()
	rows, err := c.QueryContext(context.Background(), q, namedArgs(args))
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return rawRowsOf(t, rows)
}

// TestRawConnBindsEveryType stores each kind of value the sink binds
// through a kept statement (texts bound where the connection copied them)
// and reads it back with its SQLite type.
func TestRawConnBindsEveryType(t *testing.T) {
	c := openTestRaw(t)
	rawExec(t, c, "CREATE TABLE t (k TEXT, v)")
	st, err := c.PrepareContext(context.Background(), "INSERT INTO t (k, v) VALUES (?, ?)")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, tc := range []struct {
		name  string
		value any
		typ   string
		want  driver.Value
	}{
		{"nil", nil, "null", nil},
		{"int64", int64(-1 << 62), "integer", int64(-1 << 62)},
		{"float64", 2.5, "real", 2.5},
		{"true", true, "integer", int64(1)},
		{"false", false, "integer", int64(0)},
		{"empty text", "", "text", ""},
		{"text with a NUL", "a\x00b", "text", "a\x00b"},
		{"invalid UTF-8", "\xff\xfe", "text", "\xff\xfe"},
		{"long text", strings.Repeat("x", 100_000), "text", strings.Repeat("x", 100_000)},
		{"nil bytes", []byte(nil), "null", nil},
		{"empty bytes", []byte{}, "blob", []byte{}},
		{"bytes", []byte{0, 1, 2}, "blob", []byte{0, 1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := st.(stmt).ExecContext(context.Background(), namedArgs([]any{tc.name, tc.value})); err != nil {
				t.Fatal(err)
			}
			got := rawQuery(t, c, "SELECT typeof(v), v FROM t WHERE k = ?", tc.name)
			if len(got) != 1 {
				t.Fatalf("%d rows, want 1", len(got))
			}
			if got[0][0] != tc.typ {
				t.Errorf("stored as %v, want %s", got[0][0], tc.typ)
			}
			if b, ok := tc.want.([]byte); ok {
				if g, ok := got[0][1].([]byte); !ok || !bytes.Equal(g, b) {
					t.Errorf("read back %#v, want %#v", got[0][1], b)
				}
			} else if got[0][1] != tc.want {
				t.Errorf("read back %#v, want %#v", got[0][1], tc.want)
			}
		})
	}
}

// TestRawConnTextsOfOneExecAfterAnother: each Exec copies its texts over
// the last one's, growing the block when they need more room; what every
// row stored is still what it was given.
func TestRawConnTextsOfOneExecAfterAnother(t *testing.T) {
	c := openTestRaw(t)
	rawExec(t, c, "CREATE TABLE a (v TEXT)")
	rawExec(t, c, "CREATE TABLE b (v TEXT)")
	ins := func(table string) stmt {
		st, err := c.PrepareContext(context.Background(), "INSERT INTO "+table+" (v) VALUES (?), (?)")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st.(stmt)
	}
	a, b := ins("a"), ins("b")
	want := map[string][]string{}
	for i, size := range []int{1, 10, 5000, 3, 20000, 7, 3 << 20, 2} {
		table, st := "a", a
		if i%2 == 1 {
			table, st = "b", b
		}
		x, y := strings.Repeat(string(rune('a'+i)), size), strings.Repeat(string(rune('A'+i)), size)
		if _, err := st.ExecContext(context.Background(), namedArgs([]any{x, y})); err != nil {
			t.Fatal(err)
		}
		want[table] = append(want[table], x, y)
	}
	// The last Exec needed 4 bytes; the block the 6 MiB one grew is not
	// kept for it.
	if c.texts.size > keptBlockBytes {
		t.Errorf("%d bytes kept for statements' texts after a large one, want at most %d", c.texts.size, keptBlockBytes)
	}
	for table, w := range want {
		var got []string
		for _, row := range rawQuery(t, c, "SELECT v FROM "+table+" ORDER BY rowid") {
			got = append(got, row[0].(string))
		}
		if strings.Join(got, ",") != strings.Join(w, ",") {
			t.Errorf("%s holds %d rows unlike those inserted", table, len(got))
		}
	}
}

// TestRawConnQueryKeepsItsArguments: a query's rows are read while other
// statements run on the connection, which reuse its blocks of C memory;
// the query's arguments are SQLite's own copies, so its WHERE clause still
// compares with what it was given.
func TestRawConnQueryKeepsItsArguments(t *testing.T) {
	c := openTestRaw(t)
	rawExec(t, c, "CREATE TABLE t (v TEXT)")
	rawExec(t, c, "INSERT INTO t (v) VALUES ('b'), ('c'), ('x')")
	rows, err := c.QueryContext(context.Background(), "SELECT v FROM t WHERE v <= ? ORDER BY rowid", namedArgs([]any{"m"}))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	row := make([]driver.Value, 1)
	if err := rows.Next(row); err != nil || row[0] != "b" {
		t.Fatalf("first row %v, %v; want b", row[0], err)
	}
	rawExec(t, c, "CREATE TABLE u (v TEXT)")
	rawExec(t, c, "INSERT INTO u (v) VALUES (?)", "zzzz")
	rawQuery(t, c, "SELECT count(*) FROM u WHERE v = ?", "zzzz")
	var rest []driver.Value
	for rows.Next(row) == nil {
		rest = append(rest, row[0])
	}
	if len(rest) != 1 || rest[0] != "c" {
		t.Errorf("rows after the other statements %v, want [c]", rest)
	}
}

func TestRawConnRefusesArgumentsItCannotBind(t *testing.T) {
	c := openTestRaw(t)
	rawExec(t, c, "CREATE TABLE t (a, b)")
	for _, tc := range []struct {
		name string
		args []driver.NamedValue
		want string
	}{
		{"too few", namedArgs([]any{"x"}), "takes 2 arguments, 1 given"},
		{"too many", namedArgs([]any{"x", "y", "z"}), "takes 2 arguments, 3 given"},
		{"named", []driver.NamedValue{{Ordinal: 1, Value: "x"}, {Name: "b", Ordinal: 2, Value: "y"}}, `named "b"`},
		{"out of order", []driver.NamedValue{{Ordinal: 2, Value: "x"}, {Ordinal: 1, Value: "y"}}, "argument 1 is numbered 2"},
		{"a type the sink never binds", namedArgs([]any{"x", time.Unix(0, 0)}), "cannot bind a time.Time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.ExecContext(context.Background(), "INSERT INTO t (a, b) VALUES (?, ?)", tc.args)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one saying %q", err, tc.want)
			}
		})
	}
	if got := rawQuery(t, c, "SELECT count(*) FROM t"); got[0][0] != int64(0) {
		t.Errorf("%v rows stored by refused statements", got[0][0])
	}
	if _, err := c.ExecContext(context.Background(), "INSERT INTO t VALUES (?, 1); INSERT INTO t VALUES (?, 2)", namedArgs([]any{"x", "y"})); err == nil || !strings.Contains(err.Error(), "several statements") {
		t.Errorf("arguments to two statements: err %v", err)
	}
}

// TestRawConnErrorsAsTheDriverWordsThem: SQLite's message and extended
// result code, which classify reads to dead-letter a value a typed
// column's check refuses.
func TestRawConnErrorsAsTheDriverWordsThem(t *testing.T) {
	c := openTestRaw(t)
	rawExec(t, c, "CREATE TABLE t (k TEXT PRIMARY KEY, n CHECK (n > 0))")
	rawExec(t, c, "INSERT INTO t VALUES ('a', 1)")
	for _, tc := range []struct {
		name, q string
		args    []any
		code    int
		msg     string
	}{
		{"check", "INSERT INTO t VALUES (?, ?)", []any{"b", int64(-1)}, 275, "constraint failed: CHECK constraint failed: n > 0 (275)"},
		{"unique", "INSERT INTO t VALUES (?, ?)", []any{"a", int64(2)}, 1555, "UNIQUE constraint failed: t.k"},
		{"syntax", "INSERT INTO", nil, 1, `incomplete input`},
		{"no such table", "SELECT * FROM missing", nil, 1, "no such table: missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.ExecContext(context.Background(), tc.q, namedArgs(tc.args))
			var coded interface{ Code() int }
			if !errors.As(err, &coded) || coded.Code() != tc.code {
				t.Fatalf("err %v, want code %d", err, tc.code)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err %q, want it to say %q", err, tc.msg)
			}
		})
	}
	_, err := c.ExecContext(context.Background(), "INSERT INTO t VALUES ('c', 0)", nil)
	var permanent *sink.PermanentError
	if !errors.As(classify(err), &permanent) {
		t.Errorf("a CHECK failure classified %v, want permanent", classify(err))
	}
}

// TestRawConnInterruptedByItsContext: a statement whose context ends
// stops with the context's error, and the next statement runs whole.
func TestRawConnInterruptedByItsContext(t *testing.T) {
	c := openTestRaw(t)
	const forever = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.ExecContext(ctx, forever, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want the context's deadline", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("interrupted after %v", d)
	}
	// A cancelled context that ends after its statement does not
	// interrupt the next one.
	ctx2, cancel2 := context.WithCancel(context.Background())
	rawExecCtx := func(ctx context.Context, q string) error {
		_, err := c.ExecContext(ctx, q, nil)
		return err
	}
	if err := rawExecCtx(ctx2, "CREATE TABLE t (v)"); err != nil {
		t.Fatal(err)
	}
	cancel2()
	if got := rawQuery(t, c, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) SELECT count(*) FROM n"); got[0][0] != int64(100000) {
		t.Errorf("the next statement counted %v", got[0][0])
	}
	if _, err := c.ExecContext(ctx2, "INSERT INTO t VALUES (1)", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("a statement given an ended context: err %v", err)
	}
}

func TestRawConnRunsEveryStatementOfAnExec(t *testing.T) {
	c := openTestRaw(t)
	rawExec(t, c, "CREATE TABLE t (v); INSERT INTO t VALUES (1); -- a comment\nINSERT INTO t VALUES (2);  ")
	rawExec(t, c, "  -- only a comment")
	if got := rawQuery(t, c, "SELECT sum(v) FROM t"); got[0][0] != int64(3) {
		t.Errorf("sum %v, want 3", got[0][0])
	}
	res := rawExec(t, c, "UPDATE t SET v = v + 1")
	if n, _ := res.RowsAffected(); n != 2 {
		t.Errorf("%d rows affected, want 2", n)
	}
	for _, q := range []string{"SELECT 1; SELECT 2", "SELECT 1; SELEC", "-- nothing", ""} {
		if st, err := c.PrepareContext(context.Background(), q); err == nil || !strings.Contains(err.Error(), "one statement expected") {
			t.Errorf("prepare %q: err %v, want one statement expected", q, err)
			if st != nil {
				st.Close()
			}
		}
	}
	st, err := c.PrepareContext(context.Background(), "SELECT 1; -- a comment after it\n ")
	if err != nil {
		t.Fatalf("a statement and a comment: %v", err)
	}
	st.Close()
}

// FuzzRawConnBind: whatever bytes a record carries are stored and read
// back as they were, as text and as a blob, through a kept statement.
func FuzzRawConnBind(f *testing.F) {
	f.Add("", []byte(nil))
	f.Add("a\x00b", []byte{0})
	f.Add("\xff", []byte("\xff\xfe"))
	c := openTestRaw(f)
	rawExec(f, c, "CREATE TABLE t (s TEXT, b BLOB)")
	st, err := c.PrepareContext(context.Background(), "INSERT INTO t (s, b) VALUES (?, ?)")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string, b []byte) {
		rawExec(t, c, "DELETE FROM t")
		if _, err := st.(stmt).ExecContext(context.Background(), namedArgs([]any{s, b})); err != nil {
			t.Fatal(err)
		}
		got := rawQuery(t, c, "SELECT s, b FROM t")
		if got[0][0] != s {
			t.Errorf("text %q read back as %q", s, got[0][0])
		}
		if b == nil {
			if got[0][1] != nil {
				t.Errorf("nil bytes read back as %#v", got[0][1])
			}
		} else if g, _ := got[0][1].([]byte); !bytes.Equal(g, b) {
			t.Errorf("bytes %q read back as %#v", b, got[0][1])
		}
	})
}

// TestRawConnTransactionsOneAfterAnother: the statements that begin and
// end a transaction are kept prepared, and behave as prepared afresh each
// time, a failed one included.
func TestRawConnTransactionsOneAfterAnother(t *testing.T) {
	c := openTestRaw(t)
	rawExec(t, c, "CREATE TABLE t (v INTEGER)")
	for i := range 3 {
		rawExec(t, c, "BEGIN IMMEDIATE")
		rawExec(t, c, "INSERT INTO t VALUES (?)", int64(i))
		if i == 1 {
			rawExec(t, c, "ROLLBACK")
			continue
		}
		rawExec(t, c, "COMMIT")
	}
	if _, err := c.ExecContext(context.Background(), "COMMIT", nil); err == nil || !strings.Contains(err.Error(), "no transaction is active") {
		t.Errorf("COMMIT outside a transaction: err %v", err)
	}
	rawExec(t, c, "BEGIN IMMEDIATE")
	rawExec(t, c, "INSERT INTO t VALUES (3)")
	rawExec(t, c, "COMMIT")
	if got := rawQuery(t, c, "SELECT group_concat(v) FROM t"); got[0][0] != "0,2,3" {
		t.Errorf("stored %v, want 0,2,3", got[0][0])
	}
}

// TestRawConnOpenFailures: a file SQLite cannot open, or a pragma it
// refuses, is an error naming the file, and leaves nothing open.
func TestRawConnOpenFailures(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, path string
		pragmas    []string
		want       string
	}{
		{"directory missing", filepath.Join(dir, "missing", "x.db"), nil, "unable to open database file"},
		{"pragma refused", filepath.Join(dir, "x.db"), []string{"busy_timeout(1000)", "not a pragma"}, "pragma not a pragma"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := openRaw(tc.path, tc.pragmas)
			if err == nil {
				c.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %q, want it to name %s and say %q", err, tc.path, tc.want)
			}
		})
	}
	c := openTestRaw(t)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("closed twice: %v", err)
	}
}
