package sdk

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/testenv"
)

// nodeModules is where e2e/node's packages are installed: typescript, the
// Snowplow trackers and Segment's analytics-node, pinned in its
// package-lock.json.
const nodeModules = "../../../e2e/node/node_modules"

// tsconfig is how the generated TypeScript is checked: strict, ES modules,
// with the DOM library for fetch and URL.
const tsconfig = `{
  "compilerOptions": {
    "strict": true,
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "lib": ["ES2022", "DOM"],
    "outDir": "dist",
    "skipLibCheck": true,
    "noEmitOnError": true
  },
  "include": ["src/**/*.ts"]
}
`

// needNode returns node and the absolute path of e2e/node/node_modules, or
// skips the test when they are missing (a failure with CI=true).
func needNode(t *testing.T) (node, modules string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		modules, err = filepath.Abs(nodeModules)
	}
	if err == nil {
		_, err = os.Stat(filepath.Join(modules, "typescript", "bin", "tsc"))
	}
	if err != nil {
		testenv.Missing(t, "node or e2e/node's packages are missing: %v (run npm ci --prefix e2e/node)", err)
	}
	return node, modules
}

// tsProject writes files as a TypeScript project (src/, tsconfig.json, a
// package.json of type module, node_modules linked to e2e/node's) and
// compiles it with tsc --strict into dist/.
func tsProject(t *testing.T, node, modules string, files Files) string {
	t.Helper()
	dir := t.TempDir()
	if err := Write(filepath.Join(dir, "src"), files); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"tsconfig.json": tsconfig, "package.json": `{"type": "module", "private": true}` + "\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(modules, filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(modules, "typescript", "bin", "tsc"), "-p", ".")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tsc --strict: %v\n%s", err, out)
	}
	return dir
}

// TestTypeScriptCompilesStrict checks the library and both wrappers, from
// the test contracts and from hostile names, with tsc --strict.
func TestTypeScriptCompilesStrict(t *testing.T) {
	node, modules := needNode(t)
	for _, o := range []Options{{Lang: "ts"}, {Target: "snowplow"}, {Target: "segment"}} {
		for name, cs := range map[string]func(testing.TB) []*contract.Contract{"examples": testContracts, "hostile": hostileContracts, "snowplow": snowplowContracts} {
			t.Run(optionsName(o)+"/"+name, func(t *testing.T) {
				files, err := Generate(cs(t), o)
				if err != nil {
					t.Fatal(err)
				}
				tsProject(t, node, modules, files)
			})
		}
	}
}

// TestTypeScriptMessagesMatchTheCollector runs the generated TypeScript
// validators (compiled by tsc, run by node) over parityCases and wants the
// collector's messages.
func TestTypeScriptMessagesMatchTheCollector(t *testing.T) {
	node, modules := needNode(t)
	cs := testContracts(t)
	files, err := Generate(cs, Options{Lang: "ts"})
	if err != nil {
		t.Fatal(err)
	}
	dir := tsProject(t, node, modules, files)
	var script strings.Builder
	script.WriteString("import * as lib from \"./dist/index.js\";\nconst out = [];\n")
	for _, tc := range parityCases {
		fmt.Fprintf(&script, "out.push(lib.validate%s(JSON.parse(%s)));\n", tc.rule, jsString(tc.data))
	}
	script.WriteString("process.stdout.write(JSON.stringify(out));\n")
	if err := os.WriteFile(filepath.Join(dir, "parity.mjs"), []byte(script.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "parity.mjs")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node parity.mjs: %v", err)
	}
	checkParity(t, cs, out)
}
