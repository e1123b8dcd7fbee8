package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// ciWorkflow is the part of a GitHub workflow the test runs.
type ciWorkflow struct {
	Env  map[string]string
	Jobs map[string]struct {
		Steps []ciStep
	}
}

type ciStep struct {
	Name, Uses, Run string
	Env             map[string]string
}

// git runs git in dir and returns its output, failing the test on error.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=dev", "GIT_AUTHOR_EMAIL=dev@example.com", "GIT_COMMITTER_NAME=dev", "GIT_COMMITTER_EMAIL=dev@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

var (
	expressionRE = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)
	subcommandRE = regexp.MustCompile(`\baccord ((?:contract|gen) [a-z]+|version)\b`)
)

// ciRun is one run of a job's steps, as GitHub's runner runs them: each
// run: script with bash --noprofile --norc -eo pipefail, in the checkout,
// with the workflow's and the step's env (expressions evaluated from
// context), GITHUB_STEP_SUMMARY and the binary under test on PATH.
type ciRun struct {
	t       *testing.T
	dir     string
	bin     string
	context map[string]string
	summary string
}

// step runs one step and returns its output and exit code.
func (r *ciRun) step(w ciWorkflow, s ciStep) (string, int) {
	r.t.Helper()
	env := append(os.Environ(), "PATH="+r.bin+string(os.PathListSeparator)+os.Getenv("PATH"), "GITHUB_STEP_SUMMARY="+r.summary,
		"GITHUB_PATH="+filepath.Join(r.t.TempDir(), "path"), "GITHUB_REF_NAME=main", "GITHUB_ACTIONS=true", "CI=true")
	for _, vars := range []map[string]string{w.Env, s.Env} {
		for k, v := range vars {
			v = expressionRE.ReplaceAllStringFunc(v, func(m string) string {
				expr := expressionRE.FindStringSubmatch(m)[1]
				val, ok := r.context[expr]
				if !ok {
					r.t.Fatalf("step %q: the test has no value for ${{ %s }}", s.Name, expr)
				}
				return val
			})
			env = append(env, k+"="+v)
		}
	}
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", s.Run)
	cmd.Dir = r.dir
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		r.t.Fatal(err)
	}
	return out.String(), code
}

// job runs every run: step of job in order and returns their outputs by
// step name; a step that fails ends the job, as on GitHub, and is returned
// as failed.
func (r *ciRun) job(w ciWorkflow, job string) (outputs map[string]string, failed string) {
	r.t.Helper()
	outputs = map[string]string{}
	steps := w.Jobs[job].Steps
	if len(steps) == 0 {
		r.t.Fatalf("no job %s", job)
	}
	for _, s := range steps {
		if s.Run == "" {
			continue // uses: steps are GitHub's (checkout, setup-go)
		}
		out, code := r.step(w, s)
		outputs[s.Name] = out
		if code != 0 {
			return outputs, s.Name
		}
	}
	return outputs, ""
}

