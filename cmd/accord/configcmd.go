package main

import (
	"fmt"
	"github.com/accord-events/accord/internal/app"

	"github.com/accord-events/accord/internal/config"
	"github.com/spf13/cobra"
)

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Inspect Accord's configuration",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "reference",
		Short: "Print the configuration reference (docs/configuration.md) as Markdown",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprint(cmd.OutOrStdout(), config.Markdown(app.ReferenceSinkTypes(app.SinkTypes()), app.ProtocolTypes()))
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "check",
		Short: "Load and validate the configuration, as serve would, and report problems",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, _ := cmd.Flags().GetString("config")
			cfg, err := loadConfig(path)
			if err == nil {
				_, err = app.DecodeSinks(cfg.Sinks, app.SinkTypes())
			}
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			fmt.Fprintln(cmd.OutOrStdout(), "configuration is valid")
			return nil
		},
	})
	cmd.PersistentFlags().StringP("config", "c", "", "configuration file (default: $ACCORD_CONFIG, else ./accord.yml if it exists)")
	return cmd
}
