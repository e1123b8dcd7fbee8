package contract

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestSLA(t *testing.T) {
	doc := func(accord string) []byte {
		return []byte(`{"$schema": "` + IgluMetaSchemaURI + `", "self": {"vendor": "com.acme", "name": "cart", "format": "jsonschema", "version": "1-0-0"},` + accord + ` "type": "object"}`)
	}
	for _, tc := range []struct {
		name      string
		accord    string
		freshness time.Duration
		volume    int64 // -1: none
		err       string
	}{
		{"no x-accord", ``, 0, -1, ""},
		{"no sla", `"x-accord": {"owner": "a"},`, 0, -1, ""},
		{"both", `"x-accord": {"owner": "a", "sla": {"freshness": "1h30m", "volume_per_day": 2400}},`, 90 * time.Minute, 2400, ""},
		{"zero volume", `"x-accord": {"owner": "a", "sla": {"volume_per_day": 0}},`, 0, 0, ""},
		{"bad freshness", `"x-accord": {"owner": "a", "sla": {"freshness": "soon"}},`, 0, -1, "x-accord.sla.freshness"},
		{"negative freshness", `"x-accord": {"owner": "a", "sla": {"freshness": "-5m"}},`, 0, -1, "x-accord.sla.freshness"},
		{"fractional volume", `"x-accord": {"owner": "a", "sla": {"volume_per_day": 1.5}},`, 0, -1, "x-accord.sla.volume_per_day"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Compile(doc(tc.accord), Key{}, "test")
			if err != nil {
				t.Fatal(err)
			}
			sla, err := c.SLA()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("SLA() error %v, want one naming %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]string{true: "1h30m"}[tc.freshness == 90*time.Minute]; sla.FreshnessText != want {
				t.Errorf("freshness as written %q, want %q", sla.FreshnessText, want)
			}
			if sla.Freshness != tc.freshness {
				t.Errorf("freshness %s, want %s", sla.Freshness, tc.freshness)
			}
			switch {
			case tc.volume < 0 && sla.VolumePerDay != nil:
				t.Errorf("volume_per_day %d, want none", *sla.VolumePerDay)
			case tc.volume >= 0 && (sla.VolumePerDay == nil || *sla.VolumePerDay != tc.volume):
				t.Errorf("volume_per_day %v, want %d", sla.VolumePerDay, tc.volume)
			}
		})
	}
}

// TestSLAErrorIsBounded: an SLA error quotes the contract's value cut to a
// bound, since the alerts keep it and the catalog shows it.
func TestSLAErrorIsBounded(t *testing.T) {
	long := strings.Repeat("x", 100_000)
	for _, sla := range []string{`{"freshness": "` + long + `"}`, `{"volume_per_day": "` + long + `"}`} {
		doc := []byte(`{"$schema": "` + IgluMetaSchemaURI + `", "self": {"vendor": "com.acme", "name": "cart", "format": "jsonschema", "version": "1-0-0"}, "x-accord": {"sla": ` + sla + `}, "type": "object"}`)
		c, err := Compile(doc, Key{}, "test")
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.SLA()
		if err == nil || !strings.Contains(err.Error(), "x-accord.sla.") || len(err.Error()) > 2048 {
			t.Errorf("error of %d bytes: %.200v", len(fmt.Sprint(err)), err)
		}
	}
}
