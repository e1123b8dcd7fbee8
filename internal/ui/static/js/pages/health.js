// Health: is every record getting where it should? The sinks (delivered,
// lag, last success, errors) and the spool (how full it is), from /stats,
// refreshed every few seconds.
import { getJSON } from "../api.js";
import { definitionList, errorBox, every, pageHeader } from "../components.js";
import { ago, formatBytes, formatNumber, h, replace, text } from "../dom.js";
/** statsURL is the admin surface's /stats, relative to the UI at .../ui/. */
export const statsURL = "../stats";
const refreshMs = 5000;
function spoolSection(sp) {
    const sec = h("section", { "aria-labelledby": "spool-h" }, h("h2", { id: "spool-h" }, "Spool"));
    if (!sp) {
        sec.append(h("p", null, "The spool is off: records go to the sinks directly."));
        return sec;
    }
    sec.append(h("p", { class: "hint" }, "The spool is the collector's disk buffer: each request is acknowledged once its records are here, and every sink reads them from here at its own pace. When it is full, the collector answers 503 and trackers retry."));
    const items = [
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
function sinkState(s) {
    if (s.state === "connecting")
        return h("span", { class: "badge warn" }, "connecting");
    if (s.last_error_at && (!s.last_success_at || s.last_error_at > s.last_success_at))
        return h("span", { class: "badge bad" }, "failing");
    if (s.lag_records > 0)
        return h("span", { class: "badge" }, "catching up");
    return h("span", { class: "badge good" }, "up to date");
}
function sinksSection(sinks) {
    const sec = h("section", { "aria-labelledby": "sinks-h" }, h("h2", { id: "sinks-h" }, "Sinks"));
    sec.append(h("p", { class: "hint" }, "Where records are delivered. Lag is what a sink has yet to take from the spool, and how old the oldest of it may be."));
    if (sinks.length === 0) {
        sec.append(h("p", null, "No sink is configured."));
        return sec;
    }
    const rows = sinks.map((s) => h("tr", { "data-sink": s.name }, h("th", { scope: "row" }, s.name), h("td", null, sinkState(s)), h("td", { class: "num" }, formatNumber(s.delivered)), h("td", { class: "num" }, `${formatNumber(s.lag_records)} (${s.lag_seconds.toFixed(1)} s)`), h("td", null, ago(s.last_success_at)), h("td", { class: "num" }, formatNumber(s.retried)), h("td", { class: "num" }, formatNumber(s.dead_lettered)), h("td", { class: "wrap" }, s.last_error ? [h("span", null, text(s.last_error)), " ", h("small", null, ago(s.last_error_at))] : "none", s.last_connect_error && s.state === "connecting" ? h("div", null, "connect: ", s.last_connect_error) : null)));
    sec.append(h("div", { class: "table-scroll" }, h("table", null, h("thead", null, h("tr", null, ["Sink", "State", "Delivered", "Lag (records, age)", "Last success", "Retried", "Dead letters", "Last error"].map((c) => h("th", { scope: "col" }, c)))), h("tbody", null, rows))));
    return sec;
}
export const healthPage = {
    path: "health",
    title: "Health",
    async render(root) {
        root.append(pageHeader("Health", "Is every event getting where it should? The collector's sinks and its spool, refreshed every 5 seconds."));
        const body = h("div", { "aria-live": "polite" });
        const status = h("p", { class: "hint" });
        root.append(body, status);
        const load = async () => {
            const st = await getJSON(statsURL);
            replace(body, spoolSection(st.spool), sinksSection(st.sinks ?? []));
            replace(status, `Updated ${new Date().toLocaleTimeString("en")}.`);
        };
        await load();
        return every(refreshMs, load, (err) => replace(status, errorBox(err)));
    },
};
