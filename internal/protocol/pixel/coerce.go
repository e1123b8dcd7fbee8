package pixel

import (
	"encoding/json"
	"math"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/jsonscan"
)

// kinds is a set of JSON Schema types.
type kinds uint8

const (
	kNull kinds = 1 << iota
	kBoolean
	kInteger
	kNumber
	kString
	kArray
	kObject
)

// kindOf returns the type named name, or none for a name that is not a
// JSON Schema type.
func kindOf(name string) kinds {
	switch name {
	case "null":
		return kNull
	case "boolean":
		return kBoolean
	case "integer":
		return kInteger
	case "number":
		return kNumber
	case "string":
		return kString
	case "array":
		return kArray
	case "object":
		return kObject
	}
	return 0
}

// property is how the values of one parameter are converted.
type property struct {
	// types are the property's types; items the types of its items, when
	// it may be an array. Zero means "keep as text".
	types, items kinds
}

// Coercer converts a pixel hit's parameters to the types of one contract's
// properties, so that /px/com.acme/email_opened/1-0-0?recipients=3 has the
// data {"recipients": 3}, not {"recipients": "3"}. It reads the contract
// once; build one per contract and keep it as long as the contract. It is
// read-only once built, and safe for concurrent use.
//
// Only the "type" of the top-level "properties" is read, a type name or a
// list of them ("type": ["integer", "null"]). A value is converted to the
// first of these that the property allows and the value can be read as:
//
//	null     the empty value
//	integer  a decimal int64: "10", "-3", "+7"
//	number   a finite decimal number: "12.5", "-1e3", ".5"
//	boolean  "true", "false", "1" or "0"
//	object   a JSON object: {"a":1}
//	string   anything
//
// A value that fits none of the property's types stays text, and validation
// then says it has the wrong type. An array property takes each of the
// parameter's values as an item, converted by the "type" of "items"; sent
// once with an empty value, it is the empty array (or null, where allowed).
// A property that is not an array but is sent several times becomes an
// array of its converted values, which validation refuses. Parameters the
// contract does not list stay text; validation decides whether they are
// allowed.
type Coercer struct {
	schemaKey string
	props     map[string]property
}

// NewCoercer reads c's properties into a Coercer. A contract whose document
// lists no properties, or describes them in ways other than by "type", gets
// a Coercer that keeps those parameters as text.
func NewCoercer(c *contract.Contract) *Coercer {
	co := &Coercer{schemaKey: c.URI}
	var doc struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if json.Unmarshal(c.Document, &doc) != nil || len(doc.Properties) == 0 {
		return co
	}
	co.props = make(map[string]property, len(doc.Properties))
	for name, raw := range doc.Properties {
		var s struct {
			Type  json.RawMessage `json:"type"`
			Items json.RawMessage `json:"items"`
		}
		if json.Unmarshal(raw, &s) != nil {
			continue // a boolean schema: nothing to convert to
		}
		p := property{types: typesOf(s.Type)}
		if p.types&kArray != 0 && len(s.Items) > 0 {
			var items struct {
				Type json.RawMessage `json:"type"`
			}
			// An items array (a tuple) fails to decode here, and its items
			// stay text.
			if json.Unmarshal(s.Items, &items) == nil {
				p.items = typesOf(items.Type)
			}
		}
		if p.types != 0 {
			co.props[name] = p
		}
	}
	return co
}

// typesOf reads a "type" keyword: a name or a list of names.
func typesOf(raw json.RawMessage) kinds {
	if len(raw) == 0 {
		return 0
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return kindOf(one)
	}
	var list []string
	if json.Unmarshal(raw, &list) != nil {
		return 0
	}
	var k kinds
	for _, name := range list {
		k |= kindOf(name)
	}
	return k
}

// DecodeTyped reads a hit on /px/{vendor}/{name}/{version} for contract c.
// It reads the contract each time; the server keeps a Coercer per contract
// instead.
func DecodeTyped(q url.Values, c *contract.Contract) event.Input {
	return NewCoercer(c).Decode(q)
}

// Decode reads a hit for the Coercer's contract: the Input names the
// contract, and its data holds the parameters converted to the contract's
// types. The Input still has to be validated.
func (co *Coercer) Decode(q url.Values) event.Input {
	in := decode(q, co.member)
	in.SchemaKey = co.schemaKey
	return in
}

// member writes the value of the data member name.
func (co *Coercer) member(buf []byte, name string, values []string) []byte {
	p, ok := co.props[name]
	if !ok {
		return appendStrings(buf, values)
	}
	if p.types&kArray != 0 {
		// Whether the property may be something else than an array
		// decides what a single value is.
		only := p.types&^(kArray|kNull) == 0
		switch {
		case len(values) > 1:
			return appendEach(buf, values, p.items)
		case values[0] == "" && p.types&kNull != 0:
			return append(buf, "null"...)
		case only && values[0] == "":
			return append(buf, '[', ']')
		case only:
			return appendEach(buf, values, p.items)
		}
	}
	if len(values) == 1 {
		return appendValue(buf, values[0], p.types)
	}
	return appendEach(buf, values, p.types)
}

// appendEach writes values as a JSON array, each converted to types.
func appendEach(buf []byte, values []string, types kinds) []byte {
	buf = append(buf, '[')
	for i, v := range values {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendValue(buf, v, types)
	}
	return append(buf, ']')
}

// appendValue writes v converted to the first of types it can be read as,
// and as a string when it can be read as none.
func appendValue(buf []byte, v string, types kinds) []byte {
	if types&kNull != 0 && v == "" {
		return append(buf, "null"...)
	}
	if types&kInteger != 0 {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return strconv.AppendInt(buf, n, 10)
		}
	}
	if types&kNumber != 0 {
		if jsonscan.IsNumber(v) {
			// Written as sent, so no digit is lost to float64.
			if _, err := strconv.ParseFloat(v, 64); err == nil {
				return append(buf, v...)
			}
		} else if decimal(v) {
			if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return strconv.AppendFloat(buf, f, 'g', -1, 64)
			}
		}
	}
	if types&kBoolean != 0 {
		switch v {
		case "true", "1":
			return append(buf, "true"...)
		case "false", "0":
			return append(buf, "false"...)
		}
	}
	if types&kObject != 0 {
		// Written as sent; invalid UTF-8 fails the event, but the data
		// stays valid JSON with the value as a string.
		if t := strings.TrimSpace(v); t != "" && t[0] == '{' && utf8.ValidString(t) && json.Valid([]byte(t)) {
			return append(buf, t...)
		}
	}
	return jsonscan.AppendString(buf, v)
}

// decimal reports whether s holds only what a decimal number is written
// with, and at least one digit, so that strconv.ParseFloat reads no
// hexadecimal, "inf" or "nan" as a number.
func decimal(s string) bool {
	digit := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			digit = true
		case c == '+' || c == '-' || c == '.' || c == 'e' || c == 'E':
		default:
			return false
		}
	}
	return digit
}
