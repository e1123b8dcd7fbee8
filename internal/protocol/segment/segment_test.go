package segment

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/event/eventtest"
	"github.com/accord-events/accord/internal/protocol"
)

// want describes one Message Decode should return. For a message that was
// read (failure ""), every field is compared, a zero one included; raw is
// compared when set.
type want struct {
	failure  event.FailureType
	messages []string // substrings the failure's messages must hold
	path     string   // instance path of the first message, when set

	call, event                  string
	data, attrs                  string
	eventID, userID, anonymousID string
	created, sent                time.Time
	raw                          string
}

// at is a UTC time on 2024-05-01.
func at(h, m, s, ms int) time.Time { return time.Date(2024, 5, 1, h, m, s, ms*1e6, time.UTC) }

func TestDecodeCalls(t *testing.T) {
	tests := []struct {
		name  string
		call  string
		media string
		body  string
		want  want
	}{
		{
			name: "track with every field", call: CallTrack, media: MediaJSON,
			body: `{"type": "track", "messageId": "m-1", "userId": "u1", "anonymousId": "a1", "event": "Order Completed",
				"properties": {"total": 9.5, "items": [1, 2]}, "timestamp": "2024-05-01T12:30:00.123Z", "sentAt": "2024-05-01T12:30:01Z",
				"context": {"ip": "1.2.3.4", "library": {"name": "analytics-node"}}, "integrations": {"All": true}, "writeKey": "secret", "channel": "server"}`,
			want: want{
				call: CallTrack, event: "Order Completed", data: `{"total": 9.5, "items": [1, 2]}`,
				attrs:   `{"type":"track","event":"Order Completed","context":{"ip": "1.2.3.4", "library": {"name": "analytics-node"}},"integrations":{"All": true}}`,
				eventID: "m-1", userID: "u1", anonymousID: "a1", created: at(12, 30, 0, 123), sent: at(12, 30, 1, 0),
				raw: `{"type": "track","messageId": "m-1","userId": "u1","anonymousId": "a1","event": "Order Completed","properties": {"total": 9.5, "items": [1, 2]},"timestamp": "2024-05-01T12:30:00.123Z","sentAt": "2024-05-01T12:30:01Z","context": {"ip": "1.2.3.4", "library": {"name": "analytics-node"}},"integrations": {"All": true},"channel": "server"}`,
			},
		},
		{
			name: "track without properties", call: CallTrack,
			body: `{"event":"Signed Up","anonymousId":"a1"}`,
			want: want{call: CallTrack, event: "Signed Up", data: `{}`, attrs: `{"type":"track","event":"Signed Up"}`, anonymousID: "a1", raw: `{"event":"Signed Up","anonymousId":"a1"}`},
		},
		{
			name: "track with null properties and ids", call: CallTrack,
			body: `{"event":"Signed Up","properties":null,"userId":null,"anonymousId":"a1","messageId":null,"context":null}`,
			want: want{call: CallTrack, event: "Signed Up", data: `{}`, attrs: `{"type":"track","event":"Signed Up"}`, anonymousID: "a1"},
		},
		{
			name: "identify", call: CallIdentify, media: MediaText,
			body: `{"userId":"u1","traits":{"email":"ada@example.com","plan":"pro"},"messageId":"m-2","timestamp":"2024-05-01T14:30:00+02:00"}`,
			want: want{call: CallIdentify, data: `{"email":"ada@example.com","plan":"pro"}`, attrs: `{"type":"identify"}`, eventID: "m-2", userID: "u1", created: at(12, 30, 0, 0)},
		},
		{
			name: "identify without traits", call: CallIdentify,
			body: `{"userId":"u1"}`,
			want: want{call: CallIdentify, data: `{}`, attrs: `{"type":"identify"}`, userID: "u1"},
		},
		{
			name: "page", call: CallPage,
			body: `{"anonymousId":"a1","name":"Pricing","category":"Docs","properties":{"url":"https://example.com/pricing"}}`,
			want: want{call: CallPage, event: "Pricing", data: `{"url":"https://example.com/pricing"}`, attrs: `{"type":"page","name":"Pricing","category":"Docs"}`, anonymousID: "a1"},
		},
		{
			name: "page without a name", call: CallPage,
			body: `{"anonymousId":"a1","properties":{"path":"/"}}`,
			want: want{call: CallPage, data: `{"path":"/"}`, attrs: `{"type":"page"}`, anonymousID: "a1"},
		},
		{
			name: "screen", call: CallScreen,
			body: `{"userId":"u1","name":"Home","properties":{"variant":"b"}}`,
			want: want{call: CallScreen, event: "Home", data: `{"variant":"b"}`, attrs: `{"type":"screen","name":"Home"}`, userID: "u1"},
		},
		{
			name: "group", call: CallGroup,
			body: `{"userId":"u1","groupId":"acme","traits":{"employees":42}}`,
			want: want{call: CallGroup, data: `{"employees":42}`, attrs: `{"type":"group","groupId":"acme"}`, userID: "u1"},
		},
		{
			name: "alias", call: CallAlias,
			body: `{"userId":"u1","previousId":"a1","messageId":"m-3"}`,
			want: want{call: CallAlias, data: `{}`, attrs: `{"type":"alias","previousId":"a1"}`, eventID: "m-3", userID: "u1"},
		},
		{
			name: "numeric ids are kept as sent", call: CallTrack,
			body: `{"event":"E","userId":12345,"anonymousId":-1.5e3}`,
			want: want{call: CallTrack, event: "E", data: `{}`, attrs: `{"type":"track","event":"E"}`, userID: "12345", anonymousID: "-1.5e3"},
		},
		{
			name: "escaped names and values", call: CallTrack,
			body: `{"ev\u0065nt":"Caf\u00e9 Visited","user\u0049d":"u\"1"}`,
			want: want{call: CallTrack, event: "Café Visited", data: `{}`, attrs: `{"type":"track","event":"Caf\u00e9 Visited"}`, userID: `u"1`},
		},
		{
			name: "originalTimestamp wins over timestamp", call: CallTrack,
			body: `{"event":"E","userId":"u1","timestamp":"2024-05-01T12:00:00Z","originalTimestamp":"2024-05-01T11:00:00.5Z"}`,
			want: want{call: CallTrack, event: "E", data: `{}`, attrs: `{"type":"track","event":"E"}`, userID: "u1", created: at(11, 0, 0, 500)},
		},
		{
			name: "offset without a colon", call: CallTrack,
			body: `{"event":"E","userId":"u1","timestamp":"2024-05-01T14:30:00.250+0200","sentAt":"2024-05-01T14:30:01+02"}`,
			want: want{call: CallTrack, event: "E", data: `{}`, attrs: `{"type":"track","event":"E"}`, userID: "u1", created: at(12, 30, 0, 250), sent: at(12, 30, 1, 0)},
		},
		{
			name: "timestamp without an offset is UTC", call: CallTrack,
			body: `{"event":"E","userId":"u1","timestamp":"2024-05-01T12:30:00.123456"}`,
			want: want{call: CallTrack, event: "E", data: `{}`, attrs: `{"type":"track","event":"E"}`, userID: "u1", created: at(12, 30, 0, 123).Add(456 * time.Microsecond)},
		},
		{
			name: "utf-8 charset and byte order mark", call: CallTrack,
			body: "\ufeff" + `{"event":"E","userId":"u1"}` + "\n",
			want: want{call: CallTrack, event: "E", data: `{}`, attrs: `{"type":"track","event":"E"}`, userID: "u1", raw: `{"event":"E","userId":"u1"}`},
		},

		// One message failing.
		{name: "type contradicts the endpoint", call: CallTrack, body: `{"type":"identify","event":"E","userId":"u1"}`,
			want: want{failure: event.ProtocolViolation, messages: []string{`type is "identify" but the message was sent to /v1/track`}, path: "/type"}},
		{name: "track without event", call: CallTrack, body: `{"userId":"u1","properties":{}}`,
			want: want{failure: event.ProtocolViolation, messages: []string{`the track has no event; add "event"`}}},
		{name: "track with an empty event", call: CallTrack, body: `{"userId":"u1","event":""}`,
			want: want{failure: event.ProtocolViolation, messages: []string{"event is an empty string"}, path: "/event"}},
		{name: "track with a numeric event", call: CallTrack, body: `{"userId":"u1","event":7}`,
			want: want{failure: event.ProtocolViolation, messages: []string{"event is a number; it must be a string"}, path: "/event"}},
		{name: "neither userId nor anonymousId", call: CallTrack, body: `{"event":"E","userId":""}`,
			want: want{failure: event.ProtocolViolation, messages: []string{"neither userId nor anonymousId"}}},
		{name: "userId a boolean", call: CallIdentify, body: `{"userId":true}`,
			want: want{failure: event.ProtocolViolation, messages: []string{"userId is a boolean; it must be a string (or a number)"}, path: "/userId"}},
		{name: "properties an array", call: CallTrack, body: `{"event":"E","userId":"u1","properties":[1]}`,
			want: want{failure: event.ProtocolViolation, messages: []string{"properties is an array; it must be an object"}, path: "/properties"}},
		{name: "traits a string", call: CallIdentify, body: `{"userId":"u1","traits":"vip"}`,
			want: want{failure: event.ProtocolViolation, messages: []string{"traits is a string; it must be an object"}, path: "/traits"}},
		{name: "context a string", call: CallTrack, body: `{"event":"E","userId":"u1","context":"web"}`,
			want: want{failure: event.ProtocolViolation, messages: []string{"context is a string; it must be an object"}, path: "/context"}},
		{name: "group without groupId", call: CallGroup, body: `{"userId":"u1","traits":{}}`,
			want: want{failure: event.ProtocolViolation, messages: []string{`the group has no groupId`}}},
		{name: "alias without previousId", call: CallAlias, body: `{"userId":"u1"}`,
			want: want{failure: event.ProtocolViolation, messages: []string{`the alias has no previousId`}}},
		{name: "unparsable timestamp", call: CallTrack, body: `{"event":"E","userId":"u1","timestamp":"yesterday"}`,
			want: want{failure: event.PayloadFormatViolation, messages: []string{`timestamp "yesterday" is not an ISO-8601 timestamp`}, path: "/timestamp"}},
		{name: "numeric sentAt", call: CallTrack, body: `{"event":"E","userId":"u1","sentAt":1714566600}`,
			want: want{failure: event.PayloadFormatViolation, messages: []string{"sentAt is a number; send an ISO-8601 timestamp"}, path: "/sentAt"}},
		{name: "unparsable timestamp comes before broken rules", call: CallTrack, body: `{"originalTimestamp":"2024-13-01T00:00:00Z"}`,
			want: want{failure: event.PayloadFormatViolation, messages: []string{"originalTimestamp", "has no event", "neither userId nor anonymousId"}, path: "/originalTimestamp"}},
		{name: "duplicate field", call: CallTrack, body: `{"event":"E","userId":"u1","event":"F"}`,
			want: want{failure: event.ProtocolViolation, messages: []string{"event appears more than once"}, path: "/event"}},
		{name: "invalid utf-8", call: CallTrack, body: `{"event":"E","userId":"u1","properties":{"x":"` + "\xff" + `"}}`,
			want: want{failure: event.PayloadFormatViolation, messages: []string{"not valid UTF-8"}}},
		{name: "failed message keeps its raw bytes without the write key", call: CallTrack, body: `{"writeKey":"secret","userId":"u1"}`,
			want: want{failure: event.ProtocolViolation, messages: []string{"has no event"}, raw: `{"userId":"u1"}`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := &protocol.Request{MediaType: tc.media, Params: map[string]string{"charset": "utf-8"}, Body: []byte(tc.body)}
			msgs, err := Decoder{}.Decode(req, tc.call)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(msgs) != 1 {
				t.Fatalf("got %d messages, want 1", len(msgs))
			}
			checkMessage(t, 0, &msgs[0], tc.want)
		})
	}
}

