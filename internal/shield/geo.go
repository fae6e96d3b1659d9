package shield

import (
	"fmt"
	"net/netip"

	"github.com/oschwald/maxminddb-golang/v2"
)

// geoIP resolves client addresses to countries with a MaxMind-format
// database (.mmdb): GeoLite2 or GeoIP2 Country or City, or any database
// whose records carry country.iso_code or country_code.
type geoIP struct {
	db *maxminddb.Reader
}

// openGeoIP opens the database at path and checks that it answers.
func openGeoIP(path string) (*geoIP, error) {
	db, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("shield: open GeoIP database %s: %w", path, err)
	}
	if err := db.Lookup(netip.MustParseAddr("192.0.2.1")).Err(); err != nil {
		db.Close()
		return nil, fmt.Errorf("shield: GeoIP database %s: %w", path, err)
	}
	return &geoIP{db: db}, nil
}

// country returns the ISO 3166-1 alpha-2 code of ip's country, or "" when
// the database does not know it.
func (g *geoIP) country(ip netip.Addr) string {
	if g == nil || !ip.IsValid() {
		return ""
	}
	res := g.db.Lookup(ip)
	if !res.Found() {
		return ""
	}
	var cc string
	if err := res.DecodePath(&cc, "country", "iso_code"); err != nil || cc == "" {
		cc = ""
		if err := res.DecodePath(&cc, "country_code"); err != nil {
			return ""
		}
	}
	if len(cc) != 2 {
		return ""
	}
	return cc
}

func (g *geoIP) close() error {
	if g == nil {
		return nil
	}
	return g.db.Close()
}
