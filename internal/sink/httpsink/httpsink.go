// Package httpsink is a sink that POSTs batches of records to an HTTP
// endpoint, as NDJSON or a JSON array, for receivers Accord has no sink of
// its own for (a webhook, a function, another collector).
//
// A batch is delivered when the endpoint answers 2xx. Any other answer is a
// failure: 4xx other than 408 and 429 is permanent (a *sink.PermanentError,
// the records will never be accepted as they are), the rest are transient,
// and a Retry-After on 429 or 503 is passed on as a *sink.RetryAfterError.
package httpsink

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
)

// Formats of a batch's body.
const (
	FormatNDJSON = "ndjson"
	FormatJSON   = "json"
)

// Options configures an HTTP sink.
type Options struct {
	URL       string            `yaml:"url" doc:"Endpoint good records are POSTed to, such as https://collector.example/accord."`
	FailedURL string            `yaml:"failed_url" doc:"Endpoint failed records are POSTed to; empty sends them to url too (each record's valid field tells them apart)."`
	Format    string            `yaml:"format" doc:"Body of each POST: ndjson (one envelope per line, Content-Type application/x-ndjson) or json (a JSON array, Content-Type application/json)."`
	Timeout   time.Duration     `yaml:"timeout" doc:"How long one POST may take, connecting and reading the answer included, before it counts as failed."`
	Headers   map[string]string `yaml:"headers" doc:"Extra request headers, such as Authorization: Bearer ...; in an environment variable, a YAML map such as {Authorization: Bearer x}."`
	Gzip      bool              `yaml:"gzip" doc:"Compress each body with gzip (Content-Encoding: gzip)."`
}

// NewOptions returns the default options.
func NewOptions() *Options {
	return &Options{Format: FormatNDJSON, Timeout: 10 * time.Second, Headers: map[string]string{}}
}

// Validate reports every problem with the options, each naming its key and
// the fix.
func (o *Options) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	checkURL := func(key, raw string) {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(key, "%q is not an http or https URL; write it in full, such as https://collector.example/accord", raw)
		}
	}
	if o.URL == "" {
		bad("url", "must not be empty; set it to the endpoint records are POSTed to, such as https://collector.example/accord")
	} else {
		checkURL("url", o.URL)
	}
	if o.FailedURL != "" {
		checkURL("failed_url", o.FailedURL)
	}
	if o.Format != FormatNDJSON && o.Format != FormatJSON {
		bad("format", "%q is not a format; use ndjson or json", o.Format)
	}
	if o.Timeout <= 0 {
		bad("timeout", "%s must be positive, such as 10s", o.Timeout)
	}
	for name := range o.Headers {
		if name == "" || strings.ContainsAny(name, " :\r\n") {
			bad("headers", "%q is not a header name", name)
		}
	}
	return errors.Join(errs...)
}

// Type returns the http sink type.
func Type() sink.Type {
	return sink.Type{
		Name:       "http",
		Doc:        "POSTs batches of records to an HTTP endpoint as NDJSON or a JSON array; any answer but 2xx is a failure.",
		NewOptions: func() sink.Options { return NewOptions() },
		New: func(opts sink.Options, _ sink.Deps) (sink.Sink, error) {
			o, ok := opts.(*Options)
			if !ok {
				return nil, fmt.Errorf("new http sink: options are %T, not *httpsink.Options", opts)
			}
			return New(*o)
		},
	}
}

// Sink POSTs batches to an endpoint. It is safe for concurrent use.
type Sink struct {
	opts   Options
	client *http.Client
	bufs   sync.Pool // of *bytes.Buffer, for request bodies
	// closed is set by Close; writes after it fail rather than open new
	// connections that nothing would release.
	closed atomic.Bool
}

// New returns a sink for the options. It is ready to write at once: Connect
// has nothing to do, as every batch is a request of its own and a target
// that is down shows as a failed write, which delivery retries.
func New(opts Options) (*Sink, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &Sink{
		opts:   opts,
		client: &http.Client{Timeout: opts.Timeout},
		bufs:   sync.Pool{New: func() any { return new(bytes.Buffer) }},
	}, nil
}

