package pipeline_test

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/enrich"
	"github.com/accord-events/accord/internal/enrich/enrichtest"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/pipeline"
	"github.com/accord-events/accord/internal/privacy"
	"github.com/accord-events/accord/internal/protocol"
	"github.com/accord-events/accord/internal/protocol/selfdesc"
	"github.com/accord-events/accord/internal/protocol/snowplow"
)

// benchEvent is the repository's testdata/events/product_viewed.json, an
// event of 15 properties of the usual kinds (strings with formats and
// patterns, numbers with bounds, enums, booleans, a nested object and an
// array), for the contract in testdata/contracts, made distinct by its id.
func benchEvent(b *testing.B, i int) string {
	data, err := os.ReadFile("../../testdata/events/product_viewed.json")
	if err != nil {
		b.Fatal(err)
	}
	data = bytes.Replace(bytes.TrimSpace(data), []byte(`"product_id":"p-1"`), []byte(`"product_id":"p-`+strconv.Itoa(i)+`"`), 1)
	return `{"schema":"iglu:com.example/product_viewed/jsonschema/1-0-0","data":` + string(data) + `}`
}

func benchPipeline(b *testing.B) (*pipeline.Pipeline, protocol.Decoder) {
	b.Helper()
	contracts, problems, err := contract.LoadDir("../../testdata/contracts")
	if err != nil || len(problems) > 0 {
		b.Fatal(err, problems)
	}
	// As accord serve builds it: the privacy stage after validation (the
	// contract has no x-accord-pii rule, so it changes nothing), then the
	// collector-wide policy with its defaults.
	reg := contract.NewSet(contracts)
	return pipeline.New(reg, event.Collector{Name: "accord", Version: "bench", Env: "bench", Host: "h"}, "default", privacy.NewStage(reg, nil, privacy.Options{}, nil), privacy.NewPolicy(privacy.DefaultPolicyOptions())), serveDecoder(reg)
}

// serveDecoder is the decoder of POST /events as accord serve wires it,
// with local as the team's own contracts.
func serveDecoder(local *contract.Set) protocol.Decoder {
	opts := selfdesc.DefaultOptions()
	return selfdesc.Type().Endpoints(&opts, protocol.Deps{Local: local})[0].Decode
}

