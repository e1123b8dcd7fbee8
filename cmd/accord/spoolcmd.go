package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/accord-events/accord/internal/config"
	"github.com/accord-events/accord/internal/delivery"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/spool"
	"github.com/spf13/cobra"
)

func newSpoolCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "spool",
		Short: "Inspect the spool of a stopped collector",
	}
	var configPath, format string
	status := &cobra.Command{
		Use:   "status",
		Short: "Print what the spool holds, each sink's lag and counters, and per-contract counts",
		Long: `Print, from disk, what GET /stats shows on a running collector: what the
spool holds, how far behind each sink is (records and bytes), what each sink
delivered, retried and sent to its dead letter and its last error, and the
good and failed records per contract. The counters are those last saved by
the collector (every few seconds, and at shutdown).

It reads the spool of a stopped collector; while accord serve runs, the spool
is locked and the command says to ask GET /stats instead.`,
		Example: `  accord spool status
  accord spool status --format json --config accord.yml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "json" {
				return &exitError{code: 2, err: fmt.Errorf("--format %q: use text or json", format)}
			}
			cfg, err := loadConfig(configPath, config.SectionSpool)
			if err != nil {
				return err
			}
			st, err := delivery.ReadStats(cfg.Spool.Dir)
			if errors.Is(err, spool.ErrLocked) {
				return &exitError{code: 1, err: fmt.Errorf("the spool %s is in use by a running accord serve; ask it with GET /stats instead", cfg.Spool.Dir)}
			}
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			switch format {
			case "json":
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			default:
				return printSpoolStatus(cmd.OutOrStdout(), cfg.Spool.Dir, st)
			}
		},
	}
	status.Flags().StringVarP(&configPath, "config", "c", "", "configuration file (default: $ACCORD_CONFIG, else ./accord.yml if it exists)")
	status.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.AddCommand(status)
	return cmd
}

func printSpoolStatus(w io.Writer, dir string, st delivery.Stats) error {
	sp := st.Spool
	fmt.Fprintf(w, "spool %s: %d records in %d segments, %d bytes", dir, sp.Records, sp.Segments, sp.Bytes)
	if sp.TornBytes > 0 {
		fmt.Fprintf(w, " (%d bytes of torn tail to be cut at the next start)", sp.TornBytes)
	}
	if sp.SpareBytes > 0 {
		fmt.Fprintf(w, ", and a %d-byte spare segment file", sp.SpareBytes)
	}
	fmt.Fprintln(w)
	if !st.CountedSince.IsZero() {
		fmt.Fprintf(w, "counters since %s\n", st.CountedSince.UTC().Format(event.TimeLayout))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SINK\tLAG RECORDS\tLAG BYTES\tDELIVERED\tRETRIED\tDEAD-LETTERED\tLAST ERROR")
	for _, s := range st.Sinks {
		last := "-"
		if s.LastError != "" {
			last = s.LastError
			if s.LastErrorAt != nil {
				last = s.LastErrorAt.UTC().Format(event.TimeLayout) + " " + last
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\n", s.Name, s.LagRecords, s.LagBytes, s.Delivered, s.Retried, s.DeadLettered, last)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(st.Contracts) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CONTRACT\tGOOD\tFAILED")
	for _, c := range st.Contracts {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", c.Schema, c.Good, c.Failed)
	}
	return tw.Flush()
}
