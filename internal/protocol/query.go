package protocol

import (
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/accord-events/accord/internal/event"
)

// URLMaxQueryParamsSet is set when the GODEBUG setting urlmaxqueryparams
// may change how many parameters url.ParseQuery reads: the readers of a
// raw query that stand in for it (CheckQuery, Snowplow's GET /i) then
// leave every query to it.
var URLMaxQueryParamsSet = strings.Contains(os.Getenv("GODEBUG"), "urlmaxqueryparams")

// MaxQueryParams is the most parameters url.ParseQuery reads a query of,
// counting one more than its '&': more, and it reads none of them (10,000
// by default; the GODEBUG setting urlmaxqueryparams changes it, see
// URLMaxQueryParamsSet).
const MaxQueryParams = 10000

// Values returns the query parsed as url.ParseQuery parses it, ignoring its
// error (the pairs it could read): r.Query when set, otherwise RawQuery,
// parsed on the first call only. Most protocols never read the query, and
// Snowplow's GET /i reads RawQuery itself, more cheaply than building the
// map.
func (r *Request) Values() url.Values {
	if r.Query == nil {
		r.Query, _ = url.ParseQuery(r.RawQuery)
	}
	return r.Query
}

// CheckQuery returns the error url.ParseQuery returns for raw, or nil,
// without building its url.Values when there is none: one pass over raw
// for a '%' without two hex digits after it or a ';'.
func CheckQuery(raw string) error {
	if !queryReadable(raw) {
		_, err := url.ParseQuery(raw)
		return err
	}
	return nil
}

// QueryError is the error of a GET or HEAD whose query url.ParseQuery
// refuses with err (CheckQuery's error): a 400, the failed record keeping
// the query as sent. The server returns it before any decoder runs,
// unless the endpoint's decoder checks the query as it reads it
// (Endpoint.ChecksQuery), which returns it instead.
func QueryError(err error, raw string) *Error {
	e := Errorf(http.StatusBadRequest, event.PayloadFormatViolation,
		"the query string cannot be read (%v); percent-encode names and values (%%XX with two hex digits) and join pairs with &, not ;", err)
	e.Raw = []byte(raw)
	return e
}

// queryReadable reports whether url.ParseQuery reads raw without an error:
// no ';', every '%' followed by two hex digits (the only errors of
// url.QueryUnescape) and at most 10,000 parameters. When it says no,
// url.ParseQuery decides.
func queryReadable(raw string) bool {
	// strings.IndexByte and strings.Count read many bytes an instruction:
	// a query is mostly base64 and plain text, with few escapes.
	if URLMaxQueryParamsSet || strings.IndexByte(raw, ';') >= 0 || strings.Count(raw, "&") >= MaxQueryParams {
		return false
	}
	for {
		i := strings.IndexByte(raw, '%')
		if i < 0 {
			return true
		}
		if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
			return false
		}
		raw = raw[i+3:]
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
