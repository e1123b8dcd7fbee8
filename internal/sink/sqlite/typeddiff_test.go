package sqlite

import (
	"context"
	"database/sql/driver"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/sinktest"
	"github.com/accord-events/accord/internal/sink/tables"
)

// The typed rows computed in Go (typedrow.go) against the SQL that
// computed them before: the typed inserts read each row back from the good
// table and took every column out of it with SQLite's JSON operators.
// oldTypedInsert is that SQL, kept here as the reference.

// oldValueExpr is the SQL expression of c's value in a row x of the good
// table, as the typed inserts computed it.
func oldValueExpr(c tables.Column) string {
	switch {
	case c.Source.Envelope != "":
		return "x." + quoteIdent(c.Source.Envelope)
	case c.Source.Context != "":
		parts := strings.SplitN(c.Source.Context, "/", 3)
		prefix := parts[0] + "/" + parts[1] + "/jsonschema/" + parts[2] + "-"
		iglu := "iglu:" + prefix
		return "(SELECT json_group_array(json(j.value -> '$.data')) FROM json_each(x.contexts) j WHERE substr(j.value ->> '$.schema', 1, " +
			strconv.Itoa(len(iglu)) + ") = " + quoteLiteral(iglu) + " OR substr(j.value ->> '$.schema', 1, " + strconv.Itoa(len(prefix)) + ") = " + quoteLiteral(prefix) + " HAVING count(*) > 0)"
	}
	return pathExpr(c, "x.payload")
}

// oldTypedInsert inserts the good records of t's contract MODEL written
// after rowid ?1 into t.
func oldTypedInsert(goodTable string, t *tables.Table) string {
	parts := strings.SplitN(t.Contract, "/", 3)
	names := make([]string, len(t.Columns))
	exprs := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = quoteIdent(c.Name)
		exprs[i] = oldValueExpr(c)
	}
	model := parts[2] + "-"
	return "INSERT INTO " + quoteIdent(t.Name) + " (" + strings.Join(names, ", ") + ") SELECT " + strings.Join(exprs, ", ") +
		" FROM " + quoteIdent(goodTable) + " x WHERE x.rowid > ? AND x.vendor = " + quoteLiteral(parts[0]) + " AND x.name = " + quoteLiteral(parts[1]) +
		" AND substr(x.version, 1, " + strconv.Itoa(len(model)) + ") = " + quoteLiteral(model) + " ON CONFLICT DO NOTHING"
}

// diffSchema has a property of every kind, nested objects, and names
// SQLite's JSON paths read in their own ways.
const diffSchema = `"type": "object", "properties": {
	"s": {"type": "string"}, "i": {"type": "integer"}, "n": {"type": "number"}, "b": {"type": "boolean"},
	"t": {"type": "string", "format": "date-time"}, "d": {"type": "string", "format": "date"},
	"u": {"type": "string", "format": "uuid"}, "arr": {"type": "array"}, "any": {}, "multi": {"type": ["string", "integer"]},
	"o": {"type": "object", "properties": {"x": {"type": "integer"}, "y": {"type": "string"},
		"deep": {"type": "object", "properties": {"z": {"type": "number"}, "w": {"type": "object", "properties": {"q": {"type": "string"}}}}}}},
	"$dollar": {"type": "string"}, "quo\"te": {"type": "integer"}, "[0]": {"type": "string"}, "back\\slash": {"type": "string"},
	"sp ace": {"type": "number"}, "dot.ted": {"type": "boolean"}, "ünï": {"type": "string"}, "Mixed_9": {"type": "integer"}}`

// diffNames are the property names of diffSchema, with the nested ones.
var diffNames = []string{"s", "i", "n", "b", "t", "d", "u", "arr", "any", "multi", "o", "x", "y", "deep", "z", "w", "q",
	"$dollar", "quo\"te", "[0]", "back\\slash", "sp ace", "dot.ted", "ünï", "Mixed_9", "other"}

// differ compares, for one record, the values the old SQL computes from
// the good row with those Go computes.
type differ struct {
	s     *Sink // tables: off: writes the good rows the old SQL reads
	table *tables.Table
	plan  *typedPlan
	old   string
	n     int
	// sure counts the values Go vouched for, each once (vouched).
	sure    int
	vouched map[string]bool
}

