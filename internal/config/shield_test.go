package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap/internal/config"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want config.Rate
		ok   bool
	}{
		{"20/s burst 600", config.Rate{Burst: 600, Every: 50 * time.Millisecond}, true},
		{" 30/m  burst 5 ", config.Rate{Burst: 5, Every: 2 * time.Second}, true},
		{"0.5/s burst 1", config.Rate{Burst: 1, Every: 2 * time.Second}, true},
		{"1/h burst 2", config.Rate{Burst: 2, Every: time.Hour}, true},
		{"off", config.Rate{}, true},
		{"20/s", config.Rate{}, false},
		{"20/d burst 5", config.Rate{}, false},
		{"0/s burst 5", config.Rate{}, false},
		{"20/s burst 0", config.Rate{}, false},
		{"-1/s burst 5", config.Rate{}, false},
		{"lots", config.Rate{}, false},
	}
	for _, tt := range tests {
		got, err := config.ParseRate(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseRate(%q) = %+v, %v; want %+v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if tt.ok {
			back, err := config.ParseRate(got.String())
			if err != nil || back != got {
				t.Errorf("%q: String() %q does not read back: %+v %v", tt.in, got.String(), back, err)
			}
		}
	}
}

func TestShieldSettings(t *testing.T) {
	c, err := load(t, []string{"--rate-leads-per-ip", "5/s burst 50", "--http-read-header-timeout", "2s"},
		map[string]string{"LEADCAP_SHIELD_HONEYPOT": "false", "LEADCAP_SHIELD_POW_BITS": "20", "LEADCAP_RATE_API_PER_TOKEN": "off"})
	if err != nil {
		t.Fatal(err)
	}
	sh := c.Shield
	if sh.Honeypot || !sh.RenderToken || sh.PowBits != 20 || sh.LeadsPerIP != (config.Rate{Burst: 50, Every: 200 * time.Millisecond}) ||
		!sh.APIPerToken.Off() || sh.ReadHeaderTimeout != 2*time.Second || sh.RenderTokenTTL != 14*24*time.Hour {
		t.Fatalf("shield settings: %+v", sh)
	}
	if m := c.Map(); m["LEADCAP_RATE_LEADS_PER_IP"] != "5/s burst 50" || m["LEADCAP_RATE_API_PER_TOKEN"] != "off" {
		t.Fatalf("printed: %v", m)
	}
	if _, err := load(t, nil, map[string]string{"LEADCAP_RATE_LEADS_PER_IP": "fast"}); err == nil ||
		!strings.Contains(err.Error(), "LEADCAP_RATE_LEADS_PER_IP") {
		t.Errorf("bad rate not named: %v", err)
	}
	_, err = load(t, nil, map[string]string{"LEADCAP_SHIELD_POW_BITS": "40", "LEADCAP_SHIELD_RULES_POLL": "5s",
		"LEADCAP_GEOIP_DB": "/no/such.mmdb", "LEADCAP_HTTP_READ_HEADER_TIMEOUT": "1m"})
	for _, name := range []string{"LEADCAP_SHIELD_POW_BITS", "LEADCAP_SHIELD_RULES_POLL", "LEADCAP_GEOIP_DB",
		"LEADCAP_HTTP_READ_HEADER_TIMEOUT"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("bad %s not named: %v", name, err)
		}
	}
}
