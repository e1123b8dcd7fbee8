// Package testenv holds what the tests share about the machine they run
// on. It is imported by tests only.
package testenv

import (
	"os"
	"testing"
)

// Missing stops a test that needs something this machine lacks: a service
// (PostgreSQL, Redis, ...), a program (node, chromium, python3 with mypy)
// or a kernel feature (io_uring). Under CI=true it fails, because the test
// script installs and starts everything the suite needs, so a missing one
// means a broken CI machine and must never pass as a skip; elsewhere it
// skips, so that a contributor without, say, MariaDB runs the rest. The
// message says what is missing and how to get it.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" { // as .ci/run runs the tests
		t.Fatalf("CI=true, and the test script installs and starts what the suite needs, yet: "+format, args...)
	}
	t.Skipf(format, args...)
}
