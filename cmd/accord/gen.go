package main

import "github.com/spf13/cobra"

// newGenCmd is the parent of the generators: each writes code or metadata
// from the contracts alone, offline (see docs/workflow.md).
func newGenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gen",
		Short: "Generate code and metadata from the contracts: SQL DDL, dbt sources, SDKs, a catalog",
		Long: `Generators that read the contracts directory and write what is built from
it: nothing is fetched and nothing is sent, and the same contracts always give
the same bytes, so their output can be committed and diffed in review.`,
	}
	cmd.AddCommand(
		newGenSQLCmd(),
		newGenSDKCmd(),
		newGenCatalogCmd(),
		newGenDbtCmd(),
	)
	return cmd
}
