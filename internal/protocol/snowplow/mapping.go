package snowplow

// FieldMapping says where one tp2 field lands on the envelope, so that the
// protocol's documentation can be generated from (and tested against) what
// the decoder does.
type FieldMapping struct {
	// Param is the field's tp2 name, as sent in a query string or a
	// payload_data event.
	Param string
	// Envelope is where the value lands, as the envelope's JSON field names:
	// "identity.user_id", "payload.page_url (pv, pp)", "attributes.aid".
	// Several places are separated by "; ".
	Envelope string
	// Doc says what the field holds.
	Doc string
}

// Mapping lists every field of the Snowplow tracker protocol and where it
// lands. A field it does not list is kept in attributes under its own name,
// as are the type-specific fields (ue_*, pp_*, se_*, tr_*, ti_*) sent with
// an event of another type. An empty value is treated as absent, except in
// attributes, which keep every value as sent.
func Mapping() []FieldMapping {
	return []FieldMapping{
		// The event.
		{"e", "schema; attributes.e", "Event type: pv (page view), pp (page ping), se (structured event; ev in old trackers), tr (transaction), ti (transaction item) or ue (self-describing event). Required; it names the contract."},
		{"eid", "event_id", "Event id, a UUID set by the tracker."},
		{"tv", "attributes.tv", "Tracker name and version, such as js-3.24.0. Required."},
		{"p", "attributes.p", "Platform: web, mob, pc, srv, app, tv, cnsl or iot. Required."},
		{"tna", "namespace", "Tracker namespace, telling apart several trackers on one page or app."},
		{"aid", "attributes.aid", "Application id."},
		{"tid", "attributes.tid", "Transaction id, a random number the tracker made to deduplicate events (deprecated)."},
		{"ue_pr", "schema; payload", "Self-describing event (e=ue) as JSON: {\"schema\": \"" + unstructSchema + "\", \"data\": {\"schema\": ..., \"data\": ...}}; the inner schema names the contract, the inner data is the payload."},
		{"ue_px", "schema; payload", "Self-describing event (e=ue) as ue_pr, base64-encoded (URL-safe or standard, padded or not)."},
		{"co", "contexts", "Contexts as JSON: {\"schema\": \"" + contextsPrefix + "x\", \"data\": [{\"schema\": ..., \"data\": ...}]}."},
		{"cx", "contexts", "Contexts as co, base64-encoded (URL-safe or standard, padded or not)."},

		// Time.
		{"dtm", "created_at", "When the event was created on the device, in milliseconds since the Unix epoch."},
		{"stm", "sent_at", "When the tracker sent the event, in milliseconds since the Unix epoch."},
		{"ttm", "attributes.ttm", "True timestamp: when the event really happened, as set by the user, in milliseconds since the Unix epoch."},
		{"tz", "attributes.tz", "Time zone of the device, such as Europe/London."},

		// Who.
		{"uid", "identity.user_id", "User id set by the business."},
		{"duid", "identity.anonymous_id", "Domain user id: the tracker's first-party cookie id of the user."},
		{"nuid", "identity.network_user_id", "Network user id: the collector's third-party cookie id of the user. Kept in attributes.nuid when tnuid differs from it."},
		{"tnuid", "identity.network_user_id", "Network user id set by the tracker; it overrides nuid."},
		{"vid", "attributes.vid", "Domain session index: how many sessions the user has had."},
		{"sid", "attributes.sid", "Domain session id, a UUID."},
		{"ip", "attributes.ip", "IP address the tracker reports for the user."},
		{"fp", "attributes.fp", "User fingerprint (deprecated)."},
		{"mac", "attributes.mac", "MAC address of the device."},

		// The page and the device.
		{"url", "payload.page_url (pv, pp); attributes.url", "URL of the page."},
		{"page", "payload.page_title (pv, pp); attributes.page", "Title of the page."},
		{"refr", "payload.referrer (pv, pp); attributes.refr", "URL of the referrer."},
		{"ua", "attributes.ua", "User agent the tracker reports."},
		{"lang", "attributes.lang", "Language of the browser or device, such as en-GB."},
		{"res", "attributes.res", "Screen resolution, such as 1280x1024."},
		{"vp", "attributes.vp", "Viewport size, such as 1105x390."},
		{"ds", "attributes.ds", "Web page width and height, such as 1200x1600."},
		{"cd", "attributes.cd", "Color depth of the screen, in bits."},
		{"cs", "attributes.cs", "Character set of the page, such as UTF-8."},
		{"cookie", "attributes.cookie", "1 when the browser accepts cookies, 0 otherwise."},
		{"ctype", "attributes.ctype", "Type of the device's network connection, such as wifi (mobile)."},
		{"f_pdf", "attributes.f_pdf", "1 when the browser reads PDF."},
		{"f_qt", "attributes.f_qt", "1 when the browser has Quicktime."},
		{"f_realp", "attributes.f_realp", "1 when the browser has RealPlayer."},
		{"f_wma", "attributes.f_wma", "1 when the browser has Windows Media."},
		{"f_dir", "attributes.f_dir", "1 when the browser has Director."},
		{"f_fla", "attributes.f_fla", "1 when the browser has Flash."},
		{"f_java", "attributes.f_java", "1 when the browser has Java."},
		{"f_gears", "attributes.f_gears", "1 when the browser has Google Gears."},
		{"f_ag", "attributes.f_ag", "1 when the browser has Silverlight."},

		// Page ping (e=pp).
		{"pp_mix", "payload.min_x (pp)", "Minimum page x offset seen in the last ping period, in pixels; an integer."},
		{"pp_max", "payload.max_x (pp)", "Maximum page x offset seen in the last ping period, in pixels; an integer."},
		{"pp_miy", "payload.min_y (pp)", "Minimum page y offset seen in the last ping period, in pixels; an integer."},
		{"pp_may", "payload.max_y (pp)", "Maximum page y offset seen in the last ping period, in pixels; an integer."},

		// Structured event (e=se).
		{"se_ca", "payload.category (se)", "Category of the structured event. Required by its contract."},
		{"se_ac", "payload.action (se)", "Action of the structured event. Required by its contract."},
		{"se_la", "payload.label (se)", "Label of the structured event."},
		{"se_pr", "payload.property (se)", "Property of the structured event."},
		{"se_va", "payload.value (se)", "Value of the structured event; a number."},

		// Transaction (e=tr).
		{"tr_id", "payload.order_id (tr)", "Order id. Required by its contract."},
		{"tr_af", "payload.affiliation (tr)", "Transaction affiliation, such as the store."},
		{"tr_tt", "payload.total (tr)", "Total value of the transaction; a number. Required by its contract."},
		{"tr_tx", "payload.tax (tr)", "Tax on the transaction; a number."},
		{"tr_sh", "payload.shipping (tr)", "Delivery cost of the transaction; a number."},
		{"tr_ci", "payload.city (tr)", "Delivery address: city."},
		{"tr_st", "payload.state (tr)", "Delivery address: state."},
		{"tr_co", "payload.country (tr)", "Delivery address: country."},
		{"tr_cu", "payload.currency (tr)", "Currency of the transaction, such as EUR."},

		// Transaction item (e=ti).
		{"ti_id", "payload.order_id (ti)", "Order id of the transaction the item belongs to. Required by its contract."},
		{"ti_sk", "payload.sku (ti)", "Item SKU. Required by its contract."},
		{"ti_nm", "payload.name (ti)", "Item name."},
		{"ti_ca", "payload.category (ti)", "Item category."},
		{"ti_pr", "payload.price (ti)", "Item price; a number. Required by its contract."},
		{"ti_qu", "payload.quantity (ti)", "Item quantity; an integer. Required by its contract."},
		{"ti_cu", "payload.currency (ti)", "Currency of the price, such as EUR."},
	}
}