func newDiffer(t testing.TB) *differ {
	t.Helper()
	c := sinktest.CompileContract(t, "iglu:com.acme/diff/jsonschema/1-0-0", diffSchema)
	tbl, err := tables.FromContract(Dialect{}, c, []string{"com.acme/user/1", "com.acme/user_x/1"}, tables.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	opts := NewOptions()
	opts.Path = filepath.Join(t.TempDir(), "diff.db")
	opts.Tables = TablesOff
	s, err := Open(context.Background(), *opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	plan, err := newTypedPlan(tbl)
	if err != nil {
		t.Fatal(err)
	}
	if err := createCheckTables(s.conn); err != nil {
		t.Fatal(err)
	}
	exprs := make([]string, len(tbl.Columns))
	for i, c := range tbl.Columns {
		exprs[i] = oldValueExpr(c)
	}
	return &differ{s: s, table: tbl, plan: plan, vouched: map[string]bool{}, old: "SELECT " + strings.Join(exprs, ", ") + " FROM events x WHERE x.rowid = ?"}
}

// query runs q and returns its one row, or the error.
func (d *differ) query(q string, args []driver.NamedValue) ([]driver.Value, error) {
	rows, err := d.s.conn.QueryContext(context.Background(), q, args)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	dest := make([]driver.Value, len(rows.Columns()))
	if err := rows.Next(dest); err != nil {
		return nil, err
	}
	for i, v := range dest {
		if b, ok := v.([]byte); ok {
			dest[i] = slices.Clone(b)
		}
	}
	if err := rows.Next(make([]driver.Value, len(dest))); err != io.EOF {
		return nil, fmt.Errorf("more than one row: %v", err)
	}
	return dest, nil
}

// check writes the record with payload and contexts, and reports the
// first column whose value differs, in type or value.
func (d *differ) check(payload string, contexts []event.Context) error {
	d.n++
	r := typedRecord(fmt.Sprintf("d%d", d.n), "iglu:com.acme/diff/jsonschema/1-0-0", payload, contexts...)
	if err := d.s.Write(context.Background(), []*event.Envelope{r}); err != nil {
		return fmt.Errorf("write: %v", err)
	}
	old, oldErr := d.query(d.old+" AND x.event_id = ?", []driver.NamedValue{{Ordinal: 1, Value: int64(d.n)}, {Ordinal: 2, Value: r.EventID}})
	goodArgs, _, _ := d.s.good.appendArgs(nil, nil, nil, r)
	var members []objectMember
	args, sure, err := d.plan.appendArgs(nil, r, goodArgs, &members)
	if err != nil {
		if oldErr == nil {
			return fmt.Errorf("Go: %v; SQL: %v", err, old)
		}
		return nil // both refuse it
	}
	for i := range args {
		args[i].Ordinal = i + 1
	}
	// Every value Go says surely passes its column's check passes it
	// in SQLite.
	for i, j := 0, 0; i < len(d.plan.cols); i++ {
		c := d.plan.cols[i]
		v := args[j].Value
		j++
		if d.plan.stamps[i] {
			j++
		}
		if c.sql || !c.checked() || !surelyPasses(c.kind, v) {
			continue
		}
		key := fmt.Sprintf("%d %T %v", c.kind, v, v)
		if d.vouched[key] {
			continue // asked before
		}
		d.vouched[key] = true
		if err := checkInSQLite(d.s.conn, c.kind, v); err != nil {
			return fmt.Errorf("column %s: Go vouched for %T %v, SQLite: %v", d.table.Columns[i].Name, v, v, err)
		}
		d.sure++
	}
	_ = sure
	got, newErr := d.query("SELECT "+d.plan.values, args)
	switch {
	case oldErr != nil && newErr != nil:
		return nil
	case oldErr != nil || newErr != nil:
		return fmt.Errorf("SQL: %v / %v; Go: %v / %v", old, oldErr, got, newErr)
	}
	for i := range old {
		if !sameValue(old[i], got[i]) {
			return fmt.Errorf("column %s (%s): SQL %T %#v, Go %T %#v", d.table.Columns[i].Name, d.table.Columns[i].Kind, old[i], old[i], got[i], got[i])
		}
	}
	return nil
}

// sameValue compares two SQL values by type and value, reals bit for bit
// (-0 is not 0).
func sameValue(a, b driver.Value) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	case []byte:
		y, ok := b.([]byte)
		return ok && string(x) == string(y)
	}
	return fmt.Sprintf("%T %#v", a, a) == fmt.Sprintf("%T %#v", b, b)
}

// jsonGen makes JSON texts of every shape the typed columns meet.
type jsonGen struct{ r *rand.Rand }

