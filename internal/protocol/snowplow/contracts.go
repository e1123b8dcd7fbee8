package snowplow

import "embed"

// Contracts holds the contracts of the built-in tp2 event types (page_view,
// page_ping, structured_event, transaction and transaction_item, see the
// Schema constants) and of the standard schemas Snowplow's trackers send by
// default or through their common plugins (web_page, client_session,
// mobile_context, the mobile, ecommerce and media entities, link clicks, forms,
// ...; docs/protocols/snowplow.md lists them), laid out as a contracts
// directory under "contracts": contracts/{vendor}/{name}/jsonschema/{M-R-A}.
// They are written by Accord to the shapes the trackers send, not copied
// from Iglu Central. The wiring loads them into the registry beside the
// user's contracts, under them, so that the trackers' events resolve without
// the user writing them and a user's file of the same key wins.
//
//go:embed contracts
var Contracts embed.FS
