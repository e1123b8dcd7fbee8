package sdk

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// scenarioServer is a collector stand-in: it answers each POST /events with
// the status answer gives the n-th request (1-based), records the requests'
// sizes and times, counts them on GET /calls, and holds them, when hold is
// set, until GET /release.
type scenarioServer struct {
	mu      sync.Mutex
	batches []int
	times   []time.Time
	release chan struct{}
	once    sync.Once
}

func newScenarioServer(t *testing.T, hold bool, answer func(n int) (int, string)) (*httptest.Server, *scenarioServer) {
	s := &scenarioServer{release: make(chan struct{})}
	if !hold {
		s.once.Do(func() { close(s.release) })
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/calls":
			s.mu.Lock()
			n := len(s.batches)
			s.mu.Unlock()
			io.WriteString(w, strconv.Itoa(n))
			return
		case "/release":
			s.once.Do(func() { close(s.release) })
			return
		}
		var events []json.RawMessage
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/events" || json.Unmarshal(body, &events) != nil || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("bad request %s %s", r.URL.Path, body)
		}
		s.mu.Lock()
		s.batches = append(s.batches, len(events))
		s.times = append(s.times, time.Now())
		n := len(s.batches)
		s.mu.Unlock()
		<-s.release
		status, retryAfter := answer(n)
		if status == badAnswer {
			// Not HTTP: what a broken proxy may say.
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				io.WriteString(conn, "garbage\r\n\r\n")
				conn.Close()
			}
			return
		}
		if status == nullAnswer {
			w.WriteHeader(200)
			io.WriteString(w, "null")
			io.WriteString(w, strings.Repeat(" ", 2<<20))
			return
		}
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(status)
		if status == 200 {
			json.NewEncoder(w).Encode(map[string]int{"received": len(events), "good": len(events), "failed": 0})
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { s.once.Do(func() { close(s.release) }) })
	return srv, s
}

// badAnswer, as a status, answers a line that is not HTTP and hangs up.
const badAnswer = -1

// nullAnswer, as a status, answers 200 with the JSON body null and then
// 2 MiB of spaces: what a broken proxy may say after the collector stored
// the batch.
const nullAnswer = -2

type scenarioResult struct {
	Stats  map[string]int `json:"stats"`
	Errors []string       `json:"errors"`
}

