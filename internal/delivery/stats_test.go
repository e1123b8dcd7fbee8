package delivery

import (
	"strconv"
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/event"
)

// Keys that did not resolve to a contract come from clients: they share one
// bucket, so a flood of them can neither grow the counters nor push real
// contracts out of them.
func TestContractCountersCountOnlyResolvedKeysByName(t *testing.T) {
	c := newContractCounters()
	var junk []*event.Envelope
	for i := range maxContracts + 200 {
		junk = append(junk, &event.Envelope{Schema: "iglu:com.junk/k" + strconv.Itoa(i) + "/jsonschema/1-0-0", Vendor: "com.junk"})
	}
	junk = append(junk, &event.Envelope{Schema: "not a key"}, &event.Envelope{})
	c.add(junk)
	long := "iglu:com.acme/" + strings.Repeat("x", maxSchemaKey) + "/jsonschema/1-0-0"
	c.add([]*event.Envelope{
		{Schema: "iglu:com.acme/real/jsonschema/1-0-0", Resolved: true, Valid: true},
		{Schema: "iglu:com.acme/real/jsonschema/1-0-0", Resolved: true},
		{Schema: long, Resolved: true, Valid: true},
	})
	got := map[string]ContractStats{}
	for _, cs := range c.snapshot() {
		got[cs.Schema] = cs
	}
	want := map[string]ContractStats{
		UnknownContracts:                      {Schema: UnknownContracts, Failed: maxContracts + 201},
		NoContract:                            {Schema: NoContract, Failed: 1},
		"iglu:com.acme/real/jsonschema/1-0-0": {Schema: "iglu:com.acme/real/jsonschema/1-0-0", Good: 1, Failed: 1},
		OtherContracts:                        {Schema: OtherContracts, Good: 1},
	}
	if len(got) != len(want) {
		t.Errorf("counted %d keys, want %d: %v", len(got), len(want), got)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got %+v, want %+v", k, got[k], w)
		}
	}
}

// Unknown context keys come from clients too: they are counted in at most
// maxUnknownContexts entries, the bucket included, the rest (and overlong
// keys) together in the bucket, each
// record once per key, and the counts survive a save and restore.
func TestUnknownContextCountersAreBounded(t *testing.T) {
	c := newContractCounters()
	known := "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0"
	long := "iglu:com.acme/" + strings.Repeat("x", maxSchemaKey) + "/jsonschema/1-0-0"
	c.add([]*event.Envelope{
		{Schema: "iglu:com.acme/e/jsonschema/1-0-0", Resolved: true, Valid: true, UnknownContexts: []string{known, known}},
		{Schema: "iglu:com.acme/e/jsonschema/1-0-0", Resolved: true, UnknownContexts: []string{known, long}},
	})
	var flood []*event.Envelope
	for i := range maxUnknownContexts + 50 {
		flood = append(flood, &event.Envelope{Schema: "iglu:com.acme/e/jsonschema/1-0-0", UnknownContexts: []string{"iglu:com.junk/k" + strconv.Itoa(i) + "/jsonschema/1-0-0"}})
	}
	c.add(flood)
	snap := c.snapshotUnknown()
	if len(snap) != maxUnknownContexts {
		t.Fatalf("counted %d keys, want %d, the bucket included", len(snap), maxUnknownContexts)
	}
	got := map[string]uint64{}
	for _, u := range snap {
		got[u.Schema] = u.Records
	}
	// known and the bucket (the long key's) take two places; the junk
	// keys fill the other 98, and the 52 after them go to the bucket.
	if got[known] != 2 || got[OtherContracts] != 1+52 {
		t.Errorf("%s: %d records, want 2; %s: %d, want 53", known, got[known], OtherContracts, got[OtherContracts])
	}
	again := newContractCounters()
	again.restoreUnknown(snap)
	if r := again.snapshotUnknown(); len(r) != len(snap) || r[0] != snap[0] {
		t.Errorf("restored %d keys (first %+v), want %d (first %+v)", len(r), r[0], len(snap), snap[0])
	}
}

// Records are counted by kind (contract, protocol, valid, failure type) with
// the contract bucketed as the per-contract counts are, so keys from
// clients add no kind; past maxEventKinds kinds, the rest share one.
func TestEventKindsAreCountedWithBoundedContracts(t *testing.T) {
	c := newContractCounters()
	var recs []*event.Envelope
	for i := range 1000 {
		recs = append(recs, &event.Envelope{Schema: "iglu:com.junk/k" + strconv.Itoa(i) + "/jsonschema/1-0-0", Protocol: "selfdesc", Failure: event.NewFailure(event.SchemaNotFound, "no contract")})
	}
	recs = append(recs,
		&event.Envelope{Schema: "iglu:com.acme/real/jsonschema/1-0-0", Resolved: true, Valid: true, Protocol: "snowplow"},
		&event.Envelope{Schema: "iglu:com.acme/real/jsonschema/1-0-0", Resolved: true, Valid: true, Protocol: "snowplow"},
		&event.Envelope{Schema: "iglu:com.acme/real/jsonschema/1-0-0", Resolved: true, Protocol: "snowplow", Failure: event.NewFailure(event.SchemaViolation, "bad")},
	)
	c.add(recs)
	got := map[EventKind]uint64{}
	for _, e := range c.snapshotKinds() {
		got[e.EventKind] = e.Records
	}
	want := map[EventKind]uint64{
		{Contract: UnknownContracts, Protocol: "selfdesc", FailureType: "schema_not_found"}:                      1000,
		{Contract: "iglu:com.acme/real/jsonschema/1-0-0", Protocol: "snowplow", Valid: true}:                     2,
		{Contract: "iglu:com.acme/real/jsonschema/1-0-0", Protocol: "snowplow", FailureType: "schema_violation"}: 1,
	}
	if len(got) != len(want) {
		t.Errorf("counted %d kinds, want %d: %v", len(got), len(want), got)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%+v: got %d, want %d", k, got[k], w)
		}
	}

	// Contracts past maxContracts share (other), as in the per-contract
	// counts; kinds past maxEventKinds share one with no protocol.
	c = newContractCounters()
	for i := range maxContracts + 10 {
		for p := range 5 {
			c.add([]*event.Envelope{{Schema: "iglu:com.acme/c" + strconv.Itoa(i) + "/jsonschema/1-0-0", Resolved: true, Valid: true, Protocol: "p" + strconv.Itoa(p)}})
		}
	}
	got = map[EventKind]uint64{}
	for _, e := range c.snapshotKinds() {
		got[e.EventKind] = e.Records
	}
	if len(got) != maxEventKinds+1 || got[EventKind{Contract: OtherContracts}] != 5*(maxContracts+10)-maxEventKinds {
		t.Errorf("%d kinds, %d records in the shared one; want %d kinds and %d", len(got), got[EventKind{Contract: OtherContracts}], maxEventKinds+1, 5*(maxContracts+10)-maxEventKinds)
	}
	named := map[string]bool{}
	for k := range got {
		if k.Contract != OtherContracts {
			named[k.Contract] = true
		}
	}
	if len(named) > maxContracts {
		t.Errorf("%d contracts counted by name, want at most %d as in the per-contract counts", len(named), maxContracts)
	}
}
