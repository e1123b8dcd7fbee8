// The client scenarios of TestClientsBehaviour for the generated TypeScript
// client (compiled to dist/). SCENARIO names one; URL is the test server.
// It prints {"stats": ..., "errors": [...]}: the client's counts and the
// errors track threw, by name.
import * as t from "./dist/index.js";

const url = process.env.URL;
const ev = (i) => t.newPageViewV1_0_0({ url: `https://shop.example/${i}` });
const errors = [];
const track = (c, e) => {
  try {
    c.track(e);
  } catch (err) {
    errors.push(err.name);
  }
};
const scenarios = {
  batches: async () => {
    const c = new t.Client({ url, batchSize: 10, flushIntervalMs: 3600000 });
    for (let i = 0; i < 25; i++) track(c, ev(i));
    await c.close();
    return c;
  },
  retries: async () => {
    const c = new t.Client({ url, flushIntervalMs: 10, minBackoffMs: 100, maxBackoffMs: 1000 });
    track(c, ev(0));
    await c.close();
    return c;
  },
  retryafter: async () => {
    const c = new t.Client({ url, flushIntervalMs: 10, minBackoffMs: 1, maxBackoffMs: 5000 });
    track(c, ev(0));
    await c.close();
    return c;
  },
  hugeretryafter: async () => {
    const c = new t.Client({ url, flushIntervalMs: 10, minBackoffMs: 1, maxBackoffMs: 10 });
    track(c, ev(0));
    await c.close();
    return c;
  },
  nullanswer: async () => {
    const c = new t.Client({ url, flushIntervalMs: 10, minBackoffMs: 1, maxBackoffMs: 10 });
    track(c, ev(0));
    await c.close();
    return c;
  },
  notHTTP: async () => {
    const c = new t.Client({ url, flushIntervalMs: 10, minBackoffMs: 1, maxBackoffMs: 10 });
    track(c, ev(0));
    await c.close();
    return c;
  },
  noanswer: async () => {
    const c = new t.Client({ url, flushIntervalMs: 10, maxRetries: 1, minBackoffMs: 1, maxBackoffMs: 2, timeoutMs: 300 });
    track(c, ev(0));
    await c.close();
    return c;
  },
  giveup: async () => {
    const c = new t.Client({ url, flushIntervalMs: 10, maxRetries: 2, minBackoffMs: 1, maxBackoffMs: 2 });
    track(c, ev(0));
    track(c, ev(1));
    await c.close();
    return c;
  },
  clienterror: async () => {
    const c = new t.Client({ url, flushIntervalMs: 10 });
    track(c, ev(0));
    await c.close();
    return c;
  },
  queuefull: async () => {
    const c = new t.Client({ url, batchSize: 1, queueSize: 3, flushIntervalMs: 1 });
    track(c, ev(0));
    while (Number(await (await fetch(url + "/calls")).text()) === 0) await new Promise((r) => setTimeout(r, 5));
    for (let i = 1; i <= 10; i++) track(c, ev(i));
    await fetch(url + "/release");
    await c.close();
    return c;
  },
  invalid: async () => {
    const c = new t.Client({ url, flushIntervalMs: 1 });
    const e = ev(0);
    e.data.url = "not a uri";
    track(c, e);
    await c.close();
    return c;
  },
};
const c = await scenarios[process.env.SCENARIO]();
process.stdout.write(JSON.stringify({ stats: c.stats(), errors }) + "\n");