// clientScenarios are what TestClientsBehaviour runs against each
// language's generated client: the same behaviour the Go client's own tests
// (testdata/clienttest/client_test.go.txt) and docs/sdk.md describe.
var clientScenarios = []struct {
	name   string
	hold   bool
	answer func(n int) (int, string)
	check  func(t *testing.T, s *scenarioServer, r scenarioResult)
}{
	{"batches", false, func(int) (int, string) { return 200, "" }, func(t *testing.T, s *scenarioServer, r scenarioResult) {
		if len(s.batches) != 3 || s.batches[0] != 10 || s.batches[1] != 10 || s.batches[2] != 5 || r.Stats["sent"] != 25 {
			t.Errorf("batches %v, stats %v: want [10 10 5] and 25 sent", s.batches, r.Stats)
		}
	}},
	{"retries", false, func(n int) (int, string) {
		if n <= 2 {
			return 503, ""
		}
		return 200, ""
	}, func(t *testing.T, s *scenarioServer, r scenarioResult) {
		if len(s.times) != 3 || r.Stats["sent"] != 1 {
			t.Fatalf("%d requests, stats %v: want two 503s then a 200, 1 sent", len(s.times), r.Stats)
		}
		if d := s.times[1].Sub(s.times[0]); d < 50*time.Millisecond {
			t.Errorf("first retry after %s, want at least 50ms (half of 100ms)", d)
		}
		if d := s.times[2].Sub(s.times[1]); d < 100*time.Millisecond {
			t.Errorf("second retry after %s, want at least 100ms (half of 200ms)", d)
		}
	}},
	{"retryafter", false, func(n int) (int, string) {
		if n == 1 {
			return 429, "1"
		}
		return 200, ""
	}, func(t *testing.T, s *scenarioServer, r scenarioResult) {
		if len(s.times) != 2 || s.times[1].Sub(s.times[0]) < time.Second {
			t.Errorf("requests at %v: want a retry at least 1 s (Retry-After) after the 429", s.times)
		}
	}},
	// A Retry-After too large for any clock, and an answer that is not
	// HTTP, are retried like any 503 or network error: they must not end
	// the client's sender.
	{"hugeretryafter", false, func(n int) (int, string) {
		if n == 1 {
			return 503, strings.Repeat("9", 400)
		}
		return 200, ""
	}, func(t *testing.T, s *scenarioServer, r scenarioResult) {
		if len(s.batches) != 2 || r.Stats["sent"] != 1 {
			t.Errorf("%d requests, stats %v: want a retry after the 503 and 1 sent", len(s.batches), r.Stats)
		}
	}},
	{"notHTTP", false, func(n int) (int, string) {
		if n == 1 {
			return badAnswer, ""
		}
		return 200, ""
	}, func(t *testing.T, s *scenarioServer, r scenarioResult) {
		if len(s.batches) != 2 || r.Stats["sent"] != 1 {
			t.Errorf("%d requests, stats %v: want a retry after the answer that is not HTTP and 1 sent", len(s.batches), r.Stats)
		}
	}},
	// A 200 whose body is not the collector's answer: the batch was
	// stored, so it is not sent again (and the count is unknown: 0).
	{"nullanswer", false, func(int) (int, string) { return nullAnswer, "" }, func(t *testing.T, s *scenarioServer, r scenarioResult) {
		if len(s.batches) != 1 || r.Stats["failed"] != 0 {
			t.Errorf("%d requests, stats %v: want one request, not retried, nothing failed", len(s.batches), r.Stats)
		}
	}},
	// A collector that takes the request and never answers: each attempt
	// ends at the client's request timeout, and the batch is given up.
	{"noanswer", true, func(int) (int, string) { return 200, "" }, func(t *testing.T, s *scenarioServer, r scenarioResult) {
		if len(s.batches) != 2 || r.Stats["failed"] != 1 || r.Stats["sent"] != 0 {
			t.Errorf("%d requests, stats %v: want 2 (a send and 1 retry), each timed out, and 1 failed", len(s.batches), r.Stats)
		}
	}},
	{"giveup", false, func(int) (int, string) { return 500, "" }, func(t *testing.T, s *scenarioServer, r scenarioResult) {
		if len(s.batches) != 3 || r.Stats["failed"] != 2 || r.Stats["sent"] != 0 {
			t.Errorf("%d requests, stats %v: want 3 (a send and 2 retries) and 2 failed", len(s.batches), r.Stats)
		}
	}},
	{"clienterror", false, func(int) (int, string) { return 400, "" }, func(t *testing.T, s *scenarioServer, r scenarioResult) {
		if len(s.batches) != 1 || r.Stats["failed"] != 1 {
			t.Errorf("%d requests, stats %v: want one request, not retried, 1 failed", len(s.batches), r.Stats)
		}
	}},
	{"queuefull", true, func(int) (int, string) { return 200, "" }, func(t *testing.T, s *scenarioServer, r scenarioResult) {
		if r.Stats["dropped"] != 7 || r.Stats["sent"] != 4 || len(r.Errors) != 7 {
			t.Errorf("stats %v, errors %v: want 7 of 10 dropped with a queue of 3 (one in flight), 4 sent", r.Stats, r.Errors)
		}
	}},
	{"invalid", false, func(int) (int, string) { return 200, "" }, func(t *testing.T, s *scenarioServer, r scenarioResult) {
		if len(s.batches) != 0 || r.Stats["invalid"] != 1 || len(r.Errors) != 1 || r.Errors[0] != "ValidationError" {
			t.Errorf("%d requests, stats %v, errors %v: want the invalid event refused and nothing sent", len(s.batches), r.Stats, r.Errors)
		}
	}},
}

// TestClientsBehaviour runs clientScenarios against the generated
// TypeScript and Python clients.
func TestClientsBehaviour(t *testing.T) {
	cs := testContracts(t)
	type runner struct {
		lang string
		run  func(t *testing.T, scenario, url string) []byte
	}
	var runners []runner
	{
		node, modules := needNode(t)
		files, err := Generate(cs, Options{Lang: "ts"})
		if err != nil {
			t.Fatal(err)
		}
		dir := tsProject(t, node, modules, files)
		copyFile(t, "testdata/clienttest/scenarios.mjs", filepath.Join(dir, "scenarios.mjs"))
		runners = append(runners, runner{"ts", func(t *testing.T, scenario, url string) []byte {
			cmd := exec.Command(node, "scenarios.mjs")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "SCENARIO="+scenario, "URL="+url)
			return output(t, cmd)
		}})
	}
	{
		py := needMypy(t)
		files, err := Generate(cs, Options{Lang: "python"})
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := Write(filepath.Join(dir, "tracking"), files); err != nil {
			t.Fatal(err)
		}
		copyFile(t, "testdata/clienttest/scenarios.py", filepath.Join(dir, "scenarios.py"))
		runners = append(runners, runner{"python", func(t *testing.T, scenario, url string) []byte {
			cmd := exec.Command(py, "scenarios.py")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "SCENARIO="+scenario, "URL="+url, "PYTHONDONTWRITEBYTECODE=1")
			return output(t, cmd)
		}})
	}
	for _, r := range runners {
		for _, sc := range clientScenarios {
			t.Run(r.lang+"/"+sc.name, func(t *testing.T) {
				srv, s := newScenarioServer(t, sc.hold, sc.answer)
				var res scenarioResult
				out := r.run(t, sc.name, srv.URL)
				if err := json.Unmarshal(out, &res); err != nil {
					t.Fatalf("no summary: %v\n%s", err, out)
				}
				s.mu.Lock()
				defer s.mu.Unlock()
				sc.check(t, s, res)
			})
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func output(t *testing.T, cmd *exec.Cmd) []byte {
	t.Helper()
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("%v: %v\n%s%s", cmd.Args, err, out, stderr)
	}
	return out
}
