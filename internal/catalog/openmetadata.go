package catalog

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/accord-events/accord/internal/contract"
)

// OpenMetadata is Accord's export to OpenMetadata: one CreateTopic request
// (the body of PUT /api/v1/topics, OpenMetadata's ingestion API) per
// contract MODEL, from its latest version. OpenMetadata rather than
// DataHub because its model is published as JSON Schema, which the tests
// check the export against with the same validator Accord uses, and
// because its Topic entity carries a message schema of type JSON natively:
// a contract is exactly that. docs/catalog.md says how to load it.
type OMTopic struct {
	Name          string       `json:"name"`
	DisplayName   string       `json:"displayName"`
	Description   string       `json:"description"`
	Service       string       `json:"service"`
	Partitions    int          `json:"partitions"`
	MessageSchema OMSchema     `json:"messageSchema"`
	Tags          []OMTagLabel `json:"tags,omitempty"`
}

// OMSchema is OpenMetadata's messageSchema.
type OMSchema struct {
	SchemaText   string    `json:"schemaText"`
	SchemaType   string    `json:"schemaType"`
	SchemaFields []OMField `json:"schemaFields"`
}

// OMField is one field of a message schema.
type OMField struct {
	Name            string       `json:"name"`
	DataType        string       `json:"dataType"`
	DataTypeDisplay string       `json:"dataTypeDisplay,omitempty"`
	Description     string       `json:"description,omitempty"`
	Tags            []OMTagLabel `json:"tags,omitempty"`
	Children        []OMField    `json:"children,omitempty"`
}

// OMTagLabel labels a field with a tag of OpenMetadata's PII
// classification.
type OMTagLabel struct {
	TagFQN    string `json:"tagFQN"`
	Source    string `json:"source"`
	LabelType string `json:"labelType"`
	State     string `json:"state"`
}

// OpenMetadataFile is where accord gen catalog writes the export, under
// its output directory.
const OpenMetadataFile = "openmetadata/topics.json"

// omFieldName is the longest field name OpenMetadata takes.
const omFieldName = 128

// piiTags maps x-accord-pii classes to the tags of the PII classification
// OpenMetadata ships.
var piiTags = map[string]string{"restricted": "PII.Sensitive", "confidential": "PII.Sensitive", "internal": "PII.NonSensitive", "public": "PII.None"}

// OpenMetadataTopics is the export: a CreateTopic request for the latest
// version of each MODEL of each contract, in the messaging service named
// service (its fully qualified name), in catalog order.
func OpenMetadataTopics(c *Catalog, service string) []OMTopic {
	out := []OMTopic{}
	for _, cc := range c.Contracts {
		latest := map[int]*Version{}
		var models []int
		for i := range cc.Versions {
			v := &cc.Versions[i]
			sv, err := contract.ParseSchemaVer(v.Version)
			if err != nil {
				continue
			}
			if _, ok := latest[sv.Model]; !ok {
				models = append(models, sv.Model)
			}
			latest[sv.Model] = v // versions are oldest first
		}
		for _, m := range models {
			v := latest[m]
			out = append(out, OMTopic{
				Name:        cc.Vendor + "." + cc.Name + ".v" + strconv.Itoa(m),
				DisplayName: fmt.Sprintf("%s/%s (MODEL %d)", cc.Vendor, cc.Name, m),
				Description: omDescription(cc, v),
				Service:     service,
				Partitions:  1,
				MessageSchema: OMSchema{SchemaText: string(v.Schema), SchemaType: "JSON",
					SchemaFields: omFields(v.Fields, "")},
			})
		}
	}
	return out
}

// omDescription is the topic's description, in Markdown: the contract's,
// and what OpenMetadata has no place for without ids of its own (owner,
// team, SLA, tracking plan).
func omDescription(cc Contract, v *Version) string {
	var b strings.Builder
	b.WriteString(v.Description)
	b.WriteString("\n\nAccord contract `" + v.Key + "`.")
	for _, kv := range [][2]string{{"Owner", v.Owner}, {"Team", v.Team}, {"Tags", strings.Join(v.Tags, ", ")},
		{"Tracking plan", strings.Join(v.TrackingPlan, ", ")}} {
		if kv[1] != "" {
			b.WriteString("\n\n" + kv[0] + ": " + kv[1])
		}
	}
	if v.SLA != nil && v.SLA.Freshness != "" {
		b.WriteString("\n\nFreshness: " + v.SLA.Freshness)
	}
	return strings.TrimSpace(b.String())
}

// omFields nests the catalog's flat fields (paths "a", "a.b", "a[].c")
// under parent.
func omFields(fields []Field, parent string) []OMField {
	out := []OMField{}
	for _, f := range fields {
		name, ok := childName(f.Path, parent)
		if !ok {
			continue
		}
		of := OMField{Name: name, DataType: omType(f), DataTypeDisplay: f.Type, Description: f.Description}
		if len(of.Name) > omFieldName {
			of.Name = of.Name[:omFieldName]
		}
		if f.PII != nil {
			if tag, ok := piiTags[f.PII.Class]; ok {
				of.Tags = []OMTagLabel{{TagFQN: tag, Source: "Classification", LabelType: "Manual", State: "Confirmed"}}
			}
		}
		kids := omFields(fields, f.Path)
		kids = append(kids, omFields(fields, f.Path+"[]")...)
		if len(kids) > 0 {
			of.Children = kids
		}
		out = append(out, of)
	}
	return out
}

// childName returns the last segment of path when path is a direct child
// of parent ("" is the event).
func childName(path, parent string) (string, bool) {
	rest := path
	if parent != "" {
		var ok bool
		if rest, ok = strings.CutPrefix(path, parent+"."); !ok {
			return "", false
		}
	}
	if rest == "" || strings.Contains(rest, ".") || strings.Contains(rest, "[]") {
		return "", false
	}
	return rest, true
}

// omType maps a field's JSON Schema type and format to OpenMetadata's.
func omType(f Field) string {
	var types []string
	for _, t := range strings.Split(f.Type, "|") {
		if t != "null" && t != "" {
			types = append(types, t)
		}
	}
	if len(types) != 1 {
		if f.Type == "null" {
			return "NULL"
		}
		return "UNION"
	}
	switch types[0] {
	case "object":
		return "RECORD"
	case "array":
		return "ARRAY"
	case "integer":
		return "LONG"
	case "number":
		return "DOUBLE"
	case "boolean":
		return "BOOLEAN"
	case "string":
		switch f.Format {
		case "date-time":
			return "TIMESTAMP"
		case "date":
			return "DATE"
		case "time":
			return "TIME"
		}
		if len(f.Enum) > 0 {
			return "ENUM"
		}
		return "STRING"
	}
	return "UNKNOWN"
}

// OpenMetadataJSON is the export as written to openmetadata/topics.json.
func OpenMetadataJSON(c *Catalog, service string) ([]byte, error) {
	b, err := json.MarshalIndent(OpenMetadataTopics(c, service), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode the OpenMetadata export: %w", err)
	}
	return append(b, '\n'), nil
}
