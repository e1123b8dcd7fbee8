package selfdesc

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/event/eventtest"
	"github.com/accord-events/accord/internal/protocol"
)

// want describes one Input Decode should return.
type want struct {
	failure  event.FailureType // "" for an event that was read
	messages []string          // substrings the failure's messages must hold
	path     string            // instance path of the first message, when set
	schema   string
	data     string
	raw      string // the Input's Raw; defaults to nothing checked
}

func TestDecode(t *testing.T) {
	const ok = `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{"x":1}}`
	tests := []struct {
		name      string
		mediaType string
		params    map[string]string
		body      string
		// A request-level error, when errType is set.
		status   int
		errType  event.FailureType
		errParts []string
		want     []want
	}{
		{
			name:      "one event with every field",
			mediaType: MediaJSON,
			body: ` {"schema": "iglu:com.acme/checkout/jsonschema/1-0-0", "data": {"total": 9.5, "items": [1, 2]},
				"contexts": [{"schema": "iglu:com.acme/page/jsonschema/1-0-0", "data": {"url": "/"}}],
				"event_id": "e-1", "created_at": "2024-05-01T12:30:00.123Z", "sent_at": "2024-05-01T14:30:01+02:00",
				"namespace": "web", "user_id": "u1", "anonymous_id": "a1"} `,
			want: []want{{schema: "iglu:com.acme/checkout/jsonschema/1-0-0", data: `{"total": 9.5, "items": [1, 2]}`}},
		},
		{name: "empty content type is JSON", body: ok, want: []want{{schema: "iglu:com.acme/a/jsonschema/1-0-0", data: `{"x":1}`, raw: ok}}},
		{name: "text/plain is JSON", mediaType: MediaText, body: ok, want: []want{{data: `{"x":1}`}}},
		{name: "utf-8 charset", mediaType: MediaJSON, params: map[string]string{"charset": "UTF-8"}, body: ok, want: []want{{data: `{"x":1}`}}},
		{name: "byte order mark", mediaType: MediaJSON, body: "\ufeff" + ok, want: []want{{data: `{"x":1}`}}},
		{
			name: "array", mediaType: MediaJSON,
			body: `[` + ok + `, {"schema":"iglu:com.acme/b/jsonschema/1-0-0","data":null}]`,
			want: []want{{schema: "iglu:com.acme/a/jsonschema/1-0-0", raw: ok}, {schema: "iglu:com.acme/b/jsonschema/1-0-0", data: "null"}},
		},
		{name: "empty array", mediaType: MediaJSON, body: ` [ ] `, want: []want{}},
		{
			name: "escaped member name and value", mediaType: MediaJSON,
			body: `{"sch\u0065ma":"iglu:com.acme/\u00e9t\u00e9/jsonschema/1-0-0","data":"\"hi\""}`,
			want: []want{{schema: "iglu:com.acme/été/jsonschema/1-0-0", data: `"\"hi\""`}},
		},
		{
			name: "null optional fields", mediaType: MediaJSON,
			body: `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{},"contexts":null,"event_id":null,"created_at":null,"user_id":null}`,
			want: []want{{data: `{}`}},
		},
		{
			name: "snowplow wrapped contexts", mediaType: MediaJSON,
			body: `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{},"contexts":{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1","data":[{"schema":"iglu:com.acme/c/jsonschema/1-0-0","data":{"k":true}}]}}`,
			want: []want{{data: `{}`}},
		},
		{
			name: "ndjson with a bad line between good ones", mediaType: MediaNDJSON,
			body: ok + "\r\n\n   \n{\"schema\": oops}\n" + ok + "\n",
			want: []want{
				{data: `{"x":1}`, raw: ok},
				{failure: event.PayloadFormatViolation, messages: []string{"line 4 is not valid JSON", "byte offset 11 of the line"}, raw: `{"schema": oops}`},
				{data: `{"x":1}`, raw: ok},
			},
		},
		{
			name: "ndjson line that is not an object", mediaType: MediaNDJSON,
			body: "[1,2]\n" + ok,
			want: []want{{failure: event.ProtocolViolation, messages: []string{"line 1 is an array, not an event"}, raw: "[1,2]"}, {data: `{"x":1}`}},
		},
		{
			name: "ndjson line with two values", mediaType: MediaNDJSON,
			body: ok + " " + ok,
			want: []want{{failure: event.PayloadFormatViolation, messages: []string{"line 1", "put each event on its own line"}}},
		},
		{
			name: "ndjson invalid utf-8 in one line", mediaType: MediaNDJSON,
			body: ok + "\n" + `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{"x":"` + "\xff" + `"}}`,
			want: []want{{data: `{"x":1}`}, {failure: event.PayloadFormatViolation, messages: []string{"not valid UTF-8", "byte offset 58 of the event"}}},
		},

		// The request as a whole.
		{name: "unsupported media type", mediaType: "application/xml", body: ok, status: 415, errType: event.PayloadFormatViolation,
			errParts: []string{"application/xml is not accepted", MediaJSON, MediaNDJSON, MediaText}},
		{name: "unsupported charset", mediaType: MediaJSON, params: map[string]string{"charset": "iso-8859-1"}, body: ok, status: 415, errType: event.PayloadFormatViolation,
			errParts: []string{"charset iso-8859-1 is not supported", "UTF-8"}},
		{name: "empty body", mediaType: MediaJSON, body: "", status: 400, errType: event.PayloadFormatViolation, errParts: []string{"the body is empty"}},
		{name: "blank body", mediaType: MediaJSON, body: " \r\n\t", status: 400, errType: event.PayloadFormatViolation, errParts: []string{"the body is empty"}},
		{name: "ndjson of blank lines", mediaType: MediaNDJSON, body: "\n\n", status: 400, errType: event.PayloadFormatViolation, errParts: []string{"the body is empty"}},
		{name: "not JSON", mediaType: MediaJSON, body: `{"schema": "x", "data": tru}`, status: 400, errType: event.PayloadFormatViolation,
			errParts: []string{"not valid JSON", "in literal true", "byte offset 27"}},
		{name: "not JSON at all", mediaType: MediaText, body: `hello`, status: 400, errType: event.PayloadFormatViolation,
			errParts: []string{"invalid character 'h' looking for the start of a value at byte offset 0"}},
		{name: "truncated array", mediaType: MediaJSON, body: `[` + ok + `,`, status: 400, errType: event.PayloadFormatViolation,
			errParts: []string{"unexpected end of input", "byte offset 62"}},
		{name: "two events without an array", mediaType: MediaJSON, body: ok + "\n" + ok, status: 400, errType: event.PayloadFormatViolation,
			errParts: []string{"after the end of the first value at byte offset 61", MediaNDJSON}},
		{name: "a number", mediaType: MediaJSON, body: `42`, status: 400, errType: event.ProtocolViolation, errParts: []string{"the body is a number, not an event"}},

		// One event failing.
		{
			name: "array element that is not an object", mediaType: MediaJSON, body: `[` + ok + `, "hello", ` + ok + `]`,
			want: []want{{data: `{"x":1}`}, {failure: event.ProtocolViolation, messages: []string{"event 1 of the array is a string, not an event"}, raw: `"hello"`}, {data: `{"x":1}`}},
		},
		{name: "no schema", mediaType: MediaJSON, body: `{"data":{}}`,
			want: []want{{failure: event.ProtocolViolation, messages: []string{"has no schema", "iglu:"}, raw: `{"data":{}}`}}},
		{name: "schema not a string", mediaType: MediaJSON, body: `{"schema":7,"data":{}}`,
			want: []want{{failure: event.ProtocolViolation, messages: []string{"schema is a number; it must be a string"}, path: "/schema"}}},
		{name: "schema empty", mediaType: MediaJSON, body: `{"schema":"","data":{}}`,
			want: []want{{failure: event.ProtocolViolation, messages: []string{"schema is an empty string"}, path: "/schema"}}},
		{name: "schema null", mediaType: MediaJSON, body: `{"schema":null,"data":{}}`,
			want: []want{{failure: event.ProtocolViolation, messages: []string{"schema is null"}}}},
		{name: "no data", mediaType: MediaJSON, body: `{"schema":"iglu:com.acme/a/jsonschema/1-0-0"}`,
			want: []want{{failure: event.ProtocolViolation, messages: []string{"has no data", "use {}"}, schema: "iglu:com.acme/a/jsonschema/1-0-0"}}},
		{name: "unknown field", mediaType: MediaJSON, body: `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{},"payload":{}}`,
			want: []want{{failure: event.ProtocolViolation, messages: []string{`unknown field "payload"`, allowedFields}, path: "/payload"}}},
		{name: "duplicate field", mediaType: MediaJSON, body: `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{},"data":{}}`,
			want: []want{{failure: event.ProtocolViolation, messages: []string{"data appears more than once"}}}},
		{name: "bad created_at", mediaType: MediaJSON, body: `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{},"created_at":"yesterday"}`,
			want: []want{{failure: event.ProtocolViolation, messages: []string{`created_at "yesterday" is not an RFC 3339 timestamp`}, path: "/created_at"}}},
		{name: "bad sent_at", mediaType: MediaJSON, body: `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{},"sent_at":1714566600}`,
			want: []want{{failure: event.ProtocolViolation, messages: []string{"sent_at is a number; it must be a string"}, path: "/sent_at"}}},
		{name: "event_id not a string", mediaType: MediaJSON, body: `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{},"event_id":{}}`,
			want: []want{{failure: event.ProtocolViolation, messages: []string{"event_id is an object"}}}},
		{name: "contexts not an array", mediaType: MediaJSON, body: `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{},"contexts":"x"}`,
			want: []want{{failure: event.ProtocolViolation, messages: []string{"contexts is a string"}, path: "/contexts"}}},
		{name: "context not an object", mediaType: MediaJSON, body: `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{},"contexts":[1]}`,
			want: []want{{failure: event.ProtocolViolation, messages: []string{"context 0 is a number"}, path: "/contexts/0"}}},
		{name: "context without schema and data", mediaType: MediaJSON, body: `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{},"contexts":[{"schema":"iglu:com.acme/c/jsonschema/1-0-0","data":{}},{}]}`,
			want: []want{{failure: event.ProtocolViolation, messages: []string{"context 1 has no schema", "context 1 has no data"}, path: "/contexts/1"}}},
		{name: "context with a bad schema and an unknown field", mediaType: MediaJSON, body: `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{},"contexts":[{"schema":"","data":{},"x":1}]}`,
			want: []want{{failure: event.ProtocolViolation, messages: []string{"context 0 has an empty string for schema", `unknown field "x" in context 0`}, path: "/contexts/0/schema"}}},
		{name: "wrapped contexts with another schema", mediaType: MediaJSON, body: `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{},"contexts":{"schema":"iglu:com.acme/c/jsonschema/1-0-0","data":[]}}`,
			want: []want{{failure: event.ProtocolViolation, messages: []string{"contexts is an object with schema", "wrapped as"}}}},
		{name: "wrapped contexts without data", mediaType: MediaJSON, body: `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{},"contexts":{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0"}}`,
			want: []want{{failure: event.ProtocolViolation, messages: []string{"without schema and data"}}}},
		{name: "invalid utf-8", mediaType: MediaJSON, body: `[` + ok + `,{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":"` + "\xc3\x28" + `"}]`,
			want: []want{{data: `{"x":1}`}, {failure: event.PayloadFormatViolation, messages: []string{"not valid UTF-8", "byte 115 of the body"}}}},
		{name: "several problems", mediaType: MediaJSON, body: `{"a":1,"b":2}`,
			want: []want{{failure: event.ProtocolViolation, messages: []string{`unknown field "a"`, `unknown field "b"`, "no schema", "no data"}}}},
		{name: "many problems are capped", mediaType: MediaJSON, body: `{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11,"l":12}`,
			want: []want{{failure: event.ProtocolViolation, messages: []string{`unknown field "j"`, "4 more problems"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := &protocol.Request{MediaType: tc.mediaType, Params: tc.params, Body: []byte(tc.body)}
			ins, err := Decode(req)
			if tc.errType != "" {
				var perr *protocol.Error
				if !errors.As(err, &perr) {
					t.Fatalf("Decode returned %v, %d inputs; want a *protocol.Error", err, len(ins))
				}
				if perr.Status != tc.status {
					t.Errorf("error status %d, want %d", perr.Status, tc.status)
				}
				eventtest.CheckFailure(t, "the request", perr.Failure, eventtest.Failure{Type: tc.errType, Messages: tc.errParts})
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(ins) != len(tc.want) {
				t.Fatalf("got %d inputs, want %d: %+v", len(ins), len(tc.want), ins)
			}
			for i, w := range tc.want {
				checkInput(t, i, &ins[i], w)
			}
		})
	}
}

func checkInput(t *testing.T, i int, in *event.Input, w want) {
	t.Helper()
	eventtest.CheckFailure(t, fmt.Sprintf("input %d", i), in.Failure, eventtest.Failure{Type: w.failure, Messages: w.messages, Path: w.path})
	if w.failure != "" && len(in.Raw) == 0 {
		t.Errorf("input %d failed without keeping its raw bytes", i)
	}
	if w.schema != "" && in.SchemaKey != w.schema {
		t.Errorf("input %d: schema %q, want %q", i, in.SchemaKey, w.schema)
	}
	if w.data != "" && string(in.Data) != w.data {
		t.Errorf("input %d: data %s, want %s", i, in.Data, w.data)
	}
	if w.raw != "" && string(in.Raw) != w.raw {
		t.Errorf("input %d: raw %q, want %q", i, in.Raw, w.raw)
	}
}

func TestDecodeFields(t *testing.T) {
	body := `{"schema": "iglu:com.acme/checkout/jsonschema/1-0-0", "data": {"total": 9.5},
		"contexts": [{"schema": "iglu:com.acme/page/jsonschema/1-0-0", "data": {"url": "/"}},
		             {"schema": "iglu:com.acme/user/jsonschema/1-0-0", "data": [1]}],
		"event_id": "e-1", "created_at": "2024-05-01T12:30:00.123Z", "sent_at": "2024-05-01T14:30:01+02:00",
		"namespace": "web", "user_id": "u1", "anonymous_id": "a1"}`
	ins, err := Decode(&protocol.Request{MediaType: MediaJSON, Body: []byte(body)})
	if err != nil || len(ins) != 1 {
		t.Fatalf("Decode: %v, %d inputs", err, len(ins))
	}
	in := ins[0]
	if in.Failure != nil {
		t.Fatalf("failed: %+v", in.Failure)
	}
	if in.EventID != "e-1" || in.Namespace != "web" || in.Identity.UserID != "u1" || in.Identity.AnonymousID != "a1" {
		t.Errorf("ids: %q %q %+v", in.EventID, in.Namespace, in.Identity)
	}
	if want := time.Date(2024, 5, 1, 12, 30, 0, 123e6, time.UTC); !in.CreatedAt.Equal(want) {
		t.Errorf("created_at %v, want %v", in.CreatedAt, want)
	}
	if want := time.Date(2024, 5, 1, 12, 30, 1, 0, time.UTC); !in.SentAt.Equal(want) {
		t.Errorf("sent_at %v, want %v", in.SentAt, want)
	}
	want := []event.Context{
		{Schema: "iglu:com.acme/page/jsonschema/1-0-0", Data: []byte(`{"url": "/"}`)},
		{Schema: "iglu:com.acme/user/jsonschema/1-0-0", Data: []byte(`[1]`)},
	}
	if len(in.Contexts) != len(want) {
		t.Fatalf("contexts %+v, want %+v", in.Contexts, want)
	}
	for i := range want {
		if in.Contexts[i].Schema != want[i].Schema || string(in.Contexts[i].Data) != string(want[i].Data) {
			t.Errorf("context %d: %s %s, want %s %s", i, in.Contexts[i].Schema, in.Contexts[i].Data, want[i].Schema, want[i].Data)
		}
	}
	if string(in.Raw) != body {
		t.Errorf("raw is not the event as sent: %q", in.Raw)
	}
}
