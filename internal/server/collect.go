package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/pipeline"
	"github.com/accord-events/accord/internal/protocol"
	"github.com/accord-events/accord/internal/web"
)

// keptOfOversized is how much of an oversized body a size_violation record
// keeps: enough to see what it was, bounded so a flood cannot fill the store.
const keptOfOversized = 1024

// bodyPool recycles request body buffers. A body's bytes back the records'
// payloads until Deliver returns (or releases the records, ReleasesRecords),
// and are not touched after that.
var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// inputsPool recycles the memory lent to decoders for a request's inputs
// (protocol.Request.Inputs): the records made from them keep none of it,
// so it is free again once the pipeline has run. It starts with room for
// one event, what most requests from browsers and apps hold, and keeps
// the larger room a decoder allocated for a request that held more (up
// to server.max_events_per_request), so that batches stop allocating
// theirs: 27 KB a 100-event request, 10 % of what it allocated.
var inputsPool = sync.Pool{New: func() any { return &lentInputs{room: make([]event.Input, 1)} }}

// lentInputs is the memory a request lends its decoder for its inputs.
type lentInputs struct {
	room []event.Input
	// set is how many of room's first inputs may hold a request's
	// values, to be zeroed before room is lent again.
	set int
}

// took notes what the decoder returned: inputs in room, or in memory of
// its own, which room becomes when larger (and no larger than most),
// so that the next request as large finds it.
func (l *lentInputs) took(inputs []event.Input, most int) {
	switch {
	case len(inputs) > 0 && unsafe.SliceData(inputs) == unsafe.SliceData(l.room):
		l.set = max(l.set, len(inputs))
	case cap(inputs) > len(l.room) && cap(inputs) <= most:
		// The decoder may have begun in room before it outgrew it.
		clear(l.room)
		l.room, l.set = inputs[:cap(inputs)], len(inputs)
	default:
		l.set = len(l.room) // whatever the decoder did, room is zeroed
	}
}

// putInputs zeroes what a request set, keeping nothing of it alive, and
// gives the room back.
func putInputs(l *lentInputs) {
	clear(l.room[:l.set])
	l.set = 0
	inputsPool.Put(l)
}

// maxReportedFailures is how many failures the answer to a request lists in
// full; past it, failures are only counted by type, so that the answer stays
// small whatever the request holds (each failure is stored in full).
const maxReportedFailures = 100

// maxReportedMessages is how many messages of one failure the answer lists.
const maxReportedMessages = 10

// response is the JSON answer to a request whose events could be read.
type response struct {
	Received int             `json:"received"`
	Good     int             `json:"good"`
	Failed   int             `json:"failed"`
	Failures []failureReport `json:"failures"`
	// FailuresOmitted counts the failures past the first
	// maxReportedFailures, which are not listed; FailureCounts counts every
	// failure by type. Both are set only when failures were omitted.
	FailuresOmitted int                       `json:"failures_omitted,omitempty"`
	FailureCounts   map[event.FailureType]int `json:"failure_counts,omitempty"`
}

type failureReport struct {
	Index    int               `json:"index"`
	EventID  string            `json:"event_id"`
	Type     event.FailureType `json:"type"`
	Messages []event.Message   `json:"messages"`
}

func (s *Server) collect(ep protocol.Endpoint) http.Handler {
	return s.collectTo(ep, s.deliverer, false)
}

// Check answers a request as the endpoint ep answers it (the same body
// limits, the same decoding, the same pipeline and the same answer), but
// stores nothing and counts nothing: the web UI's playground, which shows
// what the collector would say of an event. It is served on the admin
// surface, never among the collection routes.
func (s *Server) Check(ep protocol.Endpoint) http.Handler {
	return s.collectTo(ep, nowhere{}, true)
}

// nowhere takes records and keeps none: what a check delivers to.
type nowhere struct{}

func (nowhere) Deliver(context.Context, []*event.Envelope) error { return nil }

func (nowhere) KeepsNoRecords() bool { return true }

// recordsPool recycles the memory a request's records are made in, for a
// Deliverer that keeps none of them (KeepsNoRecords); what a request made
// is zeroed when given back.
var recordsPool sync.Pool

