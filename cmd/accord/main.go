// Command accord is the Accord event collector and its contract tools. This
// package only parses flags and wires the internal packages together.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/accord-events/accord/internal/redact"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3"; a
// plain go build reports the module version or the VCS revision instead.
var version = ""

func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "dev-" + rev
}

// exitError carries a process exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func main() {
	root := &cobra.Command{
		Use:           "accord",
		Short:         "Accord collects events, checks them against data contracts and delivers them",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCmd(), newLoadCmd(), newInitCmd(), newValidateCmd(), newVersionCmd(), newConfigCmd(), newLoadgenCmd(), newContractCmd(), newSpoolCmd(), newReplayCmd(), newTablesCmd(), newSubjectCmd(), newGenCmd())
	if err := root.Execute(); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.err != nil && ee.err.Error() != "" {
				fmt.Fprintln(os.Stderr, "accord:", redact.Error(ee.err))
			}
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "accord:", redact.Error(err))
		os.Exit(2)
	}
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print Accord's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "accord", buildVersion())
			return nil
		},
	}
}
