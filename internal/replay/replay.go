// Package replay runs failed records through the pipeline again, against
// today's contracts: events rejected because of a contract bug are recovered
// once the contract is fixed. A replayed record keeps its event_id,
// request_id and original timestamps and carries replayed_at.
//
// A replayed record goes only to the sinks that lack it: a sink's failed
// record that is now good goes to every sink selecting good records; one
// that still fails goes nowhere (every sink selecting failed records holds
// it already). A dead-lettered record goes back to the sink whose dead
// letter held it, or, when its validity changed, to every sink selecting
// what it is now. A Ledger remembers what each sink took, so replaying
// twice, or again after a failure part way, stores a record once in every
// sink, deduplicating or not.
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
	"slices"
	"time"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/pipeline"
	"github.com/accord-events/accord/internal/sink"
)

// Record is a record to replay and where it was read.
type Record struct {
	*event.Envelope
	// DeadLetterOf names the sink whose dead letter held the record: that
	// sink lacks it, the others hold it. Empty for a record read from a
	// sink's failed records, which every sink selecting failed records
	// holds.
	DeadLetterOf string
}

// Source calls fn with each record to replay, stopping at fn's first error.
type Source func(ctx context.Context, fn func(Record) error) error

// Target is a sink replayed records may be written to.
type Target struct {
	Name    string
	Records sink.Selection
	// Write stores records in the sink, all or none (an error).
	Write func(ctx context.Context, records []*event.Envelope) error
}

// Report says what a replay did.
type Report struct {
	// Read counts the records the source gave.
	Read int `json:"read"`
	// Replayed counts those run through the pipeline: Good now validate,
	// Failed still fail.
	Replayed int `json:"replayed"`
	Good     int `json:"good"`
	Failed   int `json:"failed"`
	// Skipped counts records that cannot be replayed, by reason.
	Skipped map[string]int `json:"skipped"`
	// Written counts, per sink, the records written to it (or, in a dry
	// run, that would be).
	Written map[string]int `json:"written"`
	// AlreadyWritten counts the records a sink was not given again because
	// the ledger says an earlier replay wrote them to it.
	AlreadyWritten int `json:"already_written"`
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
	// Ledger, when set, is consulted and kept: what a sink took in an
	// earlier replay is not written to it again. A dry run only reads it.
	Ledger *Ledger
	// Outcome, when set, is told what became of each record read: out is
	// its replay (nil when it was skipped, skipped then saying why). It is
	// called before the record's batch is written, so a later write error
	// is Run's to report.
	Outcome func(in Record, out *event.Envelope, skipped string)
}

// replayed is a record run through the pipeline and the sinks it goes to.
type replayed struct {
	rec   *event.Envelope
	sinks []int // indexes into the targets
}

// Run replays every record from source through p and writes the results to
// the targets that lack them, in batches, each target in turn.
func Run(ctx context.Context, source Source, p *pipeline.Pipeline, targets []Target, opts Options) (Report, error) {
	rep := Report{Skipped: map[string]int{}, Written: map[string]int{}, DryRun: opts.DryRun}
	batch := make([]replayed, 0, opts.BatchSize)
	flush := func() error {
		defer func() { batch = batch[:0] }()
		for i, t := range targets {
			var recs []*event.Envelope
			for _, r := range batch {
				if !slices.Contains(r.sinks, i) {
					continue
				}
				if opts.Ledger != nil {
					taken, err := opts.Ledger.Taken(t.Name, r.rec)
					if err != nil {
						return err
					}
					if taken {
						rep.AlreadyWritten++
						continue
					}
				}
				recs = append(recs, r.rec)
			}
			if len(recs) == 0 {
				continue
			}
			if !opts.DryRun {
				if err := t.Write(ctx, recs); err != nil {
					return fmt.Errorf("deliver replayed records: %w", err)
				}
				if opts.Ledger != nil {
					if err := opts.Ledger.Add(t.Name, recs); err != nil {
						return err
					}
				}
			}
			rep.Written[t.Name] += len(recs)
		}
		return nil
	}
	err := source(ctx, func(rec Record) error {
		rep.Read++
		in, skip := inputOf(rec.Envelope, opts.Plan)
		if skip != "" {
			rep.Skipped[skip]++
			if opts.Outcome != nil {
				opts.Outcome(rec, nil, skip)
			}
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
		if opts.Outcome != nil {
			opts.Outcome(rec, out, "")
		}
		if sinks := destinations(targets, rec, out); len(sinks) > 0 {
			batch = append(batch, replayed{rec: out, sinks: sinks})
		}
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

// destinations returns the targets that lack out, the replay of rec. A
// record whose validity is unchanged is held by every sink selecting it but
// the one whose dead letter it came from; one whose validity changed is new
// to every sink selecting what it is now.
func destinations(targets []Target, rec Record, out *event.Envelope) []int {
	var sinks []int
	for i, t := range targets {
		if !t.Records.Wants(out.Valid) {
			continue
		}
		if out.Valid == rec.Valid && t.Name != rec.DeadLetterOf {
			continue
		}
		sinks = append(sinks, i)
	}
	return sinks
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
