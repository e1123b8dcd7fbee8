package config

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/accord-events/accord/internal/protocol"
)

// Protocols holds the options of every registered protocol type, each under
// its type's key (protocols.snowplow, protocols.webhooks). The keys are
// known only once the types are: config lists no protocol itself.
//
// A Protocols value shares its options with its copies: a Config is
// configured once, by Load, then read.
type Protocols struct {
	types   []protocol.Type
	options []protocol.Options // options[i] belongs to types[i]
	// tree is a pointer to a struct with one field per type, a pointer to
	// its options tagged with its key and doc: what the YAML decoder, the
	// environment and the reference walk.
	tree reflect.Value
}

// Configured is one protocol type with its options.
type Configured struct {
	Type    protocol.Type
	Options protocol.Options
}

// NewProtocols returns the protocol section for types, every type at its
// defaults.
func NewProtocols(types *protocol.Types) Protocols {
	p := Protocols{types: types.All()}
	fields := make([]reflect.StructField, len(p.types))
	for i, t := range p.types {
		opts := t.NewOptions()
		p.options = append(p.options, opts)
		fields[i] = reflect.StructField{
			Name: fmt.Sprintf("P%d", i),
			Type: reflect.TypeOf(opts),
			Tag:  reflect.StructTag(fmt.Sprintf(`yaml:%q doc:%q`, t.ConfigKey(), t.Doc)),
		}
	}
	p.tree = reflect.New(reflect.StructOf(fields))
	for i, opts := range p.options {
		p.tree.Elem().Field(i).Set(reflect.ValueOf(opts))
	}
	return p
}

// All returns every protocol type with its options, in registration order.
func (p Protocols) All() []Configured {
	out := make([]Configured, len(p.types))
	for i := range p.types {
		out[i] = Configured{Type: p.types[i], Options: p.options[i]}
	}
	return out
}

// Options returns the options of the protocol type called name, nil when no
// such type is registered.
func (p Protocols) Options(name string) protocol.Options {
	for i, t := range p.types {
		if t.Name == name {
			return p.options[i]
		}
	}
	return nil
}

// MarshalYAML writes the section as the file holds it.
func (p Protocols) MarshalYAML() (any, error) {
	if !p.tree.IsValid() {
		return struct{}{}, nil
	}
	return p.tree.Interface(), nil
}

// validate returns every problem of every protocol's options, named by
// their full keys.
func (p Protocols) validate() []error {
	var errs []error
	for i, t := range p.types {
		if err := p.options[i].Validate(); err != nil {
			// A list's keys start with their index: protocols.webhooks[0].name.
			prefix := "protocols." + t.ConfigKey()
			for _, e := range prefixErrors("", err) {
				if strings.HasPrefix(e.Error(), "[") {
					errs = append(errs, fmt.Errorf("%s%w", prefix, e))
				} else {
					errs = append(errs, fmt.Errorf("%s.%w", prefix, e))
				}
			}
		}
	}
	return errs
}

var protocolsType = reflect.TypeOf(Protocols{})

// walkable returns what the configuration's walkers (decoding, the
// environment, the reference) see of v: the value a pointer points to, and
// for the protocol section the struct of its types' options.
func walkable(v reflect.Value) reflect.Value {
	for v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if v.Type() == protocolsType {
		if tree := v.Interface().(Protocols).tree; tree.IsValid() {
			return tree.Elem()
		}
		return reflect.ValueOf(struct{}{})
	}
	return v
}

// decodeTarget returns what the YAML decoder fills for c: a struct of
// pointers into c, with the protocol section as the struct of its types'
// options, so that one strict decode checks every key, with its line.
func decodeTarget(c *Config) any {
	v := reflect.ValueOf(c).Elem()
	t := v.Type()
	fields := make([]reflect.StructField, t.NumField())
	values := make([]reflect.Value, t.NumField())
	for i := range fields {
		f := t.Field(i)
		fv := v.Field(i).Addr()
		if f.Type == protocolsType {
			// A copy of the tree: a key written as null (snowplow: ~) sets
			// its pointer to nil, which must leave the options in place.
			fv = reflect.ValueOf(&struct{}{})
			if tree := c.Protocols.tree; tree.IsValid() {
				fv = reflect.New(tree.Elem().Type())
				fv.Elem().Set(tree.Elem())
			}
		}
		fields[i] = reflect.StructField{Name: f.Name, Type: fv.Type(), Tag: f.Tag}
		values[i] = fv
	}
	target := reflect.New(reflect.StructOf(fields))
	for i, fv := range values {
		target.Elem().Field(i).Set(fv)
	}
	return target.Interface()
}
