package config

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Shield holds the settings of abuse protection and HTTP hardening.
type Shield struct {
	GeoIPDB string // MaxMind-format .mmdb for country rules; empty: country rules match nothing

	// Form abuse defences, server-wide; conferences may switch them off
	// (and the proof of work on) for themselves.
	Honeypot       bool
	MinFillTime    time.Duration // 0: off
	RenderToken    bool
	RenderTokenTTL time.Duration
	ProofOfWork    bool
	PowBits        int

	RulesPoll time.Duration // how often servers look for rule changes

	LeadsPerIP         Rate // lead submissions per client IP (IPv6: per /64)
	LeadsPerConference Rate // lead submissions per conference
	APIPerToken        Rate // requests per bearer token

	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
	MaxRequestBytes   int64 // body limit of every route but lead submissions (max_body_bytes)
}

// Rate is a token-bucket limit: Burst requests at once, then one more
// every Every. The zero Rate is off.
type Rate struct {
	Burst int
	Every time.Duration
}

// Off reports whether r limits nothing.
func (r Rate) Off() bool { return r.Burst == 0 }

// String writes r as "20/s burst 600", or "off".
func (r Rate) String() string {
	if r.Off() {
		return "off"
	}
	per := float64(time.Second) / float64(r.Every)
	unit := "s"
	if per < 1 {
		per, unit = float64(time.Minute)/float64(r.Every), "m"
	}
	if per < 1 {
		per, unit = float64(time.Hour)/float64(r.Every), "h"
	}
	return strconv.FormatFloat(per, 'f', -1, 64) + "/" + unit + " burst " + strconv.Itoa(r.Burst)
}

// ParseRate reads "N/s burst B" (or /m, /h), or "off".
func ParseRate(s string) (Rate, error) {
	f := strings.Fields(s)
	if len(f) == 1 && f[0] == "off" {
		return Rate{}, nil
	}
	bad := fmt.Errorf("want a rate like \"20/s burst 600\" or off, got %q", s)
	if len(f) != 3 || f[1] != "burst" {
		return Rate{}, bad
	}
	num, unit, ok := strings.Cut(f[0], "/")
	per := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}[unit]
	n, err := strconv.ParseFloat(num, 64)
	if !ok || per == 0 || err != nil || n <= 0 || n > 1e6 {
		return Rate{}, bad
	}
	burst, err := strconv.Atoi(f[2])
	if err != nil || burst < 1 || burst > 1_000_000 {
		return Rate{}, fmt.Errorf("want a burst of 1 to 1000000, got %q", f[2])
	}
	return Rate{Burst: burst, Every: time.Duration(float64(per) / n)}, nil
}

func defaultShield() Shield {
	return Shield{
		Honeypot: true, MinFillTime: 2 * time.Second, RenderToken: true, RenderTokenTTL: 14 * 24 * time.Hour,
		ProofOfWork: true, PowBits: 18,
		RulesPoll:          250 * time.Millisecond,
		LeadsPerIP:         Rate{Burst: 600, Every: 50 * time.Millisecond},  // 20/s
		LeadsPerConference: Rate{Burst: 3000, Every: 10 * time.Millisecond}, // 100/s
		APIPerToken:        Rate{Burst: 1000, Every: 20 * time.Millisecond}, // 50/s
		ReadHeaderTimeout:  5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute,
		MaxHeaderBytes: 32 << 10, MaxRequestBytes: 1 << 20,
	}
}

func boolean(p func(*Config) *bool) (func(*Config) string, func(*Config, string) error) {
	return func(c *Config) string { return strconv.FormatBool(*p(c)) }, func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", v)
		}
		*p(c) = b
		return nil
	}
}

func integer(p func(*Config) *int) (func(*Config) string, func(*Config, string) error) {
	return func(c *Config) string { return strconv.Itoa(*p(c)) }, func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("not a whole number: %q", v)
		}
		*p(c) = n
		return nil
	}
}

func rate(p func(*Config) *Rate) (func(*Config) string, func(*Config, string) error) {
	return func(c *Config) string { return p(c).String() }, func(c *Config, v string) error {
		r, err := ParseRate(v)
		if err != nil {
			return err
		}
		*p(c) = r
		return nil
	}
}

