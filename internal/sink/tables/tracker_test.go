package tables_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
	"weak"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/pipeline"
	"github.com/accord-events/accord/internal/sink/tables"
)

// countingContracts is the contracts a sink sees, noting every key it is
// asked for: with a remote registry each lookup of an unknown key is a
// fetch.
type countingContracts struct {
	set  *contract.Set
	mu   sync.Mutex
	keys []string
}

func (c *countingContracts) Resolve(key string) (*contract.Contract, error) {
	c.mu.Lock()
	c.keys = append(c.keys, key)
	c.mu.Unlock()
	return c.set.Resolve(key)
}

func (c *countingContracts) Changed() <-chan struct{} { return c.set.Changed() }

// TestTrackerSkipsUnknownContexts: a context kept under
// contracts.unknown_contexts: keep names a schema its client chose. The
// sink must neither give it a column nor look it up again (outside any
// request's lookup budget, a client could make a sink fetch whatever keys
// it liked); the contexts that have a contract still get their columns.
// The records come from the real pipeline, so the attributes the tracker
// reads are the ones validation writes.
func TestTrackerSkipsUnknownContexts(t *testing.T) {
	checkout := "iglu:com.acme/checkout/jsonschema/1-0-0"
	user := "iglu:com.acme/user/jsonschema/1-0-0"
	set := contract.NewSet([]*contract.Contract{
		compile(t, checkout, checkoutV1),
		compile(t, user, `"type": "object", "properties": {"id": {"type": "string"}}`),
	})
	p := pipeline.NewWithPolicy(set, pipeline.KeepUnknownContexts, event.Collector{Name: "accord"}, "default")
	var unknown []string
	var inputs []event.Input
	for i := range 50 {
		key := "iglu:com.evil/k" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "/jsonschema/1-0-0"
		unknown = append(unknown, key)
		inputs = append(inputs, event.Input{
			SchemaKey: checkout,
			Data:      json.RawMessage(`{"order_id": "7a6f1a1e-7a4e-4c43-9f43-5b1f0b2f8a11", "total": 1, "address": {"city": "Oslo"}}`),
			Raw:       []byte(`{}`),
			Contexts: []event.Context{
				{Schema: key, Data: json.RawMessage(`{"x": 1}`)},
				{Schema: user, Data: json.RawMessage(`{"id": "u1"}`)},
			},
		})
	}
	records := p.Process(pipeline.Request{Protocol: "selfdesc", CollectedAt: time.Now()}, inputs)
	for _, r := range records {
		if !r.Valid {
			t.Fatalf("record failed: %+v", r.Failure)
		}
	}

	cs := &countingContracts{set: set}
	tr := tables.NewTracker(cs, slog.New(slog.NewTextHandler(io.Discard, nil)), func(tab *tables.Table) string { return "INSERT " + tab.Name })
	var planned []tables.Want
	plan := func(_ context.Context, wants []tables.Want) (*tables.Migration, error) {
		planned = append(planned, wants...)
		m := &tables.Migration{Bound: map[string]*tables.Table{}}
		for _, w := range wants {
			tab, err := tables.FromContract(pg, w.Contract, w.Contexts, tables.Options{FlattenDepth: 2, MaxColumns: 400})
			if err != nil {
				return nil, err
			}
			m.Bound[tab.Contract] = tab
		}
		return m, nil
	}
	inserts, err := tr.Inserts(context.Background(), records, plan)
	if err != nil {
		t.Fatal(err)
	}
	if len(inserts) != 1 || len(planned) != 1 {
		t.Fatalf("inserts %q after planning %d tables, want one of each", inserts, len(planned))
	}
	if got := planned[0].Contexts; !slices.Equal(got, []string{"com.acme/user/1"}) {
		t.Errorf("planned contexts %q, want only the one with a contract", got)
	}
	for _, k := range cs.keys {
		if slices.Contains(unknown, k) {
			t.Fatalf("the sink looked up %s, a context key its client chose (lookups: %d)", k, len(cs.keys))
		}
	}
	if len(cs.keys) == 0 {
		t.Fatal("no lookups at all: the test no longer exercises the tracker's resolving")
	}
}

// TestTrackerPlansVersionsInOrder: the insert of a typed table writes each
// property to the column the last version planned binds it to, so a batch
// holding several versions of a MODEL is planned in SchemaVer order,
// whatever order the records (and a map) gave: the integer property the
// latest version widened to number then goes to its double column, which
// holds every version's values. Run many times, as map order varies.
func TestTrackerPlansVersionsInOrder(t *testing.T) {
	var cs []*contract.Contract
	var records []*event.Envelope
	for _, v := range []string{"1-1-0", "1-0-0", "1-0-10", "1-0-2"} {
		key := "iglu:com.acme/widen/jsonschema/" + v
		typ := "integer"
		if v == "1-1-0" {
			typ = "number"
		}
		cs = append(cs, compile(t, key, `"type": "object", "properties": {"n": {"type": "`+typ+`"}}`))
		k, _ := contract.ParseKey(key)
		records = append(records, &event.Envelope{EventID: v, Schema: key, Vendor: k.Vendor, Name: k.Name, Version: v, Valid: true, Payload: json.RawMessage(`{"n": 1}`)})
	}
	set := contract.NewSet(cs)
	for range 20 {
		tr := tables.NewTracker(set, slog.New(slog.DiscardHandler), func(*tables.Table) string { return "insert" })
		var order []string
		_, err := tr.Inserts(context.Background(), records, func(_ context.Context, wants []tables.Want) (*tables.Migration, error) {
			for _, w := range wants {
				order = append(order, w.Contract.Version)
			}
			return &tables.Migration{Bound: map[string]*tables.Table{}}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"1-0-0", "1-0-2", "1-0-10", "1-1-0"}; !slices.Equal(order, want) {
			t.Fatalf("planned %v, want %v", order, want)
		}
	}
}

// TestTrackerKeepsNoRecordMemory: records decoded sharing the bytes they
// were read as (event.DecodeEnvelopeShared, as delivery hands them to the
// SQLite sink) must not stay alive through what the tracker remembers of
// them, or each version would keep a whole spool read.
func TestTrackerKeepsNoRecordMemory(t *testing.T) {
	key := "iglu:com.acme/checkout/jsonschema/1-0-0"
	set := contract.NewSet([]*contract.Contract{compile(t, key, checkoutV1)})
	tr := tables.NewTracker(set, slog.New(slog.DiscardHandler), func(*tables.Table) string { return "insert" })
	plan := func(_ context.Context, wants []tables.Want) (*tables.Migration, error) {
		return &tables.Migration{Bound: map[string]*tables.Table{}}, nil
	}
	kept := func() weak.Pointer[byte] {
		k, _ := contract.ParseKey(key)
		rec := &event.Envelope{EventID: "e1", Schema: key, Vendor: k.Vendor, Name: k.Name, Version: k.Version.String(), Valid: true,
			Payload: json.RawMessage(`{"order_id": "7a6f1a1e-7a4e-4c43-9f43-5b1f0b2f8a11", "total": 1}`)}
		read := append(rec.AppendJSON(nil), make([]byte, 64<<10)...)[:len(rec.AppendJSON(nil))]
		var shared event.Envelope
		if err := event.DecodeEnvelopeShared(read, &shared); err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Inserts(context.Background(), []*event.Envelope{&shared}, plan); err != nil {
			t.Fatal(err)
		}
		return weak.Make(&read[0])
	}()
	if !check.Collected(kept) {
		t.Fatal("the tracker keeps the bytes a record was decoded from")
	}
	runtime.KeepAlive(tr)
}
