package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/redact"
	"github.com/accord-events/accord/internal/replay"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/web"
)

// FailedStore is where the failed-events API reads stored failed records
// and replays them: the configured sinks whose type reads back what it
// stored (sqlite, postgres, mysql). The application's is one.
type FailedStore interface {
	// Sources names the sinks failed records can be read from, the
	// default first.
	Sources() []string
	// ReadFailed calls fn with each failed record of source that q
	// selects, oldest first (ordered by collected_at, then by a key fixed
	// for the store), stopping at fn's first error.
	ReadFailed(ctx context.Context, source string, q sink.FailedQuery, fn func(*event.Envelope) error) error
	// Replay runs the records of source that q selects and whose event_id
	// is one of ids through today's contracts (package replay), writing
	// those now good to the sinks that lack them (none when dryRun).
	Replay(ctx context.Context, source string, q sink.FailedQuery, ids []string, dryRun bool) (ReplayResult, error)
}

// ErrUnknownSource is what a FailedStore returns for a source it lacks.
var ErrUnknownSource = errors.New("no such source of failed records")

// ReplayResult is what a replay from the API did.
type ReplayResult struct {
	Report   replay.Report   `json:"report"`
	Outcomes []ReplayOutcome `json:"outcomes"`
	// NotFound lists the ids asked for that no record selected had.
	NotFound []string `json:"not_found"`
}

// ReplayOutcome is what became of one record.
type ReplayOutcome struct {
	EventID string `json:"event_id"`
	Schema  string `json:"schema"`
	// Valid is whether the record validates now; Failure says why not.
	Valid   bool           `json:"valid"`
	Failure *event.Failure `json:"failure,omitempty"`
	// Skipped says why the record could not be replayed at all.
	Skipped string `json:"skipped,omitempty"`
}

// Bounds of the failed-events API.
const (
	defaultPage = 50
	maxPage     = 200
	// maxPageBytes bounds one page's records together; a page holds at
	// least one record, whatever its size.
	maxPageBytes = 4 << 20
	// maxReplayIDs bounds the records one replay request names.
	maxReplayIDs = 100
	// maxReplayBody bounds a replay request's body.
	maxReplayBody = 64 << 10
	// readTimeout bounds reading a page; replayTimeout a replay.
	readTimeout   = 20 * time.Second
	replayTimeout = 60 * time.Second
)

// errStop ends a read once the page is full.
var errStop = errors.New("page full")

// failedQuery reads the record filter: contract (a schema key or a prefix
// ending in / or -), type (repeatable), since and until (RFC 3339).
func failedQuery(contract string, types []string, since, until string) (sink.FailedQuery, error) {
	q := sink.FailedQuery{Schema: contract}
	if len(contract) > maxFilterBytes {
		return q, fmt.Errorf("contract is %d bytes; at most %d", len(contract), maxFilterBytes)
	}
	if len(types) > len(knownFailureTypes) {
		return q, fmt.Errorf("%d failure types given; there are %d", len(types), len(knownFailureTypes))
	}
	for _, s := range types {
		t, err := failureType(s)
		if err != nil {
			return q, err
		}
		if !slices.Contains(q.Types, t) {
			q.Types = append(q.Types, t)
		}
	}
	for _, b := range []struct {
		name, value string
		dst         *time.Time
	}{{"since", since, &q.Since}, {"until", until, &q.Until}} {
		if b.value == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, b.value)
		if err != nil || len(b.value) > 64 {
			return q, fmt.Errorf("%s %q is not an RFC 3339 time; write it like 2026-12-01T00:00:00Z", b.name, clip(b.value))
		}
		*b.dst = t
	}
	return q, nil
}

// cursor is where the next page starts: after the first K records
// collected at T (the order ReadFailed gives within one collected_at is
// the store's, so a count, not an id, marks the place).
type cursor struct {
	t time.Time
	k int
}

