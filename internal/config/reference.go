package config

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/accord-events/accord/internal/protocol"
)

// SinkType is what the reference needs to know of a sink type.
type SinkType struct {
	Name string
	Doc  string
	// Options is a pointer to the type's options struct holding defaults.
	Options any
}

// Field is one configuration key.
type Field struct {
	Key     string // server.addr
	Env     string // ACCORD_SERVER_ADDR
	Type    string
	Default string
	Doc     string
}

// Fields lists the keys of the struct v points to (or is), with their
// defaults as v holds them. keyPrefix and envPrefix start each name.
func Fields(v any, keyPrefix, envPrefix string) []Field {
	var out []Field
	collectFields(walkable(reflect.ValueOf(v)), keyPrefix, envPrefix, &out)
	return out
}

func collectFields(v reflect.Value, key, env string, out *[]Field) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := yamlKey(f)
		if name == "" {
			continue
		}
		fv := walkable(v.Field(i))
		if isInline(f) {
			collectFields(fv, key, env, out)
			continue
		}
		k, e := joinKey(key, name), env+"_"+strings.ToUpper(name)
		if fv.Kind() == reflect.Struct && fv.Type() != durationType {
			collectFields(fv, k, e, out)
			continue
		}
		if fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Struct {
			// A list of entries: the list, then each entry's keys.
			*out = append(*out, Field{Key: k, Env: e, Type: "list", Default: "[]", Doc: f.Tag.Get("doc")})
			entry := reflect.New(fv.Type().Elem())
			if d, ok := entry.Interface().(entryDefaults); ok {
				d.SetDefaults()
			}
			collectFields(entry.Elem(), k+"[i]", e+"_{i}", out)
			continue
		}
		*out = append(*out, Field{Key: k, Env: e, Type: typeName(fv.Type()), Default: yamlScalar(fv.Interface()), Doc: f.Tag.Get("doc")})
	}
}

// entryDefaults is a list entry that knows the defaults of the keys it
// leaves out (alert.Receiver): the reference shows them.
type entryDefaults interface {
	SetDefaults()
}

