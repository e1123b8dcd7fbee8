package enrich

import (
	"encoding/json"
	"fmt"
	"net/netip"

	"github.com/oschwald/maxminddb-golang/v2"
)

// KeyGeolocation is the key of the geolocation enrichment's context.
const KeyGeolocation = "iglu:dev.accord/geolocation/jsonschema/1-0-0"

// How the geolocation context says which address it looked up.
const (
	lookedUpStored            = "stored"
	lookedUpBeforeAnonymising = "before_anonymising"
)

// geoDB looks addresses up in a MaxMind-format database.
type geoDB struct {
	reader *maxminddb.Reader
}

// openGeo opens and verifies the database at path: a file that is not a
// whole MaxMind DB is refused at start, not found out event by event.
func openGeo(path string) (*geoDB, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("enrich.geo.database %s: %w; point it at a MaxMind-format .mmdb file", path, err)
	}
	if err := r.Verify(); err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("enrich.geo.database %s is corrupt: %w; download it again", path, err)
	}
	return &geoDB{reader: r}, nil
}

func (g *geoDB) Close() error { return g.reader.Close() }

// geoRecord is what is read of a City (or Country) record: the fields of
// MaxMind's GeoIP2 and GeoLite2 databases, and of the many that copy them.
type geoRecord struct {
	Continent struct {
		Code string `maxminddb:"code"`
	} `maxminddb:"continent"`
	Country struct {
		ISOCode string   `maxminddb:"iso_code"`
		Names   geoNames `maxminddb:"names"`
	} `maxminddb:"country"`
	Subdivisions []struct {
		ISOCode string   `maxminddb:"iso_code"`
		Names   geoNames `maxminddb:"names"`
	} `maxminddb:"subdivisions"`
	City struct {
		Names geoNames `maxminddb:"names"`
	} `maxminddb:"city"`
	Postal struct {
		Code string `maxminddb:"code"`
	} `maxminddb:"postal"`
	Location struct {
		Latitude       *float64 `maxminddb:"latitude"`
		Longitude      *float64 `maxminddb:"longitude"`
		AccuracyRadius uint16   `maxminddb:"accuracy_radius"`
		TimeZone       string   `maxminddb:"time_zone"`
	} `maxminddb:"location"`
}

// geoNames are the English names of a place: a struct, not a map, so a
// lookup allocates no map for the languages it does not keep.
type geoNames struct {
	EN string `maxminddb:"en"`
}

// geoContext is the data of KeyGeolocation.
type geoContext struct {
	ContinentCode  string   `json:"continent_code,omitempty"`
	CountryCode    string   `json:"country_code,omitempty"`
	CountryName    string   `json:"country_name,omitempty"`
	RegionCode     string   `json:"region_code,omitempty"`
	RegionName     string   `json:"region_name,omitempty"`
	City           string   `json:"city,omitempty"`
	PostalCode     string   `json:"postal_code,omitempty"`
	Latitude       *float64 `json:"latitude,omitempty"`
	Longitude      *float64 `json:"longitude,omitempty"`
	AccuracyRadius uint16   `json:"accuracy_radius_km,omitempty"`
	TimeZone       string   `json:"time_zone,omitempty"`
	Network        string   `json:"network,omitempty"`
	LookedUp       string   `json:"looked_up"`
}

// context returns the context's data for ip, nil when it is not an IP
// address or the database has nothing for it.
func (g *geoDB) context(ip, lookedUp string) []byte {
	if len(ip) > 64 {
		return nil
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return nil
	}
	addr = addr.WithZone("").Unmap()
	res := g.reader.Lookup(addr)
	if !res.Found() {
		return nil
	}
	var rec geoRecord
	if err := res.Decode(&rec); err != nil {
		return nil
	}
	c := geoContext{
		ContinentCode:  cut(rec.Continent.Code, 2),
		CountryCode:    cut(rec.Country.ISOCode, 2),
		CountryName:    cut(rec.Country.Names.EN, 256),
		City:           cut(rec.City.Names.EN, 256),
		PostalCode:     cut(rec.Postal.Code, 32),
		TimeZone:       cut(rec.Location.TimeZone, 64),
		AccuracyRadius: rec.Location.AccuracyRadius,
		LookedUp:       lookedUp,
	}
	if len(rec.Subdivisions) > 0 {
		c.RegionCode = cut(rec.Subdivisions[0].ISOCode, 16)
		c.RegionName = cut(rec.Subdivisions[0].Names.EN, 256)
	}
	if lat, lon := rec.Location.Latitude, rec.Location.Longitude; lat != nil && lon != nil && *lat >= -90 && *lat <= 90 && *lon >= -180 && *lon <= 180 {
		c.Latitude, c.Longitude = lat, lon
	}
	if p := res.Prefix(); p.IsValid() {
		c.Network = p.String()
	}
	data, err := json.Marshal(c)
	if err != nil {
		return nil // a NaN coordinate: none of the above is worth failing for
	}
	return data
}