func (c cursor) String() string {
	return strconv.FormatInt(c.t.UnixMicro(), 10) + "." + strconv.Itoa(c.k)
}

func parseCursor(s string) (cursor, error) {
	bad := fmt.Errorf("cursor %q is not one this API gave; start again without it", clip(s))
	us, k, ok := strings.Cut(s, ".")
	if !ok || len(s) > 40 {
		return cursor{}, bad
	}
	micro, err1 := strconv.ParseInt(us, 10, 64)
	n, err2 := strconv.Atoi(k)
	if err1 != nil || err2 != nil || micro < 0 || n < 1 || n > 1<<30 {
		return cursor{}, bad
	}
	return cursor{t: time.UnixMicro(micro).UTC(), k: n}, nil
}

// sourceOf picks the source a request names, or the default.
func (a *Admin) sourceOf(name string) (string, error) {
	sources := a.deps.Failed.Sources()
	if len(sources) == 0 {
		return "", errors.New("no sink reads back its failed records: configure a sink of type sqlite, postgres or mysql selecting failed records (the default configuration has one, store)")
	}
	if name == "" {
		return sources[0], nil
	}
	if !slices.Contains(sources, name) {
		return "", fmt.Errorf("source %q is not a sink that reads back failed records; use one of %s", clip(name), strings.Join(sources, ", "))
	}
	return name, nil
}

