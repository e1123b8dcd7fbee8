package segment

import (
	"strings"
	"testing"
)

func TestPlanLookup(t *testing.T) {
	plan, err := NewPlan([]PlanEntry{
		{SchemaKey: "iglu:com.acme/order_completed/jsonschema/1-0-0", Events: []string{"Order Completed", "Order Completed"}},
		{SchemaKey: "iglu:com.acme/page_view/jsonschema/1-0-0", Events: []string{"Pricing"}, Calls: []string{CallPage, CallScreen}},
		{SchemaKey: "iglu:com.acme/user/jsonschema/1-0-0", Calls: []string{CallIdentify}},
		{SchemaKey: "iglu:com.acme/any_track/jsonschema/1-0-0", Calls: []string{CallTrack}},
	})
	if err != nil {
		t.Fatalf("NewPlan: %v", err)
	}
	tests := []struct {
		name, call, event string
		key               string
	}{
		{name: "event name", call: CallTrack, event: "Order Completed", key: "iglu:com.acme/order_completed/jsonschema/1-0-0"},
		{name: "event name before call type", call: CallPage, event: "Pricing", key: "iglu:com.acme/page_view/jsonschema/1-0-0"},
		{name: "unlisted event falls back to its call type", call: CallTrack, event: "Signed Up", key: "iglu:com.acme/any_track/jsonschema/1-0-0"},
		{name: "call type", call: CallIdentify, key: "iglu:com.acme/user/jsonschema/1-0-0"},
		{name: "unnamed screen", call: CallScreen, key: "iglu:com.acme/page_view/jsonschema/1-0-0"},
		{name: "event names match exactly", call: CallGroup, event: "order completed"},
		{name: "not covered", call: CallAlias},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, ok := plan.Lookup(tc.call, tc.event)
			if key != tc.key || ok != (tc.key != "") {
				t.Errorf("Lookup(%q, %q) = %q, %v; want %q", tc.call, tc.event, key, ok, tc.key)
			}
		})
	}
	var none *Plan
	if key, ok := none.Lookup(CallTrack, "Order Completed"); ok || key != "" {
		t.Errorf("nil plan found %q", key)
	}
}

func TestNewPlanErrors(t *testing.T) {
	tests := []struct {
		name    string
		entries []PlanEntry
		parts   []string
	}{
		{
			name: "event under two contracts",
			entries: []PlanEntry{
				{SchemaKey: "iglu:com.acme/a/jsonschema/1-0-0", Events: []string{"Order Completed"}},
				{SchemaKey: "iglu:com.acme/b/jsonschema/1-0-0", Events: []string{"Order Completed"}},
			},
			parts: []string{`event "Order Completed" is covered by both iglu:com.acme/a/jsonschema/1-0-0 and iglu:com.acme/b/jsonschema/1-0-0`},
		},
		{
			name: "call under two contracts",
			entries: []PlanEntry{
				{SchemaKey: "a", Calls: []string{CallIdentify}},
				{SchemaKey: "b", Calls: []string{CallIdentify}},
			},
			parts: []string{"call type identify is covered by both a and b"},
		},
		{name: "batch is not a call type", entries: []PlanEntry{{SchemaKey: "a", Calls: []string{"batch"}}}, parts: []string{`lists call type "batch"`, callList}},
		{name: "no schema key", entries: []PlanEntry{{Events: []string{"E"}}}, parts: []string{"entry 0 has no schema key"}},
		{name: "covers nothing", entries: []PlanEntry{{SchemaKey: "a"}}, parts: []string{"entry for a covers nothing"}},
		{name: "empty event name", entries: []PlanEntry{{SchemaKey: "a", Events: []string{""}}}, parts: []string{"entry for a lists an empty event name"}},
		{
			name:    "every problem is listed",
			entries: []PlanEntry{{SchemaKey: "a", Calls: []string{"Track"}}, {Events: []string{"E"}}},
			parts:   []string{`call type "Track"`, "entry 1 has no schema key"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := NewPlan(tc.entries)
			if err == nil {
				t.Fatalf("NewPlan accepted %+v", tc.entries)
			}
			if plan != nil {
				t.Errorf("NewPlan returned a plan with its error")
			}
			for _, part := range tc.parts {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not say %q", err, part)
				}
			}
		})
	}
}

func TestPolicyValidate(t *testing.T) {
	for _, p := range []Policy{Allow, Flag, Block} {
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	for _, p := range []Policy{"", "Allow", "drop"} {
		err := p.Validate()
		if err == nil || !strings.Contains(err.Error(), "use allow") {
			t.Errorf("%q: error %v, want one listing the policies", p, err)
		}
	}
}
