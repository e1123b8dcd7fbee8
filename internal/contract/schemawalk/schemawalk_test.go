package schemawalk

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

func decode(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestWalkVisitsEverySubschemaOnce(t *testing.T) {
	doc := decode(t, `{
		"title": "root",
		"properties": {"b/c": {"type": "string"}, "a": {"items": [{"title": "tuple0"}, true]}},
		"additionalProperties": {"title": "ap"},
		"allOf": [{"title": "all0"}, {"not": {"title": "not"}}],
		"$defs": {"d": {"title": "def"}},
		"dependencies": {"x": ["y"], "z": {"title": "dep"}},
		"items": {"title": "items"},
		"if": false,
		"enum": [{"properties": {"not": "a schema"}}],
		"x-accord": {"properties": {"nor": {"this": 1}}}
	}`)
	var got []string
	Walk(doc, "", func(ptr string, _ map[string]any) bool {
		got = append(got, ptr)
		return true
	})
	want := []string{
		"",
		"/additionalProperties",
		"/items",
		"/allOf/0",
		"/allOf/1",
		"/allOf/1/not",
		"/properties/a",
		"/properties/a/items/0",
		"/properties/b~1c",
		"/$defs/d",
		"/dependencies/z",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Walk visited\n%q\nwant\n%q", got, want)
	}
}

func TestWalkSkipsBelowWhenVisitSaysSo(t *testing.T) {
	doc := decode(t, `{"properties": {"a": {"properties": {"deep": {}}}}, "not": {}}`)
	var got []string
	Walk(doc, "/base", func(ptr string, _ map[string]any) bool {
		got = append(got, ptr)
		return ptr != "/base/properties/a"
	})
	want := []string{"/base", "/base/not", "/base/properties/a"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Walk visited %q, want %q", got, want)
	}
}

func TestChildrenStops(t *testing.T) {
	doc := decode(t, `{"allOf": [{}, {}, {}]}`).(map[string]any)
	n := 0
	done := Children(doc, func([]string, any) bool { n++; return n < 2 })
	if done || n != 2 {
		t.Errorf("Children ran %d times and reported done=%v; want 2 and false", n, done)
	}
}

func TestVocabulary(t *testing.T) {
	tests := []struct {
		keyword    string
		shape      Shape
		asserts    bool
		annotation bool
	}{
		{"properties", Map, true, false},
		{"$defs", Map, false, true},
		{"definitions", Map, false, true},
		{"items", OneOrList, true, false},
		{"anyOf", List, true, false},
		{"not", One, true, false},
		{"dependencies", MapOrStrings, true, false},
		{"minimum", Value, true, false},
		{"$ref", Value, true, false},
		{"title", Value, false, true},
		{"self", Value, false, true},
		{"x-accord", Value, false, true},
		{"x-accord-pii", Value, false, true},
		{"someFutureKeyword", Value, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.keyword, func(t *testing.T) {
			if got := ShapeOf(tc.keyword); got != tc.shape {
				t.Errorf("ShapeOf = %v, want %v", got, tc.shape)
			}
			if got := Asserts(tc.keyword); got != tc.asserts {
				t.Errorf("Asserts = %v, want %v", got, tc.asserts)
			}
			if got := Annotation(tc.keyword); got != tc.annotation {
				t.Errorf("Annotation = %v, want %v", got, tc.annotation)
			}
		})
	}
	if Known("x-accord") || !Known("$dynamicRef") {
		t.Error("Known disagrees with the keyword list")
	}
}
