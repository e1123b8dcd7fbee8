// Package enrichtest builds what the enrichment tests need: a small
// MaxMind-format City database, written with MaxMind's own writer, so no
// test downloads one.
package enrichtest

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// City is one network of the database and where it is.
type City struct {
	Network                string // CIDR, such as 81.2.69.0/24
	Continent, Country     string // codes, such as EU and GB
	CountryName            string
	Region, RegionName     string // first subdivision's code and name
	City, Postal, TimeZone string
	Latitude, Longitude    float64
	AccuracyRadius         uint16
}

// Cities is the test database's content: networks in documentation and
// public ranges, v4 and v6.
var Cities = []City{
	{Network: "81.2.69.0/24", Continent: "EU", Country: "GB", CountryName: "United Kingdom", Region: "ENG", RegionName: "England", City: "London", Postal: "EC1A", TimeZone: "Europe/London", Latitude: 51.5142, Longitude: -0.0931, AccuracyRadius: 10},
	{Network: "203.0.113.0/24", Continent: "OC", Country: "AU", CountryName: "Australia", Region: "NSW", RegionName: "New South Wales", City: "Sydney", Postal: "2000", TimeZone: "Australia/Sydney", Latitude: -33.8688, Longitude: 151.2093, AccuracyRadius: 20},
	{Network: "2001:db8::/32", Continent: "EU", Country: "DE", CountryName: "Germany", Region: "BE", RegionName: "Berlin", City: "Berlin", Postal: "10115", TimeZone: "Europe/Berlin", Latitude: 52.52, Longitude: 13.405, AccuracyRadius: 50},
}

// WriteCityDB writes a City database of cities to a file in a temporary
// directory and returns its path.
func WriteCityDB(t testing.TB, cities []City) string {
	t.Helper()
	w, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-City", Description: map[string]string{"en": "Accord test cities"}, RecordSize: 24, IncludeReservedNetworks: true, Languages: []string{"en"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cities {
		_, network, err := net.ParseCIDR(c.Network)
		if err != nil {
			t.Fatal(err)
		}
		names := func(n string) mmdbtype.Map { return mmdbtype.Map{"en": mmdbtype.String(n)} }
		rec := mmdbtype.Map{
			"continent":    mmdbtype.Map{"code": mmdbtype.String(c.Continent)},
			"country":      mmdbtype.Map{"iso_code": mmdbtype.String(c.Country), "names": names(c.CountryName)},
			"subdivisions": mmdbtype.Slice{mmdbtype.Map{"iso_code": mmdbtype.String(c.Region), "names": names(c.RegionName)}},
			"city":         mmdbtype.Map{"names": names(c.City)},
			"postal":       mmdbtype.Map{"code": mmdbtype.String(c.Postal)},
			"location": mmdbtype.Map{
				"latitude": mmdbtype.Float64(c.Latitude), "longitude": mmdbtype.Float64(c.Longitude),
				"accuracy_radius": mmdbtype.Uint16(c.AccuracyRadius), "time_zone": mmdbtype.String(c.TimeZone),
			},
		}
		if err := w.Insert(network, rec); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "city.mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
