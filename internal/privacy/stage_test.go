package privacy

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/pipeline"
	"github.com/accord-events/accord/internal/racedetector"
)

func testContract(t *testing.T, name, props string) *contract.Contract {
	t.Helper()
	doc := `{"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
	  "self": {"vendor": "com.acme", "name": "` + name + `", "format": "jsonschema", "version": "1-0-0"},
	  "type": "object", "properties": ` + props + `}`
	c, err := contract.Compile([]byte(doc), contract.Key{}, name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newTestPipeline(t *testing.T, secrets *Secrets) (*pipeline.Pipeline, *Stage) {
	t.Helper()
	reg := contract.NewSet([]*contract.Contract{
		testContract(t, "signup", `{"email": {"type": "string", "x-accord-pii": {"class": "restricted", "action": "hash"}}, "n": {"type": "integer"}}`),
		testContract(t, "user", `{"id": {"type": "string", "x-accord-pii": {"class": "confidential", "action": "hmac"}}, "plan": {"enum": ["free", "pro"]}}`),
		testContract(t, "plain", `{"a": {"type": "string"}}`),
	})
	stage := NewStage(reg, secrets, DefaultOptions(), nil)
	return pipeline.New(reg, event.Collector{Name: "test"}, "default", stage), stage
}

func process(p *pipeline.Pipeline, protocol string, in event.Input) *event.Envelope {
	return p.Process(pipeline.Request{Protocol: protocol, CollectedAt: time.Now()}, []event.Input{in})[0]
}

const (
	signupKey = "iglu:com.acme/signup/jsonschema/1-0-0"
	userKey   = "iglu:com.acme/user/jsonschema/1-0-0"
)

// Validation sees the values as sent (a hash is not an integer, yet the
// event is valid); the record holds the transformed data and contexts, and
// the input the protocol read is left as it was.
func TestStageTransformsDataAndEveryContext(t *testing.T) {
	p, _ := newTestPipeline(t, testSecrets)
	in := event.Input{
		SchemaKey: signupKey,
		Data:      json.RawMessage(`{"email":"a@b.c","n":1}`),
		Contexts:  []event.Context{{Schema: userKey, Data: json.RawMessage(`{"id":"user-1","plan":"pro"}`)}, {Schema: "iglu:com.acme/plain/jsonschema/1-0-0", Data: json.RawMessage(`{"a":"x"}`)}},
	}
	env := process(p, "selfdesc", in)
	if !env.Valid {
		t.Fatalf("failed: %+v", env.Failure)
	}
	if want := `{"email":` + wantHash("a@b.c") + `,"n":1}`; string(env.Payload) != want {
		t.Errorf("payload %s, want %s", env.Payload, want)
	}
	if want := `{"id":` + wantHMAC("user-1") + `,"plan":"pro"}`; string(env.Contexts[0].Data) != want {
		t.Errorf("user context %s, want %s", env.Contexts[0].Data, want)
	}
	if string(env.Contexts[1].Data) != `{"a":"x"}` {
		t.Errorf("a context without rules became %s", env.Contexts[1].Data)
	}
	if string(in.Contexts[0].Data) != `{"id":"user-1","plan":"pro"}` {
		t.Errorf("the input was changed: %s", in.Contexts[0].Data)
	}
}

// A request's records share the memory the stage writes their values in:
// each holds its own values, and appending to one never writes over
// another's.
func TestStageRequestOfManyEvents(t *testing.T) {
	p, _ := newTestPipeline(t, testSecrets)
	var ins []event.Input
	for i := range 5 {
		ins = append(ins, event.Input{
			SchemaKey:  signupKey,
			Data:       json.RawMessage(`{"email":"` + strconv.Itoa(i) + `@b.c","n":1}`),
			Contexts:   []event.Context{{Schema: userKey, Data: json.RawMessage(`{"id":"user-` + strconv.Itoa(i) + `"}`)}, {Schema: "iglu:com.acme/plain/jsonschema/1-0-0", Data: json.RawMessage(`{"a":"x"}`)}},
			Attributes: json.RawMessage(`{"n":` + strconv.Itoa(i) + `}`),
		})
	}
	recs := p.Process(pipeline.Request{Protocol: "selfdesc"}, ins)
	check := func() {
		t.Helper()
		for i, r := range recs {
			n := strconv.Itoa(i)
			if want := `{"email":` + wantHash(n+"@b.c") + `,"n":1}`; string(r.Payload) != want {
				t.Errorf("record %d: payload %s, want %s", i, r.Payload, want)
			}
			if want := `{"id":` + wantHMAC("user-"+n) + `}`; len(r.Contexts) != 2 || string(r.Contexts[0].Data) != want || string(r.Contexts[1].Data) != `{"a":"x"}` {
				t.Errorf("record %d: contexts %+v, want the user's id %s", i, r.Contexts, want)
			}
			if !strings.HasPrefix(string(r.Attributes), `{"n":`+n+`,"accord_privacy":{`) {
				t.Errorf("record %d: attributes %s", i, r.Attributes)
			}
		}
	}
	check()
	for _, r := range recs[:4] {
		_ = append(r.Payload, "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"...)
		_ = append(r.Contexts[0].Data, "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"...)
		_ = append(r.Attributes, "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"...)
		_ = append(r.Contexts, event.Context{Schema: "x"})
	}
	check()
}

// A request's transformed values, contexts and marked attributes take one
// allocation of each, not one a value: the first governed event sizes the
// buffer for the request's others, its payload, contexts and attributes
// together.
func TestStageRequestSharesItsMemory(t *testing.T) {
	if racedetector.Enabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	p, _ := newTestPipeline(t, testSecrets)
	var ins []event.Input
	for i := range 10 {
		ins = append(ins, event.Input{SchemaKey: signupKey, Data: json.RawMessage(`{"email":"` + strconv.Itoa(i) + `@b.c","n":1}`),
			Contexts:   []event.Context{{Schema: userKey, Data: json.RawMessage(`{"id":"user-` + strconv.Itoa(i) + `","plan":"pro"}`)}},
			Attributes: json.RawMessage(`{"aid":"shop-web","e":"ue","lang":"de-DE","res":"1920x1080","url":"https://shop.example.com/checkout?step=3"}`)})
	}
	var mem pipeline.Records
	req := pipeline.Request{Protocol: "selfdesc"}
	p.ProcessInto(req, ins, &mem) // the records' memory made once
	mem.Clear()
	plain := make([]event.Input, len(ins))
	for i := range plain {
		plain[i] = event.Input{SchemaKey: "iglu:com.acme/plain/jsonschema/1-0-0", Data: json.RawMessage(`{"a":"x"}`), Attributes: ins[i].Attributes}
	}
	allocs := func(inputs []event.Input) float64 {
		return testing.AllocsPerRun(20, func() {
			p.ProcessInto(req, append([]event.Input(nil), inputs...), &mem)
			mem.Clear()
		})
	}
	noRules, governed := allocs(plain), allocs(ins)
	// The buffer and the contexts; a hash's and an HMAC's states are pooled.
	t.Logf("allocations: %v without rules, %v governed", noRules, governed)
	if extra := governed - noRules; extra > 2 {
		t.Errorf("10 governed events cost %v allocations more than 10 without rules, want at most 2", extra)
	}
}

// The same without the pipeline, so that it holds under the race detector
// too (which makes pools drop what they keep): the values and marked
// attributes of a tracker's 10 events, a context's HMAC and the marker
// each, go into one buffer.
func TestRequestMemoryRoom(t *testing.T) {
	attrs := []byte(`{"aid":"shop-web","cd":"24","cookie":"1","cs":"UTF-8","e":"pv","lang":"de-DE","p":"web","page":"Checkout","res":"1920x1080","tv":"js-3.24.0","tz":"Europe/Berlin","url":"https://shop.example.com/checkout?step=3"}`)
	env := &event.Envelope{Payload: []byte(`{"page_url":"https://shop.example.com/checkout?step=3"}`), Attributes: attrs,
		Contexts: []event.Context{{Schema: userKey, Data: []byte(`{"id":"u_1234","plan":"pro"}`)}}}
	var m requestMemory
	buffers := map[*byte]bool{}
	for remaining := 10; remaining > 0; remaining-- {
		m.room(len(env.Contexts[0].Data)+valueRoom, env, remaining)
		m.bytes = append(m.bytes, `{"id":"hmac-sha256:k1:71a246c599f5242a3c0595c0d3c862f7b3739a53448b7663c0ba1244397023fa","plan":"pro"}`...)
		m.room(len(attrs)+valueRoom, env, remaining)
		m.bytes = appendWithMarker(m.bytes, attrs, true, 1, "k1", true)
		buffers[unsafe.SliceData(m.bytes)] = true
	}
	if len(buffers) != 1 {
		t.Errorf("10 events' values took %d buffers, want 1", len(buffers))
	}
}

// The memory a request's values share is sized from its first governed
// event times the events left; one large event before many small ones
// must not make that a multiple of the request (500 events after one of
// 256 KB asked for 128 MB).
func TestStageRequestMemoryIsBounded(t *testing.T) {
	p, _ := newTestPipeline(t, testSecrets)
	large := strings.Repeat("x", 256<<10)
	ins := []event.Input{{SchemaKey: signupKey, Data: json.RawMessage(`{"email":"` + large + `@b.c","n":1}`),
		Contexts: make([]event.Context, 64)}}
	for i := range ins[0].Contexts {
		ins[0].Contexts[i] = event.Context{Schema: userKey, Data: json.RawMessage(`{"id":"u` + large[:1024] + `"}`)}
	}
	for i := range 499 {
		ins = append(ins, event.Input{SchemaKey: signupKey, Data: json.RawMessage(`{"email":"` + strconv.Itoa(i) + `@b.c","n":1}`),
			Contexts: []event.Context{{Schema: userKey, Data: json.RawMessage(`{"id":"user"}`)}}})
	}
	sent := 0
	for _, in := range ins {
		sent += len(in.Data)
		for _, c := range in.Contexts {
			sent += len(c.Data)
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	recs := p.Process(pipeline.Request{Protocol: "selfdesc"}, ins)
	runtime.ReadMemStats(&after)
	if len(recs) != 500 || !recs[0].Valid || !strings.HasPrefix(string(recs[0].Payload), `{"email":"sha256:`) {
		t.Fatalf("%d records, the first %s %+v", len(recs), recs[0].Payload, recs[0].Failure)
	}
	t.Logf("%d bytes of values, %d allocated", sent, after.TotalAlloc-before.TotalAlloc)
	if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(4*sent+1<<20); got > limit {
		t.Errorf("processing %d bytes of values allocated %d bytes, want at most %d", sent, got, limit)
	}
}

// A failed record's raw input keeps no more than its data: a
// self-describing event's raw is transformed by the same rules, raw that is
// the data itself becomes the transformed data, other raw is dropped.
func TestStageFailedRecordsRaw(t *testing.T) {
	p, _ := newTestPipeline(t, testSecrets)
	raw := `{"schema":"` + signupKey + `","data":{"email":"a@b.c","n":"not a number"},"contexts":[{"schema":"` + userKey + `","data":{"id":"user-1"}}]}`
	for _, tc := range []struct {
		name, protocol, raw string
		data                string
		want                string
	}{
		{"self-describing", "selfdesc", raw, `{"email":"a@b.c","n":"not a number"}`,
			`{"schema":"` + signupKey + `","data":{"email":` + wantHash("a@b.c") + `,"n":"not a number"},"contexts":[{"schema":"` + userKey + `","data":{"id":` + wantHMAC("user-1") + `}}]}`},
		{"raw is the data", "webhook", `{"email":"a@b.c","n":"x"}`, `{"email":"a@b.c","n":"x"}`, `{"email":` + wantHash("a@b.c") + `,"n":"x"}`},
		{"another form", "snowplow", `e=se&ue_px=eyJlbWFpbCI6ImFAYi5jIn0`, `{"email":"a@b.c","n":"x"}`, ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := event.Input{SchemaKey: signupKey, Data: json.RawMessage(tc.data), Raw: []byte(tc.raw)}
			if tc.protocol == "selfdesc" {
				in.Contexts = []event.Context{{Schema: userKey, Data: json.RawMessage(`{"id":"user-1"}`)}}
			}
			env := process(p, tc.protocol, in)
			if env.Valid || env.Failure == nil || env.Failure.Type != event.SchemaViolation {
				t.Fatalf("want a schema_violation, got valid=%v %+v", env.Valid, env.Failure)
			}
			if env.Raw != tc.want {
				t.Errorf("raw %q, want %q", env.Raw, tc.want)
			}
			if strings.Contains(string(env.Payload), "a@b.c") {
				t.Errorf("payload holds the email: %s", env.Payload)
			}
		})
	}
}

// A contract using hmac with no key configured: Check refuses it (start
// fails), and should one arrive later (a reload) its events fail keeping
// none of its data, rather than storing it in clear.
func TestStageWithoutKey(t *testing.T) {
	p, stage := newTestPipeline(t, &Secrets{Salt: testSecrets.Salt})
	reg := contract.NewSet([]*contract.Contract{testContract(t, "user", `{"id": {"x-accord-pii": {"class": "confidential", "action": "hmac"}}}`)})
	err := stage.Check(reg.Contracts())
	if !errors.Is(err, ErrNoSecret) || !strings.Contains(err.Error(), "secrets/hmac.key") || !strings.Contains(err.Error(), "com.acme/user") {
		t.Errorf("Check: %v; want ErrNoSecret naming the contract and the key file", err)
	}
	env := process(p, "selfdesc", event.Input{
		SchemaKey: signupKey, Data: json.RawMessage(`{"email":"a@b.c","n":1}`),
		Contexts: []event.Context{{Schema: userKey, Data: json.RawMessage(`{"id":"user-1"}`)}},
		Raw:      []byte(`{"schema":"` + signupKey + `","data":{"email":"a@b.c","n":1},"contexts":[{"schema":"` + userKey + `","data":{"id":"user-1"}}]}`),
	})
	if env.Valid || string(env.Contexts[0].Data) != "null" || strings.Contains(env.Raw, "user-1") {
		t.Errorf("valid=%v context %s raw %q; want failed, null, no user-1", env.Valid, env.Contexts[0].Data, env.Raw)
	}
}

// Replay runs records through the stage again: what it made stays as it is.
func TestStageTwiceChangesNothing(t *testing.T) {
	p, _ := newTestPipeline(t, testSecrets)
	in := event.Input{SchemaKey: signupKey, Data: json.RawMessage(`{"email":"a@b.c","n":1}`),
		Contexts: []event.Context{{Schema: userKey, Data: json.RawMessage(`{"id":"user-1"}`)}}}
	once := process(p, "selfdesc", in)
	twice := process(p, "selfdesc", event.Input{SchemaKey: signupKey, Data: once.Payload, Contexts: once.Contexts})
	if string(twice.Payload) != string(once.Payload) || string(twice.Contexts[0].Data) != string(once.Contexts[0].Data) {
		t.Errorf("twice: %s %s; once: %s %s", twice.Payload, twice.Contexts[0].Data, once.Payload, once.Contexts[0].Data)
	}
}

// Validation messages quote the value as sent; about a governed value they
// are withheld in the record, about another they stay as they are.
func TestStageWithholdsMessagesAboutGovernedValues(t *testing.T) {
	reg := contract.NewSet([]*contract.Contract{
		testContract(t, "mail", `{"email": {"type": "string", "format": "email", "x-accord-pii": {"class": "restricted", "action": "hash"}}, "url": {"type": "string", "format": "uri"}}`),
	})
	p := pipeline.New(reg, event.Collector{Name: "test"}, "default", NewStage(reg, testSecrets, DefaultOptions(), nil))
	env := process(p, "selfdesc", event.Input{SchemaKey: "iglu:com.acme/mail/jsonschema/1-0-0", Data: json.RawMessage(`{"email":"alice-at-example","url":"not a url"}`)})
	if env.Failure == nil || len(env.Failure.Messages) != 2 {
		t.Fatalf("failure %+v, want two messages", env.Failure)
	}
	all, _ := json.Marshal(env.Failure)
	if strings.Contains(string(all), "alice-at-example") || !strings.Contains(string(all), "not a url") || !strings.Contains(string(all), "withheld") {
		t.Errorf("failure %s: want the email withheld, the url quoted", all)
	}
}

// A record governed by rules says which: attributes.accord_privacy names
// the rules' fingerprint and the HMAC key id. Replay honours it: a record
// carrying today's rules is not transformed again; one stored before them
// (no marker) or under other rules is. A client cannot claim the marker:
// live events are transformed whatever their attributes say, and an
// ungoverned event keeps no marker it sent.
func TestStageMarkerAndReplay(t *testing.T) {
	p, _ := newTestPipeline(t, testSecrets)
	in := event.Input{SchemaKey: signupKey, Data: json.RawMessage(`{"email":"a@b.c","n":1}`),
		Contexts: []event.Context{{Schema: userKey, Data: json.RawMessage(`{"id":"user-1","plan":"pro"}`)}}}
	live := process(p, "selfdesc", in)
	rules, ok := fieldAt(live.Attributes, "/accord_privacy/rules")
	keyID, _ := fieldAt(live.Attributes, "/accord_privacy/key_id")
	if !ok || len(rules) != 16 || keyID != "k1" {
		t.Fatalf("attributes %s: want the marker with a 16-hex fingerprint and key id k1", live.Attributes)
	}
	replay := func(in event.Input) *event.Envelope {
		return p.Process(pipeline.Request{Protocol: "selfdesc", Replay: true}, []event.Input{in})[0]
	}
	// The stored record replayed: nothing changes, byte for byte.
	stored := event.Input{SchemaKey: signupKey, Data: live.Payload, Contexts: live.Contexts, Attributes: live.Attributes}
	again := replay(stored)
	if string(again.Payload) != string(live.Payload) || string(again.Contexts[0].Data) != string(live.Contexts[0].Data) || string(again.Attributes) != string(live.Attributes) {
		t.Errorf("replayed: %s %s %s, want the record as stored", again.Payload, again.Contexts[0].Data, again.Attributes)
	}
	// The marker is honoured, not the values' look: a marked record is left
	// as it is (here a value in clear shows it was not touched).
	marked := stored
	marked.Data = json.RawMessage(`{"email":"kept@as.is","n":1}`)
	if got := replay(marked); string(got.Payload) != `{"email":"kept@as.is","n":1}` {
		t.Errorf("a record carrying today's rules was transformed again: %s", got.Payload)
	}
	// Stored before the rules, or under other rules: transformed, marked.
	for name, attrs := range map[string]string{
		"no marker":   ``,
		"other rules": `{"accord_privacy":{"rules":"0000000000000000","key_id":"k1"}}`,
		"other key":   `{"accord_privacy":{"rules":"` + rules + `","key_id":"k0"}}`,
	} {
		old := in
		old.Attributes = json.RawMessage(attrs)
		got := replay(old)
		if want := `{"email":` + wantHash("a@b.c") + `,"n":1}`; string(got.Payload) != want {
			t.Errorf("%s: replayed payload %s, want %s", name, got.Payload, want)
		}
		if string(got.Attributes) != string(live.Attributes) {
			t.Errorf("%s: attributes %s, want today's marker %s", name, got.Attributes, live.Attributes)
		}
	}
	// A live event claiming the marker is transformed all the same.
	claimed := in
	claimed.Attributes = live.Attributes
	if got := process(p, "selfdesc", claimed); !strings.Contains(string(got.Payload), "sha256:") {
		t.Errorf("a client's marker stopped the rules: %s", got.Payload)
	}
	// A live event's attributes keep their members and get today's marker,
	// once, whether a client's claim to one is spelled plainly or escaped.
	for _, attrs := range []string{`{"x":1}`, `{"x":1,"accord_privacy":{"rules":"00"}}`, `{"accord\u005fprivacy":{"rules":"00"},"x":1}`} {
		sent := in
		sent.Attributes = json.RawMessage(attrs)
		got := process(p, "selfdesc", sent)
		if want := `{"x":1,` + strings.TrimPrefix(string(live.Attributes), "{"); string(got.Attributes) != want {
			t.Errorf("attributes sent %s: %s, want %s", attrs, got.Attributes, want)
		}
	}
	// An ungoverned event keeps no marker a client sent.
	plain := event.Input{SchemaKey: "iglu:com.acme/plain/jsonschema/1-0-0", Data: json.RawMessage(`{"a":"x"}`), Attributes: json.RawMessage(`{"x":1,"accord_privacy":{"rules":"00"}}`)}
	if got := process(p, "selfdesc", plain); string(got.Attributes) != `{"x":1}` {
		t.Errorf("ungoverned event's attributes %s, want the marker removed", got.Attributes)
	}
}

// A failed record whose raw input is a JSON object holding the data as one
// member (a CloudEvent's data, a Segment message's properties) keeps it
// with that member transformed; raw repeating a governed value elsewhere,
// or not holding the data as one member, is withheld.
func TestStageFailedRawDataMember(t *testing.T) {
	p, _ := newTestPipeline(t, testSecrets)
	data := `{"email":"a@b.c","n":"x"}`
	for _, tc := range []struct {
		name, raw, want string
	}{
		{"cloudevent", `{"specversion":"1.0","id":"1","data":` + data + `}`, `{"specversion":"1.0","id":"1","data":{"email":` + wantHash("a@b.c") + `,"n":"x"}}`},
		{"segment properties", `{"type":"track","properties":` + data + `,"userId":"u"}`, `{"type":"track","properties":{"email":` + wantHash("a@b.c") + `,"n":"x"},"userId":"u"}`},
		{"repeated elsewhere", `{"type":"identify","traits":` + data + `,"context":{"traits":{"email":"a@b.c"}}}`, ""},
		{"data not a member", `{"e":"ue","ue_px":"eyJlbWFpbCI6ImFAYi5jIn0"}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := event.Input{SchemaKey: signupKey, Data: json.RawMessage(data), Raw: []byte(tc.raw)}
			// The protocol's data is a slice of its raw input.
			if i := strings.Index(tc.raw, data); i >= 0 {
				in.Data = json.RawMessage(in.Raw[i : i+len(data)])
			}
			env := process(p, "cloudevents", in)
			if env.Valid {
				t.Fatal("the event is valid; the test needs a failed one")
			}
			if env.Raw != tc.want {
				t.Errorf("raw %s, want %s", env.Raw, tc.want)
			}
			if tc.want == "" && env.RawEncoding != event.RawWithheld {
				t.Errorf("raw_encoding %q, want withheld", env.RawEncoding)
			}
		})
	}
}

// A failed Snowplow event keeps its raw input (a POST's tp2 object, a GET's
// query string) with the data in ue_pr/ue_px and each context in co/cx
// transformed by its contract's rules, encoded as it came; a payload field
// that does not decode, or another field repeating a governed value, is
// withheld.
func TestStageFailedRawSnowplow(t *testing.T) {
	p, _ := newTestPipeline(t, testSecrets)
	data := `{"email":"a@b.c","n":"x"}`
	ue := `{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{"schema":"` + signupKey + `","data":` + data + `}}`
	wantUE := `{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{"schema":"` + signupKey + `","data":{"email":` + wantHash("a@b.c") + `,"n":"x"}}}`
	userCtx := `{"id":"user-1234","plan":"pro"}`
	co := `{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1","data":[{"schema":"` + userKey + `","data":` + userCtx + `}]}`
	b64 := base64.RawURLEncoding.EncodeToString
	js := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	for _, tc := range []struct {
		name, raw string
		// check is given the raw stored; it returns the ue and co documents
		// decoded from it.
		decode   func(t *testing.T, raw string) (ue, co string)
		withheld bool
	}{
		{name: "post ue_pr and co", raw: `{"e":"ue","p":"web","ue_pr":` + js(ue) + `,"co":` + js(co) + `}`, decode: postFields("ue_pr", "co", nil)},
		{name: "post ue_px and cx", raw: `{"e":"ue","p":"web","ue_px":"` + base64.StdEncoding.EncodeToString([]byte(ue)) + `","cx":"` + b64([]byte(co)) + `"}`, decode: postFields("ue_px", "cx", base64.RawURLEncoding)},
		{name: "get ue_px and cx", raw: "e=ue&p=web&ue_px=" + b64([]byte(ue)) + "&cx=" + b64([]byte(co)), decode: getFields("ue_px", "cx", base64.RawURLEncoding)},
		{name: "get ue_pr and co", raw: "e=ue&ue_pr=" + url.QueryEscape(ue) + "&co=" + url.QueryEscape(co) + "&p=web", decode: getFields("ue_pr", "co", nil)},
		{name: "another field repeats a governed value", raw: "e=ue&uid=a%40b.c&ue_px=" + b64([]byte(ue)), withheld: true},
		{name: "a payload field that is not base64", raw: `{"e":"ue","ue_px":"` + b64([]byte(ue)) + `","cx":"!!"}`, withheld: true},
		{name: "a payload field that is not a string", raw: `{"e":"ue","ue_px":"` + b64([]byte(ue)) + `","co":{"data":[{"data":{"id":"user-1234"}}]}}`, withheld: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := event.Input{SchemaKey: signupKey, Data: json.RawMessage(data), Raw: []byte(tc.raw),
				Contexts: []event.Context{{Schema: userKey, Data: json.RawMessage(userCtx)}}}
			env := process(p, "snowplow", in)
			if env.Valid {
				t.Fatal("the event is valid; the test needs a failed one")
			}
			if tc.withheld {
				if env.Raw != "" || env.RawEncoding != event.RawWithheld {
					t.Errorf("raw %q (%s), want it withheld", env.Raw, env.RawEncoding)
				}
				return
			}
			for _, clear := range []string{"a@b.c", "a%40b.c", "user-1234"} {
				if strings.Contains(env.Raw, clear) {
					t.Errorf("raw %s holds %q", env.Raw, clear)
				}
			}
			if !strings.Contains(env.Raw, "p=web") && !strings.Contains(env.Raw, `"p":"web"`) {
				t.Errorf("raw %s lost the other fields", env.Raw)
			}
			gotUE, gotCO := tc.decode(t, env.Raw)
			if gotUE != wantUE {
				t.Errorf("ue %s, want %s", gotUE, wantUE)
			}
			var ctx struct {
				Data []struct {
					Data struct{ ID, Plan string }
				}
			}
			if err := json.Unmarshal([]byte(gotCO), &ctx); err != nil || len(ctx.Data) != 1 {
				t.Fatalf("co %s: %v", gotCO, err)
			}
			if want := env.Contexts[0].Data; !strings.Contains(string(want), `"`+ctx.Data[0].Data.ID+`"`) || ctx.Data[0].Data.Plan != "pro" {
				t.Errorf("context in raw %+v, want the record's %s", ctx.Data[0].Data, want)
			}
		})
	}
}

func decodeField(t *testing.T, v string, enc *base64.Encoding) string {
	t.Helper()
	if enc == nil {
		return v
	}
	b, err := enc.DecodeString(v)
	if err != nil {
		t.Fatalf("%q is not base64url without padding: %v", v, err)
	}
	return string(b)
}

func postFields(ueName, coName string, enc *base64.Encoding) func(*testing.T, string) (string, string) {
	return func(t *testing.T, raw string) (string, string) {
		var fields map[string]string
		if err := json.Unmarshal([]byte(raw), &fields); err != nil {
			t.Fatalf("raw %s: %v", raw, err)
		}
		return decodeField(t, fields[ueName], enc), decodeField(t, fields[coName], enc)
	}
}

func getFields(ueName, coName string, enc *base64.Encoding) func(*testing.T, string) (string, string) {
	return func(t *testing.T, raw string) (string, string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			t.Fatalf("raw %s: %v", raw, err)
		}
		return decodeField(t, q.Get(ueName), enc), decodeField(t, q.Get(coName), enc)
	}
}

// manyStrings is a JSON object whose member a is an array of distinct short
// strings, size bytes or so.
func manyStrings(size int) string {
	var b strings.Builder
	b.WriteString(`{"a":[`)
	for i := 0; b.Len() < size; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + strconv.Itoa(1000000+i) + `"`)
	}
	b.WriteString(`]}`)
	return b.String()
}

// TestRepeatsIsBounded: whether a failed record's raw input repeats a value
// the rules took out is found by reading the body a bounded number of
// times, whatever the data holds. A 1 MB data of 100,000 short strings
// once cost one scan of the body per string (31 s of CPU for one
// request): kept values are now found among the payload's values without a
// scan, and past repeatsScanBudget the answer is "it may repeat", which
// withholds the raw input.
func TestRepeatsIsBounded(t *testing.T) {
	data := []byte(manyStrings(1 << 20))
	out := []byte(`{"type":"track","properties":` + string(data) + `}`)
	// Every value kept: nothing repeats, and nothing is scanned.
	found, scanned := repeatsScanned(out, data, data, repeatsScanBudget)
	if found || scanned != 0 {
		t.Errorf("all values kept: repeats %v after scanning %d bytes, want false after 0", found, scanned)
	}
	// Every value taken out (a drop rule on a), the raw input still
	// holding them: it repeats, found within the budget.
	dropped := []byte(`{}`)
	found, scanned = repeatsScanned(out, data, dropped, repeatsScanBudget)
	if !found || scanned > repeatsScanBudget+len(out)+len(dropped) {
		t.Errorf("all values taken out: repeats %v after scanning %d bytes, want true within %d", found, scanned, repeatsScanBudget)
	}
	// Every value taken out and none in the raw input: more to look
	// through than the budget allows, so it may repeat (withheld).
	found, scanned = repeatsScanned(bytes.Repeat([]byte("x"), 1<<20), data, dropped, repeatsScanBudget)
	if !found || scanned > repeatsScanBudget+(1<<20)+len(dropped) {
		t.Errorf("over the budget: repeats %v after scanning %d bytes, want true within %d", found, scanned, repeatsScanBudget)
	}
	// Small data keeps its answers: a value taken out and repeated, one
	// taken out and not repeated, one kept inside a longer value.
	for _, tc := range []struct {
		out, data, payload string
		want               bool
	}{
		{`{"d":{"email":"h"},"c":{"email":"a@b.c"}}`, `{"email":"a@b.c"}`, `{"email":"h"}`, true},
		{`{"d":{"email":"h"}}`, `{"email":"a@b.c"}`, `{"email":"h"}`, false},
		{`{"d":{"n":"xabcdx"},"c":"abcd"}`, `{"n":"abcd"}`, `{"n":"xabcdx"}`, false},
		{`{}`, `not json`, `{}`, true},
	} {
		if got := repeats([]byte(tc.out), []byte(tc.data), []byte(tc.payload)); got != tc.want {
			t.Errorf("repeats(%s, %s, %s) = %v, want %v", tc.out, tc.data, tc.payload, got, tc.want)
		}
	}
}

// TestRepeatsBudgetIsShared: the checks of one Snowplow event (its data and
// each context) spend one budget, so 20,000 small contexts each with a
// changed value read a 1 MB raw input through no more than the budget
// allows in all, then answer "it may repeat".
func TestRepeatsBudgetIsShared(t *testing.T) {
	plain := bytes.Repeat([]byte("x"), 1<<20)
	budget := repeatsScanBudget
	calls, found := 0, false
	for ; calls < 20000 && !found; calls++ {
		found = repeatsWithin(plain, []byte(`{"email":"a@b.c"}`), []byte(`{"email":"h"}`), &budget)
	}
	if !found || calls > repeatsScanBudget/(1<<20)+2 {
		t.Errorf("after %d contexts found %v, want true within %d", calls, found, repeatsScanBudget/(1<<20)+2)
	}
}