func init() {
	recordsPool.New = func() any {
		m := new(pooledRecords)
		m.release = func() {
			m.mem.Clear()
			if m.body != nil {
				bodyPool.Put(m.body)
				m.body = nil
			}
			recordsPool.Put(m)
		}
		return m
	}
}

// pooledRecords is the memory of one request's records, with the function
// that gives it back, made once so that handing it to a Deliverer
// (ReleasesRecords) allocates nothing. body, when set, is the request's
// body, whose bytes the records' payloads are: given back with them.
type pooledRecords struct {
	mem     pipeline.Records
	body    *bytes.Buffer
	release func()
}

// collectTo serves ep, delivering what it reads to d; a dry run (Check)
// leaves the protocols' refusal counters and their after-storage hooks
// alone, since nothing was stored.
func (s *Server) collectTo(ep protocol.Endpoint, d Deliverer, dry bool) http.Handler {
	methods := ep.AllowedMethods()
	allow := strings.Join(methods, ", ")
	reuse := keepsNoRecords(d)
	releaser, _ := d.(ReleasesRecords)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !slices.Contains(methods, r.Method) {
			methodNotAllowed(w, r, allow)
			return
		}
		// A slot among the requests in flight, then room for the body,
		// both within one wait and before the body is read (a body of
		// unknown size takes its room as it is read); both are held
		// until the request is answered, as its records and their
		// spool frames are.
		took, until, err := s.requests.take(r)
		if err != nil {
			s.busy(w, r, err)
			return
		}
		if took {
			defer s.requests.release()
		}
		room, err := s.bodies.reserve(r, until)
		if err != nil {
			s.busy(w, r, err)
			return
		}
		defer s.bodies.release(&room)
		preq := pipeline.Request{
			Context:     r.Context(),
			Protocol:    ep.Protocol,
			RequestID:   requestID(r),
			Source:      s.source(r),
			CollectedAt: now(),
			Header:      r.Header,
		}
		// Given back when the request ends, or with its records when the
		// Deliverer releases them (buf is nil from then on).
		buf := bodyPool.Get().(*bytes.Buffer)
		buf.Reset()
		defer func() {
			if buf != nil {
				bodyPool.Put(buf)
			}
		}()

		perr, noRoom := s.readBody(r, buf, &room)
		if noRoom != nil {
			// Nothing of it is stored: what was read is dropped.
			s.busy(w, r, noRoom)
			return
		}
		if perr != nil {
			// Keep what was read so nothing is lost, bounded for oversized bodies.
			raw := buf.Bytes()
			if perr.Failure.Type == event.SizeViolation && len(raw) > keptOfOversized {
				raw = raw[:keptOfOversized]
			}
			s.reject(w, r, d, preq, perr, raw)
			return
		}
		// The query is parsed into url.Values only by the protocols that
		// read them (protocol.Request.Values): Snowplow's GET /i reads the
		// raw query itself, in one pass, which costs less than the map.
		// A GET carries its event in the query (the pixel, Snowplow's /i):
		// a pair that cannot be read would be dropped silently and the hit
		// stored as valid without it. It is refused instead, and stored
		// with the query as sent.
		// An endpoint whose decoder checks the query as it reads it
		// returns the same error itself (protocol.Endpoint.ChecksQuery).
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && !ep.ChecksQuery {
			if qerr := protocol.CheckQuery(r.URL.RawQuery); qerr != nil {
				perr := protocol.QueryError(qerr, r.URL.RawQuery)
				s.reject(w, r, d, preq, perr, perr.Raw)
				return
			}
		}
		mediaType, params := mediaTypeOf(web.Header(r.Header, "Content-Type"))
		// The inputs are given back once the pipeline has made records of
		// them (which keep none of their memory), before the records are
		// stored; on every other way out, when the request ends.
		lent := inputsPool.Get().(*lentInputs)
		defer func() {
			if lent != nil {
				putInputs(lent)
			}
		}()
		inputs, reply, err := ep.Decode(&protocol.Request{
			Method:    r.Method,
			Path:      r.URL.Path,
			Header:    r.Header,
			RawQuery:  r.URL.RawQuery,
			MediaType: mediaType,
			Params:    params,
			Body:      buf.Bytes(),
			PathValue: r.PathValue,
			MaxEvents: s.cfg.MaxEventsPerRequest,
			Inputs:    lent.room,
		})
		lent.took(inputs, max(s.cfg.MaxEventsPerRequest, 1))
		if err != nil {
			var perr *protocol.Error
			if !errors.As(err, &perr) {
				perr = protocol.Errorf(http.StatusBadRequest, event.PayloadFormatViolation, "%v", err)
			}
			if perr.Refused {
				s.refuse(w, r, ep, perr, !dry)
				return
			}
			raw := buf.Bytes()
			switch {
			case perr.Raw != nil:
				raw = perr.Raw
			case r.Method == http.MethodGet:
				raw = []byte(r.URL.RawQuery)
			}
			s.reject(w, r, d, preq, perr, raw)
			return
		}
		if perr := protocol.TooManyEvents(len(inputs), s.cfg.MaxEventsPerRequest); perr != nil {
			// A protocol that does not check the cap as it reads: still
			// nothing beyond the cap is processed or stored.
			s.reject(w, r, d, preq, perr, buf.Bytes())
			return
		}
		if reply != nil && reply.OmitIP {
			preq.Source.IP = ""
		}
		// Lookups in registry backends must leave time to answer within
		// server.write_timeout: they stop at three quarters of it.
		if s.cfg.WriteTimeout > 0 {
			preq.LookupDeadline = time.Now().Add(s.cfg.WriteTimeout * 3 / 4)
		}
		var records []*event.Envelope
		var pooled *pooledRecords
		if reuse {
			// Given back as soon as the Deliverer has read them
			// (ReleasesRecords), or else once the request is answered:
			// the answer and the stored encoding are all that is left
			// of them.
			pooled = recordsPool.Get().(*pooledRecords)
			defer func() {
				if pooled != nil {
					pooled.release()
				}
			}()
			records = s.pipeline.ProcessInto(preq, inputs, &pooled.mem)
		} else {
			records = s.pipeline.Process(preq, inputs)
		}
		putInputs(lent)
		lent = nil
		// The answer is made before the records are stored, so that
		// nothing here keeps them (nor the decoded request they point
		// into) while the spool's group commit is awaited: at full
		// batched load nearly every request in flight is waiting there,
		// and only their encoded frames are needed for it.
		ans := answerFor(records)
		if pooled != nil && releaser != nil {
			// Given back by the Deliverer, with the body, unless it
			// refuses the records as too large (ReleasesRecords).
			pooled.body = buf
			err = releaser.DeliverReleasing(r.Context(), records, pooled.release)
			if isTooLarge(err) {
				pooled.body = nil
			} else {
				pooled, buf = nil, nil
			}
		} else {
			err = d.Deliver(r.Context(), records)
		}
		records = nil
		if err != nil {
			if isTooLarge(err) {
				// Sending it again would not help: keep its first bytes,
				// as for an oversized body, and say so.
				raw := buf.Bytes()
				if len(raw) > keptOfOversized {
					raw = raw[:keptOfOversized]
				}
				s.reject(w, r, d, preq, protocol.Errorf(http.StatusRequestEntityTooLarge, event.SizeViolation,
					"the request's events are too large to store together (%v); send fewer or smaller events per request", err), raw)
				return
			}
			s.unavailable(w, r, err)
			return
		}
		if reply == nil {
			ans.write(w, http.StatusOK)
			return
		}
		if reply.Stored != nil && !dry {
			reply.Stored()
		}
		for k, vs := range reply.Header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		status := reply.Status
		if status == 0 {
			status = http.StatusOK
		}
		if reply.Body == nil {
			ans.write(w, status)
			return
		}
		w.Header().Set("Content-Type", reply.ContentType)
		w.Header().Set("Content-Length", strconv.Itoa(len(reply.Body)))
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			_, _ = w.Write(reply.Body)
		}
	})
}

