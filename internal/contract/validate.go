package contract

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/accord-events/accord/internal/contract/schemawalk"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/jsonpointer"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

var printer = message.NewPrinter(language.English)

// ValidateJSON checks raw JSON against the contract, like Validate. The
// compiled validator (fast.go) confirms a valid event straight from its
// bytes; an invalid event, or one it is unsure of, is decoded and checked by
// the stock validator, which words the messages. Under an exposed contract
// (exposure.go), whose combinators lead back to themselves so that the
// stock validator's work multiplies with the event's nesting, the memoized
// walk (fastmemo.go) decides it and words the messages instead, in work
// linear in the event's size. Empty raw is JSON null. The error is for raw
// that is not JSON.
func (c *Contract) ValidateJSON(raw []byte, instancePrefix string) ([]event.Message, error) {
	if len(raw) == 0 {
		raw = []byte("null")
	}
	v := c.validators()
	if v.fast != nil && v.fast.verdict(raw) == fastValid {
		return nil, nil
	}
	if v.err != nil {
		return v.failure(c.URI, instancePrefix), nil
	}
	if sp := c.slowPath(); sp.exposed {
		msgs, _, _, err := c.validateExposed(sp, raw, instancePrefix)
		return msgs, err
	}
	value, err := DecodeValue(raw)
	if err != nil {
		return nil, err
	}
	return c.Validate(value, instancePrefix), nil
}

// Valid reports whether raw is valid against the contract, for a caller that
// needs only the verdict: the compiled validator decides most events from
// the bytes, valid or invalid, and only one it is unsure of is decoded for
// the stock validator, whose messages are then not built (under an exposed
// contract, the memoized walk decides it, as in ValidateJSON). raw must have
// been read as the collector reads event data (jsonscan: JSON, no object
// repeating a member name); empty raw is JSON null. The error is for raw
// that is not JSON, when the verdict needed decoding it.
func (c *Contract) Valid(raw []byte) (bool, error) {
	if len(raw) == 0 {
		raw = []byte("null")
	}
	v := c.validators()
	if v.fast != nil {
		switch v.fast.verdict(raw) {
		case fastValid:
			return true, nil
		case fastInvalid:
			return false, nil
		}
	}
	if v.err != nil {
		return false, nil
	}
	if sp := c.slowPath(); sp.exposed {
		return c.validExposed(sp, raw)
	}
	value, err := DecodeValue(raw)
	if err != nil {
		return false, err
	}
	return v.schema.Validate(value) == nil, nil
}

// Validate checks a decoded value (see DecodeValue) against the contract
// with the stock validator alone, whose work is not bounded under an
// exposed contract: events go through ValidateJSON. It
// returns nil when the value is valid, and otherwise one message per problem,
// with instance paths prefixed by instancePrefix ("/data", "/contexts/0/data")
// so they point into the event as it was sent.
func (c *Contract) Validate(value any, instancePrefix string) []event.Message {
	v := c.validators()
	if v.err != nil {
		return v.failure(c.URI, instancePrefix)
	}
	err := v.schema.Validate(value)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []event.Message{{Schema: c.URI, InstancePath: instancePrefix, Message: err.Error()}}
	}
	return Messages(ve, c.URI, instancePrefix)
}

// Messages flattens a validation error tree into one message per failing
// leaf keyword.
func Messages(ve *jsonschema.ValidationError, schemaKey, instancePrefix string) []event.Message {
	var out []event.Message
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, cause := range e.Causes {
				walk(cause)
			}
			return
		}
		instance := instancePrefix + jsonpointer.Format(e.InstanceLocation)
		kwPath := e.ErrorKind.KeywordPath()
		schemaPath := fragment(e.SchemaURL) + jsonpointer.Format(kwPath)
		keyword := ""
		if len(kwPath) > 0 {
			keyword = kwPath[0]
		} else {
			keyword = keywordOf(schemaPath)
		}
		out = append(out, event.Message{
			Schema:       schemaKey,
			InstancePath: instance,
			SchemaPath:   schemaPath,
			Keyword:      keyword,
			Message:      sentence(instance, e.ErrorKind),
		})
	}
	walk(ve)
	// The validator walks objects in map order; sort so the same input
	// always gets the same messages in the same order.
	slices.SortStableFunc(out, func(a, b event.Message) int {
		if c := strings.Compare(a.InstancePath, b.InstancePath); c != 0 {
			return c
		}
		return strings.Compare(a.SchemaPath, b.SchemaPath)
	})
	return out
}

