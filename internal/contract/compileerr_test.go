package contract

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// compileErrCases are contracts that must not compile, each with the error
// Compile words for it. The messages were taken from Compile as it was
// before loading was reworked to parse each document once (the self block
// read from the decoded document, not by a second decoding), so a faster
// load words every refusal exactly as before.
var compileErrCases = []struct {
	name, doc, want string
}{
	{"not JSON", `{"self":`, "invalid contract: not a JSON object: unexpected end of JSON input"},
	{"not JSON at all", `nope`, "invalid contract: not a JSON object: invalid character 'o' in literal null (expecting 'u')"},
	{"array", `[1]`, "invalid contract: not a JSON object: json: cannot unmarshal array into Go value of type struct { Self *struct { Vendor string \"json:\\\"vendor\\\"\"; Name string \"json:\\\"name\\\"\"; Format string \"json:\\\"format\\\"\"; Version string \"json:\\\"version\\\"\" } \"json:\\\"self\\\"\" }"},
	{"string", `"str"`, "invalid contract: not a JSON object: json: cannot unmarshal string into Go value of type struct { Self *struct { Vendor string \"json:\\\"vendor\\\"\"; Name string \"json:\\\"name\\\"\"; Format string \"json:\\\"format\\\"\"; Version string \"json:\\\"version\\\"\" } \"json:\\\"self\\\"\" }"},
	{"trailing data", `{"self": {"vendor": "com.acme", "name": "a", "format": "jsonschema", "version": "1-0-0"}} {}`, "invalid contract: not a JSON object: invalid character '{' after top-level value"},
	{"no self", `{"type": "object"}`, "invalid contract: no \"self\" block; add \"self\": {\"vendor\", \"name\", \"format\": \"jsonschema\", \"version\": \"1-0-0\"}"},
	{"null self", `{"self": null, "type": "object"}`, "invalid contract: no \"self\" block; add \"self\": {\"vendor\", \"name\", \"format\": \"jsonschema\", \"version\": \"1-0-0\"}"},
	{"self a string", `{"self": "com.acme/a/jsonschema/1-0-0"}`, "invalid contract: not a JSON object: json: cannot unmarshal string into Go struct field .self of type struct { Vendor string \"json:\\\"vendor\\\"\"; Name string \"json:\\\"name\\\"\"; Format string \"json:\\\"format\\\"\"; Version string \"json:\\\"version\\\"\" }"},
	{"vendor a number", `{"self": {"vendor": 1, "name": "a", "format": "jsonschema", "version": "1-0-0"}}`, "invalid contract: not a JSON object: json: cannot unmarshal number into Go struct field .self.vendor of type string"},
	{"vendor null", `{"self": {"vendor": null, "name": "a", "format": "jsonschema", "version": "1-0-0"}}`, "invalid contract: self block: schema key \"/a/jsonschema/1-0-0\": vendor \"\" may hold only letters, digits, '-', '_' and '.'"},
	{"no name", `{"self": {"vendor": "com.acme", "format": "jsonschema", "version": "1-0-0"}}`, "invalid contract: self block: schema key \"com.acme//jsonschema/1-0-0\": name \"\" may hold only letters, digits, '-', '_' and '.'"},
	{"bad version", `{"self": {"vendor": "com.acme", "name": "a", "format": "jsonschema", "version": "1-0"}}`, "invalid contract: self block: schema key \"com.acme/a/jsonschema/1-0\": version \"1-0\" is not SchemaVer MODEL-REVISION-ADDITION such as 1-0-0"},
	{"other format", `{"self": {"vendor": "com.acme", "name": "a", "format": "avro", "version": "1-0-0"}}`, "invalid contract: self block: schema key \"com.acme/a/avro/1-0-0\": format \"avro\" is not supported, only jsonschema"},
	{"self names another key", `{"self": {"vendor": "com.acme", "name": "b", "format": "jsonschema", "version": "1-0-0"}}`, "invalid contract: self block names com.acme/b/jsonschema/1-0-0 but the file's path says com.acme/a/jsonschema/1-0-0; make them agree"},
	{"Self in capitals names another key", `{"Self": {"vendor": "com.acme", "name": "b", "format": "jsonschema", "version": "1-0-0"}}`, "invalid contract: self block names com.acme/b/jsonschema/1-0-0 but the file's path says com.acme/a/jsonschema/1-0-0; make them agree"},
	{"NAME in capitals names another key", `{"self": {"vendor": "com.acme", "NAME": "b", "format": "jsonschema", "version": "1-0-0"}}`, "invalid contract: self block names com.acme/b/jsonschema/1-0-0 but the file's path says com.acme/a/jsonschema/1-0-0; make them agree"},
	{"second self block names another key", `{"self": {"vendor": "com.acme", "name": "a", "format": "jsonschema", "version": "1-0-0"}, "self": {"name": "b"}}`, "invalid contract: self block names com.acme/b/jsonschema/1-0-0 but the file's path says com.acme/a/jsonschema/1-0-0; make them agree"},
	{"escaped second self block names another key", `{"self": {"vendor": "com.acme", "name": "a", "format": "jsonschema", "version": "1-0-0"}, "s\u0065lf": {"name": "b"}}`, "invalid contract: self block names com.acme/b/jsonschema/1-0-0 but the file's path says com.acme/a/jsonschema/1-0-0; make them agree"},
	{"type a number", `{"self": SELF, "type": 5}`, "invalid contract: does not conform to its meta-schema: /type must be one of [\"array\", \"boolean\", \"integer\", \"null\", \"number\", \"object\", \"string\"], but is 5; /type must be array, but is number"},
	{"required a string", `{"self": SELF, "required": "id"}`, "invalid contract: does not conform to its meta-schema: /required must be array, but is string"},
	{"minimum a string", `{"self": SELF, "properties": {"n": {"minimum": "x"}}}`, "invalid contract: does not conform to its meta-schema: /properties/n/minimum must be number, but is string"},
	{"several violations", `{"self": SELF, "type": "thing", "properties": {"n": {"maxLength": -1}}}`, "invalid contract: does not conform to its meta-schema: /properties/n/maxLength must be at least 0, but is -1; /type must be one of [\"array\", \"boolean\", \"integer\", \"null\", \"number\", \"object\", \"string\"], but is \"thing\"; /type must be array, but is string"},
	{"invalid regex", `{"self": SELF, "properties": {"s": {"type": "string", "pattern": "("}}}`, "invalid contract: does not conform to its meta-schema: /properties/s/pattern must be a valid regex, but is \"(\" (error parsing regexp: missing closing ): `(`)"},
	{"invalid patternProperties regex", `{"self": SELF, "patternProperties": {"[": {"type": "string"}}}`, "invalid contract: does not conform to its meta-schema: the value must be a valid regex, but is \"[\" (error parsing regexp: missing closing ]: `[`)"},
	{"invalid regex draft 2020", `{"$schema": "https://json-schema.org/draft/2020-12/schema", "self": SELF, "properties": {"s": {"pattern": "a{2,1}"}}}`, "invalid contract: does not conform to its meta-schema: /properties/s/pattern must be a valid regex, but is \"a{2,1}\" (error parsing regexp: invalid repeat count: `{2,1}`)"},
	{"unresolvable ref", `{"self": SELF, "properties": {"s": {"$ref": "#/definitions/missing"}}}`, "invalid contract: json-pointer in \"iglu:com.acme/a/jsonschema/1-0-0#/definitions/missing\" not found"},
	{"ref to a file", `{"self": SELF, "properties": {"s": {"$ref": "file:///etc/passwd"}}}`, "invalid contract: $ref outside the registry: \"file:///etc/passwd\" is not another contract; a $ref may point within the contract (\"#/...\") or to a contract as iglu:vendor/name/jsonschema/M-R-A or http://iglucentral.com/schemas/vendor/name/jsonschema/M-R-A"},
	{"ref to another site", `{"self": SELF, "properties": {"s": {"$ref": "http://example.com/s.json"}}}`, "invalid contract: $ref outside the registry: \"http://example.com/s.json\" is not another contract; a $ref may point within the contract (\"#/...\") or to a contract as iglu:vendor/name/jsonschema/M-R-A or http://iglucentral.com/schemas/vendor/name/jsonschema/M-R-A"},
	{"ref to a contract", `{"self": SELF, "properties": {"s": {"$ref": "iglu:com.acme/b/jsonschema/1-0-0"}}}`, "invalid contract: $ref outside the registry: iglu:com.acme/b/jsonschema/1-0-0: contracts can refer to other contracts only when loaded from the contracts directory or written through the registry API"},
	{"unknown meta-schema", `{"$schema": "http://example.com/meta#", "self": SELF}`, "invalid contract: $ref outside the registry: \"http://example.com/meta\" is not another contract; a $ref may point within the contract (\"#/...\") or to a contract as iglu:vendor/name/jsonschema/M-R-A or http://iglucentral.com/schemas/vendor/name/jsonschema/M-R-A"},
	{"meta-schema a number", `{"$schema": 4, "self": SELF, "type": 5}`, "invalid contract: does not conform to its meta-schema: /$schema must be string, but is number; /type must be one of [\"array\", \"boolean\", \"integer\", \"null\", \"number\", \"object\", \"string\"], but is 5; /type must be array, but is number"},
}

