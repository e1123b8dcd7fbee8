package compat

import (
	"fmt"
	"testing"

	"github.com/accord-events/accord/internal/contract"
)

func ver(t *testing.T, s string) contract.SchemaVer {
	t.Helper()
	v, err := contract.ParseSchemaVer(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestGapAndDeclared(t *testing.T) {
	tests := []struct {
		from, to, missing string
		declared          Bump
	}{
		{"1-0-0", "1-0-1", "", Addition},
		{"1-0-0", "1-1-0", "", Revision},
		{"1-0-3", "1-1-0", "", Revision},
		{"1-2-3", "2-0-0", "", Model},
		{"1-0-0", "1-0-2", "1-0-1", Addition},
		{"1-0-0", "1-2-0", "1-1-0", Revision},
		{"1-0-0", "1-1-1", "1-1-0", Revision},
		{"1-0-0", "3-0-0", "2-0-0", Model},
		{"1-0-0", "2-1-0", "2-0-0", Model},
	}
	for _, tc := range tests {
		t.Run(tc.from+" to "+tc.to, func(t *testing.T) {
			missing, isGap := gap(ver(t, tc.from), ver(t, tc.to))
			if missing != tc.missing || isGap != (tc.missing != "") {
				t.Errorf("gap = %q, %v; want %q", missing, isGap, tc.missing)
			}
			if d := Declared(ver(t, tc.from), ver(t, tc.to)); d != tc.declared {
				t.Errorf("Declared = %s, want %s", d, tc.declared)
			}
		})
	}
}

func compile(t *testing.T, name, version, body string) *contract.Contract {
	t.Helper()
	doc := fmt.Sprintf(`{"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
		"self": {"vendor": "com.example", "name": %q, "format": "jsonschema", "version": %q}, %s}`, name, version, body)
	c, err := contract.Compile([]byte(doc), contract.Key{}, name+"/"+version)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCheck(t *testing.T) {
	base := `"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": false`
	contracts := []*contract.Contract{
		// Out of order on purpose: Check sorts by SchemaVer, not by name.
		compile(t, "order", "1-0-10", base+`, "required": ["a"]`),
		compile(t, "order", "1-0-2", base),
		compile(t, "order", "1-0-0", base),
		compile(t, "user", "1-0-1", `"type": "object"`),
	}
	r := Check(contracts)
	if r.Contracts != 2 || len(r.Steps) != 2 {
		t.Fatalf("report: %+v", r)
	}
	if s := r.Steps[0]; s.From != "1-0-0" || s.To != "1-0-2" || !s.Honest || len(s.Changes) != 0 {
		t.Errorf("first step: %+v", s)
	}
	failed := r.Failed()
	if len(failed) != 1 || failed[0].From != "1-0-2" || failed[0].To != "1-0-10" || failed[0].Needed != Revision ||
		failed[0].Changes[0].Kind != "required_added" || failed[0].Changes[0].Property != "a" {
		t.Errorf("failed: %+v", failed)
	}
	want := []Gap{
		{Contract: "com.example/order/jsonschema", After: "1-0-0", Next: "1-0-2", Missing: "1-0-1"},
		{Contract: "com.example/order/jsonschema", After: "1-0-2", Next: "1-0-10", Missing: "1-0-3"},
		{Contract: "com.example/user/jsonschema", Next: "1-0-1", Missing: "1-0-0"},
	}
	if fmt.Sprint(r.Gaps) != fmt.Sprint(want) {
		t.Errorf("gaps:\n%v\nwant\n%v", r.Gaps, want)
	}
}

func TestCheckUncomparableNeedsModel(t *testing.T) {
	cyclic := `"definitions": {"n": {"type": "object", "properties": {"c": {"type": "array", "items": {"$ref": "#/definitions/n"}}}}}, "$ref": "#/definitions/n"`
	r := Check([]*contract.Contract{
		compile(t, "tree", "1-0-0", cyclic),
		compile(t, "tree", "1-0-1", cyclic),
		compile(t, "tree", "2-0-0", cyclic),
	})
	if len(r.Steps) != 2 || r.Steps[0].Honest || r.Steps[0].Error == "" || !r.Steps[1].Honest {
		t.Errorf("steps: %+v", r.Steps)
	}
}
