package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dlclark/regexp2"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// ecmaRegexp runs the patterns of OpenMetadata's schemas, which use
// lookahead that Go's regexp lacks, as ECMA 262 says (JSON Schema's
// dialect), through regexp2.
type ecmaRegexp struct{ re *regexp2.Regexp }

func (r ecmaRegexp) MatchString(s string) bool {
	ok, err := r.re.MatchString(s)
	return ok && err == nil
}
func (r ecmaRegexp) String() string { return r.re.String() }

// openMetadataSchema compiles OpenMetadata's CreateTopic request schema from
// testdata/openmetadata (see SOURCE.md there), loading the schemas it refers
// to from the same directory and nothing from the network.
func openMetadataSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	const prefix = "https://open-metadata.org/schema/"
	c := jsonschema.NewCompiler()
	c.UseRegexpEngine(func(s string) (jsonschema.Regexp, error) {
		s = strings.TrimPrefix(s, "(?U)") // Java's Unicode flag; ECMA's \w is ASCII either way here
		re, err := regexp2.Compile(s, regexp2.ECMAScript)
		if err != nil {
			return nil, err
		}
		return ecmaRegexp{re}, nil
	})
	c.UseLoader(jsonschema.SchemeURLLoader{"https": loaderFunc(func(url string) (any, error) {
		rel, ok := strings.CutPrefix(url, prefix)
		if !ok || !filepath.IsLocal(rel) {
			return nil, fmt.Errorf("%s is not one of the kept OpenMetadata schemas", url)
		}
		f, err := os.Open(filepath.Join("testdata", "openmetadata", filepath.FromSlash(rel)))
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return jsonschema.UnmarshalJSON(f)
	})})
	s, err := c.Compile(prefix + "api/data/createTopic.json")
	if err != nil {
		t.Fatalf("compile OpenMetadata's createTopic.json: %v", err)
	}
	return s
}

type loaderFunc func(string) (any, error)

func (f loaderFunc) Load(url string) (any, error) { return f(url) }

// TestOpenMetadataTopicsAreValid: the export of every contract in the test
// data and every built-in one is valid against OpenMetadata's published
// CreateTopic model.
func TestOpenMetadataTopicsAreValid(t *testing.T) {
	schema := openMetadataSchema(t)
	all := builtin(t)
	for _, dir := range testdataDirs {
		all = append(all, loadDir(t, dir)...)
	}
	topics := OpenMetadataTopics(Build(all, Options{}), "accord")
	if len(topics) < 100 {
		t.Fatalf("only %d topics", len(topics))
	}
	for _, topic := range topics {
		b, _ := json.Marshal(topic)
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(v); err != nil {
			t.Errorf("%s is not a valid CreateTopic: %v", topic.Name, err)
		}
	}
	// The model refuses what it should: the check can fail.
	bad, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{"name": "a::b", "service": "accord", "partitions": 0}`))
	if schema.Validate(bad) == nil {
		t.Error("OpenMetadata's model accepted a name with :: and 0 partitions")
	}
}

func TestOpenMetadataExport(t *testing.T) {
	cat := Build(loadDir(t, "testdata/contracts"), Options{})
	topics := OpenMetadataTopics(cat, "kafka_prod")
	var names []string
	for _, tp := range topics {
		names = append(names, tp.Name)
	}
	if got := strings.Join(names, " "); got != "com.acme.cart_viewed.v1 com.acme.cart_viewed.v2 com.acme.page_seen.v1" {
		t.Fatalf("topics %s", got)
	}
	v1 := topics[0]
	if v1.Service != "kafka_prod" || v1.MessageSchema.SchemaType != "JSON" || !strings.Contains(v1.MessageSchema.SchemaText, `"1-0-1"`) ||
		!strings.Contains(v1.Description, "Owner: growth@acme.example") {
		t.Errorf("v1: %+v", v1)
	}
	var email, items *OMField
	for i, f := range v1.MessageSchema.SchemaFields {
		switch f.Name {
		case "email":
			email = &v1.MessageSchema.SchemaFields[i]
		case "items":
			items = &v1.MessageSchema.SchemaFields[i]
		}
	}
	if email == nil || len(email.Tags) != 1 || email.Tags[0].TagFQN != "PII.Sensitive" {
		t.Errorf("email: %+v", email)
	}
	if items == nil || items.DataType != "ARRAY" || len(items.Children) != 2 || items.Children[0].Name != "quantity" || items.Children[0].DataType != "LONG" {
		t.Errorf("items: %+v", items)
	}
	a, err := OpenMetadataJSON(cat, "kafka_prod")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := OpenMetadataJSON(Build(loadDir(t, "testdata/contracts"), Options{}), "kafka_prod")
	if !bytes.Equal(a, b) {
		t.Error("two exports differ")
	}
	golden := filepath.Join("testdata", "openmetadata-topics.golden.json")
	if *update {
		if err := os.WriteFile(golden, a, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if want, err := os.ReadFile(golden); err != nil || !bytes.Equal(a, want) {
		t.Errorf("the export differs from %s (go test -update rewrites it): %v", golden, err)
	}
}
