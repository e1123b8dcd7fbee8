package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/accord-events/accord/internal/gen/sdk"
)

func newGenSDKCmd() *cobra.Command {
	var opts sdk.Options
	var out, configPath, dirFlag string
	cmd := &cobra.Command{
		Use:   "sdk --lang go|ts|python --out DIR | --target snowplow|segment --out DIR",
		Short: "Generate a typed tracking library (Go, TypeScript, Python) or a typed wrapper over the Snowplow or Segment tracker",
		Long: `Generate, from every contract in the contracts directory, a typed
tracking library (--lang) or typed functions over a tracker you already run
(--target): one type per contract version whose fields carry the contract's
descriptions, validation of required properties, types, enums, bounds,
lengths, patterns and formats before anything is sent, with messages shaped
like the collector's, and superseded MODELs marked deprecated. The libraries
hold a client that sends self-describing events to POST /events with
batching, retries and a bounded queue. docs/sdk.md describes each.

The output is the same bytes for the same contracts. DIR/.accord-gen lists
the files generated; running again over DIR rewrites only changed files and
removes the files a removed contract left, never any other file.

Exit status: 0 written, 1 a contract file did not load, 2 it could not run.`,
		Example: `  accord gen sdk --lang go --out ./tracking
  accord gen sdk --lang ts --out web/src/tracking
  accord gen sdk --lang python --out tracking
  accord gen sdk --target snowplow --out web/src/snowplow
  accord gen sdk --target segment --out server/src/segment`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return errors.New("--out DIR is required: the directory to write the library to")
			}
			contracts, err := loadGenContracts(cmd.ErrOrStderr(), configPath, dirFlag)
			if err != nil {
				return err
			}
			files, err := sdk.Generate(contracts, opts)
			if err != nil {
				return err
			}
			if err := sdk.Write(out, files); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d files for %d contract versions to %s\n", len(files), len(contracts), out)
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.Lang, "lang", "", "library language: go, ts or python")
	cmd.Flags().StringVar(&opts.Target, "target", "", "tracker wrapper: snowplow or segment (TypeScript)")
	cmd.Flags().StringVar(&opts.Package, "package", "tracking", "Go package name (--lang go)")
	cmd.Flags().StringVar(&out, "out", "", "output directory (created if missing)")
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "configuration file (default: $ACCORD_CONFIG, else ./accord.yml if it exists)")
	cmd.Flags().StringVar(&dirFlag, "contracts", "", "contracts directory, overriding contracts.dir")
	return cmd
}
