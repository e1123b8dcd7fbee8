// The catalog model as the UI's routes serve it: package catalog's types
// (internal/catalog), which accord gen catalog writes too. Only the
// members the pages read are declared.
/** bumpWords says what a SchemaVer bump means, in plain words. */
export const bumpWords = {
    ADDITION: "ADDITION: every event valid before is still valid",
    REVISION: "REVISION: some events valid before may now fail",
    MODEL: "MODEL: a breaking change; events valid before will fail",
};
/** piiWords says what Accord does with a field's value, in plain words. */
export function piiWords(p) {
    const what = {
        keep: "stored as sent",
        hash: "replaced by a salted hash (SHA-256) before it is stored",
        hmac: "replaced by a keyed hash (HMAC) before it is stored: the same value gives the same pseudonym",
        redact: 'replaced by "[redacted]" before it is stored',
        mask: `masked before it is stored: the first ${p.keep_chars ?? 0} characters kept, the rest as *`,
        truncate: `cut to its first ${p.keep_chars ?? 0} characters before it is stored`,
        drop: "removed before the event is stored",
    };
    return `${p.class}: ${what[p.action] ?? p.action}`;
}
/** fieldOf turns a JSON pointer such as /data/items/0/sku into items[0].sku. */
export function fieldOf(pointer) {
    const parts = pointer.split("/").slice(1).map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
    if (parts[0] === "data")
        parts.shift();
    let out = "";
    for (const p of parts) {
        if (/^\d+$/.test(p))
            out += `[${p}]`;
        else
            out += out === "" ? p : `.${p}`;
    }
    return out || "the event as a whole";
}
