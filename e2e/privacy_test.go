package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The README quickstart, as a new user runs it: accord init, accord serve,
// the example event. The user context's id is marked hmac in the example
// contract, so SQLite holds its HMAC under the key accord init wrote, and
// "user-1" is nowhere in what Accord wrote: not in the spool, not in the
// SQLite file's bytes. A failed event's raw input keeps no more.
func TestPrivacyRulesAppliedToQuickstartEvent(t *testing.T) {
	dir := newProject(t)
	key, err := os.ReadFile(filepath.Join(dir, "secrets", "hmac.key"))
	if err != nil {
		t.Fatalf("accord init wrote no hmac key: %v", err)
	}
	if info, err := os.Stat(filepath.Join(dir, "secrets", "hmac.key")); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("secrets/hmac.key: mode %v, %v; want 0600", info.Mode().Perm(), err)
	}
	mac := hmac.New(sha256.New, bytes.TrimRight(key, "\n"))
	mac.Write([]byte("user-1"))
	want := "hmac-sha256:k1:" + hex.EncodeToString(mac.Sum(nil))
	if got := pseudonym(t, dir, "user-1"); got != want {
		t.Fatalf("pseudonym helper: %s, want %s", got, want)
	}

	c := startCollector(t, dir)
	for _, body := range []string{
		// The quickstart event, twice: the same id gives the same pseudonym.
		`{"schema": "iglu:com.example/checkout_completed/jsonschema/1-0-0",
  "data": {"order_id": "ord-1", "total": 25.5, "currency": "EUR", "items": [{"sku": "sku-1", "quantity": 1}]},
  "contexts": [{"schema": "iglu:com.example/user/jsonschema/1-0-0", "data": {"id": "user-1", "plan": "pro"}}]}`,
		`{"schema": "iglu:com.example/checkout_completed/jsonschema/1-0-0",
  "data": {"order_id": "ord-2", "total": 5, "currency": "EUR", "items": [{"sku": "sku-2", "quantity": 1}]},
  "contexts": [{"schema": "iglu:com.example/user/jsonschema/1-0-0", "data": {"id": "user-1", "plan": "free"}}]}`,
	} {
		if status, _, resp := c.post("/events", "application/json", []byte(body)); status != 200 || !strings.Contains(string(resp), `"good":1`) {
			t.Fatalf("quickstart event: %d %s", status, resp)
		}
	}
	// Invalid (the plan is not one of the enum): a failed record, whose raw
	// input must not hold the id either.
	status, _, resp := c.post("/events", "application/json", []byte(`{"schema": "iglu:com.example/checkout_completed/jsonschema/1-0-0",
  "data": {"order_id": "ord-3", "total": 1, "currency": "EUR", "items": [{"sku": "sku-3", "quantity": 1}]},
  "contexts": [{"schema": "iglu:com.example/user/jsonschema/1-0-0", "data": {"id": "user-1", "plan": "gold"}}]}`))
	if status >= 500 || !strings.Contains(string(resp), "schema_violation") {
		t.Fatalf("invalid event answered %d %s; want its schema_violation", status, resp)
	}
	db := openStore(t, dir)
	var ids []string
	eventually(t, 10*time.Second, "both events stored", func() bool {
		rows, err := db.Query(`SELECT json_extract(contexts, '$[0].data.id') FROM events ORDER BY json_extract(payload, '$.order_id')`)
		if err != nil {
			return false
		}
		defer rows.Close()
		ids = ids[:0]
		for rows.Next() {
			var id string
			if rows.Scan(&id) == nil {
				ids = append(ids, id)
			}
		}
		return len(ids) == 2
	})
	if ids[0] != want || ids[1] != want {
		t.Errorf("user.id stored as %q, want the HMAC %s twice", ids, want)
	}
	var failedRaw string
	eventually(t, 10*time.Second, "the failed record stored", func() bool {
		return db.QueryRow(`SELECT raw FROM failed_events`).Scan(&failedRaw) == nil
	})
	if !strings.Contains(failedRaw, want) || !strings.Contains(failedRaw, `"gold"`) {
		t.Errorf("failed record's raw %s: want the id as its HMAC and the rest as sent", failedRaw)
	}
	c.stop()
	// Every byte Accord wrote: the spool, the SQLite file (and its WAL).
	found := 0
	err = filepath.WalkDir(filepath.Join(dir, "accord-data"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		found++
		if bytes.Contains(b, []byte("user-1")) {
			t.Errorf("%s holds the raw value user-1", path)
		}
		return nil
	})
	if err != nil || found == 0 {
		t.Fatalf("read accord-data: %d files, %v", found, err)
	}
}

// A contract that marks a value hmac while no key is configured stops
// accord serve at start, naming the fix, instead of storing it in clear.
func TestPrivacyRefusesHMACWithoutKey(t *testing.T) {
	dir := newProject(t)
	if err := os.Remove(filepath.Join(dir, "secrets", "hmac.key")); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runAccord(t, dir, nil, "serve", "--addr", "127.0.0.1:0")
	if code == 0 || !strings.Contains(stderr, "com.example/user") || !strings.Contains(stderr, "secrets/hmac.key") {
		t.Errorf("accord serve without a key: exit %d, %s; want a refusal naming the contract and the key file", code, stderr)
	}
}

// pseudonym is what the privacy stage makes of value under an hmac rule in
// the project dir accord init wrote: its key id and HMAC-SHA256 under
// secrets/hmac.key.
func pseudonym(t *testing.T, dir, value string) string {
	t.Helper()
	key, err := os.ReadFile(filepath.Join(dir, "secrets", "hmac.key"))
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, bytes.TrimRight(key, "\n"))
	mac.Write([]byte(value))
	return "hmac-sha256:k1:" + hex.EncodeToString(mac.Sum(nil))
}
