package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sort"
	"strings"

	"github.com/accord-events/accord/internal/jsonpointer"
)

// decode reads a schema document with numbers kept exact.
func decode(doc []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the top-level value")
	}
	return v, nil
}

// maxRefHops bounds how many local $refs are followed to reach one schema.
const maxRefHops = 32

// deref follows local JSON-pointer $refs from s within root, at most
// maxRefHops of them; it returns s itself when its $ref is not local.
func deref(root any, s map[string]any, ptr string) (map[string]any, string) {
	for i := 0; i < maxRefHops; i++ {
		ref, ok := s["$ref"].(string)
		if !ok || !strings.HasPrefix(ref, "#") {
			return s, ptr
		}
		target, ok := jsonpointer.Resolve(root, ref[1:])
		m, isMap := target.(map[string]any)
		if !ok || !isMap {
			return s, ptr
		}
		s, ptr = m, ref[1:]
	}
	return s, ptr
}

// fields lists the properties of the event data, breadth by path: each
// property of an object, and the properties of objects in arrays
// ("items[].sku"), down to MaxFieldDepth levels and at most MaxFields.
func fields(root map[string]any) ([]Field, bool) {
	out := []Field{}
	truncated := false
	var walk func(s map[string]any, ptr, path string, depth int)
	walk = func(s map[string]any, ptr, path string, depth int) {
		if depth > MaxFieldDepth {
			return
		}
		s, ptr = deref(root, s, ptr)
		props, _ := s["properties"].(map[string]any)
		req := map[string]bool{}
		if list, ok := s["required"].([]any); ok {
			for _, r := range list {
				if name, ok := r.(string); ok {
					req[name] = true
				}
			}
		}
		names := make([]string, 0, len(props))
		for name := range props {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			ps, ok := props[name].(map[string]any)
			if !ok {
				continue
			}
			if len(out) >= MaxFields {
				truncated = true
				return
			}
			p := name
			if path != "" {
				p = path + "." + name
			}
			pptr := jsonpointer.Append(ptr, "properties", name)
			rs, rptr := deref(root, ps, pptr)
			f := Field{Path: p, Pointer: pptr, Type: joinTypes(rs["type"]), Format: str(rs["format"]), Required: req[name],
				Description: str(ps["description"])}
			if f.Description == "" {
				f.Description = str(rs["description"])
			}
			if f.Type == "" {
				f.Type = "any"
			}
			f.Enum = enumOf(rs)
			f.PII = piiOf(ps)
			if f.PII == nil {
				f.PII = piiOf(rs)
			}
			out = append(out, f)
			walk(rs, rptr, p, depth+1)
			if items, ok := rs["items"].(map[string]any); ok {
				walk(items, jsonpointer.Append(rptr, "items"), p+"[]", depth+1)
			}
		}
	}
	walk(root, "", "", 0)
	return out, truncated
}

// enumOf returns the values an enum or const allows, as JSON.
func enumOf(s map[string]any) []json.RawMessage {
	var vals []any
	if c, ok := s["const"]; ok {
		vals = []any{c}
	} else if e, ok := s["enum"].([]any); ok {
		vals = e
	}
	if vals == nil {
		return nil
	}
	out := make([]json.RawMessage, 0, len(vals))
	for _, v := range vals {
		b, err := json.Marshal(v)
		if err == nil {
			out = append(out, b)
		}
	}
	return out
}

// piiOf reads a property's x-accord-pii rule; nil when it has none or it
// is not an object naming a class or an action.
func piiOf(s map[string]any) *PII {
	m, ok := s["x-accord-pii"].(map[string]any)
	if !ok {
		return nil
	}
	p := &PII{Class: str(m["class"]), Action: str(m["action"])}
	if p.Class == "" && p.Action == "" {
		return nil
	}
	if n, ok := m["keep_chars"].(json.Number); ok {
		if i, err := n.Int64(); err == nil && i >= 0 && i < 1<<31 {
			k := int(i)
			p.KeepChars = &k
		}
	}
	return p
}
