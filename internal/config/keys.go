package config

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// unmarshalerType is the interface of types that read their own YAML: their
// keys are theirs to check.
var unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()

// maxKeyErrors bounds the unknown keys reported for one document, so that a
// file of garbage gives a screenful, not a flood.
const maxKeyErrors = 20

// unknownKeys returns an error for every mapping key in node that the type t
// has no field for, each naming the key's full path (below path), its line
// when lines is set, and the nearest valid key: "line 2: server.adrr: unknown
// key; did you mean server.addr?". The YAML decoder's own message names only
// a Go type ("field adrr not found in type server.Options").
func unknownKeys(node *yaml.Node, t reflect.Type, path string, lines bool) error {
	var errs []error
	walkKeys(node, t, path, lines, &errs)
	if len(errs) > maxKeyErrors {
		errs = append(errs[:maxKeyErrors], fmt.Errorf("and %d more unknown keys", len(errs)-maxKeyErrors))
	}
	return errors.Join(errs...)
}

func walkKeys(node *yaml.Node, t reflect.Type, path string, lines bool, errs *[]error) {
	if node == nil || len(*errs) > maxKeyErrors {
		return
	}
	if node.Kind == yaml.DocumentNode {
		for _, n := range node.Content {
			walkKeys(n, t, path, lines, errs)
		}
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return
	}
	switch {
	case t.Kind() == reflect.Struct && t != durationType && node.Kind == yaml.MappingNode:
		fields := map[string]reflect.Type{}
		structKeys(t, fields)
		for i := 0; i+1 < len(node.Content); i += 2 {
			k, val := node.Content[i], node.Content[i+1]
			if k.Kind != yaml.ScalarNode || k.Value == "<<" {
				continue // a merge or a complex key: the decoder judges it
			}
			ft, ok := fields[k.Value]
			if !ok {
				*errs = append(*errs, unknownKey(k, path, fields, lines))
				continue
			}
			walkKeys(val, ft, joinKey(path, k.Value), lines, errs)
		}
	case t.Kind() == reflect.Slice && node.Kind == yaml.SequenceNode:
		for i, n := range node.Content {
			walkKeys(n, t.Elem(), fmt.Sprintf("%s[%d]", path, i), lines, errs)
		}
	}
	// Maps are free-form (a sink's options, checked by its type); scalars
	// have no keys.
}

// structKeys adds the YAML keys of struct type t, inline fields at t's
// level, with their types.
func structKeys(t reflect.Type, into map[string]reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		key := yamlKey(f)
		if key == "" {
			continue
		}
		if isInline(f) {
			structKeys(f.Type, into)
			continue
		}
		into[key] = f.Type
	}
}

func unknownKey(k *yaml.Node, path string, fields map[string]reflect.Type, lines bool) error {
	where := ""
	if lines {
		where = fmt.Sprintf("line %d: ", k.Line)
	}
	name := k.Value
	if len(name) > 64 {
		name = name[:64] + "..."
	}
	full := joinKey(path, name)
	if near := nearestKey(k.Value, fields); near != "" {
		return fmt.Errorf("%s%s: unknown key; did you mean %s?", where, full, joinKey(path, near))
	}
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	return fmt.Errorf("%s%s: unknown key; the keys here are %s", where, full, strings.Join(names, ", "))
}

// nearestKey returns the key in fields closest to name by edit distance,
// or "" when none is close enough to be what was meant.
func nearestKey(name string, fields map[string]reflect.Type) string {
	if len(name) > 64 {
		return ""
	}
	best, bestDist := "", -1
	for k := range fields {
		d := editDistance(strings.ToLower(name), k)
		if bestDist < 0 || d < bestDist || d == bestDist && k < best {
			best, bestDist = k, d
		}
	}
	if bestDist < 0 || bestDist > max(2, len(name)/3) || bestDist >= len(name) {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, counting an
// adjacent transposition (tiemout for timeout) as one edit.
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
