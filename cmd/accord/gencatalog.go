package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/accord-events/accord/internal/app"
	"github.com/accord-events/accord/internal/catalog"
	"github.com/accord-events/accord/internal/config"
	"github.com/accord-events/accord/internal/contract"
)

func newGenCatalogCmd() *cobra.Command {
	var configPath, dirFlag, out, omService string
	var builtin bool
	cmd := &cobra.Command{
		Use:   "catalog --out DIR",
		Short: "Write the contract catalog: catalog.json and a static HTML site of it",
		Long: `Describe every contract under the contracts directory (default:
contracts.dir from the configuration) and write it to DIR:

  catalog.json          every contract, its versions, the diff and SchemaVer
                        bump between consecutive versions, fields with types,
                        descriptions and privacy rules, x-accord metadata,
                        where its events land and a generated example event
  index.html            the contracts, with owner, team, tags, description
  contracts/c-*.html    one page per contract
  openmetadata/topics.json
                        the OpenMetadata export: a CreateTopic request
                        (PUT /api/v1/topics) per contract MODEL, in the
                        messaging service --openmetadata-service names

The site loads nothing from anywhere (no scripts, styles or fonts from
outside), so it works offline and opened straight from disk. Where events
land comes from the sinks in the configuration (the tables, topics, subjects
and streams they name, by their own naming). --builtin adds the contracts
that ship with Accord (the Snowplow event types and contexts).

Pages of contracts that are gone are removed from DIR/contracts; nothing
else in DIR is touched. The same contracts and configuration give the same
bytes. See docs/catalog.md.

Exit status: 0 written, 1 a contract file did not load, 2 it could not run.`,
		Example: `  accord gen catalog --out site/catalog
  accord gen catalog --out /tmp/catalog --contracts path/to/contracts --builtin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return &exitError{code: 2, err: fmt.Errorf("--out: name the directory to write the catalog to")}
			}
			contracts, err := loadGenContracts(cmd.ErrOrStderr(), configPath, dirFlag)
			if err != nil {
				return err
			}
			cfg, err := loadConfig(configPath, config.SectionSinks)
			if err != nil {
				return err
			}
			specs, err := app.DecodeSinks(cfg.Sinks, app.SinkTypes())
			if err != nil {
				return &exitError{code: 2, err: fmt.Errorf("configuration: %w", err)}
			}
			var sinks []catalog.Sink
			for _, s := range specs {
				if cs, ok := catalog.SinkOf(s.Config.Name, s.Config.Type, s.Config.Records, s.Options); ok {
					sinks = append(sinks, cs)
				}
			}
			if builtin {
				contracts = withBuiltin(contracts, app.BuiltinContracts())
			}
			cat := catalog.Build(contracts, catalog.Options{Sinks: sinks})
			// One file at a time: a large catalog is never all in memory.
			w := &catalog.SiteWriter{Dir: out}
			files := 0
			emit := func(name string, data []byte) error {
				files++
				return w.Write(name, data)
			}
			if err := catalog.Render(cat, emit); err != nil {
				return err
			}
			om, err := catalog.OpenMetadataJSON(cat, omService)
			if err != nil {
				return err
			}
			if err := emit(catalog.OpenMetadataFile, om); err != nil {
				return err
			}
			if err := w.Prune(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote the catalog of %s to %s (%s)\n", plural(len(cat.Contracts), "contract"), out, plural(files, "file"))
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "directory to write catalog.json and the HTML site to (required)")
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "configuration file (default: $ACCORD_CONFIG, else ./accord.yml if it exists)")
	cmd.Flags().StringVar(&dirFlag, "contracts", "", "contracts directory, overriding contracts.dir")
	cmd.Flags().BoolVar(&builtin, "builtin", false, "also describe the contracts that ship with Accord")
	cmd.Flags().StringVar(&omService, "openmetadata-service", "accord", "fully qualified name of the OpenMetadata messaging service the exported topics belong to")
	return cmd
}

// withBuiltin adds the built-in contracts under the user's: a user's
// contract of the same key wins, as in the registry.
func withBuiltin(user, builtin []*contract.Contract) []*contract.Contract {
	have := make(map[contract.Key]bool, len(user))
	for _, c := range user {
		have[c.Key] = true
	}
	out := append([]*contract.Contract(nil), user...)
	for _, c := range builtin {
		if !have[c.Key] {
			out = append(out, c)
		}
	}
	return out
}
