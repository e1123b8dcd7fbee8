package contract

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/accord-events/accord/internal/redact"
)

// SLA is what a contract promises about its events in x-accord.sla (see
// docs/contracts.md): how late its events may be (Freshness) and how many
// arrive a day (VolumePerDay). The alerts of kinds freshness and volume
// read it.
type SLA struct {
	// Freshness is 0 when the contract does not set sla.freshness.
	Freshness time.Duration
	// FreshnessText is sla.freshness as the contract writes it ("15m"),
	// for display ("" when not set).
	FreshnessText string
	// VolumePerDay is nil when the contract does not set
	// sla.volume_per_day (0 is a promise of no events).
	VolumePerDay *int64
}

// SLA reads the contract's x-accord.sla. A contract without one has the
// zero SLA; a value of the wrong type (which accord contract lint reports)
// is an error naming the key, quoting the value cut to a bound (the alerts
// keep the error and the catalog shows it).
func (c *Contract) SLA() (SLA, error) {
	var doc struct {
		Accord *struct {
			SLA *struct {
				Freshness    *string          `json:"freshness"`
				VolumePerDay *json.RawMessage `json:"volume_per_day"`
			} `json:"sla"`
		} `json:"x-accord"`
	}
	// Only x-accord is decoded, and any other key skipped.
	if err := json.Unmarshal(c.Document, &doc); err != nil {
		return SLA{}, fmt.Errorf("x-accord.sla of %s: %w", c.URI, err)
	}
	var out SLA
	if doc.Accord == nil || doc.Accord.SLA == nil {
		return out, nil
	}
	sla := doc.Accord.SLA
	if sla.Freshness != nil {
		d, err := time.ParseDuration(*sla.Freshness)
		if err != nil || d <= 0 {
			return SLA{}, fmt.Errorf("x-accord.sla.freshness of %s: %q is not a positive Go duration such as 15m", c.URI, redact.Bounded(*sla.Freshness))
		}
		out.Freshness, out.FreshnessText = d, *sla.Freshness
	}
	if sla.VolumePerDay != nil {
		var n int64
		if err := json.Unmarshal(*sla.VolumePerDay, &n); err != nil || n < 0 {
			return SLA{}, fmt.Errorf("x-accord.sla.volume_per_day of %s: %s is not a whole number of at least 0", c.URI, redact.Bounded(string(*sla.VolumePerDay)))
		}
		out.VolumePerDay = &n
	}
	return out, nil
}
