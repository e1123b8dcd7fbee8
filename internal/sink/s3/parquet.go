package s3

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/columns"
	"github.com/accord-events/accord/internal/sink/tables"
)

// Parquet files: a good record's file has the columns of its contract
// MODEL's typed table, derived by internal/sink/tables (the model the
// postgres, mysql and sqlite sinks use) with Dialect: the envelope
// columns, a JSON column per context contract, then the properties,
// flattened to depth 3 and bounded to 400 columns. Readers see the
// columns by name (the Parquet schema lists them in name order).

// Dialect is Parquet's tables.Dialect: identifiers of up to 64 bytes, as
// the SQL sinks' typed tables, and no reserved words. Parquet has no DDL
// (a file carries its schema), so the DDL methods are never called and
// return nothing.
type Dialect struct{}

var _ tables.Dialect = Dialect{}

// MaxIdentifier is 64 bytes, as MySQL's and SQLite's typed tables.
func (Dialect) MaxIdentifier() int { return 64 }

// Reserved: Parquet reserves no column name.
func (Dialect) Reserved(string) bool { return false }

// Quote quotes an identifier as SQL engines reading the files do.
func (Dialect) Quote(ident string) string { return `"` + strings.ReplaceAll(ident, `"`, `""`) + `"` }

// parquetTypes name a kind's Parquet type (physical and logical).
var parquetTypes = map[tables.Kind]string{
	tables.Text:      "BYTE_ARRAY STRING",
	tables.BigInt:    "INT64 INT(64, signed)",
	tables.Double:    "DOUBLE",
	tables.Bool:      "BOOLEAN",
	tables.Timestamp: "INT64 TIMESTAMP(MICROS, UTC)",
	tables.Date:      "INT32 DATE",
	tables.UUID:      "BYTE_ARRAY STRING",
	tables.JSON:      "BYTE_ARRAY JSON",
}

// ColumnType is the Parquet type of a kind.
func (Dialect) ColumnType(k tables.Kind) string { return parquetTypes[k] }

// KindOf is never needed: no catalog is read back.
func (Dialect) KindOf(string) (tables.Kind, bool) { return 0, false }

// CreateTable returns nothing: a Parquet file carries its schema.
func (Dialect) CreateTable(*tables.Table) []string { return nil }

// AddColumn returns nothing: a Parquet file carries its schema.
func (Dialect) AddColumn(string, tables.Column) []string { return nil }

// DropNotNull returns nothing: a Parquet file carries its schema.
func (Dialect) DropNotNull(string, tables.Column) string { return "" }

// node is the Parquet node of a kind. A UUID is a string: Parquet's UUID
// type is read by neither Athena nor Spark.
func node(k tables.Kind) parquet.Node {
	switch k {
	case tables.BigInt:
		return parquet.Leaf(parquet.Int64Type)
	case tables.Double:
		return parquet.Leaf(parquet.DoubleType)
	case tables.Bool:
		return parquet.Leaf(parquet.BooleanType)
	case tables.Timestamp:
		return parquet.Timestamp(parquet.Microsecond)
	case tables.Date:
		return parquet.Date()
	case tables.JSON:
		return parquet.JSON()
	}
	return parquet.String()
}

// compressions are the codecs compression names.
var compressions = map[string]compress.Codec{
	"zstd":   &parquet.Zstd,
	"snappy": &parquet.Snappy,
	"gzip":   &parquet.Gzip,
	"none":   &parquet.Uncompressed,
}

// maxContexts bounds the context contracts one MODEL's table tracks (the
// table's columns are bounded by tables.Options.MaxColumns besides).
const maxContexts = 400

// typedTables knows the typed table of each contract MODEL seen; the
// sink's mutex guards it.
type typedTables struct {
	contracts sink.Contracts
	codec     compress.Codec
	changed   <-chan struct{}
	models    map[string]*model
	envelope  []columns.Column
}

// model is what a MODEL's table was derived from, and the table.
type model struct {
	// versions are the contracts of the versions seen, nil for a
	// version that resolves to none.
	versions map[string]*contract.Contract
	contexts map[string]bool
	table    *typedTable
	dirty    bool
}

// typedTable is a typed table as a Parquet schema.
type typedTable struct {
	table  *tables.Table
	schema *parquet.Schema
	// column[i] is the table column of Parquet leaf i; envelope[j] is
	// the index in tables.Envelope() of table column j's envelope column.
	column   []int
	envelope []int
	codec    compress.Codec
}

