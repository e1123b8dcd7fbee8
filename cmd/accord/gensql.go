package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/accord-events/accord/internal/atomicfile"
	"github.com/accord-events/accord/internal/config"
	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/gen/ddl"
	"github.com/accord-events/accord/internal/sink/tables"
)

func newGenSQLCmd() *cobra.Command {
	var dialect, configPath, dirFlag, out string
	model := tables.DefaultOptions()
	cmd := &cobra.Command{
		Use:   "sql",
		Short: "Print the DDL of each contract's typed table, as the SQL sinks create it",
		Long: `Print the CREATE TABLE (and, for later versions of a MODEL, the ALTER TABLE)
statements of the typed table of every contract under the contracts directory
(default: contracts.dir from the configuration).

For postgres, mysql and sqlite these are the statements the sink of that name
runs on an empty database: the same code plans both, so the columns, their
names and types cannot differ. For bigquery, snowflake and clickhouse the same
model is written in that warehouse's types; Accord has no sink for them, and
their DDL is tested against golden files only, not against a server.

--flatten-depth and --max-columns must match the sink's flatten_depth and
max_columns when you set those. See docs/workflow.md.

Exit status: 0 written, 1 a contract file did not load, 2 it could not run.`,
		Example: `  accord gen sql --dialect postgres > typed_tables.sql
  accord gen sql --dialect bigquery --contracts path/to/contracts --out ddl/bigquery.sql`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := ddl.Dialect(dialect); err != nil {
				return &exitError{code: 2, err: fmt.Errorf("--dialect: %w", err)}
			}
			if err := checkModel(model); err != nil {
				return &exitError{code: 2, err: err}
			}
			contracts, err := loadGenContracts(cmd.ErrOrStderr(), configPath, dirFlag)
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			if err := ddl.Write(&buf, dialect, contracts, model); err != nil {
				return err
			}
			if out == "" {
				_, err := cmd.OutOrStdout().Write(buf.Bytes())
				return err
			}
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				return err
			}
			return atomicfile.Write(out, buf.Bytes(), 0o644)
		},
	}
	cmd.Flags().StringVar(&dialect, "dialect", "", "SQL dialect: "+strings.Join(ddl.Dialects, ", ")+" (required)")
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "configuration file (default: $ACCORD_CONFIG, else ./accord.yml if it exists)")
	cmd.Flags().StringVar(&dirFlag, "contracts", "", "contracts directory, overriding contracts.dir")
	cmd.Flags().StringVar(&out, "out", "", "write the DDL to this file (default: standard output)")
	cmd.Flags().IntVar(&model.FlattenDepth, "flatten-depth", model.FlattenDepth, "levels of nested objects that become columns of their own: the sink's flatten_depth")
	cmd.Flags().IntVar(&model.MaxColumns, "max-columns", model.MaxColumns, "most columns a typed table gets from its contract: the sink's max_columns")
	_ = cmd.MarkFlagRequired("dialect")
	return cmd
}

// checkModel bounds the model's options as the sinks' Validate do.
func checkModel(m tables.Options) error {
	if m.FlattenDepth < 1 || m.FlattenDepth > 10 {
		return fmt.Errorf("--flatten-depth %d is out of range; use 1 (objects stay JSON) to 10", m.FlattenDepth)
	}
	if m.MaxColumns < 50 || m.MaxColumns > 1500 {
		return fmt.Errorf("--max-columns %d is out of range; use 50 to 1500", m.MaxColumns)
	}
	return nil
}

// loadGenContracts loads every contract of the contracts directory
// (dirFlag, else contracts.dir). A file that does not load fails the run
// (exit 1), each named on errOut: output missing a contract's table would
// look complete.
func loadGenContracts(errOut io.Writer, configPath, dirFlag string) ([]*contract.Contract, error) {
	cfg, err := loadConfig(configPath, config.SectionContracts)
	if err != nil {
		return nil, err
	}
	dir := cfg.Contracts.Dir
	if dirFlag != "" {
		dir = dirFlag
	}
	contracts, problems, err := contract.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(errOut, "error: %v\n", p)
		}
		return nil, &exitError{code: 1, err: fmt.Errorf("%s did not load; nothing was generated", plural(len(problems), "contract file"))}
	}
	if len(contracts) == 0 {
		return nil, &exitError{code: 1, err: errors.New("no contracts in " + dir)}
	}
	return contracts, nil
}
