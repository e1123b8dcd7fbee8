// What a page of the UI is, and the route that picks it.
/** link is the hash of a page: link("catalog", key) -> "#/catalog/<key>". */
export function link(page, ...rest) {
    return "#/" + [page, ...rest].map(encodeURIComponent).join("/");
}
/** parseRoute reads a location hash; null when it is not a route ("#main"). */
export function parseRoute(hash) {
    if (hash === "" || hash === "#" || hash === "#/")
        return { page: "", rest: [], query: new URLSearchParams() };
    if (!hash.startsWith("#/"))
        return null;
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
        }
        catch {
            return s;
        }
    });
    return { page: decoded[0] ?? "", rest: decoded.slice(1), query: new URLSearchParams(query) };
}