func joinKey(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func typeName(t reflect.Type) string {
	switch {
	case t == durationType:
		return "duration"
	case t.Kind() == reflect.String:
		return "string"
	case t.Kind() == reflect.Bool:
		return "boolean"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		return "integer"
	case t.Kind() == reflect.Float64:
		return "number"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		return "list of strings"
	case t.Kind() == reflect.Slice:
		return "list"
	case t.Kind() == reflect.Map:
		return "map"
	}
	return t.String()
}

// yamlScalar renders a scalar, or a list of strings, as YAML on one line.
func yamlScalar(v any) string {
	switch v := v.(type) {
	case time.Duration:
		return v.String()
	case []string:
		quoted := make([]string, len(v))
		for i, s := range v {
			quoted[i] = fmt.Sprintf("%q", s)
		}
		return "[" + strings.Join(quoted, ", ") + "]"
	}
	b, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSpace(string(b))
}

// Markdown renders the configuration reference: every key with its
// environment variable, type, default and meaning.
func Markdown(sinkTypes []SinkType, protocols *protocol.Types) string {
	var b strings.Builder
	def := Default(protocols)
	b.WriteString("# Configuration reference\n\n")
	b.WriteString("<!-- Generated from internal/config and the options of the protocol and sink types by `accord config reference`; a test fails when it drifts. Do not edit by hand. -->\n\n")
	b.WriteString("Accord reads one YAML file: `--config FILE`, or `$ACCORD_CONFIG`, or `accord.yml` in the working directory when it exists. ")
	b.WriteString("Every key has a default, so the file may leave out anything, and with no file at all Accord runs on the defaults below. ")
	b.WriteString("An environment variable overrides each key: `ACCORD_` and the key's path in upper case, joined by `_` (list items by index). ")
	b.WriteString("Unknown keys and unknown `ACCORD_` variables are errors, so a typo is never silently ignored: a misspelt key is named by its path and line, with the nearest valid key (`line 2: server.adrr: unknown key; did you mean server.addr?`). ")
	b.WriteString("`$" + EnvConfigFile + "` and the API keys of `accord contract publish` (`$" + EnvRegistryKey + "`) and `accord contract pull` (`$" + EnvIgluAPIKey + "`) are not keys. ")
	b.WriteString("`accord init` writes an `accord.yml` with every key and its default.\n\n")
	b.WriteString("Durations are written like `10s`, `1m30s`; sizes are in bytes. In an environment variable, a list of strings is comma-separated (`ACCORD_SERVER_CORS_ORIGINS=https://a.example,https://b.example`) or written in YAML flow syntax (`[https://a.example, https://b.example]`). ")
	b.WriteString("Any list or map can be set whole in YAML flow syntax, checked as strictly as the file: `ACCORD_CONTRACTS_BACKENDS='[{type: iglu, url: http://iglucentral.com}]'`, `ACCORD_PROTOCOLS_WEBHOOKS='[{name: github, schema: iglu:com.acme/github_push/jsonschema/1-0-0}]'`, `ACCORD_SINKS_0_OPTIONS='{path: accord-data/accord.db}'`; variables naming an entry by index then change that entry (`ACCORD_PROTOCOLS_WEBHOOKS_0_SIGNATURE_SECRET`).\n\n")
	b.WriteString("Every command reads the whole file, and an unknown key is an error for each, but validates only the sections it uses: `accord serve` and `accord config check` all of them, every other command only its own (`accord contract lint` only `contracts`, `accord spool status` only `spool`, `accord replay` all but `protocols`, `admin` and `alerts`). So a Segment write key or webhook secret left unset is refused by the collector and does not stop the tools that never use it.\n\n")
	t := reflect.TypeOf(def)
	v := reflect.ValueOf(def)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := yamlKey(f)
		fmt.Fprintf(&b, "## `%s`\n\n%s\n\n", name, f.Tag.Get("doc"))
		if f.Type.Kind() == reflect.Struct {
			writeTable(&b, Fields(v.Field(i).Interface(), name, EnvPrefix+"_"+strings.ToUpper(name)))
			continue
		}
		// sinks: a list of entries.
		entry := Fields(SinkEntry{Records: "all", Delivery: def.Sinks[0].Delivery}, "sinks[i]", EnvPrefix+"_SINKS_{i}")
		for i := range entry {
			if entry[i].Type == "map" {
				entry[i].Env += "_{KEY}"
				entry[i].Doc += " From the environment, one option a variable, or all of them in YAML flow syntax: " + EnvPrefix + "_SINKS_{i}_OPTIONS='{path: accord-data/accord.db}'."
			}
		}
		whole := Field{Key: name, Env: EnvPrefix + "_SINKS", Type: "list", Doc: "The sinks, each entry with the keys below; from the environment, the whole list in YAML flow syntax (" + EnvPrefix + "_SINKS='[{name: store, type: sqlite}]') or one key of an entry a variable."}
		writeTable(&b, append([]Field{whole}, entry...))
		b.WriteString("\nThe default, used when the file configures no sinks:\n\n```yaml\n")
		b.WriteString(mustYAML(map[string]any{"sinks": def.Sinks}))
		b.WriteString("```\n\n")
		b.WriteString("### Sink types\n\n")
		for _, st := range sinkTypes {
			fmt.Fprintf(&b, "#### `%s`\n\n%s\n\n", st.Name, st.Doc)
			b.WriteString(SinkOptionsTable(st))
			b.WriteString("\n")
		}
	}
	return b.String()
}

// SinkOptionsTable is the table of a sink type's options, as the
// reference shows it; each docs/sinks/TYPE.md page carries the same table,
// generated (e2e TestSinkPagesOptions).
func SinkOptionsTable(st SinkType) string {
	var b strings.Builder
	writeTable(&b, Fields(st.Options, "sinks[i].options", EnvPrefix+"_SINKS_{i}_OPTIONS"))
	return b.String()
}

func writeTable(b *strings.Builder, fields []Field) {
	b.WriteString("| Key | Environment | Type | Default | Meaning |\n|---|---|---|---|---|\n")
	for _, f := range fields {
		def := "`" + f.Default + "`"
		if f.Default == "" || f.Default == `""` {
			def = "(empty)"
		}
		if f.Type == "map" || f.Type == "list" {
			def = "(see below)"
		}
		fmt.Fprintf(b, "| `%s` | `%s` | %s | %s | %s |\n", f.Key, f.Env, f.Type, def, strings.ReplaceAll(f.Doc, "|", "\\|"))
	}
	b.WriteString("\n")
}

