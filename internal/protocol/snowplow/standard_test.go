package snowplow

import (
	"encoding/base64"
	"io/fs"
	"path"
	"sort"
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/contract"
)

// standardCase is one standard schema as a tracker sends it, and shapes of
// it that must fail.
type standardCase struct {
	key string
	// event is true for a self-describing event (sent in ue_px), false for
	// an entity (sent in cx).
	event bool
	// sent is the data as the tracker named in the comment builds it.
	sent string
	// fail maps data that must not validate to a substring of the
	// messages.
	fail map[string]string
}

const (
	sp  = "iglu:com.snowplowanalytics.snowplow/"
	mob = "iglu:com.snowplowanalytics.mobile/"
	ec  = "iglu:com.snowplowanalytics.snowplow.ecommerce/"
	md  = "iglu:com.snowplowanalytics.snowplow.media/"
)

// standardCases holds every standard schema Accord ships besides the tp2
// event types, web_page and client_session (TestContracts and
// TestStandardContexts hold those). The sent data is built as the trackers'
// sources build it: @snowplow/browser-tracker 4.10 and its plugins,
// @snowplow/tracker-core 4 (the Node tracker's builders), the Android and
// iOS trackers 6 (their documented entities).
var standardCases = []standardCase{
	// browser tracker: appVersion setting.
	{key: sp + "application/jsonschema/1-0-0", sent: `{"version":"2.4.1"}`,
		fail: map[string]string{`{}`: "version", `{"version":2}`: "/version", `{"version":"1","build":"x"}`: "build"}},
	// browser tracker: page pings with activityMetrics on.
	{key: sp + "activity_metrics/jsonschema/1-0-0", sent: `{"mouseDistance":412,"scrollDistance":900,"keyPresses":3,"clicks":1,"touches":0}`,
		fail: map[string]string{`{"mouseDistance":1}`: "scrollDistance", `{"mouseDistance":-1,"scrollDistance":0,"keyPresses":0,"clicks":0,"touches":0}`: "/mouseDistance"}},
	// browser tracker: contexts: {browser: true}; deviceMemory is absent in
	// Firefox and Safari.
	{key: sp + "browser_context/jsonschema/2-0-0", sent: `{"viewport":"1280x720","documentSize":"1280x2400","resolution":"1920x1080","colorDepth":24,"devicePixelRatio":1.5,"cookiesEnabled":true,"online":true,"browserLanguage":"en-GB","documentLanguage":"en","webdriver":false,"hardwareConcurrency":8,"tabId":"3a1c9e2b-7f4d-4e8a-9b6c-1d2e3f4a5b6c"}`,
		fail: map[string]string{`{"viewport":"1280 by 720","documentSize":"1x1","resolution":"1x1","colorDepth":24,"cookiesEnabled":true,"online":true}`: "/viewport",
			`{"viewport":"1x1","documentSize":"1x1","resolution":"1x1","colorDepth":24,"cookiesEnabled":"yes","online":true}`: "/cookiesEnabled",
			`{"viewport":"1x1"}`: "documentSize"}},
	// link click tracking plugin (trackContent on) and tracker-core
	// buildLinkClick; 1-0-0 from older trackers.
	{key: sp + "link_click/jsonschema/1-0-1", event: true, sent: `{"targetUrl":"https://docs.example/start","elementId":"docs","elementClasses":["nav","external"],"elementTarget":"_blank","elementContent":"Read the docs"}`,
		fail: map[string]string{`{"elementId":"docs"}`: "targetUrl", `{"targetUrl":""}`: "/targetUrl", `{"targetUrl":"/","elementClasses":"nav"}`: "/elementClasses"}},
	{key: sp + "link_click/jsonschema/1-0-0", event: true, sent: `{"targetUrl":"https://docs.example/start","elementId":"docs","elementClasses":[],"elementTarget":""}`,
		fail: map[string]string{`{"targetUrl":"/","elementContent":"x"}`: "elementContent"}},
	// form tracking plugin: a text input changed, a select focused, a
	// form submitted (the password's value is null, the submit button left
	// out).
	{key: sp + "change_form/jsonschema/1-0-0", event: true, sent: `{"formId":"signup","elementId":"email","nodeName":"INPUT","elementClasses":["field"],"value":"ada@example.com","type":"email"}`,
		fail: map[string]string{`{"formId":"signup","elementId":"email","nodeName":"DIV","value":"x"}`: "/nodeName", `{"formId":"signup","elementId":"email","nodeName":"INPUT"}`: "value"}},
	{key: sp + "focus_form/jsonschema/1-0-0", event: true, sent: `{"formId":"signup","elementId":"plan","nodeName":"SELECT","elementClasses":[],"value":"pro"}`,
		fail: map[string]string{`{"formId":"signup","elementId":"plan","nodeName":"SELECT","value":"pro","type":"select"}`: "type", `{"elementId":"plan","nodeName":"SELECT","value":null}`: "formId"}},
	{key: sp + "submit_form/jsonschema/1-0-0", event: true, sent: `{"formId":"signup","formClasses":["signup-form"],"elements":[{"name":"email","value":"ada@example.com","nodeName":"INPUT","type":"email"},{"name":"password","value":null,"nodeName":"INPUT","type":"password"},{"name":"plan","value":"pro","nodeName":"SELECT"},{"name":"note","value":"","nodeName":"TEXTAREA"}]}`,
		fail: map[string]string{`{"formId":"signup","elements":[{"name":"email","nodeName":"INPUT"}]}`: "value", `{"formId":"signup","elements":[{"name":"b","value":"x","nodeName":"BUTTON"}]}`: "/elements/0/nodeName", `{"formClasses":[]}`: "formId"}},
	// site tracking plugin: trackSiteSearch, trackSocialInteraction,
	// trackTiming.
	{key: sp + "site_search/jsonschema/1-0-0", event: true, sent: `{"terms":["blue","shoes"],"filters":{"size":"42","in_stock":true},"totalResults":128,"pageResults":20}`,
		fail: map[string]string{`{"terms":[]}`: "/terms", `{"terms":["a"],"filters":{"size":42}}`: "/filters/size", `{"filters":{}}`: "terms"}},
	{key: sp + "social_interaction/jsonschema/1-0-0", event: true, sent: `{"action":"like","network":"facebook","target":"post-42"}`,
		fail: map[string]string{`{"action":"like"}`: "network"}},
	{key: sp + "timing/jsonschema/1-0-0", event: true, sent: `{"category":"load","variable":"map_loaded","timing":1250,"label":"Map"}`,
		fail: map[string]string{`{"category":"load","variable":"map","timing":1.5}`: "/timing", `{"category":"load","variable":"map"}`: "timing"}},
	// error tracking plugin (1-0-1), the iOS tracker's exception
	// autotracking (1-0-2: message, stack trace, name, SWIFT) and the
	// Android tracker's (1-0-0).
	{key: sp + "application_error/jsonschema/1-0-1", event: true, sent: `{"programmingLanguage":"JAVASCRIPT","message":"Uncaught TypeError: x is undefined","stackTrace":"TypeError: x is undefined\n    at https://shop.example/app.js:12:5","lineNumber":12,"lineColumn":5,"fileName":"https://shop.example/app.js"}`,
		fail: map[string]string{`{"programmingLanguage":"JAVASCRIPT"}`: "message", `{"programmingLanguage":"COBOL","message":"x"}`: "/programmingLanguage", `{"programmingLanguage":"JAVASCRIPT","message":"x","lineNumber":"12"}`: "/lineNumber"}},
	{key: sp + "application_error/jsonschema/1-0-2", event: true, sent: `{"message":"Index out of range","stackTrace":"0 Shop 0x0000000102f4c1d0 CartViewController.remove(at:) + 120","exceptionName":"NSRangeException","programmingLanguage":"SWIFT"}`,
		fail: map[string]string{`{"message":"x","stackTrace":"s"}`: "programmingLanguage", `{"programmingLanguage":"SWIFT","message":"x","exceptionName":42}`: "/exceptionName"}},
	{key: sp + "application_error/jsonschema/1-0-0", event: true, sent: `{"programmingLanguage":"JAVA","message":"Attempt to invoke virtual method on a null object reference","threadName":"main","threadId":2,"stackTrace":"java.lang.NullPointerException\n\tat com.example.Main.run(Main.java:10)","lineNumber":10,"className":"com.example.Main","exceptionName":"java.lang.NullPointerException","isFatal":true}`,
		fail: map[string]string{`{"programmingLanguage":"JAVA","message":"x","fileName":"Main.java"}`: "fileName", `{"programmingLanguage":"JAVA","message":""}`: "/message"}},
	// trackConsentGranted / trackConsentWithdrawn (consent plugin, mobile
	// trackers, tracker-core), their consent_document, and the GDPR entity
	// (enableGdprContext sends null for what is not given).
	{key: sp + "consent_document/jsonschema/1-0-0", sent: `{"id":"privacy-policy","version":"3.1","name":"Privacy policy","description":"How we use your data"}`,
		fail: map[string]string{`{"id":"privacy-policy"}`: "version", `{"id":"p","version":"this version is far too long"}`: "/version"}},
	{key: sp + "consent_granted/jsonschema/1-0-0", event: true, sent: `{"expiry":"2027-12-04T00:00:00.000Z"}`,
		fail: map[string]string{`{"expiry":"next year"}`: "/expiry", `{"expiry":"2027-12-04T00:00:00Z","all":true}`: "all"}},
	{key: sp + "consent_withdrawn/jsonschema/1-0-0", event: true, sent: `{"all":true}`,
		fail: map[string]string{`{"all":"yes"}`: "/all"}},
	{key: sp + "gdpr/jsonschema/1-0-0", sent: `{"basisForProcessing":"consent","documentId":"privacy-policy","documentVersion":"3.1","documentDescription":null}`,
		fail: map[string]string{`{"basisForProcessing":"because"}`: "/basisForProcessing", `{"documentId":"p"}`: "basisForProcessing"}},
	// tracker-core buildAddToCart / buildRemoveFromCart (Node tracker).
	{key: sp + "add_to_cart/jsonschema/1-0-0", event: true, sent: `{"sku":"sku-42","quantity":2,"name":"Shirt","category":"apparel","unitPrice":19.99,"currency":"EUR"}`,
		fail: map[string]string{`{"sku":"sku-42"}`: "quantity", `{"sku":"sku-42","quantity":1.5}`: "/quantity"}},
	{key: sp + "remove_from_cart/jsonschema/1-0-0", event: true, sent: `{"sku":"sku-42","quantity":1,"unitPrice":19.99}`,
		fail: map[string]string{`{"quantity":1}`: "sku", `{"sku":"s","quantity":1,"unitPrice":"19.99"}`: "/unitPrice"}},
	// tracker-core buildAdImpression / buildAdClick / buildAdConversion.
	{key: sp + "ad_impression/jsonschema/1-0-0", event: true, sent: `{"impressionId":"imp-1","costModel":"cpm","cost":0.5,"targetUrl":"https://ads.example/","bannerId":"b1","zoneId":"z1","advertiserId":"a1","campaignId":"c1"}`,
		fail: map[string]string{`{"costModel":"free"}`: "/costModel", `{"cost":-1}`: "/cost"}},
	{key: sp + "ad_click/jsonschema/1-0-0", event: true, sent: `{"targetUrl":"https://ads.example/","clickId":"click-1","costModel":"cpc","cost":0.2,"bannerId":"b1","impressionId":"imp-1"}`,
		fail: map[string]string{`{"clickId":"click-1"}`: "targetUrl"}},
	{key: sp + "ad_conversion/jsonschema/1-0-0", event: true, sent: `{"conversionId":"conv-1","costModel":"cpa","cost":10,"category":"signup","action":"complete","initialValue":25}`,
		fail: map[string]string{`{"initialValue":"25"}`: "/initialValue"}},
	// mobile trackers: platform context (1-0-3 from the trackers 6, older
	// versions from older trackers), geolocation, lifecycle events.
	{key: sp + "mobile_context/jsonschema/1-0-3", sent: `{"osType":"android","osVersion":"14","deviceManufacturer":"Google","deviceModel":"Pixel 8","carrier":"Vodafone","networkType":"wifi","networkTechnology":"LTE","androidIdfa":"","physicalMemory":8000000000,"systemAvailableMemory":3000000000,"batteryLevel":76,"batteryState":"charging","availableStorage":50000000000,"totalStorage":128000000000,"isPortrait":true,"resolution":"1080x2400","scale":2.625,"language":"en","appSetId":"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","appSetIdScope":"app"}`,
		fail: map[string]string{`{"osType":"ios","osVersion":"17"}`: "deviceManufacturer", `{"osType":"ios","osVersion":"17","deviceManufacturer":"Apple","deviceModel":"iPhone","batteryLevel":120}`: "/batteryLevel",
			`{"osType":"ios","osVersion":"17","deviceManufacturer":"Apple","deviceModel":"iPhone","networkType":"5g"}`: "/networkType"}},
	{key: sp + "mobile_context/jsonschema/1-0-2", sent: `{"osType":"ios","osVersion":"17.2","deviceManufacturer":"Apple Inc.","deviceModel":"iPhone15,2","carrier":null,"networkType":"mobile","networkTechnology":"CTRadioAccessTechnologyNR","appleIdfa":null,"appleIdfv":"6E1F9F7C-3D2A-4B5E-8F60-7A8B9C0D1E2F","physicalMemory":6000000000,"batteryLevel":55,"batteryState":"unplugged","lowPowerMode":false,"isPortrait":true,"resolution":"1179x2556","scale":3,"language":"en"}`,
		fail: map[string]string{`{"osType":"ios","osVersion":"17","deviceManufacturer":"Apple","deviceModel":"iPhone","appSetId":"x"}`: "appSetId"}},
	{key: sp + "mobile_context/jsonschema/1-0-1", sent: `{"osType":"android","osVersion":"9","deviceManufacturer":"Samsung","deviceModel":"SM-G960F","carrier":"O2","networkType":"mobile","networkTechnology":"LTE","androidIdfa":"38400000-8cf0-11bd-b23e-10b96e40000d"}`,
		fail: map[string]string{`{"osType":"android","osVersion":"9","deviceManufacturer":"Samsung","deviceModel":"S","batteryLevel":5}`: "batteryLevel"}},
	{key: sp + "mobile_context/jsonschema/1-0-0", sent: `{"osType":"ios","osVersion":"9.3","deviceManufacturer":"Apple Inc.","deviceModel":"iPhone8,1","carrier":"EE","appleIdfv":"6E1F9F7C-3D2A-4B5E-8F60-7A8B9C0D1E2F"}`,
		fail: map[string]string{`{"osType":"ios","osVersion":"9.3","deviceManufacturer":"Apple","deviceModel":"iPhone","networkType":"wifi"}`: "networkType"}},
	{key: sp + "geolocation_context/jsonschema/1-1-0", sent: `{"latitude":52.5200,"longitude":13.4050,"latitudeLongitudeAccuracy":12.5,"altitude":34,"altitudeAccuracy":3,"bearing":90,"speed":1.2,"timestamp":1764579600000}`,
		fail: map[string]string{`{"latitude":95,"longitude":0}`: "/latitude", `{"latitude":0}`: "longitude"}},
	{key: sp + "geolocation_context/jsonschema/1-0-0", sent: `{"latitude":-33.8688,"longitude":151.2093,"latitudeLongitudeAccuracy":null}`,
		fail: map[string]string{`{"latitude":0,"longitude":0,"timestamp":1}`: "timestamp"}},
	{key: sp + "desktop_context/jsonschema/1-0-0", sent: `{"osType":"Windows","osVersion":"10.0.19045","osServicePack":"","osIs64Bit":true,"deviceManufacturer":"Dell Inc.","deviceModel":"XPS 13","deviceProcessorCount":8}`,
		fail: map[string]string{`{"osType":"Windows"}`: "osVersion", `{"osType":"Linux","osVersion":"6","osIs64Bit":"yes"}`: "/osIs64Bit"}},
	{key: sp + "application_foreground/jsonschema/1-0-0", event: true, sent: `{"foregroundIndex":3}`,
		fail: map[string]string{`{"foregroundIndex":"3"}`: "/foregroundIndex"}},
	{key: sp + "application_background/jsonschema/1-0-0", event: true, sent: `{"backgroundIndex":2}`,
		fail: map[string]string{`{"backgroundIndex":-1}`: "/backgroundIndex"}},
	// tracker-core buildScreenView (name and id only) and the mobile
	// trackers' screen views, screen entity and application entity.
	{key: sp + "screen_view/jsonschema/1-0-0", event: true, sent: `{"name":"Home","id":"8e3b1c52-5a7d-4c1e-9f0a-2b6d4e8c1a37"}`,
		fail: map[string]string{`{"name":"Home"}`: "id", `{"name":"Home","id":"home"}`: "/id"}},
	{key: mob + "screen_view/jsonschema/1-0-0", event: true, sent: `{"name":"ProductDetail","id":"8e3b1c52-5a7d-4c1e-9f0a-2b6d4e8c1a37","type":"detail","previousName":"Catalog","previousId":"1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e","previousType":"list","transitionType":"push"}`,
		fail: map[string]string{`{"id":"8e3b1c52-5a7d-4c1e-9f0a-2b6d4e8c1a37"}`: "name", `{"name":"A","id":"8e3b1c52-5a7d-4c1e-9f0a-2b6d4e8c1a37","previousId":"b"}`: "/previousId"}},
	{key: mob + "screen/jsonschema/1-0-0", sent: `{"name":"ProductDetail","type":"detail","id":"8e3b1c52-5a7d-4c1e-9f0a-2b6d4e8c1a37","activity":"ProductActivity","fragment":"DetailFragment"}`,
		fail: map[string]string{`{"name":"ProductDetail"}`: "id", `{"name":"A","id":"8e3b1c52-5a7d-4c1e-9f0a-2b6d4e8c1a37","screen":"x"}`: "screen"}},
	{key: mob + "application/jsonschema/1-0-0", sent: `{"version":"5.2.0","build":"1042"}`,
		fail: map[string]string{`{"version":"5.2.0"}`: "build"}},
	{key: mob + "application_install/jsonschema/1-0-0", event: true, sent: `{}`,
		fail: map[string]string{`{"installTimestamp":"x"}`: "installTimestamp"}},
	{key: mob + "application_lifecycle/jsonschema/1-0-0", sent: `{"isVisible":true,"index":2}`,
		fail: map[string]string{`{"index":2}`: "isVisible"}},
	{key: mob + "deep_link_received/jsonschema/1-0-0", event: true, sent: `{"url":"shop://product/42","referrer":"https://mail.example/"}`,
		fail: map[string]string{`{"referrer":"x"}`: "url"}},
	{key: mob + "deep_link/jsonschema/1-0-0", sent: `{"url":"shop://product/42","referrer":null}`,
		fail: map[string]string{`{"url":42}`: "/url"}},
	{key: mob + "screen_end/jsonschema/1-0-0", event: true, sent: `{}`,
		fail: map[string]string{`{"name":"x"}`: "name"}},
	{key: mob + "screen_summary/jsonschema/1-0-0", sent: `{"foreground_sec":12.5,"background_sec":3,"last_item_index":11,"items_count":40,"min_x_offset":0,"max_x_offset":0,"min_y_offset":0,"max_y_offset":1800,"content_width":390,"content_height":5200}`,
		fail: map[string]string{`{"background_sec":3}`: "foreground_sec", `{"foreground_sec":-1}`: "/foreground_sec"}},
	{key: mob + "list_item_view/jsonschema/1-0-0", event: true, sent: `{"index":3,"items_count":40}`,
		fail: map[string]string{`{"items_count":40}`: "index"}},
	{key: mob + "scroll_changed/jsonschema/1-0-0", event: true, sent: `{"y_offset":400,"x_offset":0,"view_height":800,"view_width":390,"content_height":5200,"content_width":390}`,
		fail: map[string]string{`{"y_offset":"400"}`: "/y_offset"}},
	// snowplow-ecommerce plugin: trackAddToCart with its cart and product,
	// trackTransaction, trackCheckoutStep, trackPromotionView, trackRefund,
	// trackTransactionError, setPageType, setEcommerceUser; 1-0-1 from the
	// mobile trackers, 1-0-0 from older trackers.
	{key: ec + "snowplow_ecommerce_action/jsonschema/1-0-2", event: true, sent: `{"type":"trns_error"}`,
		fail: map[string]string{`{"type":"purchase"}`: "/type", `{"name":"x"}`: "type"}},
	{key: ec + "snowplow_ecommerce_action/jsonschema/1-0-1", event: true, sent: `{"type":"list_view","name":"recommended"}`,
		fail: map[string]string{`{"type":"trns_error"}`: "/type"}},
	{key: ec + "snowplow_ecommerce_action/jsonschema/1-0-0", event: true, sent: `{"type":"add_to_cart"}`,
		fail: map[string]string{`{"type":"refund"}`: "/type"}},
	{key: ec + "product/jsonschema/1-0-0", sent: `{"id":"sku-42","name":"Shirt","category":"apparel/shirts","price":19.99,"list_price":24.99,"quantity":2,"size":"M","variant":"blue","brand":"Acme","inventory_status":"in stock","position":3,"currency":"EUR","creative_id":"hero"}`,
		fail: map[string]string{`{"id":"sku-42","price":19.99}`: "currency", `{"id":"sku-42","price":19.99,"currency":"EURO"}`: "/currency", `{"id":"s","price":-1,"currency":"EUR"}`: "/price"}},
	{key: ec + "cart/jsonschema/1-0-0", sent: `{"cart_id":"cart-7","total_value":39.98,"currency":"EUR"}`,
		fail: map[string]string{`{"cart_id":"cart-7","currency":"EUR"}`: "total_value"}},
	{key: ec + "transaction/jsonschema/1-0-0", sent: `{"transaction_id":"ord-1","revenue":45.5,"currency":"EUR","payment_method":"card","total_quantity":2,"tax":7.27,"shipping":5.5,"discount_code":"WINTER","discount_amount":3,"credit_order":false}`,
		fail: map[string]string{`{"transaction_id":"ord-1","revenue":45.5,"currency":"EUR"}`: "payment_method", `{"transaction_id":"o","revenue":"45.5","currency":"EUR","payment_method":"card"}`: "/revenue"}},
	{key: ec + "checkout_step/jsonschema/1-0-0", sent: `{"step":2,"shipping_postcode":"10115","delivery_method":"express","coupon_code":"WINTER","account_type":"guest","payment_method":"card","marketing_opt_in":true}`,
		fail: map[string]string{`{"step":0}`: "/step", `{"coupon_code":"x"}`: "step"}},
	{key: ec + "page/jsonschema/1-0-0", sent: `{"type":"product","language":"en-GB","locale":"en-GB"}`,
		fail: map[string]string{`{"language":"en"}`: "type"}},
	{key: ec + "promotion/jsonschema/1-0-0", sent: `{"id":"winter-sale","name":"Winter sale","product_ids":["sku-42","sku-43"],"position":1,"creative_id":"banner-1","type":"carousel","slot":"hero"}`,
		fail: map[string]string{`{"name":"x"}`: "id", `{"id":"p","product_ids":[42]}`: "/product_ids/0"}},
	{key: ec + "refund/jsonschema/1-0-0", sent: `{"transaction_id":"ord-1","currency":"EUR","refund_amount":19.99,"refund_reason":"damaged"}`,
		fail: map[string]string{`{"transaction_id":"ord-1","currency":"EUR"}`: "refund_amount"}},
	{key: ec + "transaction_error/jsonschema/1-0-0", sent: `{"error_code":"E402","error_shortcode":"card_declined","error_description":"The card was declined","error_type":"hard","resolution":"rejected"}`,
		fail: map[string]string{`{"error_type":"fatal"}`: "/error_type"}},
	{key: ec + "user/jsonschema/1-0-0", sent: `{"id":"user-42","is_guest":false,"email":"ada@example.com"}`,
		fail: map[string]string{`{"email":"ada@example.com"}`: "id", `{"id":"u","email":"not an address"}`: "/email"}},
	// media plugin 4: the events with their bodies as trackMedia* build
	// them (an empty body for most), the player, session, ad and ad break
	// entities; media_player 1-0-0 from the older media plugins.
	{key: md + "ready_event/jsonschema/1-0-0", event: true, sent: `{}`, fail: map[string]string{`{"percentProgress":5}`: "percentProgress"}},
	{key: md + "play_event/jsonschema/1-0-0", event: true, sent: `{}`, fail: map[string]string{`{"x":1}`: "x"}},
	{key: md + "pause_event/jsonschema/1-0-0", event: true, sent: `{}`, fail: map[string]string{`{"x":1}`: "x"}},
	{key: md + "end_event/jsonschema/1-0-0", event: true, sent: `{}`, fail: map[string]string{`{"x":1}`: "x"}},
	{key: md + "seek_start_event/jsonschema/1-0-0", event: true, sent: `{}`, fail: map[string]string{`{"x":1}`: "x"}},
	{key: md + "seek_end_event/jsonschema/1-0-0", event: true, sent: `{}`, fail: map[string]string{`{"x":1}`: "x"}},
	{key: md + "ping_event/jsonschema/1-0-0", event: true, sent: `{}`, fail: map[string]string{`{"x":1}`: "x"}},
	{key: md + "buffer_start_event/jsonschema/1-0-0", event: true, sent: `{}`, fail: map[string]string{`{"x":1}`: "x"}},
	{key: md + "buffer_end_event/jsonschema/1-0-0", event: true, sent: `{}`, fail: map[string]string{`{"x":1}`: "x"}},
	{key: md + "ad_break_start_event/jsonschema/1-0-0", event: true, sent: `{}`, fail: map[string]string{`{"x":1}`: "x"}},
	{key: md + "ad_break_end_event/jsonschema/1-0-0", event: true, sent: `{}`, fail: map[string]string{`{"x":1}`: "x"}},
	{key: md + "ad_start_event/jsonschema/1-0-0", event: true, sent: `{}`, fail: map[string]string{`{"x":1}`: "x"}},
	{key: md + "ad_complete_event/jsonschema/1-0-0", event: true, sent: `{}`, fail: map[string]string{`{"x":1}`: "x"}},
	{key: md + "percent_progress_event/jsonschema/1-0-0", event: true, sent: `{"percentProgress":50}`, fail: map[string]string{`{"percentProgress":150}`: "/percentProgress", `{"percentProgress":50.5}`: "/percentProgress"}},
	{key: md + "ad_quartile_event/jsonschema/1-0-0", event: true, sent: `{"percentProgress":25}`, fail: map[string]string{`{}`: "percentProgress"}},
	{key: md + "ad_skip_event/jsonschema/1-0-0", event: true, sent: `{"percentProgress":40}`, fail: map[string]string{`{"percentProgress":"40"}`: "/percentProgress"}},
	{key: md + "ad_click_event/jsonschema/1-0-0", event: true, sent: `{"percentProgress":10}`, fail: map[string]string{`{"percentProgress":-1}`: "/percentProgress"}},
	{key: md + "ad_pause_event/jsonschema/1-0-0", event: true, sent: `{"percentProgress":60}`, fail: map[string]string{`{"adId":"a"}`: "adId"}},
	{key: md + "ad_resume_event/jsonschema/1-0-0", event: true, sent: `{}`, fail: map[string]string{`{"percentProgress":101}`: "/percentProgress"}},
	{key: md + "playback_rate_change_event/jsonschema/1-0-0", event: true, sent: `{"previousRate":1,"newRate":1.5}`, fail: map[string]string{`{"previousRate":1}`: "newRate"}},
	{key: md + "volume_change_event/jsonschema/1-0-0", event: true, sent: `{"previousVolume":80,"newVolume":40}`, fail: map[string]string{`{"newVolume":0.4}`: "/newVolume"}},
	{key: md + "fullscreen_change_event/jsonschema/1-0-0", event: true, sent: `{"fullscreen":true}`, fail: map[string]string{`{}`: "fullscreen"}},
	{key: md + "picture_in_picture_change_event/jsonschema/1-0-0", event: true, sent: `{"pictureInPicture":false}`, fail: map[string]string{`{"pictureInPicture":"no"}`: "/pictureInPicture"}},
	{key: md + "quality_change_event/jsonschema/1-0-0", event: true, sent: `{"previousQuality":"480p","newQuality":"1080p","bitrate":4500000,"framesPerSecond":30,"automatic":true}`, fail: map[string]string{`{"bitrate":-5}`: "/bitrate"}},
	{key: md + "error_event/jsonschema/1-0-0", event: true, sent: `{"errorCode":"500","errorName":"forbidden","errorDescription":"The video is not available"}`, fail: map[string]string{`{"errorCode":500}`: "/errorCode"}},
	{key: sp + "media_player/jsonschema/2-0-0", sent: `{"currentTime":12.5,"duration":300,"ended":false,"fullscreen":false,"livestream":false,"label":"Product tour","loop":false,"mediaType":"video","muted":false,"paused":false,"pictureInPicture":false,"playerType":"html5-video","playbackRate":1,"quality":"1080p","volume":80}`,
		fail: map[string]string{`{"currentTime":1,"paused":false}`: "ended", `{"currentTime":1,"paused":false,"ended":false,"mediaType":"film"}`: "/mediaType", `{"currentTime":1,"paused":false,"ended":false,"volume":0.8}`: "/volume"}},
	{key: sp + "media_player/jsonschema/1-0-0", sent: `{"currentTime":12.5,"duration":300,"ended":false,"loop":false,"muted":false,"paused":false,"playbackRate":1,"volume":80,"percentProgress":4}`,
		fail: map[string]string{`{"currentTime":1}`: "paused", `{"currentTime":1,"ended":false,"loop":false,"muted":false,"paused":false,"playbackRate":1,"volume":80,"mediaType":"video"}`: "mediaType"}},
	{key: md + "session/jsonschema/1-0-0", sent: `{"mediaSessionId":"video-1","startedAt":"2026-12-04T09:15:02.187Z","pingInterval":30,"timePlayed":41.5,"timePaused":3,"contentWatched":40,"avgPlaybackRate":1.1,"ads":1,"adBreaks":1,"timeSpentAds":15}`,
		fail: map[string]string{`{"startedAt":"2026-12-04T09:15:02.187Z"}`: "mediaSessionId", `{"mediaSessionId":"v","startedAt":"yesterday"}`: "/startedAt"}},
	{key: md + "ad/jsonschema/1-0-0", sent: `{"name":"Winter sale","adId":"ad-7","creativeId":"cr-1","podPosition":1,"duration":15,"skippable":true}`,
		fail: map[string]string{`{"name":"x"}`: "adId"}},
	{key: md + "ad_break/jsonschema/1-0-0", sent: `{"name":"pre-roll","breakId":"break-1","startTime":0,"breakType":"linear","podSize":2}`,
		fail: map[string]string{`{"breakId":"b"}`: "startTime", `{"breakId":"b","startTime":0,"breakType":"midroll"}`: "/breakType"}},
	// performance timing plugin: window.performance.timing as Chromium
	// serialises it.
	{key: "iglu:org.w3/PerformanceTiming/jsonschema/1-0-0", sent: `{"navigationStart":1764579600000,"unloadEventStart":0,"unloadEventEnd":0,"redirectStart":0,"redirectEnd":0,"fetchStart":1764579600003,"domainLookupStart":1764579600010,"domainLookupEnd":1764579600020,"connectStart":1764579600020,"connectEnd":1764579600050,"secureConnectionStart":1764579600030,"requestStart":1764579600051,"responseStart":1764579600120,"responseEnd":1764579600130,"domLoading":1764579600140,"domInteractive":1764579600300,"domContentLoadedEventStart":1764579600300,"domContentLoadedEventEnd":1764579600310,"domComplete":1764579600600,"loadEventStart":1764579600600,"loadEventEnd":1764579600605}`,
		fail: map[string]string{`{"navigationStart":"now"}`: "/navigationStart", `{"toJSON":1}`: "toJSON"}},
}

