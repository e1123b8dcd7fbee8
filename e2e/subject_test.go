package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// userEvent is the quickstart event for the user context's id (marked
// hmac), with the selfdesc identity user_id set too when uid is not empty.
func userEvent(order, id, plan, uid string) []byte {
	identity := ""
	if uid != "" {
		identity = `"user_id": "` + uid + `",`
	}
	return []byte(`{"schema": "iglu:com.example/checkout_completed/jsonschema/1-0-0", ` + identity + `
  "data": {"order_id": "` + order + `", "total": 1, "currency": "EUR", "items": [{"sku": "s", "quantity": 1}]},
  "contexts": [{"schema": "iglu:com.example/user/jsonschema/1-0-0", "data": {"id": "` + id + `", "plan": "` + plan + `"}}]}`)
}

// A key rotation, then data-subject requests: records made under the old
// key (k1) and the new one (k2) are both found by the id in clear (its
// HMAC under each key, the old one kept for reading), good and failed;
// export writes them as NDJSON, delete removes them and counts them per
// table, a file sink is reported as not searched, and another subject's
// records stay.
func TestSubjectRequestsAcrossKeyRotation(t *testing.T) {
	dir := newProject(t)
	// A second sink that cannot read back: the command must say so.
	cfgPath := filepath.Join(dir, "accord.yml")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg = bytes.Replace(cfg, []byte("\nsinks:\n"), []byte("\nsinks:\n  - name: lines\n    type: file\n    options:\n      good_path: accord-data/lines/good.ndjson\n      failed_path: accord-data/lines/failed.ndjson\n"), 1)
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	k1 := pseudonym(t, dir, "user-1")

	c := startCollector(t, dir)
	for _, body := range [][]byte{
		userEvent("ord-1", "user-1", "pro", ""),
		userEvent("ord-2", "user-2", "pro", ""), // someone else
	} {
		if status, _, resp := c.post("/events", "application/json", body); status != 200 || !contains(string(resp), `"good":1`) {
			t.Fatalf("event: %d %s", status, resp)
		}
	}
	c.stop()

	// Rotate: a new key k2, the old one kept for reading.
	newKey := []byte("0123456789abcdef0123456789abcdef-new")
	if err := os.WriteFile(filepath.Join(dir, "secrets", "hmac2.key"), newKey, 0o600); err != nil {
		t.Fatal(err)
	}
	rotated := []string{
		"ACCORD_PRIVACY_HMAC_KEY_ID=k2", "ACCORD_PRIVACY_HMAC_KEY_FILE=secrets/hmac2.key",
		"ACCORD_PRIVACY_HMAC_OLD_KEYS_0_KEY_ID=k1", "ACCORD_PRIVACY_HMAC_OLD_KEYS_0_KEY_FILE=secrets/hmac.key",
	}
	mac := hmac.New(sha256.New, newKey)
	mac.Write([]byte("user-1"))
	k2 := "hmac-sha256:k2:" + hex.EncodeToString(mac.Sum(nil))

	c = startCollector(t, dir, rotated...)
	if status, _, resp := c.post("/events", "application/json", userEvent("ord-3", "user-1", "free", "")); status != 200 || !contains(string(resp), `"good":1`) {
		t.Fatalf("event after rotation: %d %s", status, resp)
	}
	// Invalid (plan), with the user id in the identity too: a failed record.
	if status, _, resp := c.post("/events", "application/json", userEvent("ord-4", "user-1", "gold", "user-1")); status >= 500 || !contains(string(resp), "schema_violation") {
		t.Fatalf("invalid event: %d %s", status, resp)
	}
	db := openStore(t, dir)
	eventually(t, 10*time.Second, "every record stored", func() bool {
		var good, failed int
		_ = db.QueryRow(`SELECT count(*) FROM events`).Scan(&good)
		_ = db.QueryRow(`SELECT count(*) FROM failed_events`).Scan(&failed)
		return good == 3 && failed == 1
	})
	c.stop()

	stdout, stderr, code := runAccordEnv(t, dir, rotated, nil, "subject", "export", "--user-id", "user-1")
	if code != 0 {
		t.Fatalf("subject export: exit %d: %s", code, stderr)
	}
	var orders []string
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var rec struct {
			Payload struct {
				OrderID string `json:"order_id"`
			} `json:"payload"`
			Contexts []struct{ Data struct{ ID string } } `json:"contexts"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("export line %q: %v", line, err)
		}
		orders = append(orders, rec.Payload.OrderID)
		if id := rec.Contexts[0].Data.ID; (rec.Payload.OrderID == "ord-1") != (id == k1) || rec.Payload.OrderID != "ord-1" && id != k2 {
			t.Errorf("%s: user id %s; want k1's pseudonym %s before the rotation, k2's %s after", rec.Payload.OrderID, id, k1, k2)
		}
	}
	if strings.Join(orders, ",") != "ord-1,ord-3,ord-4" {
		t.Errorf("exported orders %v, want ord-1 (k1), ord-3 (k2) and the failed ord-4", orders)
	}
	for _, want := range []string{"sink store (sqlite) events: 2 records found", "sink store (sqlite) failed_events: 1 records found", "sink lines (file): not searched"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("export report lacks %q:\n%s", want, stderr)
		}
	}

	// --output writes the same records to a file only its owner reads.
	if _, stderr, code := runAccordEnv(t, dir, rotated, nil, "subject", "export", "--user-id", "user-1", "--output", "user-1.ndjson"); code != 0 {
		t.Fatalf("subject export --output: exit %d: %s", code, stderr)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "user-1.ndjson")); err != nil || string(b) != stdout {
		t.Errorf("--output wrote %q (%v), want what stdout had", b, err)
	}
	if info, err := os.Stat(filepath.Join(dir, "user-1.ndjson")); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("--output file mode %v (%v), want 0600", info.Mode().Perm(), err)
	}
	jsonReport, _, _ := runAccordEnv(t, dir, rotated, nil, "subject", "delete", "--user-id", "nobody", "--format", "json")
	var report []struct {
		Sink   string
		Stores []struct{ Store string }
	}
	if err := json.Unmarshal([]byte(jsonReport), &report); err != nil || len(report) != 2 {
		t.Errorf("--format json report %s (%v), want one entry per sink", jsonReport, err)
	}

	stdout, stderr, code = runAccordEnv(t, dir, rotated, nil, "subject", "delete", "--user-id", "user-1")
	if code != 0 {
		t.Fatalf("subject delete: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"sink store (sqlite) events: 2 records deleted", "sink store (sqlite) failed_events: 1 records deleted", "sink lines (file): not searched: sinks of type file cannot read back or remove what they wrote"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("delete report lacks %q:\n%s", want, stdout)
		}
	}
	var left string
	if err := db.QueryRow(`SELECT group_concat(json_extract(payload, '$.order_id')) FROM events`).Scan(&left); err != nil || left != "ord-2" {
		t.Errorf("after delete the store holds %q (%v), want only the other subject's ord-2", left, err)
	}
	if stdout, _, _ = runAccordEnv(t, dir, rotated, nil, "subject", "export", "--user-id", "user-1"); strings.TrimSpace(stdout) != "" {
		t.Errorf("export after delete: %s", stdout)
	}
	if _, stderr, code = runAccord(t, dir, nil, "subject", "export"); code != 2 || !strings.Contains(stderr, "--user-id") {
		t.Errorf("export naming no subject: exit %d, %s", code, stderr)
	}
}