func mustYAML(v any) string {
	out, err := yaml.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("marshal built-in default: %v", err))
	}
	return string(out)
}

// Template renders a commented accord.yml holding every key at its default:
// the default sinks active, and one example of every other sink type
// commented out.
func Template(sinkTypes []SinkType, protocols *protocol.Types) string {
	var b strings.Builder
	def := Default(protocols)
	b.WriteString("# Accord configuration. Every key is shown at its default; delete what you do not change.\n")
	b.WriteString("# Each key can be overridden by an environment variable, such as ACCORD_SERVER_ADDR for server.addr.\n")
	b.WriteString("# Reference: docs/configuration.md\n")
	t := reflect.TypeOf(def)
	v := reflect.ValueOf(def)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := yamlKey(f)
		fmt.Fprintf(&b, "\n# %s\n%s:\n", f.Tag.Get("doc"), name)
		if f.Type.Kind() == reflect.Struct {
			writeYAMLFields(&b, Fields(v.Field(i).Interface(), "", ""), "  ")
			continue
		}
		byName := map[string]SinkType{}
		for _, st := range sinkTypes {
			byName[st.Name] = st
		}
		for _, s := range def.Sinks {
			writeSinkEntry(&b, s, byName[s.Type], "")
		}
		for _, st := range sinkTypes {
			if st.Name == def.Sinks[0].Type {
				continue
			}
			fmt.Fprintf(&b, "  # Example of a sink of type %s: %s\n", st.Name, st.Doc)
			writeSinkEntry(&b, SinkEntry{Name: st.Name, Type: st.Name, Records: "all"}, st, "# ")
		}
	}
	return b.String()
}

func writeSinkEntry(b *strings.Builder, s SinkEntry, st SinkType, comment string) {
	fields := Fields(SinkEntry{}, "", "")
	fmt.Fprintf(b, "  %s- # %s\n", comment, fields[0].Doc)
	fmt.Fprintf(b, "  %s  name: %s\n", comment, yamlScalar(s.Name))
	fmt.Fprintf(b, "  %s  # %s\n  %s  type: %s\n", comment, fields[1].Doc, comment, s.Type)
	fmt.Fprintf(b, "  %s  # %s\n  %s  records: %s\n", comment, fields[2].Doc, comment, s.Records)
	fmt.Fprintf(b, "  %s  options:\n", comment)
	if st.Options != nil {
		opts := Fields(st.Options, "", "")
		for i := range opts {
			if v, ok := s.Options[opts[i].Key]; ok {
				opts[i].Default = yamlScalar(v)
			}
		}
		writeYAMLFields(b, opts, "  "+comment+"    ")
	}
	if comment == "" {
		// The active sinks show their delivery settings; the commented
		// examples leave them out to stay short.
		writeYAMLFields(b, Fields(s.Delivery, "delivery", ""), "    ")
	}
}

// writeYAMLFields writes each field as a documented key; prefix is what
// stands before each line (indentation, and "# " for commented examples).
// A dotted key (a field of a nested struct, such as lint.require_descriptions)
// is written as nested mappings, since YAML does not read dots as nesting.
func writeYAMLFields(b *strings.Builder, fields []Field, prefix string) {
	var open []string // the mapping keys the previous field was nested in
	for _, f := range fields {
		if strings.Contains(f.Key, "[i]") {
			continue // the keys of list entries: the list is written empty
		}
		parts := strings.Split(f.Key, ".")
		parents := parts[:len(parts)-1]
		same := 0
		for same < len(open) && same < len(parents) && open[same] == parents[same] {
			same++
		}
		for i := same; i < len(parents); i++ {
			fmt.Fprintf(b, "%s%s%s:\n", prefix, strings.Repeat("  ", i), parents[i])
		}
		open = parents
		indent := prefix + strings.Repeat("  ", len(parents))
		fmt.Fprintf(b, "%s# %s\n%s%s: %s\n", indent, f.Doc, indent, parts[len(parts)-1], f.Default)
	}
}