// refuse answers a request refused outright; nothing of it is stored.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, ep protocol.Endpoint, perr *protocol.Error, count bool) {
	if count {
		s.counters.Add(ep.Protocol+"."+perr.Reason, 1)
	}
	s.log.Debug("request refused", "protocol", ep.Protocol, "reason", perr.Reason, "request_id", requestID(r))
	msg := perr.Error()
	if len(perr.Failure.Messages) > 0 {
		msg = perr.Failure.Messages[0].Message
	}
	writeError(w, r, perr.Status, errorBody{Error: msg})
}

// answer is what a request's records are answered with: how many there
// were, and, unless every one is good, the report of its failures,
// encoded: its text (event ids, messages) may be in the records' memory or
// the body's, which the next requests take once the records are released
// (ReleasesRecords), before the answer is written.
type answer struct {
	n      int
	report []byte
	// unencoded: the report could not be encoded, and report says so
	// (web.EncodeJSON); answered 500, as web.WriteJSON does.
	unencoded bool
}

// answerFor makes the answer to records: report(records), or just their
// number when every record is good, which is most requests.
func answerFor(records []*event.Envelope) answer {
	for _, rec := range records {
		if !rec.Valid {
			b, ok := web.EncodeJSON(report(records))
			return answer{n: len(records), report: b, unencoded: !ok}
		}
	}
	return answer{n: len(records)}
}

