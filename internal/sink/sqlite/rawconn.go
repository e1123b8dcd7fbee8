package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// rawConn is the sink's writing connection: SQLite's own API, as
// modernc.org/sqlite/lib compiles it to Go, without modernc's database/sql
// driver between the sink and it. It implements the driver interfaces the
// sink already uses (driverConn), for one goroutine at a time.
//
// Why its own: a typed row binds about 40 values, and the driver binds
// each through a C string of its own (allocated, copied, bound, unbound
// and freed), looks up each parameter's name, and takes the connection's
// mutex for every call. Here an Exec copies its texts into one block of C
// memory, reused statement after statement, and binds them where they lie
// (SQLITE_STATIC); the connection is opened without SQLite's mutex, as
// only the sink's writer, under the sink's lock, uses it. See
// docs/performance-log.md for what this saved a row.
type rawConn struct {
	tls *libc.TLS
	db  uintptr

	// texts holds the texts and blobs of the Exec being run; scratch
	// those of a query's arguments while SQLite copies them.
	texts, scratch cBlock

	// kept are the statements of every transaction (see keeps), prepared
	// once.
	kept map[string]*rawStmt

	// A cancelled context interrupts the statement it was given to, and
	// no later one: running is the number of the statement that may be
	// interrupted (started counts them), zero between statements;
	// interrupt is the TLS the interrupting goroutine calls SQLite with.
	mu        sync.Mutex
	running   uint64
	started   uint64
	interrupt *libc.TLS
}

var (
	_ driverConn = (*rawConn)(nil)
	_ stmt       = (*rawStmt)(nil)
	_ queryStmt  = (*rawStmt)(nil)
)

// openRaw opens (creating when missing) the database at path and runs
// pragmas on it, in order.
func openRaw(path string, pragmas []string) (*rawConn, error) {
	c := &rawConn{tls: libc.NewTLS(), interrupt: libc.NewTLS()}
	if err := c.open(path); err != nil {
		c.Close()
		return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
	}
	sqlite3.Xsqlite3_extended_result_codes(c.tls, c.db, 1)
	for _, p := range pragmas {
		if _, err := c.ExecContext(context.Background(), "PRAGMA "+p, nil); err != nil {
			c.Close()
			return nil, fmt.Errorf("open sqlite database %s: pragma %s: %w", path, p, err)
		}
	}
	return c, nil
}

// open opens the database file at path; without SQLite's mutex, as the
// connection is used by one goroutine at a time.
func (c *rawConn) open(path string) error {
	name, err := libc.CString(path)
	if err != nil {
		return err
	}
	defer libc.Xfree(c.tls, name)
	pdb := c.tls.Alloc(int(unsafe.Sizeof(uintptr(0))))
	defer c.tls.Free(int(unsafe.Sizeof(uintptr(0))))
	rc := sqlite3.Xsqlite3_open_v2(c.tls, name, pdb, sqlite3.SQLITE_OPEN_READWRITE|sqlite3.SQLITE_OPEN_CREATE|sqlite3.SQLITE_OPEN_NOMUTEX, 0)
	// A failed open may leave a handle, for its message and for Close.
	c.db = outPointer(pdb)
	if rc != sqlite3.SQLITE_OK {
		return c.errorOf(rc)
	}
	return nil
}

func (c *rawConn) freeTLS() {
	c.tls.Close()
	c.interrupt.Close()
}

// Close closes the connection; statements not yet closed are finalised
// as they are (sqlite3_close_v2).
func (c *rawConn) Close() error {
	if c.tls == nil {
		return nil // closed already
	}
	var err error
	for _, s := range c.kept {
		s.Close()
	}
	c.kept = nil
	if c.db != 0 {
		if rc := sqlite3.Xsqlite3_close_v2(c.tls, c.db); rc != sqlite3.SQLITE_OK {
			err = c.errorOf(rc)
		}
		c.db = 0
	}
	c.texts.free(c.tls)
	c.scratch.free(c.tls)
	c.freeTLS()
	c.tls, c.interrupt = nil, nil
	return err
}

