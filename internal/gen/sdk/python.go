package sdk

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

//go:embed runtime/accord.py.txt
var pyRuntime string

// Python generates a Python package: _accord.py (the validator and the
// Client), one module per contract, and __init__.py importing them all.
func Python(m *Model) Files {
	files := Files{{Path: "_accord.py", Data: []byte(pyRuntime)}, {Path: "py.typed", Data: []byte{}}}
	var idx strings.Builder
	idx.WriteString("# " + header + "\n\n")
	idx.WriteString("\"\"\"A typed tracking library generated from Accord contracts: see docs/sdk.md.\"\"\"\n\n")
	idx.WriteString("from ._accord import Client as Client, Event as Event, Message as Message, NotQueuedError as NotQueuedError, ValidationError as ValidationError\n")
	for _, c := range m.Contracts {
		var b strings.Builder
		b.WriteString("# " + header + "\n\n")
		fmt.Fprintf(&b, "%s\n\n", pyDocstring("", fmt.Sprintf("The types and checks of the contract %s/%s.", c.Vendor, c.Name)))
		b.WriteString("from __future__ import annotations\n\nimport warnings\nfrom typing import Any, Literal, NotRequired, Optional, TypedDict\n\nfrom ._accord import Event, Message, check, refuse, rule\n")
		var names []string
		for _, v := range c.Versions {
			names = append(names, pyVersion(&b, v)...)
		}
		fmt.Fprintf(&idx, "from .%s import %s\n", c.File, pyAsList(names))
		files = append(files, File{Path: c.File + ".py", Data: []byte(b.String())})
	}
	files = append(files, File{Path: "__init__.py", Data: []byte(idx.String())})
	return files.sorted()
}

// pyAsList writes names as explicit re-exports (mypy --strict wants "x as x").
func pyAsList(names []string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + " as " + n
	}
	return strings.Join(parts, ", ")
}

