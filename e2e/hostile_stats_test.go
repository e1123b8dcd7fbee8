package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/delivery"
)

// TestHostileJunkKeysDoNotTakeOverStatistics: one unauthenticated client
// names 10,200 different unknown schema keys (some very long); real
// contracts are still counted by name, now and after a restart (the
// counters are persisted), and /stats stays small.
func TestHostileJunkKeysDoNotTakeOverStatistics(t *testing.T) {
	dir := newProject(t)
	c := startCollector(t, dir)
	const junkKeys, perRequest = 10_200, 100
	long := strings.Repeat("x", 2000)
	for i := 0; i < junkKeys; i += perRequest {
		var b strings.Builder
		b.WriteByte('[')
		for j := i; j < i+perRequest; j++ {
			if j > i {
				b.WriteByte(',')
			}
			name := fmt.Sprintf("k%d", j)
			if j%10 == 0 {
				name += long
			}
			fmt.Fprintf(&b, `{"schema":"iglu:com.junk/%s/jsonschema/1-0-0","data":{}}`, name)
		}
		b.WriteByte(']')
		if status, _, body := c.post("/events", "application/json", []byte(b.String())); status != http.StatusOK {
			t.Fatalf("junk request %d: %d %.300s", i/perRequest, status, body)
		}
	}
	for range 3 {
		if got := rbSend(t, c, pageViewKey, `{"url":"https://a.example/1"}`); got.Good != 1 {
			t.Fatalf("a real event: %+v", got)
		}
	}
	check := func(when string) {
		t.Helper()
		resp, err := http.Get(c.URL + "/stats")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if len(body) > 16<<10 {
			t.Errorf("%s: /stats is %d bytes; want it small whatever keys clients send", when, len(body))
		}
		counts := map[string]delivery.ContractStats{}
		for _, cs := range c.stats().Contracts {
			counts[cs.Schema] = cs
		}
		if got := counts[pageViewKey]; got.Good != 3 {
			t.Errorf("%s: %s counted %+v, want 3 good", when, pageViewKey, got)
		}
		if got := counts[delivery.UnknownContracts]; got.Failed != junkKeys {
			t.Errorf("%s: unknown keys counted %+v, want %d failed in one bucket", when, got, junkKeys)
		}
		for k := range counts {
			if strings.Contains(k, "com.junk") {
				t.Fatalf("%s: a key no contract has is counted by name: %.100s", when, k)
			}
		}
	}
	// Counters reach /stats once the records are in the spool: at once.
	check("live")
	c.stop()
	c = startCollector(t, dir)
	if got := rbSend(t, c, pageViewKey, `{"url":"https://a.example/2"}`); got.Good != 1 {
		t.Fatalf("a real event after restart: %+v", got)
	}
	eventually(t, 5*time.Second, "the new event counted", func() bool {
		for _, cs := range c.stats().Contracts {
			if cs.Schema == pageViewKey {
				return cs.Good == 4
			}
		}
		return false
	})
	c.stop()
}