// write answers with the report. When every record is good it writes the
// same bytes json.Marshal would, without reflection or the failure
// counts' map: the answer is part of every single-event request's cost.
func (a answer) write(w http.ResponseWriter, status int) {
	b := a.report
	if b == nil {
		var buf [96]byte
		b = appendAllGood(buf[:0], a.n)
	}
	if a.unencoded {
		status = http.StatusInternalServerError
	}
	web.WriteJSONBytes(w, status, b)
}

// appendAllGood appends the answer (with web.WriteJSON's trailing
// newline) to n records that are all good.
func appendAllGood(b []byte, n int) []byte {
	b = append(b, `{"received":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, `,"good":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, `,"failed":0,"failures":[]}`+"\n"...)
}

func report(records []*event.Envelope) response {
	resp := response{Received: len(records), Failures: []failureReport{}}
	counts := map[event.FailureType]int{}
	for i, rec := range records {
		if rec.Valid {
			resp.Good++
			continue
		}
		resp.Failed++
		counts[rec.Failure.Type]++
		if len(resp.Failures) == maxReportedFailures {
			resp.FailuresOmitted++
			continue
		}
		msgs := rec.Failure.Messages
		if len(msgs) > maxReportedMessages {
			msgs = append(msgs[:maxReportedMessages:maxReportedMessages], event.Message{
				Message: fmt.Sprintf("%d more messages are in the failed record", len(rec.Failure.Messages)-maxReportedMessages)})
		}
		resp.Failures = append(resp.Failures, failureReport{Index: i, EventID: rec.EventID, Type: rec.Failure.Type, Messages: msgs})
	}
	if resp.FailuresOmitted > 0 {
		resp.FailureCounts = counts
	}
	return resp
}

// reject stores a request that could not be read as events as one failed
// record holding raw, then answers with perr's status.
func (s *Server) reject(w http.ResponseWriter, r *http.Request, d Deliverer, preq pipeline.Request, perr *protocol.Error, raw []byte) {
	rec := s.pipeline.Reject(preq, perr.Failure, raw)
	if err := d.Deliver(r.Context(), []*event.Envelope{rec}); err != nil {
		s.unavailable(w, r, err)
		return
	}
	msg := perr.Error()
	if len(perr.Failure.Messages) > 0 {
		msg = perr.Failure.Messages[0].Message
	}
	writeError(w, r, perr.Status, errorBody{Error: msg, Failure: perr.Failure, EventID: rec.EventID})
}

