package pipeline

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/event/eventtest"
)

const orderSchema = `{"$schema": "http://json-schema.org/draft-07/schema#",
 "self": {"vendor": "com.acme", "name": "order", "format": "jsonschema", "version": "1-0-0"},
 "type": "object", "properties": {"id": {"type": "string"}, "total": {"type": "number", "minimum": 0}},
 "required": ["id", "total"], "additionalProperties": false}`

const userSchema = `{"$schema": "http://json-schema.org/draft-07/schema#",
 "self": {"vendor": "com.acme", "name": "user", "format": "jsonschema", "version": "1-0-0"},
 "type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}`

// testContracts compiles the order and user contracts.
func testContracts(t testing.TB) []*contract.Contract {
	t.Helper()
	var cs []*contract.Contract
	for _, doc := range []string{orderSchema, userSchema} {
		c, err := contract.Compile([]byte(doc), contract.Key{}, "test")
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	return cs
}

func newTestPipeline(t testing.TB) *Pipeline {
	t.Helper()
	return New(contract.NewSet(testContracts(t)), event.Collector{Name: "accord", Version: "test", Env: "test", Host: "h"}, "default")
}

var collected = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func testRequest() Request {
	return Request{Protocol: "selfdesc", RequestID: "req-1", Source: event.Source{IP: "192.0.2.1", Path: "/events"}, CollectedAt: collected}
}

func TestProcess(t *testing.T) {
	good := `{"id": "o1", "total": 9.5}`
	tests := []struct {
		name        string
		in          event.Input
		wantValid   bool
		wantType    event.FailureType
		wantPaths   []string
		wantVersion string
	}{
		{name: "valid event with a valid context", in: event.Input{SchemaKey: "iglu:com.acme/order/jsonschema/1-0-0", Data: json.RawMessage(good),
			Contexts: []event.Context{{Schema: "iglu:com.acme/user/jsonschema/1-0-0", Data: json.RawMessage(`{"id": "u1"}`)}}}, wantValid: true, wantVersion: "1-0-0"},
		{name: "arbitrary event, stored unvalidated", in: event.Input{Arbitrary: true, Data: json.RawMessage(`{"anything": [1]}`)}, wantValid: true},
		{name: "arbitrary event the protocol could not read", in: event.Input{Arbitrary: true, Failure: event.NewFailure(event.PayloadFormatViolation, "not JSON")},
			wantType: event.PayloadFormatViolation},
		{name: "path-form key", in: event.Input{SchemaKey: "com.acme/order/jsonschema/1-0-0", Data: json.RawMessage(good)}, wantValid: true, wantVersion: "1-0-0"},
		{name: "data violates contract", in: event.Input{SchemaKey: "iglu:com.acme/order/jsonschema/1-0-0", Data: json.RawMessage(`{"id": 1, "total": -1}`)},
			wantType: event.SchemaViolation, wantPaths: []string{"/data/id", "/data/total"}, wantVersion: "1-0-0"},
		{name: "context violates its contract", in: event.Input{SchemaKey: "iglu:com.acme/order/jsonschema/1-0-0", Data: json.RawMessage(good),
			Contexts: []event.Context{{Schema: "iglu:com.acme/user/jsonschema/1-0-0", Data: json.RawMessage(`{}`)}}}, wantType: event.SchemaViolation, wantPaths: []string{"/contexts/0/data"}, wantVersion: "1-0-0"},
		{name: "unknown contract", in: event.Input{SchemaKey: "iglu:com.acme/order/jsonschema/9-0-0", Data: json.RawMessage(good)},
			wantType: event.SchemaNotFound, wantPaths: []string{"/data"}, wantVersion: "9-0-0"},
		{name: "unknown context contract", in: event.Input{SchemaKey: "iglu:com.acme/order/jsonschema/1-0-0", Data: json.RawMessage(good),
			Contexts: []event.Context{{Schema: "iglu:com.acme/nope/jsonschema/1-0-0", Data: json.RawMessage(`{}`)}}}, wantType: event.SchemaNotFound, wantPaths: []string{"/contexts/0/data"}, wantVersion: "1-0-0"},
		{name: "malformed key", in: event.Input{SchemaKey: "order", Data: json.RawMessage(good)}, wantType: event.SchemaNotFound, wantPaths: []string{"/data"}},
		{name: "no schema", in: event.Input{Data: json.RawMessage(good)}, wantType: event.ProtocolViolation, wantPaths: []string{""}},
		{name: "protocol failure passes through", in: event.Input{Failure: event.NewFailure(event.PayloadFormatViolation, "bad"), Raw: []byte("{x")}, wantType: event.PayloadFormatViolation, wantPaths: []string{""}},
	}
	p := newTestPipeline(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.in.Raw == nil {
				tc.in.Raw = []byte(`{"the":"original"}`)
			}
			env := p.Process(testRequest(), []event.Input{tc.in})[0]
			eventtest.Check(t, env)
			if env.Valid != tc.wantValid {
				t.Fatalf("valid %v, want %v (failure %+v)", env.Valid, tc.wantValid, env.Failure)
			}
			if env.Version != tc.wantVersion {
				t.Errorf("version %q, want %q", env.Version, tc.wantVersion)
			}
			if tc.wantValid {
				if env.Failure != nil || env.Raw != "" {
					t.Errorf("valid record has failure %+v raw %q", env.Failure, env.Raw)
				}
				wantSchema, wantVendor, wantName := "iglu:com.acme/order/jsonschema/1-0-0", "com.acme", "order"
				if tc.in.Arbitrary {
					wantSchema, wantVendor, wantName = "", "", ""
				}
				if env.Schema != wantSchema || env.Vendor != wantVendor || env.Name != wantName {
					t.Errorf("schema %q vendor %q name %q", env.Schema, env.Vendor, env.Name)
				}
				return
			}
			if env.Failure.Type != tc.wantType {
				t.Fatalf("failure type %s, want %s: %+v", env.Failure.Type, tc.wantType, env.Failure)
			}
			var paths []string
			for _, m := range env.Failure.Messages {
				paths = append(paths, m.InstancePath)
				if m.Message == "" {
					t.Errorf("message without a sentence: %+v", m)
				}
			}
			if strings.Join(paths, ",") != strings.Join(tc.wantPaths, ",") {
				t.Errorf("instance paths %v, want %v", paths, tc.wantPaths)
			}
			if env.Raw != string(tc.in.Raw) || env.RawEncoding != event.RawText {
				t.Errorf("raw %q (%s), want the original input", env.Raw, env.RawEncoding)
			}
		})
	}
}

