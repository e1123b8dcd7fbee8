package catalog

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/contract/compat"
	"github.com/accord-events/accord/internal/enrich"
	"github.com/accord-events/accord/internal/protocol/snowplow"
	"github.com/accord-events/accord/internal/sink/kafka"
	"github.com/accord-events/accord/internal/sink/postgres"
	"github.com/accord-events/accord/internal/sink/s3"
	"github.com/accord-events/accord/internal/sink/tables"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// builtin loads the contracts that ship with Accord.
func builtin(t *testing.T) []*contract.Contract {
	t.Helper()
	var all []*contract.Contract
	for name, files := range map[string]fs.FS{"snowplow": snowplow.Contracts, "enrich": enrich.Contracts} {
		sub, err := fs.Sub(files, "contracts")
		if err != nil {
			t.Fatal(err)
		}
		cs, err := contract.LoadFS(sub, name)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, cs...)
	}
	return all
}

// testdataDirs are every contracts directory in the repository's test data
// and templates whose contracts load.
var testdataDirs = []string{
	"../../testdata/contracts",
	"../../internal/contract/testdata/contracts",
	"../../internal/scaffold/template/contracts",
	"../../e2e/testdata/contracts/honest",
	"../../e2e/testdata/contracts/dishonest",
	"../../e2e/testdata/contracts/gap",
	"../../e2e/testdata/lint/docs-example/contracts",
	"testdata/contracts",
}

