package e2e

// Shutdown behind a load balancer (docs/operations.md#shutdown): the
// lame-duck period, and a second signal.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// outcome is what became of one request a client sent through a shutdown.
type outcome struct {
	sent   time.Time
	status int // 0 when the request got no answer
	err    error
	ids    []string
}

// sendThrough sends one-event requests, one after another on fresh
// connections as a client behind a load balancer would, until stop is
// closed or the collector refuses connections for a second.
func sendThrough(url, tag string, stop <-chan struct{}) []outcome {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var out []outcome
	var refusedSince time.Time
	for n := 0; ; n++ {
		select {
		case <-stop:
			return out
		default:
		}
		id := fmt.Sprintf("%s-%d", tag, n)
		body := fmt.Sprintf(`{"schema":"%s","event_id":"%s","data":{"url":"https://shop.example/p/%d"}}`, pageViewKey, id, n)
		o := outcome{sent: time.Now(), ids: []string{id}}
		resp, err := client.Post(url+"/events", "application/json", bytes.NewReader([]byte(body)))
		if err != nil {
			o.err = err
			out = append(out, o)
			if refusedSince.IsZero() {
				refusedSince = time.Now()
			} else if time.Since(refusedSince) > time.Second {
				return out
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		refusedSince = time.Time{}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		o.status = resp.StatusCode
		out = append(out, o)
		time.Sleep(5 * time.Millisecond)
	}
}

// On SIGTERM the collector serves on for server.lame_duck with /readyz
// answering 503: a client that keeps sending meets no refused connection in
// that period, and every event answered 2xx is stored.
func TestLameDuckShutdownServesOnWhileNotReady(t *testing.T) {
	const lameDuck = 2 * time.Second
	dir := newProject(t)
	c := startCollector(t, dir, "ACCORD_SERVER_LAME_DUCK="+lameDuck.String())

	stop := make(chan struct{})
	var wg sync.WaitGroup
	results := make([][]outcome, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = sendThrough(c.URL, fmt.Sprintf("lame%d", i), stop)
		}()
	}
	time.Sleep(300 * time.Millisecond)

	signalled := time.Now()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// /readyz turns 503 at once, and keeps answering (503) while the
	// collector serves on.
	var notReadyAt time.Time
	readyClient := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for time.Since(signalled) < lameDuck/2 {
		resp, err := readyClient.Get(c.URL + "/readyz")
		if err != nil {
			t.Fatalf("/readyz %s after SIGTERM, within the lame-duck period of %s: %v", time.Since(signalled).Round(time.Millisecond), lameDuck, err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable && notReadyAt.IsZero() {
			notReadyAt = time.Now()
		}
		if resp.StatusCode == http.StatusOK && !notReadyAt.IsZero() {
			t.Fatal("/readyz answered 200 again after answering 503 during shutdown")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A client keeping its connection alive is told to dial again.
	resp, err := http.Get(c.URL + "/healthz")
	if err != nil {
		t.Fatalf("/healthz in the lame-duck period: %v", err)
	}
	resp.Body.Close()
	if !resp.Close || resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz in the lame-duck period answered %d, Connection: %q; want 200 and close", resp.StatusCode, resp.Header.Get("Connection"))
	}
	if notReadyAt.IsZero() || notReadyAt.Sub(signalled) > lameDuck/2 {
		t.Fatalf("/readyz did not turn 503 soon after SIGTERM (at %v)", notReadyAt)
	}

	select {
	case err := <-c.done:
		if err != nil {
			t.Fatalf("accord serve exited with %v after SIGTERM\n%s", err, c.logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("accord serve did not stop within 30s of SIGTERM\n%s", c.logs)
	}
	stopped := time.Now()
	if took := stopped.Sub(signalled); took < lameDuck {
		t.Errorf("the collector stopped %s after SIGTERM, before its lame-duck period of %s was over", took, lameDuck)
	}
	close(stop)
	wg.Wait()

	var acked []string
	var answered, during int
	for _, rs := range results {
		for _, o := range rs {
			inLameDuck := o.sent.After(signalled) && o.sent.Before(signalled.Add(lameDuck*3/4))
			if inLameDuck {
				during++
			}
			switch {
			case o.err != nil && inLameDuck:
				t.Errorf("a request sent %s after SIGTERM, within the lame-duck period, failed: %v", o.sent.Sub(signalled).Round(time.Millisecond), o.err)
			case o.status >= 200 && o.status < 300:
				acked = append(acked, o.ids...)
				answered++
			case o.status != 0:
				t.Errorf("a request sent %s after SIGTERM was answered %d", o.sent.Sub(signalled).Round(time.Millisecond), o.status)
			}
		}
	}
	if during < 10 {
		t.Fatalf("only %d requests were sent during the lame-duck period; the test proves nothing", during)
	}
	if missing := missingFrom(acked, storedIDs(t, dir)); len(missing) > 0 {
		t.Errorf("%d of %d events answered 2xx are not in SQLite: %v", len(missing), len(acked), missing)
	}
	var refusedAfter bool
	for _, rs := range results {
		if n := len(rs); n > 0 && rs[n-1].err != nil && errors.Is(rs[n-1].err, syscall.ECONNREFUSED) {
			refusedAfter = true
		}
	}
	if !refusedAfter {
		t.Errorf("the clients were never refused after the collector stopped; did it stop listening?")
	}
	t.Logf("%d requests answered 2xx (%d sent in the lame-duck period), /readyz 503 %s after SIGTERM, stopped after %s",
		answered, during, notReadyAt.Sub(signalled).Round(time.Millisecond), stopped.Sub(signalled).Round(time.Millisecond))
}

// A second SIGTERM or SIGINT ends the process at once, lame-duck period or
// not: an operator who means it is not kept waiting.
func TestSecondSignalStopsAtOnce(t *testing.T) {
	dir := newProject(t)
	c := startCollector(t, dir, "ACCORD_SERVER_LAME_DUCK=1m")
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the collector has begun its lame-duck period", func() bool {
		return contains(c.logs.String(), "msg=\"lame duck")
	})
	if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("a second signal did not end accord serve\n%s", c.logs)
	}
	if ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGINT {
		t.Errorf("after a second signal, SIGINT, accord serve ended with %v; want ended by SIGINT", c.cmd.ProcessState)
	}
}

// closedAddr returns a loopback address nothing listens on (for now: a
// test may listen there later, to bring a sink's target up).
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// targetAt starts t's target on addr, where a sink was pointed while
// nothing listened there.
func targetAt(t *testing.T, addr string) *target {
	t.Helper()
	tg := newTarget(t)
	tg.srv.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s again: %v", addr, err)
	}
	tg.srv = httptest.NewUnstartedServer(tg.srv.Config.Handler)
	tg.srv.Listener.Close()
	tg.srv.Listener = ln
	tg.srv.Start()
	t.Cleanup(tg.srv.Close)
	return tg
}

// With spool.ack: sinks and a sink down, a request is not held past
// spool.ack_timeout: it is answered 503 with Retry-After and "accepted":
// true, its records are in the sinks that are up, and the down sink gets
// them once it is back, without the request being sent again.
func TestAckTimeoutAnswers503AndKeepsTheRecords(t *testing.T) {
	addr := closedAddr(t)
	dir := newProject(t)
	c := startCollector(t, dir, append(httpSinkEnv("http://"+addr+"/in"),
		"ACCORD_SPOOL_ACK=sinks", "ACCORD_SPOOL_ACK_TIMEOUT=1s", "ACCORD_SERVER_WRITE_TIMEOUT=5s")...)

	client := &http.Client{Timeout: 20 * time.Second}
	began := time.Now()
	resp, err := client.Post(c.URL+"/events", "application/json",
		strings.NewReader(`{"schema":"`+pageViewKey+`","event_id":"ack-1","data":{"url":"https://shop.example/"}}`))
	if err != nil {
		t.Fatalf("the request was not answered: %v", err)
	}
	took := time.Since(began)
	var body struct {
		Error    string `json:"error"`
		Accepted bool   `json:"accepted"`
	}
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !body.Accepted ||
		!strings.Contains(body.Error, "kept in the spool") || !strings.Contains(body.Error, "Do not send them again") {
		t.Fatalf("answer after spool.ack_timeout: %d Retry-After %q %+v", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if took < time.Second || took > 4*time.Second {
		t.Errorf("answered after %s; spool.ack_timeout is 1s", took)
	}
	// The sink that is up has it; the down one holds it in the spool.
	eventually(t, 10*time.Second, "the store has the event", func() bool { return storedIDs(t, dir)["ack-1"] })
	if lag := sinkStats(t, c.stats(), "forward").LagRecords; lag != 1 {
		t.Errorf("forward's lag = %d; want the 1 record kept in the spool", lag)
	}
	tg := targetAt(t, addr)
	tg.waitFor(t, []string{"ack-1"}, 20*time.Second)
	c.stop()
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if n := tg.received["ack-1"]; n != 1 {
		t.Errorf("the target received ack-1 %d times", n)
	}
}

// A shutdown that passes its deadline exits 3 and says what it left: the
// request it cut off, and per sink the records left in the spool, which
// are delivered after the next start.
func TestShutdownPastItsDeadlineExits3AndSaysWhatIsLeft(t *testing.T) {
	addr := closedAddr(t)
	dir := newProject(t)
	env := append(httpSinkEnv("http://"+addr+"/in"), "ACCORD_SPOOL_ACK=sinks", "ACCORD_SPOOL_ACK_TIMEOUT=20s",
		"ACCORD_SERVER_SHUTDOWN_TIMEOUT=500ms", "ACCORD_SPOOL_DRAIN_TIMEOUT=300ms")
	c := startCollector(t, dir, env...)
	answered := make(chan error, 1)
	go func() {
		resp, err := http.Post(c.URL+"/events", "application/json",
			strings.NewReader(`{"schema":"`+pageViewKey+`","event_id":"cut-1","data":{"url":"https://shop.example/"}}`))
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("answered %d", resp.StatusCode)
		}
		answered <- err
	}()
	eventually(t, 10*time.Second, "the request waits for the down sink", func() bool { return sinkStats(t, c.stats(), "forward").LagRecords == 1 })
	began := time.Now()
	c.stopWith(3)
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("shutdown took %s with deadlines of 500ms and 300ms", took)
	}
	if err := <-answered; err == nil || strings.Contains(err.Error(), "answered") {
		t.Errorf("the request held past the shutdown deadline: %v; want its connection closed", err)
	}
	logs := c.logs.String()
	for _, want := range []string{
		`msg="shutdown deadline reached; undelivered records stay in the spool and are delivered after the next start" sink=forward records=1`,
		"accord: ", "shutdown incomplete after server.shutdown_timeout (500ms)", "1 requests in flight were cut off unanswered",
		"shutdown incomplete after spool.drain_timeout (300ms)", "sink forward 1",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("the shutdown's output lacks %q:\n%s", want, logs)
		}
	}
	tg := targetAt(t, addr)
	c2 := startCollector(t, dir, env...)
	tg.waitFor(t, []string{"cut-1"}, 20*time.Second)
	c2.stop()
}

// docs/operations.md#exit-codes: accord serve exits 2 when it cannot start.
func TestServeExitsTwoWhenItCannotStart(t *testing.T) {
	dir := newProject(t)
	if _, stderr, code := runAccordEnv(t, dir, []string{"ACCORD_SERVER_MAX_BODY_BYTES=10"}, nil, "serve", "--addr", "127.0.0.1:0"); code != 2 || !contains(stderr, "server.max_body_bytes") {
		t.Errorf("a configuration problem: exit %d: %s", code, stderr)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, stderr, code := runAccord(t, dir, nil, "serve", "--addr", ln.Addr().String()); code != 2 || !contains(stderr, "server.addr") {
		t.Errorf("a port in use: exit %d: %s", code, stderr)
	}
	c := startCollector(t, dir)
	if _, stderr, code := runAccord(t, dir, nil, "serve", "--addr", "127.0.0.1:0"); code != 2 || !contains(stderr, "spool") {
		t.Errorf("a spool another process holds: exit %d: %s", code, stderr)
	}
	c.stop()
}

// Replaying twice, or again after a replay failed part way, stores each
// record once in every sink, the append-only file and http sinks included:
// the replay ledger remembers what each sink took.
func TestReplayStoresOnceInEverySink(t *testing.T) {
	addr := closedAddr(t)
	dir := newProject(t)
	env := []string{
		"ACCORD_SINKS_1_NAME=archive", "ACCORD_SINKS_1_TYPE=file", "ACCORD_SINKS_1_RECORDS=all",
		"ACCORD_SINKS_1_OPTIONS_GOOD_PATH=archive/good.ndjson", "ACCORD_SINKS_1_OPTIONS_FAILED_PATH=archive/failed.ndjson",
		"ACCORD_SINKS_2_NAME=forward", "ACCORD_SINKS_2_TYPE=http", "ACCORD_SINKS_2_RECORDS=good",
		"ACCORD_SINKS_2_OPTIONS_URL=http://" + addr + "/in", "ACCORD_SINKS_2_OPTIONS_TIMEOUT=2s",
	}
	c := startCollector(t, dir, env...)
	// The contract wrongly demands an absolute URI; the web tracker sends paths.
	body := `{"schema":"` + pageViewKey + `","event_id":"once-1","data":{"url":"/checkout"}}` + "\n" +
		`{"schema":"` + pageViewKey + `","event_id":"once-2","data":{"url":"/cart"}}` + "\n"
	if status, _, resp := c.post("/events", "application/x-ndjson", []byte(body)); status != http.StatusOK {
		t.Fatalf("%d %s", status, resp)
	}
	waitDelivered(t, c, 10*time.Second)
	c.stop()
	path := filepath.Join(dir, "contracts", "com.example", "page_view", "jsonschema", "1-0-0")
	schema, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(schema), `"format": "uri", `, "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}

	// forward is down: the replay fails after the sinks before it took
	// the records.
	out, stderr, code := runAccordEnv(t, dir, env, nil, "replay", "--from-sink", "store")
	if code != 1 || !contains(stderr, "sink forward") {
		t.Fatalf("replay with forward down: exit %d\n%s%s", code, out, stderr)
	}
	tg := targetAt(t, addr)
	for i := range 2 {
		out, stderr, code := runAccordEnv(t, dir, env, nil, "replay", "--from-sink", "store")
		if code != 0 {
			t.Fatalf("replay %d: exit %d\n%s%s", i+2, code, out, stderr)
		}
		if i == 1 && !contains(out, "not written again: 6") {
			t.Errorf("the third replay does not say it wrote nothing again:\n%s", out)
		}
	}
	count := func(file string) map[string]int {
		n := map[string]int{}
		for _, line := range readNDJSON(t, filepath.Join(dir, "archive", file)) {
			var rec struct {
				EventID string `json:"event_id"`
			}
			if err := json.Unmarshal(line, &rec); err != nil {
				t.Fatal(err)
			}
			n[rec.EventID]++
		}
		return n
	}
	good, failedRecs := count("good.ndjson"), count("failed.ndjson")
	tg.mu.Lock()
	defer tg.mu.Unlock()
	for _, id := range []string{"once-1", "once-2"} {
		if good[id] != 1 || failedRecs[id] != 1 || tg.received[id] != 1 {
			t.Errorf("%s after three replays: %d times in the file sink's good records, %d in its failed ones, %d at the http target; want 1 each",
				id, good[id], failedRecs[id], tg.received[id])
		}
	}
	db := openStore(t, dir)
	var n int
	if err := db.QueryRow("SELECT count(*) FROM events WHERE event_id LIKE 'once-%'").Scan(&n); err != nil || n != 2 {
		t.Errorf("SQLite holds %d replayed records (%v); want 2", n, err)
	}
}

// Delivering without the spool was removed: a request one sink failed was
// answered 503 after the other sinks had stored it, and the resend was
// stored twice. The key is refused at start, saying why and what to do.
func TestServeRefusesDeliveryWithoutTheSpool(t *testing.T) {
	dir := newProject(t)
	cmd := exec.Command(accordBin, "serve", "--addr", "127.0.0.1:0")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "ACCORD_SPOOL_ENABLED=false")
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("accord serve ran with spool.enabled: false\n%s", &out)
	}
	if code, msg := cmd.ProcessState.ExitCode(), out.String(); code != 2 || !contains(msg, "spool.enabled: false is no longer supported") ||
		!contains(msg, "resend stored them twice") || !contains(msg, "spool.fsync") {
		t.Errorf("serve with spool.enabled false: exit %d: %s", code, msg)
	}
}