// TestCIWorkflowRunsEveryStep: accord init --ci github writes a workflow
// whose every run: step runs, against the real binary, in a real git
// repository: a pull request adding a contract version is linted, checked,
// its change and generated changes shown; a dishonest bump fails the check;
// the merge publishes to a real accord serve registry and commits the
// regenerated code to the remote, once.
func TestCIWorkflowRunsEveryStep(t *testing.T) {
	root := t.TempDir()
	proj := filepath.Join(root, "proj")
	if out, stderr, code := runAccord(t, root, nil, "init", "proj", "--ci", "github"); code != 0 || !contains(out, "wrote proj/.github/workflows/accord.yml") {
		t.Fatalf("init --ci github: exit %d: %s%s", code, out, stderr)
	}
	text, err := os.ReadFile(filepath.Join(proj, ".github", "workflows", "accord.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var w ciWorkflow
	if err := yaml.Unmarshal(text, &w); err != nil {
		t.Fatalf("the workflow is not YAML: %v", err)
	}
	// Every accord subcommand a step names is in the binary under test.
	for job, j := range w.Jobs {
		for _, s := range j.Steps {
			for _, m := range subcommandRE.FindAllStringSubmatch(s.Run, -1) {
				args := append(strings.Fields(m[1]), "--help")
				if _, stderr, code := runAccord(t, root, nil, args...); code != 0 {
					t.Fatalf("job %s, step %q runs `accord %s`, which this accord binary does not have (accord %s --help: exit %d: %s)", job, s.Name, m[1], m[1], code, stderr)
				}
			}
		}
	}

	// The repository: main with the project (secrets/ ignored), pushed
	// to a bare remote.
	remote := filepath.Join(root, "origin.git")
	git(t, root, "init", "--quiet", "--bare", "--initial-branch=main", remote)
	git(t, proj, "init", "--quiet", "--initial-branch=main")
	git(t, proj, "add", "-A")
	if tracked := git(t, proj, "ls-files"); contains(tracked, "secrets/") {
		t.Fatalf("the .gitignore init wrote lets the secrets in:\n%s", tracked)
	}
	git(t, proj, "commit", "--quiet", "-m", "project")
	git(t, proj, "remote", "add", "origin", remote)
	git(t, proj, "push", "--quiet", "origin", "main")
	base := git(t, proj, "rev-parse", "HEAD")

	// A pull request: checkout_completed 1-0-1 adds an optional property.
	dir := "contracts/com.example/checkout_completed/jsonschema/"
	v100, err := os.ReadFile(filepath.Join(proj, dir, "1-0-0"))
	if err != nil {
		t.Fatal(err)
	}
	v101 := strings.Replace(string(v100), `"version": "1-0-0"`, `"version": "1-0-1"`, 1)
	v101 = strings.Replace(v101, `"coupon": {`, `"gift_wrap": {"type": "boolean", "description": "Whether the order is gift-wrapped."},
		"coupon": {`, 1)
	if v101 == string(v100) || !contains(v101, "gift_wrap") {
		t.Fatal("could not edit the example contract")
	}
	git(t, proj, "checkout", "--quiet", "-b", "add-gift-wrap")
	if err := os.WriteFile(filepath.Join(proj, dir, "1-0-1"), []byte(v101), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, proj, "add", "-A")
	git(t, proj, "commit", "--quiet", "-m", "checkout_completed 1-0-1: gift_wrap")

	bin := filepath.Dir(accordBin)
	summary := filepath.Join(root, "summary.md")
	pr := &ciRun{t: t, dir: proj, bin: bin, summary: summary, context: map[string]string{"github.event.pull_request.base.sha": base, "github.ref": "refs/pull/1/merge"}}
	outs, failed := pr.job(w, "review")
	if failed != "" {
		t.Fatalf("review job: step %q failed:\n%s", failed, outs[failed])
	}
	if !contains(outs["Install accord"], "accord is installed: accord ") {
		t.Errorf("install step: %s", outs["Install accord"])
	}
	if out := outs["Show what changed in the contracts"]; !contains(out, "gift_wrap") || !contains(out, "1 contract files changed") {
		t.Errorf("the contract diff step:\n%s", out)
	}
	if out := outs["Show what changes in the generated code"]; !contains(out, "generated/dbt/sources.yml") || !contains(out, "generated/catalog/catalog.json") || !contains(out, "generated/sdk/go/") {
		t.Errorf("the generated changes step:\n%s", out)
	}
	sum, _ := os.ReadFile(summary)
	contractPart, generatedPart, _ := strings.Cut(string(sum), "## Generated changes\n")
	for _, want := range []string{"### " + dir + "1-0-1\n```\n", "gift_wrap"} {
		if !contains(contractPart, want) {
			t.Errorf("the contract changes in the job summary lack %q:\n%.3000s", want, contractPart)
		}
	}
	for _, want := range []string{"generated/dbt/sources.yml", "generated/sql/postgres.sql", "```diff\n", "gift_wrap"} {
		if !contains(generatedPart, want) {
			t.Errorf("the generated changes in the job summary lack %q:\n%.3000s", want, generatedPart)
		}
	}
	// The preview leaves the branch as it was (but for what it
	// generated, which the test drops).
	git(t, proj, "reset", "--quiet", "--hard")
	git(t, proj, "clean", "--quiet", "-fdx", "--", "generated")

	// A dishonest pull request: a required property removed, as 1-0-1.
	git(t, proj, "checkout", "--quiet", "-b", "dishonest", "main")
	broken := strings.Replace(strings.Replace(string(v100), `"version": "1-0-0"`, `"version": "1-0-1"`, 1), `"required": ["order_id", "total", "currency", "items"]`, `"required": ["order_id", "total", "currency", "items", "coupon"]`, 1)
	if !contains(broken, `"coupon"]`) {
		t.Fatal("could not make the dishonest version")
	}
	if err := os.WriteFile(filepath.Join(proj, dir, "1-0-1"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, proj, "add", "-A")
	git(t, proj, "commit", "--quiet", "-m", "dishonest")
	outs, failed = pr.job(w, "review")
	if failed != "Check every version bump" || !contains(outs[failed], "checkout_completed") {
		t.Errorf("a dishonest bump: failed step %q:\n%s", failed, outs[failed])
	}

	// The merge: main gets the honest branch; the publish job publishes to
	// a real registry and commits the regenerated code.
	git(t, proj, "checkout", "--quiet", "main")
	git(t, proj, "merge", "--quiet", "--ff-only", "add-gift-wrap")
	git(t, proj, "push", "--quiet", "origin", "main")
	registry := startCollector(t, newProject(t), "ACCORD_CONTRACTS_API_KEYS=ci-key")
	merge := &ciRun{t: t, dir: proj, bin: bin, summary: summary, context: map[string]string{
		"vars.CONTRACT_REGISTRY_URL": registry.URL, "secrets.ACCORD_REGISTRY_KEY": "ci-key", "github.ref": "refs/heads/main"}}
	outs, failed = merge.job(w, "publish")
	if failed != "" {
		t.Fatalf("publish job: step %q failed:\n%s", failed, outs[failed])
	}
	if out := outs["Publish the contracts to the registry"]; !contains(out, "published iglu:com.example/checkout_completed/jsonschema/1-0-1") {
		t.Errorf("publish step:\n%s", out)
	}
	if status, _, body := httpDo(t, "GET", registry.URL+"/api/schemas/com.example/checkout_completed/jsonschema/1-0-1", nil); status != http.StatusOK || !contains(body, "gift_wrap") {
		t.Errorf("the registry after the merge: %d %s", status, body)
	}
	pushed := git(t, root, "--git-dir", remote, "log", "-1", "--format=%s", "main")
	files := git(t, root, "--git-dir", remote, "ls-tree", "-r", "--name-only", "main", "generated")
	if pushed != "Regenerate the SDKs, dbt sources, DDL and catalog from the contracts" || !contains(files, "generated/dbt/sources.yml") || !contains(files, "generated/sql/postgres.sql") ||
		!contains(files, "generated/catalog/index.html") || !contains(files, "generated/sdk/python/") || !contains(files, "generated/sdk/ts/") {
		t.Errorf("the remote's main after the publish job: %q\n%s", pushed, files)
	}
	// Again: nothing changed, so nothing is committed.
	head := git(t, root, "--git-dir", remote, "rev-parse", "main")
	outs, failed = merge.job(w, "publish")
	if failed != "" || !contains(outs["Commit what changed"], "the generated code is up to date") || git(t, root, "--git-dir", remote, "rev-parse", "main") != head {
		t.Errorf("a second publish run: failed %q:\n%s", failed, outs["Commit what changed"])
	}
	if !contains(outs["Publish the contracts to the registry"], "published 0, unchanged ") {
		t.Errorf("second publish:\n%s", outs["Publish the contracts to the registry"])
	}
	// Without a registry configured, the publish step says so and passes.
	none := &ciRun{t: t, dir: proj, bin: bin, summary: summary, context: map[string]string{"vars.CONTRACT_REGISTRY_URL": "", "secrets.ACCORD_REGISTRY_KEY": "", "github.ref": "refs/heads/main"}}
	for _, s := range w.Jobs["publish"].Steps {
		if s.Name == "Publish the contracts to the registry" {
			if out, code := none.step(w, s); code != 0 || !contains(out, "::warning::The repository variable CONTRACT_REGISTRY_URL is not set") {
				t.Errorf("publish without a registry: exit %d\n%s", code, out)
			}
		}
	}
}

// TestInitCIInExistingProject: in a project that has accord.yml, init
// --ci github adds the workflow and .gitignore only (no example contracts
// beside the real ones), and a second run overwrites nothing.
func TestInitCIInExistingProject(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "accord.yml"), []byte("contracts:\n  dir: schemas\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runAccord(t, dir, nil, "init", ".", "--ci", "github")
	if code != 0 || out != "wrote .github/workflows/accord.yml\nwrote .gitignore\nFor CI: commit the project; to publish on merge, set the repository variable CONTRACT_REGISTRY_URL and the secret ACCORD_REGISTRY_KEY (docs/workflow.md).\n" {
		t.Fatalf("init --ci github in a project: exit %d\n%s%s", code, out, stderr)
	}
	for _, p := range []string{"contracts", "secrets"} {
		if _, err := os.Stat(filepath.Join(dir, p)); !os.IsNotExist(err) {
			t.Errorf("%s written into an existing project: %v", p, err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, code = runAccord(t, dir, nil, "init", ".", "--ci", "github")
	if got, _ := os.ReadFile(filepath.Join(dir, ".gitignore")); code != 0 || string(got) != "mine\n" || !contains(out, "kept existing .github/workflows/accord.yml") {
		t.Errorf("second run: exit %d, .gitignore %q\n%s", code, got, out)
	}
	if _, stderr, code := runAccord(t, dir, nil, "init", ".", "--ci", "gitlab"); code != 2 || !contains(stderr, `--ci "gitlab": use one of github`) {
		t.Errorf("--ci gitlab: exit %d: %s", code, stderr)
	}
}

// TestCIWorkflowLargeGeneratedDiff: a pull request whose generated code
// changes by far more than the 200 kB the job summary keeps passes the
// preview step, its summary cut at the bound. The runner's bash runs with
// -o pipefail, so a reader that stops early (head) must not take down the
// step through the writer's SIGPIPE.
func TestCIWorkflowLargeGeneratedDiff(t *testing.T) {
	root := t.TempDir()
	proj := filepath.Join(root, "proj")
	if out, stderr, code := runAccord(t, root, nil, "init", "proj", "--ci", "github"); code != 0 {
		t.Fatalf("init --ci github: exit %d: %s%s", code, out, stderr)
	}
	text, err := os.ReadFile(filepath.Join(proj, ".github", "workflows", "accord.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var w ciWorkflow
	if err := yaml.Unmarshal(text, &w); err != nil {
		t.Fatalf("the workflow is not YAML: %v", err)
	}
	git(t, proj, "init", "--quiet", "--initial-branch=main")
	git(t, proj, "add", "-A")
	git(t, proj, "commit", "--quiet", "-m", "project")
	// A contract of 300 documented properties: its SDKs, dbt sources, DDL
	// and catalog pages add megabytes to the generated diff.
	var props []string
	for i := range 300 {
		props = append(props, fmt.Sprintf(`"field_%03d": {"type": "string", "maxLength": 64, "description": "Field %d of the wide order export, %s"}`, i, i, strings.Repeat("described at length for the analysts. ", 6)))
	}
	wide := `{
	"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
	"description": "A wide export row.",
	"self": {"vendor": "com.example", "name": "wide_export", "format": "jsonschema", "version": "1-0-0"},
	"x-accord": {"owner": "data@example.com", "description": "Sent by the export job."},
	"type": "object",
	"properties": {` + strings.Join(props, ",\n") + `},
	"additionalProperties": false
}`
	dir := filepath.Join(proj, "contracts", "com.example", "wide_export", "jsonschema")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "1-0-0"), []byte(wide), 0o644); err != nil {
		t.Fatal(err)
	}
	summary := filepath.Join(root, "summary.md")
	pr := &ciRun{t: t, dir: proj, bin: filepath.Dir(accordBin), summary: summary, context: map[string]string{}}
	for _, s := range w.Jobs["review"].Steps {
		if s.Name != "Show what changes in the generated code" {
			continue
		}
		out, code := pr.step(w, s)
		if code != 0 {
			t.Fatalf("the generated changes step failed (exit %d) on a large diff:\n%.3000s", code, out)
		}
		if n := len(git(t, proj, "diff", "--", "generated")); n < 1<<20 {
			t.Fatalf("the generated diff is %d bytes; the test needs a larger one", n)
		}
		sum, err := os.ReadFile(summary)
		if err != nil {
			t.Fatal(err)
		}
		if len(sum) > 300_000 || !contains(string(sum), "```diff\n") || !contains(string(sum), "wide_export") {
			t.Errorf("the job summary is %d bytes (the diff is cut at 200 kB):\n%.2000s", len(sum), sum)
		}
		return
	}
	t.Fatal("no step named Show what changes in the generated code")
}

// ciCommands returns the workflow commands GitHub's runner acts on in a
// step's output: the lines that start with ::, but for those between
// ::stop-commands::TOKEN and ::TOKEN::.
func ciCommands(out string) []string {
	var cmds []string
	stop := ""
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if stop != "" {
			if line == "::"+stop+"::" {
				stop = ""
			}
			continue
		}
		if !strings.HasPrefix(line, "::") {
			continue
		}
		cmds = append(cmds, line)
		if token, ok := strings.CutPrefix(line, "::stop-commands::"); ok {
			stop = token
		}
	}
	return cmds
}

var ciFenceRE = regexp.MustCompile("^(`{3,})[a-z]*$")

// markdownOutsideFences returns the lines of a Markdown document that are
// not inside a fenced code block: an opening fence of n backticks is closed
// only by a line of n or more backticks (CommonMark).
func markdownOutsideFences(doc string) string {
	var outside strings.Builder
	open := 0
	for _, line := range strings.Split(doc, "\n") {
		if open > 0 {
			if t := strings.TrimSpace(line); len(t) >= open && strings.Trim(t, "`") == "" {
				open = 0
			}
			continue
		}
		if m := ciFenceRE.FindStringSubmatch(line); m != nil {
			open = len(m[1])
			continue
		}
		outside.WriteString(line + "\n")
	}
	return outside.String()
}

// stoppedAround reports whether the line holding marker is between a
// ::stop-commands::TOKEN line and the ::TOKEN:: line that resumes the
// runner's commands.
func stoppedAround(out, marker string) bool {
	token := ""
	for _, line := range strings.Split(out, "\n") {
		switch {
		case token == "":
			if t, ok := strings.CutPrefix(line, "::stop-commands::"); ok {
				token = t
			}
		case line == "::"+token+"::":
			token = ""
		case strings.Contains(line, marker):
			return true
		}
	}
	return false
}

// TestCIWorkflowHostileContractText: a pull request's contract whose
// property name and description hold workflow commands (::warning::) and
// runs of backticks is shown in the log with the runner's commands stopped
// around it, and in the job summary inside fences it cannot close.
func TestCIWorkflowHostileContractText(t *testing.T) {
	root := t.TempDir()
	proj := filepath.Join(root, "proj")
	if out, stderr, code := runAccord(t, root, nil, "init", "proj", "--ci", "github"); code != 0 {
		t.Fatalf("init --ci github: exit %d: %s%s", code, out, stderr)
	}
	text, err := os.ReadFile(filepath.Join(proj, ".github", "workflows", "accord.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var w ciWorkflow
	if err := yaml.Unmarshal(text, &w); err != nil {
		t.Fatalf("the workflow is not YAML: %v", err)
	}
	git(t, proj, "init", "--quiet", "--initial-branch=main")
	git(t, proj, "add", "-A")
	git(t, proj, "commit", "--quiet", "-m", "project")
	base := git(t, proj, "rev-parse", "HEAD")
	dir := "contracts/com.example/checkout_completed/jsonschema/"
	v100, err := os.ReadFile(filepath.Join(proj, dir, "1-0-0"))
	if err != nil {
		t.Fatal(err)
	}
	v101 := strings.Replace(string(v100), `"version": "1-0-0"`, `"version": "1-0-1"`, 1)
	v101 = strings.Replace(v101, `"coupon": {`, `"note\n::warning::pwned-by-name\n`+"```"+`\n# pwned-heading": {"type": "string", "maxLength": 10, "description": "A note.\n::error::pwned-by-description\n`+"````"+`\n# pwned-heading"},
		"coupon": {`, 1)
	if !contains(v101, "pwned-by-name") {
		t.Fatal("could not edit the example contract")
	}
	if err := os.WriteFile(filepath.Join(proj, dir, "1-0-1"), []byte(v101), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, proj, "add", "-A")
	git(t, proj, "commit", "--quiet", "-m", "hostile")

	summary := filepath.Join(root, "summary.md")
	pr := &ciRun{t: t, dir: proj, bin: filepath.Dir(accordBin), summary: summary, context: map[string]string{"github.event.pull_request.base.sha": base}}
	ran := 0
	for _, s := range w.Jobs["review"].Steps {
		if s.Name != "Show what changed in the contracts" && s.Name != "Show what changes in the generated code" {
			continue
		}
		ran++
		out, code := pr.step(w, s)
		if code != 0 {
			t.Fatalf("step %q failed (exit %d):\n%.3000s", s.Name, code, out)
		}
		if s.Name == "Show what changed in the contracts" {
			// accord contract diff quotes a name that holds a newline
			// ("note\n::warning::..."), so the runner finds no command
			// in it; the workflow's ::stop-commands:: around the diff is
			// the second defence, for whatever a later change prints
			// raw, and must still be around it.
			if !contains(out, `"note\n::warning::pwned-by-name\n`) || contains(out, "\n::warning::pwned-by-name") {
				t.Fatalf("the contract diff does not quote the hostile name:\n%s", out)
			}
			if !stoppedAround(out, "property_added_optional") {
				t.Fatalf("the contract diff is not inside ::stop-commands::TOKEN ... ::TOKEN:::\n%s", out)
			}
		}
		for _, cmd := range ciCommands(out) {
			token, stop := strings.CutPrefix(cmd, "::stop-commands::")
			if !(cmd == "::endgroup::" || strings.HasPrefix(cmd, "::group::") && !contains(cmd, "pwned") || stop && regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(token)) {
				t.Errorf("step %q: the runner would act on %q:\n%.3000s", s.Name, cmd, out)
			}
		}
	}
	if ran != 2 {
		t.Fatalf("ran %d of the 2 preview steps", ran)
	}
	sum, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"pwned-by-name", "pwned-by-description"} {
		if !contains(string(sum), want) {
			t.Errorf("the job summary does not show %q:\n%.3000s", want, sum)
		}
	}
	if outside := markdownOutsideFences(string(sum)); contains(outside, "pwned") {
		t.Errorf("the contract's text escapes the summary's fences:\n%s", outside)
	}
}
