package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMissing runs a test that calls Missing in a child process, with and
// without CI=true: a failure under CI, a skip elsewhere, both with the
// message.
func TestMissing(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") == "1" {
		Missing(t, "Redis at %s is unreachable", "127.0.0.1:6379")
		t.Fatal("Missing returned")
	}
	for _, ci := range []string{"true", ""} {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestMissing$", "-test.v")
		cmd.Env = append(os.Environ(), "TESTENV_CHILD=1", "CI="+ci)
		out, err := cmd.CombinedOutput()
		text := string(out)
		if !strings.Contains(text, "Redis at 127.0.0.1:6379 is unreachable") {
			t.Fatalf("CI=%q: the message is not in the output:\n%s", ci, text)
		}
		switch ci {
		case "true":
			if err == nil || !strings.Contains(text, "--- FAIL: TestMissing") {
				t.Fatalf("CI=true: want a failure, got %v:\n%s", err, text)
			}
		default:
			if err != nil || !strings.Contains(text, "--- SKIP: TestMissing") {
				t.Fatalf("CI unset: want a skip, got %v:\n%s", err, text)
			}
		}
	}
}
