package snowplow

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// TestMapping holds Mapping to what the decoder does: every field it reads
// itself is listed, and a field lands in attributes exactly when Mapping
// says so.
func TestMapping(t *testing.T) {
	m := Mapping()
	seen := map[string]bool{}
	for _, f := range m {
		if seen[f.Param] {
			t.Errorf("%s is listed twice", f.Param)
		}
		seen[f.Param] = true
		if f.Envelope == "" || f.Doc == "" {
			t.Errorf("%s has no envelope field or no doc", f.Param)
		}
	}
	for _, name := range paramNames {
		if !seen[name] {
			t.Errorf("%s is read by the decoder but not listed", name)
		}
	}
	// A value each field accepts.
	values := map[string]string{
		"e": "pv", "dtm": "1714566600123", "stm": "1714566600123",
		"ue_pr": checkoutUE, "ue_px": base64.RawURLEncoding.EncodeToString([]byte(checkoutUE)),
		"co": userContexts, "cx": base64.RawURLEncoding.EncodeToString([]byte(userContexts)),
		"pp_mix": "1", "pp_max": "1", "pp_miy": "1", "pp_may": "1", "se_va": "1",
		"tr_tt": "1", "tr_tx": "1", "tr_sh": "1", "ti_pr": "1", "ti_qu": "1",
	}
	for _, f := range m {
		t.Run(f.Param, func(t *testing.T) {
			// Send the field with an event of the type it belongs to.
			e := "pv"
			if prefix, _, ok := strings.Cut(f.Param, "_"); ok && len(prefix) == 2 {
				e = prefix
			}
			fs := ev(e)
			if f.Param != "e" && f.Param != "p" && f.Param != "tv" {
				v, ok := values[f.Param]
				if !ok {
					v = "x"
				}
				fs = fs.with(f.Param, v)
			}
			if e == "ue" && f.Param != "ue_pr" && f.Param != "ue_px" {
				fs = fs.with("ue_pr", checkoutUE)
			}
			in, err := DecodeQuery(fs.query())
			if err != nil || in.Failure != nil {
				t.Fatalf("DecodeQuery(%s): %v %+v", fs.query().Encode(), err, in.Failure)
			}
			var attrs map[string]string
			if err := json.Unmarshal(in.Attributes, &attrs); err != nil {
				t.Fatal(err)
			}
			_, inAttrs := attrs[f.Param]
			if listed := strings.Contains(f.Envelope, "attributes."+f.Param); listed != inAttrs {
				t.Errorf("Mapping says %q, but the field is in attributes: %v (%s)", f.Envelope, inAttrs, in.Attributes)
			}
		})
	}
}
