package e2e

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// sdkBrowserPage is the page script: Snowplow's browser tracker (e2e/browser's
// pinned version) driven through the generated snowplow-browser.ts, bundled
// with esbuild, which reads the generated TypeScript as it is.
const sdkBrowserPage = `import { newTracker } from "@snowplow/browser-tracker";
import * as sp from "./src/snowplow-browser.ts";
import { ValidationError } from "./src/accord.ts";

const state = { tracked: [], acked: [], failures: [], refused: null, error: null };
window.accord = state;
try {
  const collector = new URLSearchParams(location.search).get("collector");
  newTracker("sp", collector, {
    appId: "accord-sdk", eventMethod: "post", bufferSize: 1,
    plugins: [{ afterTrack: (p) => state.tracked.push(p.eid) }],
    onRequestSuccess: (ps) => { for (const p of ps) state.acked.push(p.eid); },
    onRequestFailure: (f) => state.failures.push(String(f.message ?? f.status)),
  });
  sp.trackCheckoutCompletedV1_0_0({ order_id: "ord-1", total: 19.5, currency: "EUR", items: [{ sku: "sku-1", quantity: 2 }] });
  sp.trackPageViewV1_0_0({ url: "https://shop.example/", title: "Home" }, [{ schema: "iglu:com.example/user/jsonschema/1-0-0", data: { id: "u-1", plan: "pro" } }]);
  sp.trackUserV1_0_0({ id: "u-2" });
  sp.trackSignedInV2_0_0({ method: "passkey", email: "ada@example.com" }, [{ schema: "iglu:com.acme/device/jsonschema/1-0-0", data: { os: "linux" } }]);
  try {
    sp.trackCheckoutCompletedV1_0_0({ order_id: "ord-bad", total: -5, currency: "EUR", items: [{ sku: "sku-1", quantity: 1 }] });
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    state.refused = err.messages;
  }
} catch (err) {
  state.error = String(err && err.stack ? err.stack : err);
}
`

const sdkBrowserBundle = `import { build } from "esbuild";
await build({ entryPoints: ["page.mjs"], bundle: true, format: "iife", platform: "browser", target: "chrome120",
  outfile: "site/page.js", logLevel: "warning", define: { "process.env.NODE_ENV": '"production"' } });
`

const sdkBrowserDrive = `import { chromium } from "playwright-core";
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM, args: ["--no-sandbox"] });
try {
  const page = await browser.newPage();
  await page.goto(process.env.PAGE + "/index.html?collector=" + encodeURIComponent(process.env.COLLECTOR));
  const deadline = Date.now() + 60000;
  let state;
  for (;;) {
    state = await page.evaluate(() => window.accord);
    if (state && (state.error || state.failures.length > 0 || (state.tracked.length >= 4 && state.tracked.every((e) => state.acked.includes(e))))) break;
    if (Date.now() > deadline) throw new Error("the tracker did not send every event: " + JSON.stringify(state));
    await new Promise((r) => setTimeout(r, 50));
  }
  if (state.error || state.failures.length > 0) throw new Error(JSON.stringify(state));
  process.stdout.write(JSON.stringify({ refused: state.refused, stats: { sent: state.acked.length } }) + "\n");
} finally {
  await browser.close();
}
`

// TestSDKSnowplowBrowserWrapper drives Snowplow's browser tracker through
// the generated snowplow-browser.ts in headless Chromium: every event lands
// good, the invalid one is refused in the page and never sent.
func TestSDKSnowplowBrowserWrapper(t *testing.T) {
	node := nodeBinary(t)
	chromium := chromiumBinary(t)
	dir := sdkProject(t)
	web := filepath.Join(dir, "web")
	sdkGenerate(t, dir, "--target", "snowplow", "--out", filepath.Join(web, "src"))
	modules, err := filepath.Abs(filepath.Join(browserDir, "node_modules"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(modules, filepath.Join(web, "node_modules")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(web, "site"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		"page.mjs": sdkBrowserPage, "bundle.mjs": sdkBrowserBundle, "drive.mjs": sdkBrowserDrive,
		"package.json":    `{"type": "module", "private": true}`,
		"site/index.html": `<!doctype html><html><head><meta charset="utf-8"><title>sdk</title></head><body><script src="page.js"></script></body></html>`,
	} {
		if err := os.WriteFile(filepath.Join(web, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if stdout, stderr, err := nodeExecIn(t, web, node, "bundle.mjs"); err != nil {
		t.Fatalf("bundle: %v\n%s%s", err, stdout, stderr)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pages := &http.Server{Handler: http.FileServer(http.Dir(filepath.Join(web, "site"))), ReadHeaderTimeout: 10 * time.Second}
	go pages.Serve(ln)
	t.Cleanup(func() { pages.Close() })
	pageOrigin := "http://" + ln.Addr().String()
	c := startCollector(t, dir, "ACCORD_SERVER_CORS_ORIGINS="+pageOrigin)
	stdout, stderr, err := nodeExecIn(t, web, node, "drive.mjs", "CHROMIUM="+chromium, "PAGE="+pageOrigin, "COLLECTOR="+c.URL)
	if err != nil {
		t.Fatalf("drive.mjs: %v\nstdout:\n%s\nstderr:\n%s\ncollector:\n%s", err, stdout, stderr, c.logs)
	}
	var s sdkSummary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("drive.mjs printed no summary: %v\n%s", err, stdout)
	}
	sdkCheckRefusal(t, "snowplow browser", s.Refused)
	sdkWaitStored(t, c, "snowplow", sdkWant)
	c.stop()
}
