package event

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/accord-events/accord/internal/jsonscan"
)

// AppendJSON appends the envelope as one line of compact JSON (no trailing
// newline) to dst and returns the extended buffer. An envelope that carries
// its encoding (JSON) is copied, not encoded again.
//
// It is written by hand because every record is encoded at least once on the
// hot path and encoding/json's reflection and RawMessage re-validation cost
// several times more; TestAppendJSONMatchesEncodingJSON keeps it honest.
func (e *Envelope) AppendJSON(dst []byte) []byte {
	if len(e.JSON) > 0 {
		return append(dst, e.JSON...)
	}
	dst = append(dst, `{"event_id":`...)
	dst = appendString(dst, e.EventID)
	dst = append(dst, `,"request_id":`...)
	dst = appendString(dst, e.RequestID)
	dst = append(dst, `,"collected_at":`...)
	collected := len(dst)
	dst = appendTime(dst, e.CollectedAt)
	collectedAt := dst[collected:len(dst):len(dst)]
	dst = append(dst, `,"sent_at":`...)
	dst = appendTime(dst, e.SentAt)
	dst = append(dst, `,"created_at":`...)
	dst = appendTime(dst, e.CreatedAt)
	dst = append(dst, `,"event_time":`...)
	if e.EventTime.Equal(e.CollectedAt.Time) && !e.EventTime.IsZero() {
		// Most events carry no time of their own: the same instant,
		// so the same text (appendTime reads nothing else of it).
		dst = append(dst, collectedAt...)
	} else {
		dst = appendTime(dst, e.EventTime)
	}
	dst = e.appendKeyRun(dst)
	dst = append(dst, `,"namespace":`...)
	dst = appendString(dst, e.Namespace)
	dst = append(dst, `,"valid":`...)
	dst = strconv.AppendBool(dst, e.Valid)
	dst = append(dst, `,"payload":`...)
	dst = appendRaw(dst, e.Payload)
	dst = append(dst, `,"contexts":`...)
	dst = AppendContexts(dst, e.Contexts)
	dst = append(dst, `,"attributes":`...)
	dst = appendRaw(dst, e.Attributes)
	dst = append(dst, `,"source":`...)
	dst = e.Source.AppendJSON(dst)
	dst = append(dst, `,"identity":`...)
	dst = e.Identity.AppendJSON(dst)
	dst = append(dst, `,"collector":`...)
	dst = e.Collector.appendCached(dst)
	dst = append(dst, `,"fingerprint":`...)
	dst = appendString(dst, e.Fingerprint)
	if !e.ReplayedAt.IsZero() {
		dst = append(dst, `,"replayed_at":`...)
		dst = appendTime(dst, e.ReplayedAt)
	}
	if e.OriginalEventID != "" {
		dst = append(dst, `,"original_event_id":`...)
		dst = appendString(dst, e.OriginalEventID)
	}
	if e.Failure != nil {
		dst = append(dst, `,"failure":`...)
		dst = e.Failure.AppendJSON(dst)
	}
	if e.RawEncoding != "" {
		dst = append(dst, `,"raw":`...)
		dst = appendString(dst, e.Raw)
		dst = append(dst, `,"raw_encoding":`...)
		dst = appendString(dst, e.RawEncoding)
	}
	return append(dst, '}')
}

