// Failed events: the failed records a sink stored (../failed/records),
// browsed by contract and failure type, and replayed through today's
// contracts (../failed/replay, the same replay as accord replay) with the
// outcome of each shown.
import { getJSON, postJSON } from "../api.js";
import { errorBox, pageHeader } from "../components.js";
import { h, replace } from "../dom.js";
import { contractOptions, failureTypes, recordDetail } from "../record.js";
const recordsURL = "../failed/records";
const replayURL = "../failed/replay";
const pageSize = 50;
/** maxSelected is what one replay may name (the API's bound). */
const maxSelected = 100;
export const failedPage = {
    path: "failed",
    title: "Failed events",
    async render(root, route) {
        root.append(pageHeader("Failed events", "Events the collector stored as failed, oldest first. Pick a contract or a failure type, look at what went wrong, and once the contract (or the sender) is fixed, select records and replay them: those that now validate are stored as good."));
        const q = route.query;
        const source = h("select", { id: "f-source", name: "source" });
        const contract = h("select", { id: "f-contract", name: "contract" });
        await contractOptions(contract, q.get("contract") ?? "").catch(() => contract.append(h("option", { value: "" }, "All contracts")));
        const type = h("select", { id: "f-type", name: "type" }, h("option", { value: "" }, "Any"), failureTypes.map((t) => h("option", { value: t, selected: t === q.get("type") }, t)));
        const form = h("form", { class: "filters", "aria-label": "filters" }, h("div", null, h("label", { for: "f-source" }, "Store"), source), h("div", null, h("label", { for: "f-contract" }, "Contract"), contract), h("div", null, h("label", { for: "f-type" }, "Failure type"), type), h("div", null, h("button", { type: "submit" }, "Show")));
        const all = h("input", { type: "checkbox", "aria-label": "select every record shown" });
        const tbody = h("tbody");
        const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more");
        const replayBtn = h("button", { type: "button", disabled: true, class: "replay" }, "Replay selected");
        const selCount = h("span", { class: "hint" }, "");
        const outcome = h("div", { class: "outcome", "aria-live": "polite" });
        const detail = h("div", { class: "detail" });
        const message = h("div");
        root.append(form, message, h("div", { class: "toolbar" }, replayBtn, selCount), outcome, h("div", { class: "table-scroll" }, h("table", { class: "records" }, h("thead", null, h("tr", null, h("th", { scope: "col" }, all), ["Collected", "Failure", "Contract", "First message", "Event id"].map((c) => h("th", { scope: "col" }, c)))), tbody)), more, detail);
        let cursor = "";
        let shown = [];
        // The filter the rows were read with: a replay reads with it too.
        let filter = { source: "", contract: "", type: "" };
        const selectedIDs = () => [...tbody.querySelectorAll("input[type=checkbox]:checked")].map((c) => c.value);
        const updateSelection = () => {
            const n = selectedIDs().length;
            replayBtn.disabled = n === 0 || n > maxSelected;
            replace(selCount, n === 0 ? "Select records to replay them." : n > maxSelected ? `${n} selected: replay at most ${maxSelected} at a time.` : `${n} selected.`);
        };
        const addRows = (recs) => {
            for (const rec of recs) {
                const box = h("input", { type: "checkbox", value: rec.event_id, "aria-label": `select ${rec.event_id}`, onchange: updateSelection });
                const first = rec.failure?.messages[0];
                const row = h("tr", { "data-event-id": rec.event_id, tabindex: "0" }, h("td", null, box), h("td", null, rec.collected_at ? new Date(rec.collected_at).toLocaleString("en", { hour12: false }) : "—"), h("td", null, h("span", { class: "badge bad" }, rec.failure?.type ?? "failed")), h("td", { class: "wrap" }, rec.schema || "—"), h("td", { class: "wrap" }, first ? first.message : "—"), h("td", null, h("code", null, rec.event_id)));
                row.addEventListener("click", (ev) => {
                    if (ev.target === box)
                        return;
                    for (const r of tbody.querySelectorAll("tr[aria-selected]"))
                        r.removeAttribute("aria-selected");
                    row.setAttribute("aria-selected", "true");
                    replace(detail, recordDetail(rec));
                });
                tbody.append(row);
            }
        };
        const load = async (next) => {
            const params = new URLSearchParams();
            if (next) {
                Object.entries(filter).forEach(([k, v]) => v && params.set(k, v));
                params.set("cursor", cursor);
            }
            else {
                filter = { source: source.value, contract: contract.value, type: type.value };
                Object.entries(filter).forEach(([k, v]) => v && params.set(k, v));
                const hash = "#/failed" + (params.size ? "?" + params.toString() : "");
                if (location.hash !== hash)
                    history.replaceState(null, "", hash);
            }
            params.set("limit", String(pageSize));
            const page = await getJSON(`${recordsURL}?${params.toString()}`);
            if (source.options.length === 0) {
                for (const s of page.sources)
                    source.append(h("option", { value: s, selected: s === page.source }, s));
            }
            if (!next) {
                replace(tbody);
                replace(detail);
                shown = [];
            }
            shown.push(...page.records);
            addRows(page.records);
            cursor = page.next_cursor ?? "";
            more.hidden = cursor === "";
            replace(message, shown.length === 0 ? h("p", { class: "hint empty" }, "No failed record matches. Everything that arrived validated, or the filter is too narrow.") : h("p", { class: "hint" }, `${shown.length} failed records shown${cursor ? "; more below" : ""}.`));
            updateSelection();
        };
        const replay = async () => {
            const ids = selectedIDs();
            replayBtn.disabled = true;
            replace(outcome, h("p", null, `Replaying ${ids.length} records…`));
            try {
                const body = { event_ids: ids };
                if (filter.source)
                    body.source = filter.source;
                if (filter.contract)
                    body.contract = filter.contract;
                if (filter.type)
                    body.types = [filter.type];
                const res = await postJSON(replayURL, body);
                if (res.status !== 200)
                    throw new Error(res.body.error ?? `replay answered ${res.status}`);
                showOutcome(res.body);
            }
            catch (err) {
                replace(outcome, errorBox(err));
            }
            finally {
                updateSelection();
            }
        };
        const showOutcome = (r) => {
            const written = Object.entries(r.report.written).map(([s, n]) => `${n} to ${s}`).join(", ");
            const rows = r.outcomes.map((o) => h("tr", { "data-event-id": o.event_id, "data-outcome": o.skipped ? "skipped" : o.valid ? "good" : "failed" }, h("td", null, h("code", null, o.event_id)), h("td", null, o.skipped ? h("span", { class: "badge warn" }, "skipped") : o.valid ? h("span", { class: "badge good" }, "now good") : h("span", { class: "badge bad" }, `still ${o.failure?.type ?? "failed"}`)), h("td", { class: "wrap" }, o.skipped ?? (o.valid ? "Validates against today's contract; stored as good." : (o.failure?.messages ?? []).map((m) => `${m.instance_path ? m.instance_path + ": " : ""}${m.message}`).join("; ")))));
            replace(outcome, h("section", { class: r.report.failed === 0 && r.report.good > 0 ? "ok" : "", "aria-labelledby": "outcome-h" }, h("h2", { id: "outcome-h" }, "Replay outcome"), h("p", null, `${r.report.good} now good, ${r.report.failed} still failing` +
                (Object.keys(r.report.skipped).length ? `, ${Object.values(r.report.skipped).reduce((a, b) => a + b, 0)} skipped` : "") +
                (written ? `; written ${written}` : "") +
                (r.report.already_written ? `; ${r.report.already_written} not written again (an earlier replay stored them)` : "") +
                "."), r.not_found.length ? h("p", { class: "hint" }, `Not found in the store: ${r.not_found.join(", ")}.`) : null, h("table", null, h("thead", null, h("tr", null, ["Event id", "Outcome", "Why"].map((c) => h("th", { scope: "col" }, c)))), h("tbody", null, rows)), h("p", { class: "hint" }, "Replayed records stay in the failed store as a history of what arrived; the good copies are in the sinks that take good records.")));
        };
        form.addEventListener("submit", (ev) => {
            ev.preventDefault();
            replace(outcome);
            load(false).catch((err) => replace(message, errorBox(err)));
        });
        more.addEventListener("click", () => void load(true).catch((err) => replace(message, errorBox(err))));
        all.addEventListener("change", () => {
            for (const c of tbody.querySelectorAll("input[type=checkbox]"))
                c.checked = all.checked;
            updateSelection();
        });
        replayBtn.addEventListener("click", () => void replay());
        await load(false);
    },
};
