package contract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// SetSelfVersion returns doc with its self block's version replaced by
// version and every other byte as it was (layout, key order), so that a new
// version's file differs from the one it was made from only where its
// author changed it.
func SetSelfVersion(doc []byte, version string) ([]byte, error) {
	type frame struct {
		object  bool
		wantKey bool
		key     string
	}
	var stack []frame
	from, to := -1, -1
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read the schema: %w", err)
		}
		top := len(stack) - 1
		if s, ok := tok.(string); ok && top >= 0 && stack[top].object && stack[top].wantKey {
			stack[top].key, stack[top].wantKey = s, false
			continue
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{':
				stack = append(stack, frame{object: true, wantKey: true})
			case '[':
				stack = append(stack, frame{})
			default:
				stack = stack[:top]
				if n := len(stack); n > 0 && stack[n-1].object {
					stack[n-1].wantKey = true
				}
			}
			continue
		}
		if _, ok := tok.(string); ok && len(stack) == 2 && stack[0].key == "self" && stack[1].object && stack[1].key == "version" {
			if from >= 0 {
				return nil, errors.New(`the schema has more than one "self" block or version; keep one`)
			}
			// The string's text runs from its opening quote, the first
			// after start (past the ':' and spaces), to the offset now.
			end := dec.InputOffset()
			from, to = int(start)+bytes.IndexByte(doc[start:end], '"'), int(end)
		}
		if top >= 0 && stack[top].object {
			stack[top].wantKey = true
		}
	}
	if from >= 0 {
		out := append([]byte(nil), doc[:from]...)
		out = append(out, strconv.Quote(version)...)
		return append(out, doc[to:]...), nil
	}
	return nil, errors.New(`the schema has no "self" block with a string "version"; add "self": {"vendor", "name", "format": "jsonschema", "version": "1-0-0"}`)
}
