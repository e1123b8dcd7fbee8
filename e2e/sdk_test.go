package e2e

// End-to-end tests of accord gen sdk: each generated library (and the
// Snowplow and Segment wrappers) is compiled by its language's own tools,
// then sends one event of every example contract to a live collector, and
// one event breaking a constraint, which the library must refuse without
// sending. Run them alone with
//
//	go test ./e2e -run TestSDK -v

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sdkContracts are the contracts the SDK tests add to a project beside the
// examples accord init writes: a superseded MODEL with a tracking plan and a
// context.
const sdkContracts = "../internal/gen/sdk/testdata/contracts"

// sdkProject returns a project holding the example contracts and the SDK
// test contracts.
func sdkProject(t *testing.T) string {
	t.Helper()
	dir := newProject(t)
	err := filepath.WalkDir(sdkContracts, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(sdkContracts, path)
		doc, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		writeContract(t, dir, filepath.ToSlash(rel), string(doc))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// sdkGenerate runs accord gen sdk in dir.
func sdkGenerate(t *testing.T, dir string, args ...string) {
	t.Helper()
	if out, stderr, code := runAccord(t, dir, nil, append([]string{"gen", "sdk"}, args...)...); code != 0 {
		t.Fatalf("accord gen sdk %v: exit %d\n%s%s", args, code, out, stderr)
	}
}

// sdkStored returns how many records of protocol the store holds, good and
// failed, by schema.
func sdkStored(t *testing.T, db *sql.DB, protocol string) (good, failed map[string]int) {
	t.Helper()
	count := func(table string) map[string]int {
		rows, err := db.Query(`SELECT schema, count(*) FROM `+table+` WHERE protocol = ? GROUP BY schema`, protocol)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]int{}
		for rows.Next() {
			var s string
			var n int
			if err := rows.Scan(&s, &n); err != nil {
				t.Fatal(err)
			}
			out[s] = n
		}
		return out
	}
	return count("events"), count("failed_events")
}

// sdkMessage is one client-side message, shaped like the collector's.
type sdkMessage struct {
	Schema       string `json:"schema"`
	InstancePath string `json:"instance_path"`
	SchemaPath   string `json:"schema_path"`
	Keyword      string `json:"keyword"`
	Message      string `json:"message"`
}

// sdkCheckRefusal checks that the refused event's messages name what the
// collector would: the total below its minimum.
func sdkCheckRefusal(t *testing.T, lang string, msgs []sdkMessage) {
	t.Helper()
	want := sdkMessage{Schema: "iglu:com.example/checkout_completed/jsonschema/1-0-0", InstancePath: "/data/total",
		SchemaPath: "/properties/total/minimum", Keyword: "minimum", Message: "/data/total must be at least 0, but is -5"}
	if len(msgs) != 1 || msgs[0] != want {
		t.Errorf("%s: the refused event's messages are %+v, want [%+v]", lang, msgs, want)
	}
}

// sdkWaitStored waits until the store holds want good records of protocol
// selfdesc by schema, and checks no failed one arrived.
func sdkWaitStored(t *testing.T, c *collector, want map[string]int) {
	t.Helper()
	var good, failed map[string]int
	db := openStore(t, c.dir)
	eventually(t, 30*time.Second, "the events are stored", func() bool {
		time.Sleep(50 * time.Millisecond)
		good, failed = sdkStored(t, db, "selfdesc")
		total := 0
		for _, n := range good {
			total += n
		}
		wantTotal := 0
		for _, n := range want {
			wantTotal += n
		}
		return total >= wantTotal
	})
	if !mapsEqual(good, want) || len(failed) != 0 {
		t.Fatalf("stored good %v and failed %v; want good %v and no failed record\n%s", good, failed, want, c.logs)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// sdkWant is what every library sends: one event of each example contract
// (the user contract both as an event and as a context of the page view).
var sdkWant = map[string]int{
	"iglu:com.example/checkout_completed/jsonschema/1-0-0": 1,
	"iglu:com.example/page_view/jsonschema/1-0-0":          1,
	"iglu:com.example/user/jsonschema/1-0-0":               1,
	"iglu:com.acme/signed_in/jsonschema/2-0-0":             1,
}

const sdkGoProgram = `package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"example.com/app/tracking"
)

func main() {
	client, err := tracking.NewClient(tracking.Config{URL: os.Getenv("ACCORD_URL"), FlushInterval: 50 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	checkout := tracking.NewCheckoutCompletedV1_0_0("EUR", []tracking.CheckoutCompletedV1_0_0ItemsItem{{Sku: "sku-1", Quantity: 2}}, "ord-1", 19.5)
	must(client.Track(checkout))
	title := "Home"
	plan := "pro"
	must(client.Track(&tracking.PageViewV1_0_0{Url: "https://shop.example/", Title: &title}, &tracking.UserV1_0_0{Id: "u-1", Plan: &plan}))
	must(client.Track(tracking.NewUserV1_0_0("u-2")))
	signedIn := tracking.NewSignedInV2_0_0("ada@example.com", "passkey")
	attempts := int64(1)
	signedIn.Attempts = &attempts
	must(client.Track(signedIn, &tracking.DeviceV1_0_0{Os: "linux"}))

	bad := tracking.NewCheckoutCompletedV1_0_0("EUR", []tracking.CheckoutCompletedV1_0_0ItemsItem{{Sku: "sku-1", Quantity: 1}}, "ord-bad", -5)
	err = client.Track(bad)
	var ve *tracking.ValidationError
	if !errors.As(err, &ve) {
		panic(fmt.Sprintf("an invalid event was taken: %v", err))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	must(client.Close(ctx))
	out, _ := json.Marshal(map[string]any{"refused": ve.Messages, "stats": client.Stats()})
	fmt.Println(string(out))
}
`

// sdkSummary is what each client program prints.
type sdkSummary struct {
	Refused []sdkMessage   `json:"refused"`
	Stats   map[string]int `json:"stats"`
}

// TestSDKGo generates the Go library, builds and vets it in a module of its
// own, and sends the events with its client.
func TestSDKGo(t *testing.T) {
	dir := sdkProject(t)
	app := filepath.Join(dir, "app")
	sdkGenerate(t, dir, "--lang", "go", "--out", filepath.Join(app, "tracking"))
	if err := os.WriteFile(filepath.Join(app, "go.mod"), []byte("module example.com/app\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "main.go"), []byte(sdkGoProgram), 0o644); err != nil {
		t.Fatal(err)
	}
	goIn := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = app
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "ACCORD_URL="+os.Getenv("SDK_ACCORD_URL"))
		out, err := cmd.Output()
		if err != nil {
			stderr := ""
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("go %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
		}
		return string(out)
	}
	goIn("vet", "./...")
	c := startCollector(t, dir)
	t.Setenv("SDK_ACCORD_URL", c.URL)
	out := goIn("run", ".")
	var s sdkSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("the Go client printed no summary: %v\n%s", err, out)
	}
	sdkCheckRefusal(t, "go", s.Refused)
	if s.Stats["sent"] != 4 || s.Stats["invalid"] != 1 || s.Stats["dropped"]+s.Stats["failed"]+s.Stats["rejected"] != 0 {
		t.Errorf("client stats %v: want 4 sent, 1 invalid, nothing else", s.Stats)
	}
	sdkWaitStored(t, c, sdkWant)
	c.stop()
}
