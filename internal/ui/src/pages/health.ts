// Health: is every record getting where it should? The alerts (alerts.rules
// and where they notify), the sinks (delivered, lag, last success, errors)
// and the spool (how full it is), from /stats, refreshed every few seconds.
import { getJSON } from "../api.js";
import { definitionList, errorBox, every, pageHeader } from "../components.js";
import { ago, formatBytes, formatNumber, h, replace, text } from "../dom.js";
import type { Page } from "../page.js";

/** Stats is the part of GET /stats this page shows. */
export interface Stats {
  counted_since?: string;
  spool: SpoolStats | null;
  sinks: SinkStats[];
  contracts: { schema: string; good: number; failed: number }[];
  alerts?: Alerts | null;
}

/** Alerts is /stats "alerts" (package alert's Snapshot). */
interface Alerts {
  interval: string;
  evaluated_at: string | null;
  rules: Rule[] | null;
  receivers: Receiver[] | null;
}

interface Rule {
  name: string;
  kind: string;
  contract?: string;
  sink?: string;
  state: string;
  since: string;
  summary: string;
  note?: string;
  receivers: string[] | null;
  last_notification: { status: string; repeat: boolean; at: string } | null;
}

interface Receiver {
  name: string;
  format: string;
  sent: number;
  failed: number;
  dropped: number;
  last_success_at?: string;
  last_error?: string;
  last_error_at?: string;
}

interface SpoolStats {
  bytes: number;
  max_bytes?: number;
  records: number;
  segments: number;
}

interface SinkStats {
  name: string;
  state?: string;
  delivered: number;
  retried: number;
  dead_lettered: number;
  lag_records: number;
  lag_bytes: number;
  lag_seconds: number;
  last_success_at?: string;
  last_error?: string;
  last_error_at?: string;
  last_connect_error?: string;
  last_connect_error_at?: string;
}

/** statsURL is the admin surface's /stats, relative to the UI at .../ui/. */
export const statsURL = "../stats";

const refreshMs = 5000;

const stateOrder: Record<string, number> = { firing: 0, pending: 1, ok: 2 };

function ruleState(state: string): HTMLElement {
  const cls = state === "firing" ? "bad" : state === "pending" ? "warn" : "good";
  return h("span", { class: `badge ${cls}` }, state);
}

function alertsSection(a: Alerts | null | undefined): HTMLElement {
  const sec = h("section", { id: "alerts", "aria-labelledby": "alerts-h" }, h("h2", { id: "alerts-h" }, "Alerts"));
  const rules = [...(a?.rules ?? [])].sort((x, y) => (stateOrder[x.state] ?? 3) - (stateOrder[y.state] ?? 3) || x.name.localeCompare(y.name));
  if (!a || rules.length === 0) {
    sec.append(h("p", null, "No alert rules are configured. Rules in alerts.rules watch failed ratios, freshness and volume, sink lag, the spool and dead letters, and notify webhooks."));
    return sec;
  }
  const firing = rules.filter((r) => r.state === "firing").length;
  sec.append(
    h("p", { class: "hint" }, `${firing === 0 ? "Nothing is firing." : `${firing} firing.`} Rules are judged every ${a.interval}; last ${a.evaluated_at ? ago(a.evaluated_at) : "not yet"}.`),
    h(
      "div",
      { class: "table-scroll" },
      h(
        "table",
        { id: "alerts-table" },
        h("thead", null, h("tr", null, ["Rule", "State", "Since", "What it found", "Watching", "Last notification"].map((c) => h("th", { scope: "col" }, c)))),
        h(
          "tbody",
          null,
          rules.map((r) =>
            h(
              "tr",
              { "data-rule": r.name, "data-state": r.state },
              h("th", { scope: "row" }, r.name, h("div", { class: "hint" }, r.kind)),
              h("td", null, ruleState(r.state)),
              h("td", null, ago(r.since)),
              h("td", { class: "wrap" }, r.summary, r.note ? h("div", { class: "hint" }, r.note) : null),
              h("td", { class: "wrap" }, r.contract ?? r.sink ?? "—"),
              h("td", null, r.last_notification ? `${r.last_notification.status}${r.last_notification.repeat ? " (repeat)" : ""}, ${ago(r.last_notification.at)}` : "none yet"),
            ),
          ),
        ),
      ),
    ),
  );
  const receivers = a.receivers ?? [];
  if (receivers.length > 0) {
    sec.append(
      h("h3", null, "Where alerts are sent"),
      h(
        "div",
        { class: "table-scroll" },
        h(
          "table",
          { id: "receivers-table" },
          h("thead", null, h("tr", null, ["Receiver", "Format", "Sent", "Failed", "Dropped", "Last success", "Last error"].map((c) => h("th", { scope: "col" }, c)))),
          h(
            "tbody",
            null,
            receivers.map((r) =>
              h(
                "tr",
                { "data-receiver": r.name },
                h("th", { scope: "row" }, r.name),
                h("td", null, r.format),
                h("td", { class: "num" }, formatNumber(r.sent)),
                h("td", { class: "num" }, formatNumber(r.failed)),
                h("td", { class: "num" }, formatNumber(r.dropped)),
                h("td", null, ago(r.last_success_at)),
                h("td", { class: "wrap" }, r.last_error ? [r.last_error, " ", h("small", null, ago(r.last_error_at))] : "none"),
              ),
            ),
          ),
        ),
      ),
    );
  }
  return sec;
}

