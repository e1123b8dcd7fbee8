package snowplow

import (
	"encoding/base64"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/contract/lint"
)

// contractsDir writes Contracts to a directory, as the wiring will load them.
func contractsDir(t *testing.T) string {
	t.Helper()
	sub, err := fs.Sub(Contracts, "contracts")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, sub); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestContracts loads the shipped contracts as accord serve loads a contracts
// directory, and validates what the decoder builds for each built-in event
// type against them.
func TestContracts(t *testing.T) {
	dir := contractsDir(t)
	contracts, problems, err := contract.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("contract does not load: %v", p)
	}
	reg := contract.NewSet(contracts)
	if reg.Len() != 97 {
		t.Errorf("%d contracts, want 97", reg.Len())
	}

	tests := []struct {
		name   string
		fields fields
		// violation is a substring of the validation message, "" for valid
		// data.
		violation string
	}{
		{name: "page view", fields: ev("pv", "url", "https://a.example/", "page", "A", "refr", "https://b.example/")},
		{name: "page view without url", fields: ev("pv", "page", "A"), violation: "page_url"},
		{name: "page ping", fields: ev("pp", "url", "https://a.example/", "pp_mix", "0", "pp_max", "10", "pp_miy", "0", "pp_may", "900")},
		{name: "structured event", fields: ev("se", "se_ca", "c", "se_ac", "a", "se_la", "l", "se_pr", "p", "se_va", "1.5")},
		{name: "structured event without action", fields: ev("se", "se_ca", "c"), violation: "action"},
		{name: "transaction", fields: ev("tr", "tr_id", "o", "tr_af", "a", "tr_tt", "10", "tr_tx", "1", "tr_sh", "2", "tr_ci", "c", "tr_st", "s", "tr_co", "DE", "tr_cu", "EUR")},
		{name: "transaction without total", fields: ev("tr", "tr_id", "o"), violation: "total"},
		{name: "transaction item", fields: ev("ti", "ti_id", "o", "ti_sk", "s", "ti_nm", "n", "ti_ca", "c", "ti_pr", "9.99", "ti_qu", "3", "ti_cu", "EUR")},
		{name: "transaction item with a long currency", fields: ev("ti", "ti_id", "o", "ti_sk", "s", "ti_pr", "1", "ti_qu", "1", "ti_cu", "euro"), violation: "currency"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, err := DecodeQuery(tc.fields.query())
			if err != nil || in.Failure != nil {
				t.Fatalf("DecodeQuery: %v %+v", err, in.Failure)
			}
			c, err := reg.Resolve(in.SchemaKey)
			if err != nil {
				t.Fatalf("resolve %s: %v", in.SchemaKey, err)
			}
			msgs, err := c.ValidateJSON(in.Data, "/data")
			if err != nil {
				t.Fatalf("validate %s: %v", in.Data, err)
			}
			if tc.violation == "" {
				for _, m := range msgs {
					t.Errorf("%s is not valid: %s %s", in.Data, m.InstancePath, m.Message)
				}
				return
			}
			var text []string
			for _, m := range msgs {
				text = append(text, m.InstancePath+" "+m.Message)
			}
			if !strings.Contains(strings.Join(text, "\n"), tc.violation) {
				t.Errorf("%s: messages %q do not name %q", in.Data, text, tc.violation)
			}
		})
	}
}

// TestContractsLint holds the shipped contracts to what accord contract lint
// asks of users' contracts, descriptions included.
func TestContractsLint(t *testing.T) {
	l, err := lint.New(lint.Options{RequireDescriptions: lint.Error})
	if err != nil {
		t.Fatal(err)
	}
	r, err := l.Dir(contractsDir(t))
	if err != nil {
		t.Fatal(err)
	}
	if r.Files != 97 {
		t.Errorf("linted %d files, want 97", r.Files)
	}
	for _, f := range r.Findings {
		// browser_context starts at 2-0-0: the browser tracker 4 sends
		// that model and no tracker sends a 1-0-0, so Accord ships none.
		if f.Rule == lint.RuleVersionFirst && strings.Contains(f.File, "/browser_context/jsonschema/2-0-0") {
			continue
		}
		t.Errorf("%s:%d: %s %s: %s", f.File, f.Line, f.Severity, f.Rule, f.Message)
	}
}