// TestStandardSchemas validates each shipped standard schema with its data
// as the trackers send it (an event in ue_px, an entity in cx, both base64
// as the trackers encode them), and the shapes that must fail. Every
// shipped schema has a case, so a schema added without a test fails here.
func TestStandardSchemas(t *testing.T) {
	contracts, problems, err := contract.LoadDir(contractsDir(t))
	if err != nil || len(problems) > 0 {
		t.Fatal(err, problems)
	}
	reg := contract.NewSet(contracts)
	tested := map[string]bool{}
	for _, tc := range standardCases {
		tested[tc.key] = true
		t.Run(strings.TrimPrefix(tc.key, "iglu:"), func(t *testing.T) {
			c, err := reg.Resolve(tc.key)
			if err != nil {
				t.Fatalf("resolve %s: %v", tc.key, err)
			}
			if msgs := validateSent(t, c, tc.key, tc.event, tc.sent); len(msgs) > 0 {
				t.Errorf("%s as the tracker sends it is not valid: %q", tc.sent, msgs)
			}
			if len(tc.fail) == 0 {
				t.Fatal("no shape that must fail")
			}
			for data, want := range tc.fail {
				msgs := validateSent(t, c, tc.key, tc.event, data)
				if !strings.Contains(strings.Join(msgs, "\n"), want) {
					t.Errorf("%s: messages %q do not name %q", data, msgs, want)
				}
			}
		})
	}
	// Every shipped key is tested, here or by the tests beside.
	elsewhere := map[string]bool{"web_page": true, "client_session": true, "page_view": true, "page_ping": true,
		"structured_event": true, "transaction": true, "transaction_item": true, "uri_redirect": true}
	for _, key := range shippedKeys(t) {
		k, _ := contract.ParseKey(key)
		if !tested[key] && !(k.Vendor == "com.snowplowanalytics.snowplow" && elsewhere[k.Name]) {
			t.Errorf("%s is shipped without a case in standardCases", key)
		}
	}
}