func TestDecodeBatch(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []want
	}{
		{
			name: "every call",
			body: `{"batch": [
				{"type":"track","event":"Order Completed","userId":"u1","messageId":"m1","properties":{"total":1},"timestamp":"2024-05-01T12:00:00Z"},
				{"type":"identify","userId":"u1","traits":{"plan":"pro"}},
				{"type":"page","anonymousId":"a1","name":"Home","category":"Site","properties":{"path":"/"}},
				{"type":"screen","anonymousId":"a1","name":"Cart"},
				{"type":"group","userId":"u1","groupId":"acme","traits":{"size":3}},
				{"type":"alias","userId":"u1","previousId":"a1"}
			], "sentAt": "2024-05-01T12:00:05Z", "writeKey": "secret"}`,
			want: []want{
				{call: CallTrack, event: "Order Completed", data: `{"total":1}`, attrs: `{"type":"track","event":"Order Completed"}`, eventID: "m1", userID: "u1", created: at(12, 0, 0, 0), sent: at(12, 0, 5, 0),
					raw: `{"type":"track","event":"Order Completed","userId":"u1","messageId":"m1","properties":{"total":1},"timestamp":"2024-05-01T12:00:00Z"}`},
				{call: CallIdentify, data: `{"plan":"pro"}`, attrs: `{"type":"identify"}`, userID: "u1", sent: at(12, 0, 5, 0)},
				{call: CallPage, event: "Home", data: `{"path":"/"}`, attrs: `{"type":"page","name":"Home","category":"Site"}`, anonymousID: "a1", sent: at(12, 0, 5, 0)},
				{call: CallScreen, event: "Cart", data: `{}`, attrs: `{"type":"screen","name":"Cart"}`, anonymousID: "a1", sent: at(12, 0, 5, 0)},
				{call: CallGroup, data: `{"size":3}`, attrs: `{"type":"group","groupId":"acme"}`, userID: "u1", sent: at(12, 0, 5, 0)},
				{call: CallAlias, data: `{}`, attrs: `{"type":"alias","previousId":"a1"}`, userID: "u1", sent: at(12, 0, 5, 0)},
			},
		},
		{
			name: "batch context, integrations and sentAt fill what a message lacks, sent after the batch",
			body: `{"batch": [
				{"type":"track","event":"A","userId":"u1"},
				{"type":"track","event":"B","userId":"u1","context":{"page":{"path":"/b"}},"integrations":{"Mixpanel":false},"sentAt":"2024-05-01T12:00:09Z"},
				{"type":"track","event":"C","userId":"u1","context":null}
			], "context": {"library": {"name": "analytics.js"}}, "integrations": {"All": true}, "sentAt": "2024-05-01T12:00:05Z"}`,
			want: []want{
				{call: CallTrack, event: "A", data: `{}`, attrs: `{"type":"track","event":"A","context":{"library": {"name": "analytics.js"}},"integrations":{"All": true}}`, userID: "u1", sent: at(12, 0, 5, 0)},
				{call: CallTrack, event: "B", data: `{}`, attrs: `{"type":"track","event":"B","context":{"page":{"path":"/b"}},"integrations":{"Mixpanel":false}}`, userID: "u1", sent: at(12, 0, 9, 0)},
				{call: CallTrack, event: "C", data: `{}`, attrs: `{"type":"track","event":"C","context":{"library": {"name": "analytics.js"}},"integrations":{"All": true}}`, userID: "u1", sent: at(12, 0, 5, 0)},
			},
		},
		{name: "empty batch", body: `{"batch": [], "writeKey": "k"}`, want: []want{}},
		{
			name: "broken messages fail alone",
			body: `{"batch": [
				{"event":"A","userId":"u1"},
				{"type":"purchase","userId":"u1"},
				"hello",
				{"type":"track","userId":"u1"},
				{"type":"track","event":"E","properties":"x"},
				{"type":7,"userId":"u1"},
				{"type":"identify","userId":"u1","traits":[]},
				{"type":"track","event":"E","userId":"u1","timestamp":"12:30"},
				{"type":"track","event":"Fine","userId":"u1"}
			]}`,
			want: []want{
				{failure: event.ProtocolViolation, messages: []string{`the message has no type`, callList}, raw: `{"event":"A","userId":"u1"}`},
				{failure: event.ProtocolViolation, messages: []string{`type "purchase" is not a Segment call`}, path: "/type"},
				{failure: event.ProtocolViolation, messages: []string{"message 2 of the batch is a string, not a message"}, raw: `"hello"`},
				{failure: event.ProtocolViolation, messages: []string{"the track has no event"}},
				{failure: event.ProtocolViolation, messages: []string{"properties is a string", "neither userId nor anonymousId"}, path: "/properties"},
				{failure: event.ProtocolViolation, messages: []string{"type is a number; it must be a string"}, path: "/type"},
				{failure: event.ProtocolViolation, messages: []string{"traits is an array"}, path: "/traits"},
				{failure: event.PayloadFormatViolation, messages: []string{`timestamp "12:30" is not an ISO-8601 timestamp`}, path: "/timestamp"},
				{call: CallTrack, event: "Fine", data: `{}`, attrs: `{"type":"track","event":"Fine"}`, userID: "u1"},
			},
		},
		{
			name: "invalid utf-8 in one message",
			body: `{"batch":[{"type":"track","event":"` + "\xc3\x28" + `","userId":"u1"},{"type":"track","event":"E","userId":"u1"}]}`,
			want: []want{
				{failure: event.PayloadFormatViolation, messages: []string{"not valid UTF-8"}},
				{call: CallTrack, event: "E", data: `{}`, attrs: `{"type":"track","event":"E"}`, userID: "u1"},
			},
		},
		{
			name: "write key in a message is not kept",
			body: `{"batch":[{"writeKey":"secret","type":"track","event":"E"}]}`,
			want: []want{{failure: event.ProtocolViolation, messages: []string{"neither userId nor anonymousId"}, raw: `{"type":"track","event":"E"}`}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msgs, err := Decoder{}.Decode(&protocol.Request{MediaType: MediaJSON, Body: []byte(tc.body)}, CallBatch)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(msgs) != len(tc.want) {
				t.Fatalf("got %d messages, want %d: %+v", len(msgs), len(tc.want), msgs)
			}
			for i, w := range tc.want {
				checkMessage(t, i, &msgs[i], w)
			}
		})
	}
}

