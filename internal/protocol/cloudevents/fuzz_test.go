package cloudevents

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/event/eventtest"
	"github.com/accord-events/accord/internal/jsonscan"
	"github.com/accord-events/accord/internal/protocol"
)

// FuzzDecode holds Decode to what the HTTP layer and the pipeline rely on, for
// any Content-Type, headers ("Name: value" lines) and body. The seed corpus
// is in testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, contentType, headers string, body []byte) {
		req := &protocol.Request{Method: http.MethodPost, Path: "/cloudevents", Header: http.Header{}, Body: body}
		for _, line := range strings.Split(headers, "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok {
				req.Header.Add(k, strings.TrimSpace(v))
			}
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
			req.MediaType, req.Params, _ = mime.ParseMediaType(contentType)
		}
		ins, err := Decode(req)
		jsonMode := req.MediaType == MediaStructured || req.MediaType == MediaBatch
		trimmed := bytes.TrimPrefix(body, []byte("\ufeff"))
		blank := len(bytes.TrimLeft(trimmed, " \t\r\n")) == 0

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
			// The body is rejected as not JSON exactly when
			// encoding/json says it is not JSON.
			if jsonMode && perr.Status == http.StatusBadRequest && perr.Failure.Type == event.PayloadFormatViolation && !blank && json.Valid(trimmed) && !repeatsName(trimmed) {
				t.Fatalf("valid JSON rejected as not JSON: %v", err)
			}
			return
		}
		if jsonMode {
			if blank || !json.Valid(trimmed) {
				t.Fatalf("body that is not JSON accepted")
			}
			var elems []json.RawMessage
			if req.MediaType == MediaBatch {
				if err := json.Unmarshal(trimmed, &elems); err != nil || len(ins) != len(elems) {
					t.Fatalf("%d inputs for a batch of %d (%v)", len(ins), len(elems), err)
				}
			} else if len(ins) != 1 {
				t.Fatalf("%d inputs for one event", len(ins))
			}
		} else if len(ins) != 1 {
			t.Fatalf("%d inputs in binary mode", len(ins))
		}
		for i := range ins {
			in := &ins[i]
			if len(in.Raw) == 0 {
				t.Fatalf("input %d has no raw bytes", i)
			}
			if jsonMode && !bytes.Contains(body, in.Raw) {
				t.Fatalf("input %d: raw %q is not part of the body", i, in.Raw)
			}
			if !jsonMode && !json.Valid(in.Raw) {
				// The reconstruction of a binary event is always JSON.
				t.Fatalf("binary raw %q is not JSON", in.Raw)
			}
			if in.Attributes != nil && !json.Valid(in.Attributes) {
				t.Fatalf("input %d: attributes %q are not JSON", i, in.Attributes)
			}
			if in.Failure != nil {
				eventtest.CheckFailureShape(t, in.Failure, event.PayloadFormatViolation, event.ProtocolViolation, event.SchemaNotFound)
				continue
			}
			// A good input is what the pipeline needs: a contract key,
			// an id, UTF-8 JSON data and attributes.
			if in.SchemaKey == "" || in.EventID == "" {
				t.Fatalf("input %d has no failure but schema %q id %q", i, in.SchemaKey, in.EventID)
			}
			if len(in.Data) == 0 || !json.Valid(in.Data) || !utf8.Valid(in.Data) || repeatsName(in.Data) {
				t.Fatalf("input %d: data %q is not UTF-8 JSON", i, in.Data)
			}
			var attrs map[string]any
			if err := json.Unmarshal(in.Attributes, &attrs); err != nil || attrs["id"] != in.EventID || attrs["dataschema"] != in.SchemaKey || attrs["specversion"] != SpecVersion {
				t.Fatalf("input %d: attributes %s disagree with id %q schema %q (%v)", i, in.Attributes, in.EventID, in.SchemaKey, err)
			}
			if !jsonMode {
				// Raw is the same event in structured mode.
				back, err := Decode(&protocol.Request{MediaType: MediaStructured, Body: in.Raw})
				if err != nil || len(back) != 1 || back[0].Failure != nil || back[0].EventID != in.EventID ||
					back[0].SchemaKey != in.SchemaKey || !back[0].CreatedAt.Equal(in.CreatedAt) || !jsonEqual(back[0].Data, in.Data) {
					t.Fatalf("binary raw %s does not read back as the same event: %v %+v", in.Raw, err, back)
				}
			}
		}
		// Decoding is deterministic.
		again, err := Decode(req)
		if err != nil || !reflect.DeepEqual(ins, again) {
			t.Fatalf("second Decode differs: %v", err)
		}
	})
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

// repeatsName reports whether valid JSON b has an object that repeats a
// member name, which Accord refuses as data.
func repeatsName(b []byte) bool {
	_, _, err := jsonscan.Document(b, 0)
	return jsonscan.IsNotData(err)
}
