package segment

import (
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/accord-events/accord/internal/protocol"
)

func TestWriteKey(t *testing.T) {
	basic := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name   string
		auth   string
		body   string
		key    string
		wantOK bool
	}{
		{name: "basic auth", auth: basic("wk_123:"), body: `{"batch":[]}`, key: "wk_123", wantOK: true},
		{name: "basic auth with a password", auth: basic("wk_123:ignored"), key: "wk_123", wantOK: true},
		{name: "basic auth without a colon", auth: basic("wk_123"), key: "wk_123", wantOK: true},
		{name: "scheme in any case, padding left out", auth: "bAsIc " + base64.RawStdEncoding.EncodeToString([]byte("wk_1:")), key: "wk_1", wantOK: true},
		{name: "basic auth wins over the body", auth: basic("from_header:"), body: `{"writeKey":"from_body"}`, key: "from_header", wantOK: true},
		{name: "body", body: ` {"batch":[{"writeKey":"inner"}],"writeKey":"wk_body"}`, key: "wk_body", wantOK: true},
		{name: "body with an escaped name and value", body: "\ufeff" + `{"write\u004bey":"wk\/1"}`, key: "wk/1", wantOK: true},
		{name: "empty user name falls back to the body", auth: basic(":password"), body: `{"writeKey":"wk_body"}`, key: "wk_body", wantOK: true},
		{name: "bearer token is not a write key", auth: "Bearer wk_123", body: `{"writeKey":"wk_body"}`, key: "wk_body", wantOK: true},
		{name: "bad base64", auth: "Basic !!!", body: `{}`},
		{name: "none", body: `{"userId":"u1"}`},
		{name: "empty write key", body: `{"writeKey":""}`},
		{name: "write key not a string", body: `{"writeKey":42}`},
		{name: "write key nested only", body: `{"context":{"writeKey":"x"}}`},
		{name: "body not an object", body: `["writeKey"]`},
		{name: "body not JSON", body: `{"writeKey" "x"}`},
		{name: "empty body"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := &protocol.Request{Header: http.Header{}, Body: []byte(tc.body)}
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			key, ok := WriteKey(req)
			if key != tc.key || ok != tc.wantOK {
				t.Errorf("WriteKey = %q, %v; want %q, %v", key, ok, tc.key, tc.wantOK)
			}
		})
	}
}

func TestWriteKeyWithoutHeaders(t *testing.T) {
	if key, ok := WriteKey(&protocol.Request{Body: []byte(`{"writeKey":"k"}`)}); key != "k" || !ok {
		t.Errorf("WriteKey = %q, %v; want k, true", key, ok)
	}
}
