package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/delivery"
)

// An event carrying a context no contract exists for: failed by default,
// stored good and flagged with contracts.unknown_contexts: keep; /stats
// names the missing key either way.
func TestUnknownContextsPolicy(t *testing.T) {
	// A context key no contract exists for (Accord ships the trackers'
	// default entities, so the test uses a standard key it does not ship:
	// the GA cookies plugin's entity).
	const unknownKey = "iglu:com.google.analytics/cookies/jsonschema/1-0-0"
	event := func(id string) []byte {
		return []byte(`{"schema":"` + checkoutKey + `","data":{"order_id":"ord-1","total":25.5,"currency":"EUR","items":[{"sku":"sku-1","quantity":2,"price":12.75}]},` +
			`"contexts":[{"schema":"` + unknownKey + `","data":{"_ga":"GA1.2.1033501218.1368477899","_gid":"GA1.2.1417185397.1764838502"}},{"schema":"` + userKey + `","data":{"id":"user-1","plan":"pro"}}],` +
			`"event_id":"` + id + `"}`)
	}
	unknownCount := func(st delivery.Stats, key string) uint64 {
		for _, u := range st.UnknownContexts {
			if u.Schema == key {
				return u.Records
			}
		}
		return 0
	}
	tests := []struct {
		name   string
		env    []string
		id     string
		table  string
		policy string
	}{
		{name: "fail by default", id: "8a3c1d2e-0000-4000-8000-000000000001", table: "failed_events", policy: "fail"},
		{name: "keep", env: []string{"ACCORD_CONTRACTS_UNKNOWN_CONTEXTS=keep"}, id: "8a3c1d2e-0000-4000-8000-000000000002", table: "events", policy: "keep"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := newProject(t)
			c := startCollector(t, dir, tc.env...)
			if status, _, body := c.post("/events", "application/json", event(tc.id)); status != http.StatusOK {
				t.Fatalf("POST /events: %d %s", status, body)
			}
			waitDelivered(t, c, 30*time.Second)
			db := openStore(t, dir)
			r := spOne(t, db, tc.table, tc.id)
			if len(r.Contexts) != 2 || r.Contexts[0]["schema"] != unknownKey {
				t.Errorf("contexts %v, want both as sent", r.Contexts)
			}
			switch tc.policy {
			case "fail":
				if r.FailureType != "schema_not_found" || len(r.Failure.Messages) != 1 || r.Failure.Messages[0].InstancePath != "/contexts/0/data" {
					t.Errorf("failure %q %+v, want schema_not_found at /contexts/0/data", r.FailureType, r.Failure)
				}
			case "keep":
				if !r.Valid || r.Schema != checkoutKey {
					t.Errorf("valid %v schema %q, want good against %s", r.Valid, r.Schema, checkoutKey)
				}
				// The user context is governed (hmac): the privacy marker
				// sits beside the unknown keys.
				marker, _ := r.Attributes["accord_privacy"].(map[string]any)
				delete(r.Attributes, "accord_privacy")
				spEqualJSON(t, "attributes", r.Attributes, spJSON(t, `{"unknown_contexts":["`+unknownKey+`"]}`))
				if marker["key_id"] != "k1" || marker["rules"] == nil {
					t.Errorf("attributes.accord_privacy %v, want the marker with key_id k1", marker)
				}
				// The known context is still validated: an invalid one fails.
				bad := []byte(`{"schema":"` + checkoutKey + `","data":{"order_id":"ord-2","total":1,"currency":"EUR","items":[]},` +
					`"contexts":[{"schema":"` + unknownKey + `","data":{}},{"schema":"` + userKey + `","data":{"plan":"pro"}}],"event_id":"8a3c1d2e-0000-4000-8000-000000000003"}`)
				if status, _, body := c.post("/events", "application/json", bad); status != http.StatusOK {
					t.Fatalf("POST /events: %d %s", status, body)
				}
				waitDelivered(t, c, 30*time.Second)
				if f := spOne(t, db, "failed_events", "8a3c1d2e-0000-4000-8000-000000000003"); f.FailureType != "schema_violation" {
					t.Errorf("an invalid known context under keep: failure %q, want schema_violation", f.FailureType)
				}
			}
			want := uint64(1)
			if tc.policy == "keep" {
				want = 2
			}
			if n := unknownCount(c.stats(), unknownKey); n != want {
				t.Errorf("/stats unknown_contexts[%s] = %d, want %d", unknownKey, n, want)
			}
			c.stop()
		})
	}
}
