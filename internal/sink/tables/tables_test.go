package tables_test

import (
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/sink/tables"
)

// testDialect is a small dialect with a short identifier limit, so that
// the shortening rules show.
type testDialect struct{ limit int }

func (d testDialect) MaxIdentifier() int { return d.limit }
func (testDialect) Reserved(w string) bool {
	return w == "order" || w == "select" || w == "user"
}
func (testDialect) Quote(s string) string           { return `"` + s + `"` }
func (testDialect) ColumnType(k tables.Kind) string { return k.String() }
func (testDialect) DropNotNull(table string, c tables.Column) string {
	return "DROP NOT NULL " + table + "." + c.Name
}
func (testDialect) KindOf(t string) (tables.Kind, bool) {
	for k := tables.Text; k <= tables.JSON; k++ {
		if k.String() == t {
			return k, true
		}
	}
	return 0, false
}
func (testDialect) CreateTable(t *tables.Table) []string { return []string{"CREATE " + t.Name} }
func (testDialect) AddColumn(table string, c tables.Column) []string {
	return []string{"ADD " + table + "." + c.Name + " " + c.Kind.String()}
}

var pg = testDialect{limit: 63}

func TestSanitize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"order_id", "order_id"},
		{"OrderID", "orderid"},
		{"order", "order_"},
		{"User", "user_"},
		{"2fa", "_2fa"},
		{"", "_"},
		{"prix-€", "prix__"},
		{"a.b c", "a_b_c"},
		{strings.Repeat("x", 70), strings.Repeat("x", 54) + "_" + tables.Hash(strings.Repeat("x", 70))},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := tables.Sanitize(pg, tc.in); got != tc.want {
				t.Errorf("Sanitize(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	a, b := tables.Sanitize(pg, strings.Repeat("y", 60)+"_one"), tables.Sanitize(pg, strings.Repeat("y", 60)+"_two")
	if a == b {
		t.Errorf("two long names sharing a prefix both sanitise to %q", a)
	}
}

// FuzzSanitize holds every sanitised name to the rules: non-empty, within
// the limit, only [a-z0-9_], no leading digit, never reserved, and the
// same for the same input.
func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"order_id", "Order", "select", "9lives", "", "é", strings.Repeat("ab", 40), "a\x00b", "contexts_com.acme/user/1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, d := range []testDialect{{63}, {64}, {20}} {
			got := tables.Sanitize(d, s)
			if got == "" || len(got) > d.limit {
				t.Fatalf("Sanitize(%q) = %q: length %d outside 1..%d", s, got, len(got), d.limit)
			}
			for i := 0; i < len(got); i++ {
				c := got[i]
				if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
					t.Fatalf("Sanitize(%q) = %q holds %q", s, got, c)
				}
			}
			if got[0] >= '0' && got[0] <= '9' {
				t.Fatalf("Sanitize(%q) = %q starts with a digit", s, got)
			}
			if d.Reserved(got) {
				t.Fatalf("Sanitize(%q) = %q is reserved", s, got)
			}
			if again := tables.Sanitize(d, s); again != got {
				t.Fatalf("Sanitize(%q) gave %q, then %q", s, got, again)
			}
			if dis := tables.Disambiguate(d, got, s); len(dis) > d.limit || dis == got {
				t.Fatalf("Disambiguate(%q) = %q", got, dis)
			}
		}
	})
}

