package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/accord-events/accord/internal/app"
	"github.com/accord-events/accord/internal/config"
	"github.com/accord-events/accord/internal/sink/mysql"
	"github.com/accord-events/accord/internal/sink/postgres"
	"github.com/accord-events/accord/internal/sink/sqlite"
	"github.com/accord-events/accord/internal/sink/tables"
)

func newTablesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tables",
		Short: "Plan and apply the DDL of the typed tables database sinks keep per contract",
		Long: `The postgres, mysql and sqlite sinks keep a typed table per contract MODEL,
derived from the contract and migrated as it evolves (see docs/sinks/postgres.md,
docs/sinks/mysql.md and docs/sinks/sqlite.md). With the sink's tables: auto it
does so itself; with tables: plan-only it writes only to tables that are up to
date, and these commands show and run the DDL.

Both compare the live database's catalog with today's contracts (contracts.dir
and the contracts.backends the collector resolves), for every postgres, mysql
and sqlite sink in the configuration or the one --sink names.`,
	}
	cmd.AddCommand(newTablesRunCmd("plan", "Print the DDL that would bring the typed tables up to today's contracts", false),
		newTablesRunCmd("apply", "Run the DDL that brings the typed tables up to today's contracts", true))
	return cmd
}

func newTablesRunCmd(use, short string, run bool) *cobra.Command {
	var configPath, sinkName string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Contracts (and the backends they come from), the sinks, and
			// the log; nothing served.
			cfg, err := loadConfig(configPath, config.SectionContracts, config.SectionSinks, config.SectionLog)
			if err != nil {
				return err
			}
			log, err := app.NewLogger(cfg.Log)
			if err != nil {
				return err
			}
			a, err := app.Build(cfg, log, app.Options{Version: buildVersion(), Sinks: true})
			if err != nil {
				return err
			}
			if err := a.Start(cmd.Context()); err != nil {
				return err
			}
			defer a.Stop(context.Background())
			found := false
			for _, spec := range a.Sinks {
				if sinkName != "" && spec.Config.Name != sinkName {
					continue
				}
				var steps []tables.Step
				var where, use string
				ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
				switch opts := spec.Options.(type) {
				case *postgres.Options:
					f := postgres.PlanTables
					if run {
						f = postgres.ApplyTables
					}
					steps, err = f(ctx, *opts, a.Contracts)
					where, use = "schema "+opts.Schema, "SET search_path TO "+opts.Schema
				case *mysql.Options:
					f := mysql.PlanTables
					if run {
						f = mysql.ApplyTables
					}
					steps, err = f(ctx, *opts, a.Contracts)
					db := mysql.Database(opts.DSN)
					// The sink's sql_mode first: its literals are quoted for
					// NO_BACKSLASH_ESCAPES, and a comment with a backslash
					// would end early in a session without it.
					where, use = "database "+db, "SET SESSION sql_mode = '"+mysql.SQLMode+"';\nUSE "+db
				case *sqlite.Options:
					f := sqlite.PlanTables
					if run {
						f = sqlite.ApplyTables
					}
					steps, err = f(ctx, *opts, a.Contracts)
					where = "file " + opts.Path
				default:
					cancel()
					continue
				}
				cancel()
				found = true
				if err != nil {
					return fmt.Errorf("sink %s: %w", spec.Config.Name, err)
				}
				printSteps(cmd.OutOrStdout(), spec.Config.Name, where, use, steps, run)
			}
			if !found {
				if sinkName != "" {
					return &exitError{code: 2, err: fmt.Errorf("--sink %s: no postgres, mysql or sqlite sink of that name in the configuration", sinkName)}
				}
				return &exitError{code: 2, err: fmt.Errorf("the configuration has no postgres, mysql or sqlite sink; add one under sinks: (see docs/sinks/postgres.md, docs/sinks/mysql.md, docs/sinks/sqlite.md)")}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "configuration file (default: $ACCORD_CONFIG, else ./accord.yml if it exists)")
	cmd.Flags().StringVar(&sinkName, "sink", "", "only the sink of this name")
	cmd.Flags().DurationVar(&timeout, "timeout", time.Minute, "how long to wait for the database, its advisory lock included")
	return cmd
}

// printSteps prints a sink's plan as a script: where names the schema,
// database or file, use is the statement that makes it the current one
// (none for a sqlite file).
func printSteps(out io.Writer, sink, where, use string, steps []tables.Step, ran bool) {
	if len(steps) == 0 {
		fmt.Fprintf(out, "-- sink %s, %s: nothing to do, the tables are up to date\n", sink, where)
		return
	}
	verb := "would run"
	if ran {
		verb = "ran"
	}
	fmt.Fprintf(out, "-- sink %s, %s: %s %d statements\n", sink, where, verb, len(steps))
	if use != "" {
		fmt.Fprintf(out, "%s;\n", use)
	}
	for _, s := range steps {
		if s.Contract != "" {
			fmt.Fprintf(out, "-- %s %s\n", s.Contract, s.Version)
		}
		if s.Reason != "" {
			fmt.Fprintf(out, "--   %s\n", s.Reason)
		}
		fmt.Fprintf(out, "%s;\n", s.Statement)
	}
}
