package sdk

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

//go:embed runtime/accord.ts.txt
var tsRuntime string

// TypeScript generates a TypeScript library: accord.ts (the validator and
// the Client), one module per contract, and index.ts exporting them all.
func TypeScript(m *Model) Files {
	files := Files{{Path: "accord.ts", Data: []byte(tsRuntime)}}
	files = append(files, tsContracts(m)...)
	var idx strings.Builder
	idx.WriteString("// " + header + "\n\n")
	idx.WriteString("export * from \"./accord.js\";\n")
	for _, c := range m.Contracts {
		fmt.Fprintf(&idx, "export * from \"./%s.js\";\n", c.File)
	}
	files = append(files, File{Path: "index.ts", Data: []byte(idx.String())})
	return files.sorted()
}

// tsContracts returns one module per contract: the interfaces, rules,
// validators and constructors of its versions.
func tsContracts(m *Model) Files {
	var files Files
	for _, c := range m.Contracts {
		var b strings.Builder
		b.WriteString("// " + header + "\n\n")
		b.WriteString("import { check, refuse, rule } from \"./accord.js\";\nimport type { Event, Message, Rule } from \"./accord.js\";\n")
		for _, v := range c.Versions {
			tsVersion(&b, v)
		}
		files = append(files, File{Path: c.File + ".ts", Data: []byte(b.String())})
	}
	return files
}

// jsdoc writes text as a /** */ comment at indent; "*/" cannot end it early.
func jsdoc(b *strings.Builder, indent string, lines ...string) {
	var all []string
	for _, l := range lines {
		all = append(all, strings.Split(cleanText(l), "\n")...)
	}
	b.WriteString(indent + "/**\n")
	for _, l := range all {
		l = strings.ReplaceAll(l, "*/", "*\\/")
		if l == "" {
			b.WriteString(indent + " *\n")
		} else {
			b.WriteString(indent + " * " + l + "\n")
		}
	}
	b.WriteString(indent + " */\n")
}

func tsVersion(b *strings.Builder, v *Version) {
	doc := []string{fmt.Sprintf("The data of one event of the contract %s.", v.URI)}
	if v.Description != "" {
		doc = append(doc, "", v.Description)
	}
	if len(v.Root.Unchecked) > 0 {
		doc = append(doc, "", "Checked by the collector only: "+strings.Join(v.Root.Unchecked, ", ")+".")
	}
	deprecated := ""
	if v.SupersededBy != "" {
		deprecated = "@deprecated Superseded by " + v.SupersededBy + ", a new MODEL of the contract."
		doc = append(doc, "", deprecated)
	}
	b.WriteString("\n")
	tsInterface(b, v.Root, v.TypeName, doc)
	fmt.Fprintf(b, "\n/** The key of %s. */\nexport const schema%s = %s;\n", v.TypeName, v.TypeName, jsString(v.URI))
	fmt.Fprintf(b, "\nconst rule%s: Rule = rule(%s);\n", v.TypeName, jsString(RuleJSON(v.Root.Rule)))
	b.WriteString("\n")
	jsdoc(b, "", fmt.Sprintf("Checks data against %s as the collector would; prefix is where the data sits in the event (\"/data\").", v.URI))
	fmt.Fprintf(b, "export function validate%s(data: unknown, prefix = \"/data\"): Message[] {\n  return check(data, rule%s, schema%s, prefix);\n}\n", v.TypeName, v.TypeName, v.TypeName)
	b.WriteString("\n")
	lines := []string{fmt.Sprintf("Returns the event %s with data, for Client.track, after checking it: throws a ValidationError listing what breaks the contract.", v.URI)}
	if deprecated != "" {
		lines = append(lines, "", deprecated)
	}
	jsdoc(b, "", lines...)
	fmt.Fprintf(b, "export function new%s(data: %s): Event<%s> {\n  refuse(validate%s(data));\n  return { schema: schema%s, data, check: validate%s };\n}\n",
		v.TypeName, v.TypeName, v.TypeName, v.TypeName, v.TypeName, v.TypeName)
}

// tsInterface writes the interface of an Object node, then those of the
// objects nested in it.
func tsInterface(b *strings.Builder, n *Node, name string, doc []string) {
	if n.Kind != Object {
		jsdoc(b, "", doc...)
		fmt.Fprintf(b, "export type %s = %s;\n", name, tsType(n))
		return
	}
	jsdoc(b, "", doc...)
	fmt.Fprintf(b, "export interface %s {\n", name)
	var nested []*Node
	for _, p := range n.Props {
		var lines []string
		if p.Node.Description != "" {
			lines = append(lines, p.Node.Description)
		}
		if len(p.Node.Unchecked) > 0 {
			lines = append(lines, "Checked by the collector only: "+strings.Join(p.Node.Unchecked, ", ")+".")
		}
		if len(lines) > 0 {
			jsdoc(b, "  ", lines...)
		}
		opt := ""
		if !p.Required {
			opt = "?"
		}
		fmt.Fprintf(b, "  %s%s: %s;\n", tsKey(p.Name), opt, tsType(p.Node))
		nested = appendObjects(nested, p.Node)
	}
	b.WriteString("}\n")
	for _, o := range nested {
		b.WriteString("\n")
		d := []string{"A nested object of a contract."}
		if o.Description != "" {
			d = append(d, "", o.Description)
		}
		tsInterface(b, o, o.TypeName, d)
	}
}

var tsIdent = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)

// tsKey writes a property name as an interface key: bare when it is an
// identifier, quoted otherwise ("__proto__" always quoted).
func tsKey(name string) string {
	if tsIdent.MatchString(name) && name != "__proto__" {
		return name
	}
	return jsString(name)
}

// jsString quotes s as a JavaScript string literal (JSON's form, with the
// line separators escaped too).
func jsString(s string) string {
	b, _ := json.Marshal(s)
	out := string(b)
	out = strings.ReplaceAll(out, "\u2028", `\u2028`)
	return strings.ReplaceAll(out, "\u2029", `\u2029`)
}

func tsType(n *Node) string {
	t := tsBase(n)
	if n != nil && n.Nullable && t != "unknown" {
		t += " | null"
	}
	return t
}

func tsBase(n *Node) string {
	if n == nil {
		return "unknown"
	}
	if lits := tsLiterals(n); lits != "" {
		return lits
	}
	switch n.Kind {
	case String:
		return "string"
	case Integer, Number:
		return "number"
	case Boolean:
		return "boolean"
	case Object:
		return n.TypeName
	case Map:
		return "Record<string, unknown>"
	case Array:
		return "Array<" + tsType(n.Items) + ">"
	}
	return "unknown"
}

// tsLiterals returns the union of an enum's (or const's) scalar values as
// literal types, "" when the node has none or holds other values.
func tsLiterals(n *Node) string {
	var vals []any
	if e, ok := n.Rule["enum"].([]any); ok {
		vals = e
	} else if c, ok := n.Rule["const"]; ok {
		vals = []any{c}
	} else {
		return ""
	}
	var parts []string
	for _, v := range vals {
		switch x := v.(type) {
		case string:
			parts = append(parts, jsString(x))
		case json.Number:
			parts = append(parts, x.String())
		case bool:
			parts = append(parts, fmt.Sprint(x))
		case nil:
			// null comes from Nullable
		default:
			return ""
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, " | ")
}
