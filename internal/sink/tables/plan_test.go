package tables_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/sink/tables"
)

// live returns the catalog's view of t as created.
func live(t *tables.Table) *tables.Live {
	l := &tables.Live{Name: t.Name, Columns: map[string]tables.LiveColumn{}}
	for _, c := range t.Columns {
		l.Columns[c.Name] = tables.LiveColumn{Type: c.Kind.String(), Nullable: c.Nullable}
	}
	return l
}

func statements(steps []tables.Step) []string {
	var out []string
	for _, s := range steps {
		out = append(out, s.Statement)
	}
	return out
}

func TestPlan(t *testing.T) {
	model := tables.Options{FlattenDepth: 2, MaxColumns: 400}
	c100 := compile(t, "iglu:com.acme/checkout/jsonschema/1-0-0", checkoutV1)
	v1, err := tables.FromContract(pg, c100, nil, model)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("create", func(t *testing.T) {
		steps, bound := tables.Plan(pg, v1, nil)
		if !slices.Equal(statements(steps), []string{"CREATE com_acme_checkout_1"}) || bound != v1 {
			t.Errorf("plan for a missing table: %v", statements(steps))
		}
		if steps[0].Contract != "com.acme/checkout/1" || steps[0].Version != "1-0-0" {
			t.Errorf("step for %s %s", steps[0].Contract, steps[0].Version)
		}
	})
	t.Run("up to date", func(t *testing.T) {
		if steps, _ := tables.Plan(pg, v1, live(v1)); len(steps) != 0 {
			t.Errorf("plan for an up-to-date table: %v", statements(steps))
		}
	})
	// 1-0-1 adds an optional property, and makes total optional.
	v101body := strings.Replace(checkoutV1, `"anything": {}`, `"anything": {}, "gift": {"type": "boolean"}`, 1)
	v101body = strings.Replace(v101body, `"required": ["order_id", "total", "address"]`, `"required": ["order_id", "address"]`, 1)
	c101 := compile(t, "iglu:com.acme/checkout/jsonschema/1-0-1", v101body)
	v101, err := tables.FromContract(pg, c101, nil, model)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("addition", func(t *testing.T) {
		steps, _ := tables.Plan(pg, v101, live(v1))
		want := []string{"ADD com_acme_checkout_1.gift bool", "DROP NOT NULL com_acme_checkout_1.total"}
		if !slices.Equal(statements(steps), want) {
			t.Errorf("plan 1-0-0 -> 1-0-1: %v, want %v", statements(steps), want)
		}
		// Each step says which contract change needs it, as the
		// compatibility diff (lint's) reports it.
		if err := tables.Explain(steps, c100, c101); err != nil {
			t.Fatal(err)
		}
		for i, prefix := range []string{"property_added_constrained: ", "required_removed: "} {
			if !strings.HasPrefix(steps[i].Reason, prefix) {
				t.Errorf("reason of %q: %q, want %s...", steps[i].Statement, steps[i].Reason, prefix)
			}
		}
	})
	t.Run("older version on a newer table", func(t *testing.T) {
		steps, _ := tables.Plan(pg, v1, live(v101))
		if len(steps) != 0 {
			t.Errorf("planning 1-0-0 on the 1-0-1 table: %v, want nothing (never drop or narrow)", statements(steps))
		}
	})
	// 1-1-0 widens items from integer to number, and coupon to anything.
	wide := strings.Replace(checkoutV1, `"items": {"type": "integer"}`, `"items": {"type": "number"}`, 1)
	wide = strings.Replace(wide, `"total": {"type": "number"}`, `"total": {"type": "integer"}`, 1)
	v110, err := tables.FromContract(pg, compile(t, "iglu:com.acme/checkout/jsonschema/1-1-0", wide), nil, model)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("widening and narrowing", func(t *testing.T) {
		steps, bound := tables.Plan(pg, v110, live(v1))
		want := []string{"ADD com_acme_checkout_1.items_double double"}
		if !slices.Equal(statements(steps), want) {
			t.Errorf("plan 1-0-0 -> 1-1-0: %v, want %v", statements(steps), want)
		}
		for _, c := range bound.Columns {
			switch strings.Join(c.Source.Path, "/") {
			case "items":
				if c.Name != "items_double" || c.Kind != tables.Double {
					t.Errorf("widened items written to %s (%v)", c.Name, c.Kind)
				}
			case "total":
				// Narrowed to integer: the double column holds it.
				if c.Name != "total" || c.Kind != tables.Double {
					t.Errorf("narrowed total written to %s (%v), want the double column total", c.Name, c.Kind)
				}
			}
		}
		// Once added, the widened column is used again: nothing to do.
		after := live(v1)
		after.Columns["items_double"] = tables.LiveColumn{Type: "double", Nullable: true}
		if steps, _ := tables.Plan(pg, v110, after); len(steps) != 0 {
			t.Errorf("second plan: %v", statements(steps))
		}
	})
	t.Run("a column made by hand in the way", func(t *testing.T) {
		l := live(v1)
		l.Columns["items_double"] = tables.LiveColumn{Type: "text", Nullable: true}
		steps, _ := tables.Plan(pg, v110, l)
		want := []string{"ADD com_acme_checkout_1.items_double_" + tables.Hash("items_double\x00items") + " double"}
		if !slices.Equal(statements(steps), want) {
			t.Errorf("plan: %v, want %v", statements(steps), want)
		}
	})
}