func checkMessage(t *testing.T, i int, m *Message, w want) {
	t.Helper()
	in := &m.Input
	if w.raw != "" && string(in.Raw) != w.raw {
		t.Errorf("message %d: raw\n%s\nwant\n%s", i, in.Raw, w.raw)
	}
	if len(in.Raw) == 0 {
		t.Errorf("message %d has no raw bytes", i)
	}
	if strings.Contains(string(in.Raw), "secret") || strings.Contains(string(in.Attributes), "secret") {
		t.Errorf("message %d keeps the write key: raw %s attributes %s", i, in.Raw, in.Attributes)
	}
	if in.SchemaKey != "" || in.Contexts != nil || in.Namespace != "" {
		t.Errorf("message %d: schema key %q, contexts %v, namespace %q; Segment carries none", i, in.SchemaKey, in.Contexts, in.Namespace)
	}
	eventtest.CheckFailure(t, fmt.Sprintf("message %d", i), in.Failure, eventtest.Failure{Type: w.failure, Messages: w.messages, Path: w.path})
	if w.failure != "" || in.Failure != nil {
		return
	}
	for _, f := range []struct{ name, got, want string }{
		{"call", m.Call, w.call},
		{"event", m.Event, w.event},
		{"data", string(in.Data), w.data},
		{"attributes", string(in.Attributes), w.attrs},
		{"event id", in.EventID, w.eventID},
		{"user id", in.Identity.UserID, w.userID},
		{"anonymous id", in.Identity.AnonymousID, w.anonymousID},
		{"network user id", in.Identity.NetworkUserID, ""},
	} {
		if f.got != f.want {
			t.Errorf("message %d: %s %q, want %q", i, f.name, f.got, f.want)
		}
	}
	if !json.Valid(in.Attributes) {
		t.Errorf("message %d: attributes %s are not JSON", i, in.Attributes)
	}
	if !in.CreatedAt.Equal(w.created) {
		t.Errorf("message %d: created at %v, want %v", i, in.CreatedAt, w.created)
	}
	if !in.SentAt.Equal(w.sent) {
		t.Errorf("message %d: sent at %v, want %v", i, in.SentAt, w.sent)
	}
}

