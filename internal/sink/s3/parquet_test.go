package s3

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	pqfile "github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/sinktest"
	"github.com/accord-events/accord/internal/sink/tables"
)

const orderProps = `"order_id": {"type": "string", "description": "the order"}, "total": {"type": "number"}, "items": {"type": "integer"},
	"paid": {"type": "boolean"}, "placed_at": {"type": "string", "format": "date-time"},
	"ship_on": {"type": "string", "format": "date"}, "buyer": {"type": "string", "format": "uuid"}, "tags": {"type": "array"},
	"address": {"type": "object", "properties": {"city": {"type": "string"}, "geo": {"type": "object", "properties": {"lat": {"type": "number"}}}}}`

var (
	order100 = `"type": "object", "required": ["order_id", "total"], "properties": {` + orderProps + `}`
	order101 = `"type": "object", "required": ["order_id", "total"], "properties": {` + orderProps + `, "coupon": {"type": "string"}}`
)

// parquetFile is one Parquet object read back with Apache Arrow's reader.
type parquetFile struct {
	key      string
	meta     map[string]string
	columns  map[string]*schema.Column
	rows     []map[string]any
	arrTypes map[string]arrow.DataType
}

// readParquet reads key with Arrow's Parquet reader (an implementation
// independent of parquet-go, which wrote it): the column descriptors, the
// key-value metadata, and every row as Go values.
func readParquet(t *testing.T, fake *fakeS3, key string) parquetFile {
	t.Helper()
	data := fake.get(t, key)
	rd, err := pqfile.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s is not Parquet to Arrow's reader: %v", key, err)
	}
	defer rd.Close()
	pf := parquetFile{key: key, meta: map[string]string{}, columns: map[string]*schema.Column{}, arrTypes: map[string]arrow.DataType{}}
	for _, kv := range rd.MetaData().KeyValueMetadata() {
		if kv.Value != nil {
			pf.meta[kv.Key] = *kv.Value
		}
	}
	sc := rd.MetaData().Schema
	for i := range sc.NumColumns() {
		pf.columns[sc.Column(i).Name()] = sc.Column(i)
	}
	tbl, err := pqarrow.ReadTable(context.Background(), bytes.NewReader(data), parquet.NewReaderProperties(memory.DefaultAllocator), pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatalf("read %s as an Arrow table: %v", key, err)
	}
	defer tbl.Release()
	pf.rows = make([]map[string]any, tbl.NumRows())
	for i := range pf.rows {
		pf.rows[i] = map[string]any{}
	}
	for c := range int(tbl.NumCols()) {
		col := tbl.Column(c)
		name := col.Name()
		pf.arrTypes[name] = col.DataType()
		row := 0
		for _, chunk := range col.Data().Chunks() {
			for i := range chunk.Len() {
				pf.rows[row][name] = cell(t, chunk, i)
				row++
			}
		}
	}
	return pf
}

// cell is one value of an Arrow array as a Go value: nil for null.
func cell(t *testing.T, a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.String:
		return a.Value(i)
	case *array.Binary:
		return string(a.Value(i))
	case *array.Int64:
		return a.Value(i)
	case *array.Float64:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.Timestamp:
		return a.Value(i).ToTime(arrow.Microsecond).UTC()
	case *array.Date32:
		return a.Value(i).ToTime().Format(time.DateOnly)
	}
	t.Fatalf("unexpected Arrow array %T", a)
	return nil
}

