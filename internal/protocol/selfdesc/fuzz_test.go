package selfdesc

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/event/eventtest"
	"github.com/accord-events/accord/internal/jsonscan"
	"github.com/accord-events/accord/internal/protocol"
)

// FuzzDecode holds Decode to what the HTTP layer and the pipeline rely on, for
// any body. The seed corpus is in testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, mediaType string, body []byte) {
		req := &protocol.Request{MediaType: mediaType, Body: body}
		ins, err := Decode(req)
		trimmed := bytes.TrimPrefix(body, []byte("\ufeff"))
		blank := len(bytes.TrimLeft(trimmed, " \t\r\n")) == 0
		jsonMedia := mediaType == "" || mediaType == MediaJSON || mediaType == MediaText

		if err != nil {
			// A request that cannot be read: a typed error the HTTP layer
			// can answer, and no events.
			var perr *protocol.Error
			if !errors.As(err, &perr) {
				t.Fatalf("error %T %v is not a *protocol.Error", err, err)
			}
			if ins != nil {
				t.Fatalf("Decode returned both an error and %d inputs", len(ins))
			}
			if perr.Status != http.StatusBadRequest && perr.Status != http.StatusUnsupportedMediaType {
				t.Fatalf("status %d, want 400 or 415", perr.Status)
			}
			eventtest.CheckFailureShape(t, perr.Failure, event.PayloadFormatViolation, event.ProtocolViolation)
			if perr.Status == http.StatusUnsupportedMediaType && (jsonMedia || mediaType == MediaNDJSON) {
				t.Fatalf("415 for accepted media type %q", mediaType)
			}
			// The body is rejected as not JSON exactly when
			// encoding/json says it is not JSON.
			if jsonMedia && perr.Failure.Type == event.PayloadFormatViolation && !blank && json.Valid(trimmed) && !repeatsName(trimmed) {
				t.Fatalf("valid JSON rejected as not JSON: %v", err)
			}
			return
		}
		if !jsonMedia && mediaType != MediaNDJSON {
			t.Fatalf("media type %q accepted", mediaType)
		}
		if blank {
			t.Fatalf("blank body accepted with %d inputs", len(ins))
		}
		if jsonMedia {
			if !json.Valid(trimmed) {
				t.Fatalf("body that is not JSON accepted")
			}
			// One input per event sent.
			var elems []json.RawMessage
			if json.Unmarshal(trimmed, &elems) == nil {
				if len(ins) != len(elems) {
					t.Fatalf("%d inputs for an array of %d", len(ins), len(elems))
				}
			} else if len(ins) != 1 {
				t.Fatalf("%d inputs for one event", len(ins))
			}
		} else {
			lines := 0
			for _, l := range bytes.Split(trimmed, []byte("\n")) {
				if len(bytes.Trim(l, " \t\r\n")) > 0 {
					lines++
				}
			}
			if len(ins) != lines {
				t.Fatalf("%d inputs for %d lines", len(ins), lines)
			}
		}
		for i := range ins {
			in := &ins[i]
			// Raw is the event's own bytes, within the body.
			if len(in.Raw) == 0 || !bytes.Contains(body, in.Raw) {
				t.Fatalf("input %d: raw %q is not part of the body", i, in.Raw)
			}
			if in.Failure != nil {
				eventtest.CheckFailureShape(t, in.Failure, event.PayloadFormatViolation, event.ProtocolViolation)
				continue
			}
			// A good input is what the pipeline needs: a schema key,
			// UTF-8 JSON data and well-formed contexts.
			if in.SchemaKey == "" {
				t.Fatalf("input %d has neither a failure nor a schema", i)
			}
			if !json.Valid(in.Raw) || !utf8.Valid(in.Raw) || in.Raw[0] != '{' {
				t.Fatalf("input %d: raw %q is not a UTF-8 JSON object", i, in.Raw)
			}
			if len(in.Data) == 0 || !json.Valid(in.Data) || repeatsName(in.Data) {
				t.Fatalf("input %d: data %q is not JSON", i, in.Data)
			}
			for j, c := range in.Contexts {
				if c.Schema == "" || len(c.Data) == 0 || !json.Valid(c.Data) || repeatsName(c.Data) {
					t.Fatalf("input %d: context %d %+v is not a schema and JSON data", i, j, c)
				}
			}
			// What was read agrees with encoding/json.
			var ev struct {
				Schema string          `json:"schema"`
				Data   json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal(in.Raw, &ev); err != nil || ev.Schema != in.SchemaKey || !bytes.Equal(ev.Data, in.Data) {
				t.Fatalf("input %d: read schema %q data %s, encoding/json reads %q %s (%v)", i, in.SchemaKey, in.Data, ev.Schema, ev.Data, err)
			}
		}
		// Decoding is deterministic, and the same into memory the caller
		// lends, whatever that memory held.
		lent := []event.Input{{SchemaKey: "old", EventID: "old", Contexts: []event.Context{{Schema: "old"}}, Raw: []byte("old"), Arbitrary: true}}
		again, err := Decode(&protocol.Request{MediaType: mediaType, Body: body, Inputs: lent})
		if err != nil || !reflect.DeepEqual(ins, again) {
			t.Fatalf("second Decode differs: %v", err)
		}
		// The strings an input keeps stay when the body's buffer is
		// reused for the next request.
		reused := bytes.Clone(body)
		ins, _ = Decode(&protocol.Request{MediaType: mediaType, Body: reused})
		kept := keptStrings(ins)
		for i := range reused {
			reused[i] = '#'
		}
		if after := keptStrings(ins); !reflect.DeepEqual(kept, after) {
			t.Fatalf("kept strings changed when the body was reused:\n%q\n%q", kept, after)
		}
	})
}

// repeatsName reports whether valid JSON b has an object that repeats a
// member name, which Accord refuses as data.
func repeatsName(b []byte) bool {
	_, _, err := jsonscan.Document(b, 0)
	return jsonscan.IsNotData(err)
}
