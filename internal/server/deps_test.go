package server_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies holds the layering: the HTTP layer knows protocols and the
// pipeline, never where records go (sinks, delivery, the spool), nor the
// configuration file, nor a database driver.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	forbidden := []string{
		"github.com/accord-events/accord/internal/sink",
		"github.com/accord-events/accord/internal/delivery",
		"github.com/accord-events/accord/internal/spool",
		"github.com/accord-events/accord/internal/config",
		"github.com/jackc/pgx",
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if pkg == f || strings.HasPrefix(pkg, f+"/") {
				t.Errorf("internal/server depends on %s", pkg)
			}
		}
	}
}
