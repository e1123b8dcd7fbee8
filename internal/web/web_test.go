package web_test

import (
	"bufio"
	"net/http"
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/web"
)

// TestHeaderReadsWhatNetHTTPParsed: header names come in any case; net/http
// stores them canonical, which is the form Header is given.
func TestHeaderReadsWhatNetHTTPParsed(t *testing.T) {
	raw := "POST /events HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\nX-REQUEST-ID: abc\r\n" +
		"user-agent: one\r\nUser-Agent: two\r\nx-forwarded-for: 10.0.0.1\r\nContent-Length: 0\r\n\r\n"
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"Content-Type":     "application/json",
		"X-Request-Id":     "abc",
		"User-Agent":       "one",
		"X-Forwarded-For":  "10.0.0.1",
		"Origin":           "",
		"Content-Encoding": "",
	} {
		if got := web.Header(r.Header, key); got != want || got != r.Header.Get(key) {
			t.Errorf("Header(%q) = %q, want %q as Header.Get gives", key, got, want)
		}
	}
}
