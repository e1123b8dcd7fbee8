package scaffold

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/contract/lint"
)

// Field is a property a new contract starts with.
type Field struct {
	Name     string
	Type     string
	Required bool
}

// FieldTypes are the types a new contract's fields may have, and the
// schema each one writes.
var FieldTypes = map[string]string{
	"string":    `"type": "string", "maxLength": 255`,
	"integer":   `"type": "integer"`,
	"number":    `"type": "number"`,
	"boolean":   `"type": "boolean"`,
	"timestamp": `"type": "string", "format": "date-time"`,
	"date":      `"type": "string", "format": "date"`,
	"email":     `"type": "string", "format": "email", "x-accord-pii": {"class": "restricted", "action": "hmac"}`,
	"uuid":      `"type": "string", "format": "uuid"`,
	"url":       `"type": "string", "format": "uri", "maxLength": 2048`,
}

var fieldName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// ContractOptions shape a new contract.
type ContractOptions struct {
	// Owner and Team fill x-accord; empty leaves a placeholder (owner) or
	// nothing (team).
	Owner, Team string
	Fields      []Field
}

// NewContract returns version 1-0-0 of a contract vendor/name: a
// self-describing JSON Schema with every key accord contract lint asks for
// and, where a person must write something (what the event is, who owns
// it, what each field holds), a placeholder starting lint.Placeholder,
// which lint reports until it is replaced. The object is closed
// (additionalProperties: false), so what the contract does not name is
// refused rather than stored unseen.
func NewContract(vendor, name string, o ContractOptions) ([]byte, contract.Key, error) {
	key, err := contract.ParseKey(vendor + "/" + name + "/jsonschema/1-0-0")
	if err != nil {
		return nil, contract.Key{}, err
	}
	if err := key.CheckFilePath(); err != nil {
		return nil, contract.Key{}, err
	}
	q := func(s string) string {
		b, _ := json.Marshal(s)
		return string(b)
	}
	owner := o.Owner
	if owner == "" {
		owner = lint.Placeholder + " who answers for this contract: an email address or a team name"
	}
	var b strings.Builder
	b.WriteString("{\n")
	b.WriteString("\t\"$schema\": \"" + contract.IgluMetaSchemaURI + "\",\n")
	fmt.Fprintf(&b, "\t\"self\": {\"vendor\": %s, \"name\": %s, \"format\": \"jsonschema\", \"version\": \"1-0-0\"},\n", q(vendor), q(name))
	fmt.Fprintf(&b, "\t\"description\": %s,\n", q(lint.Placeholder+" what a "+name+" event is, in one sentence"))
	b.WriteString("\t\"x-accord\": {\n")
	fmt.Fprintf(&b, "\t\t\"owner\": %s,\n", q(owner))
	if o.Team != "" {
		fmt.Fprintf(&b, "\t\t\"team\": %s,\n", q(o.Team))
	}
	fmt.Fprintf(&b, "\t\t\"description\": %s,\n", q(lint.Placeholder+" when and where a "+name+" event is sent"))
	b.WriteString("\t\t\"tags\": []\n\t},\n")
	b.WriteString("\t\"type\": \"object\",\n\t\"properties\": {")
	var required []string
	seen := map[string]bool{}
	for i, f := range o.Fields {
		if !fieldName.MatchString(f.Name) {
			return nil, contract.Key{}, fmt.Errorf("field %q: name it with lower-case letters, digits and '_', starting with a letter (at most 63)", f.Name)
		}
		if seen[f.Name] {
			return nil, contract.Key{}, fmt.Errorf("field %q is given twice", f.Name)
		}
		seen[f.Name] = true
		schema, ok := FieldTypes[f.Type]
		if !ok {
			return nil, contract.Key{}, fmt.Errorf("field %s: type %q is not one of %s", f.Name, f.Type, strings.Join(fieldTypeNames(), ", "))
		}
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "\n\t\t%s: {%s, \"description\": %s}", q(f.Name), schema, q(lint.Placeholder+" what "+f.Name+" holds"))
		if f.Required {
			required = append(required, q(f.Name))
		}
	}
	if len(o.Fields) > 0 {
		b.WriteString("\n\t")
	}
	b.WriteString("},\n")
	if len(required) > 0 {
		// Draft 4 (Iglu's meta-schema) wants a required list of one or more.
		fmt.Fprintf(&b, "\t\"required\": [%s],\n", strings.Join(required, ", "))
	}
	b.WriteString("\t\"additionalProperties\": false\n}\n")
	return []byte(b.String()), key, nil
}

func fieldTypeNames() []string {
	return []string{"string", "integer", "number", "boolean", "timestamp", "date", "email", "uuid", "url"}
}