func TestDecodeRequestErrors(t *testing.T) {
	const track = `{"event":"E","userId":"u1"}`
	tests := []struct {
		name    string
		call    string
		media   string
		params  map[string]string
		body    string
		limits  Limits
		status  int
		errType event.FailureType
		parts   []string
	}{
		{name: "unknown call", call: "tracks", body: track, status: 404, errType: event.ProtocolViolation, parts: []string{`"tracks" is not a Segment call`, "/v1/batch"}},
		{name: "unsupported media type", call: CallTrack, media: "application/x-www-form-urlencoded", body: track, status: 415, errType: event.PayloadFormatViolation,
			parts: []string{"application/x-www-form-urlencoded is not accepted", MediaJSON}},
		{name: "unsupported charset", call: CallTrack, media: MediaJSON, params: map[string]string{"charset": "latin1"}, body: track, status: 415, errType: event.PayloadFormatViolation,
			parts: []string{"charset latin1 is not supported"}},
		{name: "empty body", call: CallTrack, body: " \n", status: 400, errType: event.PayloadFormatViolation, parts: []string{"the body is empty"}},
		{name: "not JSON", call: CallTrack, body: `{"event": tru}`, status: 400, errType: event.PayloadFormatViolation, parts: []string{"not valid JSON", "byte offset 13"}},
		{name: "not JSON at all", call: CallBatch, body: `hello`, status: 400, errType: event.PayloadFormatViolation, parts: []string{"not valid JSON", `{"batch"`}},
		{name: "two messages in one call", call: CallTrack, body: track + track, status: 400, errType: event.PayloadFormatViolation, parts: []string{"after the end of the first value at byte offset 27"}},
		{name: "an array", call: CallTrack, body: `[` + track + `]`, status: 400, errType: event.ProtocolViolation, parts: []string{"the body is an array, not a Segment message"}},
		{name: "batch without batch", call: CallBatch, body: track, status: 400, errType: event.ProtocolViolation, parts: []string{"the body has no batch", "/v1/track"}},
		{name: "batch null", call: CallBatch, body: `{"batch":null}`, status: 400, errType: event.ProtocolViolation, parts: []string{"batch is null"}},
		{name: "batch not an array", call: CallBatch, body: `{"batch":{"type":"track"}}`, status: 400, errType: event.ProtocolViolation, parts: []string{"batch is an object; it must be an array"}},
		{name: "batch twice", call: CallBatch, body: `{"batch":[],"batch":[]}`, status: 400, errType: event.ProtocolViolation, parts: []string{"batch appears more than once"}},
		{name: "batch with a bad sentAt", call: CallBatch, body: `{"batch":[` + track + `],"sentAt":"now"}`, status: 400, errType: event.PayloadFormatViolation,
			parts: []string{`the batch's sentAt "now" is not an ISO-8601 timestamp`}},
		{name: "batch with a string context", call: CallBatch, body: `{"batch":[],"context":"web"}`, status: 400, errType: event.ProtocolViolation, parts: []string{"the batch's context is a string; it must be an object"}},
		{name: "batch context not UTF-8", call: CallBatch, body: `{"batch":[],"context":{"x":"` + "\xff" + `"}}`, status: 400, errType: event.PayloadFormatViolation, parts: []string{"context holds bytes that are not valid UTF-8"}},
		{name: "truncated batch", call: CallBatch, body: `{"batch":[` + track + `,`, status: 400, errType: event.PayloadFormatViolation, parts: []string{"unexpected end of input"}},
		{name: "oversized batch", call: CallBatch, body: `{"batch":[` + track + `]}`, limits: Limits{Batch: 20}, status: 413, errType: event.SizeViolation,
			parts: []string{"the batch is 39 bytes, over the limit of 20"}},
		{name: "oversized single call", call: CallTrack, body: track, limits: Limits{Event: 10}, status: 413, errType: event.SizeViolation,
			parts: []string{"the message is 27 bytes, over the limit of 10 per message"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := &protocol.Request{MediaType: tc.media, Params: tc.params, Body: []byte(tc.body)}
			msgs, err := Decoder{Limits: tc.limits}.Decode(req, tc.call)
			var perr *protocol.Error
			if !errors.As(err, &perr) {
				t.Fatalf("Decode returned %v, %d messages; want a *protocol.Error", err, len(msgs))
			}
			if msgs != nil {
				t.Errorf("Decode returned both an error and %d messages", len(msgs))
			}
			if perr.Status != tc.status || perr.Failure.Type != tc.errType {
				t.Errorf("error is %d %s, want %d %s: %v", perr.Status, perr.Failure.Type, tc.status, tc.errType, perr)
			}
			for _, part := range tc.parts {
				if !strings.Contains(perr.Failure.Messages[0].Message, part) {
					t.Errorf("error message %q does not say %q", perr.Failure.Messages[0].Message, part)
				}
			}
		})
	}
}