// TestStandardContexts validates the shipped standard contexts as the
// trackers send them: web_page as the browser tracker (@snowplow/
// browser-tracker 4, default configuration) attaches it to every event, its
// id the page view's UUID v4 in lower case, and client_session as the
// mobile and browser trackers send it; each in cx, base64url without
// padding, inside the contexts envelope. Then the shapes that must fail.
func TestStandardContexts(t *testing.T) {
	contracts, problems, err := contract.LoadDir(contractsDir(t))
	if err != nil || len(problems) > 0 {
		t.Fatal(err, problems)
	}
	reg := contract.NewSet(contracts)
	const webPage = "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0"
	const session = "iglu:com.snowplowanalytics.snowplow/client_session/jsonschema/1-0-2"
	// sent is client_session as the trackers send it (the mobile trackers'
	// storage is SQLITE, the browser tracker's COOKIE_1 or LOCAL_STORAGE).
	sent := func(storage, extra string) string {
		return `{"userId":"6e1f9f7c-3d2a-4b5e-8f60-7a8b9c0d1e2f","sessionId":"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","eventIndex":3,"sessionIndex":2,` +
			`"previousSessionId":"f0e1d2c3-b4a5-4968-8776-655443322110","storageMechanism":"` + storage + `",` +
			`"firstEventId":"1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e","firstEventTimestamp":"2026-12-04T09:15:02.187Z"` + extra + `}`
	}
	contexts := func(key, data string) string {
		return `{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0","data":[{"schema":"` + key + `","data":` + data + `}]}`
	}
	tests := []struct {
		name      string
		key       string
		data      string
		violation string // "" for valid data
	}{
		{name: "web_page as the browser tracker sends it", key: webPage, data: `{"id":"4e2ff7d5-2e9b-4b8e-9b0c-5a1d8f3c7e21"}`},
		{name: "web_page with upper-case hex", key: webPage, data: `{"id":"4E2FF7D5-2E9B-4B8E-9B0C-5A1D8F3C7E21"}`},
		{name: "web_page without id", key: webPage, data: `{}`, violation: "id"},
		{name: "web_page id not a UUID", key: webPage, data: `{"id":"page-1"}`, violation: "/id"},
		{name: "web_page id a number", key: webPage, data: `{"id":42}`, violation: "/id"},
		{name: "web_page with another property", key: webPage, data: `{"id":"4e2ff7d5-2e9b-4b8e-9b0c-5a1d8f3c7e21","url":"/"}`, violation: "url"},
		{name: "client_session as a mobile tracker sends it", key: session, data: sent("SQLITE", "")},
		{name: "client_session as the browser tracker sends it", key: session, data: sent("COOKIE_1", "")},
		{name: "client_session of a first session", key: session,
			data: `{"userId":"6e1f9f7c-3d2a-4b5e-8f60-7a8b9c0d1e2f","sessionId":"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","sessionIndex":1,"previousSessionId":null,"storageMechanism":"LOCAL_STORAGE"}`},
		{name: "client_session without sessionIndex", key: session,
			data: `{"userId":"6e1f9f7c-3d2a-4b5e-8f60-7a8b9c0d1e2f","sessionId":"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","storageMechanism":"SQLITE"}`, violation: "sessionIndex"},
		{name: "client_session with an unknown storage", key: session, data: sent("DISK", ""), violation: "/storageMechanism"},
		{name: "client_session with a negative index", key: session, data: strings.Replace(sent("SQLITE", ""), `"sessionIndex":2`, `"sessionIndex":-1`, 1), violation: "/sessionIndex"},
		{name: "client_session 1-0-0 without previousSessionId", key: "iglu:com.snowplowanalytics.snowplow/client_session/jsonschema/1-0-0",
			data: `{"userId":"6e1f9f7c-3d2a-4b5e-8f60-7a8b9c0d1e2f","sessionId":"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","sessionIndex":1,"storageMechanism":"SQLITE"}`, violation: "previousSessionId"},
		{name: "client_session 1-0-1 as older trackers send it", key: "iglu:com.snowplowanalytics.snowplow/client_session/jsonschema/1-0-1",
			data: `{"userId":"6e1f9f7c-3d2a-4b5e-8f60-7a8b9c0d1e2f","sessionId":"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","sessionIndex":1,"previousSessionId":null,"storageMechanism":"SQLITE","firstEventId":"1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"}`},
		{name: "client_session with an upper-case user id", key: session,
			data: `{"userId":"6E1F9F7C-3D2A-4B5E-8F60-7A8B9C0D1E2F","sessionId":"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","sessionIndex":1,"storageMechanism":"SQLITE"}`, violation: "/userId"},
		{name: "client_session with another property", key: session, data: sent("SQLITE", `,"sessionCount":2`), violation: "sessionCount"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := tc.key
			cx := base64.RawURLEncoding.EncodeToString([]byte(contexts(key, tc.data)))
			in, err := DecodeQuery(ev("pv", "url", "https://shop.example/", "page", "Shop", "cx", cx).query())
			if err != nil || in.Failure != nil {
				t.Fatalf("DecodeQuery: %v %+v", err, in.Failure)
			}
			if len(in.Contexts) != 1 || in.Contexts[0].Schema != key {
				t.Fatalf("contexts %+v, want the web_page context", in.Contexts)
			}
			c, err := reg.Resolve(key)
			if err != nil {
				t.Fatalf("resolve %s: %v", key, err)
			}
			msgs, err := c.ValidateJSON(in.Contexts[0].Data, "/contexts/0/data")
			if err != nil {
				t.Fatalf("validate %s: %v", in.Contexts[0].Data, err)
			}
			var text []string
			for _, m := range msgs {
				text = append(text, m.InstancePath+" "+m.Message)
			}
			switch {
			case tc.violation == "" && len(msgs) > 0:
				t.Errorf("%s is not valid: %q", tc.data, text)
			case tc.violation != "" && !strings.Contains(strings.Join(text, "\n"), tc.violation):
				t.Errorf("%s: messages %q do not name %q", tc.data, text, tc.violation)
			}
		})
	}
}
