package segment

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/protocol"
)

// sgContract compiles a contract com.acme/name at version whose x-accord
// holds plan (such as "segment_events": ["Order Completed"]) beside its
// owner.
func sgContract(t *testing.T, name, version, plan string) *contract.Contract {
	t.Helper()
	if plan != "" {
		plan = ", " + plan
	}
	doc := `{"$schema": "` + contract.IgluMetaSchemaURI + `",
		"self": {"vendor": "com.acme", "name": "` + name + `", "format": "jsonschema", "version": "` + version + `"},
		"x-accord": {"owner": "data-team@acme.example"` + plan + `},
		"type": "object"}`
	c, err := contract.Compile([]byte(doc), contract.Key{}, "collector_test.go")
	if err != nil {
		t.Fatalf("compile %s %s: %v", name, version, err)
	}
	return c
}

func sgKey(name, version string) string { return "iglu:com.acme/" + name + "/jsonschema/" + version }

// sgRequest is a POST to /v1/{call} with body, sent with writeKey as HTTP
// Basic user name when it is not empty.
func sgRequest(call, writeKey, body string) *protocol.Request {
	req := &protocol.Request{
		Method: http.MethodPost, Path: "/v1/" + call, Header: http.Header{}, MediaType: MediaJSON, Body: []byte(body),
		PathValue: func(name string) string {
			if name == "call" {
				return call
			}
			return ""
		},
	}
	if writeKey != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(writeKey+":")))
	}
	return req
}

func sgTrack(event, messageID string) string {
	return fmt.Sprintf(`{"type":"track","event":%q,"messageId":%q,"userId":"u1","properties":{"n":1}}`, event, messageID)
}

func sgBatch(msgs ...string) string { return `{"batch":[` + strings.Join(msgs, ",") + `]}` }

// sgOptions has three sources, one per policy, and dedup on.
func sgOptions() Options {
	o := DefaultOptions()
	o.Sources = []Source{
		{Name: "web", WriteKey: "wk_web"},
		{Name: "ios", WriteKey: "wk_ios", Unplanned: Flag},
		{Name: "server", WriteKey: "wk_server", Unplanned: Block},
		{Name: "android", WriteKey: "wk_android", Unplanned: Allow},
	}
	return o
}

func TestCollectorWriteKey(t *testing.T) {
	c := NewDecoders(sgOptions(), contract.NewSet(nil), &protocol.Counters{})
	tests := []struct {
		name   string
		req    *protocol.Request
		status int
		reason string
	}{
		{name: "no key", req: sgRequest(CallTrack, "", sgTrack("E", "m1")), status: http.StatusUnauthorized, reason: "missing_write_key"},
		{name: "unknown key", req: sgRequest(CallTrack, "wk_nope", sgTrack("E", "m1")), status: http.StatusUnauthorized, reason: "unknown_write_key"},
		{name: "unknown key in the body", req: sgRequest(CallBatch, "", `{"writeKey":"wk_nope","batch":[]}`), status: http.StatusUnauthorized, reason: "unknown_write_key"},
		{name: "a known key's prefix", req: sgRequest(CallTrack, "wk_we", sgTrack("E", "m1")), status: http.StatusUnauthorized, reason: "unknown_write_key"},
		{name: "known key in the header", req: sgRequest(CallTrack, "wk_web", sgTrack("E", "m1"))},
		{name: "known key in the body", req: sgRequest(CallBatch, "", `{"writeKey":"wk_web","batch":[`+sgTrack("E", "m1")+`]}`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inputs, reply, err := c.Handle(tc.req)
			if tc.status == 0 {
				if err != nil || len(inputs) != 1 || reply == nil {
					t.Fatalf("Handle: %v, %d inputs, reply %v", err, len(inputs), reply)
				}
				return
			}
			var perr *protocol.Error
			if !errors.As(err, &perr) {
				t.Fatalf("error %v, want a *protocol.Error", err)
			}
			if !perr.Refused || perr.Status != tc.status || perr.Reason != tc.reason {
				t.Errorf("refused %v status %d reason %q, want refused %d %q", perr.Refused, perr.Status, perr.Reason, tc.status, tc.reason)
			}
			if inputs != nil || reply != nil {
				t.Errorf("refused request returned %d inputs and reply %v", len(inputs), reply)
			}
		})
	}
}

