package redact

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

const secret = "s3cr3t-tok"

func TestURL(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "https://collector.example/accord", "https://collector.example/accord"},
		{"userinfo", "https://user:" + secret + "@collector.example/accord", "https://REDACTED@collector.example/accord"},
		{"user only", "https://" + secret + "@collector.example/", "https://REDACTED@collector.example/"},
		{"query", "https://collector.example/accord?token=" + secret + "&x=1", "https://collector.example/accord?REDACTED"},
		{"both and fragment", "http://u:" + secret + "@h:8080/p?k=" + secret + "#frag", "http://REDACTED@h:8080/p?REDACTED#frag"},
		{"postgres", "postgres://accord:" + secret + "@db:5432/accord?sslmode=disable", "postgres://REDACTED@db:5432/accord?REDACTED"},
		{"bad escape", "https://u:" + secret + "%zz@h/p?t=" + secret, "https://REDACTED@h/p?REDACTED"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := URL(tc.in); got != tc.want {
				t.Errorf("URL(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestStringRedactsEveryErrorShape(t *testing.T) {
	_, parseErr := url.Parse(strings.Join([]string{"http://u:", secret, "@h/%zz"}, "")) // joined: the malformed URL is the point
	req, _ := http.NewRequest("GET", "http://127.0.0.1:1/x?api_key="+secret, nil)
	_, doErr := http.DefaultClient.Do(req)
	tests := []struct {
		name string
		err  error
	}{
		{"url.Error from a client", doErr},
		{"url.Error from parse", parseErr},
		{"wrapped", fmt.Errorf("post 3 records to %s: %w", "https://u:"+secret+"@sink.example/in?sig="+secret, errors.New("503"))},
		{"in parentheses", errors.New("fetch (https://h/x?token=" + secret + ")")},
		{"keyword dsn", errors.New("cannot parse `host=db user=accord password=" + secret + " dbname=x`: bad")},
		{"quoted keyword dsn", errors.New("dsn host=db password='" + secret + " x' dbname=x")},
		{"backquoted url", errors.New("cannot parse `postgres://accord:" + secret + "@db/x`: failed")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil {
				t.Fatal("no error to redact")
			}
			got := Error(tc.err)
			if strings.Contains(got, secret) {
				t.Errorf("Error(%q) = %q still holds the secret", tc.err, got)
			}
			if !strings.Contains(got, Mask) {
				t.Errorf("Error(%q) = %q masks nothing", tc.err, got)
			}
		})
	}
	if got := String("post to https://h/p: 503 Service Unavailable."); got != "post to https://h/p: 503 Service Unavailable." {
		t.Errorf("text without credentials changed: %q", got)
	}
}

func TestHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(Handler(slog.NewTextHandler(&buf, nil)))
	u := "https://u:" + secret + "@h/p?token=" + secret
	log.With("backend", u).WithGroup("g").Error("fetch "+u+" failed",
		"err", fmt.Errorf("get %s: %w", u, errors.New("refused")),
		"url", u,
		slog.Group("inner", "dsn", "password="+secret))
	out := buf.String()
	if strings.Contains(out, secret) {
		t.Errorf("log line holds the secret: %s", out)
	}
	if strings.Count(out, Mask) < 5 {
		t.Errorf("log line masks too little: %s", out)
	}
}

// TestErrorsAreBounded: an error that quotes a client's value (a database
// refusing a 1 MB string) is cut in log lines and in what is stored, at a
// UTF-8 boundary, saying how much was cut; a short one is kept whole.
func TestErrorsAreBounded(t *testing.T) {
	huge := errors.New(`invalid input syntax for type bigint: "` + strings.Repeat("é", 1<<19) + `"`)
	got := BoundedError(huge)
	if len(got) > MaxStoredError+40 || !strings.Contains(got, "bytes cut)") || !utf8.ValidString(got) {
		t.Errorf("BoundedError of %d bytes gave %d bytes (valid UTF-8 %v), ending %q", len(huge.Error()), len(got), utf8.ValidString(got), got[len(got)-30:])
	}
	if short := errors.New("refused"); BoundedError(short) != "refused" {
		t.Errorf("a short error changed: %q", BoundedError(short))
	}
	var buf bytes.Buffer
	slog.New(Handler(slog.NewTextHandler(&buf, nil))).Warn("records sent to the dead letter", "err", huge)
	if buf.Len() > 2*MaxStoredError {
		t.Errorf("one log line of %d bytes for one refused value", buf.Len())
	}
}
