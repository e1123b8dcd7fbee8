// Package replay runs failed records through the pipeline again, against
// today's contracts: events rejected because of a contract bug are recovered
// once the contract is fixed. A replayed record keeps its event_id,
// request_id and original timestamps and carries replayed_at; sinks
// deduplicate on event_id, so replaying twice stores a record once.
//
// Only records whose event was read can be replayed: those that failed
// validation (schema_not_found, schema_violation), Segment messages no
// tracking plan covered (unplanned_event, given a Plan), and records a sink
// sent to its dead letter. A record whose input could not be read as an event
// (size_violation, payload_format_violation, protocol_violation) holds only
// raw bytes; it is counted as skipped, with the reason.
package replay

import (
	"context"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/pipeline"
)

// Source calls fn with each record to replay, stopping at fn's first error.
type Source func(ctx context.Context, fn func(*event.Envelope) error) error

// Deliver takes replayed records.
type Deliver func(ctx context.Context, records []*event.Envelope) error

// Report says what a replay did.
type Report struct {
	// Read counts the records the source gave.
	Read int `json:"read"`
	// Replayed counts those run through the pipeline: Good now validate,
	// Failed still fail (and are stored again as failed).
	Replayed int `json:"replayed"`
	Good     int `json:"good"`
	Failed   int `json:"failed"`
	// Skipped counts records that cannot be replayed, by reason.
	Skipped map[string]int `json:"skipped"`
	// DryRun is true when nothing was delivered.
	DryRun bool `json:"dry_run"`
}

// Options configures a replay.
type Options struct {
	// BatchSize is how many records are delivered at a time.
	BatchSize int
	// DryRun validates without delivering.
	DryRun bool
	// Now stamps replayed_at.
	Now time.Time
	// Plan, when set, names the contract of a record that had none: a
	// Segment message its source's tracking plan did not cover
	// (unplanned_event), once a contract lists it. It returns "" when it
	// still has none.
	Plan func(rec *event.Envelope) string
}

// Run replays every record from source through p and hands the results to
// deliver in batches.
func Run(ctx context.Context, source Source, p *pipeline.Pipeline, deliver Deliver, opts Options) (Report, error) {
	rep := Report{Skipped: map[string]int{}, DryRun: opts.DryRun}
	batch := make([]*event.Envelope, 0, opts.BatchSize)
	flush := func() error {
		if len(batch) == 0 || opts.DryRun {
			batch = batch[:0]
			return nil
		}
		if err := deliver(ctx, batch); err != nil {
			return fmt.Errorf("deliver replayed records: %w", err)
		}
		batch = batch[:0]
		return nil
	}
	err := source(ctx, func(rec *event.Envelope) error {
		rep.Read++
		in, skip := inputOf(rec, opts.Plan)
		if skip != "" {
			rep.Skipped[skip]++
			return nil
		}
		out := p.Process(pipeline.Request{
			Protocol:    rec.Protocol,
			RequestID:   rec.RequestID,
			Source:      rec.Source,
			CollectedAt: rec.CollectedAt.Time,
			Replay:      true,
		}, []event.Input{in})[0]
		// The pipeline derives event_time from the three timestamps; keep
		// the one first written, whatever formula its protocol used.
		out.EventTime = rec.EventTime
		out.ReplayedAt = event.Time{Time: opts.Now.UTC()}
		rep.Replayed++
		if out.Valid {
			rep.Good++
		} else {
			rep.Failed++
		}
		batch = append(batch, out)
		if len(batch) >= opts.BatchSize {
			return flush()
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	return rep, flush()
}

// inputOf rebuilds the event a record was made from, or says why it cannot.
func inputOf(rec *event.Envelope, plan func(*event.Envelope) string) (event.Input, string) {
	schema := rec.Schema
	if !rec.Valid && rec.Failure != nil {
		switch rec.Failure.Type {
		case event.SchemaNotFound, event.SchemaViolation:
		case event.UnplannedEvent:
			if plan != nil {
				schema = plan(rec)
			}
			if schema == "" {
				return event.Input{}, "unplanned_event: still no contract's tracking plan covers it; list it in a contract's x-accord segment_events or segment_calls"
			}
		default:
			return event.Input{}, fmt.Sprintf("%s: the input was never read as an event, so there is nothing to validate again; fix the sender", rec.Failure.Type)
		}
	}
	if schema == "" {
		return event.Input{}, "the record names no schema"
	}
	raw := []byte(rec.Raw)
	if rec.RawEncoding == event.RawBase64 {
		if b, err := base64.StdEncoding.DecodeString(rec.Raw); err == nil {
			raw = b
		}
	}
	return event.Input{
		SchemaKey:  schema,
		Data:       rec.Payload,
		Contexts:   rec.Contexts,
		EventID:    rec.EventID,
		SentAt:     rec.SentAt.Time,
		CreatedAt:  rec.CreatedAt.Time,
		Namespace:  rec.Namespace,
		Identity:   rec.Identity,
		Attributes: rec.Attributes,
		Raw:        raw,
	}, ""
}
