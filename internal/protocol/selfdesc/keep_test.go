package selfdesc

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/protocol"
)

// keptStrings is every string of inputs that the inputs keep (not Data,
// Raw and Attributes, which are parts of the body by design), cloned.
func keptStrings(inputs []event.Input) []string {
	var out []string
	for _, in := range inputs {
		out = append(out, in.SchemaKey, in.EventID, in.Namespace, in.Identity.UserID, in.Identity.AnonymousID, in.Identity.NetworkUserID)
		for _, c := range in.Contexts {
			out = append(out, c.Schema)
		}
		if in.Failure != nil {
			for _, m := range in.Failure.Messages {
				out = append(out, m.Message, m.InstancePath, m.Schema, m.Keyword)
			}
		}
	}
	for i := range out {
		out[i] = strings.Clone(out[i])
	}
	return out
}

// TestKeptStringsOutliveTheBody: the server reuses a request's body buffer
// once its records are delivered, and records keep the strings of their
// inputs (the schema key, ids, namespace, contexts' keys) beyond that (the
// spool's index, statistics, the inspector). Overwriting the body after
// decoding must change none of them, whichever decoder read it and whether
// or not the key named a known contract.
func TestKeptStringsOutliveTheBody(t *testing.T) {
	c, err := contract.Compile([]byte(`{"self":{"vendor":"com.acme","name":"a","format":"jsonschema","version":"1-0-0"},"type":"object"}`), contract.Key{}, "test")
	if err != nil {
		t.Fatal(err)
	}
	set := contract.NewSet([]*contract.Contract{c})
	const known = `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{"x":1}}`
	const every = `{"schema":"iglu:com.acme/b/jsonschema/1-0-0","data":{"x":1},` +
		`"contexts":[{"schema":"iglu:com.acme/page/jsonschema/1-0-0","data":{}}],"event_id":"e-1",` +
		`"created_at":"2024-05-01T12:30:00.123Z","namespace":"web","user_id":"u1","anonymous_id":"a1"}`
	const knownEvery = `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{"x":1},"event_id":"e-2","namespace":"ns","user_id":"u2"}`
	const escaped = `{"schema":"iglu:com.acme/\u0061/jsonschema/1-0-0","data":{},"event_id":"e\u002d3","user_id":"\"u\""}`
	const wrapped = `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{},"contexts":{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0",` +
		`"data":[{"schema":"iglu:com.acme/ctx/jsonschema/1-0-0","data":{}}]},"anonymous_id":"a4"}`
	const broken = `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{},"nope":1,"event_id":5,"namespace":"n5","created_at":"yesterday"}`
	bodies := []struct {
		name, mediaType, body string
	}{
		{"known key alone", MediaJSON, known},
		{"every field", MediaJSON, every},
		{"known key with ids", MediaJSON, knownEvery},
		{"escapes", MediaJSON, escaped},
		{"wrapped contexts", MediaJSON, wrapped},
		{"a failed event", MediaJSON, broken},
		{"array", MediaJSON, "[" + known + "," + every + "," + escaped + "," + knownEvery + "," + broken + "]"},
		{"ndjson", MediaNDJSON, known + "\n" + every + "\n\n" + wrapped + "\n" + knownEvery + "\nnot json\n" + broken},
	}
	decoders := []struct {
		name   string
		decode func(*protocol.Request) ([]event.Input, error)
	}{
		{"Decode", Decode},
		{"DecodeWith", DecodeWith(set)},
	}
	for _, dec := range decoders {
		for _, tc := range bodies {
			t.Run(dec.name+"/"+tc.name, func(t *testing.T) {
				body := []byte(tc.body)
				inputs, err := dec.decode(&protocol.Request{MediaType: tc.mediaType, Body: body})
				if err != nil {
					t.Fatal(err)
				}
				before := keptStrings(inputs)
				if strings.Join(before, "") == "" {
					t.Fatal("nothing kept to check")
				}
				// What the server's next request leaves in the buffer.
				copy(body, bytes.Repeat([]byte{'#'}, len(body)))
				after := keptStrings(inputs)
				for i := range before {
					if before[i] != after[i] {
						t.Errorf("string %d was %q before the body was reused, %q after", i, before[i], after[i])
					}
				}
			})
		}
	}
}

