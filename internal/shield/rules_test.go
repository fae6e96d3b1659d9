package shield

import (
	"net/netip"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
)

func TestParseNetwork(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"192.0.2.7", "192.0.2.7/32", true},
		{" 192.0.2.0/24 ", "192.0.2.0/24", true},
		{"2001:db8::/32", "2001:db8::/32", true},
		{"2001:DB8::1", "2001:db8::1/128", true},
		{"::ffff:192.0.2.7", "192.0.2.7/32", true},
		{"::ffff:192.0.2.0/120", "192.0.2.0/24", true},
		{"0.0.0.0/0", "0.0.0.0/0", true},
		{"::/0", "::/0", true},
		{"192.0.2.5/24", "", false}, // host bits set
		{"192.0.2.0/33", "", false},
		{"fe80::1%eth0", "", false},
		{"example.com", "", false},
		{"", "", false},
		{"::ffff:0:0/90", "", false},
	}
	for _, tt := range tests {
		got, err := ParseNetwork(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseNetwork(%q) = %q, %v; want %q ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestCheckRule(t *testing.T) {
	now := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		rule  leadcap.ShieldRule
		field string // "" for valid
	}{
		{"block network", leadcap.ShieldRule{Action: "block", Network: "192.0.2.0/24"}, ""},
		{"allow country", leadcap.ShieldRule{Action: "allow", Country: "bz"}, ""},
		{"bad action", leadcap.ShieldRule{Action: "deny", Network: "192.0.2.1"}, "action"},
		{"neither", leadcap.ShieldRule{Action: "block"}, "network"},
		{"both", leadcap.ShieldRule{Action: "block", Network: "192.0.2.1", Country: "RU"}, "network"},
		{"bad country", leadcap.ShieldRule{Action: "block", Country: "XX"}, "country"},
		{"bad network", leadcap.ShieldRule{Action: "block", Network: "10.0.0.1/8"}, "network"},
		{"note with newline", leadcap.ShieldRule{Action: "block", Network: "192.0.2.1", Note: "a\nb"}, "note"},
		{"past expiry", leadcap.ShieldRule{Action: "block", Network: "192.0.2.1", ExpiresAt: now.Add(-time.Second)}, "expires_at"},
	}
	for _, tt := range tests {
		r := tt.rule
		err := CheckRule(&r, now)
		if tt.field == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if leadcap.ErrorFields(err)[tt.field] == "" {
			t.Errorf("%s: error %v does not name %s", tt.name, err, tt.field)
		}
	}
	r := leadcap.ShieldRule{Action: "allow", Country: "bz"}
	if CheckRule(&r, now); r.Country != "BZ" {
		t.Errorf("country not normalised: %q", r.Country)
	}
}

func rule(id int64, action, network, country string, expires time.Time) *leadcap.ShieldRule {
	return &leadcap.ShieldRule{ID: id, Action: action, Network: network, Country: country, ExpiresAt: expires}
}

func TestMatch(t *testing.T) {
	now := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
	later := now.Add(time.Hour)
	rs, errs := compile(1, []*leadcap.ShieldRule{
		rule(1, "block", "192.0.2.0/24", "", time.Time{}),
		rule(2, "allow", "192.0.2.9/32", "", time.Time{}),
		rule(3, "block", "198.51.100.0/24", "", time.Time{}),
		rule(4, "block", "198.51.100.128/25", "", later), // more specific, expires
		rule(5, "block", "2001:db8::/32", "", time.Time{}),
		rule(6, "block", "2001:db8:ffff::/48", "", time.Time{}),
		rule(7, "block", "", "RU", time.Time{}),
		rule(8, "allow", "", "BZ", time.Time{}),
		rule(9, "block", "203.0.113.0/24", "", time.Time{}),
		rule(10, "block", "0.0.0.0/0", "", now), // expired already
	})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	countries := map[string]string{"203.0.113.5": "BZ", "100.64.0.1": "RU", "100.64.0.2": "DE"}
	tests := []struct {
		ip    string
		at    time.Time
		want  int64 // blocking rule, 0 for none
		allow bool  // a network allow rule matched
	}{
		{"192.0.2.1", now, 1, false},
		{"192.0.2.9", now, 0, true},         // allow wins over the block of its range
		{"198.51.100.200", now, 4, false},   // the most specific block
		{"198.51.100.200", later, 3, false}, // once it expires, the wider one
		{"198.51.100.1", now, 3, false},
		{"2001:db8:ffff::1", now, 6, false},
		{"2001:db8:1::1", now, 5, false},
		{"2001:db9::1", now, 0, false},
		{"100.64.0.1", now, 7, false},  // country block
		{"100.64.0.2", now, 0, false},  // another country
		{"203.0.113.5", now, 0, false}, // a country allow wins over a network block
		{"10.0.0.1", now, 0, false},    // the expired 0.0.0.0/0 no longer applies
	}
	for _, tt := range tests {
		ip := netip.MustParseAddr(tt.ip)
		got, allowed := rs.match(ip, tt.at.UnixMicro(), func() string { return countries[tt.ip] })
		var id int64
		if got != nil {
			id = got.id
		}
		if id != tt.want || allowed != tt.allow {
			t.Errorf("%s at %s: rule %d allowed %v; want %d %v", tt.ip, tt.at.Format(time.TimeOnly), id, allowed, tt.want, tt.allow)
		}
	}
	// The country is looked up only when a country rule could matter.
	plain, _ := compile(2, []*leadcap.ShieldRule{rule(1, "block", "192.0.2.0/24", "", time.Time{})})
	plain.match(netip.MustParseAddr("10.0.0.1"), now.UnixMicro(), func() string { t.Error("country looked up with no country rules"); return "" })
}
