package contract

import (
	"fmt"
	"net/url"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// SubschemaValidator compiles the schema at pointer (a JSON pointer, "" for
// the root) in root, a schema document decoded with numbers as
// json.Number and named uri, with formats asserted and $refs to other
// contracts resolved through others (nil: none) as CompileWith resolves
// them; the function it returns reports whether a value, decoded the same
// way, is valid against it. compat asks it whether every value an old
// enum or const allowed is valid under a new schema.
func SubschemaValidator(root any, uri, pointer string, others Documents) (func(v any) bool, error) {
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
	if err := c.AddResource(uri, root); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidContract, err)
	}
	s, err := c.Compile(uri + (&url.URL{Fragment: pointer}).String())
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalidContract, compileErrorText(err))
	}
	return func(v any) bool { return s.Validate(v) == nil }, nil
}