// validateSent puts data where the tracker sends it, decodes the event as
// the collector does, and validates what the decoder read against c.
func validateSent(t *testing.T, c *contract.Contract, key string, event bool, data string) []string {
	t.Helper()
	sd := `{"schema":"` + key + `","data":` + data + `}`
	b64 := base64.RawURLEncoding.EncodeToString
	var f fields
	if event {
		f = ev("ue", "ue_px", b64([]byte(`{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":`+sd+`}`)))
	} else {
		f = ev("pv", "url", "https://shop.example/", "cx", b64([]byte(`{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1","data":[`+sd+`]}`)))
	}
	in, err := DecodeQuery(f.query())
	if err != nil || in.Failure != nil {
		t.Fatalf("DecodeQuery %s: %v %+v", data, err, in.Failure)
	}
	got, at := in.Data, "/data"
	if !event {
		if len(in.Contexts) != 1 || in.Contexts[0].Schema != key {
			t.Fatalf("contexts %+v, want one %s", in.Contexts, key)
		}
		got, at = in.Contexts[0].Data, "/contexts/0/data"
	} else if in.SchemaKey != key {
		t.Fatalf("schema %s, want %s", in.SchemaKey, key)
	}
	msgs, err := c.ValidateJSON(got, at)
	if err != nil {
		t.Fatalf("validate %s: %v", got, err)
	}
	var text []string
	for _, m := range msgs {
		text = append(text, m.InstancePath+" "+m.Message)
	}
	return text
}

// shippedKeys lists the keys of the embedded contracts.
func shippedKeys(t *testing.T) []string {
	t.Helper()
	var keys []string
	err := fs.WalkDir(Contracts, "contracts", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		parts := strings.Split(p, "/")
		keys = append(keys, "iglu:"+path.Join(parts[1:]...))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(keys)
	return keys
}
