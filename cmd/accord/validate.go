package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/accord-events/accord/internal/app"
	"github.com/accord-events/accord/internal/config"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/jsonscan"
	"github.com/accord-events/accord/internal/pipeline"
	"github.com/spf13/cobra"
)

func newValidateCmd() *cobra.Command {
	var schema, contractsDir, format, configPath string
	cmd := &cobra.Command{
		Use:   "validate --schema iglu:VENDOR/NAME/jsonschema/M-R-A FILE",
		Short: "Check an event's data against a contract, offline",
		Long: `Check an event's data (the JSON in FILE, or standard input when FILE is -)
against a contract, exactly as the collector would (the contract is resolved
as the collector resolves it: contracts.dir, the built-in contracts, then
contracts.backends), and print every problem with its JSON pointer, schema
path and a sentence saying what is wrong.

Exit status: 0 valid, 1 invalid, 2 the check could not run.`,
		Example: `  accord validate --schema iglu:com.example/page_view/jsonschema/1-0-0 event.json`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if schema == "" {
				return errors.New("--schema is required: the contract to check against, such as iglu:com.example/page_view/jsonschema/1-0-0")
			}
			if format != "text" && format != "json" {
				return fmt.Errorf("--format %q: use text or json", format)
			}
			data, err := readInput(cmd.InOrStdin(), args[0])
			if err != nil {
				return err
			}
			// What builds the pipeline: contracts, the collector stamp,
			// privacy; not the servers, protocols, spool or sinks.
			cfg, err := loadConfig(configPath, config.SectionContracts, config.SectionCollector, config.SectionPrivacy, config.SectionEnrich, config.SectionLog)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("contracts") {
				cfg.Contracts.Dir = contractsDir
			}
			log, err := app.NewLogger(cfg.Log)
			if err != nil {
				return err
			}
			a, err := app.Build(cfg, log, app.Options{Version: buildVersion()})
			if err != nil {
				return err
			}
			if err := a.Start(cmd.Context()); err != nil {
				return err
			}
			defer a.Stop(context.Background())
			rec := a.Pipeline.Process(pipeline.Request{Protocol: "validate", CollectedAt: time.Now()}, []event.Input{inputFor(schema, data)})[0]
			return printVerdict(cmd.OutOrStdout(), format, rec)
		},
	}
	cmd.Flags().StringVar(&schema, "schema", "", "contract key to validate against (required)")
	cmd.Flags().StringVar(&contractsDir, "contracts", "contracts", "contracts directory, overriding contracts.dir")
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "configuration file (default: $ACCORD_CONFIG, else ./accord.yml if it exists)")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func readInput(stdin io.Reader, name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(stdin)
	}
	return os.ReadFile(name)
}

// inputFor wraps data as the collector's self-describing protocol would,
// reading it with the collector's JSON reader: what the collector refuses
// (an object repeating a member name, a number beyond float64) fails here
// too.
func inputFor(schema string, data []byte) event.Input {
	start, end, err := jsonscan.Document(data, 0)
	if err != nil {
		return event.Input{SchemaKey: schema, Raw: data,
			Failure: event.NewFailure(event.PayloadFormatViolation, "the file is not valid JSON: "+err.Error())}
	}
	return event.Input{SchemaKey: schema, Data: data[start:end], Raw: data}
}

func printVerdict(out io.Writer, format string, rec *event.Envelope) error {
	if format == "json" {
		verdict := struct {
			Valid   bool           `json:"valid"`
			Schema  string         `json:"schema"`
			Failure *event.Failure `json:"failure,omitempty"`
		}{rec.Valid, rec.Schema, rec.Failure}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(verdict); err != nil {
			return err
		}
	} else if rec.Valid {
		fmt.Fprintf(out, "valid: %s\n", rec.Schema)
	} else {
		fmt.Fprintf(out, "invalid: %s: %s\n", rec.Schema, rec.Failure.Type)
		for _, m := range rec.Failure.Messages {
			fmt.Fprintf(out, "  %s", m.Message)
			if m.SchemaPath != "" {
				fmt.Fprintf(out, " (instance %s, schema %s)", m.InstancePath, m.SchemaPath)
			}
			fmt.Fprintln(out)
		}
	}
	if !rec.Valid {
		return &exitError{code: 1, err: errors.New("")}
	}
	return nil
}