const compileErrSelf = `{"vendor": "com.acme", "name": "a", "format": "jsonschema", "version": "1-0-0"}`

func TestCompileErrorsWordedAsBefore(t *testing.T) {
	want := Key{Vendor: "com.acme", Name: "a", Format: "jsonschema", Version: SchemaVer{Model: 1}}
	var got strings.Builder
	for _, tc := range compileErrCases {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.ReplaceAll(tc.doc, "SELF", compileErrSelf)
			c, err := Compile([]byte(doc), want, "test")
			if err == nil {
				t.Fatalf("compiled to %s, want an error", c.URI)
			}
			fmt.Fprintf(&got, "%q: %q\n", tc.name, err.Error())
			if tc.want != "" && err.Error() != tc.want {
				t.Errorf("error\n%s\nwant\n%s", err, tc.want)
			}
		})
	}
	if os.Getenv("PRINT_COMPILE_ERRORS") != "" {
		t.Log("\n" + got.String())
	}
}

// TestCompileReadsSelfAsBefore holds documents whose self block is read in
// an unusual way to compile as they did: encoding/json matches field names
// whatever their case and merges a repeated "self" object, and a property
// may itself be named "self".
func TestCompileReadsSelfAsBefore(t *testing.T) {
	want := Key{Vendor: "com.acme", Name: "a", Format: "jsonschema", Version: SchemaVer{Model: 1}}
	for _, tc := range []struct{ name, doc string }{
		{"plain", `{"self": SELF}`},
		{"Self in capitals", `{"Self": SELF}`},
		{"VENDOR in capitals", `{"self": {"VENDOR": "com.acme", "name": "a", "format": "jsonschema", "version": "1-0-0"}}`},
		{"second self block merged into the first", `{"self": {"vendor": "com.acme", "name": "b", "format": "jsonschema", "version": "1-0-0"}, "self": {"name": "a"}}`},
		{"escaped second self block merged into the first", `{"self": {"vendor": "com.acme", "name": "b", "format": "jsonschema", "version": "1-0-0"}, "sel\u0066": {"name": "a"}}`},
		{"repeated vendor, the last kept", `{"self": {"vendor": "com.other", "vendor": "com.acme", "name": "a", "format": "jsonschema", "version": "1-0-0"}}`},
		{"a property named self", `{"self": SELF, "properties": {"self": {"type": "string"}}, "required": ["self"]}`},
		{"self as a value", `{"self": SELF, "properties": {"kind": {"enum": ["self", "other"]}}}`},
		{"unknown member of self", `{"self": {"vendor": "com.acme", "name": "a", "format": "jsonschema", "version": "1-0-0", "x": 1}}`},
		{"ref cycle", `{"self": SELF, "definitions": {"a": {"$ref": "#/definitions/b"}, "b": {"$ref": "#/definitions/a"}}, "properties": {"s": {"$ref": "#/definitions/a"}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.ReplaceAll(tc.doc, "SELF", compileErrSelf)
			c, err := Compile([]byte(doc), want, "test")
			if err != nil {
				t.Fatal(err)
			}
			if c.Key != want || string(c.Document) != doc {
				t.Fatalf("compiled to %s holding %s", c.URI, c.Document)
			}
		})
	}
}
