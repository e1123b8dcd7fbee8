package e2e

import (
	"bytes"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// redactSecrets are the credentials the test puts in sink and backend URLs
// and DSNs; none may appear in anything Accord prints or stores.
var redactSecrets = []string{"pw-sink-4a1", "tok-sink-9c2", "pw-refused-7e3", "sig-refused-1b8", "pw-iglu-5d6", "pw-pg-url-3f0", "pw-pg-kv-8a4"}

// assertNoSecret fails when text holds any of redactSecrets.
func assertNoSecret(t *testing.T, where string, text []byte) {
	t.Helper()
	for _, s := range redactSecrets {
		if i := bytes.Index(text, []byte(s)); i >= 0 {
			lo, hi := max(0, i-200), min(len(text), i+100)
			t.Errorf("%s holds the credential %q: ...%s...", where, s, text[lo:hi])
		}
	}
}

// TestHostileNoCredentialLeaks: sink and registry backend URLs with
// userinfo and tokens in their query strings, and PostgreSQL DSNs with
// passwords, fail in every way they can (4xx, refused connection, 500 from
// the backend, an unreachable database); the credentials never appear in
// /stats, the logs, dead letters, failure records, the registry API's 500
// answers, or any file under accord-data.
func TestHostileNoCredentialLeaks(t *testing.T) {
	var sinkURLs, igluURLs []string
	var mu = make(chan struct{}, 1)
	seen := func(list *[]string, u string) {
		mu <- struct{}{}
		*list = append(*list, u)
		<-mu
	}
	sinkSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen(&sinkURLs, r.URL.String())
		_, _ = io.Copy(io.Discard, r.Body)
		http.Error(w, "no thanks", http.StatusBadRequest) // permanent: dead-lettered at once
	}))
	defer sinkSrv.Close()
	igluSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen(&igluURLs, r.URL.String())
		http.Error(w, "backend down", http.StatusInternalServerError)
	}))
	defer igluSrv.Close()
	withCreds := func(base, user, pw string) string {
		return strings.Replace(base, "http://", "http://"+user+":"+pw+"@", 1)
	}

	dir := newProject(t)
	c := startCollector(t, dir,
		"ACCORD_SINKS_1_NAME=leaky", "ACCORD_SINKS_1_TYPE=http", "ACCORD_SINKS_1_RECORDS=all",
		"ACCORD_SINKS_1_OPTIONS_URL="+withCreds(sinkSrv.URL, "u", "pw-sink-4a1")+"/in?token=tok-sink-9c2",
		"ACCORD_SINKS_2_NAME=refused", "ACCORD_SINKS_2_TYPE=http", "ACCORD_SINKS_2_RECORDS=all",
		"ACCORD_SINKS_2_OPTIONS_URL=http://u:pw-refused-7e3@127.0.0.1:1/in?sig=sig-refused-1b8",
		"ACCORD_SINKS_2_DELIVERY_MAX_ATTEMPTS=2", "ACCORD_SINKS_2_DELIVERY_BACKOFF_MIN=10ms", "ACCORD_SINKS_2_DELIVERY_BACKOFF_MAX=20ms",
		"ACCORD_CONTRACTS_BACKENDS_0_TYPE=iglu", "ACCORD_CONTRACTS_BACKENDS_0_URL="+withCreds(igluSrv.URL, "iglu", "pw-iglu-5d6"),
		"ACCORD_LOG_LEVEL=debug")

	// One good event for the sinks, one naming a key only the failing
	// backend could have (its error goes into the failure record).
	status, _, resp := c.post("/events", "application/json", []byte(`[{"schema":"`+pageViewKey+`","data":{"url":"https://a.example/1"}},`+
		`{"schema":"iglu:com.remote/missing/jsonschema/1-0-0","data":{}}]`))
	if status != http.StatusOK {
		t.Fatalf("/events: %d %s", status, resp)
	}
	assertNoSecret(t, "the /events answer", resp)

	// The registry API: resolving through the failing backend is a 500
	// that quotes the backend's error.
	getStatus, getBody := rwRequest(t, c, "GET", "/api/schemas/com.remote/other/jsonschema/1-0-0", nil)
	if getStatus != http.StatusInternalServerError && getStatus != http.StatusBadGateway {
		t.Errorf("GET a schema only the failing backend could have: %d %s", getStatus, getBody)
	}
	assertNoSecret(t, "the registry API answer", []byte(getBody))
	if !contains(getBody, "REDACTED@") {
		t.Errorf("the registry API answer does not quote the backend's URL (so redaction is not tested): %s", getBody)
	}
	_, _, valBody := c.post("/api/validation/validate/instance", "application/json", []byte(`{"schema":"iglu:com.remote/third/jsonschema/1-0-0","data":{}}`))
	assertNoSecret(t, "the validation API answer", valBody)

	eventually(t, 15*time.Second, "both sinks failed and dead-lettered", func() bool {
		st := c.stats()
		return sinkStats(t, st, "leaky").DeadLettered >= 1 && sinkStats(t, st, "refused").DeadLettered >= 1
	})
	st := c.stats()
	for _, name := range []string{"leaky", "refused"} {
		s := sinkStats(t, st, name)
		if !contains(s.LastError, "REDACTED") {
			t.Errorf("%s last_error %q: no URL redacted in it (so redaction is not tested)", name, s.LastError)
		}
	}
	statsResp, err := http.Get(c.URL + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	statsBody, _ := io.ReadAll(statsResp.Body)
	statsResp.Body.Close()
	assertNoSecret(t, "/stats", statsBody)
	c.stop()

	assertNoSecret(t, "the logs", []byte(c.logs.String()))
	// Every file Accord wrote: dead letters, persisted statistics, the
	// spool, the SQLite store (failed records).
	files := 0
	err = filepath.WalkDir(filepath.Join(dir, "accord-data"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		assertNoSecret(t, path, data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"leaky", "refused"} {
		dl := filepath.Join(dir, "accord-data", "dead-letter", name+".ndjson")
		if lines := readNDJSON(t, dl); len(lines) == 0 || !bytes.Contains(lines[0], []byte("REDACTED")) {
			t.Errorf("dead letter %s: %q, want a redacted error", name, lines)
		}
	}
	if len(sinkURLs) == 0 || len(igluURLs) == 0 {
		t.Errorf("the sink (%d requests) or the backend (%d) was never asked: the leaks were not exercised", len(sinkURLs), len(igluURLs))
	}

	// A PostgreSQL registry backend whose database cannot be reached, with
	// the password in a URL DSN and in a keyword/value DSN.
	for _, dsn := range []string{
		"postgres://accord:pw-pg-url-3f0@127.0.0.1:1/test?sslmode=disable&connect_timeout=1",
		"host=127.0.0.1 port=1 user=accord password=pw-pg-kv-8a4 dbname=test connect_timeout=1",
	} {
		out := serveBriefly(t, newProject(t), 5*time.Second,
			"ACCORD_CONTRACTS_BACKENDS_0_TYPE=postgres", "ACCORD_CONTRACTS_BACKENDS_0_DSN="+dsn)
		if !contains(out, "127.0.0.1") {
			t.Errorf("serve with an unreachable registry database says nothing about it:\n%s", out)
		}
		assertNoSecret(t, "serve's output with a postgres backend", []byte(out))
	}
}

// serveBriefly runs accord serve in dir for at most d (it may exit sooner,
// failing to start) and returns what it printed.
func serveBriefly(t *testing.T, dir string, d time.Duration, env ...string) string {
	t.Helper()
	cmd := exec.Command(accordBin, "serve", "--addr", "127.0.0.1:0")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done
	}
	return out.String()
}
