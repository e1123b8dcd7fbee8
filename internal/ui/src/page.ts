// What a page of the UI is, and the route that picks it.

/**
 * Route is where the hash points: "#/catalog/iglu%3Acom.acme%2Fcheckout?q=x"
 * is page "catalog", rest ["iglu:com.acme/checkout"], query q=x.
 */
export interface Route {
  page: string;
  rest: string[];
  query: URLSearchParams;
}

/**
 * Page is one section of the UI. render fills root (an empty <main>) for
 * route; it may return a function that stops what it started (timers,
 * event streams), called before the next page is shown.
 */
export interface Page {
  /** path is the route's first segment: "#/" + path. */
  path: string;
  /** title names the page in the navigation and the window title. */
  title: string;
  render(root: HTMLElement, route: Route): void | Cleanup | Promise<void | Cleanup>;
}

export type Cleanup = () => void;

/** link is the hash of a page: link("catalog", key) -> "#/catalog/<key>". */
export function link(page: string, ...rest: string[]): string {
  return "#/" + [page, ...rest].map(encodeURIComponent).join("/");
}

/** parseRoute reads a location hash; null when it is not a route ("#main"). */
export function parseRoute(hash: string): Route | null {
  if (hash === "" || hash === "#" || hash === "#/") return { page: "", rest: [], query: new URLSearchParams() };
  if (!hash.startsWith("#/")) return null;
  let path = hash.slice(2);
  let query = "";
  const q = path.indexOf("?");
  if (q >= 0) {
    query = path.slice(q + 1);
    path = path.slice(0, q);
  }
  const segs = path.split("/").filter((s) => s !== "");
  const decoded = segs.map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  return { page: decoded[0] ?? "", rest: decoded.slice(1), query: new URLSearchParams(query) };
}