func TestDecodeOversizedMessageInBatch(t *testing.T) {
	// The big message's properties hold a 3-byte character astride byte
	// 1024, so its kept prefix must stop before it to stay text.
	filler := strings.Repeat("x", 1024-len(`{"type":"track","event":"Big","userId":"u1","properties":{"s":"`)-1)
	big := `{"type":"track","event":"Big","userId":"u1","properties":{"s":"` + filler + "€" + strings.Repeat("y", MaxEventBytes) + `"}}`
	small := `{"type":"track","event":"Small","userId":"u1"}`
	body := `{"batch":[` + small + `,` + big + `,` + small + `]}`
	msgs, err := Decoder{}.Decode(&protocol.Request{MediaType: MediaJSON, Body: []byte(body)}, CallBatch)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if len(msgs) != 3 {
		t.Fatalf("got %d messages, want 3", len(msgs))
	}
	for _, i := range []int{0, 2} {
		checkMessage(t, i, &msgs[i], want{call: CallTrack, event: "Small", data: `{}`, attrs: `{"type":"track","event":"Small"}`, userID: "u1", raw: small})
	}
	checkMessage(t, 1, &msgs[1], want{failure: event.SizeViolation, messages: []string{
		fmt.Sprintf("message 1 of the batch is %d bytes, over the limit of 32768 per message", len(big)), "first 1024 bytes"}})
	raw := msgs[1].Input.Raw
	if want := big[:1023]; string(raw) != want {
		t.Errorf("raw is %d bytes ending %q, want the first 1023 bytes of the message", len(raw), raw[max(0, len(raw)-8):])
	}
	if msgs[1].Input.Attributes != nil || msgs[1].Input.Data != nil {
		t.Errorf("oversized message kept attributes %s or data %s", msgs[1].Input.Attributes, msgs[1].Input.Data)
	}

	// A message of exactly the limit is accepted.
	exact := `{"type":"track","event":"E","userId":"u1","properties":{"s":"`
	exact += strings.Repeat("z", 100-len(exact)-3) + `"}}`
	msgs, err = Decoder{Limits: Limits{Event: 100}}.Decode(&protocol.Request{Body: []byte(`{"batch":[` + exact + `]}`)}, CallBatch)
	if err != nil || len(msgs) != 1 || msgs[0].Input.Failure != nil {
		t.Fatalf("a message of exactly the limit: %v %+v", err, msgs)
	}
}

