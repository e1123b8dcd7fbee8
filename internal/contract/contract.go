package contract

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// IgluMetaSchemaURI is the meta-schema Iglu's self-describing schemas declare
// in "$schema". It is embedded, so such schemas compile offline.
const IgluMetaSchemaURI = "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#"

//go:embed metaschema/iglu-self-desc-1-0-0.json
var igluMetaSchema []byte

// parsedIgluMeta holds the decoded Iglu meta-schema; every compiler gets the
// same read-only document instead of decoding it again per contract.
var parsedIgluMeta = sync.OnceValues(func() (any, error) {
	return jsonschema.UnmarshalJSON(bytes.NewReader(igluMetaSchema))
})

// Contract is one compiled version of a data contract.
type Contract struct {
	Key Key
	// URI is Key.String(), computed once because every event needs it.
	URI string
	// Version is Key.Version.String(), computed once for the same reason.
	Version string
	// Source says where the contract was loaded from (a file path, a URL).
	Source string
	// Document is the schema as stored.
	Document json.RawMessage
	// ready holds the stock validator's schema and the compiled validator
	// once they are built: at load, or for a contract loaded late (late.go),
	// on its first event.
	ready atomic.Pointer[validators]
	// late is set for a contract whose validators are built on first
	// need (late.go); nil when they were built at load.
	late *sync.Once
	// slow is built on the first event the compiled validator does not
	// find valid: whether the contract is exposed (fastmemo.go).
	slow atomic.Pointer[slowPath]
}

// validators are what validates a contract's events.
type validators struct {
	schema *jsonschema.Schema
	// fast is the compiled validator that walks an event's bytes (see
	// fast.go).
	fast *fastNode
	// err is why a contract loaded late could not be compiled after all
	// (late.go): then every event is invalid, and says why. nil for every
	// other contract.
	err error
}

// validators returns the contract's validators, building them first for
// a contract loaded late.
func (c *Contract) validators() *validators {
	if v := c.ready.Load(); v != nil {
		return v
	}
	return c.compileLate()
}

// ErrInvalidContract is wrapped by every error Compile returns for a schema
// that cannot become a contract.
var ErrInvalidContract = errors.New("invalid contract")

// Compile builds a contract from a self-describing JSON Schema document. When
// want is not the zero Key, the document's self block must name it. source
// says where the document came from; errors leave it to the caller to name.
// Its $refs may point only within the document: see CompileWith.
func Compile(doc []byte, want Key, source string) (*Contract, error) {
	return CompileWith(doc, want, source, nil)
}

// CompileWith is Compile where $refs may also name other contracts, which
// others looks up (nil: none). Nothing else is loaded: a $ref to a file or
// to any other URL fails with an error wrapping ErrRefOutsideRegistry.
func CompileWith(doc []byte, want Key, source string, others Documents) (*Contract, error) {
	// The document is decoded once: the self block, the schema library and
	// the compiled validator all read the same value.
	key, value, err := decodeContract(doc, want)
	if err != nil {
		return nil, err
	}
	schema, err := compileSchema(key, value, others)
	if err != nil {
		return nil, err
	}
	return newContract(key, source, doc, schema), nil
}

// newContract is the contract of a document compiled at once into schema,
// or, with schema nil, of one compiled on its first event (late.go).
func newContract(key Key, source string, doc []byte, schema *jsonschema.Schema) *Contract {
	c := &Contract{Key: key, URI: key.String(), Version: key.Version.String(), Source: source, Document: append(json.RawMessage(nil), doc...)}
	if schema == nil {
		c.late = new(sync.Once)
	} else {
		c.ready.Store(&validators{schema: schema, fast: compileFast(schema)})
	}
	return c
}

// decodeContract decodes a contract's document and reads the key its self
// block names, which must be want unless want is the zero Key.
func decodeContract(doc []byte, want Key) (Key, any, error) {
	value, decodeErr := DecodeValue(doc)
	key, err := selfKey(doc, value, decodeErr == nil)
	if err != nil {
		return Key{}, nil, err
	}
	if want != (Key{}) && key != want {
		return Key{}, nil, fmt.Errorf("%w: self block names %s but the file's path says %s; make them agree", ErrInvalidContract, key.Path(), want.Path())
	}
	if decodeErr != nil {
		return Key{}, nil, fmt.Errorf("%w: %v", ErrInvalidContract, decodeErr)
	}
	return key, value, nil
}