// errContextFree is what the driver interfaces' methods without a
// context answer: the sink calls the ones with a context, and begins its
// transactions with BEGIN IMMEDIATE through ExecContext.
var errContextFree = errors.New("sqlite: not supported on the sink's writing connection; use the context methods")

func (c *rawConn) Begin() (driver.Tx, error) { return nil, errContextFree }

func (c *rawConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// PrepareContext prepares query, one statement, to be kept
// (SQLITE_PREPARE_PERSISTENT).
func (c *rawConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.prepareOne(query, sqlite3.SQLITE_PREPARE_PERSISTENT)
}

// prepareOne compiles query, which must hold one statement, and nothing
// after it but spaces and comments.
func (c *rawConn) prepareOne(query string, flags uint32) (*rawStmt, error) {
	s, rest, err := c.prepare(query, flags)
	if err != nil {
		return nil, err
	}
	if s != nil && strings.TrimSpace(rest) != "" {
		next, _, err := c.prepare(rest, 0)
		if next != nil || err != nil {
			s.Close()
			if next != nil {
				next.Close()
			}
			return nil, errors.Join(fmt.Errorf("sqlite: %q: one statement expected", query), err)
		}
	}
	if s == nil {
		return nil, fmt.Errorf("sqlite: %q: one statement expected, none found", query)
	}
	return s, nil
}

// prepare compiles the first statement of query; rest is what follows it.
// s is nil when query holds no statement (only spaces or comments).
func (c *rawConn) prepare(query string, flags uint32) (s *rawStmt, rest string, err error) {
	sql, err := libc.CString(query)
	if err != nil {
		return nil, "", err
	}
	defer libc.Xfree(c.tls, sql)
	out := c.tls.Alloc(2 * int(unsafe.Sizeof(uintptr(0))))
	defer c.tls.Free(2 * int(unsafe.Sizeof(uintptr(0))))
	pstmt, ptail := out, out+unsafe.Sizeof(uintptr(0))
	if rc := sqlite3.Xsqlite3_prepare_v3(c.tls, c.db, sql, int32(len(query)), flags, pstmt, ptail); rc != sqlite3.SQLITE_OK {
		return nil, "", c.errorOf(rc)
	}
	rest = query[outPointer(ptail)-sql:]
	p := outPointer(pstmt)
	if p == 0 {
		return nil, rest, nil
	}
	return &rawStmt{c: c, p: p, params: int(sqlite3.Xsqlite3_bind_parameter_count(c.tls, p))}, rest, nil
}

// ExecContext runs query, which may hold several statements when it has no
// arguments.
func (c *rawConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if keeps(query) {
		s := c.kept[query]
		if s == nil {
			st, err := c.PrepareContext(ctx, query)
			if err != nil {
				return nil, err
			}
			s = st.(*rawStmt)
			if c.kept == nil {
				c.kept = make(map[string]*rawStmt)
			}
			c.kept[query] = s
		}
		return s.exec(ctx, args)
	}
	var result rawResult
	for rest := query; ; {
		s, tail, err := c.prepare(rest, 0)
		if err != nil {
			return nil, err
		}
		if s == nil {
			return result, nil
		}
		if len(args) > 0 && strings.TrimSpace(tail) != "" {
			s.Close()
			return nil, fmt.Errorf("sqlite: exec %q: arguments given to several statements", query)
		}
		result, err = s.exec(ctx, args)
		if cerr := s.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
		rest = tail
	}
}

// keeps reports whether ExecContext keeps query prepared: the statements
// that begin and end the sink's transactions. Preparing BEGIN IMMEDIATE
// and COMMIT afresh took about 18,500 instructions a transaction, an
// eighth of writing a one-record batch (BenchmarkWrite1).
func keeps(query string) bool {
	switch query {
	case "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK":
		return true
	}
	return false
}

// QueryContext runs query, one statement; closing the rows finalises it.
func (c *rawConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, err := c.prepareOne(query, 0)
	if err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, args)
	if err != nil {
		s.Close()
		return nil, err
	}
	rows.finalize = true
	return rows, nil
}

