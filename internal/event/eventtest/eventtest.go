// Package eventtest helps tests check records against the envelope's JSON
// Schema, so every test that produces records also proves their shape, and
// check failures (type, messages, where) the same way in every package.
package eventtest

import (
	"bytes"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/accord-events/accord/internal/event"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

var compiled = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(event.Schema))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("envelope.schema.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("envelope.schema.json")
})

// CheckJSON fails the test unless doc is an envelope that conforms to the
// envelope schema.
func CheckJSON(t testing.TB, doc []byte) {
	t.Helper()
	schema, err := compiled()
	if err != nil {
		t.Fatalf("compile envelope schema: %v", err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("record is not JSON: %v\n%s", err, doc)
	}
	if err := schema.Validate(v); err != nil {
		t.Fatalf("record does not conform to the envelope schema: %v\n%s", err, doc)
	}
}

// Check encodes env and checks it with CheckJSON.
func Check(t testing.TB, env *event.Envelope) {
	t.Helper()
	CheckJSON(t, env.AppendJSON(nil))
}

// Failure is what a test expects of a failure: its type, words its messages
// say, and where its first problem is. The zero Failure expects none.
type Failure struct {
	Type     event.FailureType
	Messages []string // each must appear in one of the messages
	Path     string   // the first message's instance path, when not ""
}

// CheckFailure fails the test unless got is the failure want describes (no
// failure when want.Type is ""). what names the record in the messages
// ("input 3").
func CheckFailure(t testing.TB, what string, got *event.Failure, want Failure) {
	t.Helper()
	if want.Type == "" {
		if got != nil {
			t.Errorf("%s failed: %+v", what, got)
		}
		return
	}
	if got == nil {
		t.Fatalf("%s did not fail, want %s", what, want.Type)
	}
	if got.Type != want.Type {
		t.Errorf("%s failed with %s, want %s: %+v", what, got.Type, want.Type, got.Messages)
	}
	all := make([]string, 0, len(got.Messages))
	for _, m := range got.Messages {
		all = append(all, m.Message)
	}
	text := strings.Join(all, "\n")
	for _, part := range want.Messages {
		if !strings.Contains(text, part) {
			t.Errorf("%s: failure messages\n%s\ndo not say %q", what, text, part)
		}
	}
	if want.Path != "" && (len(got.Messages) == 0 || got.Messages[0].InstancePath != want.Path) {
		t.Errorf("%s: first message is at %q, want %q", what, firstPath(got), want.Path)
	}
}

func firstPath(f *event.Failure) string {
	if len(f.Messages) == 0 {
		return "(no message)"
	}
	return f.Messages[0].InstancePath
}

// CheckFailureShape fails the test unless f is a failure of one of types
// whose every message says something: what a fuzz target can check of a
// failure for input it did not choose.
func CheckFailureShape(t testing.TB, f *event.Failure, types ...event.FailureType) {
	t.Helper()
	if f == nil || len(f.Messages) == 0 {
		t.Fatalf("failure %+v has no message", f)
	}
	if !slices.Contains(types, f.Type) {
		t.Fatalf("failure type %q, want one of %v", f.Type, types)
	}
	for _, m := range f.Messages {
		if m.Message == "" {
			t.Fatalf("empty message in %+v", f)
		}
	}
}
