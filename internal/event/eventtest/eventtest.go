// Package eventtest helps tests check records against the envelope's JSON
// Schema, so every test that produces records also proves their shape.
package eventtest

import (
	"bytes"
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
