package cloudevents

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/event/eventtest"
	"github.com/accord-events/accord/internal/protocol"
)

// want describes one Input Decode should return.
type want struct {
	failure    event.FailureType // "" for an event that was read
	messages   []string          // substrings the failure's messages must hold
	path       string            // instance path of the first message, when set
	id         string
	schema     string
	data       string
	attributes string
	raw        string
}

const okEvent = `{"specversion":"1.0","id":"e-1","source":"/shop","type":"com.acme.order.placed","dataschema":"iglu:com.acme/order_placed/jsonschema/1-0-0","data":{"total":9.5}}`

// ev builds a structured event from okEvent's attributes with some replaced,
// removed ("name": "-") or added.
func ev(changes ...string) string {
	attrs := []string{`"specversion":"1.0"`, `"id":"e-1"`, `"source":"/shop"`, `"type":"com.acme.order.placed"`, `"dataschema":"iglu:com.acme/order_placed/jsonschema/1-0-0"`, `"data":{"total":9.5}`}
	for _, c := range changes {
		name := c[:strings.IndexByte(c, ':')]
		replaced := false
		for i, a := range attrs {
			if strings.HasPrefix(a, name+":") {
				attrs[i], replaced = c, true
			}
		}
		if !replaced {
			attrs = append(attrs, c)
		}
	}
	var kept []string
	for _, a := range attrs {
		if !strings.HasSuffix(a, `:-`) {
			kept = append(kept, a)
		}
	}
	return "{" + strings.Join(kept, ",") + "}"
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		headers     map[string]string
		body        string
		// A request-level error, when errType is set.
		status   int
		errType  event.FailureType
		errParts []string
		want     []want
	}{
		{
			name: "structured", contentType: MediaStructured,
			body: `{"specversion": "1.0", "id": "e-1", "source": "/shop", "type": "com.acme.order.placed",
				"datacontenttype": "application/json", "dataschema": "iglu:com.acme/order_placed/jsonschema/1-0-0",
				"subject": "order-7", "time": "2024-05-01T12:30:00Z", "tenant": "acme", "attempt": 3, "replay": false,
				"unset": null, "data": {"total": 9.5}}`,
			want: []want{{
				id: "e-1", schema: "iglu:com.acme/order_placed/jsonschema/1-0-0", data: `{"total": 9.5}`,
				attributes: `{"specversion":"1.0","id":"e-1","source":"/shop","type":"com.acme.order.placed","datacontenttype":"application/json","dataschema":"iglu:com.acme/order_placed/jsonschema/1-0-0","subject":"order-7","time":"2024-05-01T12:30:00Z","tenant":"acme","attempt":3,"replay":false}`,
			}},
		},
		{name: "structured with charset", contentType: MediaStructured + "; charset=utf-8", body: okEvent,
			want: []want{{id: "e-1", data: `{"total":9.5}`, raw: okEvent}}},
		{name: "structured data with a +json type", contentType: MediaStructured, body: ev(`"datacontenttype":"application/vnd.acme+json; v=2"`, `"data":[1]`),
			want: []want{{data: `[1]`}}},
		{name: "structured data is a JSON string", contentType: MediaStructured, body: ev(`"data":"I'm just a string"`),
			want: []want{{data: `"I'm just a string"`}}},
		{name: "structured explicit null data", contentType: MediaStructured, body: ev(`"data":null`), want: []want{{data: `null`}}},
		{name: "structured without data", contentType: MediaStructured, body: ev(`"data":-`), want: []want{{data: `null`}}},
		{name: "structured base64 JSON data", contentType: MediaStructured,
			body: ev(`"data":-`, `"datacontenttype":"application/json"`, `"data_base64":"eyJ0b3RhbCI6IDkuNX0="`),
			want: []want{{data: `{"total": 9.5}`, attributes: `{"specversion":"1.0","id":"e-1","source":"/shop","type":"com.acme.order.placed","dataschema":"iglu:com.acme/order_placed/jsonschema/1-0-0","datacontenttype":"application/json"}`}}},
		{
			name: "batch", contentType: MediaBatch,
			body: "[" + okEvent + ", 7, " + ev(`"id":"e-2"`, `"time":"noon"`) + ", " + ev(`"id":"e-3"`) + "]",
			want: []want{
				{id: "e-1", data: `{"total":9.5}`},
				{failure: event.ProtocolViolation, messages: []string{"event 1 of the batch is a number, not a CloudEvent"}, raw: "7"},
				{failure: event.ProtocolViolation, messages: []string{`time "noon" is not an RFC 3339 timestamp`}, path: "/time"},
				{id: "e-3"},
			},
		},
		{name: "empty batch", contentType: MediaBatch, body: " [] ", want: []want{}},
		{
			name: "binary with extensions", contentType: "application/json",
			headers: map[string]string{"Ce-Specversion": "1.0", "Ce-Id": "e-9", "Ce-Source": "/shop", "Ce-Type": "com.acme.order.placed",
				"Ce-Dataschema": "iglu:com.acme/order_placed/jsonschema/1-0-0", "Ce-Time": "2024-05-01T12:30:00Z",
				"Ce-Tenant": "acme%20corp%3A%20%C3%A9", "Ce-Attempt": "3"},
			body: `{"total": 9.5}`,
			want: []want{{
				id: "e-9", schema: "iglu:com.acme/order_placed/jsonschema/1-0-0", data: `{"total": 9.5}`,
				attributes: `{"attempt":"3","datacontenttype":"application/json","dataschema":"iglu:com.acme/order_placed/jsonschema/1-0-0","id":"e-9","source":"/shop","specversion":"1.0","tenant":"acme corp: é","time":"2024-05-01T12:30:00Z","type":"com.acme.order.placed"}`,
				raw:        `{"attempt":"3","datacontenttype":"application/json","dataschema":"iglu:com.acme/order_placed/jsonschema/1-0-0","id":"e-9","source":"/shop","specversion":"1.0","tenant":"acme corp: é","time":"2024-05-01T12:30:00Z","type":"com.acme.order.placed","data":{"total": 9.5}}`,
			}},
		},
		{
			name: "binary without content type", headers: binaryHeaders(), body: `[1, 2]`,
			want: []want{{data: `[1, 2]`, raw: `{"dataschema":"iglu:com.acme/order_placed/jsonschema/1-0-0","id":"e-9","source":"/shop","specversion":"1.0","type":"com.acme.order.placed","data":[1, 2]}`}},
		},
		{name: "binary without a body", contentType: "application/json", headers: binaryHeaders(), body: ``, want: []want{{data: `null`}}},

		// The request as a whole.
		{name: "structured empty body", contentType: MediaStructured, body: "  ", status: 400, errType: event.PayloadFormatViolation, errParts: []string{"the body is empty"}},
		{name: "batch empty body", contentType: MediaBatch, body: "", status: 400, errType: event.PayloadFormatViolation, errParts: []string{"the body is empty", "use [] for none"}},
		{name: "structured not JSON", contentType: MediaStructured, body: `{"id": 'x'}`, status: 400, errType: event.PayloadFormatViolation,
			errParts: []string{"not valid JSON", "invalid character '\\'' looking for the start of a value at byte offset 7"}},
		{name: "batch not JSON", contentType: MediaBatch, body: `[` + okEvent, status: 400, errType: event.PayloadFormatViolation,
			errParts: []string{"unexpected end of input inside an array at byte offset 161"}},
		{name: "structured array", contentType: MediaStructured, body: `[` + okEvent + `]`, status: 400, errType: event.ProtocolViolation,
			errParts: []string{"the body is an array, not a CloudEvent", MediaBatch}},
		{name: "batch object", contentType: MediaBatch, body: okEvent, status: 400, errType: event.ProtocolViolation,
			errParts: []string{"the body is an object, not a batch", MediaStructured}},
		{name: "structured trailing data", contentType: MediaStructured, body: okEvent + okEvent, status: 400, errType: event.PayloadFormatViolation,
			errParts: []string{"after the end of the first value at byte offset 160"}},
		{name: "unsupported charset", contentType: MediaStructured + "; charset=utf-16", body: okEvent, status: 415, errType: event.PayloadFormatViolation,
			errParts: []string{"charset utf-16 is not supported"}},
		{name: "no CloudEvent at all", contentType: "application/json", body: okEvent, status: 400, errType: event.ProtocolViolation,
			errParts: []string{"carries no CloudEvent", MediaStructured, MediaBatch, "ce-specversion"}},

		// One event failing.
		{name: "no dataschema", contentType: MediaStructured, body: ev(`"dataschema":-`),
			want: []want{{failure: event.SchemaNotFound, messages: []string{"no dataschema", "set dataschema to the contract's key, such as iglu:com.acme/order_placed/jsonschema/1-0-0"}, id: "e-1", data: `{"total":9.5}`}}},
		{name: "null dataschema", contentType: MediaStructured, body: ev(`"dataschema":null`),
			want: []want{{failure: event.SchemaNotFound, messages: []string{"no dataschema"}}}},
		{name: "missing id", contentType: MediaStructured, body: ev(`"id":-`),
			want: []want{{failure: event.ProtocolViolation, messages: []string{"the required attribute id is missing"}}}},
		{name: "missing source, type and specversion", contentType: MediaStructured, body: ev(`"source":-`, `"type":-`, `"specversion":-`),
			want: []want{{failure: event.ProtocolViolation, messages: []string{"attribute specversion is missing", "attribute source is missing", "attribute type is missing"}}}},
		{name: "empty id", contentType: MediaStructured, body: ev(`"id":""`),
			want: []want{{failure: event.ProtocolViolation, messages: []string{"id is an empty string"}, path: "/id"}}},
		{name: "id not a string", contentType: MediaStructured, body: ev(`"id":42`),
			want: []want{{failure: event.ProtocolViolation, messages: []string{"id is a number; it must be a string"}, path: "/id"}}},
		{name: "unsupported specversion", contentType: MediaStructured, body: ev(`"specversion":"0.3"`),
			want: []want{{failure: event.ProtocolViolation, messages: []string{`specversion "0.3" is not supported`, `set specversion to "1.0"`}}}},
		{name: "bad time", contentType: MediaStructured, body: ev(`"time":"2024-05-01 12:30"`),
			want: []want{{failure: event.ProtocolViolation, messages: []string{"not an RFC 3339 timestamp"}, path: "/time"}}},
		{name: "duplicate attribute", contentType: MediaStructured, body: strings.Replace(okEvent, "{", `{"id":"e-2",`, 1),
			want: []want{{failure: event.ProtocolViolation, messages: []string{"id appears more than once"}}}},
		{name: "bad extension name", contentType: MediaStructured, body: ev(`"Tenant_ID":"x"`),
			want: []want{{failure: event.ProtocolViolation, messages: []string{`"Tenant_ID" is not a valid attribute name`, "lower-case letters a-z and digits 0-9"}}}},
		{name: "object extension value", contentType: MediaStructured, body: ev(`"tenant":{"id":1}`),
			want: []want{{failure: event.ProtocolViolation, messages: []string{"tenant is an object", "a string, an integer or a boolean"}}}},
		{name: "fractional extension value", contentType: MediaStructured, body: ev(`"weight":1.5`),
			want: []want{{failure: event.ProtocolViolation, messages: []string{"weight is 1.5, not an integer"}}}},
		{name: "text data", contentType: MediaStructured, body: ev(`"datacontenttype":"text/plain"`, `"data":"hello"`),
			want: []want{{failure: event.PayloadFormatViolation, messages: []string{"the data is text/plain, not JSON"}, path: "/data"}}},
		{name: "data and data_base64", contentType: MediaStructured, body: ev(`"data_base64":"e30="`),
			want: []want{{failure: event.ProtocolViolation, messages: []string{"both data and data_base64"}}}},
		{name: "bad base64", contentType: MediaStructured, body: ev(`"data":-`, `"data_base64":"not base64!"`),
			want: []want{{failure: event.PayloadFormatViolation, messages: []string{"data_base64 is not valid base64"}}}},
		{name: "base64 that is not JSON", contentType: MediaStructured, body: ev(`"data":-`, `"data_base64":"aGVsbG8="`),
			want: []want{{failure: event.PayloadFormatViolation, messages: []string{"data_base64 decodes to bytes that are not valid JSON", "byte offset 0"}}}},
		{name: "base64 binary data", contentType: MediaStructured, body: ev(`"data":-`, `"datacontenttype":"application/octet-stream"`, `"data_base64":"AAEC"`),
			want: []want{{failure: event.PayloadFormatViolation, messages: []string{"application/octet-stream, not JSON"}}}},
		{name: "invalid utf-8", contentType: MediaStructured, body: ev(`"subject":"` + "\xff" + `"`),
			want: []want{{failure: event.PayloadFormatViolation, messages: []string{"not valid UTF-8"}}}},
		{
			name: "binary text data", contentType: "text/plain", headers: binaryHeaders(), body: "hello",
			want: []want{{failure: event.PayloadFormatViolation, messages: []string{"the data is text/plain, not JSON"},
				raw: `{"datacontenttype":"text/plain","dataschema":"iglu:com.acme/order_placed/jsonschema/1-0-0","id":"e-9","source":"/shop","specversion":"1.0","type":"com.acme.order.placed","data":"hello"}`}},
		},
		{
			name: "binary bytes that are not JSON", contentType: "application/json", headers: binaryHeaders(), body: "{\x00\xff",
			want: []want{{failure: event.PayloadFormatViolation, messages: []string{"not valid UTF-8"},
				raw: `{"datacontenttype":"application/json","dataschema":"iglu:com.acme/order_placed/jsonschema/1-0-0","id":"e-9","source":"/shop","specversion":"1.0","type":"com.acme.order.placed","data_base64":"ewD/"}`}},
		},
		{
			name: "binary broken JSON", contentType: "application/json", headers: binaryHeaders(), body: `{"total": }`,
			want: []want{{failure: event.PayloadFormatViolation, messages: []string{"the body holds bytes that are not valid JSON", "byte offset 10"}}},
		},
		{
			name: "binary missing headers", contentType: "application/json", headers: map[string]string{"Ce-Id": "e-1", "Ce-Specversion": "1.0"}, body: `{}`,
			want: []want{{failure: event.ProtocolViolation, messages: []string{"ce-source is missing", "ce-type is missing", "set ce-dataschema"}}},
		},
		{
			name: "binary bad specversion and time", contentType: "application/json",
			headers: withHeaders(map[string]string{"Ce-Specversion": "0.3", "Ce-Time": "now"}), body: `{}`,
			want: []want{{failure: event.ProtocolViolation, messages: []string{`ce-specversion "0.3" is not supported`, `ce-time "now" is not an RFC 3339 timestamp`}}},
		},
		{
			name: "binary bad header names", contentType: "application/json",
			headers: withHeaders(map[string]string{"Ce-Tenant_id": "x", "Ce-Datacontenttype": "application/json", "Ce-Data": "x"}), body: `{}`,
			want: []want{{failure: event.ProtocolViolation, messages: []string{"ce-data is not allowed", "ce-datacontenttype is not allowed", "ce-tenant_id does not name a valid attribute"}}},
		},
		{
			name: "binary bad percent-encoding", contentType: "application/json", headers: withHeaders(map[string]string{"Ce-Subject": "100%"}), body: `{}`,
			want: []want{{failure: event.ProtocolViolation, messages: []string{"ce-subject is not correctly percent-encoded"}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := request(tc.contentType, tc.headers, tc.body)
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

func binaryHeaders() map[string]string {
	return map[string]string{"Ce-Specversion": "1.0", "Ce-Id": "e-9", "Ce-Source": "/shop", "Ce-Type": "com.acme.order.placed",
		"Ce-Dataschema": "iglu:com.acme/order_placed/jsonschema/1-0-0"}
}

func withHeaders(extra map[string]string) map[string]string {
	h := binaryHeaders()
	for k, v := range extra {
		h[k] = v
	}
	return h
}

// request builds the Request the HTTP layer would hand over.
func request(contentType string, headers map[string]string, body string) *protocol.Request {
	req := &protocol.Request{Method: http.MethodPost, Path: "/cloudevents", Header: http.Header{}, Body: []byte(body)}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
		req.MediaType, req.Params, _ = mime.ParseMediaType(contentType)
	}
	return req
}

func checkInput(t *testing.T, i int, in *event.Input, w want) {
	t.Helper()
	eventtest.CheckFailure(t, fmt.Sprintf("input %d", i), in.Failure, eventtest.Failure{Type: w.failure, Messages: w.messages, Path: w.path})
	if w.failure != "" && len(in.Raw) == 0 {
		t.Errorf("input %d failed without keeping its raw bytes", i)
	}
	if w.id != "" && in.EventID != w.id {
		t.Errorf("input %d: id %q, want %q", i, in.EventID, w.id)
	}
	if w.schema != "" && in.SchemaKey != w.schema {
		t.Errorf("input %d: schema %q, want %q", i, in.SchemaKey, w.schema)
	}
	if w.data != "" && string(in.Data) != w.data {
		t.Errorf("input %d: data %s, want %s", i, in.Data, w.data)
	}
	if w.attributes != "" && string(in.Attributes) != w.attributes {
		t.Errorf("input %d: attributes\n%s\nwant\n%s", i, in.Attributes, w.attributes)
	}
	if w.raw != "" && string(in.Raw) != w.raw {
		t.Errorf("input %d: raw\n%s\nwant\n%s", i, in.Raw, w.raw)
	}
}

func TestDecodeTime(t *testing.T) {
	for _, mode := range []string{"structured", "binary"} {
		t.Run(mode, func(t *testing.T) {
			req := request(MediaStructured, nil, ev(`"time":"2024-05-01T14:30:00.5+02:00"`))
			if mode == "binary" {
				req = request("application/json", withHeaders(map[string]string{"Ce-Time": "2024-05-01T14:30:00.5+02:00"}), `{}`)
			}
			ins, err := Decode(req)
			if err != nil || len(ins) != 1 || ins[0].Failure != nil {
				t.Fatalf("Decode: %v %+v", err, ins)
			}
			if want := time.Date(2024, 5, 1, 12, 30, 0, 5e8, time.UTC); !ins[0].CreatedAt.Equal(want) {
				t.Errorf("created at %v, want %v", ins[0].CreatedAt, want)
			}
		})
	}
}
