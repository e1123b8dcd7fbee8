package pipeline_test

import (
	"bytes"
	"os"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/pipeline"
	"github.com/accord-events/accord/internal/protocol"
	"github.com/accord-events/accord/internal/protocol/selfdesc"
)

// The decoder of POST /events as accord serve wires it reads the data of an
// event naming one of the team's contracts in one walk that also validates
// it (selfdesc.DecodeWith, contract.CheckData), where Decode checks the data
// is JSON and the pipeline validates it again. What a client sees must not
// change: FuzzCheckedDecode runs both paths on the same request and
// compares everything that leaves them.

// checkedContracts are the real contracts of the differential tests: the
// Snowplow contracts Accord ships, an Iglu Central schema, the scaffold's
// examples and the benchmark's contract, loaded as the collector loads them.
var checkedContracts = sync.OnceValues(func() (*contract.Set, error) {
	var all []*contract.Contract
	for _, dir := range []string{"../protocol/snowplow/contracts", "../../e2e/testdata/iglu-central/schemas", "../scaffold/template/contracts", "../../testdata/contracts"} {
		cs, _, err := contract.LoadDir(dir)
		if err != nil {
			return nil, err
		}
		all = append(all, cs...)
	}
	return contract.NewSet(all), nil
})

// checkedRequest builds a request from the fuzz input: the bytes as the
// whole body, or as the data of an event naming the contract key picks,
// alone, in an array, or on an NDJSON line after a valid event.
func checkedRequest(keys []string, shape uint8, key uint16, data []byte) *protocol.Request {
	k := keys[int(key)%len(keys)]
	event := func(data []byte) []byte {
		return append(append([]byte(`{"schema":"`+k+`","data":`), data...), `}`...)
	}
	bench := benchEventBytes()
	switch shape % 6 {
	case 0:
		return &protocol.Request{MediaType: selfdesc.MediaJSON, Body: bytes.Clone(data)}
	case 1:
		return &protocol.Request{MediaType: selfdesc.MediaNDJSON, Body: bytes.Clone(data)}
	case 2:
		return &protocol.Request{MediaType: selfdesc.MediaJSON, Body: event(data)}
	case 3:
		body := append(append(append([]byte(`[`), bench...), ','), event(data)...)
		return &protocol.Request{MediaType: selfdesc.MediaJSON, Body: append(body, ']')}
	case 4:
		body := append(append(bench, '\n'), event(data)...)
		return &protocol.Request{MediaType: selfdesc.MediaNDJSON, Body: append(body, '\n')}
	}
	// The data before the schema: read as Decode reads it.
	body := append(append([]byte(`{"data":`), data...), `,"schema":"`+k+`"}`...)
	return &protocol.Request{MediaType: selfdesc.MediaJSON, Body: body}
}

var benchEventBytes = sync.OnceValue(func() []byte {
	data, err := os.ReadFile("../../testdata/events/product_viewed.json")
	if err != nil {
		panic(err)
	}
	return []byte(`{"schema":"iglu:com.example/product_viewed/jsonschema/1-0-0","data":` + string(bytes.TrimSpace(data)) + `}`)
})

// compareCheckedDecode decodes req with Decode and with the decoder accord
// serve wires, runs both through the pipeline, and fails on any
// difference in the error, the inputs (but CheckedBy) or the records
// (their JSON, but the generated event id). It reports how many events
// the one walk vouched for.
func compareCheckedDecode(t testing.TB, set *contract.Set, p *pipeline.Pipeline, req *protocol.Request) int {
	t.Helper()
	oldReq, newReq := *req, *req
	oldReq.Body, newReq.Body = bytes.Clone(req.Body), bytes.Clone(req.Body)
	oldInputs, oldErr := selfdesc.Decode(&oldReq)
	newInputs, newErr := selfdesc.DecodeWith(set)(&newReq)
	if !reflect.DeepEqual(oldErr, newErr) {
		t.Fatalf("body %q: the errors differ:\nDecode:     %v\nDecodeWith: %v", req.Body, oldErr, newErr)
	}
	if len(oldInputs) != len(newInputs) {
		t.Fatalf("body %q: %d inputs from Decode, %d from DecodeWith", req.Body, len(oldInputs), len(newInputs))
	}
	checked := 0
	for i := range newInputs {
		if newInputs[i].CheckedBy != nil {
			checked++
		}
		in := newInputs[i]
		in.CheckedBy = nil
		if !reflect.DeepEqual(oldInputs[i], in) {
			t.Fatalf("body %q: input %d differs:\nDecode:     %+v\nDecodeWith: %+v", req.Body, i, oldInputs[i], in)
		}
	}
	if oldErr != nil {
		return checked
	}
	preq := pipeline.Request{Protocol: selfdesc.Name, RequestID: "r", CollectedAt: time.Unix(1700000000, 0)}
	oldRecs, newRecs := p.Process(preq, oldInputs), p.Process(preq, newInputs)
	for i := range oldRecs {
		oldRecs[i].EventID, newRecs[i].EventID = "", ""
		a, b := oldRecs[i].AppendJSON(nil), newRecs[i].AppendJSON(nil)
		if !bytes.Equal(a, b) {
			t.Fatalf("body %q: record %d differs:\nDecode:     %s\nDecodeWith: %s", req.Body, i, a, b)
		}
	}
	return checked
}

