package scaffold

import (
	_ "embed"
	"fmt"
	"regexp"
	"strings"
)

// githubWorkflow is the GitHub Actions workflow of the contract-powered
// workflow (docs/workflow.md); {{ACCORD_VERSION}} is the release it
// installs.
//
//go:embed ci/github.yml
var githubWorkflow string

// CIKinds are the CI systems CI writes a workflow for.
var CIKinds = []string{"github"}

// WorkflowPath is where the GitHub workflow goes in a project.
const WorkflowPath = ".github/workflows/accord.yml"

// gitignore keeps what accord init writes that must never be committed
// (the privacy secrets) and the default data directory out of the
// repository CI works on.
const gitignore = "# Written by accord init: never commit these.\nsecrets/\naccord-data/\n"

// release is a version go install can fetch: v1.2.3, v1.2.3-rc.1.
var release = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$`)

// Workflow returns the GitHub workflow installing accord at version (a
// release such as v1.2.3; any other, a development build, installs latest).
func Workflow(version string) string {
	if !release.MatchString(version) {
		version = "latest"
	}
	return strings.ReplaceAll(githubWorkflow, "{{ACCORD_VERSION}}", version)
}

// CI writes the CI workflow of kind (one of CIKinds) into the project at
// dir, and a .gitignore keeping the privacy secrets out of the repository.
// Files that exist are left alone and reported as skipped.
func CI(dir, kind, version string) (Result, error) {
	if kind != "github" {
		return Result{}, fmt.Errorf("--ci %q: use one of %s", kind, strings.Join(CIKinds, ", "))
	}
	var res Result
	for _, f := range []struct{ rel, data string }{{WorkflowPath, Workflow(version)}, {".gitignore", gitignore}} {
		if err := writeNew(dir, f.rel, []byte(f.data), 0o644, &res); err != nil {
			return res, fmt.Errorf("write %s: %w", f.rel, err)
		}
	}
	return res, nil
}