func newTypedTables(cs sink.Contracts, codec compress.Codec) *typedTables {
	t := &typedTables{contracts: cs, codec: codec, models: map[string]*model{}, envelope: tables.Envelope()}
	if cs != nil {
		t.changed = cs.Changed()
	}
	return t
}

// row returns r's typed table and its row in it; a nil table when r has
// none (no contract resolves, or its events are not objects).
func (t *typedTables) row(r *event.Envelope) (*typedTable, parquet.Row, error) {
	if t.contracts == nil {
		return nil, nil, nil
	}
	select {
	case <-t.changed:
		clear(t.models)
		t.changed = t.contracts.Changed()
	default:
	}
	key, ok := tables.ContextKey(r.Schema)
	if !ok {
		return nil, nil, nil
	}
	m := t.models[key]
	if m == nil {
		m = &model{versions: map[string]*contract.Contract{}, contexts: map[string]bool{}}
		t.models[key] = m
	}
	c, seen := m.versions[r.Version]
	if !seen {
		c, _ = t.contracts.Resolve(r.Schema)
		m.versions[r.Version] = c
		m.dirty = true
	}
	if c == nil {
		return nil, nil, nil
	}
	for _, cx := range r.Contexts {
		if k, ok := tables.ContextKey(cx.Schema); ok && !m.contexts[k] && len(m.contexts) < maxContexts {
			m.contexts[k] = true
			m.dirty = true
		}
	}
	if m.dirty {
		table, err := m.derive()
		if err != nil {
			return nil, nil, err
		}
		m.dirty = false
		if table == nil {
			m.table = nil
		} else if m.table == nil || !sameColumns(m.table.table, table) {
			m.table = newTypedTable(table, t.codec)
		}
	}
	if m.table == nil {
		return nil, nil, nil
	}
	row, err := m.table.row(r, t.envelope)
	return m.table, row, err
}

// derive is the typed table of every version seen, merged oldest first
// (as the SQL sinks merge the versions of a MODEL); nil when the events
// are not objects.
func (m *model) derive() (*tables.Table, error) {
	var cs []*contract.Contract
	for _, c := range m.versions {
		if c != nil {
			cs = append(cs, c)
		}
	}
	slices.SortFunc(cs, func(a, b *contract.Contract) int {
		va, vb := a.Key.Version, b.Key.Version
		if va.Revision != vb.Revision {
			return va.Revision - vb.Revision
		}
		return va.Addition - vb.Addition
	})
	contexts := make([]string, 0, len(m.contexts))
	for k := range m.contexts {
		contexts = append(contexts, k)
	}
	var out *tables.Table
	for _, c := range cs {
		table, err := tables.FromContract(Dialect{}, c, contexts, tables.DefaultOptions())
		if errors.Is(err, tables.ErrNotObject) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if out != nil {
			table = tables.Merge(out, table)
		}
		out = table
	}
	return out, nil
}

func sameColumns(a, b *tables.Table) bool {
	return slices.EqualFunc(a.Columns, b.Columns, func(x, y tables.Column) bool {
		return x.Name == y.Name && x.Kind == y.Kind && x.Nullable == y.Nullable && slices.Equal(x.Source.Path, y.Source.Path) &&
			x.Source.Envelope == y.Source.Envelope && x.Source.Context == y.Source.Context
	})
}

func newTypedTable(table *tables.Table, codec compress.Codec) *typedTable {
	group := parquet.Group{}
	for _, c := range table.Columns {
		n := node(c.Kind)
		if c.Nullable {
			n = parquet.Optional(n)
		} else {
			n = parquet.Required(n)
		}
		group[c.Name] = n
	}
	schema := parquet.NewSchema(table.Name, group)
	byName := map[string]int{}
	for i, c := range table.Columns {
		byName[c.Name] = i
	}
	t := &typedTable{table: table, schema: schema, codec: codec, envelope: make([]int, len(table.Columns))}
	envelope := tables.Envelope()
	for j, c := range table.Columns {
		t.envelope[j] = -1
		for i, ec := range envelope {
			if c.Source.Envelope == ec.Name {
				t.envelope[j] = i
			}
		}
	}
	for _, path := range schema.Columns() {
		t.column = append(t.column, byName[path[0]])
	}
	return t
}

// encode writes rows as one Parquet file. The encoder's panic (it trusts
// its rows) is an error like any other: it must not end the collector.
func (t *typedTable) encode(rows []parquet.Row) (body []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			body, err = nil, fmt.Errorf("parquet encoder: %v", p)
		}
	}()
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, t.schema, parquet.Compression(t.codec), parquet.CreatedBy("accord", "", ""),
		parquet.KeyValueMetadata("accord.contract", t.table.Contract), parquet.KeyValueMetadata("accord.version", t.table.Version))
	if _, err := w.WriteRows(rows); err != nil {
		return nil, fmt.Errorf("write parquet rows: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("close parquet file: %w", err)
	}
	return buf.Bytes(), nil
}