// The Parquet files of good records carry the contract's typed table,
// column for column and type for type, as read back by Arrow's reader.
func TestParquetColumnsAndRows(t *testing.T) {
	fake := newFake(t)
	set := contract.NewSet([]*contract.Contract{
		sinktest.CompileContract(t, "iglu:com.acme/checkout/jsonschema/1-0-0", order100),
		sinktest.CompileContract(t, "iglu:com.acme/checkout/jsonschema/1-0-1", order101),
	})
	opts := fake.options(FormatParquet)
	s := open(t, opts, sink.Deps{Contracts: set})
	at := time.Date(2026, 12, 4, 22, 10, 11, 123456000, time.UTC)
	user := event.Context{Schema: "iglu:com.acme/user/jsonschema/1-0-0", Data: json.RawMessage(`{"id":"u-1"}`)}
	full := goodRecord("full", "com.acme", "checkout", "1-0-0", at,
		`{"order_id":"o-1","total":12.5,"items":3,"paid":true,"placed_at":"2026-12-04T23:10:11.5+01:00","ship_on":"2026-12-06",`+
			`"buyer":"8f2b7c1e-9d3a-4b5c-8e7f-1a2b3c4d5e6f","tags":["a","b"],"address":{"city":"Lyon","geo":{"lat":45.75}}}`)
	full.Contexts = []event.Context{user, {Schema: "iglu:com.acme/user/jsonschema/1-0-1", Data: json.RawMessage(`{"id":"u-2"}`)}}
	full.Identity.UserID = "user-1"
	sparse := goodRecord("sparse", "com.acme", "checkout", "1-0-0", at.Add(time.Second), `{"order_id":"o-2","total":7,"items":2.0}`)
	newer := goodRecord("newer", "com.acme", "checkout", "1-0-1", at.Add(2*time.Second), `{"order_id":"o-3","total":1,"coupon":"XMAS"}`)
	failed := &event.Envelope{EventID: "bad", CollectedAt: event.Time{Time: at}, Schema: "iglu:com.acme/checkout/jsonschema/1-0-0",
		Valid: false, Failure: event.NewFailure(event.SchemaViolation, "/total must be a number")}
	failed.SetRaw([]byte(`{"total":"x"}`))
	if err := s.Write(context.Background(), []*event.Envelope{full, sparse, failed}); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), []*event.Envelope{newer}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(context.Background(), true); err != nil {
		t.Fatal(err)
	}

	var parquets []string
	for _, o := range fake.objects(t, opts.Prefix) {
		switch {
		case strings.HasSuffix(o.Key, ".parquet"):
			if !strings.HasPrefix(o.Key, opts.Prefix+"good/vendor=com.acme/name=checkout/model=1/date=2026-12-04/hour=22/part-") {
				t.Errorf("Parquet file %s is outside its partition", o.Key)
			}
			parquets = append(parquets, o.Key)
		case strings.HasPrefix(o.Key, opts.Prefix+"failed/"):
			got := fake.ndjson(t, o.Key)
			if len(got) != 1 || got[0].EventID != "bad" || got[0].Raw != `{"total":"x"}` || got[0].Failure == nil {
				t.Errorf("failed file %s holds %+v; want the failed record with its raw input", o.Key, got)
			}
		default:
			t.Errorf("unexpected object %s", o.Key)
		}
	}
	// 1-0-1 widened the table (coupon): its record starts a second file.
	if len(parquets) != 2 {
		t.Fatalf("Parquet files %v; want 2 (1-0-0's records, then 1-0-1's with the wider schema)", parquets)
	}
	first, second := readParquet(t, fake, parquets[0]), readParquet(t, fake, parquets[1])
	if len(first.rows) != 2 || len(second.rows) != 1 {
		t.Fatalf("rows: %d and %d; want 2 and 1", len(first.rows), len(second.rows))
	}
	if first.meta["accord.contract"] != "com.acme/checkout/1" || first.meta["accord.version"] != "1-0-0" || second.meta["accord.version"] != "1-0-1" {
		t.Errorf("key-value metadata %v and %v", first.meta, second.meta)
	}

	// Columns: the typed table's, as tables.FromContract derives it for
	// the SQL sinks, with the Parquet type of each kind.
	want, err := tables.FromContract(Dialect{}, set.Contracts()[0], []string{"com.acme/user/1"}, tables.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	type ptype struct {
		physical string
		logical  string
		arrow    string
	}
	kinds := map[tables.Kind]ptype{
		tables.Text:      {"BYTE_ARRAY", "String", "utf8"},
		tables.UUID:      {"BYTE_ARRAY", "String", "utf8"},
		tables.JSON:      {"BYTE_ARRAY", "JSON", "binary"},
		tables.BigInt:    {"INT64", "Int(bitWidth=64, isSigned=true)", "int64"},
		tables.Double:    {"DOUBLE", "None", "float64"},
		tables.Bool:      {"BOOLEAN", "None", "bool"},
		tables.Timestamp: {"INT64", "Timestamp(isAdjustedToUTC=true, timeUnit=microseconds, is_from_converted_type=false, force_set_converted_type=false)", "timestamp[us, tz=UTC]"},
		tables.Date:      {"INT32", "Date", "date32"},
	}
	if len(first.columns) != len(want.Columns) {
		t.Errorf("%d columns; want %d", len(first.columns), len(want.Columns))
	}
	for _, c := range want.Columns {
		got, ok := first.columns[c.Name]
		if !ok {
			t.Errorf("column %s (%s) missing", c.Name, c.Kind)
			continue
		}
		w := kinds[c.Kind]
		if got.PhysicalType().String() != w.physical || got.LogicalType().String() != w.logical || first.arrTypes[c.Name].String() != w.arrow {
			t.Errorf("column %s (%s): %s %s (Arrow %s); want %s %s (Arrow %s)", c.Name, c.Kind, got.PhysicalType(), got.LogicalType(), first.arrTypes[c.Name], w.physical, w.logical, w.arrow)
		}
		if optional := got.MaxDefinitionLevel() == 1; optional != c.Nullable {
			t.Errorf("column %s: optional %v; want %v", c.Name, optional, c.Nullable)
		}
	}
	for _, name := range []string{"order_id", "total", "address_city", "address_geo_lat", "contexts_com_acme_user_1", "collected_at", "event_id"} {
		if _, ok := first.columns[name]; !ok {
			t.Errorf("column %s missing", name)
		}
	}
	if _, ok := second.columns["coupon"]; !ok {
		t.Error("the 1-0-1 file lacks its new column coupon")
	}

	// Rows, every column checked: the envelope's and the properties'.
	wantFull := map[string]any{
		"event_id": "full", "request_id": "", "collected_at": at.Truncate(time.Microsecond), "sent_at": nil, "created_at": nil, "event_time": nil,
		"protocol": "selfdesc", "schema": "iglu:com.acme/checkout/jsonschema/1-0-0", "vendor": "com.acme", "name": "checkout",
		"version": "1-0-0", "namespace": "", "attributes": nil, "fingerprint": "", "replayed_at": nil, "original_event_id": nil,
		"source":                   `{"ip":"","user_agent":"","referer":"","origin":"","path":""}`,
		"identity":                 string(full.Identity.AppendJSON(nil)),
		"collector":                string(full.Collector.AppendJSON(nil)),
		"contexts_com_acme_user_1": `[{"id":"u-1"},{"id":"u-2"}]`,
		"order_id":                 "o-1", "total": 12.5, "items": int64(3), "paid": true,
		"placed_at": time.Date(2026, 12, 4, 22, 10, 11, 500000000, time.UTC), "ship_on": "2026-12-06",
		"buyer": "8f2b7c1e-9d3a-4b5c-8e7f-1a2b3c4d5e6f", "tags": `["a","b"]`, "address_city": "Lyon", "address_geo_lat": 45.75,
	}
	checkRow(t, "full", first.rows[0], wantFull)
	wantSparse := map[string]any{}
	for k, v := range wantFull {
		wantSparse[k] = v
	}
	for k, v := range map[string]any{"event_id": "sparse", "collected_at": at.Add(time.Second).Truncate(time.Microsecond),
		"identity": string(sparse.Identity.AppendJSON(nil)), "contexts_com_acme_user_1": nil,
		"order_id": "o-2", "total": 7.0, "items": int64(2), "paid": nil, "placed_at": nil, "ship_on": nil, "buyer": nil, "tags": nil,
		"address_city": nil, "address_geo_lat": nil} {
		wantSparse[k] = v
	}
	checkRow(t, "sparse", first.rows[1], wantSparse)
	if got := second.rows[0]; got["event_id"] != "newer" || got["coupon"] != "XMAS" || got["total"] != 1.0 || got["version"] != "1-0-1" {
		t.Errorf("row of 1-0-1 = %v", got)
	}
}

