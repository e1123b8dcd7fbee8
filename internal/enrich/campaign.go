package enrich

import (
	"encoding/json"
	"net/url"
	"strings"
)

// KeyCampaign is the key of the campaign enrichment's context.
const KeyCampaign = "iglu:dev.accord/campaign/jsonschema/1-0-0"

// campaignContext is the data of KeyCampaign.
type campaignContext struct {
	Source       string `json:"source,omitempty"`
	Medium       string `json:"medium,omitempty"`
	Campaign     string `json:"campaign,omitempty"`
	Term         string `json:"term,omitempty"`
	Content      string `json:"content,omitempty"`
	ID           string `json:"id,omitempty"`
	ClickID      string `json:"click_id,omitempty"`
	ClickIDParam string `json:"click_id_param,omitempty"`
	Network      string `json:"network,omitempty"`
}

// clickIDs are the advertising networks' click id parameters, and whose
// they are.
var clickIDs = map[string]string{
	"gclid":     "Google",
	"gbraid":    "Google",
	"wbraid":    "Google",
	"dclid":     "Google",
	"fbclid":    "Meta",
	"msclkid":   "Microsoft",
	"ttclid":    "TikTok",
	"li_fat_id": "LinkedIn",
	"twclid":    "X",
	"epik":      "Pinterest",
	"yclid":     "Yandex",
	"sccid":     "Snapchat",
	"irclickid": "Impact",
}

// maxQueryPairs bounds the query parameters read from one URL.
const maxQueryPairs = 256

// campaign returns the context's data for the page URL, nil when its
// query names no campaign.
func campaign(pageURL string) []byte {
	q := query(pageURL)
	if q == "" {
		return nil
	}
	var c campaignContext
	found := false
	eachPair(q, func(key, value string) {
		if value == "" {
			return
		}
		var field *string
		switch key {
		case "utm_source":
			field = &c.Source
		case "utm_medium":
			field = &c.Medium
		case "utm_campaign":
			field = &c.Campaign
		case "utm_term":
			field = &c.Term
		case "utm_content":
			field = &c.Content
		case "utm_id":
			field = &c.ID
		default:
			network, ok := clickIDs[key]
			if !ok || c.ClickIDParam != "" {
				return
			}
			c.ClickIDParam, c.Network, c.ClickID = key, network, cut(value, 256)
			found = true
			return
		}
		if *field == "" { // the first of a repeated parameter wins
			*field = cut(value, 256)
			found = true
		}
	})
	if !found {
		return nil
	}
	data, err := json.Marshal(c)
	if err != nil {
		panic(err) // strings always marshal
	}
	return data
}

// query returns the raw query of a URL (absolute or not), without its
// fragment, "" when there is none. A URL is not parsed beyond that: a
// tracker's page URL is often not one net/url accepts whole.
func query(rawURL string) string {
	if len(rawURL) > maxFieldBytes {
		return ""
	}
	if i := strings.IndexByte(rawURL, '#'); i >= 0 {
		rawURL = rawURL[:i]
	}
	i := strings.IndexByte(rawURL, '?')
	if i < 0 {
		return ""
	}
	return rawURL[i+1:]
}

// eachPair calls f with each of the first maxQueryPairs key=value pairs
// of a query, unescaped (a pair that does not unescape is left out).
func eachPair(q string, f func(key, value string)) {
	for n := 0; q != "" && n < maxQueryPairs; n++ {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		key, value, _ := strings.Cut(pair, "=")
		var err error
		if key, err = unescape(key); err != nil {
			continue
		}
		if value, err = unescape(value); err != nil {
			continue
		}
		f(key, value)
	}
}

// unescape is url.QueryUnescape without its allocation for a value that
// needs none.
func unescape(s string) (string, error) {
	if strings.ContainsAny(s, "%+") {
		return url.QueryUnescape(s)
	}
	return s, nil
}