// shieldSettings are the settings of Shield.
func shieldSettings(add func(name, help string, secret bool, get func(*Config) string, set func(*Config, string) error)) {
	g, s := str(func(c *Config) *string { return &c.Shield.GeoIPDB })
	add("geoip_db", "MaxMind-format .mmdb file for country rules (GeoLite2 Country or City)", false, g, s)
	g, s = boolean(func(c *Config) *bool { return &c.Shield.Honeypot })
	add("shield_honeypot", "quarantine lead submissions that fill the hidden honeypot field", false, g, s)
	g, s = dur(func(c *Config) *time.Duration { return &c.Shield.MinFillTime })
	add("shield_min_fill_time", "quarantine lead submissions sent sooner after the form was rendered; 0s: off", false, g, s)
	g, s = boolean(func(c *Config) *bool { return &c.Shield.RenderToken })
	add("shield_render_token", "quarantine lead submissions without a valid signed render token", false, g, s)
	g, s = dur(func(c *Config) *time.Duration { return &c.Shield.RenderTokenTTL })
	add("shield_render_token_ttl", "how long after rendering a form its submission is accepted (offline queues)", false, g, s)
	g, s = boolean(func(c *Config) *bool { return &c.Shield.ProofOfWork })
	add("shield_proof_of_work", "let conferences ask for a proof of work with each submission", false, g, s)
	g, s = integer(func(c *Config) *int { return &c.Shield.PowBits })
	add("shield_pow_bits", "proof-of-work difficulty in leading zero bits (each bit doubles the work)", false, g, s)
	g, s = dur(func(c *Config) *time.Duration { return &c.Shield.RulesPoll })
	add("shield_rules_poll", "how often a server looks for changed block and allow rules", false, g, s)
	g, s = rate(func(c *Config) *Rate { return &c.Shield.LeadsPerIP })
	add("rate_leads_per_ip", "lead submissions per client IP (IPv6: per /64), e.g. \"20/s burst 600\", or off", false, g, s)
	g, s = rate(func(c *Config) *Rate { return &c.Shield.LeadsPerConference })
	add("rate_leads_per_conference", "lead submissions per conference, or off", false, g, s)
	g, s = rate(func(c *Config) *Rate { return &c.Shield.APIPerToken })
	add("rate_api_per_token", "API requests per bearer token, or off", false, g, s)
	g, s = dur(func(c *Config) *time.Duration { return &c.Shield.ReadHeaderTimeout })
	add("http_read_header_timeout", "how long a client may take to send its request headers", false, g, s)
	g, s = dur(func(c *Config) *time.Duration { return &c.Shield.ReadTimeout })
	add("http_read_timeout", "how long a client may take to send a whole request", false, g, s)
	g, s = dur(func(c *Config) *time.Duration { return &c.Shield.WriteTimeout })
	add("http_write_timeout", "how long writing a response may take", false, g, s)
	g, s = dur(func(c *Config) *time.Duration { return &c.Shield.IdleTimeout })
	add("http_idle_timeout", "how long an idle keep-alive connection stays open", false, g, s)
	g, s = integer(func(c *Config) *int { return &c.Shield.MaxHeaderBytes })
	add("http_max_header_bytes", "largest request headers, in bytes", false, g, s)
	add("max_request_bytes", "largest request body of routes other than lead submissions, in bytes", false,
		func(c *Config) string { return strconv.FormatInt(c.Shield.MaxRequestBytes, 10) },
		func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("not a whole number: %q", v)
			}
			c.Shield.MaxRequestBytes = n
			return nil
		})
}

// validateShield checks the shield's settings.
func (c Config) validateShield(bad func(name, format string, args ...any)) {
	sh := c.Shield
	if sh.GeoIPDB != "" {
		if fi, err := os.Stat(sh.GeoIPDB); err != nil || fi.IsDir() {
			bad("geoip_db", "no such file: %q", sh.GeoIPDB)
		}
	}
	if sh.MinFillTime < 0 || sh.MinFillTime > time.Minute {
		bad("shield_min_fill_time", "want 0s to 1m, got %s", sh.MinFillTime)
	}
	if sh.RenderTokenTTL < time.Hour || sh.RenderTokenTTL > 90*24*time.Hour {
		bad("shield_render_token_ttl", "want 1h to 2160h (90 days), got %s", sh.RenderTokenTTL)
	}
	if sh.PowBits < 8 || sh.PowBits > 28 {
		bad("shield_pow_bits", "want 8 to 28, got %d", sh.PowBits)
	}
	if sh.RulesPoll < 10*time.Millisecond || sh.RulesPoll > time.Second {
		bad("shield_rules_poll", "want 10ms to 1s (rule changes must apply within a second), got %s", sh.RulesPoll)
	}
	for name, d := range map[string]time.Duration{"http_read_header_timeout": sh.ReadHeaderTimeout,
		"http_read_timeout": sh.ReadTimeout, "http_write_timeout": sh.WriteTimeout, "http_idle_timeout": sh.IdleTimeout} {
		if d < 100*time.Millisecond || d > time.Hour {
			bad(name, "want 100ms to 1h, got %s", d)
		}
	}
	if sh.ReadHeaderTimeout > sh.ReadTimeout {
		bad("http_read_header_timeout", "must not exceed LEADCAP_HTTP_READ_TIMEOUT (%s)", sh.ReadTimeout)
	}
	if sh.MaxHeaderBytes < 4096 || sh.MaxHeaderBytes > 1<<20 {
		bad("http_max_header_bytes", "want 4096 to 1048576, got %d", sh.MaxHeaderBytes)
	}
	if sh.MaxRequestBytes < 1024 || sh.MaxRequestBytes > 100<<20 {
		bad("max_request_bytes", "want 1024 to 104857600, got %d", sh.MaxRequestBytes)
	}
}