func checkRow(t *testing.T, name string, got, want map[string]any) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("row %s: no column %s", name, k)
			continue
		}
		if gt, ok := g.(time.Time); ok {
			if wt, ok := w.(time.Time); !ok || !gt.Equal(wt) {
				t.Errorf("row %s: %s = %v; want %v", name, k, g, w)
			}
			continue
		}
		if g != w {
			t.Errorf("row %s: %s = %#v; want %#v", name, k, g, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("row %s: column %s not checked", name, k)
		}
	}
}

// A value its typed column cannot hold fails the record's write for good
// (delivery dead-letters it alone); a record without a contract goes to
// an ndjson.gz file in its partition.
func TestParquetRefusesWhatItsColumnCannotHold(t *testing.T) {
	fake := newFake(t)
	set := contract.NewSet([]*contract.Contract{sinktest.CompileContract(t, "iglu:com.acme/checkout/jsonschema/1-0-0", order100)})
	opts := fake.options(FormatParquet)
	s := open(t, opts, sink.Deps{Contracts: set})
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	for _, payload := range []string{
		`{"order_id":"o","total":1,"placed_at":"yesterday"}`,
		`{"order_id":"o","total":1,"ship_on":"2026-13-45"}`,
		`{"order_id":"o","total":1,"items":1.5}`,
		`{"order_id":"o","total":"many"}`,
		`{"total":1}`, // order_id is required
	} {
		err := s.Write(context.Background(), []*event.Envelope{goodRecord("x", "com.acme", "checkout", "1-0-0", at, payload)})
		var permanent *sink.PermanentError
		if !errors.As(err, &permanent) {
			t.Errorf("payload %s: %v; want a *sink.PermanentError", payload, err)
		}
	}
	if taken, _ := s.Staged(); taken != 0 {
		t.Errorf("refused writes counted as taken: %d", taken)
	}
	unknown := goodRecord("unknown", "com.other", "thing", "1-0-0", at, `{"a":1}`)
	if err := s.Write(context.Background(), []*event.Envelope{unknown}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	objs := fake.objects(t, opts.Prefix)
	if len(objs) != 1 || !strings.HasPrefix(objs[0].Key, opts.Prefix+"good/vendor=com.other/name=thing/model=1/") || !strings.HasSuffix(objs[0].Key, ".ndjson.gz") {
		t.Fatalf("objects %v; want one ndjson.gz file for the record without a contract", objs)
	}
}

// TestParquetTimesInLowerCase: RFC 3339 allows a lower-case t and z, so
// a contract's date-time does; such a time is stored like any other, not
// refused as no time (which dead-lettered valid events).
func TestParquetTimesInLowerCase(t *testing.T) {
	fake := newFake(t)
	c := sinktest.CompileContract(t, "iglu:com.acme/checkout/jsonschema/1-0-0", order100)
	opts := fake.options(FormatParquet)
	s := open(t, opts, sink.Deps{Contracts: contract.NewSet([]*contract.Contract{c})})
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	var batch []*event.Envelope
	for i, placed := range []string{"2026-12-04t10:11:12.5z", "2026-12-04t12:11:12.5+02:00", "2026-12-04T10:11:12.5z"} {
		data := `{"order_id":"o","total":1,"placed_at":"` + placed + `"}`
		if ok, err := c.Valid([]byte(data)); !ok || err != nil {
			t.Fatalf("the contract refuses %s: %v", data, err)
		}
		batch = append(batch, goodRecord(fmt.Sprintf("l%d", i+1), "com.acme", "checkout", "1-0-0", at, data))
	}
	if err := s.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	objs := fake.objects(t, opts.Prefix)
	if len(objs) != 1 || !strings.HasSuffix(objs[0].Key, ".parquet") {
		t.Fatalf("objects %v; want one Parquet file", objs)
	}
	rows := readParquet(t, fake, objs[0].Key).rows
	want := time.Date(2026, 12, 4, 10, 11, 12, 500000000, time.UTC)
	if len(rows) != 3 {
		t.Fatalf("%d rows; want 3", len(rows))
	}
	for _, row := range rows {
		if got, _ := row["placed_at"].(time.Time); !got.Equal(want) {
			t.Errorf("row %v: placed_at %v; want %v", row["event_id"], row["placed_at"], want)
		}
	}
}

// TestConvertErrorsNeverQuoteTheValue: a value its column cannot hold
// fails the record with an error that goes to the log and the dead letter;
// the value may be personal data no x-accord-pii rule governs, so the
// error names its kind, never its bytes.
func TestConvertErrorsNeverQuoteTheValue(t *testing.T) {
	const secret = "jane.doe@example.com"
	for _, tc := range []struct {
		kind tables.Kind
		raw  string
	}{
		{tables.BigInt, `"` + secret + `"`},
		{tables.Double, `"` + secret + `"`},
		{tables.Bool, `"` + secret + `"`},
		{tables.Timestamp, `"` + secret + `"`},
		{tables.Date, `"` + secret + `"`},
		{tables.Timestamp, `{"email": "` + secret + `"}`},
	} {
		_, _, err := convert(tc.kind, json.RawMessage(tc.raw))
		if err == nil {
			t.Fatalf("%s into %v: no error", tc.raw, tc.kind)
		}
		if strings.Contains(err.Error(), "jane") {
			t.Errorf("%s into %v: error %q quotes the value", tc.raw, tc.kind, err)
		}
	}
}

// A Parquet file the encoder cannot write (a row that breaks it: a bug,
// since rows are checked when taken, simulated here by spoiling one
// row's definition level, on which parquet-go panics) does not stop the
// sink, nor the collector: the rows that encode are uploaded as the
// Parquet file, the one that cannot goes to an NDJSON file beside it as
// a JSON object of its columns, the Write is counted as stored, and later
// records are delivered.
func TestParquetEncodeFailureDoesNotStopTheSink(t *testing.T) {
	fake := newFake(t)
	set := contract.NewSet([]*contract.Contract{sinktest.CompileContract(t, "iglu:com.acme/checkout/jsonschema/1-0-0", order100)})
	opts := fake.options(FormatParquet)
	s := open(t, opts, sink.Deps{Contracts: set})
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	var recs []*event.Envelope
	for _, id := range []string{"a", "b", "c"} {
		recs = append(recs, goodRecord(id, "com.acme", "checkout", "1-0-0", at, `{"order_id":"o-`+id+`","total":1}`))
	}
	if err := s.Write(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	if len(s.open) != 1 {
		t.Fatalf("%d open files; want 1", len(s.open))
	}
	for _, f := range s.open {
		v := f.rows[1][0]
		f.rows[1][0] = v.Level(0, 7, v.Column())
	}
	s.mu.Unlock()
	if err := s.Flush(context.Background(), true); err != nil {
		t.Fatalf("Flush: %v; want the encodable rows uploaded and the sink going on", err)
	}
	if taken, stored := s.Staged(); stored != taken {
		t.Errorf("staged %d, stored %d: the Write must count as stored", taken, stored)
	}
	objs := fake.objects(t, opts.Prefix)
	var pq, beside []string
	for _, o := range objs {
		switch {
		case strings.HasSuffix(o.Key, "-unencoded.ndjson.gz"):
			beside = append(beside, o.Key)
		case strings.HasSuffix(o.Key, ".parquet"):
			pq = append(pq, o.Key)
		}
	}
	if len(pq) != 1 || len(beside) != 1 || strings.TrimSuffix(beside[0], "-unencoded.ndjson.gz") != strings.TrimSuffix(pq[0], ".parquet") {
		t.Fatalf("objects %v; want the Parquet file and its -unencoded.ndjson.gz beside", objs)
	}
	var ids []string
	for _, row := range readParquet(t, fake, pq[0]).rows {
		ids = append(ids, fmt.Sprint(row["event_id"]))
	}
	if fmt.Sprint(ids) != "[a c]" {
		t.Errorf("the Parquet file holds %v; want [a c]", ids)
	}
	lines := strings.Split(strings.TrimSpace(string(gunzip(t, fake.get(t, beside[0])))), "\n")
	var row map[string]any
	if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &row) != nil || row["event_id"] != "b" || row["order_id"] != "o-b" {
		t.Fatalf("beside: %q; want one JSON object with b's columns", lines)
	}
	// The sink goes on.
	if err := s.Write(context.Background(), []*event.Envelope{goodRecord("d", "com.acme", "checkout", "1-0-0", at, `{"order_id":"o-d","total":1}`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.objects(t, opts.Prefix)); n != 3 {
		t.Errorf("%d objects after the next record; want 3", n)
	}
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
