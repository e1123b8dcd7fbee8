package snowplow

import (
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/protocol"
)

// decodeQueryOld is how GET /i was read before DecodeQueryText: the server
// parsed the query into url.Values and the decoder took them with the raw
// query.
func decodeQueryOld(raw string, noPredecode bool) (event.Input, error) {
	q, _ := url.ParseQuery(raw)
	return decodeRawQuery(q, raw, noPredecode)
}

// sameDecoding fails t unless DecodeQueryText reads raw exactly as
// url.ParseQuery and DecodeRawQuery together read it.
func sameDecoding(t *testing.T, raw string) {
	t.Helper()
	for _, noPredecode := range []bool{false, true} {
		want, werr := decodeQueryOld(raw, noPredecode)
		got, gerr := decodeQueryText(raw, noPredecode)
		if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
			t.Fatalf("query %q: error %v, url.ParseQuery and DecodeRawQuery: %v", raw, gerr, werr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("query %q (noPredecode %v):\n got %+v\nwant %+v\n got data %s attrs %s\nwant data %s attrs %s",
				raw, noPredecode, got, want, got.Data, got.Attributes, want.Data, want.Attributes)
		}
	}
	// DecodeGETQuery: the server's check (protocol.CheckQuery) and then
	// DecodeQueryText, in one.
	got, gerr := DecodeGETQuery(raw)
	if cerr := protocol.CheckQuery(raw); cerr != nil {
		want := protocol.QueryError(cerr, raw)
		if !reflect.DeepEqual(gerr, want) || !reflect.DeepEqual(got, event.Input{}) {
			t.Fatalf("query %q: DecodeGETQuery = %+v, %v; want the server's %v", raw, got, gerr, want)
		}
		return
	}
	want, werr := DecodeQueryText(raw)
	if !reflect.DeepEqual(gerr, werr) || !reflect.DeepEqual(got, want) {
		t.Fatalf("query %q: DecodeGETQuery = %+v, %v; DecodeQueryText: %+v, %v", raw, got, gerr, want, werr)
	}
}

func TestDecodeQueryTextSameAsParseQuery(t *testing.T) {
	bench := benchEvent().query().Encode()
	many := strings.Repeat("x=1&", 9999) + "e=pv&p=web&tv=t"
	for _, raw := range []string{
		"", "&", "&&&", "=", "==", "e", "e=pv&p=web&tv=js-3.24.0",
		bench,
		bench + "&e=se&eid=other", // repeated names: the first value
		"e=pv&p=web&tv=a+b&page=one+two%2Bthree&url=%41%62", // '+' is a space, %2B a plus
		"e=pv&p=web&tv=t&url=%FF&page=%zz&%C3%28=1",         // bad escape, bad UTF-8
		"e=pv&p=web&tv=t;page=x", "e=pv;p=web",              // ';' separators
		"e=pv&p=web&tv=t&x=%", "e=pv&p=web&tv=t&x=%4", "e=pv&%=1",
		"=x&e=pv&p=web&tv=t", "e=pv&p=web&tv=t&a&a=1&a=2",
		"e=pv&p=web&tv=t&" + strings.Repeat("k", 40) + "=1&" + strings.Repeat("a=1&", 50) + "ue_px=e30&cx=e30",
		"e=ue&p=web&tv=t&ue_px=%2F%2F%2F&ue_px=e30", "e=ue&p=web&tv=t&ue_pr=%7B%7D",
		"e=pv&p=web&tv=t&page=%E2%80%A8", "e=pv&p=web&tv=t&page=%22%5C",
		many, many + "&y=2", // 10,000 parameters, then one too many
		// Names and values around the eight bytes readQuery reads at a time.
		"e=pv&p=web&tv=t&abcdefg=12345678&abcdefgh=1234567&x=&=&&y",
		"e=pv&p=web&tv=t&a+b=c+d%2B&q=%22&b%5C=1&k=v=w&t=%09x\"y\\z",
		"e=pv&p=web&tv=t&u=\x7f\x1f\x80\xe2\x80\xa8&v=\xff",
		// ue_px and cx: escaped base64, none, empty, repeated.
		"e=ue&p=web&tv=t&ue_px=eyJzY2hlbWEiOiJ4In0%3D&cx=e30%41&ue_px=e30",
		"e=ue&p=web&tv=t&ue_px&cx=&cx=e30", "e=ue&p=web&tv=t&ue_px=e30&cx=e%3",
	} {
		sameDecoding(t, raw)
	}
	// Beyond maxDedupScan parameters, the names seen are kept in a map.
	var b strings.Builder
	b.WriteString("e=pv&p=web&tv=t")
	for i := range 100 {
		b.WriteString("&n" + strings.Repeat("z", i%7) + string(rune('a'+i%26)) + "=" + string(rune('A'+i%26)))
	}
	sameDecoding(t, b.String())
}

// FuzzDecodeQueryText holds DecodeQueryText to what url.ParseQuery and
// DecodeRawQuery together return, for any raw query. The seed corpus is in
// testdata/fuzz/FuzzDecodeQueryText.
func FuzzDecodeQueryText(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw string) {
		sameDecoding(t, raw)
	})
}
