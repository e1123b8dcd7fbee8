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
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/testenv"
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
// protocol by schema, and checks no failed one arrived.
func sdkWaitStored(t *testing.T, c *collector, protocol string, want map[string]int) {
	t.Helper()
	var good, failed map[string]int
	db := openStore(t, c.dir)
	eventually(t, 30*time.Second, "the events are stored", func() bool {
		time.Sleep(50 * time.Millisecond)
		good, failed = sdkStored(t, db, protocol)
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
	sdkWaitStored(t, c, "selfdesc", sdkWant)
	c.stop()
}

// sdkTSProject generates with args into app/src of dir, and compiles it
// with tsc --strict (e2e/node's pinned typescript) into app/dist, with
// e2e/node's packages (the Snowplow and Segment libraries) linked in.
func sdkTSProject(t *testing.T, dir string, args ...string) (node, app string) {
	t.Helper()
	node = nodeBinary(t)
	app = filepath.Join(dir, "app")
	sdkGenerate(t, dir, append(args, "--out", filepath.Join(app, "src"))...)
	modules, err := filepath.Abs(filepath.Join(nodeDir, "node_modules"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"package.json": `{"type": "module", "private": true}`,
		"tsconfig.json": `{"compilerOptions": {"strict": true, "target": "ES2022", "module": "NodeNext", "moduleResolution": "NodeNext",
			"lib": ["ES2022", "DOM"], "outDir": "dist", "skipLibCheck": true, "noEmitOnError": true}, "include": ["src/**/*.ts"]}`,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(app, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(modules, filepath.Join(app, "node_modules")); err != nil {
		t.Fatal(err)
	}
	if stdout, stderr, err := nodeExecIn(t, app, node, filepath.Join(modules, "typescript", "bin", "tsc")); err != nil {
		t.Fatalf("tsc --strict: %v\n%s%s", err, stdout, stderr)
	}
	return node, app
}

// sdkNodeRun writes script into app and runs it, decoding its summary.
func sdkNodeRun(t *testing.T, node, app, script string, env ...string) sdkSummary {
	t.Helper()
	if err := os.WriteFile(filepath.Join(app, "main.mjs"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := nodeExecIn(t, app, node, "main.mjs", env...)
	if err != nil {
		t.Fatalf("node main.mjs: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	var s sdkSummary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("main.mjs printed no summary: %v\n%s\n%s", err, stdout, stderr)
	}
	return s
}

const sdkTSScript = `import * as t from "./dist/index.js";

const client = new t.Client({ url: process.env.ACCORD_URL, flushIntervalMs: 50 });
client.track(t.newCheckoutCompletedV1_0_0({ order_id: "ord-1", total: 19.5, currency: "EUR", items: [{ sku: "sku-1", quantity: 2 }] }));
client.track(t.newPageViewV1_0_0({ url: "https://shop.example/", title: "Home" }), [t.newUserV1_0_0({ id: "u-1", plan: "pro" })]);
client.track(t.newUserV1_0_0({ id: "u-2" }));
client.track(t.newSignedInV2_0_0({ method: "passkey", email: "ada@example.com", attempts: 1 }), [t.newDeviceV1_0_0({ os: "linux" })]);
const bad = t.newCheckoutCompletedV1_0_0({ order_id: "ord-bad", total: 1, currency: "EUR", items: [{ sku: "sku-1", quantity: 1 }] });
bad.data.total = -5;
let refused = null;
try {
  client.track(bad);
} catch (err) {
  if (!(err instanceof t.ValidationError)) throw err;
  refused = err.messages;
}
await client.close();
process.stdout.write(JSON.stringify({ refused, stats: client.stats() }) + "\n");
`

// TestSDKTypeScript generates the TypeScript library, checks it with tsc
// --strict, and sends the events with its client.
func TestSDKTypeScript(t *testing.T) {
	dir := sdkProject(t)
	node, app := sdkTSProject(t, dir, "--lang", "ts")
	c := startCollector(t, dir)
	s := sdkNodeRun(t, node, app, sdkTSScript, "ACCORD_URL="+c.URL)
	sdkCheckRefusal(t, "ts", s.Refused)
	if s.Stats["sent"] != 4 || s.Stats["invalid"] != 1 || s.Stats["dropped"]+s.Stats["failed"]+s.Stats["rejected"] != 0 {
		t.Errorf("client stats %v: want 4 sent, 1 invalid, nothing else", s.Stats)
	}
	sdkWaitStored(t, c, "selfdesc", sdkWant)
	c.stop()
}

const sdkSnowplowScript = `import { newTracker } from "@snowplow/node-tracker";
import * as sp from "./dist/snowplow-node.js";
import { ValidationError } from "./dist/accord.js";

const acked = new Set();
const failures = [];
const tracker = newTracker({ namespace: "sdk", appId: "accord-sdk" }, {
  endpoint: process.env.ACCORD_URL, eventMethod: "post", bufferSize: 10, retryFailedRequests: false,
  onRequestSuccess: (batch) => { for (const p of batch) acked.add(p.eid); },
  onRequestFailure: (failure) => failures.push(failure.message),
});
const eids = [];
const track = (payload) => eids.push(payload.eid);
track(sp.trackCheckoutCompletedV1_0_0(tracker, { order_id: "ord-1", total: 19.5, currency: "EUR", items: [{ sku: "sku-1", quantity: 2 }] }));
track(sp.trackPageViewV1_0_0(tracker, { url: "https://shop.example/", title: "Home" }, [{ schema: "iglu:com.example/user/jsonschema/1-0-0", data: { id: "u-1", plan: "pro" } }]));
track(sp.trackUserV1_0_0(tracker, { id: "u-2" }));
track(sp.trackSignedInV2_0_0(tracker, { method: "passkey", email: "ada@example.com" }, [{ schema: "iglu:com.acme/device/jsonschema/1-0-0", data: { os: "linux" } }]));
let refused = null;
try {
  sp.trackCheckoutCompletedV1_0_0(tracker, { order_id: "ord-bad", total: -5, currency: "EUR", items: [{ sku: "sku-1", quantity: 1 }] });
} catch (err) {
  if (!(err instanceof ValidationError)) throw err;
  refused = err.messages;
}
for (let i = 0; i < 40 && failures.length === 0 && eids.some((e) => !acked.has(e)); i++) {
  await new Promise((resolve) => setTimeout(resolve, 25));
  await tracker.flush();
}
if (failures.length > 0 || eids.some((e) => !acked.has(e))) throw new Error("not every event was acknowledged: " + JSON.stringify(failures));
process.stdout.write(JSON.stringify({ refused, stats: { sent: eids.length } }) + "\n");
`

// TestSDKSnowplowWrapper drives the real @snowplow/node-tracker through the
// generated wrapper.
func TestSDKSnowplowWrapper(t *testing.T) {
	dir := sdkProject(t)
	node, app := sdkTSProject(t, dir, "--target", "snowplow")
	c := startCollector(t, dir)
	s := sdkNodeRun(t, node, app, sdkSnowplowScript, "ACCORD_URL="+c.URL)
	sdkCheckRefusal(t, "snowplow", s.Refused)
	sdkWaitStored(t, c, "snowplow", sdkWant)
	c.stop()
}

const sdkSegmentScript = `import { Analytics } from "@segment/analytics-node";
import * as seg from "./dist/segment.js";
import { ValidationError } from "./dist/accord.js";

const analytics = new Analytics({ writeKey: process.env.SEGMENT_WRITE_KEY, host: process.env.ACCORD_URL, path: "/v1/batch", flushAt: 20, flushInterval: 60000, maxRetries: 0 });
const errors = [];
let statuses = [];
analytics.on("http_response", (res) => statuses.push(res.status));
const cb = (err) => { if (err) errors.push(String(err.reason ?? err)); };
seg.trackCheckoutCompleted(analytics, { userId: "u-1", properties: { order_id: "ord-1", total: 19.5, currency: "EUR", items: [{ sku: "sku-1", quantity: 2 }] } }, cb);
seg.trackPageViewed(analytics, { anonymousId: "a-1", properties: { url: "https://shop.example/", title: "Home" } }, cb);
seg.trackUserUpdated(analytics, { userId: "u-2", properties: { id: "u-2", plan: "free" } }, cb);
seg.trackSignedIn(analytics, { userId: "u-3", properties: { method: "sso", email: "ada@example.com" } }, cb);
seg.trackLoggedIn(analytics, { userId: "u-4", properties: { method: "password", email: "bob@example.com" } }, cb);
let refused = null;
try {
  seg.trackCheckoutCompleted(analytics, { userId: "u-1", properties: { order_id: "ord-bad", total: -5, currency: "EUR", items: [{ sku: "sku-1", quantity: 1 }] } }, cb);
} catch (err) {
  if (!(err instanceof ValidationError)) throw err;
  refused = err.messages;
}
await analytics.closeAndFlush({ timeout: 20000 });
if (errors.length > 0 || statuses.some((s) => s !== 200)) throw new Error("segment: " + JSON.stringify({ errors, statuses }));
process.stdout.write(JSON.stringify({ refused, stats: { sent: 5 } }) + "\n");
`

// sdkSegmentPlan adds a tracking plan to the project's example contracts:
// a Segment event name each.
func sdkSegmentPlan(t *testing.T, dir string) {
	t.Helper()
	for name, event := range map[string]string{"checkout_completed": "Checkout Completed", "page_view": "Page Viewed", "user": "User Updated"} {
		path := filepath.Join(dir, "contracts", "com.example", name, "jsonschema", "1-0-0")
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		doc["x-accord"].(map[string]any)["segment_events"] = []string{event}
		out, _ := json.MarshalIndent(doc, "", "  ")
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSDKSegmentWrapper drives the real @segment/analytics-node through the
// generated wrapper: one function per tracking-plan event name.
func TestSDKSegmentWrapper(t *testing.T) {
	dir := sdkProject(t)
	sdkSegmentPlan(t, dir)
	node, app := sdkTSProject(t, dir, "--target", "segment")
	const writeKey = "wk-sdk-e2e"
	c := startCollector(t, dir,
		"ACCORD_PROTOCOLS_SEGMENT_SOURCES_0_NAME=server",
		"ACCORD_PROTOCOLS_SEGMENT_SOURCES_0_WRITE_KEY="+writeKey)
	s := sdkNodeRun(t, node, app, sdkSegmentScript, "ACCORD_URL="+c.URL, "SEGMENT_WRITE_KEY="+writeKey)
	sdkCheckRefusal(t, "segment", s.Refused)
	want := map[string]int{}
	for k, v := range sdkWant {
		want[k] = v
	}
	want["iglu:com.acme/signed_in/jsonschema/2-0-0"] = 2 // Signed In and Logged In
	sdkWaitStored(t, c, "segment", want)
	c.stop()
}

const sdkPythonScript = `import json
import os

import tracking

client = tracking.Client(os.environ["ACCORD_URL"], flush_interval=0.05)
client.track(tracking.new_CheckoutCompletedV1_0_0({"order_id": "ord-1", "total": 19.5, "currency": "EUR", "items": [{"sku": "sku-1", "quantity": 2}]}))
client.track(tracking.new_PageViewV1_0_0({"url": "https://shop.example/", "title": "Home"}), [tracking.new_UserV1_0_0({"id": "u-1", "plan": "pro"})])
client.track(tracking.new_UserV1_0_0({"id": "u-2"}))
client.track(tracking.new_SignedInV2_0_0({"method": "passkey", "email": "ada@example.com", "attempts": 1}), [tracking.new_DeviceV1_0_0({"os": "linux"})])
bad = tracking.new_CheckoutCompletedV1_0_0({"order_id": "ord-bad", "total": 1, "currency": "EUR", "items": [{"sku": "sku-1", "quantity": 1}]})
bad.data["total"] = -5
refused = None
try:
    client.track(bad)
except tracking.ValidationError as err:
    refused = [m.to_dict() for m in err.messages]
client.close(timeout=30)
print(json.dumps({"refused": refused, "stats": client.stats()}))
`

// TestSDKPython generates the Python package, checks it with py_compile
// and mypy --strict, and sends the events with its client.
func TestSDKPython(t *testing.T) {
	py := ""
	for _, cand := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(cand, "-m", "mypy", "--version").Run() == nil {
			py = cand
			break
		}
	}
	if py == "" {
		testenv.Missing(t, "no python3 with mypy: apt-get install python3-mypy")
	}
	dir := sdkProject(t)
	app := filepath.Join(dir, "app")
	sdkGenerate(t, dir, "--lang", "python", "--out", filepath.Join(app, "tracking"))
	if err := os.WriteFile(filepath.Join(app, "main.py"), []byte(sdkPythonScript), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, py, args...)
		cmd.Dir = app
		cmd.Env = append(os.Environ(), "MYPY_CACHE_DIR="+filepath.Join(app, ".mypy_cache"), "ACCORD_URL="+os.Getenv("SDK_ACCORD_URL"))
		out, err := cmd.Output()
		if err != nil {
			stderr := ""
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("%s %s: %v\n%s%s", py, strings.Join(args, " "), err, out, stderr)
		}
		return string(out)
	}
	run("-m", "mypy", "--strict", "tracking", "main.py")
	c := startCollector(t, dir)
	t.Setenv("SDK_ACCORD_URL", c.URL)
	out := run("main.py")
	var s sdkSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("the Python client printed no summary: %v\n%s", err, out)
	}
	sdkCheckRefusal(t, "python", s.Refused)
	if s.Stats["sent"] != 4 || s.Stats["invalid"] != 1 || s.Stats["dropped"]+s.Stats["failed"]+s.Stats["rejected"] != 0 {
		t.Errorf("client stats %v: want 4 sent, 1 invalid, nothing else", s.Stats)
	}
	sdkWaitStored(t, c, "selfdesc", sdkWant)
	c.stop()
}

// sdkTree returns every file under dir with its bytes.
func sdkTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSDKRegenerate runs accord gen sdk twice over the same directory (the
// same tree), then after a contract is removed (its file goes, a file of the
// user's beside them stays), and checks the command's refusals.
func TestSDKRegenerate(t *testing.T) {
	dir := sdkProject(t)
	for _, lang := range []string{"go", "ts", "python"} {
		out := filepath.Join(dir, "gen-"+lang)
		sdkGenerate(t, dir, "--lang", lang, "--out", out)
		first := sdkTree(t, out)
		sdkGenerate(t, dir, "--lang", lang, "--out", out)
		if second := sdkTree(t, out); !reflect.DeepEqual(first, second) {
			t.Errorf("%s: a second run changed the tree", lang)
		}
		if err := os.WriteFile(filepath.Join(out, "mine.txt"), []byte("mine"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.RemoveAll(filepath.Join(dir, "contracts", "com.acme", "signed_in")); err != nil {
		t.Fatal(err)
	}
	for lang, ext := range map[string]string{"go": ".go", "ts": ".ts", "python": ".py"} {
		out := filepath.Join(dir, "gen-"+lang)
		sdkGenerate(t, dir, "--lang", lang, "--out", out)
		tree := sdkTree(t, out)
		if _, ok := tree["c_com_acme_signed_in"+ext]; ok {
			t.Errorf("%s: the removed contract's file is still there", lang)
		}
		if _, ok := tree["c_com_example_checkout_completed"+ext]; !ok || tree["mine.txt"] != "mine" {
			t.Errorf("%s: regenerating removed more than the stale file: %v", lang, sortedNames(tree))
		}
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--lang", "go"}, "--out DIR is required"},
		{[]string{"--lang", "rust", "--out", "x"}, `--lang "rust": use go, ts or python`},
		{[]string{"--lang", "go", "--target", "segment", "--out", "x"}, "not both"},
		{[]string{"--target", "rudder", "--out", "x"}, `--target "rudder"`},
		{[]string{"--lang", "go", "--package", "func", "--out", "x"}, "not a Go package name"},
	} {
		_, stderr, code := runAccord(t, dir, nil, append([]string{"gen", "sdk"}, tc.args...)...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("accord gen sdk %v: exit %d, stderr %q; want a failure saying %q", tc.args, code, stderr, tc.want)
		}
	}
	writeContract(t, dir, "iglu:com.example/broken/jsonschema/1-0-0", `{"self": `)
	if _, stderr, code := runAccord(t, dir, nil, "gen", "sdk", "--lang", "go", "--out", "y"); code == 0 || !strings.Contains(stderr, "broken") {
		t.Errorf("a broken contract: exit %d, stderr %q; want a failure naming it", code, stderr)
	}
}

func sortedNames(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
