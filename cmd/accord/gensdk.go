package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/accord-events/accord/internal/config"
	"github.com/accord-events/accord/internal/contract"
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
removes the files a removed contract left, never any other file.`,
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
			cfg, err := loadConfig(configPath, config.SectionContracts)
			if err != nil {
				return err
			}
			dir := cfg.Contracts.Dir
			if dirFlag != "" {
				dir = dirFlag
			}
			contracts, problems, err := contract.LoadDir(dir)
			if err != nil {
				return err
			}
			if len(problems) > 0 {
				var lines []string
				for _, p := range problems {
					lines = append(lines, p.Error())
				}
				return fmt.Errorf("%d contract files could not be loaded (accord contract lint says more):\n%s", len(problems), strings.Join(lines, "\n"))
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