func TestAnnotate(t *testing.T) {
	p := newTestPipeline(t)
	created := collected.Add(-time.Hour)
	sent := created.Add(2 * time.Second)
	in := event.Input{SchemaKey: "iglu:com.acme/order/jsonschema/1-0-0", Data: json.RawMessage(`{"id": "o1", "total": 1}`),
		EventID: "11111111-2222-4333-8444-555555555555", CreatedAt: created, SentAt: sent, Identity: event.Identity{UserID: "u1"}}
	envs := p.Process(testRequest(), []event.Input{in, {SchemaKey: in.SchemaKey, Data: in.Data}})
	a, b := envs[0], envs[1]
	if a.EventID != in.EventID {
		t.Errorf("client id not kept: %s", a.EventID)
	}
	if b.EventID == "" || b.EventID == a.EventID {
		t.Errorf("generated id %q", b.EventID)
	}
	if !a.EventTime.Equal(collected.Add(-2*time.Second)) || !b.EventTime.Equal(collected) {
		t.Errorf("event times %v, %v", a.EventTime, b.EventTime)
	}
	if a.RequestID != "req-1" || a.Protocol != "selfdesc" || a.Namespace != "default" || a.Source.IP != "192.0.2.1" || a.Identity.UserID != "u1" || a.Collector.Host != "h" {
		t.Errorf("annotations %+v", a)
	}
	if a.Fingerprint == "" || a.Fingerprint != b.Fingerprint {
		t.Errorf("identical inputs should share a fingerprint: %q %q", a.Fingerprint, b.Fingerprint)
	}
	other := p.Process(testRequest(), []event.Input{{SchemaKey: in.SchemaKey, Data: json.RawMessage(`{"id": "o2", "total": 1}`)}})[0]
	if other.Fingerprint == a.Fingerprint {
		t.Error("different data, same fingerprint")
	}
}