func checkedSetup(t testing.TB) (*contract.Set, *pipeline.Pipeline, []string) {
	t.Helper()
	set, err := checkedContracts()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range set.Contracts() {
		keys = append(keys, c.Key.String())
	}
	// The keep policy too, so unknown contexts pass as they came.
	return set, pipeline.NewWithPolicy(set, pipeline.KeepUnknownContexts, event.Collector{Name: "accord"}, "default"), keys
}

// checkedSeeds are data for the fuzz target and the test below: the
// benchmark event and near misses of it (a repeated name, an escape, a
// number beyond float64, broken syntax, invalid against the contract), and
// values of other kinds.
func checkedSeeds() [][]byte {
	bench := benchEventBytes()
	data := bench[bytes.Index(bench, []byte(`"data":`))+7 : len(bench)-1]
	seeds := [][]byte{data, bench, []byte(`{}`), []byte(`null`), []byte(`[1,2]`), []byte(`"x"`), []byte(``), []byte(`{"a":1,"a":2}`)}
	for _, r := range [][2]string{
		{`"brand":`, `"brand":"x","brand":`},
		{`"brand":`, `"br\u0061nd":"x","brand":`},
		{`"brand":`, `"zz":1e999,"brand":`},
		{`"currency":"EUR"`, `"currency":"eur"`},
		{`"currency":"EUR"`, `"currency":"EUR",}`},
		{`"currency":"EUR"`, `"currency":"E\u0055R"`},
		{`"currency":"EUR"`, "\"currency\":\"EUR\xff\""},
		{`"dimensions":{`, `"dimensions":{"w":1,"w":1,`},
	} {
		seeds = append(seeds, bytes.Replace(data, []byte(r[0]), []byte(r[1]), 1))
	}
	return seeds
}

// TestCheckedDecodeMatchesDecode runs the seeds through every shape of
// request and every contract key, and makes sure the one walk vouches for
// the benchmark event (so the comparison is not empty).
func TestCheckedDecodeMatchesDecode(t *testing.T) {
	set, p, keys := checkedSetup(t)
	bench := -1
	for i, k := range keys {
		if k == "iglu:com.example/product_viewed/jsonschema/1-0-0" {
			bench = i
		}
	}
	checked := 0
	for _, data := range checkedSeeds() {
		for shape := range uint8(6) {
			for k := range keys {
				checked += compareCheckedDecode(t, set, p, checkedRequest(keys, shape, uint16(k), data))
			}
		}
	}
	if n := compareCheckedDecode(t, set, p, checkedRequest(keys, 4, uint16(bench), checkedSeeds()[0])); n != 2 {
		t.Fatalf("the one walk vouched for %d of the two benchmark events of an NDJSON body, want both", n)
	}
	if checked == 0 {
		t.Fatal("the one walk vouched for no event")
	}
	// accord serve's wiring (the team's contracts as protocol.Deps.Local)
	// is the one-walk decoder.
	inputs, _, err := serveDecoder(set)(&protocol.Request{MediaType: selfdesc.MediaJSON, Body: benchEventBytes()})
	if err != nil || len(inputs) != 1 || inputs[0].CheckedBy == nil {
		t.Fatalf("POST /events as accord serve wires it did not read the benchmark event's data in one walk: %+v, %v", inputs, err)
	}
}

// FuzzCheckedDecode holds the decoder accord serve wires to Decode and the
// pipeline's own validation, on arbitrary bodies and on the data of events
// naming real contracts.
func FuzzCheckedDecode(f *testing.F) {
	set, p, keys := checkedSetup(f)
	for i, data := range checkedSeeds() {
		for shape := range uint8(6) {
			f.Add(shape, uint16(i*13), data)
		}
	}
	f.Fuzz(func(t *testing.T, shape uint8, key uint16, data []byte) {
		compareCheckedDecode(t, set, p, checkedRequest(keys, shape, key, data))
	})
}
