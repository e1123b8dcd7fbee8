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