func TestCollectorTrackingPlan(t *testing.T) {
	reg := contract.NewSet([]*contract.Contract{
		sgContract(t, "order_completed", "1-0-0", `"segment_events": ["Order Completed"]`),
		sgContract(t, "order_completed", "1-0-9", `"segment_events": ["Order Completed"]`),
		sgContract(t, "order_completed", "1-0-10", `"segment_events": ["Order Completed"]`),
		// A later version that no longer declares a plan does not take it.
		sgContract(t, "order_completed", "2-0-0", ""),
		sgContract(t, "user", "1-0-0", `"segment_calls": ["identify"]`),
		sgContract(t, "unrelated", "1-0-0", ""),
	})
	tests := []struct {
		name   string
		key    string
		call   string
		body   string
		schema string
		// arbitrary, attrs and failure describe an unplanned message.
		arbitrary bool
		attrs     string
		failure   event.FailureType
	}{
		{name: "planned event goes to the latest version declaring it", key: "wk_web", call: CallTrack, body: sgTrack("Order Completed", "m1"),
			schema: sgKey("order_completed", "1-0-10"), attrs: `{"source":"web","type":"track","event":"Order Completed"}`},
		{name: "planned call", key: "wk_server", call: CallIdentify, body: `{"userId":"u1","traits":{"plan":"pro"}}`,
			schema: sgKey("user", "1-0-0"), attrs: `{"source":"server","type":"identify"}`},
		{name: "unplanned, allow by default", key: "wk_web", call: CallTrack, body: sgTrack("Signed Up", "m2"),
			arbitrary: true, attrs: `{"source":"web","type":"track","event":"Signed Up"}`},
		{name: "unplanned, allow", key: "wk_android", call: CallTrack, body: sgTrack("Signed Up", "m3"),
			arbitrary: true, attrs: `{"source":"android","type":"track","event":"Signed Up"}`},
		{name: "unplanned, flag", key: "wk_ios", call: CallTrack, body: sgTrack("Signed Up", "m4"),
			arbitrary: true, attrs: `{"source":"ios","unplanned":true,"type":"track","event":"Signed Up"}`},
		{name: "planned, flag source: not flagged", key: "wk_ios", call: CallTrack, body: sgTrack("Order Completed", "m5"),
			schema: sgKey("order_completed", "1-0-10"), attrs: `{"source":"ios","type":"track","event":"Order Completed"}`},
		{name: "unplanned, block", key: "wk_server", call: CallTrack, body: sgTrack("Signed Up", "m6"),
			failure: event.UnplannedEvent, attrs: `{"source":"server","type":"track","event":"Signed Up"}`},
		{name: "event names match exactly", key: "wk_server", call: CallTrack, body: sgTrack("order completed", "m7"),
			failure: event.UnplannedEvent, attrs: `{"source":"server","type":"track","event":"order completed"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewDecoders(sgOptions(), reg, &protocol.Counters{})
			inputs, _, err := c.Handle(sgRequest(tc.call, tc.key, tc.body))
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if len(inputs) != 1 {
				t.Fatalf("%d inputs, want 1", len(inputs))
			}
			in := inputs[0]
			if in.SchemaKey != tc.schema || in.Arbitrary != tc.arbitrary {
				t.Errorf("schema %q arbitrary %v, want %q %v", in.SchemaKey, in.Arbitrary, tc.schema, tc.arbitrary)
			}
			if string(in.Attributes) != tc.attrs {
				t.Errorf("attributes %s, want %s", in.Attributes, tc.attrs)
			}
			switch {
			case tc.failure == "" && in.Failure != nil:
				t.Errorf("failed: %+v", in.Failure)
			case tc.failure != "" && (in.Failure == nil || in.Failure.Type != tc.failure):
				t.Errorf("failure %+v, want %s", in.Failure, tc.failure)
			case tc.failure != "" && !strings.Contains(in.Failure.Messages[0].Message, "segment_events"):
				t.Errorf("failure message %q does not say how to plan the event", in.Failure.Messages[0].Message)
			}
		})
	}
}

func TestCollectorFailedMessageKeepsSource(t *testing.T) {
	c := NewDecoders(sgOptions(), contract.NewSet(nil), &protocol.Counters{})
	inputs, _, err := c.Handle(sgRequest(CallBatch, "wk_web", sgBatch(`{"type":"nope","messageId":"m1"}`, sgTrack("E", "m2"))))
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if len(inputs) != 2 || inputs[0].Failure == nil || inputs[1].Failure != nil {
		t.Fatalf("inputs %+v, want the first failed and the second read", inputs)
	}
	for i, in := range inputs {
		if !strings.HasPrefix(string(in.Attributes), `{"source":"web"`) {
			t.Errorf("input %d attributes %s lack the source", i, in.Attributes)
		}
	}
}

func TestCollectorDedup(t *testing.T) {
	body := sgBatch(sgTrack("E", "m1"), sgTrack("E", "m2"), `{"type":"track","event":"E","userId":"u1"}`)
	tests := []struct {
		name string
		// stored says whether the first request's records were stored
		// (reply.Stored called).
		stored bool
		// second is how many of the resent messages come back.
		second     int
		duplicates uint64
	}{
		{name: "resent after storing: dropped", stored: true, second: 1, duplicates: 2},
		{name: "resent after a failed request: kept", stored: false, second: 3, duplicates: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			counters := &protocol.Counters{}
			c := NewDecoders(sgOptions(), contract.NewSet(nil), counters)
			inputs, reply, err := c.Handle(sgRequest(CallBatch, "wk_web", body))
			if err != nil || len(inputs) != 3 {
				t.Fatalf("first request: %v, %d inputs", err, len(inputs))
			}
			if reply == nil || reply.Stored == nil {
				t.Fatalf("reply %+v has no Stored", reply)
			}
			// Has before Stored: asking again before the records are
			// stored drops nothing.
			if again, _, err := c.Handle(sgRequest(CallBatch, "wk_web", body)); err != nil || len(again) != 3 {
				t.Fatalf("resent before storing: %v, %d inputs, want 3", err, len(again))
			}
			if tc.stored {
				reply.Stored()
			}
			inputs, _, err = c.Handle(sgRequest(CallBatch, "wk_web", body))
			if err != nil {
				t.Fatalf("resent: %v", err)
			}
			if len(inputs) != tc.second {
				t.Errorf("resent: %d inputs, want %d", len(inputs), tc.second)
			}
			if tc.stored && (len(inputs) != 1 || inputs[0].EventID != "") {
				t.Errorf("resent: kept %+v, want only the message without a messageId", inputs)
			}
			if got := counters.Snapshot()["segment.duplicates"]; got != tc.duplicates {
				t.Errorf("segment.duplicates = %d, want %d", got, tc.duplicates)
			}
		})
	}
}

func TestCollectorDedupAcrossSourcesAndOff(t *testing.T) {
	t.Run("an id from another source is not a duplicate", func(t *testing.T) {
		// Sources do not share message ids: one source (or whoever has its
		// write key) must not be able to drop another's messages.
		counters := &protocol.Counters{}
		c := NewDecoders(sgOptions(), contract.NewSet(nil), counters)
		_, reply, err := c.Handle(sgRequest(CallTrack, "wk_web", sgTrack("E", "m1")))
		if err != nil {
			t.Fatal(err)
		}
		reply.Stored()
		inputs, reply, err := c.Handle(sgRequest(CallTrack, "wk_ios", sgTrack("E", "m1")))
		if err != nil || len(inputs) != 1 || counters.Snapshot()["segment.duplicates"] != 0 {
			t.Errorf("sent from another source: %v, %d inputs, counters %v", err, len(inputs), counters.Snapshot())
		}
		reply.Stored()
		inputs, _, err = c.Handle(sgRequest(CallTrack, "wk_ios", sgTrack("E", "m1")))
		if err != nil || len(inputs) != 0 || counters.Snapshot()["segment.duplicates"] != 1 {
			t.Errorf("resent from the same source: %v, %d inputs, counters %v", err, len(inputs), counters.Snapshot())
		}
	})
	t.Run("window 0 turns dedup off", func(t *testing.T) {
		o := sgOptions()
		o.DedupWindow = 0
		counters := &protocol.Counters{}
		c := NewDecoders(o, contract.NewSet(nil), counters)
		for i := range 3 {
			inputs, reply, err := c.Handle(sgRequest(CallTrack, "wk_web", sgTrack("E", "m1")))
			if err != nil || len(inputs) != 1 {
				t.Fatalf("send %d: %v, %d inputs", i, err, len(inputs))
			}
			reply.Stored()
		}
		if n := counters.Snapshot()["segment.duplicates"]; n != 0 {
			t.Errorf("segment.duplicates = %d with dedup off", n)
		}
	})
}

func TestCollectorPlanFollowsRegistry(t *testing.T) {
	reg := contract.NewSet([]*contract.Contract{sgContract(t, "order_completed", "1-0-0", `"segment_events": ["Order Completed"]`)})
	c := NewDecoders(sgOptions(), reg, &protocol.Counters{})
	schemaOf := func(id string) string {
		t.Helper()
		inputs, _, err := c.Handle(sgRequest(CallTrack, "wk_web", sgTrack("Order Completed", id)))
		if err != nil || len(inputs) != 1 {
			t.Fatalf("Handle: %v, %d inputs", err, len(inputs))
		}
		return inputs[0].SchemaKey
	}
	if got, want := schemaOf("m1"), sgKey("order_completed", "1-0-0"); got != want {
		t.Fatalf("schema %q, want %q", got, want)
	}
	reg.Replace([]*contract.Contract{
		sgContract(t, "order_completed", "1-0-0", `"segment_events": ["Order Completed"]`),
		sgContract(t, "order_completed", "1-1-0", `"segment_events": ["Order Completed"]`),
	})
	if got, want := schemaOf("m2"), sgKey("order_completed", "1-1-0"); got != want {
		t.Errorf("after a new version: schema %q, want %q", got, want)
	}
	reg.Replace([]*contract.Contract{sgContract(t, "checkout", "1-0-0", `"segment_events": ["Order Completed"]`)})
	if got, want := schemaOf("m3"), sgKey("checkout", "1-0-0"); got != want {
		t.Errorf("after the event moved: schema %q, want %q", got, want)
	}
	reg.Replace(nil)
	if got := schemaOf("m4"); got != "" {
		t.Errorf("after the contracts were removed: schema %q, want none", got)
	}
}

func TestCollectorPlanConflicts(t *testing.T) {
	reg := contract.NewSet([]*contract.Contract{
		sgContract(t, "a_order", "1-0-0", `"segment_events": ["Order Completed"]`),
		sgContract(t, "b_order", "1-0-0", `"segment_events": ["Order Completed", "Order Refunded"]`),
		sgContract(t, "c_signup", "1-0-0", `"segment_events": ["Signed Up"]`),
	})
	var mu sync.Mutex
	var problems []error
	c := NewDecoders(sgOptions(), reg, &protocol.Counters{})
	c.PlanProblems = func(err error) {
		mu.Lock()
		defer mu.Unlock()
		problems = append(problems, err)
	}
	tests := []struct {
		event, schema string
	}{
		{"Order Completed", sgKey("a_order", "1-0-0")},
		// Only the name in conflict goes to the first contract; the rest
		// of the later contract's plan stands.
		{"Order Refunded", sgKey("b_order", "1-0-0")},
		{"Signed Up", sgKey("c_signup", "1-0-0")},
	}
	for i, tc := range tests {
		t.Run(tc.event, func(t *testing.T) {
			inputs, _, err := c.Handle(sgRequest(CallTrack, "wk_web", sgTrack(tc.event, fmt.Sprint("m", i))))
			if err != nil || len(inputs) != 1 {
				t.Fatalf("Handle: %v, %d inputs", err, len(inputs))
			}
			if inputs[0].SchemaKey != tc.schema {
				t.Errorf("schema %q, want %q", inputs[0].SchemaKey, tc.schema)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if len(problems) != 1 {
		t.Fatalf("%d plan problems reported, want 1 (the plan is built once per generation): %v", len(problems), problems)
	}
	for _, part := range []string{"Order Completed", sgKey("a_order", "1-0-0"), sgKey("b_order", "1-0-0")} {
		if !strings.Contains(problems[0].Error(), part) {
			t.Errorf("problem %q does not name %s", problems[0], part)
		}
	}
}

func TestPlanOf(t *testing.T) {
	tests := []struct {
		name      string
		contracts func(t *testing.T) []*contract.Contract
		lookups   map[string]string // event -> schema ("" for not covered)
		errParts  []string
	}{
		{
			name: "latest version, numerically",
			contracts: func(t *testing.T) []*contract.Contract {
				return []*contract.Contract{
					sgContract(t, "order", "1-0-10", `"segment_events": ["A"]`),
					sgContract(t, "order", "1-0-9", `"segment_events": ["A"]`),
					sgContract(t, "order", "1-2-0", `"segment_events": ["A"]`),
				}
			},
			lookups: map[string]string{"A": sgKey("order", "1-2-0")},
		},
		{
			name: "contracts without a plan are ignored",
			contracts: func(t *testing.T) []*contract.Contract {
				return []*contract.Contract{sgContract(t, "order", "1-0-0", ""), sgContract(t, "page", "1-0-0", `"segment_calls": ["page"]`)}
			},
			lookups: map[string]string{"A": ""},
		},
		{
			name: "a newer version with an empty plan does not hide an older one's",
			contracts: func(t *testing.T) []*contract.Contract {
				return []*contract.Contract{
					sgContract(t, "order", "1-0-0", `"segment_events": ["A"]`),
					sgContract(t, "order", "1-0-1", `"segment_events": []`),
				}
			},
			lookups: map[string]string{"A": sgKey("order", "1-0-0")},
		},
		{
			name: "conflict between two contracts",
			contracts: func(t *testing.T) []*contract.Contract {
				return []*contract.Contract{
					sgContract(t, "a", "1-0-0", `"segment_events": ["A"]`),
					sgContract(t, "b", "1-0-0", `"segment_events": ["A", "B"]`),
					sgContract(t, "c", "1-0-0", `"segment_events": ["C"]`),
				}
			},
			lookups:  map[string]string{"A": sgKey("a", "1-0-0"), "B": sgKey("b", "1-0-0"), "C": sgKey("c", "1-0-0")},
			errParts: []string{"tracking plan", `event "A" is covered by both`},
		},
		{
			name: "an unknown call type",
			contracts: func(t *testing.T) []*contract.Contract {
				return []*contract.Contract{
					sgContract(t, "a", "1-0-0", `"segment_calls": ["click"]`),
					sgContract(t, "c", "1-0-0", `"segment_events": ["C"]`),
				}
			},
			lookups:  map[string]string{"C": sgKey("c", "1-0-0")},
			errParts: []string{`"click"`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := PlanOf(tc.contracts(t))
			if len(tc.errParts) == 0 && err != nil {
				t.Fatalf("PlanOf: %v", err)
			}
			if len(tc.errParts) > 0 && err == nil {
				t.Fatalf("PlanOf reported no conflict")
			}
			for _, part := range tc.errParts {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not hold %q", err, part)
				}
			}
			if plan == nil {
				t.Fatalf("PlanOf returned no plan")
			}
			for ev, want := range tc.lookups {
				got, ok := plan.Lookup(CallTrack, ev)
				if got != want || ok != (want != "") {
					t.Errorf("Lookup(track, %q) = %q, %v; want %q", ev, got, ok, want)
				}
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Options)
		// errs are the keys the error must name; none for valid options.
		errs []string
	}{
		{name: "defaults"},
		{name: "sources with every policy", modify: func(o *Options) { *o = sgOptions() }},
		{name: "empty policy is allow", modify: func(o *Options) { o.Sources = []Source{{Name: "web", WriteKey: "k"}} }},
		{name: "dedup off", modify: func(o *Options) { o.DedupWindow, o.DedupMaxIDs = 0, 0 }},
		{name: "duplicate write keys", modify: func(o *Options) {
			o.Sources = []Source{{Name: "web", WriteKey: "k"}, {Name: "ios", WriteKey: "x"}, {Name: "app", WriteKey: "k"}}
		}, errs: []string{"sources[2].write_key", "sources[0]"}},
		{name: "bad policy", modify: func(o *Options) { o.Sources = []Source{{Name: "web", WriteKey: "k", Unplanned: "drop"}} },
			errs: []string{"sources[0].unplanned", `"drop"`}},
		{name: "policy in upper case", modify: func(o *Options) { o.Sources = []Source{{Name: "web", WriteKey: "k", Unplanned: "Flag"}} },
			errs: []string{"sources[0].unplanned"}},
		{name: "empty name and key", modify: func(o *Options) { o.Sources = []Source{{}} },
			errs: []string{"sources[0].name", "sources[0].write_key", "ACCORD_PROTOCOLS_SEGMENT_SOURCES_0_WRITE_KEY"}},
		{name: "negative window", modify: func(o *Options) { o.DedupWindow = -1 }, errs: []string{"dedup_window"}},
		{name: "window without ids", modify: func(o *Options) { o.DedupMaxIDs = 0 }, errs: []string{"dedup_max_ids"}},
		{name: "bad limits", modify: func(o *Options) { o.Limits.Event = -1 }, errs: []string{"max_event_bytes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			if tc.modify != nil {
				tc.modify(&o)
			}
			err := o.Validate()
			check.ErrorSays(t, err, tc.errs...)
		})
	}
}

// A batch that holds one messageId twice stores it once.
func TestCollectorDropsDuplicatesWithinARequest(t *testing.T) {
	counters := &protocol.Counters{}
	c := NewDecoders(sgOptions(), contract.NewSet(nil), counters)
	inputs, _, err := c.Handle(sgRequest(CallBatch, "wk_web", sgBatch(sgTrack("A", "m1"), sgTrack("A", "m1"), sgTrack("B", "m2"))))
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) != 2 || inputs[0].EventID != "m1" || inputs[1].EventID != "m2" {
		t.Fatalf("inputs %+v; want m1 and m2 once each", inputs)
	}
	if got := counters.Snapshot()["segment.duplicates"]; got != 1 {
		t.Errorf("duplicates counted %d; want 1", got)
	}
}

// A body refused as a whole is stored as a failed record, without the write
// key it carried.
func TestCollectorKeepsTheWriteKeyOutOfARejectedBody(t *testing.T) {
	c := NewDecoders(sgOptions(), contract.NewSet(nil), &protocol.Counters{})
	body := `{"writeKey":"wk_web","batch":[` + sgTrack("A", "m1") + `],"sentAt":5}`
	req := sgRequest(CallBatch, "", body)
	_, _, err := c.Handle(req)
	var perr *protocol.Error
	if !errors.As(err, &perr) || perr.Refused {
		t.Fatalf("Handle: %v; want a *protocol.Error for the bad sentAt", err)
	}
	if perr.Raw == nil || strings.Contains(string(perr.Raw), "wk_web") || !strings.Contains(string(perr.Raw), `"sentAt":5`) {
		t.Errorf("raw kept %q; want the body without its writeKey", perr.Raw)
	}
}

// A body cut short cannot lose its writeKey member: the key's text is taken
// out of what is stored instead.
func TestCollectorKeepsTheWriteKeyOutOfATruncatedBody(t *testing.T) {
	c := NewDecoders(sgOptions(), contract.NewSet(nil), &protocol.Counters{})
	for _, body := range []string{
		`{"writeKey":"wk_web","batch":[` + sgTrack("A", "m1"),
		`{"writeKey":"wk_web","batch":[{"type":"track","event":"E","properties":{"a":1,"a":2}}]`,
		`{"writeKey":"wk_web","sentAt":5,"batch":[{"type":"track","event":"E","properties":{"a":1,"a":2}}]}`,
	} {
		_, _, err := c.Handle(sgRequest(CallBatch, "", body))
		var perr *protocol.Error
		if !errors.As(err, &perr) || perr.Refused {
			t.Fatalf("Handle(%s): %v; want a *protocol.Error storing the body", body, err)
		}
		if perr.Raw == nil || strings.Contains(string(perr.Raw), "wk_web") {
			t.Errorf("raw kept %q; want the body without its write key", perr.Raw)
		}
	}
}

// BenchmarkHandleLargeBatch reads a batch of 9,500 distinct messages: the
// in-batch duplicate check must stay linear in the batch.
func BenchmarkHandleLargeBatch(b *testing.B) {
	opts := sgOptions()
	opts.Limits.Batch = 4 << 20
	msgs := make([]string, 9500)
	for i := range msgs {
		msgs[i] = fmt.Sprintf(`{"type":"track","event":"E","userId":"u1","messageId":"m%d"}`, i)
	}
	body := sgBatch(msgs...)
	b.ReportAllocs()
	for b.Loop() {
		// A new decoder set each time: the cross-request dedup would
		// otherwise drop every message after the first round.
		b.StopTimer()
		c := NewDecoders(opts, contract.NewSet(nil), &protocol.Counters{})
		b.StartTimer()
		if _, _, err := c.Handle(sgRequest(CallBatch, "wk_web", body)); err != nil {
			b.Fatal(err)
		}
	}
}