// Write POSTs the good records to url and the failed ones to failed_url,
// one request each.
func (s *Sink) Write(ctx context.Context, records []*event.Envelope) error {
	if s.closed.Load() {
		return errors.New("write to http sink: sink is closed")
	}
	if s.opts.FailedURL == "" {
		return s.post(ctx, s.opts.URL, records)
	}
	good, failed := sink.Select(records, sink.Good), sink.Select(records, sink.Failed)
	if err := s.post(ctx, s.opts.URL, good); err != nil {
		return err
	}
	return s.post(ctx, s.opts.FailedURL, failed)
}

// ReadsJSONOnly marks the sink as writing each record's JSON as it is
// (sink.JSONOnly): delivery need not decode records for it.
func (*Sink) ReadsJSONOnly() {}

var _ sink.JSONOnly = (*Sink)(nil)

// Connect does nothing: there is no connection to hold between batches
// (the client keeps idle ones for reuse), and probing the target with a
// request it may not expect would be worse than the first write telling.
func (s *Sink) Connect(context.Context) error { return nil }

// Close releases idle connections; a Write after Close returns an error.
// A request under way finishes, and then releases its connection.
func (s *Sink) Close(context.Context) error {
	s.closed.Store(true)
	s.client.CloseIdleConnections()
	return nil
}

var _ sink.Sink = (*Sink)(nil)

func (s *Sink) post(ctx context.Context, target string, records []*event.Envelope) error {
	if len(records) == 0 {
		return nil
	}
	body := s.bufs.Get().(*bytes.Buffer)
	body.Reset()
	defer s.bufs.Put(body)
	if err := s.encode(body, records); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body.Bytes()))
	if err != nil {
		return &sink.PermanentError{Err: fmt.Errorf("build request to %s: %w", target, err)}
	}
	for k, v := range s.opts.Headers {
		req.Header.Set(k, v)
	}
	if s.opts.Format == FormatJSON {
		req.Header.Set("Content-Type", "application/json")
	} else {
		req.Header.Set("Content-Type", "application/x-ndjson")
	}
	if s.opts.Gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("post %d records to %s: %w", len(records), target, err)
	}
	// Read a little of the answer for the error, and drain the rest so the
	// connection can be reused.
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if s.closed.Load() {
		// Close ran while this request was under way: release the
		// connection it has just returned to the idle pool.
		s.client.CloseIdleConnections()
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err = fmt.Errorf("post %d records to %s: %s: %s", len(records), target, resp.Status, bytes.TrimSpace(snippet))
	switch {
	case resp.StatusCode == http.StatusRequestTimeout:
		return err
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		if after, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return &sink.RetryAfterError{Err: err, After: after}
		}
		return err
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		return &sink.PermanentError{Err: err}
	}
	return err
}

func (s *Sink) encode(body *bytes.Buffer, records []*event.Envelope) error {
	var w io.Writer = body
	var zw *gzip.Writer
	if s.opts.Gzip {
		zw = gzip.NewWriter(body)
		w = zw
	}
	buf := make([]byte, 0, 2048)
	if s.opts.Format == FormatJSON {
		buf = append(buf, '[')
	}
	for i, r := range records {
		if s.opts.Format == FormatJSON && i > 0 {
			buf = append(buf, ',')
		}
		buf = r.AppendJSON(buf)
		if s.opts.Format == FormatNDJSON {
			buf = append(buf, '\n')
		}
		if len(buf) > 32<<10 {
			if _, err := w.Write(buf); err != nil {
				return fmt.Errorf("encode batch: %w", err)
			}
			buf = buf[:0]
		}
	}
	if s.opts.Format == FormatJSON {
		buf = append(buf, ']')
	}
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("encode batch: %w", err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return fmt.Errorf("compress batch: %w", err)
		}
	}
	return nil
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d, true
		}
		return 0, true
	}
	return 0, false
}