// split encodes what it can of rows that failed to encode together: it
// halves them until each failure is down to one row, and returns the
// file of the rows that encode and the rows that cannot. Encoding is
// tried O(bad × log rows) times, only on this path.
func (t *typedTable) split(rows []parquet.Row) (body []byte, bad []parquet.Row) {
	var good []parquet.Row
	var walk func([]parquet.Row)
	walk = func(part []parquet.Row) {
		if _, err := t.encode(part); err == nil {
			good = append(good, part...)
			return
		}
		if len(part) == 1 {
			bad = append(bad, part[0])
			return
		}
		walk(part[:len(part)/2])
		walk(part[len(part)/2:])
	}
	walk(rows)
	if len(good) == 0 {
		return nil, bad
	}
	body, err := t.encode(good)
	if err != nil {
		// Each half encodes, the whole does not: nothing goes as
		// Parquet rather than guessing.
		return nil, rows
	}
	return body, bad
}

// rowJSON is a row that could not be encoded, as one JSON object of its
// columns by name (the typed table's columns: the envelope's and the
// event's), for the NDJSON file beside its Parquet file.
func (t *typedTable) rowJSON(row parquet.Row) []byte {
	obj := make(map[string]any, len(row))
	for leaf, v := range row {
		if leaf >= len(t.column) {
			break
		}
		c := t.table.Columns[t.column[leaf]]
		switch {
		case v.IsNull():
			obj[c.Name] = nil
		case v.Kind() == parquet.ByteArray && c.Kind == tables.JSON:
			obj[c.Name] = json.RawMessage(v.ByteArray())
		case v.Kind() == parquet.ByteArray:
			obj[c.Name] = string(v.ByteArray())
		case v.Kind() == parquet.Boolean:
			obj[c.Name] = v.Boolean()
		case v.Kind() == parquet.Double:
			obj[c.Name] = v.Double()
		case v.Kind() == parquet.Int32:
			obj[c.Name] = v.Int32()
		default:
			obj[c.Name] = v.Int64()
		}
	}
	b, err := json.Marshal(obj)
	if err != nil {
		// A JSON column that is not JSON: its text, quoted.
		for k, v := range obj {
			if raw, ok := v.(json.RawMessage); ok {
				obj[k] = string(raw)
			}
		}
		b, _ = json.Marshal(obj)
	}
	return b
}

// row is r's row: one value per Parquet leaf, in the schema's order.
func (t *typedTable) row(r *event.Envelope, envelope []columns.Column) (parquet.Row, error) {
	env, _ := columns.Append(make([]columns.Value, 0, len(envelope)), nil, envelope, r)
	payload := payloadReader{root: r.Payload}
	row := make(parquet.Row, len(t.column))
	for leaf, ci := range t.column {
		c := t.table.Columns[ci]
		v, null, err := t.value(c, t.envelope[ci], r, env, &payload)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", c.Name, err)
		}
		switch {
		case null && !c.Nullable:
			return nil, fmt.Errorf("column %s: no value, and the contract requires one", c.Name)
		case null:
			row[leaf] = parquet.NullValue().Level(0, 0, leaf)
		case c.Nullable:
			row[leaf] = v.Level(0, 1, leaf)
		default:
			row[leaf] = v.Level(0, 0, leaf)
		}
	}
	// The row is kept until its file rolls, beyond the record's life:
	// its bytes are copied out of the record, into one buffer.
	n := 0
	for _, v := range row {
		if v.Kind() == parquet.ByteArray && !v.IsNull() {
			n += len(v.ByteArray())
		}
	}
	arena := make([]byte, 0, n)
	for i, v := range row {
		if v.Kind() == parquet.ByteArray && !v.IsNull() {
			start := len(arena)
			arena = append(arena, v.ByteArray()...)
			row[i] = parquet.ByteArrayValue(arena[start:len(arena):len(arena)]).Level(v.RepetitionLevel(), v.DefinitionLevel(), v.Column())
		}
	}
	return row, nil
}

