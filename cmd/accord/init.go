package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/accord-events/accord/internal/app"
	"github.com/accord-events/accord/internal/config"
	"github.com/accord-events/accord/internal/scaffold"
)

func newInitCmd() *cobra.Command {
	var ci string
	cmd := &cobra.Command{
		Use:   "init [dir]",
		Short: "Write accord.yml and example contracts into dir (default: the current directory)",
		Long: `Write a new Accord project into dir (default: the current directory):
accord.yml with every configuration key at its default and documented, and a
contracts/ tree with example contracts in the Iglu layout. Files that already
exist are left alone.

With --ci github it also writes .github/workflows/accord.yml, the
contract-powered workflow for GitHub Actions: on a pull request it lints the
contracts, checks their version bumps and shows each change and what it
changes in the generated code; on a push to main it publishes the contracts to
the registry and commits the regenerated SDKs, dbt sources, DDL and catalog.
And a .gitignore that keeps secrets/ out of the repository. Run it in an
existing project to add just these. See docs/workflow.md.`,
		Example: `  accord init
  accord init my-project --ci github`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			if ci != "" && !contains(scaffold.CIKinds, ci) {
				return &exitError{code: 2, err: fmt.Errorf("--ci %q: use one of %s", ci, strings.Join(scaffold.CIKinds, ", "))}
			}
			var res scaffold.Result
			// In a project that exists (it has accord.yml), --ci adds the
			// CI files only: no example contracts beside the real ones.
			if _, err := os.Stat(filepath.Join(dir, "accord.yml")); ci == "" || err != nil {
				var err error
				res, err = scaffold.Init(dir, config.Template(app.ReferenceSinkTypes(app.SinkTypes()), app.ProtocolTypes()))
				if err != nil {
					return err
				}
			}
			if ci != "" {
				more, err := scaffold.CI(dir, ci, buildVersion())
				res.Written = append(res.Written, more.Written...)
				res.Skipped = append(res.Skipped, more.Skipped...)
				if err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			for _, p := range res.Written {
				fmt.Fprintln(out, "wrote", p)
			}
			for _, p := range res.Skipped {
				fmt.Fprintln(out, "kept existing", p)
			}
			if ci == "" || len(res.Written) > 2 {
				fmt.Fprintf(out, "\nNext: cd %s && accord serve\n", dir)
			}
			if ci != "" {
				fmt.Fprintln(out, "For CI: commit the project; to publish on merge, set the repository variable CONTRACT_REGISTRY_URL and the secret ACCORD_REGISTRY_KEY (docs/workflow.md).")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&ci, "ci", "", "also write a CI workflow: github (GitHub Actions)")
	return cmd
}
