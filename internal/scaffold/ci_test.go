package scaffold

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// ecmaRegexp compiles the schema's ECMAScript patterns with Go's regexp,
// failing on any Go cannot read (none today).
func ecmaRegexp(pattern string) (jsonschema.Regexp, error) { return regexp.Compile(pattern) }

// TestWorkflowValidAgainstSchemaStore: the workflow parses as YAML and is
// valid against SchemaStore's schema for GitHub workflows
// (testdata/schemastore/README.md names its source); the schema refuses a
// misspelt key, so it would catch one of ours.
func TestWorkflowValidAgainstSchemaStore(t *testing.T) {
	f, err := os.Open("testdata/schemastore/github-workflow.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.UseRegexpEngine(ecmaRegexp)
	const url = "https://json.schemastore.org/github-workflow.json"
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile(url)
	if err != nil {
		t.Fatal(err)
	}
	asJSON := func(text string) any {
		var v any
		if err := yaml.Unmarshal([]byte(text), &v); err != nil {
			t.Fatalf("the workflow is not YAML: %v", err)
		}
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, v := range []string{"v1.2.3", "dev"} {
		if err := schema.Validate(asJSON(Workflow(v))); err != nil {
			t.Errorf("workflow for %s: %v", v, err)
		}
	}
	bad := strings.Replace(Workflow("dev"), "runs-on: ubuntu-latest", "runs_on: ubuntu-latest", 1)
	if err := schema.Validate(asJSON(bad)); err == nil {
		t.Error("SchemaStore's schema accepted runs_on")
	}
}

// workflow is the part of a workflow the tests read.
type workflow struct {
	Env  map[string]string
	Jobs map[string]struct {
		If    string
		Steps []struct {
			Name, Uses, Run string
			Env             map[string]string
		}
	}
}

func TestWorkflowShape(t *testing.T) {
	var w workflow
	if err := yaml.Unmarshal([]byte(Workflow("v1.2.3")), &w); err != nil {
		t.Fatal(err)
	}
	for k := range w.Env {
		if strings.HasPrefix(k, "ACCORD_") {
			t.Errorf("the workflow sets %s for every step", k)
		}
	}
	if w.Env["INSTALL_VERSION"] != "v1.2.3" {
		t.Errorf("INSTALL_VERSION %q", w.Env["INSTALL_VERSION"])
	}
	runs := map[string]string{}
	for name, job := range w.Jobs {
		for _, s := range job.Steps {
			// accord reads ACCORD_* as configuration and refuses one that
			// is no key: only the publish key may be set so.
			for k := range s.Env {
				if strings.HasPrefix(k, "ACCORD_") && k != "ACCORD_REGISTRY_KEY" {
					t.Errorf("job %s, step %q sets %s", name, s.Name, k)
				}
			}
			// An expression in a script is pasted in before the shell
			// reads it: a branch name or title could run as code. Values
			// reach scripts through env only.
			if strings.Contains(s.Run, "${{") {
				t.Errorf("job %s, step %q: an expression inside run:", name, s.Name)
			}
			runs[name] += s.Run
		}
	}
	for job, wants := range map[string][]string{
		"review":  {"accord contract lint", "accord contract check", "accord contract diff", "accord gen sdk --lang go", "accord gen dbt", "accord gen catalog", "accord gen sql"},
		"publish": {"accord contract publish", "accord gen sdk --lang ts", "accord gen sdk --lang python", "accord gen dbt", "accord gen catalog", "git push"},
	} {
		for _, want := range wants {
			if !strings.Contains(runs[job], want) {
				t.Errorf("job %s does not run %s", job, want)
			}
		}
	}
	if w.Jobs["review"].If != "github.event_name == 'pull_request'" || w.Jobs["publish"].If != "github.event_name == 'push'" {
		t.Errorf("jobs' conditions: %q, %q", w.Jobs["review"].If, w.Jobs["publish"].If)
	}
}

func TestWorkflowVersion(t *testing.T) {
	for v, want := range map[string]string{"v1.2.3": "v1.2.3", "v0.9.0-rc.1": "v0.9.0-rc.1", "dev": "latest", "dev-0123abcd-dirty": "latest", "v1\"\nname: x": "latest"} {
		if got := Workflow(v); !strings.Contains(got, `INSTALL_VERSION: "`+want+`"`) {
			t.Errorf("version %q: not installed as %q", v, want)
		}
	}
}

func TestCIWritesOnce(t *testing.T) {
	dir := t.TempDir()
	res, err := CI(dir, "github", "dev")
	if err != nil || len(res.Written) != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	mine := filepath.Join(dir, WorkflowPath)
	if err := os.WriteFile(mine, []byte("edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = CI(dir, "github", "dev")
	if err != nil || len(res.Skipped) != 2 || len(res.Written) != 0 {
		t.Fatalf("second run: %+v %v", res, err)
	}
	if got, _ := os.ReadFile(mine); string(got) != "edited\n" {
		t.Error("an existing workflow was overwritten")
	}
	if _, err := CI(dir, "gitlab", "dev"); err == nil {
		t.Error("--ci gitlab accepted")
	}
}
