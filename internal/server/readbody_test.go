package server

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
)

// A body whose size is announced is read into a buffer of about that size:
// grown by doubling, a 33 KB body of 100 events took 64 KB, which the body
// pool then kept for every connection. A client that announces more than it
// sends makes it allocate no more than presizedBody.
func TestReadBodySizedFromContentLength(t *testing.T) {
	s := &Server{cfg: DefaultOptions()}
	for _, size := range []int{100, 33_000, 60_000} {
		body := strings.Repeat("x", size)
		r := httptest.NewRequest("POST", "/events", strings.NewReader(body))
		var buf bytes.Buffer
		if perr, _ := s.readBody(r, &buf, &hold{}); perr != nil {
			t.Fatalf("%d bytes: %v", size, perr)
		}
		if buf.String() != body {
			t.Fatalf("%d bytes: read %d bytes, not the body", size, buf.Len())
		}
		if c := buf.Cap(); c > size+size/4+2*bytes.MinRead {
			t.Errorf("a body of %d bytes was read into a buffer of %d", size, c)
		}
	}
	r := httptest.NewRequest("POST", "/events", strings.NewReader("[]"))
	r.ContentLength = s.cfg.MaxBodyBytes
	var buf bytes.Buffer
	_, _ = s.readBody(r, &buf, &hold{})
	if c := buf.Cap(); c > presizedBody*5/4 {
		t.Errorf("a body announced as %d bytes and 2 long took a buffer of %d", r.ContentLength, c)
	}
}
