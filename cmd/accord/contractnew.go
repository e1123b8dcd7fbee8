package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/accord-events/accord/internal/app"
	"github.com/accord-events/accord/internal/atomicfile"
	"github.com/accord-events/accord/internal/catalog"
	"github.com/accord-events/accord/internal/config"
	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/contract/compat"
	"github.com/accord-events/accord/internal/contract/lint"
	"github.com/accord-events/accord/internal/protocol/selfdesc"
	"github.com/accord-events/accord/internal/scaffold"
)

// contractsDir is --contracts, else contracts.dir of the configuration.
func contractsDir(configPath, dirFlag string) (config.Config, string, error) {
	cfg, err := loadConfig(configPath, config.SectionContracts, config.SectionServer)
	if err != nil {
		return cfg, "", err
	}
	if dirFlag != "" {
		return cfg, dirFlag, nil
	}
	return cfg, cfg.Contracts.Dir, nil
}

func newContractNewCmd() *cobra.Command {
	var configPath, dirFlag, owner, team string
	var fields, required []string
	cmd := &cobra.Command{
		Use:   "new VENDOR/NAME",
		Short: "Write version 1-0-0 of a new contract, ready to fill in",
		Long: `Write contracts/VENDOR/NAME/jsonschema/1-0-0 (under --contracts, else
contracts.dir): a self-describing JSON Schema with every key accord contract
lint asks for. Where only a person can say what to write (what the event is,
when it is sent, who owns it, what each field holds) it leaves a placeholder
starting "TODO:", which lint reports (rule placeholder) until it is replaced;
the new file has no lint error.

Fields: --field NAME:TYPE, once per field, with TYPE one of string, integer,
number, boolean, timestamp, date, email, uuid, url (an email field gets the
privacy rule class restricted, action hmac); --required NAME makes one
required. The object is closed (additionalProperties: false): add the
properties you send.

A contract that already has a version is refused: copy its latest version,
edit the copy and run accord contract bump on it.

Exit status: 0 written, 1 refused (the contract exists, a bad field), 2 it
could not run.`,
		Example: `  accord contract new com.acme/cart_viewed
  accord contract new com.acme/cart_viewed --owner growth@acme.example \
    --field cart_id:uuid --field total:number --field email:email --required cart_id`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, dir, err := contractsDir(configPath, dirFlag)
			if err != nil {
				return err
			}
			vendor, name, ok := strings.Cut(args[0], "/")
			if !ok || strings.Contains(name, "/") {
				return &exitError{code: 1, err: fmt.Errorf("%q: name the contract as VENDOR/NAME, such as com.acme/cart_viewed", args[0])}
			}
			opts := scaffold.ContractOptions{Owner: owner, Team: team}
			for _, f := range fields {
				n, typ, ok := strings.Cut(f, ":")
				if !ok {
					return &exitError{code: 1, err: fmt.Errorf("--field %q: write it as NAME:TYPE, such as total:number", f)}
				}
				opts.Fields = append(opts.Fields, scaffold.Field{Name: n, Type: typ})
			}
			for _, r := range required {
				found := false
				for i := range opts.Fields {
					if opts.Fields[i].Name == r {
						opts.Fields[i].Required, found = true, true
					}
				}
				if !found {
					return &exitError{code: 1, err: fmt.Errorf("--required %s: no --field of that name", r)}
				}
			}
			doc, key, err := scaffold.NewContract(vendor, name, opts)
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			versions, err := contractVersions(dir, key)
			if err != nil {
				return err
			}
			if len(versions) > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%s/%s already has version %s in %s; copy its latest version, edit the copy and run accord contract bump on it", vendor, name, versions[len(versions)-1].String(), dir)}
			}
			path := filepath.Join(dir, key.Vendor, key.Name, key.Format, key.Version.String())
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			if err := atomicfile.Write(path, doc, 0o644); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "wrote %s\n", path)
			linter, err := lint.New(lintOptions(cfg.Contracts.Lint))
			if err != nil {
				return err
			}
			report, err := linter.Dir(dir)
			if err != nil {
				return err
			}
			mine := report.For([]string{path})
			if len(mine.Findings) > 0 {
				fmt.Fprintln(out, "to fill in (accord contract lint reports these until they are done):")
				for _, f := range mine.Findings {
					fmt.Fprintf(out, "  %s:%d:%d: %s %s: %s\n", f.File, f.Line, f.Column, f.Severity, f.Rule, f.Message)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "configuration file (default: $ACCORD_CONFIG, else ./accord.yml if it exists)")
	cmd.Flags().StringVar(&dirFlag, "contracts", "", "contracts directory, overriding contracts.dir")
	cmd.Flags().StringVar(&owner, "owner", "", "who answers for the contract: an email address or a team name (default: a placeholder)")
	cmd.Flags().StringVar(&team, "team", "", "the team that owns the contract")
	cmd.Flags().StringArrayVar(&fields, "field", nil, "a field as NAME:TYPE (string, integer, number, boolean, timestamp, date, email, uuid, url); repeat for more")
	cmd.Flags().StringArrayVar(&required, "required", nil, "a field that every event must carry; repeat for more")
	return cmd
}

