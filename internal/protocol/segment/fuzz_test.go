package segment

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

// FuzzDecodeBatch holds batch decoding to what the HTTP layer and the
// pipeline rely on, for any body. The seed corpus is in
// testdata/fuzz/FuzzDecodeBatch. A small message limit lets the fuzzer reach
// oversized messages.
func FuzzDecodeBatch(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		dec := Decoder{Limits: Limits{Event: 256}}
		req := &protocol.Request{MediaType: MediaJSON, Body: body}
		msgs, err := dec.Decode(req, CallBatch)
		if err != nil {
			checkRequestError(t, err, msgs, body)
			return
		}
		doc := checkJSONObject(t, body)
		var elems []json.RawMessage
		if err := json.Unmarshal(doc["batch"], &elems); err != nil {
			t.Fatalf("batch %s accepted but is not an array: %v", doc["batch"], err)
		}
		if len(msgs) != len(elems) {
			t.Fatalf("%d messages for a batch of %d", len(msgs), len(elems))
		}
		for i := range msgs {
			checkFuzzMessage(t, i, &msgs[i], "")
		}
		again, err := dec.Decode(req, CallBatch)
		if err != nil || !reflect.DeepEqual(msgs, again) {
			t.Fatalf("second Decode differs: %v", err)
		}
	})
}

// FuzzDecodeCall does the same for the single-message endpoints, and for any
// call the router might pass. The seed corpus is in
// testdata/fuzz/FuzzDecodeCall.
func FuzzDecodeCall(f *testing.F) {
	f.Fuzz(func(t *testing.T, call string, body []byte) {
		req := &protocol.Request{MediaType: MediaJSON, Body: body}
		msgs, err := Decoder{}.Decode(req, call)
		if err != nil {
			var perr *protocol.Error
			if errors.As(err, &perr) && perr.Status == http.StatusNotFound {
				if callOf(call) != "" || call == CallBatch {
					t.Fatalf("404 for call %q", call)
				}
				return
			}
			checkRequestError(t, err, msgs, body)
			return
		}
		if callOf(call) == "" && call != CallBatch {
			t.Fatalf("unknown call %q accepted", call)
		}
		if call == CallBatch {
			return // FuzzDecodeBatch's business
		}
		checkJSONObject(t, body)
		if len(msgs) != 1 {
			t.Fatalf("%d messages for one call", len(msgs))
		}
		checkFuzzMessage(t, 0, &msgs[0], call)
		again, err := Decoder{}.Decode(req, call)
		if err != nil || !reflect.DeepEqual(msgs, again) {
			t.Fatalf("second Decode differs: %v", err)
		}
	})
}

// checkRequestError checks a request Decode rejected as a whole: a typed
// error the HTTP layer can answer, and no messages.
func checkRequestError(t *testing.T, err error, msgs []Message, body []byte) {
	t.Helper()
	var perr *protocol.Error
	if !errors.As(err, &perr) {
		t.Fatalf("error %T %v is not a *protocol.Error", err, err)
	}
	if msgs != nil {
		t.Fatalf("Decode returned both an error and %d messages", len(msgs))
	}
	switch perr.Status {
	case http.StatusBadRequest:
		eventtest.CheckFailureShape(t, perr.Failure, event.PayloadFormatViolation, event.ProtocolViolation)
	case http.StatusRequestEntityTooLarge:
		eventtest.CheckFailureShape(t, perr.Failure, event.SizeViolation)
	default:
		t.Fatalf("status %d, want 400 or 413", perr.Status)
	}
	// A body is rejected as not JSON only when encoding/json agrees.
	trimmed := bytes.TrimPrefix(body, []byte("\ufeff"))
	if perr.Failure.Type == event.PayloadFormatViolation && json.Valid(trimmed) && utf8.Valid(trimmed) && !repeatsName(trimmed) &&
		bytes.Contains([]byte(perr.Failure.Messages[0].Message), []byte("not valid JSON")) {
		t.Fatalf("valid JSON rejected as not JSON: %v", err)
	}
}

// checkJSONObject checks that an accepted body is a JSON object, and returns
// its members.
func checkJSONObject(t *testing.T, body []byte) map[string]json.RawMessage {
	t.Helper()
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(bytes.TrimPrefix(body, []byte("\ufeff")), &doc); err != nil || doc == nil {
		t.Fatalf("body accepted but encoding/json reads no object: %v", err)
	}
	return doc
}

// checkFuzzMessage checks one message: failed with a reason and its raw
// bytes, or what the pipeline needs, agreeing with encoding/json.
func checkFuzzMessage(t *testing.T, i int, m *Message, call string) {
	t.Helper()
	in := &m.Input
	if len(in.Raw) == 0 {
		t.Fatalf("message %d has no raw bytes", i)
	}
	if in.Failure != nil {
		eventtest.CheckFailureShape(t, in.Failure, event.PayloadFormatViolation, event.ProtocolViolation, event.SizeViolation)
		return
	}
	if callOf(m.Call) == "" || (call != "" && m.Call != call) {
		t.Fatalf("message %d: call %q", i, m.Call)
	}
	if !utf8.Valid(in.Raw) || !utf8.Valid(in.Attributes) {
		t.Fatalf("message %d: raw or attributes not UTF-8", i)
	}
	var data, attrs, raw map[string]json.RawMessage
	if err := json.Unmarshal(in.Data, &data); err != nil || data == nil {
		t.Fatalf("message %d: data %q is not a JSON object: %v", i, in.Data, err)
	}
	if err := json.Unmarshal(in.Attributes, &attrs); err != nil || attrs == nil {
		t.Fatalf("message %d: attributes %q are not a JSON object: %v", i, in.Attributes, err)
	}
	if err := json.Unmarshal(in.Raw, &raw); err != nil || raw == nil {
		t.Fatalf("message %d: raw %q is not a JSON object: %v", i, in.Raw, err)
	}
	if _, ok := attrs["writeKey"]; ok {
		t.Fatalf("message %d: attributes keep the write key", i)
	}
	if _, ok := raw["writeKey"]; ok {
		t.Fatalf("message %d: raw keeps the write key", i)
	}
	var typ string
	if json.Unmarshal(attrs["type"], &typ) != nil || typ != m.Call {
		t.Fatalf("message %d: attributes type %s, call %s", i, attrs["type"], m.Call)
	}
	if in.Identity.UserID == "" && in.Identity.AnonymousID == "" {
		t.Fatalf("message %d has neither userId nor anonymousId", i)
	}
	// What was read agrees with encoding/json.
	var name string
	switch m.Call {
	case CallTrack:
		if json.Unmarshal(raw["event"], &name) != nil || name != m.Event || name == "" {
			t.Fatalf("message %d: event %q, encoding/json reads %s", i, m.Event, raw["event"])
		}
	case CallPage, CallScreen:
		if raw["name"] != nil && string(raw["name"]) != "null" && (json.Unmarshal(raw["name"], &name) != nil || name != m.Event) {
			t.Fatalf("message %d: name %q, encoding/json reads %s", i, m.Event, raw["name"])
		}
	}
	var id string
	if v := raw["messageId"]; v != nil && string(v) != "null" && (json.Unmarshal(v, &id) != nil || id != in.EventID) {
		t.Fatalf("message %d: messageId %q, encoding/json reads %s", i, in.EventID, v)
	}
}

// repeatsName reports whether valid JSON b has an object that repeats a
// member name, which Accord refuses as data.
func repeatsName(b []byte) bool {
	_, _, err := jsonscan.Document(b, 0)
	return jsonscan.IsNotData(err)
}
