// Showing one stored record (an envelope, docs/envelope.md) as the
// inspector and the failed-events pages do: its facts, its failure's
// messages, and its event as JSON with the field each message is about
// highlighted, found by the message's JSON pointer (instance_path, such as
// /data/age or /contexts/0/data/id).
import { getJSON } from "./api.js";
import { h } from "./dom.js";

/** Message is one problem of a failure. */
export interface Message {
  schema?: string;
  instance_path: string;
  schema_path: string;
  keyword?: string;
  message: string;
}

/** Envelope is the part of a stored record these pages show. */
export interface Envelope {
  event_id: string;
  collected_at: string | null;
  protocol: string;
  schema: string;
  valid: boolean;
  payload: unknown;
  contexts: { schema: string; data: unknown }[] | null;
  failure?: { type: string; messages: Message[] };
  raw?: string;
  raw_encoding?: string;
  replayed_at?: string;
}

/** failureTypes are the failure types, for the filters. */
export const failureTypes = [
  "schema_violation",
  "schema_not_found",
  "protocol_violation",
  "payload_format_violation",
  "size_violation",
  "unplanned_event",
];

/** statusBadge says good, or the failure type. */
export function statusBadge(rec: Envelope): HTMLElement {
  if (rec.valid) return h("span", { class: "badge good" }, "good");
  return h("span", { class: "badge bad" }, rec.failure?.type ?? "failed");
}

/**
 * contractOptions fills a <select> with the registry's contracts: each
 * contract (every version, as a key prefix) and each version.
 */
export async function contractOptions(select: HTMLSelectElement, selected: string): Promise<void> {
  const keys = await getJSON<string[]>("../api/schemas");
  const prefixes = new Set<string>();
  for (const k of keys) {
    const i = k.lastIndexOf("/");
    if (i > 0) prefixes.add(k.slice(0, i + 1));
  }
  const opts: [string, string][] = [["", "All contracts"]];
  for (const p of [...prefixes].sort()) {
    opts.push([p, `${p.replace(/^iglu:/, "").replace(/\/jsonschema\/$/, "")} (every version)`]);
    for (const k of keys.filter((k) => k.startsWith(p)).sort()) opts.push([k, `  ${k.replace(/^iglu:/, "")}`]);
  }
  if (selected && !opts.some(([v]) => v === selected)) opts.push([selected, selected]);
  for (const [value, label] of opts) select.append(h("option", { value, selected: value === selected }, label));
}

/** document is the event as its messages' pointers address it. */
function eventDocument(rec: Envelope): unknown {
  const doc: Record<string, unknown> = { data: rec.payload };
  if (rec.contexts && rec.contexts.length > 0) doc.contexts = rec.contexts;
  return doc;
}

function escapePointer(s: string): string {
  return s.replace(/~/g, "~0").replace(/\//g, "~1");
}

/**
 * renderJSON writes value as indented JSON into parent, each value in a
 * span whose data-pointer is its JSON pointer, so that a message's
 * instance_path finds it.
 */
function renderJSON(parent: HTMLElement, value: unknown, pointer: string, indent: string): void {
  const span = h("span", { class: "j-value", "data-pointer": pointer });
  parent.append(span);
  if (Array.isArray(value)) {
    if (value.length === 0) {
      span.append("[]");
      return;
    }
    span.append("[\n");
    value.forEach((v, i) => {
      span.append(indent + "  ");
      renderJSON(span, v, `${pointer}/${i}`, indent + "  ");
      span.append(i < value.length - 1 ? ",\n" : "\n");
    });
    span.append(indent + "]");
    return;
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) {
      span.append("{}");
      return;
    }
    span.append("{\n");
    entries.forEach(([k, v], i) => {
      const child = `${pointer}/${escapePointer(k)}`;
      span.append(indent + "  ", h("span", { class: "j-key", "data-key-of": child }, JSON.stringify(k)), ": ");
      renderJSON(span, v, child, indent + "  ");
      span.append(i < entries.length - 1 ? ",\n" : "\n");
    });
    span.append(indent + "}");
    return;
  }
  span.classList.add(value === null ? "j-null" : `j-${typeof value}`);
  span.append(JSON.stringify(value) ?? "null");
}

/** find returns the element of pointer, or of its nearest ancestor shown. */
function find(pre: HTMLElement, pointer: string): HTMLElement | null {
  let p = pointer;
  for (;;) {
    for (const el of pre.querySelectorAll<HTMLElement>("[data-pointer]")) {
      if (el.dataset.pointer === p) return el;
    }
    if (p === "") return null;
    p = p.slice(0, p.lastIndexOf("/"));
  }
}

/**
 * recordDetail shows a record: its failure's messages, each naming the
 * field it is about, and the event with those fields highlighted;
 * hovering a message points at its field.
 */
export function recordDetail(rec: Envelope): HTMLElement {
  const box = h("div", { class: "record-detail", "data-event-id": rec.event_id });
  const pre = h("pre", { class: "json", "aria-label": "the event as stored" });
  renderJSON(pre, eventDocument(rec), "", "");
  if (rec.failure) {
    const list = h("ol", { class: "messages" });
    rec.failure.messages.forEach((m, i) => {
      const target = m.instance_path ? find(pre, m.instance_path) : null;
      if (target) {
        target.classList.add("offending");
        target.dataset.message = String(i + 1);
        target.title = m.message;
        const key = pre.querySelector<HTMLElement>(`[data-key-of="${CSS.escape(target.dataset.pointer ?? "")}"]`);
        key?.classList.add("offending-key");
      }
      list.append(
        h(
          "li",
          {
            "data-instance-path": m.instance_path,
            onmouseenter: () => target?.classList.add("focus"),
            onmouseleave: () => target?.classList.remove("focus"),
          },
          m.instance_path ? h("code", { class: "pointer" }, m.instance_path) : null,
          m.instance_path ? " " : null,
          m.message,
          m.keyword ? h("small", { class: "hint" }, ` (keyword ${m.keyword}${m.schema_path ? ` at ${m.schema_path}` : ""})`) : null,
        ),
      );
    });
    box.append(h("h3", null, `Why it failed: ${rec.failure.type}`), list);
  }
  box.append(h("h3", null, "The event as stored"), pre);
  if (rec.payload === null && rec.raw) {
    box.append(h("h3", null, `Raw input (${rec.raw_encoding ?? "text"}, as the privacy policy keeps it)`), h("pre", { class: "raw" }, rec.raw));
  }
  box.append(h("p", { class: "hint" }, `event_id ${rec.event_id} · ${rec.protocol} · collected ${rec.collected_at ?? "—"}`));
  return box;
}