// watch arranges for ctx's end to interrupt the statement about to run,
// and returns what to call once it has: nil when ctx cannot end.
func (c *rawConn) watch(ctx context.Context) func() {
	if ctx.Done() == nil {
		return nil
	}
	c.mu.Lock()
	c.started++
	gen := c.started
	c.running = gen
	c.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.running == gen {
			sqlite3.Xsqlite3_interrupt(c.interrupt, c.db)
		}
	})
	return func() {
		stop()
		c.mu.Lock()
		c.running = 0
		c.mu.Unlock()
	}
}

// errorOf is the error for the result code rc of the last call on c.
func (c *rawConn) errorOf(rc int32) error {
	msg := libc.GoString(sqlite3.Xsqlite3_errstr(c.tls, rc))
	if c.db != 0 {
		// The connection's message, when it says more than the code's.
		if m := libc.GoString(sqlite3.Xsqlite3_errmsg(c.tls, c.db)); m != "" && m != msg {
			msg += ": " + m
		}
	}
	return &sqliteError{code: int(rc), msg: fmt.Sprintf("%s (%d)", msg, rc)}
}

// sqliteError is a failure SQLite reported, with its extended result
// code, worded as modernc's driver words its own.
type sqliteError struct {
	code int
	msg  string
}

func (e *sqliteError) Error() string { return e.msg }

// Code is the extended result code, as modernc's sqlite.Error has it.
func (e *sqliteError) Code() int { return e.code }

// rawStmt is a prepared statement of a rawConn.
type rawStmt struct {
	c      *rawConn
	p      uintptr
	params int
}

func (s *rawStmt) Close() error {
	if s.p == 0 {
		return nil
	}
	rc := sqlite3.Xsqlite3_finalize(s.c.tls, s.p)
	s.p = 0
	if rc != sqlite3.SQLITE_OK {
		return s.c.errorOf(rc)
	}
	return nil
}

func (s *rawStmt) NumInput() int { return s.params }

func (s *rawStmt) Exec([]driver.Value) (driver.Result, error) { return nil, errContextFree }

func (s *rawStmt) Query([]driver.Value) (driver.Rows, error) { return nil, errContextFree }

func (s *rawStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.exec(ctx, args)
}

// exec binds args, steps the statement to its end and resets it. Texts
// and blobs are bound where exec copied them, in c.texts: the statement
// reads them only while it steps, and every exec binds each of its
// parameters again before stepping, so what a statement still points at
// afterwards is never read.
func (s *rawStmt) exec(ctx context.Context, args []driver.NamedValue) (rawResult, error) {
	if err := ctx.Err(); err != nil {
		return rawResult{}, err
	}
	c := s.c
	if err := s.bind(args, true); err != nil {
		return rawResult{}, err
	}
	if done := c.watch(ctx); done != nil {
		defer done()
	}
	rc := sqlite3.Xsqlite3_step(c.tls, s.p)
	for rc == sqlite3.SQLITE_ROW {
		rc = sqlite3.Xsqlite3_step(c.tls, s.p)
	}
	// Read before the reset, which clears the statement's error.
	var result rawResult
	var err error
	if rc == sqlite3.SQLITE_DONE {
		result.changes = int64(sqlite3.Xsqlite3_changes64(c.tls, c.db))
		result.lastID = int64(sqlite3.Xsqlite3_last_insert_rowid(c.tls, c.db))
	} else {
		err = s.failed(ctx, rc)
	}
	sqlite3.Xsqlite3_reset(c.tls, s.p)
	c.texts.trim(c.tls)
	return result, err
}

