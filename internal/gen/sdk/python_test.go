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

// needMypy returns a Python interpreter that has mypy (Debian's
// python3-mypy installs it for /usr/bin/python3), or skips the test (a
// failure with CI=true; scripts/test installs it).
func needMypy(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		if err := exec.Command(py, "-m", "mypy", "--version").Run(); err == nil {
			return py
		}
	}
	testenv.Missing(t, "no python3 with mypy: apt-get install python3-mypy")
	return ""
}

func pyRun(t *testing.T, dir, py string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MYPY_CACHE_DIR="+filepath.Join(dir, ".mypy_cache"), "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", py, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestPythonCompilesAndTypeChecks checks the generated package, from the
// test contracts and from hostile names, with py_compile and mypy --strict.
func TestPythonCompilesAndTypeChecks(t *testing.T) {
	py := needMypy(t)
	for name, cs := range map[string]func(testing.TB) []*contract.Contract{"examples": testContracts, "hostile": hostileContracts, "snowplow": snowplowContracts} {
		t.Run(name, func(t *testing.T) {
			files, err := Generate(cs(t), Options{Lang: "python"})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := Write(filepath.Join(dir, "tracking"), files); err != nil {
				t.Fatal(err)
			}
			args := []string{"-m", "py_compile"}
			for _, f := range files {
				if strings.HasSuffix(f.Path, ".py") {
					args = append(args, filepath.Join("tracking", f.Path))
				}
			}
			pyRun(t, dir, py, args...)
			pyRun(t, dir, py, "-m", "mypy", "--strict", "tracking")
			pyRun(t, dir, py, "-c", "import tracking")
		})
	}
}

// TestPythonMessagesMatchTheCollector runs the generated Python validators
// over parityCases and wants the collector's messages.
func TestPythonMessagesMatchTheCollector(t *testing.T) {
	py := needMypy(t)
	cs := testContracts(t)
	files, err := Generate(cs, Options{Lang: "python"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := Write(filepath.Join(dir, "tracking"), files); err != nil {
		t.Fatal(err)
	}
	var script strings.Builder
	script.WriteString("import json\nimport tracking\nout = []\n")
	for _, tc := range parityCases {
		fmt.Fprintf(&script, "out.append([m.to_dict() for m in tracking.validate_%s(json.loads(%s))])\n", tc.rule, pyString(tc.data))
	}
	script.WriteString("print(json.dumps(out))\n")
	if err := os.WriteFile(filepath.Join(dir, "parity.py"), []byte(script.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "parity.py")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python parity.py: %v", err)
	}
	checkParity(t, cs, out)
}
