package dbt

// envelopeDescriptions describe the envelope's columns (docs/envelope.md
// says the same at length). TestEveryEnvelopeColumnDescribed holds every
// column of internal/sink/columns to having one here.
var envelopeDescriptions = map[string]string{
	"event_id":          "The event's id: the client's, or a time-ordered UUIDv7 Accord made. Unique: deduplicate on it, delivery is at least once.",
	"request_id":        "The id of the HTTP request the event came in.",
	"collected_at":      "When Accord received the request, on Accord's clock.",
	"sent_at":           "When the client says it sent the event; NULL when it did not say.",
	"created_at":        "When the client says the event happened; NULL when it did not say.",
	"event_time":        "Accord's best estimate of when the event happened, on Accord's clock (device clock skew corrected).",
	"protocol":          "The protocol the event arrived in: selfdesc, cloudevents, snowplow, segment, webhook or pixel.",
	"schema":            "The contract the event named, as iglu:vendor/name/jsonschema/M-R-A.",
	"vendor":            "The vendor part of schema.",
	"name":              "The name part of schema.",
	"version":           "The version part of schema (M-R-A).",
	"namespace":         "The event's namespace, or the collector's.",
	"valid":             "True for a good record: its data and every context validated against their contracts.",
	"payload":           "The event's data as sent, as JSON.",
	"contexts":          "The entities attached to the event, each {schema, data}, as a JSON array.",
	"attributes":        "Protocol metadata that is not event data (a CloudEvent's attributes), as JSON; NULL for protocols without any.",
	"source":            "Where the request came from (ip as the privacy policy leaves it, user_agent, referer, origin, path), as JSON.",
	"identity":          "Who the event is about (user_id, anonymous_id, network_user_id), as JSON.",
	"collector":         "The collector that took the event (name, env, version, host), as JSON.",
	"fingerprint":       "A hash of what the client sent of the event; identical resends share it.",
	"replayed_at":       "When accord replay ran the failed record through the pipeline again; NULL for records that were never replayed.",
	"original_event_id": "The id the event was sent with, when a store already held that id for another event and this one got a new event_id; NULL otherwise.",
	"failure_type":      "Failed records only: the failure's type (schema_violation, schema_not_found, ...).",
	"failure":           "Failed records only: the failure, {type, messages}, as JSON.",
	"raw":               "Failed records only: the original input, as text or base64 (raw_encoding says which).",
	"raw_encoding":      "Failed records only: text, base64 or withheld.",
}

func describeEnvelope(name string) string {
	if d, ok := envelopeDescriptions[name]; ok {
		return d
	}
	return "Envelope column " + name + " (see docs/envelope.md)."
}
