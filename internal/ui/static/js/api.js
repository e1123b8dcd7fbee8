// Talking to the collector. Every URL is relative to the page (the UI is
// served at .../ui/), so that it works behind a reverse proxy that serves
// Accord under a path prefix: "api/..." are the UI's own routes, "../stats"
// and "../api/..." the admin surface's. Requests carry the page's own
// credentials (the browser's basic auth for admin.auth) and go nowhere else.
/** ApiError is an answer that was not 2xx, with the server's explanation. */
export class ApiError extends Error {
    status;
    body;
    constructor(status, message, body) {
        super(message);
        this.status = status;
        this.body = body;
    }
}
async function decode(resp) {
    const type = resp.headers.get("Content-Type") ?? "";
    if (type.includes("json"))
        return resp.json();
    return resp.text();
}
function errorOf(resp, body) {
    let msg = `${resp.status} ${resp.statusText}`;
    if (body && typeof body === "object" && "error" in body && typeof body.error === "string") {
        msg = body.error;
    }
    return new ApiError(resp.status, msg, body);
}
/** getJSON fetches a relative URL and decodes its JSON answer. */
export async function getJSON(url) {
    const resp = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    const body = await decode(resp);
    if (!resp.ok)
        throw errorOf(resp, body);
    return body;
}
/**
 * postJSON sends body as JSON to a relative URL and decodes the answer.
 * Unlike getJSON it resolves on 4xx too (status says which), since a
 * refusal is often the answer the page shows.
 */
export async function postJSON(url, body) {
    const resp = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
    });
    const decoded = await decode(resp);
    if (resp.status >= 500)
        throw errorOf(resp, decoded);
    return { status: resp.status, body: decoded };
}
/** absolute resolves a URL relative to the page, as the browser would. */
export function absolute(url) {
    return new URL(url, document.baseURI).href;
}