// BenchmarkHotPathFivePIIRules: the one-event path where the contract
// governs five of the event's fields: sku hash, name hmac, variant mask,
// url truncate, brand redact (docs/performance-log.md).
func BenchmarkHotPathFivePIIRules(b *testing.B) {
	doc, err := os.ReadFile("../../testdata/contracts/com.example/product_viewed/jsonschema/1-0-0")
	if err != nil {
		b.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(doc, &schema); err != nil {
		b.Fatal(err)
	}
	props := schema["properties"].(map[string]any)
	for field, rule := range map[string]map[string]any{
		"sku":     {"class": "confidential", "action": "hash"},
		"name":    {"class": "confidential", "action": "hmac"},
		"variant": {"class": "internal", "action": "mask", "keep_chars": 2},
		"url":     {"class": "internal", "action": "truncate", "keep_chars": 20},
		"brand":   {"class": "internal", "action": "redact"},
	} {
		props[field].(map[string]any)["x-accord-pii"] = rule
	}
	if doc, err = json.Marshal(schema); err != nil {
		b.Fatal(err)
	}
	c, err := contract.Compile(doc, contract.Key{}, "bench")
	if err != nil {
		b.Fatal(err)
	}
	reg := contract.NewSet([]*contract.Contract{c})
	secrets := &privacy.Secrets{Salt: []byte("bench-salt-0123456789"), KeyID: "k1", Key: []byte("bench-key-0123456789")}
	p := pipeline.New(reg, event.Collector{Name: "accord", Version: "bench", Env: "bench", Host: "h"}, "default", privacy.NewStage(reg, secrets, privacy.Options{}, nil))
	req := &protocol.Request{MediaType: "application/json", Body: []byte(benchEvent(b, 1))}
	if rec := p.Process(pipeline.Request{Protocol: selfdesc.Name}, mustDecode(b, req))[0]; !bytes.Contains(rec.Payload, []byte(`"brand":"[redacted]"`)) {
		b.Fatalf("the rules were not applied: %s", rec.Payload)
	}
	runHotPath(b, p, serveDecoder(reg), req, 1)
}

func mustDecode(b *testing.B, req *protocol.Request) []event.Input {
	b.Helper()
	inputs, err := selfdesc.Decode(req)
	if err != nil {
		b.Fatal(err)
	}
	return inputs
}

// runHotPath is what the collector does with one request's body, short of
// HTTP and the sinks: decode, resolve and validate, annotate, encode.
func runHotPath(b *testing.B, p *pipeline.Pipeline, decode protocol.Decoder, req *protocol.Request, events int) {
	runHotPathFrom(b, p, decode, req, events, event.Source{})
}

// runHotPathFrom is runHotPath for a request from src.
func runHotPathFrom(b *testing.B, p *pipeline.Pipeline, decode protocol.Decoder, req *protocol.Request, events int, src event.Source) {
	runHotPathLent(b, p, decode, req, events, pipeline.Request{Protocol: selfdesc.Name, Source: src}, 1)
}

// runHotPathLent is runHotPath for a request of preq's protocol and source,
// lending the decoder room for room inputs as the server does once a
// request as large has been decoded (internal/server's inputsPool).
func runHotPathLent(b *testing.B, p *pipeline.Pipeline, decode protocol.Decoder, req *protocol.Request, events int, preq pipeline.Request, room int) {
	preq.RequestID, preq.CollectedAt = "r", time.Now()
	buf := make([]byte, 0, 64<<10)
	// A first request outside the timing: a contract loaded from a
	// directory is compiled on its first event, once, which is not what
	// an event costs.
	if inputs, _, err := decode(req); err == nil {
		p.Process(preq, inputs)
	}
	// The server lends each request room for one input from a pool and
	// takes it back, zeroed, once the pipeline has run; with a spool,
	// which keeps only the records' encoding, it makes them in memory from
	// a pool too, zeroed once the request is answered (internal/server).
	lentPool := sync.Pool{New: func() any { l := make([]event.Input, room); return &l }}
	recordsPool := sync.Pool{New: func() any { return new(pipeline.Records) }}
	b.ReportAllocs()
	b.SetBytes(int64(len(req.Body)))
	for b.Loop() {
		lent := lentPool.Get().(*[]event.Input)
		req.Inputs = *lent
		inputs, _, err := decode(req)
		if err != nil {
			b.Fatal(err)
		}
		mem := recordsPool.Get().(*pipeline.Records)
		records := p.ProcessInto(preq, inputs, mem)
		clear(*lent)
		lentPool.Put(lent)
		buf = buf[:0]
		for _, r := range records {
			if !r.Valid {
				b.Fatalf("benchmark event failed: %+v", r.Failure)
			}
			buf = r.AppendJSON(buf)
			buf = append(buf, '\n')
		}
		mem.Clear()
		recordsPool.Put(mem)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*events), "ns/event")
	b.ReportMetric(float64(b.N*events)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkHotPathOneEvent: one 15-field event per request.
func BenchmarkHotPathOneEvent(b *testing.B) {
	p, decode := benchPipeline(b)
	runHotPath(b, p, decode, &protocol.Request{MediaType: "application/json", Body: []byte(benchEvent(b, 1))}, 1)
}

// BenchmarkHotPathAllEnrichments: the one-event path with every enrichment
// on (docs/performance-log.md), for a request from a browser with a page URL
// carrying a campaign: the user agent parsed (cached after the first
// event, as a real stream of events mostly is), the address looked up in a
// City database, the campaign read; the referer enrichment is on too, with
// no referrer to classify (a selfdesc event carries none).
func BenchmarkHotPathAllEnrichments(b *testing.B) {
	contracts, problems, err := contract.LoadDir("../../testdata/contracts")
	if err != nil || len(problems) > 0 {
		b.Fatal(err, problems)
	}
	reg := contract.NewSet(contracts)
	o := enrich.DefaultOptions()
	o.UserAgent.Enabled, o.Campaign.Enabled, o.Referer.Enabled = true, true, true
	o.Geo = enrich.GeoOptions{Enabled: true, Database: enrichtest.WriteCityDB(b, enrichtest.Cities)}
	enrichments, err := enrich.New(o, enrich.Policy{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer enrichments.Close()
	p := pipeline.New(reg, event.Collector{Name: "accord", Version: "bench", Env: "bench", Host: "h"}, "default", privacy.NewStage(reg, nil, privacy.Options{}, nil), enrichments)
	src := event.Source{
		IP:        "81.2.69.160",
		UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.129 Safari/537.36",
		Referer:   "https://shop.example.com/p/42?utm_source=newsletter&utm_medium=email&utm_campaign=spring&gclid=Cj0K",
	}
	req := &protocol.Request{MediaType: "application/json", Body: []byte(benchEvent(b, 1))}
	if rec := p.Process(pipeline.Request{Protocol: selfdesc.Name, Source: src}, mustDecode(b, req))[0]; len(rec.Contexts) != 3 {
		b.Fatalf("%d contexts, want user agent, geolocation and campaign: %+v", len(rec.Contexts), rec.Contexts)
	}
	runHotPathFrom(b, p, serveDecoder(reg), req, 1, src)
}

// BenchmarkHotPathBatch100: a 100-event NDJSON batch per request.
func BenchmarkHotPathBatch100(b *testing.B) {
	p, decode := benchPipeline(b)
	var body bytes.Buffer
	for i := range 100 {
		body.WriteString(benchEvent(b, i))
		body.WriteByte('\n')
	}
	runHotPath(b, p, decode, &protocol.Request{MediaType: "application/x-ndjson", Body: body.Bytes()}, 100)
}

// BenchmarkHotPathWithNContracts: the one-event hot path with N other
// contracts loaded beside the event's, to show that an event's cost does
// not grow with the size of the registry.
func BenchmarkHotPathWithNContracts(b *testing.B) {
	base, problems, err := contract.LoadDir("../../testdata/contracts")
	if err != nil || len(problems) > 0 {
		b.Fatal(err, problems)
	}
	for _, n := range []int{0, 100, 1000, 10000} {
		contracts := append([]*contract.Contract(nil), base...)
		for i := range n {
			doc := `{"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
 "self": {"vendor": "com.generated", "name": "event_` + strconv.Itoa(i) + `", "format": "jsonschema", "version": "1-0-0"},
 "type": "object", "properties": {"id": {"type": "string", "maxLength": 64}, "n": {"type": "integer"}}, "required": ["id"]}`
			c, err := contract.Compile([]byte(doc), contract.Key{}, "generated")
			if err != nil {
				b.Fatal(err)
			}
			contracts = append(contracts, c)
		}
		reg := contract.NewSet(contracts)
		p := pipeline.New(reg, event.Collector{Name: "accord"}, "default")
		b.Run("contracts="+strconv.Itoa(n), func(b *testing.B) {
			runHotPath(b, p, serveDecoder(reg), &protocol.Request{MediaType: "application/json", Body: []byte(benchEvent(b, 1))}, 1)
		})
	}
}

// BenchmarkHotPathSnowplowPost: a Snowplow tracker's POST of 10 events
// (testdata/events/snowplow_tp2_post.json, the body scripts/measure-serve's
// snowplow load sends: alternately page views and self-describing checkout
// events of accord init's contracts, base64-encoded, each with the user
// context whose id the privacy rules HMAC) through the decoder of
// /com.snowplowanalytics.snowplow/tp2
// and the pipeline as accord serve builds them for accord init's
// directory: the built-in Snowplow contracts under accord init's, the
// privacy stage with an HMAC key (every event's user context has an id to
// HMAC), the collector-wide policy.
func BenchmarkHotPathSnowplowPost(b *testing.B) {
	builtin, err := fs.Sub(snowplow.Contracts, "contracts")
	if err != nil {
		b.Fatal(err)
	}
	base, err := contract.LoadFS(builtin, "snowplow")
	if err != nil {
		b.Fatal(err)
	}
	local, problems, err := contract.LoadDir("../scaffold/template/contracts")
	if err != nil || len(problems) > 0 {
		b.Fatal(err, problems)
	}
	reg := contract.NewSetWithBase(base, local)
	secrets := &privacy.Secrets{KeyID: "k1", Key: []byte("bench-key-0123456789")}
	p := pipeline.New(reg, event.Collector{Name: "accord", Version: "bench", Env: "bench", Host: "h"}, "default",
		privacy.NewStage(reg, secrets, privacy.Options{}, nil), privacy.NewPolicy(privacy.DefaultPolicyOptions()))
	opts := snowplow.DefaultOptions()
	var decode protocol.Decoder
	for _, ep := range snowplow.Type().Endpoints(&opts, protocol.Deps{Contracts: reg, Local: reg}) {
		if ep.Path == snowplow.PathPost {
			decode = ep.Decode
		}
	}
	// MaxEvents as the server sets it by default (max_events_per_request).
	body, err := os.ReadFile("../../testdata/events/snowplow_tp2_post.json")
	if err != nil {
		b.Fatal(err)
	}
	req := &protocol.Request{Method: http.MethodPost, MediaType: "application/json", Body: body, MaxEvents: 500}
	preq := pipeline.Request{Protocol: snowplow.Name, Source: event.Source{IP: "127.0.0.1", UserAgent: "accord-loadgen", Path: snowplow.PathPost}}
	inputs, _, err := decode(req)
	if err != nil {
		b.Fatal(err)
	}
	records := p.Process(preq, inputs)
	if len(records) != 10 || !bytes.Contains(records[0].Contexts[0].Data, []byte(`"hmac-sha256:k1:`)) {
		b.Fatalf("%d records, the first's contexts %+v: want 10, the user id HMAC'd", len(records), records[0].Contexts)
	}
	runHotPathLent(b, p, decode, req, 10, preq, 10)
}
