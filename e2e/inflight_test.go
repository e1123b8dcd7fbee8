package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestBodiesInFlightBoundTheCollector: with server.max_bytes_in_flight at
// max_body_bytes, a client that announces a body of that size and sends it
// slowly holds all the room; another request meanwhile waits 5 s and is
// answered 503 with Retry-After, nothing of it stored; a tracker's GET
// still passes;
// once the slow body is in, the room is back (docs/configuration.md,
// docs/api.md, docs/operations.md).
func TestBodiesInFlightBoundTheCollector(t *testing.T) {
	dir := newProject(t)
	c := startCollector(t, dir, "ACCORD_SERVER_MAX_BODY_BYTES=65536", "ACCORD_SERVER_MAX_BYTES_IN_FLIGHT=65536")
	u, err := url.Parse(c.URL)
	if err != nil {
		t.Fatal(err)
	}
	const event = `{"schema":"iglu:com.acme/never_defined/jsonschema/1-0-0","data":{"n":1,"note":"a line of some two hundred bytes, so that sixty kilobytes hold fewer than 500 events"}}`
	body := strings.Repeat(event+"\n", 60000/(len(event)+1))
	// Another body that does not fit beside the slow one's.
	other := body[:10000-10000%(len(event)+1)]
	// The slow client: headers and the first half of its body now.
	slow, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fmt.Fprintf(slow, "POST /events HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-ndjson\r\nContent-Length: %d\r\n\r\n%s", u.Host, len(body), body[:len(body)/2])
	time.Sleep(500 * time.Millisecond) // its handler has taken the room

	start := time.Now()
	resp, err := http.Post(c.URL+"/events", "application/x-ndjson", strings.NewReader(other))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	waited := time.Since(start)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(answer), "server.max_bytes_in_flight") {
		t.Fatalf("a request while the room was full: %d (Retry-After %q) %s", resp.StatusCode, resp.Header.Get("Retry-After"), answer)
	}
	if waited < 4*time.Second {
		t.Errorf("answered 503 after %v; the docs say it waits 5 s for room", waited)
	}
	// A tracker's GET carries no body, and reserves nothing.
	pixel, err := http.Get(c.URL + "/i?e=pv&url=https%3A%2F%2Fshop.example%2F&p=web&tv=js-4.0.0&eid=7d9c4b0e-8f1a-4c2b-9d3e-5f6a7b8c9d0e")
	if err != nil {
		t.Fatal(err)
	}
	pixel.Body.Close()
	if pixel.StatusCode != http.StatusOK {
		t.Fatalf("a Snowplow GET /i while the room was full: %d", pixel.StatusCode)
	}

	// The slow body ends: it is taken whole, and the room is back.
	if _, err := io.WriteString(slow, body[len(body)/2:]); err != nil {
		t.Fatal(err)
	}
	sr, err := http.ReadResponse(bufio.NewReader(slow), nil)
	if err != nil {
		t.Fatal(err)
	}
	slowAnswer, _ := io.ReadAll(sr.Body)
	if sr.StatusCode != http.StatusOK {
		t.Fatalf("the slow request: %d %s", sr.StatusCode, slowAnswer)
	}
	resp, err = http.Post(c.URL+"/events", "application/x-ndjson", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a body of max_bytes_in_flight once the slow one was answered: %d", resp.StatusCode)
	}
	c.stop()
	// Stored: the slow body's events and the last body's, each a failed
	// record (no contract defines their schema), and the pixel; nothing
	// of the request answered 503.
	lines := strings.Count(body, "\n")
	if got := spCount(t, openStore(t, dir), "failed_events", "1 = 1"); got != 2*lines {
		t.Errorf("%d failed records stored, want %d (two bodies of %d events; none of the request answered 503)", got, 2*lines, lines)
	}
	if !strings.Contains(c.logs.String(), "server.max_bytes_in_flight reached") {
		t.Errorf("no warning logged for the 503:\n%s", c.logs.String())
	}
}

// TestBodiesOfUnknownSizeInFlight: with server.max_bytes_in_flight at
// max_body_bytes, a slow chunked client holds only the room of what it has
// sent, not all of max_body_bytes; a gzip-compressed request meanwhile is
// taken at once (docs/configuration.md, docs/operations.md).
func TestBodiesOfUnknownSizeInFlight(t *testing.T) {
	dir := newProject(t)
	c := startCollector(t, dir, "ACCORD_SERVER_MAX_BODY_BYTES=1048576", "ACCORD_SERVER_MAX_BYTES_IN_FLIGHT=1048576")
	u, err := url.Parse(c.URL)
	if err != nil {
		t.Fatal(err)
	}
	const event = `{"schema":"iglu:com.acme/never_defined/jsonschema/1-0-0","data":{"n":1}}`
	body := strings.Repeat(event+"\n", 200)
	slow, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	half := body[:len(body)/2]
	fmt.Fprintf(slow, "POST /events HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n", u.Host, len(half), half)
	time.Sleep(500 * time.Millisecond) // its handler has read its first chunk

	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = io.WriteString(zw, body)
	_ = zw.Close()
	req, err := http.NewRequest(http.MethodPost, c.URL+"/events", &gz)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Content-Encoding", "gzip")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || time.Since(start) > 2*time.Second {
		t.Fatalf("a gzip request beside a slow chunked one: %d after %v %s; want 200 at once", resp.StatusCode, time.Since(start), answer)
	}

	rest := body[len(half):]
	fmt.Fprintf(slow, "%x\r\n%s\r\n0\r\n\r\n", len(rest), rest)
	sr, err := http.ReadResponse(bufio.NewReader(slow), nil)
	if err != nil {
		t.Fatal(err)
	}
	slowAnswer, _ := io.ReadAll(sr.Body)
	if sr.StatusCode != http.StatusOK {
		t.Fatalf("the slow chunked request: %d %s", sr.StatusCode, slowAnswer)
	}
	c.stop()
	if got := spCount(t, openStore(t, dir), "failed_events", "1 = 1"); got != 400 {
		t.Errorf("%d failed records stored, want 400 (two bodies of 200 events)", got)
	}
}
