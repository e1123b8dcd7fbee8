package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/accord-events/accord/internal/config"
	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/contract/compat"
	"github.com/accord-events/accord/internal/contract/lint"
	"github.com/accord-events/accord/internal/registry"
	"github.com/spf13/cobra"
)

func newContractCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "contract",
		Short: "Work with data contracts: lint them, compare versions and check their SchemaVer bumps",
		Long: `Commands for the contracts in a contracts directory.

  lint   checks every contract file: valid schema, self block, version
         gaps, x-accord metadata, x-accord-pii privacy rules, descriptions
  diff   prints every structural change between two versions of a schema,
         with the SchemaVer bump each one needs
  check  walks every contract's versions and fails when a version's bump is
         smaller than its changes need
  publish  sends every contract to a registry (accord serve, or an
           iglu-server), which refuses dishonest bumps and gaps
  pull     imports schemas from an Iglu repository (a checkout, a static
           repository, an iglu-server) into the contracts directory
  new      writes version 1-0-0 of a new contract, with placeholders to fill in
  bump     gives an edited copy of a contract the honest next version and
           writes it into the contracts directory
  example  prints a valid example event of a contract and the curl that
           sends it`,
		Example: `  accord contract lint
  accord contract diff contracts/com.example/checkout_completed/jsonschema/1-0-0 \
    contracts/com.example/checkout_completed/jsonschema/1-0-1
  accord contract check contracts
  accord contract publish --registry https://accord.example --key "$KEY"
  accord contract pull --from ./iglu-central --vendor com.snowplowanalytics.snowplow`,
	}
	cmd.AddCommand(newContractLintCmd(), newContractDiffCmd(), newContractCheckCmd(), newContractPublishCmd(), newContractPullCmd(),
		newContractNewCmd(), newContractBumpCmd(), newContractExampleCmd())
	return cmd
}

func newContractLintCmd() *cobra.Command {
	var format, configPath, dirFlag string
	cmd := &cobra.Command{
		Use:   "lint [DIR]",
		Short: "Check every contract file for mistakes, naming the rule, file and line of each",
		Long: `Lint every contract under DIR (default: contracts.dir from the
configuration, which is contracts unless set): each file must be a JSON Schema
valid against its meta-schema, with a self block that matches its path
{vendor}/{name}/jsonschema/{M-R-A}; a contract's versions must start at 1-0-0
and skip none; the x-accord metadata (owner is required) and the x-accord-pii
privacy rules on properties must follow their vocabularies; and the schema and
each property need a description, at the severity
contracts.lint.require_descriptions sets (error, warning or off; default
warning). docs/contracts.md lists every rule.

Formats: text prints file:line:col: severity rule: message and a summary;
json prints an array of findings; github prints GitHub Actions workflow
commands, which annotate the lines of a pull request.

Exit status: 0 no errors (warnings do not fail), 1 errors were found, 2 the
lint could not run.`,
		Example: `  accord contract lint
  accord contract lint path/to/contracts --format json
  accord contract lint --format github   # in a GitHub Actions step`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(lint.Formats, format) {
				return fmt.Errorf("--format %q: use %s", format, strings.Join(lint.Formats, ", "))
			}
			cfg, err := loadConfig(configPath, config.SectionContracts)
			if err != nil {
				return err
			}
			dir := cfg.Contracts.Dir
			if dirFlag != "" {
				dir = dirFlag
			}
			if len(args) == 1 {
				dir = args[0]
			}
			linter, err := lint.New(lintOptions(cfg.Contracts.Lint))
			if err != nil {
				return err
			}
			report, err := linter.Dir(dir)
			if err != nil {
				return err
			}
			if err := lint.Write(cmd.OutOrStdout(), format, report); err != nil {
				return err
			}
			if n := report.Count(lint.Error); n > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%s in %s", plural(n, "lint error"), dir)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, json or github")
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "configuration file (default: $ACCORD_CONFIG, else ./accord.yml if it exists)")
	cmd.Flags().StringVar(&dirFlag, "contracts", "", "contracts directory, overriding contracts.dir (DIR, when given, wins)")
	return cmd
}

