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
	dst = appendTime(dst, e.CollectedAt)
	dst = append(dst, `,"sent_at":`...)
	dst = appendTime(dst, e.SentAt)
	dst = append(dst, `,"created_at":`...)
	dst = appendTime(dst, e.CreatedAt)
	dst = append(dst, `,"event_time":`...)
	dst = appendTime(dst, e.EventTime)
	dst = append(dst, `,"protocol":`...)
	dst = appendString(dst, e.Protocol)
	dst = append(dst, `,"schema":`...)
	dst = appendString(dst, e.Schema)
	dst = append(dst, `,"vendor":`...)
	dst = appendString(dst, e.Vendor)
	dst = append(dst, `,"name":`...)
	dst = appendString(dst, e.Name)
	dst = append(dst, `,"version":`...)
	dst = appendString(dst, e.Version)
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
	dst = e.Collector.AppendJSON(dst)
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
	dst = appendLayout(dst, t.UTC())
	return append(dst, '"')
}

// appendLayout appends u (in UTC) as TimeLayout. Every record carries four
// timestamps, and time.Time.AppendFormat, which interprets its layout each
// time, took an eighth of the hot path; this writes the one layout
// directly. Years outside 0-9999 are left to AppendFormat, whose output
// for them TestAppendLayoutMatchesFormat also holds this to.
func appendLayout(dst []byte, u time.Time) []byte {
	year, month, day := u.Date()
	if year < 0 || year > 9999 {
		return u.AppendFormat(dst, TimeLayout)
	}
	hour, minute, second := u.Clock()
	micro := u.Nanosecond() / 1000
	dst = appendDigits(dst, year, 4)
	dst = append(dst, '-')
	dst = appendDigits(dst, int(month), 2)
	dst = append(dst, '-')
	dst = appendDigits(dst, day, 2)
	dst = append(dst, 'T')
	dst = appendDigits(dst, hour, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, minute, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, second, 2)
	dst = append(dst, '.')
	dst = appendDigits(dst, micro, 6)
	return append(dst, 'Z')
}

// appendDigits appends the non-negative v as exactly width decimal digits
// (v < 10^width).
func appendDigits(dst []byte, v, width int) []byte {
	n := len(dst) + width
	dst = append(dst, "000000"[:width]...)
	for i := n - 1; i >= n-width; i-- {
		dst[i] = byte('0' + v%10)
		v /= 10
	}
	return dst
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
