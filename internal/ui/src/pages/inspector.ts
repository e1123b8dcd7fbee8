// Live inspector: the records the collector stores, as it stores them
// (after the contracts' privacy rules), from the server-sent events of
// ../inspector/stream, filtered by contract, protocol, good or failed and
// failure type. A failed record shows each message with its field
// highlighted in the event.
import { errorBox, pageHeader } from "../components.js";
import { h, replace } from "../dom.js";
import type { Page, Route } from "../page.js";
import { contractOptions, failureTypes, recordDetail, statusBadge, type Envelope } from "../record.js";

/** streamURL is the admin surface's stream, relative to the UI at .../ui/. */
const streamURL = "../inspector/stream";

/** maxRows bounds the records the page keeps; older ones leave the list. */
const maxRows = 200;

const protocols = ["selfdesc", "snowplow", "segment", "cloudevents", "webhook", "pixel"];

function select(name: string, label: string, hint: string, options: [string, string][], value: string): [HTMLLabelElement, HTMLSelectElement] {
  const sel = h("select", { name, id: `f-${name}` }, options.map(([v, l]) => h("option", { value: v, selected: v === value }, l)));
  return [h("label", { for: `f-${name}` }, label, h("span", { class: "hint" }, hint)), sel];
}

export const inspectorPage: Page = {
  path: "inspector",
  title: "Inspector",
  async render(root, route: Route) {
    root.append(
      pageHeader(
        "Live inspector",
        "Events as this collector stores them, the moment they arrive: good and failed, after the contracts' privacy rules (a hashed field shows its hash, a dropped one is not there). Pick a record to see it; a failed one shows what is wrong and where.",
      ),
    );
    const q = route.query;
    const contract = h("select", { name: "contract", id: "f-contract" });
    await contractOptions(contract, q.get("contract") ?? "").catch(() => contract.append(h("option", { value: "" }, "All contracts")));
    const [protoLabel, proto] = select("protocol", "Protocol", "", [["", "Any protocol"], ...protocols.map((p): [string, string] => [p, p])], q.get("protocol") ?? "");
    const [validLabel, valid] = select("valid", "Records", "", [["", "Good and failed"], ["good", "Good only"], ["failed", "Failed only"]], q.get("valid") ?? "");
    const [typeLabel, type] = select("type", "Failure type", "", [["", "Any"], ...failureTypes.map((t): [string, string] => [t, t])], q.get("type") ?? "");
    const filters = h(
      "form",
      { class: "filters", "aria-label": "filters", onsubmit: (ev: Event) => ev.preventDefault() },
      h("div", null, h("label", { for: "f-contract" }, "Contract"), contract),
      h("div", null, protoLabel, proto),
      h("div", null, validLabel, valid),
      h("div", null, typeLabel, type),
    );
    const status = h("p", { class: "stream-status", role: "status", "aria-live": "polite" }, "Connecting…");
    const dropped = h("p", { class: "hint dropped", "data-dropped": "0" });
    const pause = h("button", { type: "button", class: "secondary", "aria-pressed": "false" }, "Pause");
    const clear = h("button", { type: "button", class: "secondary" }, "Clear");
    const tbody = h("tbody");
    const empty = h("p", { class: "hint empty" }, "No record yet. Send an event to the collector and it shows here within a second.");
    const detail = h("div", { class: "detail", "aria-live": "polite" });
    root.append(
      filters,
      h("div", { class: "toolbar" }, status, pause, clear),
      dropped,
      empty,
      h(
        "div",
        { class: "table-scroll" },
        h(
          "table",
          { class: "records" },
          h("thead", null, h("tr", null, ["Collected", "Status", "Protocol", "Contract", "Event id"].map((c) => h("th", { scope: "col" }, c)))),
          tbody,
        ),
      ),
      detail,
    );

    let source: EventSource | null = null;
    let paused = false;
    let selected: HTMLElement | null = null;

    const show = (rec: Envelope, row: HTMLElement) => {
      selected?.removeAttribute("aria-selected");
      row.setAttribute("aria-selected", "true");
      selected = row;
      replace(detail, recordDetail(rec));
    };

    const add = (rec: Envelope) => {
      empty.hidden = true;
      const row = h(
        "tr",
        { class: rec.valid ? "good" : "failed", "data-event-id": rec.event_id, tabindex: "0" },
        h("td", null, rec.collected_at ? new Date(rec.collected_at).toLocaleTimeString("en", { hour12: false }) : "—"),
        h("td", null, statusBadge(rec)),
        h("td", null, rec.protocol),
        h("td", { class: "wrap" }, rec.schema || "—"),
        h("td", null, h("code", null, rec.event_id)),
      );
      row.addEventListener("click", () => show(rec, row));
      row.addEventListener("keydown", (ev) => {
        if ((ev as KeyboardEvent).key === "Enter") show(rec, row);
      });
      tbody.insertBefore(row, tbody.firstChild);
      while (tbody.children.length > maxRows) tbody.lastElementChild?.remove();
    };

    const connect = () => {
      source?.close();
      const params = new URLSearchParams();
      for (const [k, el] of [["contract", contract], ["protocol", proto], ["valid", valid], ["type", type]] as const) {
        if (el.value) params.set(k, el.value);
      }
      // The filter stays in the address, so a reload or a shared link
      // keeps it.
      const hash = "#/inspector" + (params.size ? "?" + params.toString() : "");
      if (location.hash !== hash) history.replaceState(null, "", hash);
      replace(status, "Connecting…");
      replace(dropped);
      dropped.dataset.dropped = "0";
      const es = new EventSource(streamURL + (params.size ? "?" + params.toString() : ""));
      source = es;
      es.addEventListener("hello", () => {
        replace(status, h("span", { class: "badge good" }, "live"), " Watching: new records appear at the top.");
        root.dataset.live = "true";
      });
      es.addEventListener("record", (ev) => {
        if (paused) return;
        try {
          add(JSON.parse((ev as MessageEvent).data) as Envelope);
        } catch {
          // A record the page cannot read is skipped, not fatal.
        }
      });
      es.addEventListener("dropped", (ev) => {
        const n = (JSON.parse((ev as MessageEvent).data) as { dropped: number }).dropped;
        dropped.dataset.dropped = String(n);
        replace(
          dropped,
          `${n.toLocaleString("en")} records matching the filter were not shown here: the collector sends this view at most 200 a second and skips what it cannot keep up with. They were stored all the same; nothing is dropped from the pipeline.`,
        );
      });
      es.addEventListener("bye", () => {
        replace(status, h("span", { class: "badge warn" }, "stopped"), " The collector is shutting down.");
        es.close();
      });
      es.onerror = () => {
        root.dataset.live = "false";
        if (es.readyState === EventSource.CLOSED) {
          replace(status, errorBox(new Error("The stream was refused: too many viewers, or the admin credentials are missing. Reload the page to try again.")));
        } else {
          replace(status, h("span", { class: "badge warn" }, "reconnecting"), " The connection dropped; reconnecting…");
        }
      };
    };

    for (const el of [contract, proto, valid, type]) el.addEventListener("change", connect);
    pause.addEventListener("click", () => {
      paused = !paused;
      pause.setAttribute("aria-pressed", String(paused));
      replace(pause, paused ? "Resume" : "Pause");
    });
    clear.addEventListener("click", () => {
      replace(tbody);
      replace(detail);
      empty.hidden = false;
    });
    connect();
    return () => source?.close();
  },
};