func newContractDiffCmd() *cobra.Command {
	var format, configPath, dirFlag string
	cmd := &cobra.Command{
		Use:   "diff OLD NEW",
		Short: "Print the changes between two schema files and the SchemaVer bump they need",
		Long: `Compare two JSON Schema files (self-describing or plain; drafts 4, 7 and
2020-12) and print every structural change from OLD to NEW: what changed,
where (a JSON pointer into NEW, or into OLD for removals), the property it
concerns, and the smallest SchemaVer bump it needs:

  ADDITION  every event valid under OLD is still valid under NEW
  REVISION  some events valid under OLD may not be
  MODEL     the shape changed: none or nearly none are

The last line is the bump the whole change needs. Local $refs are followed,
and so are $refs to other contracts (iglu:vendor/name/jsonschema/M-R-A or the
Iglu Central URL form), looked up in the contracts directory (--contracts,
else contracts.dir); a change the classifier cannot prove compatible is
counted as a REVISION.

Exit status: 0 when the files could be compared, 2 when they could not.`,
		Example: `  accord contract diff contracts/com.example/checkout_completed/jsonschema/1-0-0 \
    contracts/com.example/checkout_completed/jsonschema/1-0-1
  accord contract diff --format json old.json new.json`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return fmt.Errorf("--format %q: use text or json", format)
			}
			oldDoc, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			newDoc, err := os.ReadFile(args[1])
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
			changes, err := compat.DiffWith(oldDoc, newDoc, compat.Options{Documents: contract.DirDocuments(dir)})
			if err != nil {
				return fmt.Errorf("compare %s with %s: %w", args[0], args[1], err)
			}
			if changes == nil {
				changes = []compat.Change{}
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				return writeJSON(out, struct {
					Old     string          `json:"old"`
					New     string          `json:"new"`
					Needed  compat.Bump     `json:"needed"`
					Changes []compat.Change `json:"changes"`
				}{args[0], args[1], compat.Needed(changes), changes})
			}
			if len(changes) == 0 {
				fmt.Fprintln(out, "no changes")
			}
			for _, c := range changes {
				printChange(out, "", c)
			}
			fmt.Fprintf(out, "needed: %s (%s)\n", compat.Needed(changes), plural(len(changes), "change"))
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "configuration file (default: $ACCORD_CONFIG, else ./accord.yml if it exists)")
	cmd.Flags().StringVar(&dirFlag, "contracts", "", "contracts directory that $refs to other contracts are looked up in, overriding contracts.dir")
	return cmd
}

func newContractCheckCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "check [DIR]",
		Short: "Check that every contract version's SchemaVer bump covers its changes",
		Long: `Load every contract under DIR (default: contracts), laid out as
{vendor}/{name}/jsonschema/{M-R-A}, walk each contract's versions in SchemaVer
order and compare every version with the one before it. A step fails when the
bump its version declares (1-0-0 to 1-0-1 declares ADDITION, to 1-1-0
REVISION, to 2-0-0 MODEL) is smaller than the bump its changes need; the
report names the contract, both versions, each change and its property.

Gaps in the version sequence (1-0-0 then 1-0-2) are reported as warnings and
do not fail the check; each pair is still compared across the gap. A $ref
from one contract to another is followed. Files in Iglu's other formats
({vendor}/{name}/avro|thrift|protobuf/{M-R-A}) are skipped and counted in a
note.

Exit status: 0 every bump is honest, 1 a bump is too small or a contract did
not load, 2 the check could not run.`,
		Example: `  accord contract check
  accord contract check path/to/contracts --format json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return fmt.Errorf("--format %q: use text or json", format)
			}
			dir := "contracts"
			if len(args) == 1 {
				dir = args[0]
			}
			contracts, problems, skipped, err := contract.LoadDirSkipping(dir)
			if err != nil {
				return err
			}
			report := compat.Check(contracts)
			failed := report.Failed()
			if err := printCheck(cmd.OutOrStdout(), format, report, problems, skipped); err != nil {
				return err
			}
			var reasons []string
			if n := len(failed); n > 0 {
				reasons = append(reasons, fmt.Sprintf("%s smaller than %s changes need", plural(n, "version bump is"), pronoun(n)))
			}
			if n := len(problems); n > 0 {
				reasons = append(reasons, plural(n, "contract file")+" did not load")
			}
			if len(reasons) > 0 {
				return &exitError{code: 1, err: errors.New(strings.Join(reasons, "; "))}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func printCheck(out io.Writer, format string, r *compat.Report, problems []*contract.LoadError, skipped contract.Skipped) error {
	if format == "json" {
		type loadError struct {
			Path  string `json:"path"`
			Error string `json:"error"`
		}
		loadErrors := []loadError{}
		for _, p := range problems {
			loadErrors = append(loadErrors, loadError{p.Path, p.Err.Error()})
		}
		failed := r.Failed()
		if failed == nil {
			failed = []compat.Step{}
		}
		return writeJSON(out, struct {
			OK         bool          `json:"ok"`
			Contracts  int           `json:"contracts"`
			Failures   []compat.Step `json:"failures"`
			Gaps       []compat.Gap  `json:"gaps"`
			LoadErrors []loadError   `json:"load_errors"`
			Steps      []compat.Step `json:"steps"`
			// Skipped counts the files in Iglu's other formats, by format.
			Skipped contract.Skipped `json:"skipped"`
		}{len(failed) == 0 && len(problems) == 0, r.Contracts, failed, r.Gaps, loadErrors, r.Steps, skipped})
	}
	if note := skipped.Note(); note != "" {
		fmt.Fprintf(out, "note: %s\n", note)
	}
	for _, p := range problems {
		fmt.Fprintf(out, "error: %v\n", p)
	}
	for _, s := range r.Failed() {
		if s.Error != "" {
			fmt.Fprintf(out, "%s: %s -> %s declares %s but could not be compared, so needs %s: %s\n", s.Contract, s.From, s.To, s.Declared, s.Needed, s.Error)
			continue
		}
		fmt.Fprintf(out, "%s: %s -> %s declares %s but its changes need %s:\n", s.Contract, s.From, s.To, s.Declared, s.Needed)
		for _, c := range s.Changes {
			if c.Bump > s.Declared {
				printChange(out, "  ", c)
			}
		}
	}
	for _, g := range r.Gaps {
		if g.After == "" {
			fmt.Fprintf(out, "warning: %s starts at %s: %s is missing\n", g.Contract, g.Next, g.Missing)
		} else {
			fmt.Fprintf(out, "warning: %s: %s is followed by %s: %s is missing\n", g.Contract, g.After, g.Next, g.Missing)
		}
	}
	fmt.Fprintf(out, "checked %s in %s: %s, %s\n", plural(len(r.Steps), "version step"), plural(r.Contracts, "contract"),
		plural(len(r.Failed()), "dishonest bump"), plural(len(r.Gaps), "gap"))
	return nil
}

func printChange(out io.Writer, indent string, c compat.Change) {
	prop := quoteUnprintable(c.Property)
	if prop == "" {
		prop = "(event)"
	}
	pointer := quoteUnprintable(c.Pointer)
	if pointer == "" {
		pointer = "/"
	}
	fmt.Fprintf(out, "%s%-8s  %s  %s at %s: %s\n", indent, c.Bump, c.Kind, prop, pointer, escapeUnprintable(c.Message))
}

// quoteUnprintable is s as it is, or Go-quoted ("a\nb") when it holds a
// character a terminal or a log would act on rather than show: a newline
// (a forged line, a workflow command), an escape sequence, a bidi
// override. Property names come from contracts, which a pull request
// writes. The quotes tell a quoted name from one that holds a backslash.
func quoteUnprintable(s string) string {
	for _, r := range s {
		if !strconv.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// escapeUnprintable is s with each such character written as its Go
// escape (\n, \x1b, \u202e): for a sentence that quotes a name.
func escapeUnprintable(s string) string {
	if quoteUnprintable(s) == s {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if strconv.IsPrint(r) {
			b.WriteRune(r)
			continue
		}
		q := strconv.QuoteRune(r)
		b.WriteString(q[1 : len(q)-1])
	}
	return b.String()
}

func writeJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// plural returns "1 change" or "2 changes"; for a phrase such as "version
// bump is" it pluralises the noun and the verb.
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	if noun, ok := strings.CutSuffix(what, " is"); ok {
		return fmt.Sprintf("%d %ss are", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func pronoun(n int) string {
	if n == 1 {
		return "its"
	}
	return "their"
}

// envRegistryKey holds the API key accord contract publish sends when
// --key is not given.
const envRegistryKey = config.EnvRegistryKey

func newContractPublishCmd() *cobra.Command {
	var registryURL, key string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "publish [DIR]",
		Short: "Send every contract under DIR to a registry, stopping at the first it refuses",
		Long: `Publish every contract under DIR (default: contracts), laid out as
{vendor}/{name}/jsonschema/{M-R-A}, to the registry API at --registry: an
accord serve with contracts.api_keys set, or an iglu-server. Contracts go in
order of key, and of SchemaVer within a contract, so each version reaches
the registry after the one before it.

