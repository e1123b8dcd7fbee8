package lint

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"time"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/jsonpointer"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// The two vocabularies Accord reads from a contract, as JSON Schemas: the
// contract's metadata under "x-accord" and a property's privacy rule under
// "x-accord-pii". docs/contracts.md describes them for people.
var (
	//go:embed vocabulary/x-accord.json
	metadataSchema []byte
	//go:embed vocabulary/x-accord-pii.json
	privacySchema []byte
)

const (
	metadataURI = "https://accord-events.dev/vocabulary/x-accord.json"
	privacyURI  = "https://accord-events.dev/vocabulary/x-accord-pii.json"
)

// vocabularies holds the compiled vocabulary schemas.
type vocabularies struct {
	metadata, privacy *jsonschema.Schema
}

func compileVocabularies() (*vocabularies, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	c.RegisterFormat(&jsonschema.Format{Name: "go-duration", Validate: validateDuration})
	for uri, doc := range map[string][]byte{metadataURI: metadataSchema, privacyURI: privacySchema} {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
		if err != nil {
			return nil, fmt.Errorf("decode vocabulary %s: %w", uri, err)
		}
		if err := c.AddResource(uri, v); err != nil {
			return nil, fmt.Errorf("add vocabulary %s: %w", uri, err)
		}
	}
	var v vocabularies
	var err error
	if v.metadata, err = c.Compile(metadataURI); err != nil {
		return nil, fmt.Errorf("compile vocabulary x-accord: %w", err)
	}
	if v.privacy, err = c.Compile(privacyURI); err != nil {
		return nil, fmt.Errorf("compile vocabulary x-accord-pii: %w", err)
	}
	return &v, nil
}

// validateDuration accepts a positive Go duration such as 15m or 1h30m.
func validateDuration(v any) error {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a Go duration such as 15m or 1h30m", s)
	}
	if d <= 0 {
		return fmt.Errorf("%q is not positive", s)
	}
	return nil
}

// vocabularyProblem is one way a value breaks a vocabulary.
type vocabularyProblem struct {
	// pointer is relative to the vocabulary's value.
	pointer string
	// unknownKey is set when the problem is a key the vocabulary lacks.
	unknownKey string
	message    string
}

// check validates value against schema and returns each problem; name is
// how messages call the value, such as x-accord.
func check(schema *jsonschema.Schema, value any, name string) []vocabularyProblem {
	err := schema.Validate(value)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []vocabularyProblem{{message: name + ": " + err.Error()}}
	}
	var out []vocabularyProblem
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		at := jsonpointer.Format(e.InstanceLocation)
		switch k := e.ErrorKind.(type) {
		case *kind.AdditionalProperties:
			for _, p := range k.Properties {
				out = append(out, vocabularyProblem{pointer: jsonpointer.Append(at, p), unknownKey: p,
					message: fmt.Sprintf("%s%s has the unknown key %q", name, at, p)})
			}
		case *kind.Required:
			for _, m := range k.Missing {
				out = append(out, vocabularyProblem{pointer: at, message: fmt.Sprintf("%s%s is missing %q", name, at, m)})
			}
		default:
			for _, m := range contract.Messages(e, "", name) {
				out = append(out, vocabularyProblem{pointer: at, message: m.Message})
			}
		}
	}
	walk(ve)
	return out
}