// SizeHint returns how many bytes AppendJSON appends for e when none of
// its texts needs escaping and none of its raw JSON holds a line break,
// and fewer when one does (TestSizeHint). A caller encoding many records
// sizes its buffer once with it, instead of growing it again and again,
// copying what it holds each time, while it encodes them.
func (e *Envelope) SizeHint() int {
	if len(e.JSON) > 0 {
		return len(e.JSON)
	}
	n := len(`{"event_id":"","request_id":"","collected_at":,"sent_at":,"created_at":,"event_time":`+
		`,"protocol":"","schema":"","vendor":"","name":"","version":"","namespace":"","valid":,"payload":,"contexts":[]`+
		`,"attributes":,"source":{"ip":"","user_agent":"","referer":"","origin":"","path":""}`+
		`,"identity":{"user_id":"","anonymous_id":"","network_user_id":""}`+
		`,"collector":{"name":"","version":"","env":"","host":""},"fingerprint":""}`) +
		len(e.EventID) + len(e.RequestID) + len(e.Protocol) + len(e.Schema) + len(e.Vendor) + len(e.Name) +
		len(e.Version) + len(e.Namespace) + len("false") + rawHint(e.Payload) + rawHint(e.Attributes) +
		timeHint(e.CollectedAt) + timeHint(e.SentAt) + timeHint(e.CreatedAt) + timeHint(e.EventTime) +
		len(e.Source.IP) + len(e.Source.UserAgent) + len(e.Source.Referer) + len(e.Source.Origin) + len(e.Source.Path) +
		len(e.Identity.UserID) + len(e.Identity.AnonymousID) + len(e.Identity.NetworkUserID) +
		len(e.Collector.Name) + len(e.Collector.Version) + len(e.Collector.Env) + len(e.Collector.Host) +
		len(e.Fingerprint)
	if e.Valid {
		n -= len("false") - len("true")
	}
	for i := range e.Contexts {
		n += len(`{"schema":"","data":},`) + len(e.Contexts[i].Schema) + rawHint(e.Contexts[i].Data)
	}
	if len(e.Contexts) > 0 {
		n-- // no comma after the last
	}
	if !e.ReplayedAt.IsZero() {
		n += len(`,"replayed_at":`) + timeHint(e.ReplayedAt)
	}
	if e.OriginalEventID != "" {
		n += len(`,"original_event_id":""`) + len(e.OriginalEventID)
	}
	if f := e.Failure; f != nil {
		n += len(`,"failure":{"type":"","messages":[]}`) + len(f.Type)
		for i := range f.Messages {
			m := &f.Messages[i]
			n += len(`{"instance_path":"","schema_path":"","message":""},`) + len(m.InstancePath) + len(m.SchemaPath) + len(m.Message)
			if m.Schema != "" {
				n += len(`"schema":"",`) + len(m.Schema)
			}
			if m.Keyword != "" {
				n += len(`,"keyword":""`) + len(m.Keyword)
			}
		}
		if len(f.Messages) > 0 {
			n--
		}
	}
	if e.RawEncoding != "" {
		n += len(`,"raw":"","raw_encoding":""`) + len(e.Raw) + len(e.RawEncoding)
	}
	return n
}

// rawHint is how long appendRaw writes raw without a line break in it.
func rawHint(raw json.RawMessage) int {
	if len(raw) == 0 {
		return len("null")
	}
	return len(raw)
}

// timeHint is how long appendTime writes t (within TimeLayout's years).
func timeHint(t Time) int {
	if t.IsZero() {
		return len("null")
	}
	return len(`""`) + len(TimeLayout)
}

// AppendContexts appends contexts as a JSON array ([] when there are none).
func AppendContexts(dst []byte, contexts []Context) []byte {
	dst = append(dst, '[')
	for i := range contexts {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"schema":`...)
		dst = appendString(dst, contexts[i].Schema)
		dst = append(dst, `,"data":`...)
		dst = appendRaw(dst, contexts[i].Data)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// AppendJSON appends the source as a JSON object.
func (s *Source) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"ip":`...)
	dst = appendString(dst, s.IP)
	dst = append(dst, `,"user_agent":`...)
	dst = appendString(dst, s.UserAgent)
	dst = append(dst, `,"referer":`...)
	dst = appendString(dst, s.Referer)
	dst = append(dst, `,"origin":`...)
	dst = appendString(dst, s.Origin)
	dst = append(dst, `,"path":`...)
	dst = appendString(dst, s.Path)
	return append(dst, '}')
}

// AppendJSON appends the identity as a JSON object.
func (id *Identity) AppendJSON(dst []byte) []byte {
	if id.UserID == "" && id.AnonymousID == "" && id.NetworkUserID == "" {
		// Events that name nobody (most self-describing and webhook
		// ones): the one text, without three string encodings.
		return append(dst, `{"user_id":"","anonymous_id":"","network_user_id":""}`...)
	}
	dst = append(dst, `{"user_id":`...)
	dst = appendString(dst, id.UserID)
	dst = append(dst, `,"anonymous_id":`...)
	dst = appendString(dst, id.AnonymousID)
	dst = append(dst, `,"network_user_id":`...)
	dst = appendString(dst, id.NetworkUserID)
	return append(dst, '}')
}