func compile(t *testing.T, key, body string) *contract.Contract {
	t.Helper()
	k, err := contract.ParseKey(key)
	if err != nil {
		t.Fatal(err)
	}
	doc := `{"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
		"self": {"vendor": "` + k.Vendor + `", "name": "` + k.Name + `", "format": "jsonschema", "version": "` + k.Version.String() + `"},
		` + body + `}`
	c, err := contract.Compile([]byte(doc), k, "test")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const checkoutV1 = `"description": "An order was placed.", "x-accord": {"owner": "checkout-team@example.com"},
	"type": "object", "required": ["order_id", "total", "address"],
	"properties": {
		"order_id": {"type": "string", "format": "uuid", "description": "The order."},
		"total": {"type": "number"},
		"items": {"type": "integer"},
		"paid": {"type": "boolean"},
		"at": {"type": "string", "format": "date-time"},
		"day": {"type": "string", "format": "date"},
		"coupon": {"type": ["string", "null"]},
		"order": {"type": "string"},
		"name": {"type": "string"},
		"lines": {"type": "array", "items": {"type": "object"}},
		"address": {"type": "object", "required": ["city"], "properties": {
			"city": {"type": "string"},
			"geo": {"type": "object", "properties": {"lat": {"type": "number"}, "deep": {"type": "object", "properties": {"x": {"type": "integer"}}}}}
		}},
		"anything": {}
	}`

func column(t *testing.T, tab *tables.Table, name string) tables.Column {
	t.Helper()
	for _, c := range tab.Columns {
		if c.Name == name {
			return c
		}
	}
	var names []string
	for _, c := range tab.Columns {
		names = append(names, c.Name)
	}
	t.Fatalf("table %s has no column %s; it has %v", tab.Name, name, names)
	return tables.Column{}
}

func TestFromContract(t *testing.T) {
	c := compile(t, "iglu:com.acme/checkout/jsonschema/1-0-0", checkoutV1)
	tab, err := tables.FromContract(pg, c, []string{"com.acme/user/1", "com.acme/user/1"}, tables.Options{FlattenDepth: 2, MaxColumns: 400})
	if err != nil {
		t.Fatal(err)
	}
	if tab.Name != "com_acme_checkout_1" || tab.Contract != "com.acme/checkout/1" || tab.Version != "1-0-0" {
		t.Errorf("table %s for %s %s", tab.Name, tab.Contract, tab.Version)
	}
	for _, want := range []string{"com.acme/checkout MODEL 1", "created for 1-0-0", "An order was placed", "owner: checkout-team@example.com"} {
		if !strings.Contains(tab.Comment, want) {
			t.Errorf("table comment %q lacks %q", tab.Comment, want)
		}
	}
	for _, tc := range []struct {
		name     string
		kind     tables.Kind
		nullable bool
		path     string
	}{
		{"order_id", tables.UUID, false, "order_id"},
		{"total", tables.Double, false, "total"},
		{"items", tables.BigInt, true, "items"},
		{"paid", tables.Bool, true, "paid"},
		{"at", tables.Timestamp, true, "at"},
		{"day", tables.Date, true, "day"},
		{"coupon", tables.Text, true, "coupon"},
		{"order_", tables.Text, true, "order"},
		// "name" is an envelope column: the property's column is hashed.
		{"name_" + tables.Hash("name\x00name"), tables.Text, true, "name"},
		{"lines", tables.JSON, true, "lines"},
		{"address_city", tables.Text, false, "address/city"},
		// Past the flattening depth: one JSON column.
		{"address_geo", tables.JSON, true, "address/geo"},
		{"anything", tables.JSON, true, "anything"},
	} {
		col := column(t, tab, tc.name)
		if col.Kind != tc.kind || col.Nullable != tc.nullable || strings.Join(col.Source.Path, "/") != tc.path {
			t.Errorf("column %s: %v nullable=%v from %v, want %v nullable=%v from %s", tc.name, col.Kind, col.Nullable, col.Source.Path, tc.kind, tc.nullable, tc.path)
		}
	}
	if col := column(t, tab, "order_id"); col.Comment != "The order." {
		t.Errorf("order_id comment %q", col.Comment)
	}
	if col := column(t, tab, "event_id"); col.Nullable || col.Source.Envelope != "event_id" {
		t.Errorf("event_id: %+v", col)
	}
	if col := column(t, tab, "contexts_com_acme_user_1"); col.Kind != tables.JSON || col.Source.Context != "com.acme/user/1" {
		t.Errorf("context column: %+v", col)
	}
	for _, c := range tab.Columns {
		if c.Name == "payload" || c.Name == "contexts" || c.Name == "valid" {
			t.Errorf("typed table has envelope column %s", c.Name)
		}
	}
}

func TestTableNames(t *testing.T) {
	short := testDialect{limit: 20}
	for _, tc := range []struct {
		vendor, name string
		model        int
		want         string
	}{
		{"com.acme", "checkout", 1, "com_acme_checkout_1"},
		{"com.acme", "checkout", 2, "com_acme_checkout_2"},
		{"com.acme", "Checkout-Done", 12, "com_acme_checkout_done_12"},
	} {
		if got := tables.TableName(pg, tc.vendor, tc.name, tc.model); got != tc.want {
			t.Errorf("TableName(%s, %s, %d) = %s, want %s", tc.vendor, tc.name, tc.model, got, tc.want)
		}
	}
	a := tables.TableName(short, "com.example.analytics", "checkout_completed", 1)
	b := tables.TableName(short, "com.example.analytics", "checkout_completed", 2)
	if len(a) > 20 || !strings.HasSuffix(a, "_1") || !strings.HasSuffix(b, "_2") || a[:len(a)-2] != b[:len(b)-2] {
		t.Errorf("shortened names %s and %s: want at most 20 bytes, the model kept", a, b)
	}
}

func TestNotAnObject(t *testing.T) {
	c := compile(t, "iglu:com.acme/s/jsonschema/1-0-0", `"type": "string"`)
	if _, err := tables.FromContract(pg, c, nil, tables.DefaultOptions()); err == nil {
		t.Error("a string contract got a table")
	}
}

func TestMaxColumns(t *testing.T) {
	var props []string
	for i := range 100 {
		props = append(props, `"p`+strings.Repeat("x", i%3)+string(rune('a'+i%26))+`_`+strings.Repeat("0", i/26)+`": {"type": "string"}`)
	}
	c := compile(t, "iglu:com.acme/wide/jsonschema/1-0-0", `"type": "object", "properties": {`+strings.Join(props, ",")+`}`)
	tab, err := tables.FromContract(pg, c, nil, tables.Options{FlattenDepth: 3, MaxColumns: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Columns) != 50 {
		t.Errorf("%d columns, want the 50 max_columns allows", len(tab.Columns))
	}
}
