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