// AppendJSON appends the collector as a JSON object.
func (c *Collector) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"name":`...)
	dst = appendString(dst, c.Name)
	dst = append(dst, `,"version":`...)
	dst = appendString(dst, c.Version)
	dst = append(dst, `,"env":`...)
	dst = appendString(dst, c.Env)
	dst = append(dst, `,"host":`...)
	dst = appendString(dst, c.Host)
	return append(dst, '}')
}

// AppendJSON appends the failure as a JSON object.
func (f *Failure) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"type":`...)
	dst = appendString(dst, string(f.Type))
	dst = append(dst, `,"messages":[`...)
	for i := range f.Messages {
		m := &f.Messages[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '{')
		if m.Schema != "" {
			dst = append(dst, `"schema":`...)
			dst = appendString(dst, m.Schema)
			dst = append(dst, ',')
		}
		dst = append(dst, `"instance_path":`...)
		dst = appendString(dst, m.InstancePath)
		dst = append(dst, `,"schema_path":`...)
		dst = appendString(dst, m.SchemaPath)
		if m.Keyword != "" {
			dst = append(dst, `,"keyword":`...)
			dst = appendString(dst, m.Keyword)
		}
		dst = append(dst, `,"message":`...)
		dst = appendString(dst, m.Message)
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

func appendTime(dst []byte, t Time) []byte {
	if t.IsZero() {
		return append(dst, "null"...)
	}
	dst = append(dst, '"')
	dst = appendLayout(dst, t.Time)
	return append(dst, '"')
}

// The instants appendLayout writes itself, in Unix seconds: the years 0000
// to 9999 that TimeLayout's four digits hold.
const (
	minLayoutUnix = -62167219200 // 0000-01-01T00:00:00Z
	endLayoutUnix = 253402300800 // 10000-01-01T00:00:00Z
)

// appendLayout appends t (in UTC) as TimeLayout. Every record carries four
// timestamps, and time.Time.AppendFormat, which interprets its layout each
// time, took an eighth of the hot path; this writes the one layout
// directly, from the Unix time, by the civil-from-days algorithm (Howard
// Hinnant's), without the calendar work of Date and Clock. Years outside
// 0-9999 are left to AppendFormat, whose output TestTimeMatchesLayout holds
// this to for every year.
func appendLayout(dst []byte, t time.Time) []byte {
	sec := t.Unix()
	if sec < minLayoutUnix || sec >= endLayoutUnix {
		return t.UTC().AppendFormat(dst, TimeLayout)
	}
	// Days since 0000-03-01 (a leap cycle starts there, and February
	// is the year's last month), and the second of the day.
	days := (sec-minLayoutUnix)/86400 - 60
	secOfDay := (sec - minLayoutUnix) % 86400
	year, month, day := civil(days)
	micro := t.Nanosecond() / 1000
	var b [len(TimeLayout)]byte
	put2(b[0:], year/100)
	put2(b[2:], year%100)
	b[4] = '-'
	put2(b[5:], month)
	b[7] = '-'
	put2(b[8:], day)
	b[10] = 'T'
	put2(b[11:], int(secOfDay/3600))
	b[13] = ':'
	put2(b[14:], int(secOfDay/60%60))
	b[16] = ':'
	put2(b[17:], int(secOfDay%60))
	b[19] = '.'
	put2(b[20:], micro/10000)
	put2(b[22:], micro/100%100)
	put2(b[24:], micro%100)
	b[26] = 'Z'
	return append(dst, b[:]...)
}

// civil returns the date of the day that is days (-60 to 3,652,364) after
// 0000-03-01.
func civil(days int64) (year, month, day int) {
	if days < 0 { // January and February of year 0
		// Count from -0400-03-01, where a 400-year cycle starts too: from
		// -0001-03-01 the cycle's leap years fall in the wrong place, and
		// 0000-02-29, the 366th day, was written 0000-03-01.
		days += 146097
		year = -400
	}
	era := days / 146097 // 400-year cycles
	doe := days - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153 // March is 0
	day = int(doy - (153*mp+2)/5 + 1)
	month = int(mp + 3)
	if month > 12 {
		month -= 12
		year++
	}
	return year + int(era*400+yoe), month, day
}

// put2 writes the two decimal digits of v (0 to 99) to b.
func put2(b []byte, v int) {
	const pairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
		"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
		"8081828384858687888990919293949596979899"
	b[0], b[1] = pairs[2*v], pairs[2*v+1]
}

// appendRaw appends raw JSON, compacting it when it spans lines so that an
// envelope always fits on one NDJSON line. Empty raw JSON is null.
func appendRaw(dst []byte, raw json.RawMessage) []byte {
	if len(raw) == 0 {
		return append(dst, "null"...)
	}
	if bytes.IndexByte(raw, '\n') < 0 && bytes.IndexByte(raw, '\r') < 0 {
		return append(dst, raw...)
	}
	buf := bytes.NewBuffer(dst)
	if err := json.Compact(buf, raw); err != nil {
		// Raw JSON in an envelope was decoded before it got here, so this
		// cannot happen; keep the document valid regardless.
		return appendString(dst, string(raw))
	}
	return buf.Bytes()
}

// appendString appends s as a JSON string literal.
func appendString(dst []byte, s string) []byte { return jsonscan.AppendString(dst, s) }
