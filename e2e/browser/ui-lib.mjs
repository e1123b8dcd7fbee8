// Shared by the UI tests (e2e/ui_test.go): launch Debian's chromium through
// playwright-core with the admin credentials, open UI pages while recording
// everything that would mean a broken page, and take the screenshots that
// docs/ui.md shows.
//
// Environment: CHROMIUM (the browser), BASE (the UI's URL, ending in /ui/,
// possibly under a reverse proxy's path prefix), ADMIN_USER and
// ADMIN_PASSWORD (admin.auth basic credentials; empty: none), SHOTS (the
// directory screenshots are written to).
import { chromium } from "playwright-core";
import path from "node:path";

export const env = (name, fallback) => {
  const v = process.env[name];
  if (v === undefined || v === "") {
    if (fallback !== undefined) return fallback;
    throw new Error(`${name} is not set`);
  }
  return v;
};

export const BASE = () => env("BASE");

// launch starts the browser and one context (profile) holding the admin
// credentials, at a fixed size and colour scheme so that screenshots
// compare.
export async function launch() {
  const browser = await chromium.launch({ executablePath: env("CHROMIUM"), args: ["--no-sandbox"] });
  const user = env("ADMIN_USER", "");
  const context = await browser.newContext({
    viewport: { width: 1200, height: 800 },
    colorScheme: "light",
    locale: "en-US",
    timezoneId: "UTC",
    httpCredentials: user ? { username: user, password: env("ADMIN_PASSWORD", "") } : undefined,
  });
  return { browser, context };
}

// watch records on page what a user would see as broken: console errors,
// uncaught exceptions, failed requests, answers of 400 or more, requests to
// any origin other than the UI's own, and dialogs (a script injected
// through contract text calling alert()).
export function watch(page) {
  const origin = new URL(BASE()).origin;
  const w = { consoleErrors: [], pageErrors: [], failedRequests: [], badResponses: [], external: [], dialogs: [] };
  page.on("console", (m) => {
    if (m.type() === "error") w.consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => w.pageErrors.push(String(e)));
  page.on("requestfailed", (r) => {
    // A stream closed because the page moved on is not a failure.
    const f = r.failure()?.errorText ?? "";
    if (f !== "net::ERR_ABORTED") w.failedRequests.push(`${r.method()} ${r.url()}: ${f}`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400) w.badResponses.push(`${r.status()} ${r.request().method()} ${r.url()}`);
  });
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (u.protocol !== "data:" && u.origin !== origin) w.external.push(r.url());
  });
  page.on("dialog", async (d) => {
    w.dialogs.push(d.message());
    await d.dismiss();
  });
  return w;
}

// problems lists what watch recorded, empty for a clean page.
export function problems(w) {
  return [
    ...w.consoleErrors.map((s) => `console error: ${s}`),
    ...w.pageErrors.map((s) => `uncaught: ${s}`),
    ...w.failedRequests.map((s) => `request failed: ${s}`),
    ...w.badResponses.map((s) => `answer: ${s}`),
    ...w.external.map((s) => `request to another origin: ${s}`),
    ...w.dialogs.map((s) => `dialog: ${s}`),
  ];
}

// open loads the UI at hash (such as "#/health") in a new page and waits
// until the page named ready has rendered.
export async function open(context, hash, ready) {
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(BASE() + hash);
  if (ready) await waitReady(page, ready);
  return { page, w };
}

// waitReady waits until the shell marks page as rendered (main[data-ready]).
export async function waitReady(page, name, timeout = 20000) {
  await page.waitForSelector(`main[data-ready="${name}"]`, { timeout });
}

// shot writes a screenshot of the whole page to SHOTS/name.
export async function shot(page, name) {
  const dir = env("SHOTS", "");
  if (!dir) return;
  await page.screenshot({ path: path.join(dir, name), fullPage: true, animations: "disabled", caret: "hide" });
}

// run runs main, prints its JSON summary, and exits 1 on an error (the Go
// test shows stderr).
export function run(main) {
  main().then(
    (summary) => {
      process.stdout.write(JSON.stringify(summary) + "\n");
      process.exit(0);
    },
    (err) => {
      process.stderr.write((err && err.stack) || String(err));
      process.exit(1);
    },
  );
}
