package admin

import (
	"testing"

	"github.com/accord-events/accord/internal/contract"
)

// TestJudgeVersionFollowsRefsToOtherContracts: the registry's gate compares
// a $ref to another contract as the schema it names, through the
// registry's documents: moving to a version of the referenced contract
// that only adds is an honest ADDITION, one that changes a type is not.
func TestJudgeVersionFollowsRefsToOtherContracts(t *testing.T) {
	addr := map[string]string{
		"1-0-0": `{"type": "object", "properties": {"city": {"type": "string"}}, "additionalProperties": false}`,
		"1-0-1": `{"type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": "string"}}, "additionalProperties": false}`,
		"2-0-0": `{"type": "object", "properties": {"city": {"type": "integer"}}, "additionalProperties": false}`,
	}
	docs := func(k contract.Key) ([]byte, bool) {
		if k.Vendor != "com.acme" || k.Name != "addr" {
			return nil, false
		}
		d, ok := addr[k.Version.String()]
		return []byte(d), ok
	}
	order := func(version, ref string) *contract.Contract {
		t.Helper()
		doc := `{"$schema": "https://json-schema.org/draft/2020-12/schema",
			"self": {"vendor": "com.acme", "name": "order", "format": "jsonschema", "version": "` + version + `"},
			"type": "object", "properties": {"address": {"$ref": "iglu:com.acme/addr/jsonschema/` + ref + `"}}}`
		c, err := contract.CompileWith([]byte(doc), contract.Key{}, "test", docs)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	v1 := order("1-0-0", "1-0-0")
	if r := judgeVersion([]*contract.Contract{v1}, order("1-0-1", "1-0-1"), docs); r != nil {
		t.Errorf("an ADDITION through the referenced contract was refused: %+v", r)
	}
	if r := judgeVersion([]*contract.Contract{v1}, order("1-0-1", "2-0-0"), docs); r == nil {
		t.Error("a type change through the referenced contract, declared an ADDITION, was accepted")
	}
}
