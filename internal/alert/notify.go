package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/accord-events/accord/internal/redact"
)

// Notification is what a receiver is posted, as the json format's body
// (docs/alerts.md shows it).
type Notification struct {
	Version   int       `json:"version"`
	Status    string    `json:"status"`
	Repeat    bool      `json:"repeat"`
	Rule      string    `json:"rule"`
	Kind      string    `json:"kind"`
	Contract  string    `json:"contract,omitempty"`
	Sink      string    `json:"sink,omitempty"`
	Value     *float64  `json:"value"`
	Threshold *float64  `json:"threshold"`
	Condition string    `json:"condition"`
	Window    string    `json:"window,omitempty"`
	Since     time.Time `json:"since"`
	At        time.Time `json:"at"`
	Summary   string    `json:"summary"`
	Collector Collector `json:"collector"`
}

// Title is the notification's one-line heading: [FIRING] rule, [FIRING,
// repeated] rule or [RESOLVED] rule.
func (n Notification) Title() string {
	switch {
	case n.Status == StatusResolved:
		return "[RESOLVED] " + n.Rule
	case n.Repeat:
		return "[FIRING, repeated] " + n.Rule
	default:
		return "[FIRING] " + n.Rule
	}
}

// SlackBody is the slack format's body: text (what notifications and
// clients without blocks show) and blocks.
func (n Notification) SlackBody() map[string]any {
	value, threshold := "none", "none"
	if n.Value != nil {
		value = number(*n.Value)
	}
	if n.Threshold != nil {
		threshold = n.Condition + " " + number(*n.Threshold)
	}
	what := n.Contract
	if what == "" {
		what = n.Sink
	}
	fields := []map[string]any{
		mrkdwn("*Rule*\n" + slackEscape(n.Rule) + " (" + n.Kind + ")"),
		mrkdwn("*Value*\n" + value),
		mrkdwn("*Threshold*\n" + threshold),
		mrkdwn("*Since*\n" + n.Since.Format(time.RFC3339)),
	}
	if what != "" {
		fields = append(fields, mrkdwn("*Watching*\n"+slackEscape(what)))
	}
	collector := n.Collector.Name
	if n.Collector.Env != "" {
		collector += " (" + n.Collector.Env + ")"
	}
	fields = append(fields, mrkdwn("*Collector*\n"+slackEscape(collector)))
	return map[string]any{
		"text": slackEscape(n.Title() + ": " + n.Summary),
		"blocks": []map[string]any{
			{"type": "header", "text": map[string]any{"type": "plain_text", "text": cut(n.Title(), 150)}},
			{"type": "section", "text": mrkdwn(slackEscape(n.Summary)), "fields": fields},
			{"type": "context", "elements": []map[string]any{mrkdwn("Accord alert at " + n.At.Format(time.RFC3339))}},
		},
	}
}

func mrkdwn(text string) map[string]any {
	return map[string]any{"type": "mrkdwn", "text": cut(text, 2000)}
}

// slackEscape escapes the three characters Slack's text formatting takes
// as control characters.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// cut shortens s to at most n bytes, ending in "...", between two
// characters: a cut inside a multi-byte one would show as U+FFFD.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	end := n - 3
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + "..."
}

// body encodes the notification in a receiver's format.
func (n Notification) body(format string) ([]byte, error) {
	if format == FormatSlack {
		return json.Marshal(n.SlackBody())
	}
	return json.Marshal(n)
}

// ReceiverStatus is one receiver's counters (never its URL).
type ReceiverStatus struct {
	Name   string `json:"name"`
	Format string `json:"format"`
	// Queued notifications wait to be posted.
	Queued int `json:"queued"`
	// Sent were answered 2xx; Failed were not, after every attempt;
	// Dropped found the queue full (or were queued at shutdown);
	// Retries counts attempts after a first.
	Sent          uint64     `json:"sent"`
	Failed        uint64     `json:"failed"`
	Dropped       uint64     `json:"dropped"`
	Retries       uint64     `json:"retries"`
	LastSuccessAt *time.Time `json:"last_success_at,omitempty"`
	LastError     string     `json:"last_error,omitempty"`
	LastErrorAt   *time.Time `json:"last_error_at,omitempty"`
}

// maxAnswerBytes is as much of a receiver's answer as is read (and then
// thrown away): a receiver answering a huge body costs no more.
const maxAnswerBytes = 64 << 10

// maxBackoff bounds the wait between attempts.
const maxBackoff = 30 * time.Second

// notifier posts notifications, each receiver from its own bounded queue.
type notifier struct {
	log       *slog.Logger
	client    *http.Client
	backoff   time.Duration
	receivers map[string]*receiver
	order     []*receiver
	wg        sync.WaitGroup
}

type receiver struct {
	cfg   Receiver
	queue chan Notification

	sent, failed, dropped, retries atomic.Uint64

	mu            sync.Mutex
	lastSuccessAt time.Time
	lastError     string
	lastErrorAt   time.Time
}

