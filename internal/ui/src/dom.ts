// Building the page from data. Every text goes in as a text node, never as
// markup: a contract's description holding <script> shows as those
// characters and runs nothing. Nothing in the UI assigns innerHTML (a test
// of package ui holds it to that).

/** A child of an element: a node, a text, or nothing (skipped). */
export type Child = Node | string | number | null | undefined | false;

/** Attributes of an element; on* handlers are functions, never strings. */
export type Attrs = {
  [name: string]: string | number | boolean | null | undefined | ((ev: Event) => void);
};

/**
 * h builds an element: h("a", { href: "#/catalog" }, "Catalog").
 * A function attribute whose name starts with "on" becomes a listener;
 * true sets a boolean attribute, false/null/undefined leave it out.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs | null = null,
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [name, value] of Object.entries(attrs)) {
      if (typeof value === "function") {
        if (!name.startsWith("on")) throw new Error(`attribute ${name}: only on* may be a function`);
        el.addEventListener(name.slice(2), value);
      } else if (value === true) {
        el.setAttribute(name, "");
      } else if (value !== false && value !== null && value !== undefined) {
        if (name.startsWith("on")) throw new Error(`attribute ${name}: a handler must be a function`);
        el.setAttribute(name, String(value));
      }
    }
  }
  append(el, children);
  return el;
}

/** append adds children (nested arrays flattened, empty ones skipped). */
export function append(el: Node, children: (Child | Child[])[]): void {
  for (const c of children) {
    if (Array.isArray(c)) {
      append(el, c);
    } else if (c instanceof Node) {
      el.appendChild(c);
    } else if (c !== null && c !== undefined && c !== false) {
      el.appendChild(document.createTextNode(String(c)));
    }
  }
}

/** replace empties el and fills it with children. */
export function replace(el: Node, ...children: (Child | Child[])[]): void {
  while (el.firstChild) el.removeChild(el.firstChild);
  append(el, children);
}

/** text is a value as a page shows it: "—" for nothing. */
export function text(v: unknown): string {
  if (v === null || v === undefined || v === "") return "—";
  return String(v);
}

/** formatNumber groups digits: 12345 -> "12,345". */
export function formatNumber(n: number): string {
  return n.toLocaleString("en");
}

/** formatBytes shows a size in B, KiB, MiB or GiB. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/** ago says how long before now an RFC 3339 time was: "12 s ago". */
export function ago(iso: string | undefined | null, now = Date.now()): string {
  if (!iso) return "never";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}