// compileSchema compiles a contract's decoded document, named key, with
// the stock library.
func compileSchema(key Key, value any, others Documents) (*jsonschema.Schema, error) {
	meta, err := parsedIgluMeta()
	if err != nil {
		return nil, fmt.Errorf("decode embedded iglu meta-schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(registryLoader{docs: others})
	if err := c.AddResource(IgluMetaSchemaURI, meta); err != nil {
		return nil, fmt.Errorf("add iglu meta-schema: %w", err)
	}
	uri := key.String()
	if err := c.AddResource(uri, value); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidContract, err)
	}
	schema, err := c.Compile(uri)
	// The library's LoadURLError does not unwrap; take the refusal out of it
	// so callers can tell it apart (and the URL is not named twice).
	if le := (*jsonschema.LoadURLError)(nil); errors.As(err, &le) && errors.Is(le.Err, ErrRefOutsideRegistry) {
		return nil, fmt.Errorf("%w: %w", ErrInvalidContract, le.Err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalidContract, compileErrorText(err))
	}
	return schema, nil
}

// selfKeyFields are the members of a self block, as Key names them.
var selfKeyFields = [...]string{"vendor", "name", "format", "version"}

// selfKey reads the key a contract's self block names. It reads it from
// value, the decoded document, when that is certain to give what
// encoding/json gives for the document (which matches member names in any
// case and merges a repeated "self" object into the first); otherwise, and
// for every malformed document, it decodes the self block from doc with
// encoding/json, which also words the error.
func selfKey(doc []byte, value any, decoded bool) (Key, error) {
	if decoded {
		if f, ok := plainSelf(doc, value); ok {
			key, err := ParseKey(f[0] + "/" + f[1] + "/" + f[2] + "/" + f[3])
			if err != nil {
				return Key{}, fmt.Errorf("%w: self block: %v", ErrInvalidContract, err)
			}
			return key, nil
		}
	}
	var head struct {
		Self *struct {
			Vendor  string `json:"vendor"`
			Name    string `json:"name"`
			Format  string `json:"format"`
			Version string `json:"version"`
		} `json:"self"`
	}
	if err := json.Unmarshal(doc, &head); err != nil {
		return Key{}, fmt.Errorf("%w: not a JSON object: %v", ErrInvalidContract, err)
	}
	if head.Self == nil {
		return Key{}, fmt.Errorf(`%w: no "self" block; add "self": {"vendor", "name", "format": "jsonschema", "version": "1-0-0"}`, ErrInvalidContract)
	}
	s := head.Self
	key, err := ParseKey(s.Vendor + "/" + s.Name + "/" + s.Format + "/" + s.Version)
	if err != nil {
		return Key{}, fmt.Errorf("%w: self block: %v", ErrInvalidContract, err)
	}
	return key, nil
}

// plainSelf returns the self block's members from the decoded document when
// the document holds one "self" member, an object, whose members named as
// Key's fields (in any case) are named exactly so and are strings or null.
// "self" written once in doc, and no \u escape that could spell it, means
// no second "self" member for encoding/json to merge.
func plainSelf(doc []byte, value any) (fields [4]string, ok bool) {
	m, isObject := value.(map[string]any)
	if !isObject || bytes.Count(doc, []byte(`"self"`)) != 1 || bytes.Contains(doc, []byte(`\u`)) {
		return fields, false
	}
	for k := range m {
		if k != "self" && strings.EqualFold(k, "self") {
			return fields, false
		}
	}
	self, isObject := m["self"].(map[string]any)
	if !isObject {
		return fields, false
	}
	for k, v := range self {
		for i, name := range selfKeyFields {
			if !strings.EqualFold(k, name) {
				continue
			}
			if k != name {
				return fields, false
			}
			switch v := v.(type) {
			case string:
				fields[i] = v
			case nil:
			default:
				return fields, false
			}
		}
	}
	return fields, true
}

// compileErrorText flattens a compile error, which for a schema that breaks
// its meta-schema is a tree of validation errors, into one line.
func compileErrorText(err error) string {
	var se *jsonschema.SchemaValidationError
	if errors.As(err, &se) {
		var ve *jsonschema.ValidationError
		if errors.As(se.Err, &ve) {
			var parts []string
			for _, m := range Messages(ve, "", "") {
				parts = append(parts, m.Message)
			}
			return "does not conform to its meta-schema: " + strings.Join(parts, "; ")
		}
	}
	return err.Error()
}

// SameDocument reports whether two schema documents are the same JSON value,
// whatever their layout: key order and whitespace do not make a new version.
// A document that is not JSON is the same only as identical bytes.
func SameDocument(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	va, errA := decodeValue(a)
	vb, errB := decodeValue(b)
	return errA == nil && errB == nil && reflect.DeepEqual(va, vb)
}

func decodeValue(doc []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("data after the top-level value")
	}
	return v, nil
}