// keywordOf names the keyword a schema path ends in, for errors (such as a
// false schema under "items") that carry no keyword of their own.
func keywordOf(schemaPath string) string {
	tokens := strings.Split(schemaPath, "/")
	if len(tokens) < 2 {
		return ""
	}
	last, parent := tokens[len(tokens)-1], tokens[len(tokens)-2]
	if schemawalk.ShapeOf(parent) == schemawalk.Map {
		return parent // the last token is a property or definition name
	}
	return last
}

// fragment returns the JSON pointer part of a schema URL ("...#/properties/a").
func fragment(url string) string {
	if i := strings.IndexByte(url, '#'); i >= 0 {
		return url[i+1:]
	}
	return ""
}

// sentence says what is wrong in words a person understands. The common
// keywords get a sentence of their own; the rest use the validator's text.
func sentence(instance string, k jsonschema.ErrorKind) string {
	where := instance
	if where == "" {
		where = "the value"
	}
	switch k := k.(type) {
	case *kind.Required:
		if len(k.Missing) == 1 {
			return fmt.Sprintf("%s is missing the required property %q", where, k.Missing[0])
		}
		return fmt.Sprintf("%s is missing the required properties %s", where, quoteAll(k.Missing))
	case *kind.Type:
		return fmt.Sprintf("%s must be %s, but is %s", where, strings.Join(k.Want, " or "), k.Got)
	case *kind.AdditionalProperties:
		if len(k.Properties) == 1 {
			return fmt.Sprintf("%s has the property %q, which the contract does not allow", where, k.Properties[0])
		}
		// The validator lists them in map order, which changes from run
		// to run: sorted, the same event always gets the same failure
		// (stored, compared, deduplicated) and the generated SDKs' own
		// validators can say the same sentence.
		return fmt.Sprintf("%s has the properties %s, which the contract does not allow", where, quoteAll(slices.Sorted(slices.Values(k.Properties))))
	case *kind.Enum:
		return fmt.Sprintf("%s must be one of %s, but is %s", where, jsonList(k.Want), jsonText(k.Got))
	case *kind.Const:
		return fmt.Sprintf("%s must be %s, but is %s", where, jsonText(k.Want), jsonText(k.Got))
	case *kind.Minimum:
		return fmt.Sprintf("%s must be at least %s, but is %s", where, rat(k.Want), rat(k.Got))
	case *kind.Maximum:
		return fmt.Sprintf("%s must be at most %s, but is %s", where, rat(k.Want), rat(k.Got))
	case *kind.ExclusiveMinimum:
		return fmt.Sprintf("%s must be greater than %s, but is %s", where, rat(k.Want), rat(k.Got))
	case *kind.ExclusiveMaximum:
		return fmt.Sprintf("%s must be less than %s, but is %s", where, rat(k.Want), rat(k.Got))
	case *kind.MinLength:
		return fmt.Sprintf("%s must be at least %d characters long, but has %d", where, k.Want, k.Got)
	case *kind.MaxLength:
		return fmt.Sprintf("%s must be at most %d characters long, but has %d", where, k.Want, k.Got)
	case *kind.Pattern:
		return fmt.Sprintf("%s must match the pattern %q, but is %q", where, k.Want, k.Got)
	case *kind.Format:
		return fmt.Sprintf("%s must be a valid %s, but is %s (%v)", where, k.Want, jsonText(k.Got), k.Err)
	case *kind.MinItems:
		return fmt.Sprintf("%s must have at least %d items, but has %d", where, k.Want, k.Got)
	case *kind.MaxItems:
		return fmt.Sprintf("%s must have at most %d items, but has %d", where, k.Want, k.Got)
	case *kind.FalseSchema:
		return fmt.Sprintf("%s is not allowed by the contract", where)
	}
	return fmt.Sprintf("%s: %s", where, k.LocalizedString(printer))
}

func rat(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return fmt.Sprint(f)
}

func quoteAll(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(quoted, ", ")
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func jsonList(vs []any) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = jsonText(v)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