func newNotifier(rs []Receiver, deps Deps) (*notifier, error) {
	client := deps.Client
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxResponseHeaderBytes = maxAnswerBytes
		client = &http.Client{
			Transport: tr,
			// A redirect is an answer of its own: not followed, so the
			// notification goes nowhere the configuration did not say.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	backoff := deps.RetryBackoff
	if backoff <= 0 {
		backoff = time.Second
	}
	n := &notifier{log: deps.Logger, client: client, backoff: backoff, receivers: map[string]*receiver{}}
	for i, r := range rs {
		if err := CheckURL(r.URL); err != nil {
			return nil, fmt.Errorf("alerts.receivers[%d].url (%s): %w", i, r.Name, err)
		}
		rc := &receiver{cfg: r, queue: make(chan Notification, r.QueueSize)}
		n.receivers[r.Name] = rc
		n.order = append(n.order, rc)
	}
	return n, nil
}

func (n *notifier) start(ctx context.Context) {
	for _, r := range n.order {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			n.run(ctx, r)
		}()
	}
}

// close waits for the receivers' goroutines (their context ended) and
// counts what was left queued as dropped.
func (n *notifier) close() {
	n.wg.Wait()
	for _, r := range n.order {
		for {
			select {
			case <-r.queue:
				r.dropped.Add(1)
				continue
			default:
			}
			break
		}
	}
}

// send queues a notification for a receiver without waiting: when its
// queue is full the notification is dropped and counted.
func (n *notifier) send(name string, msg Notification) {
	r := n.receivers[name]
	if r == nil {
		return
	}
	select {
	case r.queue <- msg:
	default:
		r.dropped.Add(1)
		n.log.Warn("alert notification dropped: the receiver's queue is full", "receiver", r.cfg.Name, "rule", msg.Rule, "queue_size", r.cfg.QueueSize)
	}
}

func (n *notifier) run(ctx context.Context, r *receiver) {
	for {
		select {
		case <-ctx.Done():
			return
		case msg := <-r.queue:
			n.deliver(ctx, r, msg)
		}
	}
}

// deliver posts one notification, retrying network errors, 429 and 5xx
// answers with backoff, up to the receiver's max_attempts.
func (n *notifier) deliver(ctx context.Context, r *receiver, msg Notification) {
	body, err := msg.body(r.cfg.Format)
	if err != nil {
		r.failure(fmt.Errorf("encode the notification: %w", err))
		r.failed.Add(1)
		return
	}
	wait := n.backoff
	for attempt := 1; ; attempt++ {
		retry, err := n.post(ctx, r, body)
		if err == nil {
			r.sent.Add(1)
			r.mu.Lock()
			r.lastSuccessAt = time.Now().UTC()
			r.mu.Unlock()
			return
		}
		r.failure(err)
		if !retry || attempt >= r.cfg.MaxAttempts || ctx.Err() != nil {
			r.failed.Add(1)
			n.log.Warn("alert notification failed", "receiver", r.cfg.Name, "rule", msg.Rule, "attempts", attempt, "error", r.lastErr())
			return
		}
		r.retries.Add(1)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			r.failed.Add(1)
			return
		case <-t.C:
		}
		wait = min(2*wait, maxBackoff)
	}
}

// post makes one attempt; retry says whether another may succeed. Its
// error never holds the URL.
func (n *notifier) post(ctx context.Context, r *receiver, body []byte) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return false, errors.New("the receiver's URL cannot be posted to")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "accord-alerts")
	resp, err := n.client.Do(req)
	if err != nil {
		// A url.Error quotes the URL, and the URL may hold a secret:
		// keep only what went wrong.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return true, fmt.Errorf("no answer within %s (alerts.receivers[].timeout)", r.cfg.Timeout)
		}
		return true, fmt.Errorf("post: %s", redact.BoundedError(err))
	}
	// The answer's body is read up to a bound (its error does not
	// matter: a 2xx is taken, even when its body is slow or cut).
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswerBytes))
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return true, fmt.Errorf("answered %d", resp.StatusCode)
	default:
		return false, fmt.Errorf("answered %d (not retried)", resp.StatusCode)
	}
}

func (r *receiver) failure(err error) {
	r.mu.Lock()
	r.lastError, r.lastErrorAt = redact.BoundedError(err), time.Now().UTC()
	r.mu.Unlock()
}

func (r *receiver) lastErr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastError
}

func (n *notifier) status() []ReceiverStatus {
	out := []ReceiverStatus{}
	for _, r := range n.order {
		s := ReceiverStatus{Name: r.cfg.Name, Format: r.cfg.Format, Queued: len(r.queue),
			Sent: r.sent.Load(), Failed: r.failed.Load(), Dropped: r.dropped.Load(), Retries: r.retries.Load()}
		r.mu.Lock()
		if !r.lastSuccessAt.IsZero() {
			at := r.lastSuccessAt
			s.LastSuccessAt = &at
		}
		if r.lastError != "" {
			at := r.lastErrorAt
			s.LastError, s.LastErrorAt = r.lastError, &at
		}
		r.mu.Unlock()
		out = append(out, s)
	}
	return out
}

// number formats a value without needless digits: 12, 0.05, 1234.5.
func number(v float64) string {
	return strconv.FormatFloat(math.Round(v*1e4)/1e4, 'f', -1, 64)
}

// percent formats a ratio as a percentage with at most one decimal.
func percent(v float64) string {
	s := strconv.FormatFloat(v*100, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0") + "%"
}

// roundAge rounds a duration to the second.
func roundAge(d time.Duration) string {
	return d.Round(time.Second).String()
}
