package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/accord-events/accord/internal/gen/dbt"
)

func newGenDbtCmd() *cobra.Command {
	var dialect, configPath, dirFlag, out, source, schema, rawTable, goodTable, failedTable string
	model := dbt.DefaultOptions("postgres").Model
	cmd := &cobra.Command{
		Use:   "dbt",
		Short: "Write dbt sources and staging models for the tables the SQL sinks create",
		Long: `Write into --out a dbt source for the tables the postgres, mysql or sqlite
sink creates from the contracts under the contracts directory (default:
contracts.dir from the configuration):

  sources.yml       the raw table(s) and a typed table per contract MODEL,
                    every column with its description; tests: unique and
                    not_null on event_id, not_null on required properties,
                    accepted_values on enums, freshness from the contract's
                    x-accord sla.freshness
  stg_<table>.sql   a staging model per typed table
  stg_accord.yml    the staging models' descriptions

Files are written atomically, and a staging model an earlier run wrote for a
contract since removed is deleted; nothing else in --out is touched.
--schema, --raw-table (postgres, mysql), --good-table and --failed-table
(sqlite), --flatten-depth and --max-columns must match the sink's options
when you changed those. See docs/workflow.md.

Exit status: 0 written, 1 a contract file did not load, 2 it could not run.`,
		Example: `  accord gen dbt --dialect postgres --out models/staging/accord
  accord gen dbt --dialect mysql --schema events --out models/staging/accord`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !contains(dbt.Dialects, dialect) {
				return &exitError{code: 2, err: fmt.Errorf("--dialect %q: use one of %s", dialect, strings.Join(dbt.Dialects, ", "))}
			}
			if err := checkModel(model); err != nil {
				return &exitError{code: 2, err: err}
			}
			o := dbt.DefaultOptions(dialect)
			o.Model = model
			for _, f := range []struct {
				v   string
				dst *string
			}{{source, &o.Source}, {schema, &o.Schema}, {rawTable, &o.RawTable}, {goodTable, &o.GoodTable}, {failedTable, &o.FailedTable}} {
				if f.v != "" {
					*f.dst = f.v
				}
			}
			contracts, err := loadGenContracts(cmd.ErrOrStderr(), configPath, dirFlag)
			if err != nil {
				return err
			}
			files, err := dbt.Generate(contracts, o)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if err := dbt.Write(out, files); err != nil {
				return err
			}
			for _, f := range files {
				fmt.Fprintln(cmd.OutOrStdout(), "wrote", out+"/"+f.Name)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dialect, "dialect", "", "the sink whose tables the sources describe: "+strings.Join(dbt.Dialects, ", ")+" (required)")
	cmd.Flags().StringVar(&out, "out", "", "directory to write the files into (required)")
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "configuration file (default: $ACCORD_CONFIG, else ./accord.yml if it exists)")
	cmd.Flags().StringVar(&dirFlag, "contracts", "", "contracts directory, overriding contracts.dir")
	cmd.Flags().StringVar(&source, "source", "", "the dbt source's name, as source() calls name it (default accord)")
	cmd.Flags().StringVar(&schema, "schema", "", "the schema the tables are in: the postgres sink's schema (default public), the mysql sink's database (default accord); main for sqlite")
	cmd.Flags().StringVar(&rawTable, "raw-table", "", "the postgres or mysql sink's raw_table (default accord_events)")
	cmd.Flags().StringVar(&goodTable, "good-table", "", "the sqlite sink's good_table (default events)")
	cmd.Flags().StringVar(&failedTable, "failed-table", "", "the sqlite sink's failed_table (default failed_events)")
	cmd.Flags().IntVar(&model.FlattenDepth, "flatten-depth", model.FlattenDepth, "the sink's flatten_depth")
	cmd.Flags().IntVar(&model.MaxColumns, "max-columns", model.MaxColumns, "the sink's max_columns")
	_ = cmd.MarkFlagRequired("dialect")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
