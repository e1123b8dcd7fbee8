package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/accord-events/accord/internal/admin"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/protocol/segment"
	"github.com/accord-events/accord/internal/replay"
	"github.com/accord-events/accord/internal/sink"
)

// failedStore is the failed-events API's view of the running collector:
// the sinks that read back their failed records, and replay through the
// collector's own pipeline to its own sinks, as accord replay --from-sink
// does from the command line.
type failedStore struct{ a *App }

var _ admin.FailedStore = failedStore{}

func (f failedStore) Sources() []string {
	var out []string
	for _, s := range f.a.Sinks {
		if s.Type.ReadFailed != nil && sink.Selection(s.Config.Records).Wants(false) {
			out = append(out, s.Config.Name)
		}
	}
	return out
}

func (f failedStore) spec(source string) (SinkSpec, error) {
	for _, s := range f.a.Sinks {
		if s.Config.Name == source && s.Type.ReadFailed != nil {
			return s, nil
		}
	}
	return SinkSpec{}, fmt.Errorf("%w: %s", admin.ErrUnknownSource, source)
}

func (f failedStore) ReadFailed(ctx context.Context, source string, q sink.FailedQuery, fn func(*event.Envelope) error) error {
	s, err := f.spec(source)
	if err != nil {
		return err
	}
	err = s.Type.ReadFailed(ctx, s.Options, q, fn)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // the store's file is made with its first record
	}
	return err
}

// Replay replays the records of source that q selects and ids name. The
// replay ledger (replay.ledger_dir) is held for the run, so it never runs
// beside an accord replay on the same ledger, and no sink is given a
// record twice across replays.
func (f failedStore) Replay(ctx context.Context, source string, q sink.FailedQuery, ids []string, dryRun bool) (admin.ReplayResult, error) {
	s, err := f.spec(source)
	if err != nil {
		return admin.ReplayResult{}, err
	}
	a := f.a
	if a.shared != nil && !dryRun {
		return admin.ReplayResult{}, errors.New("with spool.kind " + a.Config.Spool.Kind + " the sinks run in accord load, not in this collector: replay with accord replay --from-sink " + source + " beside the loaders (a dry run works here)")
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	found := map[string]bool{}
	src := func(ctx context.Context, fn func(replay.Record) error) error {
		return s.Type.ReadFailed(ctx, s.Options, q, func(rec *event.Envelope) error {
			if !want[rec.EventID] || found[rec.EventID] {
				return nil
			}
			found[rec.EventID] = true
			return fn(replay.Record{Envelope: rec})
		})
	}
	targets := make([]replay.Target, len(a.Sinks))
	for i, sk := range a.Sinks {
		name := sk.Config.Name
		targets[i] = replay.Target{Name: name, Records: sink.Selection(sk.Config.Records), Write: func(ctx context.Context, recs []*event.Envelope) error {
			return a.Delivery.WriteSink(ctx, name, recs)
		}}
	}
	ledger, err := replay.OpenLedger(a.Config.Replay.LedgerDir)
	if err != nil {
		return admin.ReplayResult{}, err
	}
	plan, _ := segment.PlanOf(a.Local.Contracts()) // a plan error is the contracts', logged at load
	var res admin.ReplayResult
	rep, err := replay.Run(ctx, src, a.Pipeline, targets, replay.Options{
		BatchSize: 100, DryRun: dryRun, Now: time.Now(), Ledger: ledger,
		Plan: func(rec *event.Envelope) string { return segment.PlannedSchema(plan, rec) },
		Outcome: func(in replay.Record, out *event.Envelope, skipped string) {
			o := admin.ReplayOutcome{EventID: in.EventID, Schema: in.Schema, Skipped: skipped}
			if out != nil {
				o.Valid, o.Failure, o.Schema = out.Valid, out.Failure, out.Schema
			}
			res.Outcomes = append(res.Outcomes, o)
		},
	})
	err = errors.Join(err, ledger.Close())
	if err != nil {
		return res, err
	}
	res.Report = rep
	for _, id := range ids {
		if !found[id] && !slices.Contains(res.NotFound, id) {
			res.NotFound = append(res.NotFound, id)
		}
	}
	if res.Outcomes == nil {
		res.Outcomes = []admin.ReplayOutcome{}
	}
	if res.NotFound == nil {
		res.NotFound = []string{}
	}
	return res, nil
}
