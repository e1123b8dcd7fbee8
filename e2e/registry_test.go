package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRegistryHotReloadUnderLoad rewrites contracts while several clients
// send events without pause, and checks that no event is ever judged by half
// a registry or by a broken file: valid events always pass, invalid ones
// always fail, and a new version is served and accepted once written.
func TestRegistryHotReloadUnderLoad(t *testing.T) {
	dir := newProject(t)
	c := startCollector(t, dir, "ACCORD_CONTRACTS_RELOAD_INTERVAL=100ms")
	contracts := filepath.Join(dir, "contracts", "com.example")
	userPath := filepath.Join(contracts, "user", "jsonschema", "1-0-0")
	userDoc, err := os.ReadFile(userPath)
	if err != nil {
		t.Fatal(err)
	}
	pvDoc, err := os.ReadFile(filepath.Join(contracts, "page_view", "jsonschema", "1-0-0"))
	if err != nil {
		t.Fatal(err)
	}

	// Each request: a valid page view (an untouched contract) with a user
	// context (a contract rewritten and broken below, valid under every
	// version of it), then a page view that no version allows.
	const batch = `[
{"schema": "iglu:com.example/page_view/jsonschema/1-0-0", "data": {"url": "https://shop.example/"}, "contexts": [{"schema": "iglu:com.example/user/jsonschema/1-0-0", "data": {"id": "u-1", "plan": "pro"}}]},
{"schema": "iglu:com.example/page_view/jsonschema/1-0-0", "data": {"title": "no url", "colour": "red"}}
]`
	stop := make(chan struct{})
	var sent atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := http.Post(c.URL+"/events", "application/json", strings.NewReader(batch))
				if err != nil {
					errs <- err.Error()
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var r collectResponse
				if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &r) != nil ||
					r.Received != 2 || r.Good != 1 || r.Failed != 1 || r.Failures[0].Index != 1 || r.Failures[0].Type != "schema_violation" {
					errs <- fmt.Sprintf("%d %s", resp.StatusCode, body)
					return
				}
				sent.Add(1)
			}
		}()
	}

	write := func(path string, doc []byte) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		// Written in place, not renamed in, so a poll may see a half-written
		// file: the earlier version must carry on until the file is whole.
		if err := os.WriteFile(path, doc, 0o644); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	pv101 := bytes.Replace(pvDoc, []byte(`"version": "1-0-0"`), []byte(`"version": "1-0-1"`), 1)
	pv101 = bytes.Replace(pv101, []byte(`"referrer":`), []byte(`"campaign": {"type": ["string", "null"], "description": "The campaign."}, "referrer":`), 1)
	for i := 0; i < 4; i++ {
		edited := bytes.Replace(userDoc, []byte(`"The user's id."`), []byte(fmt.Sprintf(`"The user's id (edit %d)."`, i)), 1)
		write(userPath, edited)
		write(userPath, []byte(`{"self": {"vendor": "com.example"`))
		write(userPath, userDoc)
		if i == 1 {
			write(filepath.Join(contracts, "page_view", "jsonschema", "1-0-1"), pv101)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("an event was judged wrongly during a reload: %s", e)
	}
	if sent.Load() < 20 {
		t.Errorf("only %d requests were sent during the reloads; the test proves little", sent.Load())
	}
	if !contains(c.logs.String(), `msg="contract not reloaded; still serving its earlier version"`) {
		t.Errorf("the broken file was never seen by a reload\n%s", c.logs)
	}

	// The new version is served and accepted.
	resp, err := http.Get(c.URL + "/api/schemas/com.example/page_view/jsonschema/1-0-1")
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(served, pv101) {
		t.Fatalf("GET 1-0-1: %d %s", resp.StatusCode, served)
	}
	resp, err = http.Get(c.URL + "/api/schemas/com.example/page_view")
	if err != nil {
		t.Fatal(err)
	}
	list, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `["iglu:com.example/page_view/jsonschema/1-0-0","iglu:com.example/page_view/jsonschema/1-0-1"]`; strings.TrimSpace(string(list)) != want {
		t.Errorf("GET /api/schemas/com.example/page_view: %s, want %s", list, want)
	}
	status, _, body := c.post("/events", "application/json",
		[]byte(`{"schema": "iglu:com.example/page_view/jsonschema/1-0-1", "data": {"url": "https://shop.example/", "campaign": "winter"}}`))
	if r := decodeInto[collectResponse](t, body); status != http.StatusOK || r.Good != 1 {
		t.Errorf("event for 1-0-1: %d %s", status, body)
	}

	// Removing the file takes the version away again.
	if err := os.Remove(filepath.Join(contracts, "page_view", "jsonschema", "1-0-1")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(c.URL + "/api/schemas/com.example/page_view/jsonschema/1-0-1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("1-0-1 is still served 10s after its file was removed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.stop()
}

// TestRegistryAPIOnServe checks the registry API on a real accord serve,
// reload turned off: only a purge picks up a new file.
func TestRegistryAPIOnServe(t *testing.T) {
	dir := newProject(t)
	c := startCollector(t, dir, "ACCORD_CONTRACTS_RELOAD_INTERVAL=0")
	src := filepath.Join(dir, "contracts", "com.example", "user", "jsonschema", "1-0-0")
	doc, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(strings.TrimSuffix(src, "1-0-0")+"1-0-1", bytes.Replace(doc, []byte(`"version": "1-0-0"`), []byte(`"version": "1-0-1"`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(c.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	if status, body := get("/api/schemas/com.example/user/jsonschema/1-0-1?repr=uri"); status != http.StatusNotFound || !contains(body, `"error":"no schema iglu:com.example/user/jsonschema/1-0-1`) {
		t.Fatalf("1-0-1 before the purge, with reload off: %d %s", status, body)
	}
	status, _, body := c.post("/api/cache/purge", "", nil)
	if status != http.StatusOK || string(bytes.TrimSpace(body)) != `{"loaded":4,"failed":[]}` {
		t.Fatalf("purge: %d %s", status, body)
	}
	if status, body := get("/api/schemas/com.example/user/jsonschema/1-0-1?repr=uri"); status != http.StatusOK || body != `"iglu:com.example/user/jsonschema/1-0-1"` {
		t.Fatalf("1-0-1 after the purge: %d %s", status, body)
	}
	status, _, body = c.post("/api/validation/validate/instance", "application/json",
		[]byte(`{"schema": "iglu:com.example/user/jsonschema/1-0-1", "data": {"id": ""}}`))
	if status != http.StatusOK || !contains(string(body), `"valid":false`) || !contains(string(body), `"instance_path":"/data/id"`) {
		t.Fatalf("validate: %d %s", status, body)
	}
	c.stop()
}