var (
	genNumbers = []string{"0", "-0", "1", "-1", "2.0", "-2.0", "0.0", "-0.0", "1.5", "0.1", "1e3", "1E3", "1e+3", "1e-3", "-1.25e-2",
		"9223372036854775807", "-9223372036854775808", "9223372036854775808", "-9223372036854775809", "18446744073709551615",
		"18446744073709551616", "123456789012345678901234567890", "1e400", "-1e400", "1e-400", "4.9e-324", "2.5e-324", "1.7976931348623157e308",
		"1.7976931348623159e308", "9007199254740993", "9007199254740993.0", "4611686018427387904.0", "9.223372036854775807e18",
		"3500000000000000.2500001", "0.30000000000000004", "123456789.123456789123456789", "1e22", "1e23", "8.98846567431158e307",
		"100000000000000000000000000000000000000000001e-20", "0.000000000000000000000000000000000000000000000123", "1e-5000", "1e5000",
		"1234567890123456789e-341", "12345678901234567890123e-345", "2.4703282292062328e-324", "2.4703282292062327e-324", "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497791.9"}
	genStrings = []string{``, `a`, `abc`, `\u00e9`, `é`, `\ud83d\ude00`, `😀`, `\ud800`, `\udc00`, `\ud800x`, `\ud800\u0041`, `\/`, `\\`, `\"`,
		`\n\t\r\b\f`, `\u0000`, `a\u0000b`, `\u001f`, `\u2028`, "\u2028", `2026-12-04T10:11:12Z`, `2026-12-04T10:11:12.123456+02:00`,
		`2026-12-04 10:11`, `2026-12-04`, `2026-02-30`, `2026-13-01`, `12:30`, `2451545.5`, `2026-12-04T10:11:12.9999Z`,
		`2026-12-04T10:11:12.1Z`, `2026-12-04T10:11:12.12Z`, `2026-12-04T10:11:12.123Z`, `2026-12-04T23:59:59.999Z`, `2024-02-29T00:00:00Z`,
		`0001-01-01T00:00:00Z`, `9998-12-31T23:59:59.5Z`, `2026-12-04T10:11:12.Z`, `2026-12-04t10:11:12Z`, `2026-12-04T10:11Z`,
		`6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b`, `not a time`, `iglu:com.acme/user/jsonschema/1-0-0`, `<>&'`, `  spaced  `, `{\"a\":1}`, `[1,2]`, `null`, `true`, `12`, `1.5`}
)

func (g jsonGen) ws() string {
	if g.r.IntN(4) == 0 {
		return [...]string{" ", "\n", "\t ", "\r\n  "}[g.r.IntN(4)]
	}
	return ""
}

func (g jsonGen) value(depth int) string {
	switch k := g.r.IntN(10); {
	case k == 0:
		return "null"
	case k == 1:
		return [...]string{"true", "false"}[g.r.IntN(2)]
	case k <= 3:
		if g.r.IntN(3) == 0 {
			return strconv.FormatInt(g.r.Int64()>>g.r.IntN(64)*int64(1-2*g.r.IntN(2)), 10)
		}
		if g.r.IntN(4) == 0 {
			return strconv.FormatFloat(g.r.NormFloat64()*math.Pow(10, float64(g.r.IntN(40)-20)), [...]byte{'g', 'e', 'f'}[g.r.IntN(3)], -1, 64)
		}
		return genNumbers[g.r.IntN(len(genNumbers))]
	case k <= 6:
		return `"` + genStrings[g.r.IntN(len(genStrings))] + `"`
	case k == 7 && depth < 4:
		n := g.r.IntN(4)
		parts := make([]string, n)
		for i := range parts {
			parts[i] = g.ws() + g.value(depth+1) + g.ws()
		}
		return "[" + strings.Join(parts, ",") + "]"
	case depth < 4:
		return g.object(depth + 1)
	}
	return `"leaf"`
}

// key is a member name: one of diffNames, sometimes escaped as JSON allows.
func (g jsonGen) key() string {
	name := diffNames[g.r.IntN(len(diffNames))]
	b, _ := json.Marshal(name)
	k := string(b)
	if g.r.IntN(5) == 0 && len(name) > 0 && name[0] < 0x80 {
		// \u-escape the first character: the same name, written otherwise.
		k = `"` + fmt.Sprintf(`\u%04x`, name[0]) + k[2:]
	}
	return k
}

