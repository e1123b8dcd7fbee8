package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/accord-events/accord/internal/app"
	"github.com/accord-events/accord/internal/config"
	"github.com/accord-events/accord/internal/subject"
	"github.com/spf13/cobra"
)

func newSubjectCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "subject",
		Short: "Data-subject requests: export or delete one person's records",
		Long: `Find one person's records in every configured sink that can read back what
it stored (sqlite: its good and failed tables; postgres and mysql: their raw
table, and on delete their typed tables too), by user id or anonymous id.
A record is the subject's when its identity names the id, or when its data
or contexts hold what the contracts' hash or hmac make of the id (under the
configured salt and key, and every privacy.hmac.old_keys entry).

Sinks that cannot read back (file, stdout, http, and streams) are listed as
not searched. The spool and dead-letter files are not searched either: run
the command again once delivery has caught up. See docs/privacy.md.`,
	}
	cmd.AddCommand(newSubjectRunCmd("export"), newSubjectRunCmd("delete"))
	return cmd
}

func newSubjectRunCmd(verb string) *cobra.Command {
	var configPath, output, format string
	var ids subject.IDs
	short := "Write every record of the subject as NDJSON (to stdout, or --output)"
	if verb == "delete" {
		short = "Remove every record of the subject from the sinks that can, and report counts per store"
	}
	cmd := &cobra.Command{
		Use:   verb,
		Short: short,
		Example: fmt.Sprintf(`  accord subject %s --user-id user-1
  accord subject %s --anonymous-id 5f2b1c8e-3d4a-4b6f-9e1d-2a7c8b9d0e1f`, verb, verb),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "json" {
				return &exitError{code: 2, err: fmt.Errorf("--format %q: use text or json", format)}
			}
			// The privacy secrets (to find pseudonymised ids) and the
			// sinks; not what the collector serves.
			cfg, err := loadConfig(configPath, config.SectionPrivacy, config.SectionSinks, config.SectionLog)
			if err != nil {
				return err
			}
			secrets, err := cfg.Privacy.Load(os.Getenv)
			if err != nil {
				return fmt.Errorf("configuration: %w", err)
			}
			q, err := subject.Query(ids, secrets)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			specs, err := app.DecodeSinks(cfg.Sinks, app.SinkTypes())
			if err != nil {
				return err
			}
			var targets []subject.Target
			for _, s := range specs {
				t := subject.Target{Name: s.Config.Name, Type: s.Type.Name}
				if s.Type.Subjects != nil {
					if t.Store, err = s.Type.Subjects(s.Options); err != nil {
						return err
					}
				}
				targets = append(targets, t)
			}
			var results []subject.Result
			if verb == "export" {
				var w io.Writer = cmd.OutOrStdout()
				if output != "" {
					f, err := os.OpenFile(output, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
					if err != nil {
						return &exitError{code: 2, err: fmt.Errorf("--output: %w", err)}
					}
					defer f.Close()
					w = f
				}
				results, err = subject.Export(cmd.Context(), targets, q, w)
			} else {
				results, err = subject.Delete(cmd.Context(), targets, q)
			}
			// The report goes to stderr for export (stdout holds the
			// records unless --output is set), to stdout for delete.
			rw := cmd.OutOrStdout()
			if verb == "export" && output == "" {
				rw = cmd.ErrOrStderr()
			}
			if format == "json" {
				enc := json.NewEncoder(rw)
				enc.SetIndent("", "  ")
				_ = enc.Encode(results)
			} else {
				printSubjectReport(rw, verb, results)
			}
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&configPath, "config", "c", "", "configuration file (default: $ACCORD_CONFIG, else ./accord.yml if it exists)")
	f.StringVar(&ids.UserID, "user-id", "", "the subject's user id, as sent (identity.user_id; hashed or hmac'd ids are found by applying the same hash or HMAC)")
	f.StringVar(&ids.AnonymousID, "anonymous-id", "", "the subject's anonymous or network user id, as sent")
	f.StringVar(&format, "format", "text", "report format: text or json")
	if verb == "export" {
		f.StringVarP(&output, "output", "o", "", "write the records to this file (mode 0600) instead of stdout")
	}
	return cmd
}

func printSubjectReport(w io.Writer, verb string, results []subject.Result) {
	done := "found"
	if verb == "delete" {
		done = "deleted"
	}
	for _, r := range results {
		if r.Unsupported != "" {
			fmt.Fprintf(w, "sink %s (%s): not searched: %s\n", r.Sink, r.Type, r.Unsupported)
			continue
		}
		for _, s := range r.Stores {
			fmt.Fprintf(w, "sink %s (%s) %s: %d records %s\n", r.Sink, r.Type, s.Store, s.Count, done)
		}
	}
	fmt.Fprintln(w, "not searched: the spool and dead-letter files; run again once delivery has caught up")
}