// An id longer than MaxEventIDBytes fails its event as a protocol
// violation, stored under an id Accord generates; one of exactly
// MaxEventIDBytes is kept.
func TestEventIDBounded(t *testing.T) {
	p := newTestPipeline(t)
	data := json.RawMessage(`{"id": "o1", "total": 1}`)
	key := "iglu:com.acme/order/jsonschema/1-0-0"
	longest, tooLong := strings.Repeat("a", MaxEventIDBytes), strings.Repeat("a", MaxEventIDBytes+1)
	envs := p.Process(testRequest(), []event.Input{{SchemaKey: key, Data: data, EventID: longest}, {SchemaKey: key, Data: data, EventID: tooLong, Raw: []byte("raw")}})
	if !envs[0].Valid || envs[0].EventID != longest {
		t.Errorf("an id of %d bytes: valid %v, id kept %v", MaxEventIDBytes, envs[0].Valid, envs[0].EventID == longest)
	}
	b := envs[1]
	if b.Valid || b.Failure == nil || b.Failure.Type != event.ProtocolViolation || !strings.Contains(b.Failure.Messages[0].Message, "256 bytes; send one of at most 255") {
		t.Errorf("an id of %d bytes: valid %v, failure %+v", len(tooLong), b.Valid, b.Failure)
	}
	if len(b.EventID) != 36 {
		t.Errorf("the failed record's id %q is not one Accord generated", b.EventID)
	}
}

