// Package contract loads data contracts (Iglu-style self-describing JSON
// Schemas), compiles each once, resolves events' schema keys to them and
// validates event data against them.
//
// Meta-schemas for drafts 4, 6, 7, 2019-09 and 2020-12 and Iglu's own
// self-describing meta-schema are embedded: resolving a contract never touches
// the network.
package contract
