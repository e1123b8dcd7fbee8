// Package e2e tests Accord the way its users meet it: it builds the real
// accord binary, starts it on a free port in a fresh project directory, talks
// to it over HTTP with real clients, stops it with SIGTERM and reads what
// landed in the real store.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/delivery"
)

// accordBin is the binary under test, built once by TestMain.
var accordBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "accord-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	accordBin = filepath.Join(dir, "accord")
	build := exec.Command("go", "build", "-o", accordBin, "../cmd/accord")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build accord:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runAccord runs an accord command to completion in dir.
func runAccord(t *testing.T, dir string, stdin io.Reader, args ...string) (stdout, stderr string, exitCode int) {
	t.Helper()
	return runAccordEnv(t, dir, nil, stdin, args...)
}

// runAccordEnv runs an accord command to completion in dir with extra
// environment variables.
func runAccordEnv(t *testing.T, dir string, env []string, stdin io.Reader, args ...string) (stdout, stderr string, exitCode int) {
	t.Helper()
	cmd := exec.Command(accordBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run accord %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// newProject runs accord init in a fresh directory and returns it.
func newProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if _, stderr, code := runAccord(t, dir, nil, "init", "."); code != 0 {
		t.Fatalf("accord init: exit %d: %s", code, stderr)
	}
	return dir
}

// collector is a running accord serve.
type collector struct {
	t    *testing.T
	dir  string
	cmd  *exec.Cmd
	URL  string
	logs *syncBuffer
	done chan error
}

// syncBuffer holds the collector's output while it runs.
type syncBuffer = check.Buffer

var listeningRE = regexp.MustCompile(`msg="collector listening" addr=(\S+)`)

// startCollector starts accord serve in dir on a free loopback port, with
// extra environment, and waits until it is ready.
func startCollector(t *testing.T, dir string, env ...string) *collector {
	t.Helper()
	return startCollectorFlags(t, dir, nil, env...)
}

// startCollectorFlags starts accord serve like startCollector, with extra
// command-line flags.
func startCollectorFlags(t *testing.T, dir string, flags []string, env ...string) *collector {
	t.Helper()
	c := startCollectorUnreadyFlags(t, dir, flags, env...)
	// Ready at once with the local spool; with a shared log once the
	// brokers have answered.
	eventually(t, 20*time.Second, "accord serve answers /readyz with 200", func() bool {
		resp, err := http.Get(c.URL + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return c
}

// startCollectorUnready starts accord serve like startCollector and
// returns once it listens, ready or not (its brokers away, say).
func startCollectorUnready(t *testing.T, dir string, env ...string) *collector {
	t.Helper()
	return startCollectorUnreadyFlags(t, dir, nil, env...)
}

// startCollectorUnreadyFlags starts accord serve like
// startCollectorUnready, with extra command-line flags.
func startCollectorUnreadyFlags(t *testing.T, dir string, flags []string, env ...string) *collector {
	t.Helper()
	cmd := exec.Command(accordBin, append([]string{"serve", "--addr", "127.0.0.1:0"}, flags...)...)
	cmd.Dir = dir
	// No lame-duck period unless a test asks for one (a later value of a
	// variable wins): it would add server.lame_duck to every stop.
	cmd.Env = append(append(os.Environ(), "ACCORD_SERVER_LAME_DUCK=0"), env...)
	logs := &syncBuffer{}
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	cmd.Stdout = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &collector{t: t, dir: dir, cmd: cmd, logs: logs, done: make(chan error, 1)}
	addr := make(chan string, 1)
	// scanned is closed once every line of the log is in logs, so that a
	// test reading them after the exit sees the last ones.
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			logs.Write([]byte(line + "\n"))
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				addr <- m[1]
			}
		}
	}()
	go func() {
		err := cmd.Wait()
		pw.Close()
		<-scanned
		c.done <- err
	}()
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	})
	select {
	case a := <-addr:
		c.URL = "http://" + a
	case err := <-c.done:
		t.Fatalf("accord serve exited before listening: %v\n%s", err, logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("accord serve did not start listening in 30s\n%s", logs)
	}
	return c
}

// stop sends SIGTERM and waits for a clean exit.
func (c *collector) stop() {
	c.t.Helper()
	c.stopWith(0)
}

// stopWith sends SIGTERM and waits for the process to exit with code.
func (c *collector) stopWith(code int) {
	c.t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		c.t.Fatal(err)
	}
	select {
	case <-c.done:
		if got := c.cmd.ProcessState.ExitCode(); got != code {
			c.t.Fatalf("accord serve exited with %v after SIGTERM; want exit status %d\n%s", c.cmd.ProcessState, code, c.logs)
		}
	case <-time.After(30 * time.Second):
		c.t.Fatalf("accord serve did not stop within 30s of SIGTERM\n%s", c.logs)
	}
}

// post sends body to path and returns the status, headers and body.
func (c *collector) post(path, contentType string, body []byte, headers ...string) (int, http.Header, []byte) {
	c.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, c.URL+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// openStore opens the project's SQLite store read-only.
func openStore(t *testing.T, dir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "accord-data", "accord.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// readNDJSON returns the lines of an NDJSON file.
func readNDJSON(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	for _, l := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			lines = append(lines, l)
		}
	}
	return lines
}

func contains(haystack, needle string) bool { return strings.Contains(haystack, needle) }

// eventually polls until cond holds: delivery to sinks is asynchronous (from
// the spool), so a test that reads a sink waits for it this way.
var eventually = check.Eventually

// stats fetches GET /stats.
func (c *collector) stats() delivery.Stats {
	c.t.Helper()
	resp, err := http.Get(c.URL + "/stats")
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var st delivery.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		c.t.Fatalf("decode /stats: %v", err)
	}
	return st
}

// sinkStats returns the named sink's entry in st.
func sinkStats(t *testing.T, st delivery.Stats, name string) delivery.SinkStats {
	t.Helper()
	for _, s := range st.Sinks {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no sink %s in /stats: %+v", name, st.Sinks)
	return delivery.SinkStats{}
}

// writeContract writes a contract into the project at dir, at its key's
// place in the Iglu layout (key: iglu:vendor/name/jsonschema/M-R-A).
func writeContract(t *testing.T, dir, key, doc string) {
	t.Helper()
	path := filepath.Join(dir, "contracts", filepath.FromSlash(strings.TrimPrefix(key, "iglu:")))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
}

// protocolCounts returns GET /stats "protocols": what the protocols
// refused or dropped, by reason.
func (c *collector) protocolCounts() map[string]uint64 {
	c.t.Helper()
	resp, err := http.Get(c.URL + "/stats")
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Protocols map[string]uint64 `json:"protocols"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		c.t.Fatalf("decode /stats: %v", err)
	}
	return st.Protocols
}

// httpDo sends one request with the given headers (name, value, ...) and
// returns the answer's status, headers and body.
func httpDo(t *testing.T, method, url string, body []byte, headers ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}