// unavailable answers a request whose records could not be stored: nothing
// was acknowledged, so the client should send it again.
func (s *Server) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		// The client went away mid-request: nothing to answer, and not an
		// error of ours. What was stored is deduplicated when it retries.
		s.log.Debug("client left before its records were stored", "request_id", requestID(r), "err", err)
		return
	}
	w.Header().Set("Retry-After", retryAfterSeconds)
	if isAccepted(err) {
		// The records are in the spool and will be delivered: a resend
		// would store them twice. Not a fault of ours either: a sink is
		// behind, which its runner logs; warn now and then.
		if now := time.Now().UnixNano(); now-s.ackLoggedAt.Load() > int64(fullLogEvery) {
			s.ackLoggedAt.Store(now)
			s.log.Warn("spool.ack_timeout passed: answering 503 with the records kept in the spool", "err", err)
		}
		writeError(w, r, http.StatusServiceUnavailable, errorBody{Accepted: true, Error: "the events were accepted and are kept in the spool, " +
			"but not every sink delivered them within spool.ack_timeout; they will be delivered as the sinks recover. " +
			"Do not send them again: a resend is stored a second time (an event that carries its own event_id is stored once only by sinks that deduplicate on it, such as sqlite)"})
		return
	}
	if isBackpressure(err) {
		// Backpressure, not a fault: warn now and then, not per request.
		if now := time.Now().UnixNano(); now-s.fullLoggedAt.Load() > int64(fullLogEvery) {
			s.fullLoggedAt.Store(now)
			s.log.Warn("spool full: answering 503 until sinks catch up", "err", err)
		}
		writeError(w, r, http.StatusServiceUnavailable, errorBody{Error: "the collector cannot take more events until its sinks catch up (its spool is full); nothing was accepted, send them again later"})
		return
	}
	s.log.Error("deliver records", "request_id", requestID(r), "err", err)
	writeError(w, r, http.StatusServiceUnavailable, errorBody{Error: "the events could not be stored and were not accepted; send them again later"})
}

// isTooLarge reports whether err says the records can never be taken as
// they are (too large together): an error in its chain has a TooLarge
// method that returns true. A nil err is answered first: errors.As's
// target escapes, which would cost an allocation on every request.
func isTooLarge(err error) bool {
	if err == nil {
		return false
	}
	var tl interface{ TooLarge() bool }
	return errors.As(err, &tl) && tl.TooLarge()
}

// isAccepted reports whether err says the records were taken although the
// request could not be acknowledged as asked (spool.ack_timeout passed): an
// error in its chain has an Accepted method that returns true.
func isAccepted(err error) bool {
	var a interface{ Accepted() bool }
	return errors.As(err, &a) && a.Accepted()
}

// isBackpressure reports whether err says the records could not be taken
// for now because delivery is behind (the spool is full): an error in its
// chain has a Backpressure method that returns true. Asking the error,
// rather than matching a sentinel, keeps the server from importing the spool.
func isBackpressure(err error) bool {
	var bp interface{ Backpressure() bool }
	return errors.As(err, &bp) && bp.Backpressure()
}

// retryAfterSeconds is the Retry-After of a 503: long enough for a sink to
// make room, short enough that clients do not hold events for long.
const retryAfterSeconds = "5"

// fullLogEvery is how often a full spool is logged while it stays full.
const fullLogEvery = 10 * time.Second

// presizedBody is the most of an announced Content-Length a body's buffer
// is sized for before any of it is read.
const presizedBody = 64 << 10