// contractVersions lists the versions of key's contract in dir, oldest
// first, from the file names (with or without .json).
func contractVersions(dir string, key contract.Key) ([]contract.SchemaVer, error) {
	entries, err := os.ReadDir(filepath.Join(dir, key.Vendor, key.Name, key.Format))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []contract.SchemaVer
	for _, e := range entries {
		if v, err := contract.ParseSchemaVer(strings.TrimSuffix(e.Name(), ".json")); err == nil && !e.IsDir() {
			out = append(out, v)
		}
	}
	sortVersions(out)
	return out, nil
}

func sortVersions(vs []contract.SchemaVer) {
	sort.Slice(vs, func(i, j int) bool { return compat.Less(vs[i], vs[j]) })
}

func newContractBumpCmd() *cobra.Command {
	var configPath, dirFlag, format string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "bump PATH",
		Short: "Give an edited schema the honest next version and write it into the contracts directory",
		Long: `PATH is a new version of a contract being drafted: a copy of its latest
version, edited (its self block names the contract; the version it holds is
ignored). bump compares it with the latest version in the contracts directory
(--contracts, else contracts.dir) by the same diff as accord contract diff,
proposes the smallest version the changes allow (ADDITION: 1-0-1 to 1-0-2,
REVISION: to 1-1-0, MODEL: to 2-0-0), says why change by change, and writes
the draft there under that version, its self block's version set and every
other byte kept. A contract with no version yet gets 1-0-0.

It refuses a draft that is one of the directory's own version files (copy it
first: a published version never changes), one identical to the latest
version, and one that does not compile. --dry-run only proposes.

Exit status: 0 written (or proposed), 1 refused, 2 it could not run.`,
		Example: `  cp contracts/com.acme/cart_viewed/jsonschema/1-0-0 draft.json
  $EDITOR draft.json
  accord contract bump draft.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return fmt.Errorf("--format %q: use text or json", format)
			}
			_, dir, err := contractsDir(configPath, dirFlag)
			if err != nil {
				return err
			}
			res, err := proposeBump(args[0], dir)
			if err != nil {
				return err
			}
			if !dryRun {
				if err := os.MkdirAll(filepath.Dir(res.Path), 0o755); err != nil {
					return err
				}
				if err := atomicfile.Write(res.Path, res.doc, 0o644); err != nil {
					return err
				}
				res.Written = true
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				return writeJSON(out, res)
			}
			if res.From == "" {
				fmt.Fprintf(out, "%s: no version yet: %s is its first\n", res.Contract, res.To)
			} else {
				fmt.Fprintf(out, "%s: %s -> %s, a %s, because:\n", res.Contract, res.From, res.To, res.Bump)
				if res.Error != "" {
					fmt.Fprintf(out, "  the versions could not be compared, so only a MODEL is safe: %s\n", res.Error)
				}
				if len(res.Changes) == 0 && res.Error == "" {
					fmt.Fprintln(out, "  no validation keyword changed (descriptions, examples or metadata did): the smallest step is an ADDITION")
				}
				for _, c := range res.Changes {
					printChange(out, "  ", c)
				}
			}
			if res.Written {
				fmt.Fprintf(out, "wrote %s\n", res.Path)
			} else {
				fmt.Fprintf(out, "would write %s (--dry-run)\n", res.Path)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "configuration file (default: $ACCORD_CONFIG, else ./accord.yml if it exists)")
	cmd.Flags().StringVar(&dirFlag, "contracts", "", "contracts directory, overriding contracts.dir")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "propose the version without writing the file")
	return cmd
}

// bumpResult is what accord contract bump proposes.
type bumpResult struct {
	Contract string          `json:"contract"`
	From     string          `json:"from,omitempty"`
	To       string          `json:"to"`
	Bump     compat.Bump     `json:"bump"`
	Changes  []compat.Change `json:"changes"`
	Error    string          `json:"error,omitempty"`
	Path     string          `json:"path"`
	Written  bool            `json:"written"`
	doc      []byte
}

func proposeBump(draftPath, dir string) (*bumpResult, error) {
	refuse := func(format string, a ...any) error { return &exitError{code: 1, err: fmt.Errorf(format, a...)} }
	// The loader's bound: a draft bump takes is a contract it loads.
	draft, err := contract.ReadContractFile(draftPath)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", draftPath, err)
	}
	var head struct {
		Self *struct{ Vendor, Name, Format string } `json:"self"`
	}
	if err := json.Unmarshal(draft, &head); err != nil {
		return nil, refuse("%s is not a JSON object: %v", draftPath, err)
	}
	if head.Self == nil {
		return nil, refuse(`%s has no "self" block naming its vendor and name`, draftPath)
	}
	key, err := contract.ParseKey(head.Self.Vendor + "/" + head.Self.Name + "/" + head.Self.Format + "/1-0-0")
	if err != nil {
		return nil, refuse("%s: self block: %v", draftPath, err)
	}
	if err := key.CheckFilePath(); err != nil {
		return nil, refuse("%s: %v", draftPath, err)
	}
	versions, err := contractVersions(dir, key)
	if err != nil {
		return nil, err
	}
	res := &bumpResult{Contract: key.Vendor + "/" + key.Name, Bump: compat.Addition, Changes: []compat.Change{}}
	base := filepath.Join(dir, key.Vendor, key.Name, key.Format)
	next := contract.SchemaVer{Model: 1}
	docs := contract.DirDocuments(dir)
	if len(versions) > 0 {
		latest := versions[len(versions)-1]
		for _, v := range versions {
			for _, p := range []string{filepath.Join(base, v.String()), filepath.Join(base, v.String()+".json")} {
				if same, _ := sameFile(p, draftPath); same {
					return nil, refuse("%s is version %s itself; a published version never changes: copy it, edit the copy and bump that", draftPath, v)
				}
			}
		}
		latestKey := key
		latestKey.Version = latest
		latestDoc, ok := docs(latestKey)
		if !ok {
			return nil, fmt.Errorf("read %s version %s from %s", res.Contract, latest, dir)
		}
		if cur, err := contract.SetSelfVersion(draft, latest.String()); err == nil && contract.SameDocument(cur, latestDoc) {
			return nil, refuse("%s is the same as version %s: nothing to bump", draftPath, latest)
		}
		res.From = latest.String()
		changes, err := compat.DiffWith(latestDoc, draft, compat.Options{Documents: docs})
		if err != nil {
			res.Error = err.Error()
			res.Bump = compat.Model
		} else {
			if changes != nil {
				res.Changes = changes
			}
			res.Bump = compat.Needed(changes)
		}
		next = compat.Next(latest, res.Bump)
	}
	res.To = next.String()
	key.Version = next
	doc, err := contract.SetSelfVersion(draft, res.To)
	if err != nil {
		return nil, refuse("%s: %v", draftPath, err)
	}
	if _, err := contract.CompileWith(doc, key, draftPath, docs); err != nil {
		return nil, refuse("%s does not compile as %s: %v", draftPath, key, err)
	}
	res.Path = filepath.Join(base, res.To)
	for _, p := range []string{res.Path, res.Path + ".json"} {
		if _, err := os.Lstat(p); err == nil {
			return nil, refuse("%s already exists", p)
		}
	}
	res.doc = doc
	return res, nil
}

func sameFile(a, b string) (bool, error) {
	fa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(fa, fb), nil
}

func newContractExampleCmd() *cobra.Command {
	var configPath, dirFlag, collector string
	cmd := &cobra.Command{
		Use:   "example KEY",
		Short: "Print a valid example event of a contract and the curl that sends it",
		Long: `Generate an event of the contract KEY (iglu:vendor/name/jsonschema/M-R-A,
vendor/name/jsonschema/M-R-A, or vendor/name for its latest version) from its
schema, check it with the contract's own validator, and print it as a
self-describing event with the curl command that sends it to the collector's
POST /events.

The contracts are those of --contracts (else contracts.dir) and the ones that
ship with Accord. The collector is --collector, else http:// and the host and
port of server.addr (an empty or unspecified host is localhost).

Exit status: 0 printed, 1 no such contract or no valid example could be made,
2 it could not run.`,
		Example: `  accord contract example com.acme/cart_viewed
  accord contract example iglu:com.acme/cart_viewed/jsonschema/1-0-1 --collector https://collector.acme.example`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, dir, err := contractsDir(configPath, dirFlag)
			if err != nil {
				return err
			}
			user, problems, err := contract.LoadDir(dir)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			for _, p := range problems {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: %v\n", p)
			}
			c, err := findContract(withBuiltin(user, app.BuiltinContracts()), args[0])
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			ex, err := catalog.Example(c)
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			if collector == "" {
				collector = collectorURL(cfg.Server.Addr)
			}
			event := struct {
				Schema string          `json:"schema"`
				Data   json.RawMessage `json:"data"`
			}{c.URI, ex}
			compact, err := json.Marshal(event)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			pretty, _ := json.MarshalIndent(event, "", "  ")
			fmt.Fprintf(out, "%s\n\n", pretty)
			printCurl(out, strings.TrimRight(collector, "/")+selfdesc.Path, compact)
			return nil
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "configuration file (default: $ACCORD_CONFIG, else ./accord.yml if it exists)")
	cmd.Flags().StringVar(&dirFlag, "contracts", "", "contracts directory, overriding contracts.dir")
	cmd.Flags().StringVar(&collector, "collector", "", "base URL of the collector (default: from server.addr)")
	return cmd
}

