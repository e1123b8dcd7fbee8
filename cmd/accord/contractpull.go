package main

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/accord-events/accord/internal/config"
	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/contract/lint"
	"github.com/accord-events/accord/internal/redact"
	"github.com/accord-events/accord/internal/registry"
	"github.com/accord-events/accord/internal/registry/pull"
)

// envIgluAPIKey holds the API key accord contract pull sends to an
// iglu-server when --api-key is not given.
const envIgluAPIKey = config.EnvIgluAPIKey

func newContractPullCmd() *cobra.Command {
	var from, apiKey, configPath, dirFlag string
	var vendors []string
	var api, all, force, dryRun bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "pull [KEY...] --from REPOSITORY",
		Short: "Import schemas from an Iglu repository into the contracts directory",
		Long: `Copy schemas from an Iglu repository into contracts.dir (or --contracts),
in the layout accord serve loads: {vendor}/{name}/jsonschema/{M-R-A}.

--from is one of:
  a directory   a local checkout of a repository (its schemas folder, or the
                folder holding it, as a clone of Iglu Central)
  a URL         a static repository laid out as Iglu Central
                ({url}/schemas/{vendor}/{name}/jsonschema/{M-R-A})
  a URL, --api  an iglu-server ({url}/api/schemas); the API key, for private
                schemas, comes from $ACCORD_IGLU_API_KEY or --api-key

Select schemas by key (iglu:vendor/name/jsonschema/M-R-A), by --vendor, or
--all. A static repository over HTTP has no listing, so only keys can be
pulled from it; pull a vendor or all from a checkout or an iglu-server.

Each schema is judged before anything is written: one in another format
than JSON Schema is skipped; one that does not compile, is not found, or is
named unsafely by the repository is refused; one already in the directory
with the same document is unchanged; one there with another document is
refused unless --force (a published Iglu schema never changes, so one of
the two was edited). The rest are written, each atomically, and linted as
accord contract lint would (the findings are printed; they do not change
the exit status). --dry-run prints the same report and writes nothing.

Exit status: 0 every schema selected was written, unchanged or skipped;
1 one was refused; 2 the pull could not run (nothing is written then).`,
		Example: `  accord contract pull --from ./iglu-central --vendor com.snowplowanalytics.snowplow
  accord contract pull --from http://iglucentral.com iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0
  ACCORD_IGLU_API_KEY=... accord contract pull --from https://iglu.example.com --api --all --dry-run`,
		RunE: func(cmd *cobra.Command, args []string) error {
			sel := pull.Selection{All: all}
			for _, a := range args {
				k, err := contract.ParseKey(a)
				if err != nil {
					return err
				}
				sel.Keys = append(sel.Keys, k)
			}
			for _, v := range vendors {
				v, err := pull.ParseVendor(v)
				if err != nil {
					return fmt.Errorf("--vendor: %w", err)
				}
				sel.Vendors = append(sel.Vendors, v)
			}
			if all && (len(sel.Keys) > 0 || len(sel.Vendors) > 0) {
				return fmt.Errorf("--all pulls every schema: drop the keys and --vendor, or --all")
			}
			if !all && len(sel.Keys) == 0 && len(sel.Vendors) == 0 {
				return fmt.Errorf("nothing selected: name schemas by key (iglu:vendor/name/jsonschema/M-R-A), by --vendor, or --all")
			}
			if apiKey != "" && !api {
				return fmt.Errorf("--api-key is for an iglu-server: add --api, or drop the key")
			}
			// The variable may be set for another repository than this
			// one: only an iglu-server is sent it.
			if apiKey == "" && api {
				apiKey = os.Getenv(envIgluAPIKey)
			}
			src, err := pullSource(from, api, apiKey, timeout)
			if err != nil {
				return err
			}
			cfg, err := loadConfig(configPath, config.SectionContracts)
			if err != nil {
				return err
			}
			dir := cfg.Contracts.Dir
			if dirFlag != "" {
				dir = dirFlag
			}
			linter, err := lint.New(lintOptions(cfg.Contracts.Lint))
			if err != nil {
				return err
			}

			plan, err := pull.Prepare(cmd.Context(), src, sel, pull.Options{Dir: dir, Force: force})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			printPlan(out, plan, dryRun)
			if !dryRun {
				written, err := pull.Write(plan)
				if err != nil {
					return fmt.Errorf("%w (%s written before it)", err, plural(len(written), "file"))
				}
				if len(written) > 0 {
					report, err := linter.Dir(dir)
					if err != nil {
						return err
					}
					fmt.Fprintf(out, "lint of the files written:\n")
					if err := lint.Write(out, "text", report.For(written)); err != nil {
						return err
					}
				}
			}
			if n := plan.Count(pull.Refuse); n > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%s refused; see why above", plural(n, "schema"))}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the Iglu repository: a directory, or the URL of a static repository or (with --api) an iglu-server (required)")
	cmd.Flags().BoolVar(&api, "api", false, "--from is an iglu-server, whose REST API lists its schemas")
	cmd.Flags().StringVar(&apiKey, "api-key", "", "the iglu-server's API key, for private schemas (default: $"+envIgluAPIKey+")")
	cmd.Flags().StringSliceVar(&vendors, "vendor", nil, "pull every schema of this vendor (repeatable)")
	cmd.Flags().BoolVar(&all, "all", false, "pull every schema the repository holds")
	cmd.Flags().BoolVar(&force, "force", false, "replace a file whose document differs from the repository's")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would change, and write nothing")
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "configuration file (default: $ACCORD_CONFIG, else ./accord.yml if it exists)")
	cmd.Flags().StringVar(&dirFlag, "contracts", "", "contracts directory to write to, overriding contracts.dir")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "how long each request to the repository may take")
	return cmd
}