// readBody reads the request body into buf, decompressing gzip, within the
// configured limit. On error, buf holds what was read. A body of unknown
// size reserves room in room as it is read; when it finds none in time,
// noRoom is errBusy or the request context's error, and nothing of the
// body is to be kept.
func (s *Server) readBody(r *http.Request, buf *bytes.Buffer, room *hold) (perr *protocol.Error, noRoom error) {
	limit := s.cfg.MaxBodyBytes
	if r.ContentLength > limit {
		// Keep the first bytes for the record, without reading the rest.
		_, _ = io.CopyN(buf, r.Body, keptOfOversized)
		return tooLarge(limit), nil
	}
	var body io.Reader = http.MaxBytesReader(nil, r.Body, limit)
	switch enc := strings.ToLower(strings.TrimSpace(web.Header(r.Header, "Content-Encoding"))); enc {
	case "", "identity":
		if r.ContentLength > 0 {
			// Room for the body as announced and for the read that
			// finds its end: growing by doubling left a 33 KB body of
			// 100 events in a 64 KB buffer, which the pool then kept.
			// At most presizedBody up front, so that a client announcing
			// a large body and sending little makes it take no more.
			buf.Grow(int(min(r.ContentLength, presizedBody)) + bytes.MinRead)
			// Its room is reserved whole: read it as it is (a chunked
			// body takes the read below, reserving as it reads).
			n, err := buf.ReadFrom(io.LimitReader(body, limit+1))
			return s.readError(n, err), nil
		}
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return tooLarge(limit), nil
			}
			if _, noRoom := s.bodies.readGrowing(r.Context(), room, buf, r.Body, limit); noRoom != nil {
				return nil, noRoom
			}
			return protocol.Errorf(http.StatusBadRequest, event.PayloadFormatViolation, "the body is not valid gzip (%v); send gzip data with Content-Encoding: gzip, or drop the header", err), nil
		}
		defer zr.Close()
		body = zr
	default:
		return protocol.Errorf(http.StatusUnsupportedMediaType, event.PayloadFormatViolation, "Content-Encoding %q is not supported; send the body as is or gzip-compressed", enc), nil
	}
	// Read one byte past the limit to tell "exactly at" from "over".
	start := buf.Len()
	err, noRoom := s.bodies.readGrowing(r.Context(), room, buf, body, limit+1)
	if noRoom != nil {
		return nil, noRoom
	}
	return s.readError(int64(buf.Len()-start), err), nil
}

// readError is what readBody makes of reading n bytes of a body (at most
// max_body_bytes + 1) ending with err.
func (s *Server) readError(n int64, err error) *protocol.Error {
	limit := s.cfg.MaxBodyBytes
	switch {
	case n > limit:
		return tooLarge(limit)
	case err == nil:
		return nil
	}
	// Declared here, not above: errors.As takes its address, which puts
	// it on the heap, once a request when it was declared for every body.
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return tooLarge(limit)
	}
	return protocol.Errorf(http.StatusBadRequest, event.PayloadFormatViolation, "the body could not be read: %v", err)
}

func tooLarge(limit int64) *protocol.Error {
	return protocol.Errorf(http.StatusRequestEntityTooLarge, event.SizeViolation,
		"the body is larger than the limit of %d bytes (server.max_body_bytes); send fewer events per request", limit)
}

// mediaTypeOf reads a Content-Type header: the media type in lower case
// and its parameters; none when it cannot be read. The types the
// protocols take, sent without parameters, are known without
// mime.ParseMediaType, which lower-cases and allocates (about 1,500
// instructions a request).
func mediaTypeOf(v string) (string, map[string]string) {
	switch v {
	case "", "application/json", "application/x-ndjson", "text/plain",
		"application/x-www-form-urlencoded", "application/cloudevents+json",
		"application/cloudevents-batch+json":
		return v, nil
	}
	mediaType, params, _ := mime.ParseMediaType(v)
	return strings.ToLower(mediaType), params
}

// source describes where the request came from. Its text fields are copied
// into every record of the request, so each is cut to
// server.max_source_field_bytes.
func (s *Server) source(r *http.Request) event.Source {
	limit := s.cfg.MaxSourceFieldBytes
	return event.Source{
		IP:        s.clientIP(r),
		UserAgent: cut(web.Header(r.Header, "User-Agent"), limit),
		Referer:   cut(web.Header(r.Header, "Referer"), limit),
		Origin:    cut(web.Header(r.Header, "Origin"), limit),
		Path:      cut(r.URL.Path, limit),
	}
}

// cut returns at most the first n bytes of s, ending on a UTF-8 character
// boundary so that text stays text; n <= 0 keeps s whole.
func cut(s string, n int) string {
	if n <= 0 || len(s) <= n {
		return s
	}
	for i := 0; i < utf8.UTFMax && n > 0 && !utf8.RuneStart(s[n]); i++ {
		n--
	}
	return s[:n]
}

func (s *Server) clientIP(r *http.Request) string {
	if s.cfg.TrustForwarded {
		if xff := web.Header(r.Header, "X-Forwarded-For"); xff != "" {
			first, _, _ := strings.Cut(xff, ",")
			if ip := net.ParseIP(strings.TrimSpace(first)); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
