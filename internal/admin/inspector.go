package admin

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/inspect"
	"github.com/accord-events/accord/internal/web"
)

// DefaultHeartbeat is how often an idle inspector stream says it is alive
// (Deps.Heartbeat): often enough for proxies that close idle connections
// after 30 or 60 seconds.
const DefaultHeartbeat = 15 * time.Second

// maxFilterBytes bounds a filter value in a query string.
const maxFilterBytes = 512

// knownFailureTypes are the failure types a filter may name.
var knownFailureTypes = []event.FailureType{event.SizeViolation, event.PayloadFormatViolation, event.ProtocolViolation, event.SchemaNotFound, event.SchemaViolation, event.UnplannedEvent}

func failureType(s string) (event.FailureType, error) {
	for _, t := range knownFailureTypes {
		if string(t) == s {
			return t, nil
		}
	}
	return "", fmt.Errorf("type %q is not a failure type; use size_violation, payload_format_violation, protocol_violation, schema_not_found, schema_violation or unplanned_event", clip(s))
}

// clip bounds a value from a request echoed in an error.
func clip(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:64])[1:] + "..."
	}
	return s
}

// name reports whether s is a sensible protocol or sink name.
func name(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// inspectorFilter reads the stream's filter from the query string.
func inspectorFilter(r *http.Request) (inspect.Filter, error) {
	q := r.URL.Query()
	for k, vs := range q {
		switch k {
		case "contract", "protocol", "valid", "type":
		default:
			return inspect.Filter{}, fmt.Errorf("unknown parameter %q; the filters are contract, protocol, valid (good or failed) and type (a failure type)", clip(k))
		}
		if len(vs) > 1 {
			return inspect.Filter{}, fmt.Errorf("parameter %s is given %d times; give it once", k, len(vs))
		}
		if len(vs[0]) > maxFilterBytes {
			return inspect.Filter{}, fmt.Errorf("parameter %s is %d bytes; at most %d", k, len(vs[0]), maxFilterBytes)
		}
	}
	f := inspect.Filter{Contract: q.Get("contract"), Protocol: q.Get("protocol"), Valid: q.Get("valid")}
	if f.Protocol != "" && !name(f.Protocol) {
		return f, fmt.Errorf("protocol %q is not a protocol name; use selfdesc, snowplow, segment, cloudevents, webhook or pixel", clip(f.Protocol))
	}
	switch f.Valid {
	case "", "good", "failed":
	default:
		return f, fmt.Errorf("valid %q: use good, failed, or leave it out for both", clip(f.Valid))
	}
	if t := q.Get("type"); t != "" {
		ft, err := failureType(t)
		if err != nil {
			return f, err
		}
		if f.Valid == "good" {
			return f, errors.New("type selects failed records and valid=good only good ones: nothing would match; drop one of them")
		}
		f.FailureType = ft
	}
	return f, nil
}

// serveInspector answers GET /inspector/stream: the records the collector
// stores, as server-sent events, each "event: record" holding one envelope
// as stored (after privacy). "event: dropped" says how many records the
// filter selected that this viewer was not sent (its buffer was full, its
// rate spent or its bytes budget at its end), whenever the count grows; a comment line every heartbeat
// keeps proxies from closing an idle stream. See docs/ui.md.
func (a *Admin) serveInspector(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		web.MethodNotAllowed(w, r, http.MethodGet)
		return
	}
	filter, err := inspectorFilter(r)
	if err != nil {
		web.WriteError(w, r, http.StatusBadRequest, web.ErrorBody{Error: err.Error()})
		return
	}
	tap := a.deps.Inspector
	v, err := tap.Subscribe(filter)
	if err != nil {
		w.Header().Set("Retry-After", "10")
		msg := "the collector is shutting down"
		if errors.Is(err, inspect.ErrTooManyViewers) {
			msg = fmt.Sprintf("%d inspector viewers are watching already, the most the collector serves at once; close one, or try again later", inspect.MaxViewers)
		}
		web.WriteError(w, r, http.StatusServiceUnavailable, web.ErrorBody{Error: msg})
		return
	}
	defer tap.Unsubscribe(v)

	rc := http.NewResponseController(w)
	// The stream outlives server.read_timeout and write_timeout: with
	// them in force the server would cut it. Each write gets its own
	// deadline instead, so a viewer that stops reading is let go.
	if err := rc.SetReadDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache, no-store, no-transform")
	// Reverse proxies (nginx) pass the stream on as it comes.
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	heartbeat := a.deps.Heartbeat
	if heartbeat <= 0 {
		heartbeat = DefaultHeartbeat
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	// The drop count is sent at most a few times a second.
	dropTick := time.NewTicker(250 * time.Millisecond)
	defer dropTick.Stop()
	var buf []byte
	var sentDropped uint64
	// taken is the bytes of the records in buf: they count against the
	// viewer's bytes budget until they are written out.
	taken := 0
	flush := func() bool {
		if err := rc.SetWriteDeadline(time.Now().Add(30 * time.Second)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return false
		}
		if _, err := w.Write(buf); err != nil {
			return false
		}
		v.Release(taken)
		taken = 0
		// A write of large records is not kept for the next one: what
		// the viewer holds between writes stays within its budget.
		if cap(buf) > 64<<10 {
			buf = nil
		} else {
			buf = buf[:0]
		}
		return rc.Flush() == nil
	}
	buf = fmt.Appendf(buf, "retry: 2000\nevent: hello\ndata: {\"rate\":%d,\"buffer\":%d,\"buffer_bytes\":%d,\"max_record_bytes\":%d}\n\n",
		inspect.Rate, inspect.Buffer, inspect.ViewerBytes, inspect.MaxRecordBytes)
	if !flush() {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tap.Done():
			buf = append(buf, "event: bye\ndata: {\"reason\":\"the collector is shutting down\"}\n\n"...)
			flush()
			return
		case <-tick.C:
			buf = append(buf, ": heartbeat\n\n"...)
		case <-dropTick.C:
			if d := v.Dropped(); d != sentDropped {
				sentDropped = d
				buf = fmt.Appendf(buf, "event: dropped\ndata: {\"dropped\":%d}\n\n", d)
			}
		case rec := <-v.Records():
			buf, taken = appendRecord(buf, rec), taken+len(rec)
			// Whatever else waits goes in the same write, up to a bound.
		more:
			for range 63 {
				select {
				case rec := <-v.Records():
					buf, taken = appendRecord(buf, rec), taken+len(rec)
				default:
					break more
				}
			}
		}
		if len(buf) > 0 && !flush() {
			return
		}
	}
}

// appendRecord appends one record event. A record's JSON has no newline
// (strings escape it), so it is one data line.
func appendRecord(buf, rec []byte) []byte {
	buf = append(buf, "event: record\ndata: "...)
	if !bytes.ContainsAny(rec, "\r\n") {
		return append(append(buf, rec...), "\n\n"...)
	}
	for _, c := range rec {
		if c == '\n' || c == '\r' {
			continue // never the case; a stray one would cut the event
		}
		buf = append(buf, c)
	}
	return append(buf, "\n\n"...)
}