func TestDecodeRepeatedBatchContextKeepsMessagesApart(t *testing.T) {
	// Each message's Attributes and Data are its own: appending to one
	// does not change another.
	body := `{"batch":[{"type":"track","event":"A","userId":"u1"},{"type":"track","event":"B","userId":"u1"}],"context":{"k":1}}`
	msgs, err := Decoder{}.Decode(&protocol.Request{Body: []byte(body)}, CallBatch)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("Decode: %v, %d messages", err, len(msgs))
	}
	_ = append(msgs[0].Input.Attributes, "garbage"...)
	_ = append(msgs[0].Input.Data, "garbage"...)
	if got := string(msgs[1].Input.Attributes); got != `{"type":"track","event":"B","context":{"k":1}}` {
		t.Errorf("second message's attributes changed: %s", got)
	}
	if got := string(msgs[1].Input.Data); got != `{}` {
		t.Errorf("second message's data changed: %s", got)
	}
}

func TestLimitsValidate(t *testing.T) {
	tests := []struct {
		name   string
		limits Limits
		parts  []string
	}{
		{name: "zero takes the defaults", limits: Limits{}},
		{name: "defaults", limits: DefaultLimits()},
		{name: "negative", limits: Limits{Event: -1, Batch: -2}, parts: []string{"max_event_bytes: -1 is negative", "max_batch_bytes: -2 is negative"}},
		{name: "event over batch", limits: Limits{Event: 600 * 1024}, parts: []string{"max_event_bytes: 614400 is more than max_batch_bytes (512000)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.limits.Validate()
			check.ErrorSays(t, err, tc.parts...)
		})
	}
}

