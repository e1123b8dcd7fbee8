package e2e

// Shutdown behind a load balancer (docs/operations.md#shutdown): the
// lame-duck period, and a second signal.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
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
}
