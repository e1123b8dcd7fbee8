package postgres

import (
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/sink/tables"
)

// The typed insert's subquery materializes only what the table's columns
// read: the event data and the contexts are parsed only for a table with
// columns from them. That the rows it makes are right is held by the typed
// table tests against PostgreSQL (TestTypedTableEvolves and the conformance
// suite); this holds what it leaves out.
func TestTypedInsertParsesOnlyWhatItsColumnsRead(t *testing.T) {
	envelope := tables.Column{Name: "event_id", Kind: tables.Text, Source: tables.Source{Envelope: "event_id"}}
	property := tables.Column{Name: "total", Kind: tables.Double, Source: tables.Source{Path: []string{"total"}}}
	context := tables.Column{Name: "contexts_com_acme_user_1", Kind: tables.JSON, Source: tables.Source{Context: "com.acme/user/1"}}
	for _, tc := range []struct {
		name                   string
		columns                []tables.Column
		parsesData, parsesCtxs bool
	}{
		{"envelope only", []tables.Column{envelope}, false, false},
		{"properties", []tables.Column{envelope, property}, true, false},
		{"contexts", []tables.Column{envelope, context}, false, true},
		{"both", []tables.Column{envelope, property, context}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := typedInsertInto("accord_events", &tables.Table{Name: "com_acme_order_1", Contract: "com.acme/order/1", Columns: tc.columns})
			sub, _, ok := strings.Cut(strings.TrimPrefix(q, "WITH x AS MATERIALIZED (SELECT "), " FROM ")
			if !ok {
				t.Fatalf("no subquery in %s", q)
			}
			if strings.Contains(sub, "s.*") {
				t.Errorf("the subquery keeps every staged member: %s", sub)
			}
			if !strings.Contains(sub, `s."event_id"`) {
				t.Errorf("the subquery lacks the envelope column the table reads: %s", sub)
			}
			if got := strings.Contains(sub, "s.payload::jsonb AS accord_data"); got != tc.parsesData {
				t.Errorf("event data parsed: %v, want %v: %s", got, tc.parsesData, sub)
			}
			if got := strings.Contains(sub, "s.contexts::jsonb AS accord_contexts"); got != tc.parsesCtxs {
				t.Errorf("contexts parsed: %v, want %v: %s", got, tc.parsesCtxs, sub)
			}
		})
	}
}
