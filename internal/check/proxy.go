package check

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Proxy forwards TCP connections to a server while it is up; Down closes
// its listener and every connection, as a server that went away would.
// Fault tests put it between a sink and the real server on the machine,
// which they cannot stop themselves.
type Proxy struct {
	// Addr is the address clients dial; it stays the same across Down and
	// Up.
	Addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

// NewProxy returns a proxy to target, down until Up; the test's cleanup
// takes it down.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{target: target, Addr: ln.Addr().String()}
	ln.Close() // down until Up is called
	t.Cleanup(p.Down)
	return p
}

// Up listens on Addr again and forwards what it accepts.
func (p *Proxy) Up(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			if p.ln != ln { // taken down meanwhile
				p.mu.Unlock()
				c.Close()
				d.Close()
				return
			}
			p.conns = append(p.conns, c, d)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(d, c); d.Close() }()
			go func() { _, _ = io.Copy(c, d); c.Close() }()
		}
	}()
}

// Down closes the listener and every connection it forwards.
func (p *Proxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
