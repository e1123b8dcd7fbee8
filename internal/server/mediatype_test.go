package server

import (
	"maps"
	"mime"
	"strings"
	"testing"
)

// TestMediaTypeOfAsParseMediaType: the types read without
// mime.ParseMediaType come out as it would give them, and every other
// header is left to it.
func TestMediaTypeOfAsParseMediaType(t *testing.T) {
	for _, v := range []string{
		"", "application/json", "application/x-ndjson", "text/plain",
		"application/x-www-form-urlencoded", "application/cloudevents+json",
		"application/cloudevents-batch+json",
		"Application/JSON", "application/json; charset=UTF-8", "text/plain;charset=latin1",
		"application/json ", "application/json;", "not a type", "application/json; charset",
	} {
		t.Run(v, func(t *testing.T) {
			gotType, gotParams := mediaTypeOf(v)
			wantType, wantParams, _ := mime.ParseMediaType(v)
			if gotType != strings.ToLower(wantType) {
				t.Errorf("media type %q, want %q", gotType, strings.ToLower(wantType))
			}
			if !maps.Equal(gotParams, wantParams) {
				t.Errorf("parameters %v, want %v", gotParams, wantParams)
			}
		})
	}
}
