// Pieces several pages share.
import { ApiError } from "./api.js";
import { h } from "./dom.js";
/** errorBox shows what went wrong, and for a 401 what to do about it. */
export function errorBox(err) {
    const msg = err instanceof Error ? err.message : String(err);
    const box = h("div", { class: "error", role: "alert" }, h("p", null, msg));
    if (err instanceof ApiError && err.status === 401) {
        box.append(h("p", null, "The admin pages need the credentials of admin.auth: reload the page and sign in."));
    }
    return box;
}
/** pageHeader is a page's title with a sentence saying what it is for. */
export function pageHeader(title, intro) {
    return h("header", { class: "page-header" }, h("h1", null, title), h("p", { class: "intro" }, intro));
}
/** definitionList shows label/value pairs as a <dl>. */
export function definitionList(items) {
    const dl = h("dl", { class: "facts" });
    for (const [k, v] of items)
        dl.append(h("dt", null, k), h("dd", null, v));
    return dl;
}
/**
 * every runs fn every ms (the first time ms from now) until the returned stop is called;
 * a failed run is handed to onError and the next one still comes.
 */
export function every(ms, fn, onError) {
    let stopped = false;
    let timer = 0;
    const tick = async () => {
        try {
            await fn();
        }
        catch (err) {
            if (!stopped)
                onError(err);
        }
        finally {
            if (!stopped)
                timer = window.setTimeout(tick, ms);
        }
    };
    timer = window.setTimeout(tick, ms);
    return () => {
        stopped = true;
        window.clearTimeout(timer);
    };
}
