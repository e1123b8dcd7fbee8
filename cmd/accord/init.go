package main

import (
	"fmt"
	"github.com/accord-events/accord/internal/app"

	"github.com/accord-events/accord/internal/config"
	"github.com/accord-events/accord/internal/scaffold"
	"github.com/spf13/cobra"
)

func newInitCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "init [dir]",
		Short: "Write accord.yml and example contracts into dir (default: the current directory)",
		Long: `Write a new Accord project into dir (default: the current directory):
accord.yml with every configuration key at its default and documented, and a
contracts/ tree with example contracts in the Iglu layout. Files that already
exist are left alone.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			res, err := scaffold.Init(dir, config.Template(app.ReferenceSinkTypes(app.SinkTypes()), app.ProtocolTypes()))
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, p := range res.Written {
				fmt.Fprintln(out, "wrote", p)
			}
			for _, p := range res.Skipped {
				fmt.Fprintln(out, "kept existing", p)
			}
			fmt.Fprintf(out, "\nNext: cd %s && accord serve\n", dir)
			return nil
		},
	}
}