func loadDir(t *testing.T, dir string) []*contract.Contract {
	t.Helper()
	cs, _, err := contract.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestExampleIsValidForEveryContract generates the example of every
// contract in the test data and of the 97 Snowplow contracts (and the
// enrichments') Accord embeds, and checks it with the contract's own
// validator.
func TestExampleIsValidForEveryContract(t *testing.T) {
	all := builtin(t)
	if n := len(all); n < 97 {
		t.Fatalf("loaded %d built-in contracts, want at least 97", n)
	}
	for _, dir := range testdataDirs {
		cs := loadDir(t, dir)
		if len(cs) == 0 {
			t.Fatalf("%s: no contracts loaded", dir)
		}
		all = append(all, cs...)
	}
	for _, c := range all {
		ex, err := Example(c)
		if err != nil {
			t.Errorf("%s (%s): %v", c.URI, c.Source, err)
			continue
		}
		msgs, err := c.ValidateJSON(ex, "")
		if err != nil || len(msgs) != 0 {
			t.Errorf("%s: example %s is invalid: %v %v", c.URI, ex, err, msgs)
		}
	}
	t.Logf("%d contracts, every example valid", len(all))
}

func TestExampleMeetsConstraints(t *testing.T) {
	for _, tc := range []struct {
		name   string
		schema string
	}{
		{"pattern and lengths", `{"type":"string","pattern":"^[A-Z]{3}-[0-9]+$","minLength":8,"maxLength":12}`},
		{"exclusive bounds", `{"type":"integer","exclusiveMinimum":10,"maximum":12,"multipleOf":3}`},
		{"number below one", `{"type":"number","maximum":0.25}`},
		{"draft 4 exclusive", `{"$schema":"http://json-schema.org/draft-04/schema#","type":"integer","minimum":5,"exclusiveMinimum":true}`},
		{"enum with null first", `{"enum":[null,"a"]}`},
		{"const object", `{"const":{"a":[1,2]}}`},
		{"oneOf second branch", `{"oneOf":[{"type":"string","maxLength":0,"minLength":1},{"type":"integer"}]}`},
		{"allOf", `{"allOf":[{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]},{"properties":{"b":{"type":"integer","minimum":3}},"required":["b"]}]}`},
		{"local ref", `{"$defs":{"id":{"type":"string","format":"uuid"}},"type":"object","properties":{"id":{"$ref":"#/$defs/id"}},"required":["id"]}`},
		{"unique items", `{"type":"array","items":{"type":"string"},"minItems":3,"uniqueItems":true}`},
		{"required without schema, closed", `{"type":"object","required":["x"],"additionalProperties":{"type":"boolean"}}`},
		{"formats", `{"type":"object","properties":{"t":{"type":"string","format":"date-time"},"e":{"type":"string","format":"email"},"i":{"type":"string","format":"ipv6"}},"required":["t","e","i"]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := compile(t, tc.schema)
			ex, err := Example(c)
			if err != nil {
				t.Fatal(err)
			}
			if msgs, _ := c.ValidateJSON(ex, ""); len(msgs) != 0 {
				t.Fatalf("example %s invalid: %v", ex, msgs)
			}
		})
	}
}

func TestExampleRefusesTheImpossible(t *testing.T) {
	c := compile(t, `{"type":"string","minLength":5,"maxLength":2}`)
	if _, err := Example(c); err == nil || !strings.Contains(err.Error(), "no valid example") {
		t.Fatalf("err = %v, want no valid example", err)
	}
}

var seq int

// compile makes a contract of a schema body, adding a self block.
func compile(t *testing.T, body string) *contract.Contract {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	seq++
	m["self"] = map[string]any{"vendor": "com.test", "name": "c" + string(rune('a'+seq%26)), "format": "jsonschema", "version": "1-0-0"}
	doc, _ := json.Marshal(m)
	c, err := contract.Compile(doc, contract.Key{}, "test")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBuild(t *testing.T) {
	cs := loadDir(t, "testdata/contracts")
	pg := postgres.NewOptions()
	pg.Schema = "events"
	kf := kafka.NewOptions()
	kf.TopicPerContract = true
	lake := s3.NewOptions()
	lake.Bucket, lake.Prefix = "lake", "events/"
	var sinks []Sink
	for _, s := range []struct {
		name, typ, records string
		opts               any
	}{{"warehouse", "postgres", "all", pg}, {"stream", "kafka", "good", kf}, {"errors", "kafka", "failed", kf}, {"lake", "s3", "all", lake}} {
		if sk, ok := SinkOf(s.name, s.typ, s.records, s.opts); ok {
			sinks = append(sinks, sk)
		}
	}
	cat := Build(cs, Options{Sinks: sinks})
	cart := cat.Find("com.acme/cart_viewed/jsonschema")
	if cart == nil {
		t.Fatalf("no cart_viewed in %d contracts", len(cat.Contracts))
	}
	if got := len(cart.Versions); got != 3 {
		t.Fatalf("cart_viewed has %d versions, want 3", got)
	}
	v := cart.Versions[0]
	if v.Owner != "growth@acme.example" || v.Team != "growth" || len(v.Tags) != 2 || v.SLA == nil || v.SLA.Freshness != "15m" ||
		len(v.TrackingPlan) != 1 || v.TrackingPlan[0] != "Cart Viewed" {
		t.Errorf("metadata: %+v", v)
	}
	if !v.Superseded || cart.Versions[2].Superseded {
		t.Errorf("superseded: 1-0-0 %v, 2-0-0 %v", v.Superseded, cart.Versions[2].Superseded)
	}
	email := field(v, "email")
	if email == nil || email.PII == nil || email.PII.Class != "restricted" || email.PII.Action != "hmac" || email.Description == "" {
		t.Errorf("email field: %+v", email)
	}
	if f := field(v, "items[].sku"); f == nil || !f.Required || f.Type != "string" {
		t.Errorf("items[].sku: %+v", f)
	}
	// Names come from the sinks' own naming.
	wantTable := "events." + tables.TableName(postgres.Dialect{}, "com.acme", "cart_viewed", 1)
	wantTopic := kafka.ContractTopic(kf.Topic, "com.acme", "cart_viewed", "1-0-0")
	var names []string
	for _, p := range v.Places {
		names = append(names, p.Sink+":"+p.Kind+":"+p.Name)
	}
	want := []string{"warehouse:table:events.accord_events", "warehouse:table:" + wantTable, "stream:topic:" + wantTopic,
		"lake:objects:s3://lake/events/good/vendor=com.acme/name=cart_viewed/model=1/"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("places = %v, want %v", names, want)
	}
	if len(cart.Steps) != 2 {
		t.Fatalf("steps = %d", len(cart.Steps))
	}
	if s := cart.Steps[0]; s.Needed != compat.Addition || !s.Honest || len(s.Changes) == 0 {
		t.Errorf("1-0-0 -> 1-0-1: %+v", s)
	}
	if s := cart.Steps[1]; s.Needed != compat.Model || s.Declared != compat.Model {
		t.Errorf("1-0-1 -> 2-0-0: %+v", s)
	}
	any2, err := cart.Compare("1-0-0", "2-0-0", nil)
	if err != nil || any2.Needed != compat.Model {
		t.Errorf("Compare 1-0-0 2-0-0 = %+v, %v", any2, err)
	}
	if _, err := cart.Compare("1-0-0", "9-0-0", nil); err == nil {
		t.Error("Compare with a missing version did not fail")
	}
	for _, c := range cat.Contracts {
		for _, v := range c.Versions {
			if v.Example == nil {
				t.Errorf("%s: no example: %s", v.Key, v.ExampleError)
			}
		}
	}
}

func field(v Version, path string) *Field {
	for i := range v.Fields {
		if v.Fields[i].Path == path {
			return &v.Fields[i]
		}
	}
	return nil
}

// TestHostileSchemaIsBounded: a schema whose properties refer back to the
// root, many times over, gives a bounded field list and example.
func TestHostileSchemaIsBounded(t *testing.T) {
	props := map[string]any{}
	for i := 0; i < 50; i++ {
		props[strings.Repeat("p", i+1)] = map[string]any{"$ref": "#"}
	}
	body, _ := json.Marshal(map[string]any{"type": "object", "properties": props})
	c := compile(t, string(body))
	cat := Build([]*contract.Contract{c}, Options{})
	v := cat.Contracts[0].Versions[0]
	if len(v.Fields) != MaxFields || !v.FieldsTruncated {
		t.Fatalf("fields = %d truncated %v, want %d truncated", len(v.Fields), v.FieldsTruncated, MaxFields)
	}
}

func TestSite(t *testing.T) {
	cat := Build(loadDir(t, "testdata/contracts"), Options{})
	files, err := Site(cat)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Site(Build(loadDir(t, "testdata/contracts"), Options{}))
	for _, name := range SortedNames(files) {
		if !filepath.IsLocal(name) {
			t.Errorf("%s is not a local path", name)
		}
		if !bytes.Equal(files[name], again[name]) {
			t.Errorf("%s differs between two runs", name)
		}
		body := string(files[name])
		if strings.Contains(body, "<script") || strings.Contains(body, "<b>markup") {
			t.Errorf("%s holds unescaped markup from a contract", name)
		}
		golden := filepath.Join("testdata", "site", filepath.FromSlash(name))
		if *update {
			_ = os.MkdirAll(filepath.Dir(golden), 0o755)
			if err := os.WriteFile(golden, files[name], 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(files[name], want) {
			t.Errorf("%s differs from %s (go test -update rewrites it)", name, golden)
		}
	}
	if len(files) != 2+len(cat.Contracts) {
		t.Errorf("%d files for %d contracts", len(files), len(cat.Contracts))
	}
	if !strings.Contains(string(files[IndexFile]), "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the description's markup is not shown as text on the index")
	}
}

func TestPageNameStaysLocal(t *testing.T) {
	seen := map[string]string{}
	for _, id := range []string{"../../etc/jsonschema", "../x/jsonschema", "a/b/jsonschema", "A/b/jsonschema", "a.b/jsonschema", "a/b\x00/c/jsonschema",
		"./../jsonschema", strings.Repeat("v", 5000) + "/n/jsonschema", "..", ""} {
		n := PageName(id)
		if !filepath.IsLocal(n) || strings.ContainsAny(n, "/\\\x00") || len(n) > 200 {
			t.Errorf("PageName(%q) = %q", id, n)
		}
		if prev, dup := seen[n]; dup {
			t.Errorf("%q and %q share page %s", prev, id, n)
		}
		seen[n] = id
	}
}

// manyContracts compiles n contracts of 3 versions, each of 40 string
// properties and a nested object, as the measurement in docs/catalog.md
// generated them.
func manyContracts(tb testing.TB, n int) []*contract.Contract {
	tb.Helper()
	var out []*contract.Contract
	for i := 0; i < n; i++ {
		for _, v := range []string{"1-0-0", "1-0-1", "2-0-0"} {
			props := map[string]any{}
			for j := 0; j < 40; j++ {
				props[fmt.Sprintf("p%d", j)] = map[string]any{"type": "string", "maxLength": 64, "description": fmt.Sprintf("<b>field</b> %d", j)}
			}
			props["n"] = map[string]any{"type": "object", "properties": map[string]any{"a": map[string]any{"type": "integer", "minimum": 0}, "b": map[string]any{"enum": []any{"x", "y"}}}}
			req := []any{"p0"}
			if v != "1-0-0" {
				props["extra"] = map[string]any{"type": "number"}
			}
			if v == "2-0-0" {
				req = append(req, "p1")
			}
			doc, _ := json.Marshal(map[string]any{"$schema": contract.IgluMetaSchemaURI,
				"self":        map[string]any{"vendor": "com.huge", "name": fmt.Sprintf("c%05d", i), "format": "jsonschema", "version": v},
				"description": "contract <script>alert(1)</script>", "x-accord": map[string]any{"owner": "o@x.example"},
				"type": "object", "properties": props, "required": req, "additionalProperties": false})
			c, err := contract.Compile(doc, contract.Key{}, "bench")
			if err != nil {
				tb.Fatal(err)
			}
			out = append(out, c)
		}
	}
	return out
}

// BenchmarkBuildAndRender: the catalog of 100 contracts (300 versions),
// built and rendered as gen catalog does, per iteration.
//
//	go test -run '^$' -bench BuildAndRender -benchmem ./internal/catalog
func BenchmarkBuildAndRender(b *testing.B) {
	cs := manyContracts(b, 100)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cat := Build(cs, Options{})
		n := 0
		if err := Render(cat, func(_ string, data []byte) error { n += len(data); return nil }); err != nil {
			b.Fatal(err)
		}
		if _, err := OpenMetadataJSON(cat, "accord"); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(n)/float64(len(cs)), "site-bytes/version")
	}
}

// TestSLAIsWhatAlertsJudge: the catalog reads x-accord.sla through
// contract.SLA, as the freshness and volume alerts do: a valid promise shows
// as written, one the alerts cannot judge shows why instead of a promise.
func TestSLAIsWhatAlertsJudge(t *testing.T) {
	good := compile(t, `{"type": "object", "x-accord": {"sla": {"freshness": "900s", "volume_per_day": 0}}}`)
	bad := compile(t, `{"type": "object", "x-accord": {"sla": {"freshness": "<b>soon", "volume_per_day": 10}}}`)
	none := compile(t, `{"type": "object", "x-accord": {"owner": "a"}}`)
	cat := Build([]*contract.Contract{good, bad, none}, Options{})
	version := func(c *contract.Contract) Version {
		t.Helper()
		e := cat.Find(c.Key.Vendor + "/" + c.Key.Name + "/" + c.Key.Format)
		if e == nil || len(e.Versions) != 1 {
			t.Fatalf("no single version of %s in the catalog", c.URI)
		}
		return e.Versions[0]
	}
	if v := version(good); v.SLA == nil || v.SLA.Freshness != "900s" || v.SLA.VolumePerDay == nil || *v.SLA.VolumePerDay != 0 || v.SLAError != "" {
		t.Errorf("valid sla: %+v, error %q", v.SLA, v.SLAError)
	}
	if v := version(bad); v.SLA != nil || !strings.Contains(v.SLAError, "x-accord.sla.freshness") {
		t.Errorf("invalid sla: %+v, error %q", v.SLA, v.SLAError)
	}
	if v := version(none); v.SLA != nil || v.SLAError != "" {
		t.Errorf("no sla: %+v, error %q", v.SLA, v.SLAError)
	}
	files, err := Site(cat)
	if err != nil {
		t.Fatal(err)
	}
	shown := false
	for _, b := range files {
		if strings.Contains(string(b), "<b>soon") {
			t.Error("the sla error's markup is not escaped")
		}
		shown = shown || strings.Contains(string(b), "x-accord.sla.freshness")
	}
	if !shown {
		t.Error("no page shows why the sla is not judged")
	}
}
