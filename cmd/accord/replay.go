package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/accord-events/accord/internal/app"
	"github.com/accord-events/accord/internal/config"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/protocol/segment"
	"github.com/accord-events/accord/internal/replay"
	"github.com/accord-events/accord/internal/sink"
	"github.com/spf13/cobra"
)

func newReplayCmd() *cobra.Command {
	var configPath, fromSink, deadLetter, schema, since, until, format string
	var types []string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "replay",
		Short: "Run failed records through the pipeline again, against today's contracts",
		Long: `Run failed records through the pipeline again, against the contracts as the
collector resolves them now (contracts.dir, the built-in contracts, then
contracts.backends), and write the results to the configured sinks (each by
its records selection), as the collector would.

Records come from a sink's failed store (--from-sink, a sink whose type can
read back failed records, such as sqlite) or from a dead-letter file
(--dead-letter). Filter them by failure type, schema and collection time.

A replayed record keeps its event_id, request_id and timestamps and carries
replayed_at. It goes only to the sinks that lack it: one now good to the
sinks selecting good records, a dead letter back to its sink; one that still
fails is not stored again. The replay ledger (replay.ledger_dir) remembers
what each sink took, so a record replayed twice, or again after a replay
failed part way, is stored once in every sink. Records whose input could not
be read as an event (size, payload format and protocol violations) cannot be
replayed and are counted as skipped.

It writes to the sinks directly, not through the spool, so it can run while
the collector runs. See docs/reliability.md.`,
		Example: `  # After fixing a contract, recover what it wrongly rejected:
  accord replay --from-sink store --type schema_violation --schema iglu:com.example/checkout_completed/jsonschema/1-0-0
  # Send a sink's dead letters again, once the destination is fixed:
  accord replay --dead-letter accord-data/dead-letter/forward.ndjson
  # See what would happen, without writing:
  accord replay --from-sink store --since 2026-12-01T00:00:00Z --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (fromSink == "") == (deadLetter == "") {
				return &exitError{code: 2, err: fmt.Errorf("name where the records come from: --from-sink NAME or --dead-letter FILE (one of them)")}
			}
			if format != "text" && format != "json" {
				return &exitError{code: 2, err: fmt.Errorf("--format %q: use text or json", format)}
			}
			q, err := failedQuery(types, schema, since, until)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			// Not the protocols (their write keys and webhook secrets) nor
			// admin: replay serves nothing. server sizes a request's records.
			cfg, err := loadConfig(configPath, config.SectionServer, config.SectionContracts, config.SectionCollector, config.SectionPrivacy, config.SectionEnrich, config.SectionLog, config.SectionSpool, config.SectionSinks, config.SectionReplay)
			if err != nil {
				return err
			}
			log, err := app.NewLogger(cfg.Log)
			if err != nil {
				return err
			}
			// Replay judges records against the contracts the collector
			// resolves (contracts.dir, then contracts.backends), and
			// writes to the sinks directly: the collector holds the spool.
			a, err := app.Build(cfg, log, app.Options{Version: buildVersion(), Deliver: !dryRun, Sinks: true, Direct: true})
			if err != nil {
				return err
			}
			var source replay.Source
			if deadLetter != "" {
				source = replay.DeadLetterFile(deadLetter, q)
			} else {
				source, err = sinkSource(a.Sinks, fromSink, q)
				if err != nil {
					return &exitError{code: 2, err: err}
				}
			}
			ctx := cmd.Context()
			if err := a.Start(ctx); err != nil {
				return err
			}
			targets := make([]replay.Target, len(a.Sinks))
			for i, sk := range a.Sinks {
				name := sk.Config.Name
				targets[i] = replay.Target{Name: name, Records: sink.Selection(sk.Config.Records), Write: func(ctx context.Context, recs []*event.Envelope) error {
					return a.Delivery.WriteSink(ctx, name, recs)
				}}
			}
			// The ledger says what each sink took in earlier replays; a
			// dry run reads it when it is there, and writes nothing.
			var ledger *replay.Ledger
			if !dryRun {
				// Each sink was tried once; a replay does not wait for
				// one that is down.
				if err := a.Delivery.Ready(); err != nil {
					return errors.Join(err, a.Stop(context.Background()))
				}
			}
			if _, statErr := os.Stat(cfg.Replay.LedgerDir); !dryRun || statErr == nil {
				if ledger, err = replay.OpenLedger(cfg.Replay.LedgerDir); err != nil {
					return errors.Join(err, a.Stop(context.Background()))
				}
			}
			// Segment messages no tracking plan covered are replayed against
			// the plan the contracts declare now.
			plan, err := segment.PlanOf(a.Local.Contracts())
			if err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: %v\n", err)
			}
			rep, err := replay.Run(ctx, source, a.Pipeline, targets, replay.Options{BatchSize: 500, DryRun: dryRun, Now: time.Now(), Ledger: ledger,
				Plan: func(rec *event.Envelope) string { return segment.PlannedSchema(plan, rec) }})
			if ledger != nil {
				if cerr := ledger.Close(); cerr != nil && err == nil {
					err = cerr
				}
			}
			if cerr := a.Stop(context.Background()); cerr != nil && err == nil {
				err = cerr
			}
			if err != nil {
				return &exitError{code: 1, err: fmt.Errorf("%w (after %d records read, %d replayed)", err, rep.Read, rep.Replayed)}
			}
			if format == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			printReplayReport(cmd, rep)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&configPath, "config", "c", "", "configuration file (default: $ACCORD_CONFIG, else ./accord.yml if it exists)")
	f.StringVar(&fromSink, "from-sink", "", "read the failed records stored by this configured sink (its type must read back failed records, such as sqlite)")
	f.StringVar(&deadLetter, "dead-letter", "", "read the records of this dead-letter file (spool.dead_letter_dir/SINK.ndjson)")
	f.StringSliceVar(&types, "type", nil, "only records failed with this failure type (repeatable, or comma-separated): schema_not_found, schema_violation, ...")
	f.StringVar(&schema, "schema", "", "only records of this schema key, or of keys starting with it when it ends in / or - (iglu:com.acme/)")
	f.StringVar(&since, "since", "", "only records collected at or after this time (RFC 3339, such as 2026-12-01T00:00:00Z)")
	f.StringVar(&until, "until", "", "only records collected before this time (RFC 3339)")
	f.BoolVar(&dryRun, "dry-run", false, "validate and report, write nothing")
	f.StringVar(&format, "format", "text", "report format: text or json")
	return cmd
}

// failedQuery builds the record filter from the flags.
func failedQuery(types []string, schema, since, until string) (sink.FailedQuery, error) {
	q := sink.FailedQuery{Schema: schema}
	known := map[event.FailureType]bool{event.SizeViolation: true, event.PayloadFormatViolation: true, event.ProtocolViolation: true, event.SchemaNotFound: true, event.SchemaViolation: true, event.UnplannedEvent: true}
	for _, t := range types {
		ft := event.FailureType(t)
		if !known[ft] {
			return q, fmt.Errorf("--type %q is not a failure type; use size_violation, payload_format_violation, protocol_violation, schema_not_found, schema_violation or unplanned_event", t)
		}
		q.Types = append(q.Types, ft)
	}
	for _, b := range []struct {
		flag, value string
		dst         *time.Time
	}{{"--since", since, &q.Since}, {"--until", until, &q.Until}} {
		if b.value == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, b.value)
		if err != nil {
			return q, fmt.Errorf("%s %q is not an RFC 3339 time; write it like 2026-12-01T00:00:00Z", b.flag, b.value)
		}
		*b.dst = t
	}
	return q, nil
}

// sinkSource reads failed records from the configured sink called name.
func sinkSource(plans []app.SinkSpec, name string, q sink.FailedQuery) (replay.Source, error) {
	for _, p := range plans {
		if p.Config.Name != name {
			continue
		}
		if p.Type.ReadFailed == nil {
			return nil, fmt.Errorf("--from-sink %s: sinks of type %s cannot read back failed records; use a sqlite sink's name, or --dead-letter", name, p.Type.Name)
		}
		return func(ctx context.Context, fn func(replay.Record) error) error {
			return p.Type.ReadFailed(ctx, p.Options, q, func(rec *event.Envelope) error { return fn(replay.Record{Envelope: rec}) })
		}, nil
	}
	var names []string
	for _, p := range plans {
		names = append(names, p.Config.Name)
	}
	return nil, fmt.Errorf("--from-sink %s: no sink has that name; configured sinks: %v", name, names)
}

func printReplayReport(cmd *cobra.Command, rep replay.Report) {
	w := cmd.OutOrStdout()
	verb := "replayed"
	if rep.DryRun {
		verb = "would replay (dry run, nothing written)"
	}
	fmt.Fprintf(w, "read %d records; %s %d: %d now good, %d still failed\n", rep.Read, verb, rep.Replayed, rep.Good, rep.Failed)
	names := make([]string, 0, len(rep.Written))
	for name := range rep.Written {
		names = append(names, name)
	}
	sort.Strings(names)
	written := "written to"
	if rep.DryRun {
		written = "would be written to"
	}
	for _, name := range names {
		fmt.Fprintf(w, "%s sink %s: %d\n", written, name, rep.Written[name])
	}
	if rep.AlreadyWritten > 0 {
		fmt.Fprintf(w, "not written again: %d (an earlier replay wrote them; see replay.ledger_dir)\n", rep.AlreadyWritten)
	}
	reasons := make([]string, 0, len(rep.Skipped))
	for r := range rep.Skipped {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		fmt.Fprintf(w, "skipped %d: %s\n", rep.Skipped[r], r)
	}
}