// failedPage is GET /failed/records's answer.
type failedPage struct {
	Sources []string          `json:"sources"`
	Source  string            `json:"source"`
	Records []json.RawMessage `json:"records"`
	// NextCursor, when set, fetches the next page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// serveFailedRecords answers GET /failed/records: a page of the failed
// records a sink stored, oldest first, filtered by contract, failure type
// and collection time. See docs/api.md.
func (a *Admin) serveFailedRecords(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		web.MethodNotAllowed(w, r, "GET, HEAD")
		return
	}
	p := r.URL.Query()
	for k, vs := range p {
		switch k {
		case "source", "contract", "type", "since", "until", "cursor", "limit":
		default:
			web.WriteError(w, r, http.StatusBadRequest, web.ErrorBody{Error: fmt.Sprintf("unknown parameter %q; use source, contract, type, since, until, cursor and limit", clip(k))})
			return
		}
		if k != "type" && len(vs) > 1 {
			web.WriteError(w, r, http.StatusBadRequest, web.ErrorBody{Error: fmt.Sprintf("parameter %s is given %d times; give it once", k, len(vs))})
			return
		}
	}
	source, err := a.sourceOf(p.Get("source"))
	if err != nil {
		web.WriteError(w, r, http.StatusBadRequest, web.ErrorBody{Error: err.Error()})
		return
	}
	q, err := failedQuery(p.Get("contract"), p["type"], p.Get("since"), p.Get("until"))
	if err != nil {
		web.WriteError(w, r, http.StatusBadRequest, web.ErrorBody{Error: err.Error()})
		return
	}
	limit := defaultPage
	if s := p.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > maxPage {
			web.WriteError(w, r, http.StatusBadRequest, web.ErrorBody{Error: fmt.Sprintf("limit %q: use a number from 1 to %d", clip(s), maxPage)})
			return
		}
	}
	var cur cursor
	if s := p.Get("cursor"); s != "" {
		if cur, err = parseCursor(s); err != nil {
			web.WriteError(w, r, http.StatusBadRequest, web.ErrorBody{Error: err.Error()})
			return
		}
		if q.Since.IsZero() || cur.t.After(q.Since) {
			q.Since = cur.t
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), readTimeout)
	defer cancel()
	page := failedPage{Sources: a.deps.Failed.Sources(), Source: source, Records: []json.RawMessage{}}
	var size, skipped, run int
	var last time.Time
	more := false
	err = a.deps.Failed.ReadFailed(ctx, source, q, func(rec *event.Envelope) error {
		at := rec.CollectedAt.Time
		if cur.k > 0 && at.Equal(cur.t) && skipped < cur.k {
			skipped++
			return nil
		}
		if len(page.Records) == limit {
			more = true
			return errStop
		}
		b := rec.AppendJSON(nil)
		// The page stays within maxPageBytes: a record that would take it
		// over starts the next page (unless it is the first, alone).
		if len(page.Records) > 0 && size+len(b) > maxPageBytes {
			more = true
			return errStop
		}
		page.Records = append(page.Records, b)
		size += len(b)
		if len(page.Records) > 1 && at.Equal(last) {
			run++
		} else {
			last, run = at, 1
			if cur.k > 0 && at.Equal(cur.t) {
				run += cur.k
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		status := http.StatusServiceUnavailable
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("reading the page took longer than %s; narrow the filter (contract, type, since)", readTimeout)
		}
		// The error may quote what the store holds (a record's bad
		// timestamp, say), which a client sent: bounded.
		web.WriteError(w, r, status, web.ErrorBody{Error: "the failed records could not be read: " + redact.BoundedError(err)})
		return
	}
	if more {
		page.NextCursor = cursor{t: last, k: run}.String()
	}
	web.WriteJSON(w, http.StatusOK, page)
}

// replayRequest is POST /failed/replay's body.
type replayRequest struct {
	Source   string   `json:"source"`
	EventIDs []string `json:"event_ids"`
	Contract string   `json:"contract"`
	Types    []string `json:"types"`
	Since    string   `json:"since"`
	Until    string   `json:"until"`
	DryRun   bool     `json:"dry_run"`
}

// serveReplay answers POST /failed/replay: the records named by event_id
// (among those the filter selects) run through today's contracts, as
// accord replay --from-sink does, with the outcome of each.
func (a *Admin) serveReplay(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		web.MethodNotAllowed(w, r, http.MethodPost)
		return
	}
	// Only a script or this UI's fetch can send JSON: a form on another
	// site, riding on a browser's saved basic-auth credentials, cannot.
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		web.WriteError(w, r, http.StatusUnsupportedMediaType, web.ErrorBody{Error: "send the replay request as Content-Type: application/json"})
		return
	}
	var req replayRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxReplayBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		web.WriteError(w, r, http.StatusBadRequest, web.ErrorBody{Error: fmt.Sprintf("the body is not a replay request (at most %d bytes of JSON: source, event_ids, contract, types, since, until, dry_run): %s", maxReplayBody, clip(err.Error()))})
		return
	}
	if len(req.EventIDs) == 0 || len(req.EventIDs) > maxReplayIDs {
		web.WriteError(w, r, http.StatusBadRequest, web.ErrorBody{Error: fmt.Sprintf("event_ids holds %d ids; name from 1 to %d records to replay", len(req.EventIDs), maxReplayIDs)})
		return
	}
	for _, id := range req.EventIDs {
		if id == "" || len(id) > 255 {
			web.WriteError(w, r, http.StatusBadRequest, web.ErrorBody{Error: "an event_id is empty or longer than 255 bytes; no record has such an id"})
			return
		}
	}
	source, err := a.sourceOf(req.Source)
	if err != nil {
		web.WriteError(w, r, http.StatusBadRequest, web.ErrorBody{Error: err.Error()})
		return
	}
	q, err := failedQuery(req.Contract, req.Types, req.Since, req.Until)
	if err != nil {
		web.WriteError(w, r, http.StatusBadRequest, web.ErrorBody{Error: err.Error()})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), replayTimeout)
	defer cancel()
	res, err := a.deps.Failed.Replay(ctx, source, q, req.EventIDs, req.DryRun)
	if err != nil {
		status := http.StatusServiceUnavailable
		if errors.Is(err, replay.ErrReplayRunning) {
			status = http.StatusConflict
		}
		web.WriteError(w, r, status, web.ErrorBody{Error: "replay: " + err.Error()})
		return
	}
	web.WriteJSON(w, http.StatusOK, res)
}