// pyDocstring writes text as a docstring; quotes and backslashes cannot end
// it or escape out of it.
func pyDocstring(indent, text string, more ...string) string {
	lines := strings.Split(cleanText(strings.Join(append([]string{text}, more...), "\n")), "\n")
	for i, l := range lines {
		l = strings.ReplaceAll(l, `\`, `\\`)
		l = strings.ReplaceAll(l, `"""`, `\"\"\"`)
		if strings.HasSuffix(l, `"`) {
			l += " "
		}
		if i > 0 && l != "" {
			l = indent + l
		}
		lines[i] = l
	}
	if len(lines) == 1 {
		return indent + `"""` + lines[0] + `"""`
	}
	return indent + `"""` + strings.Join(lines, "\n") + "\n" + indent + `"""`
}

// pyComment writes text as "#:" lines, the documentation comments of
// TypedDict keys.
func pyComment(b *strings.Builder, indent, text string) {
	for _, l := range strings.Split(cleanText(text), "\n") {
		b.WriteString(indent + "#: " + l + "\n")
	}
}

func pyVersion(b *strings.Builder, v *Version) []string {
	name := v.TypeName
	doc := []string{}
	if v.Description != "" {
		doc = append(doc, "", v.Description)
	}
	if len(v.Root.Unchecked) > 0 {
		doc = append(doc, "", "Checked by the collector only: "+strings.Join(v.Root.Unchecked, ", ")+".")
	}
	if v.SupersededBy != "" {
		doc = append(doc, "", "Deprecated: superseded by "+v.SupersededBy+", a new MODEL of the contract.")
	}
	b.WriteString("\n")
	pyTypes(b, v.Root, name, fmt.Sprintf("The data of one event of the contract %s.", v.URI), doc)
	fmt.Fprintf(b, "\nSCHEMA_%s = %s\n", name, pyString(v.URI))
	fmt.Fprintf(b, "\n_RULE_%s = rule(%s)\n", name, pyString(RuleJSON(v.Root.Rule)))
	fmt.Fprintf(b, "\n\ndef validate_%s(data: object, prefix: str = \"/data\") -> list[Message]:\n%s\n    return check(data, _RULE_%s, SCHEMA_%s, prefix)\n",
		name, pyDocstring("    ", fmt.Sprintf("Checks data against %s as the collector would; prefix is where the data sits in the event.", v.URI)), name, name)
	newDoc := []string{}
	if v.SupersededBy != "" {
		newDoc = append(newDoc, "", "Deprecated: superseded by "+v.SupersededBy+"; calling it warns (DeprecationWarning).")
	}
	fmt.Fprintf(b, "\n\ndef new_%s(data: %s) -> Event[%s]:\n%s\n", name, name, name,
		pyDocstring("    ", fmt.Sprintf("Returns the event %s with data, for Client.track, after checking it: raises ValidationError listing what breaks the contract.", v.URI), newDoc...))
	if v.SupersededBy != "" {
		fmt.Fprintf(b, "    warnings.warn(%s, DeprecationWarning, stacklevel=2)\n", pyString(v.URI+" is deprecated: superseded by "+v.SupersededBy))
	}
	fmt.Fprintf(b, "    refuse(validate_%s(data))\n    return Event(SCHEMA_%s, data, validate_%s)\n", name, name, name)
	return []string{name, "SCHEMA_" + name, "validate_" + name, "new_" + name}
}

var pyIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

var pyKeywords = map[string]bool{
	"False": true, "None": true, "True": true, "and": true, "as": true, "assert": true, "async": true,
	"await": true, "break": true, "class": true, "continue": true, "def": true, "del": true, "elif": true,
	"else": true, "except": true, "finally": true, "for": true, "from": true, "global": true, "if": true,
	"import": true, "in": true, "is": true, "lambda": true, "nonlocal": true, "not": true, "or": true,
	"pass": true, "raise": true, "return": true, "try": true, "while": true, "with": true, "yield": true,
	"match": true, "case": true, "type": true, "_": true,
}

// pyTypes writes the TypedDict of an Object node after those of the objects
// nested in it (a type is defined before it is used), or an alias for any
// other root.
func pyTypes(b *strings.Builder, n *Node, name, title string, doc []string) {
	if n.Kind != Object {
		fmt.Fprintf(b, "\n%s = %s\n", name, pyType(n))
		b.WriteString(pyDocstring("", title, doc...) + "\n")
		return
	}
	var nested []*Node
	for _, p := range n.Props {
		nested = appendObjects(nested, p.Node)
	}
	for _, o := range nested {
		d := []string{}
		if o.Description != "" {
			d = append(d, "", o.Description)
		}
		pyTypes(b, o, o.TypeName, "A nested object of a contract.", d)
	}
	classSyntax := true
	for _, p := range n.Props {
		if !pyIdent.MatchString(p.Name) || pyKeywords[p.Name] || strings.HasPrefix(p.Name, "__") {
			classSyntax = false
		}
	}
	field := func(p *Prop) string {
		t := pyType(p.Node)
		if !p.Required {
			t = "NotRequired[" + t + "]"
		}
		return t
	}
	if classSyntax {
		fmt.Fprintf(b, "\n\nclass %s(TypedDict):\n%s\n", name, pyDocstring("    ", title, doc...))
		for _, p := range n.Props {
			if p.Node.Description != "" {
				b.WriteString("\n")
				pyComment(b, "    ", p.Node.Description)
			}
			if len(p.Node.Unchecked) > 0 {
				pyComment(b, "    ", "Checked by the collector only: "+strings.Join(p.Node.Unchecked, ", ")+".")
			}
			fmt.Fprintf(b, "    %s: %s\n", p.Name, field(p))
		}
		return
	}
	// Keys that are no identifiers (or are keywords) need the functional
	// form; its docstring is the comment above it.
	b.WriteString("\n\n")
	for _, l := range strings.Split(cleanText(strings.Join(append([]string{title}, doc...), "\n")), "\n") {
		b.WriteString(strings.TrimRight("# "+l, " ") + "\n")
	}
	fmt.Fprintf(b, "%s = TypedDict(\n    %s,\n    {\n", name, pyString(name))
	for _, p := range n.Props {
		if p.Node.Description != "" {
			pyComment(b, "        ", p.Node.Description)
		}
		fmt.Fprintf(b, "        %s: %s,\n", pyString(p.Name), field(p))
	}
	b.WriteString("    },\n)\n")
}

// pyString quotes s as a Python string literal: JSON's form is one, except
// that Python needs no escaped '/' and JSON emits none.
func pyString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func pyType(n *Node) string {
	t := pyBase(n)
	if n != nil && n.Nullable && t != "Any" {
		t = "Optional[" + t + "]"
	}
	return t
}

func pyBase(n *Node) string {
	if n == nil {
		return "Any"
	}
	if lits := pyLiterals(n); lits != "" {
		return "Literal[" + lits + "]"
	}
	switch n.Kind {
	case String:
		return "str"
	case Integer:
		return "int"
	case Number:
		return "float"
	case Boolean:
		return "bool"
	case Object:
		return n.TypeName
	case Map:
		return "dict[str, Any]"
	case Array:
		return "list[" + pyType(n.Items) + "]"
	}
	return "Any"
}

// pyLiterals returns an enum's (or const's) strings, integers and booleans
// as Literal arguments, "" when it holds another value.
func pyLiterals(n *Node) string {
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
			parts = append(parts, pyString(x))
		case json.Number:
			if _, err := x.Int64(); err != nil {
				return ""
			}
			parts = append(parts, x.String())
		case bool:
			if x {
				parts = append(parts, "True")
			} else {
				parts = append(parts, "False")
			}
		case nil:
		default:
			return ""
		}
	}
	return strings.Join(parts, ", ")
}