// TestDecodeShortPaths holds that each one-letter path analytics.js sends to
// (/v1/t, /v1/b, ...) reads a body exactly as its long path does.
func TestDecodeShortPaths(t *testing.T) {
	tests := []struct {
		short, long, body string
	}{
		{"t", CallTrack, `{"type":"track","event":"Order Completed","userId":"u1","messageId":"m1","properties":{"total":1},"timestamp":"2024-05-01T12:00:00Z","sentAt":"2024-05-01T12:00:01Z","context":{"page":{"path":"/"}},"writeKey":"k"}`},
		{"i", CallIdentify, `{"type":"identify","userId":"u1","traits":{"plan":"pro"}}`},
		{"p", CallPage, `{"type":"page","anonymousId":"a1","name":"Home","category":"Site","properties":{"path":"/"}}`},
		{"s", CallScreen, `{"type":"screen","anonymousId":"a1","name":"Cart"}`},
		{"g", CallGroup, `{"type":"group","userId":"u1","groupId":"acme","traits":{"size":3}}`},
		{"a", CallAlias, `{"type":"alias","userId":"u1","previousId":"a1"}`},
		{"b", CallBatch, `{"batch":[{"type":"track","event":"E","userId":"u1"},{"type":"page","anonymousId":"a1"}],"sentAt":"2024-05-01T12:00:05Z","writeKey":"k"}`},
		// A type that contradicts the endpoint fails the same way on both.
		{"i", CallIdentify, `{"type":"track","event":"E","userId":"u1"}`},
	}
	for _, tc := range tests {
		t.Run(tc.short+" as "+tc.long, func(t *testing.T) {
			decode := func(call string) []Message {
				t.Helper()
				msgs, err := Decoder{}.Decode(&protocol.Request{MediaType: MediaText, Body: []byte(tc.body)}, call)
				if err != nil {
					t.Fatalf("Decode(%s): %v", call, err)
				}
				return msgs
			}
			short, long := decode(tc.short), decode(tc.long)
			if len(long) == 0 {
				t.Fatalf("the long path read no messages")
			}
			if !reflect.DeepEqual(short, long) {
				t.Errorf("/v1/%s read\n%+v\nbut /v1/%s read\n%+v", tc.short, short, tc.long, long)
			}
			if tc.long != CallBatch && long[0].Input.Failure == nil && short[0].Call != tc.long {
				t.Errorf("/v1/%s read a %q message, want %q", tc.short, short[0].Call, tc.long)
			}
		})
	}
	// Other single letters stay unknown calls.
	_, err := Decoder{}.Decode(&protocol.Request{MediaType: MediaJSON, Body: []byte(`{"event":"E","userId":"u1"}`)}, "x")
	var perr *protocol.Error
	if !errors.As(err, &perr) || perr.Status != http.StatusNotFound {
		t.Errorf("/v1/x: got %v, want a 404 *protocol.Error", err)
	}
}