func (g jsonGen) object(depth int) string {
	n := g.r.IntN(8)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = g.ws() + g.key() + g.ws() + ":" + g.ws() + g.value(depth) + g.ws()
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// valid is event data every typed column of diffSchema takes (no check
// refuses it), in the shapes JSON allows: each property present or not,
// numbers written every way, escapes, nested objects, white space.
func (g jsonGen) valid() string {
	pick := func(vs ...string) string { return vs[g.r.IntN(len(vs))] }
	props := map[string]func() string{
		`"s"`: func() string { return `"` + genStrings[g.r.IntN(len(genStrings))] + `"` },
		`"i"`: func() string {
			return pick("0", "-0", "2.0", "-7", "9223372036854775807", "-9223372036854775808", "4611686018427387904.0", "1e3")
		},
		`"n"`: func() string {
			return pick("0", "-0.0", "1.5", "1e308", "0.1", "123456789.123456789123456789", "7", "-2.5e-300")
		},
		`"b"`: func() string { return pick("true", "false", "null") },
		`"t"`: func() string {
			return pick(`"2026-12-04T10:11:12Z"`, `"2026-12-04T10:11:12.123456+02:00"`, `"2026-12-04T23:59:59.9999-05:30"`, `"2026-12-04 10:11"`)
		},
		`"d"`: func() string { return pick(`"2026-12-04"`, `"2024-02-29"`, "null") },
		`"u"`: func() string {
			return pick(`"6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b"`, `"6F1C2B3A-4D5E-4F60-8A7B-9C0D1E2F3A4B"`)
		},
		`"arr"`: func() string { return g.value(3) },
		`"any"`: func() string { return g.value(1) },
		`"o"`: func() string {
			return `{"x":` + pick("1", "2.0", "-0") + `, "y" : "` + genStrings[g.r.IntN(len(genStrings))] + `", "deep":{"z":1.5e1,"w":{"q":"\u00e9"}}}`
		},
		`"\u0024dollar"`:  func() string { return `"dollar"` },
		`"quo\"te"`:       func() string { return pick("1", "2.0") },
		`"[0]"`:           func() string { return `"zero"` },
		`"back\\slash"`:   func() string { return `"bs"` },
		`"sp ace"`:        func() string { return pick("1", "1.5") },
		`"dot.ted"`:       func() string { return pick("true", "false") },
		`"\u00fcn\u00ef"`: func() string { return `"unicode"` },
		`"Mixed_9"`:       func() string { return pick("9", "-9") },
	}
	var parts []string
	for k, v := range props {
		if g.r.IntN(3) > 0 {
			parts = append(parts, g.ws()+k+g.ws()+":"+g.ws()+v()+g.ws())
		}
	}
	slices.Sort(parts)
	g.r.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
	return "{" + strings.Join(parts, ",") + "}"
}

func (g jsonGen) contexts() []event.Context {
	var out []event.Context
	for range g.r.IntN(4) {
		schema := [...]string{"iglu:com.acme/user/jsonschema/1-0-0", "iglu:com.acme/user/jsonschema/1-2-3", "com.acme/user/jsonschema/1-0-0",
			"iglu:com.acme/user/jsonschema/2-0-0", "iglu:com.acme/user_x/jsonschema/1-0-0", "iglu:com.acme/other/jsonschema/1-0-0"}[g.r.IntN(6)]
		out = append(out, event.Context{Schema: schema, Data: json.RawMessage(g.ws() + g.value(1) + g.ws())})
	}
	return out
}

// TestTypedValuesMatchSQLite: for generated records with values of every
// JSON shape in columns of every kind, the values computed in Go are the
// old SQL's, type for type and bit for bit.
func TestTypedValuesMatchSQLite(t *testing.T) {
	d := newDiffer(t)
	g := jsonGen{rand.New(rand.NewPCG(1, 2))}
	n := 1500
	if testing.Short() {
		n = 300
	}
	for i := range n {
		payload := g.object(0)
		if i%7 == 0 {
			// Every property present, each once.
			parts := []string{}
			for _, name := range diffNames {
				b, _ := json.Marshal(name)
				parts = append(parts, string(b)+":"+g.value(1))
			}
			payload = "{" + strings.Join(parts, ", ") + "}"
		}
		if err := d.check(payload, g.contexts()); err != nil {
			t.Fatalf("payload %s: %v", payload, err)
		}
	}
	// Numbers and strings one by one, in every column.
	for _, name := range diffNames {
		key, _ := json.Marshal(name)
		for _, v := range genNumbers {
			if err := d.check("{"+string(key)+":"+v+"}", nil); err != nil {
				t.Errorf("%s: %s: %v", key, v, err)
			}
		}
		for _, v := range genStrings {
			if err := d.check("{"+string(key)+":\""+v+"\"}", nil); err != nil {
				t.Errorf("%s: %q: %v", key, v, err)
			}
		}
	}
	t.Logf("%d values Go vouched for passed their checks in SQLite", d.sure)
	if d.sure < n/2 {
		t.Errorf("Go vouched for %d distinct values, fewer than one for two records", d.sure)
	}
}

// TestTypedValuesRealRecords: the records the sink's other tests and the
// benchmark write, compared the same way.
func TestTypedValuesRealRecords(t *testing.T) {
	d := newDiffer(t)
	for _, p := range []string{
		`{"s":"o-1","n":12.5,"i":3,"b":true,"t":"2026-12-04T09:00:00Z","o":{"y":"Lyon"}}`,
		`{"s":"o-2","n":1,"b":false,"t":"2026-12-04T11:00:00+01:00","o":{"y":"Lyon"},"any":"XMAS"}`,
		`{"s":"o-3","i":2.0,"n":2,"arr":["a","b"],"o":{"x":1,"deep":{"z":1e2,"w":{"q":"deep"}}}}`,
		`{"s":"o-1","u":"6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b","n":7.25,"i":7,"d":"2026-12-06","arr":[],"o":{}}`,
		`{}`, `{"o":null,"arr":null,"any":null}`, `{"o":"not an object","o":{"x":2}}`, `{"i":1,"i":2}`,
	} {
		if err := d.check(p, []event.Context{{Schema: "iglu:com.acme/user/jsonschema/1-0-0", Data: json.RawMessage(`{"id":"u-1"}`)}}); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

// FuzzTypedValues: the Go values against the old SQL for generated
// records (seeded by the input) and for the input itself as event data
// when it is a JSON object.
//
//	go test ./internal/sink/sqlite -run '^$' -fuzz '^FuzzTypedValues$' -fuzztime 3m
func FuzzTypedValues(f *testing.F) {
	f.Add([]byte(`{"s":"a","i":1,"n":1.5,"o":{"x":2}}`))
	f.Add([]byte(`{"i":1e400,"n":-0,"t":"2026-12-04T10:11:12Z","s":"\ud800"}`))
	f.Add([]byte("\x01\x02\x03\x04\x05\x06\x07\x08"))
	d := newDiffer(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) >= 8 {
			g := jsonGen{rand.New(rand.NewPCG(binary.LittleEndian.Uint64(data), uint64(len(data))))}
			payload := g.object(0)
			if err := d.check(payload, g.contexts()); err != nil {
				t.Fatalf("payload %s: %v", payload, err)
			}
		}
		var v map[string]json.RawMessage
		if json.Valid(data) && json.Unmarshal(data, &v) == nil && len(data) < 1<<16 {
			if err := d.check(string(data), nil); err != nil {
				t.Fatalf("payload %s: %v", data, err)
			}
		}
	})
}

// TestTypedRowsMatchSQL writes the same batches through the sink (typed
// rows from Go) and through a sink with tables: off followed by the old
// INSERT ... SELECT, and compares the typed tables row for row: resends,
// duplicate ids in a batch, records without an id, two contracts and
// their versions, contexts.
func TestTypedRowsMatchSQL(t *testing.T) {
	v1 := sinktest.CompileContract(t, "iglu:com.acme/diff/jsonschema/1-0-0", diffSchema)
	v11 := sinktest.CompileContract(t, "iglu:com.acme/diff/jsonschema/1-1-0", strings.Replace(diffSchema, `"s": {"type": "string"},`, `"s": {"type": "string"}, "added": {"type": "integer"},`, 1))
	order := sinktest.CompileContract(t, "iglu:com.acme/order/jsonschema/1-0-0", typedOrder)
	user := sinktest.CompileContract(t, "iglu:com.acme/user/jsonschema/1-0-0", `"type": "object", "properties": {"id": {"type": "string"}}`)
	set := contract.NewSet([]*contract.Contract{v1, v11, order, user})
	ctx := context.Background()
	newSink, newOpts := openTyped(t, set)
	oldOpts := NewOptions()
	oldOpts.Path = filepath.Join(t.TempDir(), "old.db")
	oldOpts.Tables = TablesOff
	oldSink, err := Open(ctx, *oldOpts, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer oldSink.Close(ctx)

	g := jsonGen{rand.New(rand.NewPCG(3, 4))}
	var sent []*event.Envelope
	migrations := 0
	for b := range 30 {
		var batch []*event.Envelope
		for i := range 40 {
			var r *event.Envelope
			switch k := g.r.IntN(10); {
			case k == 0 && len(sent) > 0:
				r = sent[g.r.IntN(len(sent))] // a resend
			case k == 1 && len(batch) > 0:
				c := *batch[g.r.IntN(len(batch))] // the same id twice in a batch
				r = &c
			case k <= 3:
				r = typedRecord(fmt.Sprintf("o%d-%d", b, i), "iglu:com.acme/order/jsonschema/1-0-0", `{"order_id":"o","total":`+[...]string{"1", "2.5", "-0", "1e400"}[g.r.IntN(4)]+`,"paid":true}`, g.contexts()...)
			default:
				key := [...]string{"iglu:com.acme/diff/jsonschema/1-0-0", "iglu:com.acme/diff/jsonschema/1-1-0"}[g.r.IntN(2)]
				r = typedRecord(fmt.Sprintf("d%d-%d", b, i), key, g.valid(), g.contexts()...)
				if g.r.IntN(20) == 0 {
					r.EventID = "" // a NULL key: never a duplicate
				}
			}
			batch = append(batch, r)
		}
		sent = append(sent, batch...)
		err := newSink.Write(ctx, batch)
		var perm *sink.PermanentError
		if err != nil && !errorsAs(err, &perm) {
			t.Fatalf("batch %d: %v", b, err)
		}
		// The old way, with the typed tables the new sink planned for
		// this batch.
		tbls, terr := newSink.typed.Tables(ctx, batch, newSink.planTyped)
		if terr != nil {
			t.Fatal(terr)
		}
		stmts := strings.Split(rowsOfRaw(t, newOpts.Path, fmt.Sprintf("SELECT statement FROM accord_migrations WHERE id > %d ORDER BY id", migrations)), "\x00")
		for _, q := range stmts {
			if q == "" {
				continue
			}
			migrations++
			if _, err := oldSink.conn.ExecContext(ctx, q, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err != nil {
			t.Logf("batch %d: %v", b, err)
			// A check refused a value: the new sink stored none of the
			// batch; leave it out of the old one too.
			continue
		}
		from, err := oldSink.queryInt(ctx, "SELECT coalesce(max(rowid), 0) FROM events")
		if err != nil {
			t.Fatal(err)
		}
		if err := oldSink.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
		for _, tbl := range tbls {
			if _, err := oldSink.conn.ExecContext(ctx, oldTypedInsert("events", tbl), []driver.NamedValue{{Ordinal: 1, Value: from}}); err != nil {
				t.Fatalf("batch %d: old insert into %s: %v", b, tbl.Name, err)
			}
		}
	}
	for _, name := range []string{"com_acme_diff_1", "com_acme_order_1"} {
		q := "SELECT * FROM " + name + " ORDER BY rowid"
		got, want := rowsOfRaw(t, newOpts.Path, q), rowsOfRaw(t, oldOpts.Path, q)
		if got != want {
			t.Errorf("%s differs:\nGo:  %.2000s\nSQL: %.2000s", name, got, want)
		}
		if strings.Count(got, "\x00") < 50 {
			t.Errorf("%s: only %d rows", name, strings.Count(got, "\x00"))
		}
	}
}

// rowsOfRaw runs q on the file at path and returns every row, each value
// with its type, reals bit for bit, rows ended by NUL.
func rowsOfRaw(t *testing.T, path, q string) string {
	t.Helper()
	c, err := openDSN(path, readerURI(path, "ro", 0))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rows, err := c.QueryContext(context.Background(), q, nil)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var b strings.Builder
	dest := make([]driver.Value, len(rows.Columns()))
	for {
		if err := rows.Next(dest); err == io.EOF {
			return b.String()
		} else if err != nil {
			t.Fatal(err)
		}
		for i, v := range dest {
			if i > 0 {
				b.WriteByte('|')
			}
			if f, ok := v.(float64); ok {
				fmt.Fprintf(&b, "real:%x", math.Float64bits(f))
				continue
			}
			if len(dest) == 1 {
				fmt.Fprintf(&b, "%s", v)
				continue
			}
			fmt.Fprintf(&b, "%T:%q", v, fmt.Sprint(v))
		}
		b.WriteByte(0)
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// checkKinds are the kinds of the typed columns, each with a table of
// one column of it (createCheckTables).
var checkKinds = []tables.Kind{tables.Text, tables.BigInt, tables.Double, tables.Bool, tables.Timestamp, tables.Date, tables.UUID, tables.JSON}

// createCheckTables makes, on conn (which must keep its checks), a table
// of one column of each kind, declared as a typed table declares it.
func createCheckTables(conn driverConn) error {
	for _, k := range checkKinds {
		q := "CREATE TABLE IF NOT EXISTS " + quoteIdent(fmt.Sprintf("check_%d", k)) + " (" + columnDecl(Dialect{}, tables.Column{Name: "v", Kind: k}) + ")"
		if _, err := conn.ExecContext(context.Background(), q, nil); err != nil {
			return err
		}
	}
	return nil
}

// checkInSQLite inserts v into the column of kind k and rolls it back:
// nil when the column's check passes it. A time is inserted both as it
// is (an envelope time) and as the typed insert's strftime makes it from
// v (a property's).
func checkInSQLite(conn driverConn, k tables.Kind, v any) error {
	ctx := context.Background()
	if _, err := conn.ExecContext(ctx, "SAVEPOINT c", nil); err != nil {
		return err
	}
	defer func() {
		conn.ExecContext(ctx, "ROLLBACK TO c", nil)
		conn.ExecContext(ctx, "RELEASE c", nil)
	}()
	table := quoteIdent(fmt.Sprintf("check_%d", k))
	args := []driver.NamedValue{{Ordinal: 1, Value: v}}
	if _, err := conn.ExecContext(ctx, "INSERT INTO "+table+" (v) VALUES (?)", args); err != nil {
		return err
	}
	if k == tables.Timestamp {
		if _, err := conn.ExecContext(ctx, "INSERT INTO "+table+" (v) VALUES ("+timestampExpr("?1")+")", args); err != nil {
			return fmt.Errorf("through strftime: %w", err)
		}
	}
	return nil
}

// TestSurelyPasses: values of every kind that surelyPasses vouches for,
// and some it does not, against SQLite's checks.
func TestSurelyPasses(t *testing.T) {
	s := openChecks(t)
	for _, tc := range []struct {
		k    tables.Kind
		v    any
		sure bool
	}{
		{tables.Text, "x", true}, {tables.Text, int64(1), true}, {tables.Text, 1.5, true}, {tables.Text, nil, true},
		{tables.BigInt, int64(-3), true}, {tables.BigInt, 1.5, false}, {tables.BigInt, "12", false},
		{tables.Double, int64(3), true}, {tables.Double, 2.5, true}, {tables.Double, "2.5", false},
		{tables.Bool, int64(1), true}, {tables.Bool, int64(0), true}, {tables.Bool, int64(2), false}, {tables.Bool, "yes", false},
		{tables.Timestamp, "2026-12-04T10:11:12.123Z", true}, {tables.Timestamp, "2026-12-04T10:11:12.123456Z", true},
		{tables.Timestamp, "2026-12-04T10:11:12+01:00", true}, {tables.Timestamp, "2026-12-04 10:11", true},
		{tables.Timestamp, "2026-12-04", true}, {tables.Timestamp, "9998-12-31T23:59:59-14:59", true},
		{tables.Timestamp, "2026-02-29T10:11:12Z", false}, {tables.Timestamp, "yesterday", false},
		{tables.Timestamp, "2026-12-04T24:00:00Z", false}, {tables.Timestamp, "10000-01-01T00:00:00Z", false},
		{tables.Timestamp, int64(2461000), false},
		{tables.Date, "2026-12-06", true}, {tables.Date, "2024-02-29", true}, {tables.Date, "2026-02-29", false},
		{tables.Date, "2026-13-45", false}, {tables.Date, "2026-12-06T00:00:00Z", false},
		{tables.UUID, "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b", true}, {tables.UUID, "6f1c2b3a4d5e4f608a7b9c0d1e2f3a4b", false},
		{tables.UUID, "000000000000000000000000000000000001", false},
		{tables.JSON, `{"a":[1,2,{"b":null}]}`, true}, {tables.JSON, `"x"`, true}, {tables.JSON, `true`, true},
		{tables.JSON, `null`, true}, {tables.JSON, `[]`, true}, {tables.JSON, `1e999`, false}, {tables.JSON, `12`, false},
		{tables.JSON, `{"a":1,}`, false}, {tables.JSON, "\"\x01\"", false}, {tables.JSON, `{a:1}`, false},
		{tables.JSON, strings.Repeat("[", 1000) + strings.Repeat("]", 1000), true},
		{tables.JSON, strings.Repeat("[", 1001) + strings.Repeat("]", 1001), false},
	} {
		if got := surelyPasses(tc.k, tc.v); got != tc.sure {
			t.Errorf("surelyPasses(%d, %T %.40v) = %v, want %v", tc.k, tc.v, tc.v, got, tc.sure)
		}
		if tc.sure {
			if err := checkInSQLite(s.conn, tc.k, tc.v); err != nil {
				t.Errorf("kind %d, %T %.40v: SQLite refuses what Go vouches for: %v", tc.k, tc.v, tc.v, err)
			}
		}
	}
}

// openChecks opens a sink without typed tables (so its connection keeps
// the checks) with the tables of createCheckTables.
func openChecks(t testing.TB) *Sink {
	t.Helper()
	opts := NewOptions()
	opts.Path = filepath.Join(t.TempDir(), "checks.db")
	opts.Tables = TablesOff
	s, err := Open(context.Background(), *opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	if err := createCheckTables(s.conn); err != nil {
		t.Fatal(err)
	}
	return s
}

// FuzzTypedChecks: whatever text, integer or real surelyPasses vouches
// for in a column of any kind, that column's check passes in SQLite.
//
//	go test ./internal/sink/sqlite -run '^$' -fuzz '^FuzzTypedChecks$' -fuzztime 3m
func FuzzTypedChecks(f *testing.F) {
	for _, s := range []string{"2026-12-04T10:11:12.123Z", "2024-02-29", "9998-12-31T23:59:59.999999999-14:59", "0001-01-01T00:00+14:00",
		"6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b", `{"a":"\ud800"}`, `[1,-0,1e5]`, "true", `"\u0000"`} {
		f.Add(s, int64(0), 0.0)
	}
	f.Add("", int64(1), 1.5)
	s := openChecks(f)
	f.Fuzz(func(t *testing.T, text string, n int64, r float64) {
		if err := utcMillisMatches(s.conn, text); err != nil {
			t.Fatal(err)
		}
		for _, k := range checkKinds {
			for _, v := range []any{text, n, r} {
				if surelyPasses(k, v) {
					if err := checkInSQLite(s.conn, k, v); err != nil {
						t.Fatalf("kind %d, %T %q: SQLite refuses what Go vouches for: %v", k, v, fmt.Sprint(v), err)
					}
				}
			}
		}
	})
}

// utcMillisMatches reports an error when utcMillis(text) has a result
// that is not strftime's.
func utcMillisMatches(conn driverConn, text string) error {
	got, ok := utcMillis(text)
	if !ok {
		return nil
	}
	rows, err := conn.QueryContext(context.Background(), "SELECT strftime('%Y-%m-%dT%H:%M:%fZ', ?)", []driver.NamedValue{{Ordinal: 1, Value: text}})
	if err != nil {
		return err
	}
	defer rows.Close()
	dest := make([]driver.Value, 1)
	if err := rows.Next(dest); err != nil {
		return err
	}
	if want, _ := dest[0].(string); got != want {
		return fmt.Errorf("utcMillis(%q) = %q, strftime gives %v", text, got, dest[0])
	}
	return nil
}

// TestUTCMillis: the times utcMillis reads itself are what strftime
// makes of them; the others it leaves to strftime.
func TestUTCMillis(t *testing.T) {
	s := openChecks(t)
	read := 0
	times := append([]string{"2026-12-04T10:11:12Z", "2026-12-04T10:11:12.1Z", "2026-12-04T10:11:12.12Z", "2026-12-04T10:11:12.123Z",
		"2026-12-04T23:59:59.999Z", "2024-02-29T00:00:00Z", "0001-01-01T00:00:00Z", "9998-12-31T23:59:59.5Z", "2026-12-04T10:11:12.005Z"}, genStrings...)
	r := rand.New(rand.NewPCG(5, 6))
	for range 2000 {
		times = append(times, fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02d.%0*dZ", 1+r.IntN(9998), 1+r.IntN(12), 1+r.IntN(31), r.IntN(24), r.IntN(60), r.IntN(60), 1+r.IntN(3), r.IntN(1000)))
	}
	for _, text := range times {
		if err := utcMillisMatches(s.conn, text); err != nil {
			t.Error(err)
		}
		if _, ok := utcMillis(text); ok {
			read++
		}
	}
	for _, text := range []string{"2026-12-04T10:11:12.1234Z", "2026-12-04T10:11:12+00:00", "2026-12-04 10:11:12Z", "2026-02-29T00:00:00Z", "2026-12-04T10:11Z"} {
		if got, ok := utcMillis(text); ok {
			t.Errorf("utcMillis(%q) = %q, want it left to strftime", text, got)
		}
	}
	if read < 1000 {
		t.Errorf("utcMillis read only %d of %d times", read, len(times))
	}
}