func TestEventTime(t *testing.T) {
	c := collected
	tests := []struct {
		name          string
		sent, created time.Time
		want          time.Time
	}{
		{"neither", time.Time{}, time.Time{}, c},
		{"created only", time.Time{}, c.Add(-time.Minute), c.Add(-time.Minute)},
		{"both: device clock skew corrected", c.Add(time.Hour), c.Add(time.Hour - 5*time.Second), c.Add(-5 * time.Second)},
		{"sent only", c.Add(-time.Second), time.Time{}, c},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := EventTime(c, tc.sent, tc.created); !got.Equal(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReject(t *testing.T) {
	p := newTestPipeline(t)
	env := p.Reject(testRequest(), event.NewFailure(event.PayloadFormatViolation, "not JSON"), []byte{0xff, 0xfe, 'x'})
	eventtest.Check(t, env)
	if env.Valid || env.Failure.Type != event.PayloadFormatViolation || env.EventID == "" {
		t.Fatalf("%+v", env)
	}
	if env.RawEncoding != event.RawBase64 || env.Raw != "//54" {
		t.Errorf("raw %q (%s)", env.Raw, env.RawEncoding)
	}
}

// recordingStage notes what it saw and fails the events whose data holds
// "refuse", as a privacy or routing stage might.
type recordingStage struct {
	name string
	seen *[]string
}

func (s recordingStage) Process(req Request, events []Event) {
	for i := range events {
		ev := &events[i]
		contractURI := "-"
		if ev.Contract != nil {
			contractURI = ev.Contract.URI
		}
		*s.seen = append(*s.seen, s.name+" "+req.RequestID+" "+contractURI+" valid="+map[bool]string{true: "yes", false: "no"}[ev.Envelope.Valid])
		if !ev.Failed() && strings.Contains(string(ev.Input.Data), "refuse") {
			ev.Fail(event.NewFailure(event.SchemaViolation, "refused by "+s.name))
		}
	}
}

// Stages run after validation, in the order given, on every event of the
// request; they see the contract validation resolved, and one can fail an
// event for the stages after it.
func TestStagesRunInOrderAfterValidation(t *testing.T) {
	c, err := contract.Compile([]byte(orderSchema), contract.Key{}, "test")
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	p := New(contract.NewSet([]*contract.Contract{c}), event.Collector{Name: "accord"}, "default",
		recordingStage{"first", &seen}, recordingStage{"second", &seen})
	envs := p.Process(testRequest(), []event.Input{
		{SchemaKey: "iglu:com.acme/order/jsonschema/1-0-0", Data: json.RawMessage(`{"id": "refuse", "total": 1}`), Raw: []byte("raw-1")},
		{SchemaKey: "iglu:com.acme/order/jsonschema/1-0-0", Data: json.RawMessage(`{"id": 1, "total": 1}`)},
	})
	want := []string{
		"first req-1 iglu:com.acme/order/jsonschema/1-0-0 valid=yes",
		"first req-1 iglu:com.acme/order/jsonschema/1-0-0 valid=no",
		"second req-1 iglu:com.acme/order/jsonschema/1-0-0 valid=no",
		"second req-1 iglu:com.acme/order/jsonschema/1-0-0 valid=no",
	}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("stages saw\n%s\nwant\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
	if envs[0].Valid || envs[0].Failure.Messages[0].Message != "refused by first" || envs[0].Raw != "raw-1" {
		t.Errorf("event failed by a stage: %+v", envs[0])
	}
	if envs[1].Valid || envs[1].Failure.Type != event.SchemaViolation {
		t.Errorf("event failed by validation: %+v", envs[1])
	}
}

// An event with thousands of problems keeps a bounded failure: its size
// must not grow many times the event's.
func TestFailureMessagesBounded(t *testing.T) {
	p := newTestPipeline(t)
	var ctxs []event.Context
	for range 500 {
		ctxs = append(ctxs, event.Context{Schema: "iglu:com.acme/user/jsonschema/1-0-0", Data: json.RawMessage(`{}`)})
	}
	env := p.Process(testRequest(), []event.Input{{SchemaKey: "iglu:com.acme/order/jsonschema/1-0-0", Data: json.RawMessage(`{"id": 1, "total": -1}`), Contexts: ctxs}})[0]
	if env.Failure == nil || env.Failure.Type != event.SchemaViolation {
		t.Fatalf("failure %+v, want schema_violation", env.Failure)
	}
	msgs := env.Failure.Messages
	if len(msgs) != maxMessages+1 || !strings.Contains(msgs[maxMessages].Message, "more problems") {
		t.Fatalf("%d messages, want %d and a last one counting the rest", len(msgs), maxMessages+1)
	}
	if !strings.HasPrefix(msgs[maxMessages].Message, "482 more") {
		t.Errorf("last message %q, want it to count the 482 not listed", msgs[maxMessages].Message)
	}
}

// budgetResolver answers every lookup with the spent lookup budget.
type budgetResolver struct{}

func (budgetResolver) Resolve(string) (*contract.Contract, error) {
	return nil, contract.ErrLookupBudget
}

func TestUnknownContexts(t *testing.T) {
	order, user := "iglu:com.acme/order/jsonschema/1-0-0", "iglu:com.acme/user/jsonschema/1-0-0"
	nope, gone := "iglu:com.acme/nope/jsonschema/1-0-0", "iglu:com.acme/gone/jsonschema/2-0-0"
	good := json.RawMessage(`{"id": "o1", "total": 9.5}`)
	ctx := func(key, data string) event.Context { return event.Context{Schema: key, Data: json.RawMessage(data)} }
	tests := []struct {
		name      string
		policy    UnknownContexts
		in        event.Input
		wantValid bool
		wantType  event.FailureType
		wantAttrs string // the record's attributes, when valid
		wantKeys  []string
	}{
		{name: "fail: an unknown context fails the event", policy: FailUnknownContexts,
			in:       event.Input{SchemaKey: order, Data: good, Contexts: []event.Context{ctx(nope, `{"a":1}`)}},
			wantType: event.SchemaNotFound, wantKeys: []string{nope}},
		{name: "the zero policy is fail", policy: "",
			in:       event.Input{SchemaKey: order, Data: good, Contexts: []event.Context{ctx(nope, `{"a":1}`)}},
			wantType: event.SchemaNotFound, wantKeys: []string{nope}},
		{name: "keep: stored good, flagged, the known context still validated", policy: KeepUnknownContexts,
			in:        event.Input{SchemaKey: order, Data: good, Attributes: []byte(`{"source":"web"}`), Contexts: []event.Context{ctx(nope, `{"a":1}`), ctx(user, `{"id":"u1"}`), ctx(gone, `[]`)}},
			wantValid: true, wantAttrs: `{"unknown_contexts":["` + nope + `","` + gone + `"],"source":"web"}`, wantKeys: []string{nope, gone}},
		{name: "keep: no attributes before", policy: KeepUnknownContexts,
			in:        event.Input{SchemaKey: order, Data: good, Contexts: []event.Context{ctx(nope, `{}`)}},
			wantValid: true, wantAttrs: `{"unknown_contexts":["` + nope + `"]}`, wantKeys: []string{nope}},
		{name: "keep: a known context that is invalid still fails", policy: KeepUnknownContexts,
			in:       event.Input{SchemaKey: order, Data: good, Contexts: []event.Context{ctx(nope, `{}`), ctx(user, `{}`)}},
			wantType: event.SchemaViolation, wantKeys: []string{nope}},
		{name: "keep: an unknown event contract still fails", policy: KeepUnknownContexts,
			in:       event.Input{SchemaKey: "iglu:com.acme/order/jsonschema/9-0-0", Data: good},
			wantType: event.SchemaNotFound},
		{name: "keep: a malformed context key still fails", policy: KeepUnknownContexts,
			in:       event.Input{SchemaKey: order, Data: good, Contexts: []event.Context{ctx("nope", `{}`)}},
			wantType: event.SchemaNotFound},
		{name: "keep: every context known, attributes untouched", policy: KeepUnknownContexts,
			in:        event.Input{SchemaKey: order, Data: good, Attributes: []byte(`{"source":"web"}`), Contexts: []event.Context{ctx(user, `{"id":"u1"}`)}},
			wantValid: true, wantAttrs: `{"source":"web"}`},
	}
	cs := testContracts(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewWithPolicy(contract.NewSet(cs), tc.policy, event.Collector{Name: "accord"}, "default")
			tc.in.Raw = []byte(`{"the":"original"}`)
			env := p.Process(testRequest(), []event.Input{tc.in})[0]
			eventtest.Check(t, env)
			if env.Valid != tc.wantValid {
				t.Fatalf("valid %v, want %v (failure %+v)", env.Valid, tc.wantValid, env.Failure)
			}
			if tc.wantValid && string(env.Attributes) != tc.wantAttrs {
				t.Errorf("attributes %s, want %s", env.Attributes, tc.wantAttrs)
			}
			if !tc.wantValid && env.Failure.Type != tc.wantType {
				t.Errorf("failure type %s, want %s: %+v", env.Failure.Type, tc.wantType, env.Failure)
			}
			if strings.Join(env.UnknownContexts, " ") != strings.Join(tc.wantKeys, " ") {
				t.Errorf("unknown contexts %q, want %q", env.UnknownContexts, tc.wantKeys)
			}
			if tc.wantValid && len(env.Contexts) != len(tc.in.Contexts) {
				t.Errorf("%d contexts stored, want all %d as sent", len(env.Contexts), len(tc.in.Contexts))
			}
		})
	}
	t.Run("keep: a spent lookup budget still fails", func(t *testing.T) {
		p := NewWithPolicy(budgetResolver{}, KeepUnknownContexts, event.Collector{Name: "accord"}, "default")
		env := p.Process(testRequest(), []event.Input{{SchemaKey: order, Data: good, Contexts: []event.Context{ctx(nope, `{}`)}}})[0]
		if env.Valid || len(env.UnknownContexts) != 0 {
			t.Errorf("valid %v unknown %q; want failed, nothing unknown", env.Valid, env.UnknownContexts)
		}
	})
	t.Run("policy values", func(t *testing.T) {
		for _, ok := range []UnknownContexts{"", FailUnknownContexts, KeepUnknownContexts} {
			if err := ok.Validate(); err != nil {
				t.Errorf("%q: %v", ok, err)
			}
		}
		if err := UnknownContexts("allow").Validate(); err == nil || !strings.Contains(err.Error(), "use fail or keep") {
			t.Errorf("allow: %v, want an error naming the policies", err)
		}
	})
}