// findContract resolves a key, or vendor/name for its latest version.
func findContract(cs []*contract.Contract, key string) (*contract.Contract, error) {
	if k, err := contract.ParseKey(key); err == nil {
		for _, c := range cs {
			if c.Key == k {
				return c, nil
			}
		}
		return nil, fmt.Errorf("no contract %s", k)
	}
	vendor, name, ok := strings.Cut(strings.TrimPrefix(key, "iglu:"), "/")
	if !ok || strings.Contains(name, "/") {
		return nil, fmt.Errorf("%q is not a schema key (iglu:vendor/name/jsonschema/M-R-A) or vendor/name", key)
	}
	var latest *contract.Contract
	for _, c := range cs {
		if c.Key.Vendor == vendor && c.Key.Name == name && (latest == nil || compat.Less(latest.Key.Version, c.Key.Version)) {
			latest = c
		}
	}
	if latest == nil {
		return nil, fmt.Errorf("no contract %s/%s", vendor, name)
	}
	return latest, nil
}

// collectorURL is the base URL of a collector listening on addr.
func collectorURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://localhost:8080"
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// printCurl prints the curl command that POSTs body to url, quoted for a
// POSIX shell.
func printCurl(out io.Writer, url string, body []byte) {
	fmt.Fprintf(out, "curl -s %s -H 'Content-Type: application/json' -d %s\n", shellQuote(url), shellQuote(string(body)))
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