// pullSource builds the repository --from names.
func pullSource(from string, api bool, apiKey string, timeout time.Duration) (pull.Source, error) {
	if from == "" {
		return nil, fmt.Errorf("--from: give the Iglu repository to pull from: a directory, or an http(s) URL")
	}
	if u, err := url.Parse(from); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		if timeout <= 0 {
			return nil, fmt.Errorf("--timeout %s: give a positive duration such as 30s", timeout)
		}
		g, err := registry.NewIglu(from, registry.IgluOptions{API: api, APIKey: apiKey, Timeout: timeout})
		if err != nil {
			return nil, fmt.Errorf("--from: %w", err)
		}
		return pull.HTTP{Iglu: g}, nil
	}
	if strings.Contains(from, "://") {
		return nil, fmt.Errorf("--from %s: only http and https URLs, or a directory", redact.URL(from))
	}
	if api {
		return nil, fmt.Errorf("--from %s is a directory: --api is for an iglu-server's URL", from)
	}
	d, err := pull.NewDir(from)
	if err != nil {
		return nil, fmt.Errorf("--from: %w", err)
	}
	return d, nil
}

func printPlan(out io.Writer, plan *pull.Plan, dryRun bool) {
	verb := map[pull.Action]string{pull.Add: "added", pull.Replace: "replaced", pull.Unchanged: "unchanged", pull.Skip: "skipped", pull.Refuse: "refused"}
	if dryRun {
		verb[pull.Add], verb[pull.Replace] = "would add", "would replace"
	}
	for _, it := range plan.Items {
		switch it.Action {
		case pull.Add, pull.Replace:
			fmt.Fprintf(out, "%s %s -> %s\n", verb[it.Action], it.Schema, it.File)
		case pull.Unchanged:
			fmt.Fprintf(out, "%s %s\n", verb[it.Action], it.Schema)
		default:
			fmt.Fprintf(out, "%s %s: %s\n", verb[it.Action], it.Schema, it.Reason)
		}
	}
	counts := fmt.Sprintf("%d added, %d replaced", plan.Count(pull.Add), plan.Count(pull.Replace))
	head := "pulled from " + plan.Source
	if dryRun {
		counts = fmt.Sprintf("would add %d, would replace %d", plan.Count(pull.Add), plan.Count(pull.Replace))
		head = "dry run of a pull from " + plan.Source + ", nothing written"
	}
	fmt.Fprintf(out, "%s: %s, %d unchanged, %d skipped, %d refused\n", head, counts,
		plan.Count(pull.Unchanged), plan.Count(pull.Skip), plan.Count(pull.Refuse))
}