// TestLentInputsAreSetAnew: memory the server lends for a one-event
// request's input (protocol.Request.Inputs) still holds the last request's
// event; the decoder uses it and leaves nothing of that event in it.
func TestLentInputsAreSetAnew(t *testing.T) {
	c, err := contract.Compile([]byte(`{"self":{"vendor":"com.acme","name":"a","format":"jsonschema","version":"1-0-0"},"type":"object"}`), contract.Key{}, "test")
	if err != nil {
		t.Fatal(err)
	}
	decode := DecodeWith(contract.NewSet([]*contract.Contract{c}))
	for _, body := range []string{
		`{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{"x":1}}`,
		`{"schema":"iglu:com.acme/b/jsonschema/1-0-0","data":{}}`,
		`{"data":{}}`,
		`{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{},"contexts":[{"schema":"iglu:com.acme/c/jsonschema/1-0-0","data":{}}],"user_id":"u"}`,
	} {
		want, err := decode(&protocol.Request{MediaType: MediaJSON, Body: []byte(body)})
		if err != nil {
			t.Fatal(err)
		}
		lent := []event.Input{{SchemaKey: "iglu:com.acme/old/jsonschema/1-0-0", Data: []byte(`{"old":1}`), EventID: "old",
			Contexts: []event.Context{{Schema: "old"}}, Namespace: "old", Identity: event.Identity{UserID: "old"}, Raw: []byte("old"),
			Failure: event.NewFailure(event.SchemaViolation, "old"), Arbitrary: true, CheckedBy: c, CreatedAt: time.Now(), SentAt: time.Now()}}
		got, err := decode(&protocol.Request{MediaType: MediaJSON, Body: []byte(body), Inputs: lent})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || &got[0] != &lent[0] {
			t.Fatalf("%s: the lent memory was not used", body)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: with lent memory\n%+v\nwithout\n%+v", body, got, want)
		}
	}
	// A JSON array is read into the lent memory when it holds as many
	// events as the body's size suggests, each set anew; past its end,
	// into memory of its own.
	for _, tc := range []struct {
		body string
		lent bool
	}{
		{`[{"data":{}},{"user_id":"u","data":{}}]`, true},
		{`[{"data":{}},{"data":{}},{"data":{}},{"data":{}},{"data":{}}]`, false},
		{`[` + strings.Repeat(`{"data":{"padding":"`+strings.Repeat("x", 300)+`"}},`, 4) + `{"data":{}}]`, false},
	} {
		want, err := decode(&protocol.Request{MediaType: MediaJSON, Body: []byte(tc.body)})
		if err != nil {
			t.Fatal(err)
		}
		lent := make([]event.Input, 4)
		for i := range lent {
			lent[i] = event.Input{SchemaKey: "old", EventID: "old", Raw: []byte("old"), Arbitrary: true}
		}
		got, err := decode(&protocol.Request{MediaType: MediaJSON, Body: []byte(tc.body), Inputs: lent})
		if err != nil || len(got) != len(want) {
			t.Fatalf("array %.40q: %v, %d inputs, want %d", tc.body, err, len(got), len(want))
		}
		if used := &got[0] == &lent[0]; used != tc.lent {
			t.Errorf("array %.40q: lent memory used %v, want %v", tc.body, used, tc.lent)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("array %.40q: with lent memory\n%+v\nwithout\n%+v", tc.body, got, want)
		}
	}
	// NDJSON of one event, with or without its newline, is read into the
	// lent memory too; a body of more events than it holds, into memory
	// of its own.
	for _, tc := range []struct {
		body string
		n    int
		lent bool
	}{
		{"{\"data\":{}}", 1, true},
		{"{\"data\":{}}\n", 1, true},
		{"\n\n{\"user_id\":\"u\",\"data\":{}}\r\n", 1, true},
		{"{\"data\":{}}\n\n", 1, false},
		{"{\"data\":{}}\n{\"data\":{}}", 2, false},
		{"{\"data\":{}}\n{\"data\":{}}\n", 2, false},
	} {
		want, err := decode(&protocol.Request{MediaType: MediaNDJSON, Body: []byte(tc.body)})
		if err != nil {
			t.Fatal(err)
		}
		lent := []event.Input{{SchemaKey: "old", EventID: "old", Raw: []byte("old"), Failure: event.NewFailure(event.SchemaViolation, "old")}}
		got, err := decode(&protocol.Request{MediaType: MediaNDJSON, Body: []byte(tc.body), Inputs: lent})
		if err != nil || len(got) != tc.n {
			t.Fatalf("NDJSON %q: %v, %d inputs, want %d", tc.body, err, len(got), tc.n)
		}
		if used := &got[0] == &lent[0]; used != tc.lent {
			t.Errorf("NDJSON %q: lent memory used %v, want %v", tc.body, used, tc.lent)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("NDJSON %q: with lent memory\n%+v\nwithout\n%+v", tc.body, got, want)
		}
	}
}