// failed is the error of a step that returned rc: ctx's, when it ended
// and interrupted the statement.
func (s *rawStmt) failed(ctx context.Context, rc int32) error {
	err := s.c.errorOf(rc)
	if rc&0xff == sqlite3.SQLITE_INTERRUPT && ctx.Err() != nil {
		return fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	return err
}

func (s *rawStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.query(ctx, args)
}

// query binds args as copies SQLite keeps (SQLITE_TRANSIENT): rows are
// read while other statements run, which reuse c.texts.
func (s *rawStmt) query(ctx context.Context, args []driver.NamedValue) (*rawRows, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	err := s.bind(args, false)
	s.c.scratch.trim(s.c.tls)
	if err != nil {
		return nil, err
	}
	n := int(sqlite3.Xsqlite3_column_count(s.c.tls, s.p))
	cols := make([]string, n)
	for i := range cols {
		cols[i] = libc.GoString(sqlite3.Xsqlite3_column_name(s.c.tls, s.p, int32(i)))
	}
	return &rawRows{s: s, ctx: ctx, cols: cols}, nil
}

// bind binds args to the statement's parameters by position (the sink
// numbers its arguments 1, 2, ... in order). Texts and blobs are copied
// into C memory: into c.texts and bound where they lie (SQLITE_STATIC)
// when static, else into c.scratch, for SQLite to copy as it binds them
// (SQLITE_TRANSIENT).
func (s *rawStmt) bind(args []driver.NamedValue, static bool) error {
	c := s.c
	if len(args) != s.params {
		return fmt.Errorf("sqlite: statement takes %d arguments, %d given", s.params, len(args))
	}
	block, destructor := &c.scratch, sqlite3.SQLITE_TRANSIENT
	if static {
		block, destructor = &c.texts, 0 // SQLITE_STATIC
	}
	size := 0
	for i := range args {
		n := 0
		switch v := args[i].Value.(type) {
		case string:
			n = len(v)
		case []byte:
			n = len(v)
		}
		if n > math.MaxInt32 {
			// SQLite takes a length as an int; a negative one would
			// have it read up to a NUL byte.
			return fmt.Errorf("sqlite: argument %d: %d bytes, more than SQLite can bind", i+1, n)
		}
		size += n
	}
	if err := block.reset(c.tls, size); err != nil {
		return err
	}
	for i := range args {
		a := &args[i]
		if a.Ordinal != i+1 || a.Name != "" {
			return fmt.Errorf("sqlite: argument %d is numbered %d (named %q); arguments are bound by position", i+1, a.Ordinal, a.Name)
		}
		var rc int32
		switch v := a.Value.(type) {
		case nil:
			rc = sqlite3.Xsqlite3_bind_null(c.tls, s.p, int32(i+1))
		case int64:
			rc = sqlite3.Xsqlite3_bind_int64(c.tls, s.p, int32(i+1), v)
		case float64:
			rc = sqlite3.Xsqlite3_bind_double(c.tls, s.p, int32(i+1), v)
		case bool:
			var n int64
			if v {
				n = 1
			}
			rc = sqlite3.Xsqlite3_bind_int64(c.tls, s.p, int32(i+1), n)
		case string:
			p := block.add(v)
			rc = sqlite3.Xsqlite3_bind_text(c.tls, s.p, int32(i+1), p, int32(len(v)), destructor)
		case []byte:
			if v == nil {
				rc = sqlite3.Xsqlite3_bind_null(c.tls, s.p, int32(i+1))
				break
			}
			p := block.add(unsafe.String(unsafe.SliceData(v), len(v)))
			rc = sqlite3.Xsqlite3_bind_blob(c.tls, s.p, int32(i+1), p, int32(len(v)), destructor)
		default:
			return fmt.Errorf("sqlite: argument %d: cannot bind a %T", i+1, a.Value)
		}
		if rc != sqlite3.SQLITE_OK {
			return c.errorOf(rc)
		}
	}
	return nil
}

type rawResult struct{ changes, lastID int64 }

func (r rawResult) LastInsertId() (int64, error) { return r.lastID, nil }
func (r rawResult) RowsAffected() (int64, error) { return r.changes, nil }

// rawRows are a query's rows: TEXT as string, INTEGER as int64, REAL as
// float64, BLOB as []byte, NULL as nil.
type rawRows struct {
	s        *rawStmt
	ctx      context.Context
	cols     []string
	finalize bool
	done     bool
}

func (r *rawRows) Columns() []string { return r.cols }

func (r *rawRows) Close() error {
	if r.s == nil {
		return nil
	}
	s := r.s
	r.s = nil
	if r.finalize {
		return s.Close()
	}
	sqlite3.Xsqlite3_reset(s.c.tls, s.p)
	return nil
}

func (r *rawRows) Next(dest []driver.Value) error {
	if r.done || r.s == nil {
		return io.EOF
	}
	s, tls := r.s, r.s.c.tls
	done := s.c.watch(r.ctx)
	rc := sqlite3.Xsqlite3_step(tls, s.p)
	if done != nil {
		done()
	}
	switch rc {
	case sqlite3.SQLITE_ROW:
	case sqlite3.SQLITE_DONE:
		r.done = true
		return io.EOF
	default:
		r.done = true
		return s.failed(r.ctx, rc)
	}
	for i := range dest {
		switch sqlite3.Xsqlite3_column_type(tls, s.p, int32(i)) {
		case sqlite3.SQLITE_INTEGER:
			dest[i] = int64(sqlite3.Xsqlite3_column_int64(tls, s.p, int32(i)))
		case sqlite3.SQLITE_FLOAT:
			dest[i] = sqlite3.Xsqlite3_column_double(tls, s.p, int32(i))
		case sqlite3.SQLITE_TEXT:
			p := sqlite3.Xsqlite3_column_text(tls, s.p, int32(i))
			n := int(sqlite3.Xsqlite3_column_bytes(tls, s.p, int32(i)))
			dest[i] = string(libc.GoBytes(p, n))
		case sqlite3.SQLITE_BLOB:
			p := sqlite3.Xsqlite3_column_blob(tls, s.p, int32(i))
			n := int(sqlite3.Xsqlite3_column_bytes(tls, s.p, int32(i)))
			dest[i] = append([]byte{}, libc.GoBytes(p, n)...)
		default:
			dest[i] = nil
		}
	}
	return nil
}

// cBlock is a block of C memory that an Exec's texts are copied into.
type cBlock struct {
	p         uintptr
	size, len int
}

// reset empties the block, growing it to hold at least n bytes. The
// block it replaces is freed: a statement bound to it is always bound
// again before it is stepped (see exec).
func (b *cBlock) reset(tls *libc.TLS, n int) error {
	b.len = 0
	if n <= b.size && b.p != 0 {
		return nil
	}
	size := max(n, 2*b.size, 4096)
	p := libc.Xmalloc(tls, libc.Tsize_t(size))
	if p == 0 {
		return fmt.Errorf("sqlite: cannot allocate %d bytes for a statement's arguments", size)
	}
	b.free(tls)
	b.p, b.size = p, size
	return nil
}

// add copies s into the block and returns where: never 0, even for an
// empty s, which SQLite would bind as NULL.
func (b *cBlock) add(s string) uintptr {
	p := b.p + uintptr(b.len)
	copy(libc.GoBytes(p, len(s)), s)
	b.len += len(s)
	return p
}

// keptBlockBytes is the largest block kept from one statement to the
// next: a batch of large records grows it once, and is not held for good.
const keptBlockBytes = 1 << 20

// trim frees the block when it is larger than keptBlockBytes.
func (b *cBlock) trim(tls *libc.TLS) {
	if b.size > keptBlockBytes {
		b.free(tls)
	}
}

func (b *cBlock) free(tls *libc.TLS) {
	if b.p != 0 {
		libc.Xfree(tls, b.p)
		b.p, b.size, b.len = 0, 0, 0
	}
}

// outPointer reads the pointer SQLite wrote at p, an out parameter in
// the TLS's memory (C memory, so libc.GoBytes is how Go reads it).
func outPointer(p uintptr) uintptr {
	return *(*uintptr)(unsafe.Pointer(unsafe.SliceData(libc.GoBytes(p, int(unsafe.Sizeof(uintptr(0)))))))
}