For each version it first asks the registry for it
(GET /api/schemas/{vendor}/{name}/jsonschema/{M-R-A}): one already there with
the same document is skipped as unchanged; otherwise it is sent
(PUT to the same path, with the key in an apikey header). At the first
version the registry refuses it stops and prints the status and why: for an
accord serve, a bump smaller than the changes need (each change with its
kind, property and bump), a gap in the versions, a schema that does not
compile, or a version that exists with another document.

The API key comes from --key or, better kept out of shell history, from
$ACCORD_REGISTRY_KEY.

Exit status: 0 every contract is published or unchanged, 1 the registry
refused one or a contract file did not load (nothing is sent then), 2 the
publish could not run.`,
		Example: `  ACCORD_REGISTRY_KEY=... accord contract publish --registry https://accord.example
  accord contract publish path/to/contracts --registry http://localhost:8080 --key "$KEY"`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "contracts"
			if len(args) == 1 {
				dir = args[0]
			}
			base, err := url.Parse(strings.TrimRight(registryURL, "/"))
			if registryURL == "" || err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
				return fmt.Errorf("--registry %q: give the registry's base URL, such as http://localhost:8080 (the API is under /api/)", registryURL)
			}
			if key == "" {
				key = os.Getenv(envRegistryKey)
			}
			if key == "" {
				return fmt.Errorf("no API key: pass --key or set %s to one of the registry's contracts.api_keys", envRegistryKey)
			}
			contracts, problems, err := contract.LoadDir(dir)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(problems) > 0 {
				for _, p := range problems {
					fmt.Fprintf(out, "error: %v\n", p)
				}
				return &exitError{code: 1, err: fmt.Errorf("%s did not load; nothing was published", plural(len(problems), "contract file"))}
			}
			registry.SortForPublishing(contracts)
			p := &registry.Publisher{Client: &http.Client{Timeout: timeout}, Base: base.String(), Key: key}
			var published, unchanged int
			for _, c := range contracts {
				res, err := p.Publish(cmd.Context(), c)
				if err != nil {
					fmt.Fprintf(out, "published %d, unchanged %d\n", published, unchanged)
					return fmt.Errorf("publish %s: %w", c.URI, err)
				}
				if res.Refused != nil {
					printRefusal(out, c, res.Refused)
					fmt.Fprintf(out, "published %d, unchanged %d\n", published, unchanged)
					return &exitError{code: 1, err: fmt.Errorf("the registry refused %s (%s); nothing after it was published", c.URI, res.Refused.Status)}
				}
				if res.Created {
					published++
					fmt.Fprintf(out, "published %s\n", c.URI)
				} else {
					unchanged++
					fmt.Fprintf(out, "unchanged %s\n", c.URI)
				}
			}
			fmt.Fprintf(out, "published %d, unchanged %d\n", published, unchanged)
			return nil
		},
	}
	cmd.Flags().StringVar(&registryURL, "registry", "", "base URL of the registry, such as http://localhost:8080 (required)")
	cmd.Flags().StringVar(&key, "key", "", "API key, one of the registry's contracts.api_keys (default: $"+envRegistryKey+")")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "how long each request to the registry may take")
	return cmd
}

func printRefusal(out io.Writer, c *contract.Contract, r *registry.Refusal) {
	fmt.Fprintf(out, "refused %s: %s: %s\n", c.URI, r.Status, r.Reason())
	for _, s := range r.Steps {
		fmt.Fprintf(out, "  %s: %s -> %s declares %s but its changes need %s:\n", s.Contract, s.From, s.To, s.Declared, s.Needed)
		for _, ch := range s.Changes {
			if ch.Bump > s.Declared {
				printChange(out, "    ", ch)
			}
		}
	}
	for _, g := range r.Gaps {
		fmt.Fprintf(out, "  %s: %s is missing before %s\n", g.Contract, g.Missing, g.Next)
	}
}

// lintOptions are contracts.lint as the linter takes them: the same for
// accord contract lint and the lint accord contract pull prints.
func lintOptions(c config.ContractsLint) lint.Options {
	return lint.Options{RequireDescriptions: lint.Severity(c.RequireDescriptions), ImportedVendors: c.ImportedVendors}
}