// value is c's value in r (null: none).
func (t *typedTable) value(c tables.Column, envIndex int, r *event.Envelope, env []columns.Value, payload *payloadReader) (parquet.Value, bool, error) {
	switch {
	case c.Source.Envelope != "":
		v := env[envIndex]
		switch {
		case v.Null:
			return parquet.Value{}, true, nil
		case c.Kind == tables.Bool:
			return parquet.BooleanValue(v.Bool), false, nil
		case c.Kind == tables.Timestamp:
			return parquet.Int64Value(v.Time.UnixMicro()), false, nil
		case c.Kind == tables.JSON:
			return parquet.ByteArrayValue(v.JSON), false, nil
		}
		return parquet.ByteArrayValue([]byte(v.Text)), false, nil
	case c.Source.Context != "":
		var arr []byte
		for _, cx := range r.Contexts {
			if k, ok := tables.ContextKey(cx.Schema); ok && k == c.Source.Context {
				if arr == nil {
					arr = append(arr, '[')
				} else {
					arr = append(arr, ',')
				}
				arr = append(arr, cx.Data...)
			}
		}
		if arr == nil {
			return parquet.Value{}, true, nil
		}
		return parquet.ByteArrayValue(append(arr, ']')), false, nil
	}
	raw, ok := payload.get(c.Source.Path)
	if !ok || string(raw) == "null" {
		return parquet.Value{}, true, nil
	}
	return convert(c.Kind, raw)
}

// jsonKind names what a JSON value is, for an error: never the value
// itself, which errors carry into logs and dead letters, and which may be
// personal data that no x-accord-pii rule governs.
func jsonKind(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "an empty value"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// convert turns a JSON value into a column of kind k; a value the kind
// cannot hold is an error (the record is dead-lettered, as a typed
// table's insert refuses it).
func convert(k tables.Kind, raw json.RawMessage) (parquet.Value, bool, error) {
	str := func() (string, error) {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("%s is not a string", jsonKind(raw))
		}
		return s, nil
	}
	switch k {
	case tables.BigInt:
		if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
			return parquet.Int64Value(n), false, nil
		}
		// JSON allows 2.0 for an integer.
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil || f != float64(int64(f)) {
			return parquet.Value{}, false, fmt.Errorf("%s is not a 64-bit integer", jsonKind(raw))
		}
		return parquet.Int64Value(int64(f)), false, nil
	case tables.Double:
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			return parquet.Value{}, false, fmt.Errorf("%s is not a number", jsonKind(raw))
		}
		return parquet.DoubleValue(f), false, nil
	case tables.Bool:
		switch string(raw) {
		case "true":
			return parquet.BooleanValue(true), false, nil
		case "false":
			return parquet.BooleanValue(false), false, nil
		}
		return parquet.Value{}, false, fmt.Errorf("%s is not a boolean", jsonKind(raw))
	case tables.Timestamp:
		s, err := str()
		if err != nil {
			return parquet.Value{}, false, err
		}
		// RFC 3339, and so a contract's date-time, allows a lower-case t
		// and z, which time.Parse does not read; they are the only
		// letters such a time has.
		ts, err := time.Parse(time.RFC3339Nano, strings.ToUpper(s))
		if err != nil {
			return parquet.Value{}, false, errors.New("a string that is not an RFC 3339 date-time")
		}
		return parquet.Int64Value(ts.UTC().UnixMicro()), false, nil
	case tables.Date:
		s, err := str()
		if err != nil {
			return parquet.Value{}, false, err
		}
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return parquet.Value{}, false, errors.New("a string that is not a date (YYYY-MM-DD)")
		}
		return parquet.Int32Value(int32(d.Unix() / 86400)), false, nil
	case tables.JSON:
		return parquet.ByteArrayValue(raw), false, nil
	}
	// Text and UUID: a string as it is; another value as its JSON text,
	// as PostgreSQL's ->> gives it.
	if len(raw) > 0 && raw[0] == '"' {
		s, err := str()
		if err != nil {
			return parquet.Value{}, false, err
		}
		return parquet.ByteArrayValue([]byte(s)), false, nil
	}
	return parquet.ByteArrayValue(raw), false, nil
}

// payloadReader finds values in a payload by path, decoding each object on
// the way once.
type payloadReader struct {
	root json.RawMessage
	objs map[string]map[string]json.RawMessage
}

func (p *payloadReader) get(path []string) (json.RawMessage, bool) {
	if p.objs == nil {
		p.objs = map[string]map[string]json.RawMessage{}
	}
	cur, prefix := p.root, ""
	for _, name := range path {
		obj, ok := p.objs[prefix]
		if !ok {
			if err := json.Unmarshal(cur, &obj); err != nil {
				obj = nil
			}
			p.objs[prefix] = obj
		}
		if obj == nil {
			return nil, false
		}
		if cur, ok = obj[name]; !ok {
			return nil, false
		}
		prefix += "\x00" + name
	}
	return cur, true
}