function spoolSection(sp: SpoolStats | null): HTMLElement {
  const sec = h("section", { "aria-labelledby": "spool-h" }, h("h2", { id: "spool-h" }, "Spool"));
  if (!sp) {
    sec.append(h("p", null, "The spool is off: records go to the sinks directly."));
    return sec;
  }
  sec.append(h("p", { class: "hint" }, "The spool is the collector's disk buffer: each request is acknowledged once its records are here, and every sink reads them from here at its own pace. When it is full, the collector answers 503 and trackers retry."));
  const items: [string, Node | string][] = [
    ["Size on disk", formatBytes(sp.bytes)],
    ["Records held", formatNumber(sp.records)],
    ["Segment files", formatNumber(sp.segments)],
  ];
  if (sp.max_bytes) {
    const ratio = sp.bytes / sp.max_bytes;
    const pct = `${(ratio * 100).toFixed(1)} %`;
    items.push(["Limit", formatBytes(sp.max_bytes)]);
    items.push([
      "Fill",
      h("span", null, h("meter", { min: 0, max: 1, low: 0.5, high: 0.8, optimum: 0, value: ratio, "aria-label": "spool fill" }, pct), " ", pct),
    ]);
  }
  sec.append(definitionList(items));
  return sec;
}

function sinkState(s: SinkStats): HTMLElement {
  if (s.state === "connecting") return h("span", { class: "badge warn" }, "connecting");
  if (s.last_error_at && (!s.last_success_at || s.last_error_at > s.last_success_at)) return h("span", { class: "badge bad" }, "failing");
  if (s.lag_records > 0) return h("span", { class: "badge" }, "catching up");
  return h("span", { class: "badge good" }, "up to date");
}

function sinksSection(sinks: SinkStats[]): HTMLElement {
  const sec = h("section", { "aria-labelledby": "sinks-h" }, h("h2", { id: "sinks-h" }, "Sinks"));
  sec.append(h("p", { class: "hint" }, "Where records are delivered. Lag is what a sink has yet to take from the spool, and how old the oldest of it may be."));
  if (sinks.length === 0) {
    sec.append(h("p", null, "No sink is configured."));
    return sec;
  }
  const rows = sinks.map((s) =>
    h(
      "tr",
      { "data-sink": s.name },
      h("th", { scope: "row" }, s.name),
      h("td", null, sinkState(s)),
      h("td", { class: "num" }, formatNumber(s.delivered)),
      h("td", { class: "num" }, `${formatNumber(s.lag_records)} (${s.lag_seconds.toFixed(1)} s)`),
      h("td", null, ago(s.last_success_at)),
      h("td", { class: "num" }, formatNumber(s.retried)),
      h("td", { class: "num" }, formatNumber(s.dead_lettered)),
      h(
        "td",
        { class: "wrap" },
        s.last_error ? [h("span", null, text(s.last_error)), " ", h("small", null, ago(s.last_error_at))] : "none",
        s.last_connect_error && s.state === "connecting" ? h("div", null, "connect: ", s.last_connect_error) : null,
      ),
    ),
  );
  sec.append(
    h(
      "div",
      { class: "table-scroll" },
      h(
        "table",
        null,
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            ["Sink", "State", "Delivered", "Lag (records, age)", "Last success", "Retried", "Dead letters", "Last error"].map((c) => h("th", { scope: "col" }, c)),
          ),
        ),
        h("tbody", null, rows),
      ),
    ),
  );
  return sec;
}

export const healthPage: Page = {
  path: "health",
  title: "Health",
  async render(root) {
    root.append(pageHeader("Health", "Is every event getting where it should? The collector's alerts, its sinks and its spool, refreshed every 5 seconds."));
    const body = h("div", { "aria-live": "polite" });
    const status = h("p", { class: "hint" });
    root.append(body, status);
    const load = async () => {
      const st = await getJSON<Stats>(statsURL);
      replace(body, alertsSection(st.alerts), sinksSection(st.sinks ?? []), spoolSection(st.spool));
      replace(status, `Updated ${new Date().toLocaleTimeString("en")}.`);
    };
    await load();
    return every(refreshMs, load, (err) => replace(status, errorBox(err)));
  },
};
