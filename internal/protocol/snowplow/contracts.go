package snowplow

import "embed"

// Contracts holds the contracts of the built-in tp2 event types (page_view,
// page_ping, structured_event, transaction and transaction_item, see the
// Schema constants) and of the standard contexts the trackers attach by
// default (web_page), laid out as a contracts directory under "contracts":
// contracts/com.snowplowanalytics.snowplow/{name}/jsonschema/1-0-0. The
// wiring loads them into the registry beside the user's contracts, so that
// the events this protocol builds resolve without the user writing them.
//
//go:embed contracts
var Contracts embed.FS
