package loadgen

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// requestTimeout bounds one request, as a client's timeout would.
const requestTimeout = 30 * time.Second

// target is where a run's requests go, parsed once.
type target struct {
	addr string // host:port to dial
	tls  *tls.Config
	// head is the request up to the value of Content-Length.
	head []byte
}

func newTarget(rawURL, contentType string) (*target, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("loadgen: URL: %w", err)
	}
	t := &target{}
	port := u.Port()
	switch u.Scheme {
	case "http":
		if port == "" {
			port = "80"
		}
	case "https":
		if port == "" {
			port = "443"
		}
		t.tls = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	default:
		return nil, fmt.Errorf("loadgen: URL %q: the scheme must be http or https", rawURL)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("loadgen: URL %q has no host", rawURL)
	}
	t.addr = net.JoinHostPort(u.Hostname(), port)
	h := "POST " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nUser-Agent: accord-loadgen\r\n"
	if contentType != "" {
		h += "Content-Type: " + contentType + "\r\n"
	}
	t.head = []byte(h + "Content-Length: ")
	return t, nil
}

// conn is one worker's keep-alive connection. A worker sends its requests
// one after another on its own connection, writing each request with one
// write and reading its answer on the same goroutine: net/http's Transport
// runs two goroutines per connection and hands every request and answer
// between them, which cost the load generator about as much CPU per request
// as the collector spent on it, on the cores they share.
type conn struct {
	t    *target
	ctx  context.Context
	c    net.Conn
	br   *bufio.Reader
	wbuf []byte
	// stop unregisters the hook that ends a blocked read or write when
	// ctx ends.
	stop func() bool
}

// do sends one request with body and returns the answer's status once the
// whole answer is read. A connection the server closed while it was idle
// is dialled again and the request sent on the new one, once.
func (c *conn) do(body []byte) (int, error) {
	for attempt := 0; ; attempt++ {
		reused := c.c != nil
		if !reused {
			if err := c.dial(); err != nil {
				return 0, err
			}
		}
		status, answered, err := c.roundTrip(body)
		if err == nil {
			return status, nil
		}
		c.close()
		// Sent again only when a kept-alive connection turned out closed
		// by the server (as after its idle timeout) before a byte of the
		// answer came: the server did not take the request.
		if !reused || attempt > 0 || c.ctx.Err() != nil || answered {
			return 0, err
		}
	}
}

func (c *conn) dial() error {
	d := net.Dialer{Timeout: requestTimeout}
	nc, err := d.DialContext(c.ctx, "tcp", c.t.addr)
	if err != nil {
		return err
	}
	if c.t.tls != nil {
		tc := tls.Client(nc, c.t.tls)
		if err := tc.HandshakeContext(c.ctx); err != nil {
			nc.Close()
			return err
		}
		nc = tc
	}
	c.c, c.br = nc, bufio.NewReaderSize(nc, 4096)
	c.stop = context.AfterFunc(c.ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	return nil
}

// roundTrip writes the request and reads the answer; answered reports
// whether a byte of the answer came before err.
func (c *conn) roundTrip(body []byte) (status int, answered bool, err error) {
	if err := c.c.SetDeadline(time.Now().Add(requestTimeout)); err != nil {
		return 0, false, err
	}
	w := append(c.wbuf[:0], c.t.head...)
	w = strconv.AppendInt(w, int64(len(body)), 10)
	w = append(w, "\r\n\r\n"...)
	w = append(w, body...)
	if cap(w) <= 1<<20 {
		c.wbuf = w
	}
	if _, err := c.c.Write(w); err != nil {
		return 0, false, err
	}
	if _, err := c.br.Peek(1); err != nil {
		return 0, false, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, true, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, true, err
	}
	if resp.Close {
		c.close()
	}
	return resp.StatusCode, true, nil
}

func (c *conn) close() {
	if c.c == nil {
		return
	}
	c.stop()
	c.c.Close()
	c.c, c.br = nil, nil
}
